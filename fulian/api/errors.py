from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from fulian.orgs.actions import ConflictError


def exception_handler(exc, context):
    """Domain errors become clear Chinese API errors instead of 500s."""
    if isinstance(exc, ConflictError):
        return Response({"detail": exc.message, "code": "conflict"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (PermissionDenied, exceptions.PermissionDenied)):
        _audit_denial(context, exc)
    if isinstance(exc, PermissionDenied) and exc.args:
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)


def _audit_denial(context, exc) -> None:
    from fulian.audit.actions import record
    from fulian.audit.models import Outcome

    request = context.get("request")
    user = getattr(request, "user", None)
    record(
        user if user is not None and user.is_authenticated else None,
        "access.denied",
        object_type="api",
        object_id=(request.path if request is not None else "")[:64],
        outcome=Outcome.DENIED,
        detail={"reason": str(exc)[:200], "method": getattr(request, "method", "")},
    )
