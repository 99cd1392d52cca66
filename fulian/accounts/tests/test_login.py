"""Sign-in: username or mobile, password rules, lockout (per account and per IP), idle expiry, audit."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from fulian.accounts.actions import create_user
from fulian.accounts.models import User
from fulian.accounts.roles import Role
from fulian.audit.models import AuditEvent
from fulian.conftest import PASSWORD, make_user


def post_login(client, username, password, ip="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_sign_in_by_username_and_by_mobile(cast, client):
    make_user(cast.town_a, Role.STAFF, username="mobile_user", mobile="13912345678")
    response = post_login(client, "mobile_user", PASSWORD)
    assert response.status_code == 302
    client.post("/accounts/logout/")
    response = post_login(client, "13912345678", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # signed in: home redirects to the unit page
    success = AuditEvent.objects.filter(action="accounts.login.success", actor_username="mobile_user")
    assert success.count() == 2
    assert success.first().ip == "10.0.0.1"
    assert success.first().org_path == cast.town_a.path


def test_wrong_password_is_refused_in_chinese_and_audited(cast, client):
    response = post_login(client, "a_staff", "wrong-password1")
    assert response.status_code == 200
    assert "用户名(手机号)或密码不正确" in response.content.decode()
    assert response.context["form"]["username"].value() == "a_staff"  # what was typed is kept
    event = AuditEvent.objects.filter(action="accounts.login.failure").first()
    assert event.detail["username"] == "a_staff" and event.outcome == "failure"
    assert event.org_path == cast.town_a.path  # the targeted account's unit: its auditor sees it


def test_lockout_after_five_failures_per_account(cast, client):
    for i in range(5):
        post_login(client, "a_staff", "bad-pass-1", ip=f"10.0.1.{i}")
    response = post_login(client, "a_staff", PASSWORD, ip="10.0.2.1")  # right password, still locked
    assert response.status_code == 200
    assert "锁定" in response.content.decode()
    assert AuditEvent.objects.filter(action="accounts.login.locked").count() == 1
    assert not AuditEvent.objects.filter(action="accounts.login.success").exists()
    # typing the mobile number instead of the username does not get round the lock
    User.objects.filter(username="a_staff").update(mobile="13700000000")
    assert post_login(client, "13700000000", PASSWORD, ip="10.0.3.1").status_code == 200


def test_lockout_per_ip(cast, client):
    for i in range(5):
        post_login(client, f"nobody{i}", "bad-pass-1", ip="10.9.9.9")
    assert post_login(client, "b_staff", PASSWORD, ip="10.9.9.9").status_code == 200
    assert post_login(client, "b_staff", PASSWORD, ip="10.9.9.8").status_code == 302


def test_lockout_expires_after_the_window(cast, client):
    from datetime import timedelta

    from django.utils import timezone

    from fulian.accounts.models import LoginFailure

    for _ in range(5):
        post_login(client, "a_staff", "bad-pass-1")
    LoginFailure.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    assert post_login(client, "a_staff", PASSWORD).status_code == 302


def test_four_failures_do_not_lock(cast, client):
    for _ in range(4):
        post_login(client, "a_staff", "bad-pass-1")
    assert post_login(client, "a_staff", PASSWORD).status_code == 302


@pytest.mark.parametrize("password", ["short1a", "onlyletters", "1234567890"])
def test_password_rules(cast, password):
    with pytest.raises(ValidationError):
        create_user(None, username="weak", password=password, unit=cast.town_a, role=Role.STAFF)
    assert not User.objects.filter(username="weak").exists()


def test_sessions_expire_after_30_idle_minutes(cast, client):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.force_login(cast.users.a_staff)
    url = f"/orgs/units/{cast.town_a.pk}/"
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get(url).status_code == 200
    # every request pushes the expiry 30 minutes ahead again
    expire = Session.objects.get().expire_date
    assert timedelta(minutes=29) < expire - timezone.now() <= timedelta(minutes=30)
    # 31 idle minutes later the session is gone
    Session.objects.update(expire_date=timezone.now() - timedelta(minutes=1))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_open_redirect_is_refused(cast, client):
    response = client.post(
        "/accounts/login/?next=https://evil.example/", {"username": "a_staff", "password": PASSWORD}
    )
    assert response["Location"] == "/"


def test_logout_is_audited(cast, client):
    client.force_login(cast.users.a_staff)
    client.post("/accounts/logout/")
    assert AuditEvent.objects.filter(action="accounts.logout", actor_username="a_staff").exists()
