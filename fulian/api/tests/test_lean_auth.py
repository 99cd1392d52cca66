"""The API's hot path: token authentication in one statement (token, user, memberships with their units) and the
lean reads behind it give exactly what the ORM gives."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from fulian.accounts.actions import create_token
from fulian.accounts.models import ApiToken, Membership, User
from fulian.accounts.roles import Cap, Role
from fulian.accounts.scope import memberships_of, scope_for
from fulian.api.auth import user_for_token
from fulian.lib import lean
from fulian.orgs.models import OrgUnit


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_lean_rows_equal_the_orm_instances(cast):
    from django.db import connection

    unit = OrgUnit.objects.get(pk=cast.village_a1.pk)
    OrgUnit.objects.filter(pk=unit.pk).update(closed_on=dt.date(2030, 1, 1), established=True)
    unit.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {lean.columns(OrgUnit, "o")} FROM orgs_orgunit o WHERE o."id" = %s', [unit.pk]
        )
        built, end = lean.build(OrgUnit, cursor.fetchone())
    assert _fields(built) == _fields(unit) and end == len(OrgUnit._meta.concrete_fields)
    assert isinstance(built.closed_on, dt.date) and built.established is True  # converted, also on SQLite
    assert not built._state.adding and built._state.db == "default"
    assert lean.build(OrgUnit, (None,) * end) == (None, end)


def test_token_authentication_loads_the_memberships_as_memberships_of_would(cast, django_assert_num_queries):
    user = cast.users.a_staff
    Membership.objects.create(user=user, org_unit=cast.village_b1, role=Role.CASEWORKER)
    Membership.objects.create(user=user, org_unit=cast.county, role=Role.HOTLINE)
    token = create_token(None, user)
    with django_assert_num_queries(2):  # the statement + the token's last_used_at (first use)
        authenticated = user_for_token(token)
    assert _fields(authenticated) == _fields(User.objects.get(pk=user.pk))
    expected = memberships_of(User.objects.get(pk=user.pk))
    with django_assert_num_queries(0):  # scope checks need no query after authentication
        loaded = memberships_of(authenticated)
        assert [(m.pk, m.role, _fields(m.org_unit)) for m in loaded] == [
            (m.pk, m.role, _fields(m.org_unit)) for m in expected
        ]
        assert all(m.user is authenticated for m in loaded)
        assert (
            scope_for(authenticated, Cap.INTAKE_CASES).paths
            == scope_for(expected[0].user, Cap.INTAKE_CASES).paths
        )
    with django_assert_num_queries(1):  # used a moment ago: last_used_at is not written again
        assert user_for_token(token).pk == user.pk


def test_a_user_without_memberships_authenticates_with_an_empty_scope(cast, django_assert_num_queries):
    user = cast.users.a_staff
    token = create_token(None, user)
    Membership.objects.filter(user=user).delete()
    user_for_token(token)
    with django_assert_num_queries(1):
        authenticated = user_for_token(token)
        assert memberships_of(authenticated) == [] and not scope_for(authenticated, Cap.VIEW_ORG)


def test_last_used_is_refreshed_after_five_minutes_only(cast):
    token = create_token(None, cast.users.a_staff)
    row = ApiToken.objects.get(user=cast.users.a_staff)
    assert row.last_used_at is None
    user_for_token(token)
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None
    user_for_token(token)
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    stale = timezone.now() - dt.timedelta(minutes=6)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=stale)
    user_for_token(token)
    assert ApiToken.objects.get(pk=row.pk).last_used_at > stale


def test_revoked_unknown_and_inactive_are_refused(cast):
    token = create_token(None, cast.users.a_staff)
    assert user_for_token(token + "x") is None
    User.objects.filter(pk=cast.users.a_staff.pk).update(is_active=False)
    assert user_for_token(token) is None
    User.objects.filter(pk=cast.users.a_staff.pk).update(is_active=True)
    assert user_for_token(token) is not None
    ApiToken.objects.filter(user=cast.users.a_staff).update(revoked=True)
    assert user_for_token(token) is None
