"""The back office (/portal/): the procedure through the pages, scope (404, nothing changes), query counts."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from fulian.audit.models import AuditEvent
from fulian.portal import actions
from fulian.portal.models import (
    Category,
    Comment,
    CommentState,
    Commitment,
    DisclosureItem,
    PortalProfile,
    State,
)

from .conftest import XSS, commitment, draft, published, submitted


def body_of(response) -> str:
    return response.content.decode()


ITEM_DATA = {
    "category": Category.DEPLOYMENT,
    "title": "2026年“三八”节系列活动安排",
    "body": "一、举办巾帼健康讲座。\n二、评选最美家庭。",
    "period": "none",
    "next_due": "",
}


def test_staff_drafts_and_submits_through_the_pages(cast, login):
    client = login(cast.users.a_staff)
    assert client.get("/portal/items/new/").status_code == 200
    response = client.post("/portal/items/new/", {"unit": str(cast.town_a.pk), **ITEM_DATA})
    item = DisclosureItem.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/portal/items/{item.pk}/"
    assert item.state == State.DRAFT and item.org_unit == cast.town_a
    response = client.post(f"/portal/items/{item.pk}/do/submit/", {"version": item.version})
    item.refresh_from_db()
    assert response.status_code == 302 and item.state == State.SUBMITTED


def test_item_form_keeps_input_on_error(cast, login):
    client = login(cast.users.a_staff)
    response = client.post(
        "/portal/items/new/",
        {**ITEM_DATA, "unit": str(cast.town_a.pk), "title": "", "body": "保留我输入的内容"},
    )
    assert response.status_code == 400
    assert "保留我输入的内容" in body_of(response) and 'id="err-title"' in body_of(response)
    assert not DisclosureItem.objects.exists()


def test_staff_cannot_publish_through_the_page(cast, login):
    item = submitted(cast)
    client = login(cast.users.a_staff)
    page = client.get(f"/portal/items/{item.pk}/")
    assert "审核同意,公开" not in body_of(page)
    response = client.post(f"/portal/items/{item.pk}/do/publish/", {"version": item.version}, follow=True)
    assert "只有本单位或上级妇联的主席" in body_of(response)
    item.refresh_from_db()
    assert item.state == State.SUBMITTED and item.published_at is None


def test_leader_publishes_and_returns_through_the_page(cast, login):
    first, second = submitted(cast), submitted(cast, title="第二项")
    client = login(cast.users.a_leader)
    page = client.get(f"/portal/items/{first.pk}/")
    assert "审核同意,公开" in body_of(page)
    client.post(f"/portal/items/{first.pk}/do/publish/", {"version": first.version})
    first.refresh_from_db()
    assert first.state == State.PUBLISHED
    response = client.post(f"/portal/items/{second.pk}/do/return/", {"version": second.version, "reason": ""})
    assert response.status_code == 400 and "请填写退回原因" in body_of(response)
    client.post(
        f"/portal/items/{second.pk}/do/return/", {"version": second.version, "reason": "请补充活动经费。"}
    )
    second.refresh_from_db()
    assert second.state == State.RETURNED and second.return_reason == "请补充活动经费。"


def test_edit_with_a_stale_version_keeps_the_input(cast, login):
    item = draft(cast)
    client = login(cast.users.a_staff)
    data = {**ITEM_DATA, "title": "我的新标题", "version": item.version - 1 if item.version > 1 else 99}
    response = client.post(f"/portal/items/{item.pk}/", data)
    assert response.status_code == 400
    assert "已被其他人修改" in body_of(response) and "我的新标题" in body_of(response)
    item.refresh_from_db()
    assert item.title != "我的新标题"


def test_other_township_gets_404_and_nothing_changes(cast, login):
    item = submitted(cast)
    done = published(cast, title="已公开")
    comment = actions.post_comment(done, body="一条留言", ip="10.0.0.9")
    c = commitment(cast, publish=False)
    before = (
        list(DisclosureItem.objects.order_by("id").values()),
        list(Comment.objects.values()),
        list(Commitment.objects.values()),
    )
    for user in (cast.users.b_staff, cast.users.b_leader, cast.users.b1_staff):
        client = login(user)
        assert client.get(f"/portal/items/{item.pk}/").status_code == 404
        assert (
            client.post(f"/portal/items/{item.pk}/", {**ITEM_DATA, "version": item.version}).status_code
            == 404
        )
        for verb in ("submit", "publish", "return", "followup"):
            assert (
                client.post(f"/portal/items/{item.pk}/do/{verb}/", {"version": item.version}).status_code
                == 404
            )
        assert client.post(f"/portal/items/{done.pk}/do/followup/").status_code == 404
        for verb in ("show", "hide", "reply"):
            assert client.post(f"/portal/comments/{comment.pk}/do/{verb}/", {"reply": "x"}).status_code == 404
        assert client.get(f"/portal/commitments/{c.pk}/").status_code == 404
        assert (
            client.post(f"/portal/commitments/{c.pk}/", {"op": "publish", "version": c.version}).status_code
            == 404
        )
        assert client.get(f"/portal/profile/{cast.town_a.pk}/").status_code == 404
        listing = body_of(client.get("/portal/"))
        assert item.title not in listing and "一条留言" not in listing
        assert c.title not in body_of(client.get("/portal/commitments/"))
        assert "一条留言" not in body_of(client.get("/portal/comments/"))
    after = (
        list(DisclosureItem.objects.order_by("id").values()),
        list(Comment.objects.values()),
        list(Commitment.objects.values()),
    )
    assert after == before
    assert not PortalProfile.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied", actor_username="b_staff").exists()


def test_village_staff_cannot_touch_the_township(cast, login):
    item = draft(cast)
    client = login(cast.users.a1_staff)
    assert client.get(f"/portal/items/{item.pk}/").status_code == 404
    assert client.get(f"/portal/profile/{cast.town_a.pk}/").status_code == 404


def test_township_staff_sees_its_villages_but_edits_only_its_own(cast, login):
    item = draft(cast, cast.village_a1)
    client = login(cast.users.a_staff)
    page = client.get(f"/portal/items/{item.pk}/")
    assert page.status_code == 200 and 'id="edit-form"' not in body_of(page)
    client.post(f"/portal/items/{item.pk}/do/submit/", {"version": item.version})
    item.refresh_from_db()
    assert item.state == State.DRAFT


def test_home_query_count(cast, login, django_assert_num_queries):
    for i in range(5):
        draft(cast, title=f"草稿{i}")
        submitted(cast, title=f"待审核{i}")
    p = published(cast, period="month")
    DisclosureItem.objects.filter(pk=p.pk).update(next_due=timezone.localdate() - dt.timedelta(days=1))
    for i in range(3):
        actions.post_comment(p, body=f"留言{i}", ip=f"10.0.0.{i}")
    client = login(cast.users.a_leader)
    client.get("/portal/")  # the first request after signing in refreshes the session
    # session, user, memberships, items count + page, state counts, due, review, comments, unread notices,
    # and the session saved again (savepoint, update, release: SESSION_SAVE_EVERY_REQUEST)
    with django_assert_num_queries(13):
        response = client.get("/portal/")
    body = body_of(response)
    assert response.status_code == 200 and "待审核4" in body and "留言2" in body and "已逾期" in body


def test_home_is_404_without_work_scope(cast, login):
    assert login(cast.users.a_caseworker).get("/portal/").status_code == 404


def test_comments_queue_and_moderation(cast, login, django_assert_num_queries):
    item = published(cast)
    for i in range(4):
        actions.post_comment(item, body=f"留言{i}" + XSS, ip="10.0.0.1")
    client = login(cast.users.a_staff)
    client.get("/portal/comments/")
    # session, user, memberships, count, page, unread notices, session save (3)
    with django_assert_num_queries(9):
        page = client.get("/portal/comments/")
    assert "<script>" not in body_of(page) and body_of(page).count("&lt;script&gt;") == 4
    first, second = Comment.objects.order_by("id")[:2]
    client.post(f"/portal/comments/{first.pk}/do/show/", {"next": "queue"})
    client.post(f"/portal/comments/{second.pk}/do/hide/", {"reason": "广告"})
    first.refresh_from_db()
    reply = {"reply": "已转交相关村妇联办理。", "version": first.version}
    assert client.post(f"/portal/comments/{first.pk}/do/reply/", reply).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == CommentState.SHOWN and first.reply == "已转交相关村妇联办理。"
    assert second.state == CommentState.HIDDEN and second.hide_reason == "广告"
    assert Comment.objects.count() == 4


def test_two_answers_to_one_comment_never_overwrite_each_other(cast):
    """Two staff answer the same comment from pages read at the same time: the first answer is saved, the second
    gets the page again (409) with the first answer shown and its own text still in the box; sent again from
    there, knowingly, it replaces the first. A refused text (too long) comes back the same way."""
    item = published(cast)
    comment = actions.post_comment(item, body="村里路灯坏了", ip="10.0.0.1")
    staff, leader = Client(), Client()  # two people, two browsers
    staff.force_login(cast.users.a_staff)
    leader.force_login(cast.users.a_leader)
    read_by_both = comment.version
    first = staff.post(
        f"/portal/comments/{comment.pk}/do/reply/", {"reply": "已报修。", "version": read_by_both}
    )
    assert first.status_code == 302
    second = leader.post(
        f"/portal/comments/{comment.pk}/do/reply/",
        {"reply": "已联系村委会，本周内修好。", "version": read_by_both},
    )
    html = body_of(second)
    assert second.status_code == 409 and "已被其他人答复或处理" in html
    assert "已报修。" in html and ">已联系村委会，本周内修好。</textarea>" in html
    comment.refresh_from_db()
    assert comment.reply == "已报修。" and comment.replied_by == cast.users.a_staff
    assert AuditEvent.objects.filter(action="portal.comment.reply", object_id=str(comment.pk)).count() == 1
    again = leader.post(
        f"/portal/comments/{comment.pk}/do/reply/",
        {"reply": "已联系村委会，本周内修好。", "version": comment.version},
    )
    comment.refresh_from_db()
    assert again.status_code == 302 and comment.reply == "已联系村委会，本周内修好。"
    long = "很长的答复" * 500
    refused = staff.post(
        f"/portal/comments/{comment.pk}/do/reply/", {"reply": long, "version": comment.version}
    )
    assert refused.status_code == 400 and "答复不能超过" in body_of(refused) and long in body_of(refused)
    comment.refresh_from_db()
    assert comment.reply == "已联系村委会，本周内修好。"
    before = comment.version
    assert (
        actions.hide_comment(cast.users.a_leader, comment, reason="").version == before + 1
    )  # moderation too


def test_item_detail_query_count(cast, login, django_assert_num_queries):
    item = published(cast)
    for i in range(3):
        actions.post_comment(item, body=f"留言{i}", ip="10.0.0.1")
    client = login(cast.users.a_staff)
    client.get(f"/portal/items/{item.pk}/")
    # session, user, memberships, item, comments, follow-ups, unread notices, session save (3)
    with django_assert_num_queries(10):
        response = client.get(f"/portal/items/{item.pk}/")
    assert response.status_code == 200 and body_of(response).count('id="comment-') == 3


def test_followup_through_the_page(cast, login):
    item = published(cast, category=Category.RECTIFICATION, title="整改情况公开")
    client = login(cast.users.a_staff)
    response = client.post(f"/portal/items/{item.pk}/do/followup/")
    new = DisclosureItem.objects.exclude(pk=item.pk).get()
    assert response["Location"] == f"/portal/items/{new.pk}/"
    assert new.follows == item and new.title == "【再次公开】整改情况公开"


def test_profile_defaults_from_the_unit_and_saves(cast, login):
    type(cast.town_a).objects.filter(pk=cast.town_a.pk).update(address="甲镇政府大院", phone="0791-7654321")
    client = login(cast.users.a_staff)
    page = client.get(f"/portal/profile/{cast.town_a.pk}/")
    assert 'value="甲镇政府大院"' in body_of(page) and 'value="0791-7654321"' in body_of(page)
    data = {
        "intro": "简介",
        "address": "甲镇人民路1号",
        "phone": "0791-1",
        "office_hours": "工作日",
        "version": 0,
    }
    response = client.post(f"/portal/profile/{cast.town_a.pk}/", {**data, "published": "on"})
    assert response.status_code == 302
    profile = PortalProfile.objects.get()
    assert profile.published and profile.address == "甲镇人民路1号" and profile.version == 1
    stale = client.post(f"/portal/profile/{cast.town_a.pk}/", {**data, "intro": "我的新简介"})
    assert stale.status_code == 400 and "我的新简介" in body_of(stale) and "已被其他人修改" in body_of(stale)
    bad = client.post(f"/portal/profile/{cast.town_a.pk}/", {**data, "phone": "<b>x</b>", "version": 1})
    assert bad.status_code == 400 and "联系电话只能包含数字" in body_of(bad)
    profile.refresh_from_db()
    assert profile.intro == "简介"
