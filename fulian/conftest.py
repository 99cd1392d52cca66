"""The same cast in every test: a county, two townships (A, B) with villages, and users of every role.

"The insider, the neighbour, the outsider": township A's users are insiders for A's villages and outsiders to
B. Built through the real actions.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from fulian.accounts.actions import create_user
from fulian.accounts.roles import Role
from fulian.orgs.actions import create_cadre, create_unit
from fulian.orgs.models import Education, Kind, Position

PASSWORD = "Passw0rd2026"


def make_user(unit, role, username=None, mobile=None):
    username = username or f"{unit.code.lower()}_{role}"
    return create_user(None, username=username, password=PASSWORD, unit=unit, role=role, mobile=mobile)


def make_cadre(unit, name="李秀英", **overrides):
    fields = dict(
        name=name,
        gender="F",
        birth_date=dt.date(1980, 5, 1),
        education=Education.COLLEGE,
        position=Position.EXECUTIVE,
        full_time=False,
        party_member=True,
        in_two_committees=False,
        phone="13800001111",
    )
    fields.update(overrides)
    return create_cadre(None, org_unit=unit, **fields)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at production strength costs ~0.3 s a user; the cast has 17 users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db):
    county = create_unit(
        None, parent=None, kind=Kind.COUNTY, name="测试县妇联", code="C", division_code="360430000000"
    )
    town_a = create_unit(
        None, parent=county, kind=Kind.TOWNSHIP, name="甲镇妇联", code="A", division_code="360430101000"
    )
    town_b = create_unit(
        None, parent=county, kind=Kind.TOWNSHIP, name="乙镇妇联", code="B", division_code="360430102000"
    )
    village_a1 = create_unit(None, parent=town_a, kind=Kind.VILLAGE, name="甲一村", code="A1")
    village_a2 = create_unit(
        None, parent=town_a, kind=Kind.VILLAGE, name="甲二村", code="A2", established=False
    )
    village_b1 = create_unit(None, parent=town_b, kind=Kind.VILLAGE, name="乙一村", code="B1")
    agency = create_unit(None, parent=county, kind=Kind.AGENCY, name="县教育局妇委会", code="CA")
    users = SimpleNamespace()
    for unit, prefix in ((county, "county"), (town_a, "a"), (town_b, "b")):
        for role in Role.values:
            setattr(users, f"{prefix}_{role}", make_user(unit, role, username=f"{prefix}_{role}"))
    users.a1_staff = make_user(village_a1, Role.STAFF, username="a1_staff")
    users.b1_staff = make_user(village_b1, Role.STAFF, username="b1_staff")
    cadres = SimpleNamespace(
        county_chair=make_cadre(
            county, "周红梅", position=Position.CHAIR, full_time=True, education=Education.BACHELOR
        ),
        a_chair=make_cadre(town_a, "王桂兰", position=Position.CHAIR, full_time=True),
        a1_chair=make_cadre(
            village_a1,
            "张玉梅",
            position=Position.CHAIR,
            in_two_committees=True,
            education=Education.HIGH_SCHOOL,
            birth_date=dt.date(1965, 3, 2),
        ),
        b_chair=make_cadre(town_b, "刘秀英", position=Position.CHAIR, full_time=True),
        b1_chair=make_cadre(village_b1, "陈丽", position=Position.CHAIR, birth_date=dt.date(1960, 1, 1)),
    )
    return SimpleNamespace(
        county=county,
        town_a=town_a,
        town_b=town_b,
        village_a1=village_a1,
        village_a2=village_a2,
        village_b1=village_b1,
        agency=agency,
        users=users,
        cadres=cadres,
    )


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
