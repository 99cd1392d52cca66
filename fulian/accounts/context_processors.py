from django.utils.functional import SimpleLazyObject

from .roles import Cap
from .scope import home_unit, memberships_of, scope_for


def memberships(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "my_memberships": memberships_of(user),
        "my_home_unit": home_unit(user),
        "can_view_audit": bool(scope_for(user, Cap.VIEW_AUDIT)),
        "can_manage_org": bool(scope_for(user, Cap.MANAGE_ORG)),
        "can_edit_cadres": bool(scope_for(user, Cap.EDIT_CADRES)),
        "can_view_work": bool(scope_for(user, Cap.VIEW_WORK)),
        # 报表: the dashboards of the statistics service (work or case figures to show)
        "can_view_reports": bool(scope_for(user, Cap.VIEW_WORK)) or bool(scope_for(user, Cap.VIEW_CASES)),
        # 维权: caseworkers and leaders (VIEW_CASES), and hotline operators (intake only)
        "can_view_cases": bool(scope_for(user, Cap.VIEW_CASES)) or bool(scope_for(user, Cap.INTAKE_CASES)),
        # the nav's unread badge: one COUNT on an index, only on pages that render the nav (not htmx partials)
        "unread_notices": SimpleLazyObject(lambda: user.notifications.filter(read_at__isnull=True).count()),
    }
