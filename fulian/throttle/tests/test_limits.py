import datetime as dt

import pytest
from django.utils import timezone

from fulian.throttle.limits import RETENTION, RateLimited, hit, key_hash, over, prune
from fulian.throttle.models import Attempt

TEN_MIN = dt.timedelta(minutes=10)


@pytest.mark.django_db
def test_hit_counts_including_this_one():
    results = [hit("t.ip", "10.0.0.1", limit=3, window=TEN_MIN) for _ in range(5)]
    assert results == [False, False, False, True, True]
    assert Attempt.objects.filter(kind="t.ip").count() == 5  # recorded even when over


@pytest.mark.django_db
def test_keys_and_kinds_are_separate_buckets():
    for _ in range(3):
        hit("t.ip", "10.0.0.1", limit=2, window=TEN_MIN)
    assert hit("t.ip", "10.0.0.2", limit=2, window=TEN_MIN) is False
    assert hit("t.other", "10.0.0.1", limit=2, window=TEN_MIN) is False
    assert hit("t.ip", "10.0.0.1", limit=2, window=TEN_MIN) is True


@pytest.mark.django_db
def test_none_key_is_one_bucket():
    assert hit("t.ip", None, limit=1, window=TEN_MIN) is False
    assert hit("t.ip", None, limit=1, window=TEN_MIN) is True
    assert hit("t.ip", "", limit=1, window=TEN_MIN) is True  # no address: same bucket as None


@pytest.mark.django_db
def test_over_checks_without_recording():
    assert over("t.ip", "1.2.3.4", limit=2, window=TEN_MIN) is False
    hit("t.ip", "1.2.3.4", limit=2, window=TEN_MIN)
    assert over("t.ip", "1.2.3.4", limit=2, window=TEN_MIN) is False
    hit("t.ip", "1.2.3.4", limit=2, window=TEN_MIN)
    # two in the window: one more would exceed the limit of two
    assert over("t.ip", "1.2.3.4", limit=2, window=TEN_MIN) is True
    assert Attempt.objects.count() == 2


@pytest.mark.django_db
def test_window_excludes_older_attempts():
    old = timezone.now() - dt.timedelta(minutes=11)
    hashed = key_hash("t.ip", "10.0.0.9")
    Attempt.objects.bulk_create([Attempt(kind="t.ip", key=hashed, created_at=old) for _ in range(10)])
    assert hit("t.ip", "10.0.0.9", limit=1, window=TEN_MIN) is False
    assert hit("t.ip", "10.0.0.9", limit=1, window=dt.timedelta(minutes=20)) is True


@pytest.mark.django_db
def test_prunes_attempts_older_than_a_day():
    hashed = key_hash("t.ip", "x")
    stale = timezone.now() - RETENTION - dt.timedelta(minutes=1)
    Attempt.objects.bulk_create([Attempt(kind="t.ip", key=hashed, created_at=stale) for _ in range(7)])
    Attempt.objects.create(kind="t.ip", key=hashed, created_at=timezone.now() - dt.timedelta(hours=23))
    hit("t.ip", "y", limit=5, window=TEN_MIN)
    assert Attempt.objects.count() == 2
    assert prune() == 0


@pytest.mark.django_db
def test_prune_is_bounded_per_call():
    hashed = key_hash("t.ip", "x")
    stale = timezone.now() - RETENTION - dt.timedelta(hours=1)
    Attempt.objects.bulk_create([Attempt(kind="t.ip", key=hashed, created_at=stale) for _ in range(12)])
    assert prune(batch=5) == 5
    assert prune(batch=5) == 5
    assert prune(batch=5) == 2
    assert prune(batch=5) == 0


@pytest.mark.django_db
def test_hit_costs_three_queries(django_assert_num_queries):
    with django_assert_num_queries(3):
        hit("t.ip", "10.0.0.1", limit=3, window=TEN_MIN)
    with django_assert_num_queries(1):
        over("t.ip", "10.0.0.1", limit=3, window=TEN_MIN)


@pytest.mark.django_db
def test_raw_key_is_never_stored():
    hit("t.phone", "13800001111", limit=3, window=TEN_MIN)
    row = Attempt.objects.get()
    assert "13800001111" not in row.key
    assert len(row.key) == 64
    assert row.key == key_hash("t.phone", "13800001111") != key_hash("t.ip", "13800001111")


def test_key_hash_depends_on_secret_key(settings):
    first = key_hash("t.ip", "10.0.0.1")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert key_hash("t.ip", "10.0.0.1") != first


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": -1, "window": TEN_MIN},
        {"limit": 1, "window": dt.timedelta(0)},
        {"limit": 1, "window": RETENTION + dt.timedelta(seconds=1)},
    ],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        hit("t.ip", "x", **kwargs)


def test_rate_limited_is_a_validation_error():
    from django.core.exceptions import ValidationError

    exc = RateLimited("提交过于频繁,请稍后再试。", code="rate_limited")
    assert isinstance(exc, ValidationError)
    assert exc.messages == ["提交过于频繁,请稍后再试。"]
