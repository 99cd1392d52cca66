"""The back office of the public site (/portal/): thin views, parse → check access → call → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.audit.actions import Where, record
from fulian.files.actions import file_response, prepare_upload
from fulian.lib.forms import add_errors

from . import actions, queries
from .forms import CommitmentForm, ItemForm, NewItemForm, ProfileForm, ProgressForm, ReplyForm, ReturnForm
from .models import Category, CommitmentUpdate, State


def _version(request) -> int:
    try:
        return int(request.POST.get("version", "0"))
    except ValueError:
        return -1


@login_required
def home(request):
    """公开: the scope's disclosure items (filterable by state), regular items now due, the review queue of a
    leader, the comments waiting for moderation, and the units whose portal the user keeps."""
    if not scope_for(request.user, Cap.VIEW_WORK):
        raise Http404("未找到该页面,或您无权查看。")
    state = request.GET.get("state", "")
    state = state if state in State.values else ""
    category = request.GET.get("category", "")
    category = category if category in Category.values else ""
    today = timezone.localdate()
    items = Paginator(queries.items_in_scope(request.user, state=state, category=category), 20).get_page(
        request.GET.get("page")
    )
    can_publish = bool(scope_for(request.user, Cap.PUBLISH))
    context = {
        "items": items,
        "state": state,
        "category": category,
        "states": State.choices,
        "categories": Category.choices,
        "counts": queries.state_counts(request.user),
        "due": queries.due_items(request.user, today),
        "can_publish": can_publish,
        "review": list(queries.review_queue(request.user)[:50]) if can_publish else [],
        "pending_comments": list(queries.comment_queue(request.user)[:20]),
        "own_units": queries.own_units(request.user),
        "today": today,
    }
    return render(request, "portal/home.html", context)


# --- disclosure items -------------------------------------------------------------------------------------------


@login_required
def item_new(request):
    units = queries.own_units(request.user)
    if not units:
        raise Http404("您没有可以公开内容的单位。")
    form = NewItemForm(request.POST or None, units=units, initial={"unit": request.GET.get("unit", "")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            item = actions.create_item(
                request.user,
                unit=form.units[d["unit"]],
                category=d["category"],
                title=d["title"],
                body=d["body"],
                period=d["period"],
                next_due=d["next_due"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_errors(form, exc if isinstance(exc, ValidationError) else ValidationError(str(exc)))
        else:
            messages.success(request, "已保存草稿。核对无误后请提交审核。")
            return redirect("portal:item", item.pk)
    status = 400 if form.is_bound else 200
    return render(request, "portal/item_form.html", {"form": form}, status=status)


def _item_context(request, item, form=None, return_form=None, typed_replies: dict | None = None) -> dict:
    """``typed_replies``: {comment id: text} of answers that could not be saved, shown again in their boxes."""
    can_edit = actions.can_edit(request.user, item.org_unit)
    comments = queries.comments_of(item)
    for c in comments:
        c.reply_typed = (typed_replies or {}).get(c.pk)
    if form is None and item.is_editable and can_edit:
        form = ItemForm(
            initial={
                "category": item.category,
                "title": item.title,
                "body": item.body,
                "period": item.period,
                "next_due": item.next_due,
            }
        )
    return {
        "item": item,
        "form": form if can_edit and item.is_editable else None,
        "can_edit": can_edit,
        "can_review": actions.can_publish(request.user, item.org_unit) and item.state == State.SUBMITTED,
        "return_form": return_form or ReturnForm(),
        "comments": comments,
        "followups": queries.followups_of(item),
        "reply_form": ReplyForm(),
    }


@login_required
def item_detail(request, item_id: int):
    item = queries.access_item(request.user, item_id)
    if request.method == "POST":  # save the edits of a draft or a returned item
        form = ItemForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                actions.update_item(
                    request.user,
                    item,
                    expected_version=_version(request),
                    category=d["category"],
                    title=d["title"],
                    body=d["body"],
                    period=d["period"],
                    next_due=d["next_due"],
                )
            except actions.ConflictError as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "已保存。")
                return redirect("portal:item", item.pk)
        item = queries.access_item(request.user, item_id)
        context = _item_context(request, item, form=form)
        if context["form"] is None:  # not editable (any more): say so above the item
            messages.error(request, " ".join(m for ms in form.errors.values() for m in ms) or "不能修改。")
        return render(request, "portal/item_detail.html", context, status=400)
    return render(request, "portal/item_detail.html", _item_context(request, item))


ITEM_VERBS = {
    "submit": "已提交审核。",
    "publish": "已审核公开。",
    "return": "已退回。",
    "followup": "已生成接续的草稿,请修改后提交审核。",
}


@login_required
@require_POST
def item_do(request, item_id: int, verb: str):
    item = queries.access_item(request.user, item_id)
    if verb not in ITEM_VERBS:
        raise Http404()
    version = _version(request)
    try:
        if verb == "submit":
            actions.submit_item(request.user, item, expected_version=version)
        elif verb == "publish":
            actions.publish_item(request.user, item, expected_version=version)
        elif verb == "return":
            actions.return_item(
                request.user, item, expected_version=version, reason=request.POST.get("reason", "")
            )
        else:
            new = actions.new_edition(request.user, item)
            messages.success(request, ITEM_VERBS[verb])
            return redirect("portal:item", new.pk)
    except actions.ConflictError as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        if verb == "return":
            return_form = ReturnForm(request.POST)
            return_form.is_valid()
            add_errors(return_form, exc)
            item = queries.access_item(request.user, item_id)
            return render(
                request,
                "portal/item_detail.html",
                _item_context(request, item, return_form=return_form),
                status=400,
            )
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, ITEM_VERBS[verb])
    return redirect("portal:item", item.pk)


# --- comments -------------------------------------------------------------------------------------------------


@login_required
def comments(request):
    """The moderation queue: comments waiting (待审核), oldest first."""
    if not scope_for(request.user, Cap.VIEW_WORK):
        raise Http404("未找到该页面,或您无权查看。")
    page = Paginator(queries.comment_queue(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "portal/comments.html", {"page": page, "reply_form": ReplyForm()})


COMMENT_VERBS = {"show": "已显示该留言。", "hide": "该留言不予显示(已保留)。", "reply": "已答复。"}


@login_required
@require_POST
def comment_do(request, comment_id: int, verb: str):
    comment = queries.access_comment(request.user, comment_id)
    if verb not in COMMENT_VERBS:
        raise Http404()
    if verb == "reply":
        return _reply(request, comment)
    try:
        if verb == "show":
            actions.show_comment(request.user, comment)
        else:
            actions.hide_comment(request.user, comment, reason=request.POST.get("reason", ""))
    except actions.ConflictError:
        messages.error(request, "该留言已被其他人处理,请刷新后查看。")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, COMMENT_VERBS[verb])
    if request.POST.get("next") == "queue":
        return redirect("portal:comments")
    return redirect("portal:item", comment.item_id)


def _reply(request, comment):
    """Save an answer; if it cannot be saved (someone answered or moderated since the page was read, or the text
    is refused) the item's page comes back with the reason and the typed answer in its box — nothing is lost."""
    text = request.POST.get("reply", "")
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    try:
        actions.reply_comment(request.user, comment, reply=text, expected_version=version)
    except actions.ConflictError:
        error, status = (
            "该留言在您填写期间已被其他人答复或处理,请看下方最新内容;您填写的答复仍在框中,确认后可再次提交。",
            409,
        )
    except ValidationError as exc:
        error, status = " ".join(exc.messages), 400
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("portal:item", comment.item_id)
    else:
        messages.success(request, COMMENT_VERBS["reply"])
        return redirect("portal:item", comment.item_id)
    messages.error(request, error)
    item = queries.access_item(request.user, comment.item_id)
    context = _item_context(request, item, typed_replies={comment.pk: text})
    return render(request, "portal/item_detail.html", context, status=status)


# --- commitments --------------------------------------------------------------------------------------------


@login_required
def commitments(request):
    if not scope_for(request.user, Cap.VIEW_WORK):
        raise Http404("未找到该页面,或您无权查看。")
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = None
    page = Paginator(queries.commitments_in_scope(request.user, year=year), 30).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "portal/commitments.html",
        {"page": page, "year": year, "own_units": queries.own_units(request.user)},
    )


@login_required
def commitment_new(request):
    units = queries.own_units(request.user)
    if not units:
        raise Http404("您没有可以公开承诺的单位。")
    form = CommitmentForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = actions.create_commitment(
                request.user,
                unit=form.units[d["unit"]],
                year=d["year"],
                title=d["title"],
                detail=d["detail"],
                target_value=d["target_value"],
                target_unit=d["target_unit"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "已保存承诺。由主席(分管领导)审核后在公开网站显示。")
            return redirect("portal:commitment", c.pk)
    return render(
        request, "portal/commitment_form.html", {"form": form}, status=400 if form.is_bound else 200
    )


@login_required
def commitment_detail(request, commitment_id: int):
    """One commitment: edit its terms, report progress (with evidence), publish or withdraw it."""
    c = queries.access_commitment(request.user, commitment_id)
    can_edit = actions.can_edit(request.user, c.org_unit)
    edit_form = CommitmentForm(
        initial={
            "year": c.year,
            "title": c.title,
            "detail": c.detail,
            "target_value": c.target_value,
            "target_unit": c.target_unit,
        }
    )
    progress_form = ProgressForm(initial={"progress": c.progress, "achieved_value": c.achieved_value})
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise Http404()
        op = request.POST.get("op")
        try:
            if op == "edit":
                edit_form = CommitmentForm(request.POST)
                if edit_form.is_valid():
                    d = edit_form.cleaned_data
                    actions.update_commitment(
                        request.user,
                        c,
                        expected_version=_version(request),
                        year=d["year"],
                        title=d["title"],
                        detail=d["detail"],
                        target_value=d["target_value"],
                        target_unit=d["target_unit"],
                    )
                    messages.success(request, "已保存。")
                    return redirect("portal:commitment", c.pk)
            elif op == "progress":
                progress_form = ProgressForm(request.POST, request.FILES)
                if progress_form.is_valid():
                    d = progress_form.cleaned_data
                    upload = None
                    if d["file"]:
                        upload = prepare_upload(
                            request.user, d["file"], unit=c.org_unit, allowed=("image", "document")
                        )
                    actions.report_progress(
                        request.user,
                        c,
                        expected_version=_version(request),
                        evidence=d["evidence"],
                        progress=d["progress"],
                        achieved_value=d["achieved_value"],
                        upload=upload,
                    )
                    messages.success(request, "已报告进展。")
                    return redirect("portal:commitment", c.pk)
            elif op in ("publish", "unpublish"):
                actions.set_commitment_published(
                    request.user, c, expected_version=_version(request), published=op == "publish"
                )
                messages.success(request, "已在公开网站显示。" if op == "publish" else "已从公开网站撤下。")
                return redirect("portal:commitment", c.pk)
        except actions.ConflictError as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            add_errors(progress_form if op == "progress" else edit_form, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        status = 400
        c = queries.access_commitment(request.user, commitment_id)
    context = {
        "c": c,
        "can_edit": can_edit,
        "can_publish": actions.can_publish(request.user, c.org_unit),
        "edit_form": edit_form,
        "progress_form": progress_form,
        "updates": queries.updates_of(c),
    }
    return render(request, "portal/commitment_detail.html", context, status=status)


@login_required
def update_file(request, update_id: int):
    """A progress report's evidence file, for whoever sees the commitment."""
    try:
        pk = int(update_id)
    except (TypeError, ValueError):
        raise Http404() from None
    update = CommitmentUpdate.objects.filter(pk=pk, file__isnull=False).select_related("file").first()
    if update is None:
        raise Http404("未找到该附件。")
    c = queries.access_commitment(request.user, update.commitment_id)
    record(
        request.user,
        "portal.commitment.file_view",
        obj=update.file,
        where=Where.of(c.org_unit),
        detail={"commitment": c.pk},
    )
    return file_response(update.file, as_attachment=not update.file.is_image)


# --- profile --------------------------------------------------------------------------------------------------


@login_required
def profile(request, unit_id: int):
    unit = queries.access_unit_for_edit(request.user, unit_id)
    current = queries.profile_of(unit)
    version = current.version if current else 0
    if current is None:
        initial = {"address": unit.address, "phone": unit.phone}
    else:
        initial = {
            "intro": current.intro,
            "address": current.address,
            "phone": current.phone,
            "office_hours": current.office_hours,
            "published": current.published,
        }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_profile(request.user, unit, expected_version=_version(request), **form.cleaned_data)
        except actions.ConflictError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "已保存简介。")
            return redirect("portal:profile", unit.pk)
    context = {"unit": unit, "form": form, "version": version}
    return render(request, "portal/profile.html", context, status=400 if form.is_bound else 200)
