"""Access helpers and the view mixin: the only way views reach scoped objects."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404

from fulian.audit.actions import record
from fulian.audit.models import Outcome

from .roles import Cap
from .scope import Scope, scope_for


def deny(actor, object_type: str, object_id, cap: Cap) -> Http404:
    """Audit an attempt to reach something missing or outside the actor's scope; return the 404 to raise.

    Missing and forbidden look the same to the caller (no guessing ids), but both are on record.
    """
    record(
        actor,
        "access.denied",
        object_type=object_type,
        object_id=object_id,
        outcome=Outcome.DENIED,
        detail={"capability": str(cap)},
    )
    return Http404("未找到该记录,或您无权查看。")


def get_in_scope(actor, queryset, pk, cap: Cap):
    """Fetch one row of ``queryset`` (a ScopedQuerySet) inside the actor's scope for ``cap``, or 404."""
    scope = scope_for(actor, cap)
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise deny(actor, queryset.model._meta.label_lower, pk, cap) from None
    obj = queryset.within(scope).filter(pk=pk).first()
    if obj is None:
        raise deny(actor, queryset.model._meta.label_lower, pk, cap)
    return obj


class ScopedViewMixin(LoginRequiredMixin):
    """Class-based views declare ``cap``; ``self.scope`` is the user's scope for it."""

    cap: Cap = Cap.VIEW_ORG

    @property
    def scope(self) -> Scope:
        return scope_for(self.request.user, self.cap)
