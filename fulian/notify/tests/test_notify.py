"""Notifications: bulk insert with a per-user dedupe key, the inbox, the unread badge, e-mail after commit."""

from __future__ import annotations

from django.core import mail

from fulian.notify import actions, queries
from fulian.notify.models import Notification


def test_notify_dedupes_per_user(cast):
    users = [cast.users.a_staff, cast.users.b_staff]
    created = actions.notify(users, kind="test", title="请报送", dedupe_key="k1")
    assert len(created) == 2
    again = actions.notify([*users, cast.users.county_staff], kind="test", title="请报送", dedupe_key="k1")
    assert [n.user_id for n in again] == [cast.users.county_staff.pk]
    assert Notification.objects.count() == 3
    # without a key, every call notifies
    actions.notify(users, kind="test", title="另一条")
    assert Notification.objects.count() == 5


def test_inbox_shows_only_own_notifications_and_marks_read(cast, login):
    mine = actions.notify([cast.users.a_staff], kind="test", title="甲镇的通知", url="/tasks/")[0]
    theirs = actions.notify([cast.users.b_staff], kind="test", title="乙镇的通知")[0]
    client = login(cast.users.a_staff)
    body = client.get("/notices/").content.decode()
    assert "甲镇的通知" in body and "乙镇的通知" not in body
    assert 'id="nav-notices">通知<span class="tag warn" aria-label="未读通知">1</span>' in body
    assert client.post(f"/notices/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = client.post(f"/notices/{mine.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    assert queries.unread_count(cast.users.a_staff) == 0
    actions.notify([cast.users.a_staff], kind="test", title="二")
    actions.notify([cast.users.a_staff], kind="test", title="三")
    client.post("/notices/read-all/")
    assert queries.unread_count(cast.users.a_staff) == 0
    assert queries.unread_count(cast.users.b_staff) == 1


def test_open_never_redirects_off_site(cast, login):
    n = actions.notify([cast.users.a_staff], kind="test", title="外链", url="https://evil.example/")[0]
    response = login(cast.users.a_staff).post(f"/notices/{n.pk}/open/")
    assert response["Location"] == "/notices/"


def test_inbox_query_count(cast, login, django_assert_num_queries):
    actions.notify([cast.users.a_staff], kind="test", title="第一条")
    client = login(cast.users.a_staff)
    client.get("/notices/")
    # session, user, memberships, COUNT + page, unread badge, session touch
    with django_assert_num_queries(9):
        client.get("/notices/")
    for i in range(40):
        actions.notify([cast.users.a_staff], kind="test", title=f"通知{i}")
    with django_assert_num_queries(9):
        assert client.get("/notices/").context["page"].paginator.count == 41


def test_email_is_sent_after_commit_when_configured(cast, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_EMAIL = True
    cast.users.a_staff.email = "a@example.org"
    cast.users.a_staff.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.notify([cast.users.a_staff, cast.users.b_staff], kind="test", title="请报送", body="三八节")
    assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["a@example.org"]]  # b_staff has no address
    assert mail.outbox[0].subject == "【妇联工作平台】请报送"


def test_no_email_by_default(cast, settings, django_capture_on_commit_callbacks):
    cast.users.a_staff.email = "a@example.org"
    cast.users.a_staff.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        actions.notify([cast.users.a_staff], kind="test", title="请报送")
    assert mail.outbox == []
