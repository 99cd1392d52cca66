from __future__ import annotations

from django.db.models import QuerySet

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for

from .models import AuditEvent


def events_for(actor, *, action: str = "", username: str = "", outcome: str = "") -> QuerySet[AuditEvent]:
    """The audit log of the auditor's subtree; root-level auditors also see events tied to no unit
    (e.g. failed sign-ins with an unknown user name)."""
    scope = scope_for(actor, Cap.VIEW_AUDIT)
    qs = AuditEvent.objects.within_paths(scope.paths, include_unplaced=scope.is_root)
    if action:
        qs = qs.filter(action__startswith=action)
    if username:
        qs = qs.filter(actor_username=username)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.order_by("-id")
