from rest_framework.permissions import BasePermission

from fulian.accounts.scope import scope_for


class HasScope(BasePermission):
    """The API permission of the scoping mechanism: the view's ``cap`` must give the user some subtree.

    Object-level checks go through the access helpers (404 outside the scope), like the pages.
    """

    message = "您没有此项权限。"

    def has_permission(self, request, view):
        cap = getattr(view, "cap", None)
        return bool(
            request.user and request.user.is_authenticated and (cap is None or scope_for(request.user, cap))
        )
