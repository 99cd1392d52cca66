import datetime as dt
import hashlib
from functools import cache

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from fulian.accounts.models import ApiToken, Membership, User
from fulian.accounts.scope import remember_memberships
from fulian.lib import lean
from fulian.orgs.models import OrgUnit

TOUCH_EVERY = dt.timedelta(minutes=5)  # last_used_at is refreshed at most this often (as user_for_token)


@cache
def _token_sql(vendor: str) -> str:
    """The token, its user and the user's memberships with their units: one statement (a row per membership,
    ordered as ``memberships_of`` orders them; one row with NULL membership columns when there is none)."""
    q = connection.ops.quote_name
    # identifiers from the models' metadata only; the digest is a parameter
    cols = ", ".join(
        lean.columns(model, alias)
        for model, alias in ((ApiToken, "t"), (User, "u"), (Membership, "m"), (OrgUnit, "o"))
    )
    tables = (
        f'{q(ApiToken._meta.db_table)} t JOIN {q(User._meta.db_table)} u ON u."id" = t."user_id" '
        f'LEFT JOIN {q(Membership._meta.db_table)} m ON m."user_id" = u."id" '
        f'LEFT JOIN {q(OrgUnit._meta.db_table)} o ON o."id" = m."org_unit_id"'
    )
    return (
        f'SELECT {cols} FROM {tables} WHERE t."digest" = %s AND NOT t."revoked" ORDER BY o."path", m."role"'  # noqa: S608
    )


def user_for_token(token: str) -> User | None:
    """``fulian.accounts.actions.user_for_token`` in one statement instead of two (the token with its user, then
    the memberships on the first scope check): the user comes back with its memberships loaded."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with lean.cursor() as cursor:
        cursor.execute(_token_sql(connection.vendor), [digest])
        rows = cursor.fetchall()
    if not rows:
        return None
    api_token, start = lean.build(ApiToken, rows[0])
    user, start = lean.build(User, rows[0], start)
    if not user.is_active:
        return None
    memberships = []
    for row in rows:
        membership, after = lean.build(Membership, row, start)
        if membership is None:
            break
        membership.org_unit, _ = lean.build(OrgUnit, row, after)
        membership.user = user
        memberships.append(membership)
    remember_memberships(user, memberships)
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return user


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
