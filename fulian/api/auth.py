from rest_framework import authentication, exceptions

from fulian.accounts.actions import user_for_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; tokens from `fulian token create USERNAME`."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("令牌格式错误,应为:Authorization: Bearer <令牌>")
        user = user_for_token(parts[1])
        if user is None:
            raise exceptions.AuthenticationFailed("令牌无效或已被吊销。")
        return user, parts[1]

    def authenticate_header(self, request):
        return self.keyword
