"""The client IP of the current request, for audit events written deep inside actions."""

from contextvars import ContextVar

current_ip: ContextVar[str | None] = ContextVar("fulian_current_ip", default=None)


def client_ip(request) -> str | None:
    # Behind nginx, configure it to set X-Real-IP; REMOTE_ADDR otherwise. X-Forwarded-For is not trusted.
    return request.META.get("HTTP_X_REAL_IP") if _trust_proxy() else request.META.get("REMOTE_ADDR")


def _trust_proxy() -> bool:
    from django.conf import settings

    return getattr(settings, "TRUST_X_REAL_IP", False)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)
