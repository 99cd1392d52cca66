"""Brand tags (品牌标签): one list for the whole tree, kept by the top unit; retired tags stay on old records."""

import pytest

from fulian.audit.models import AuditEvent, Outcome
from fulian.ledger.forms import RecordForm
from fulian.ledger.models import BrandTag

from .builders import activity

URL = "/ledger/tags/"


def test_the_top_unit_adds_renames_and_retires_a_tag(cast, login):
    client = login(cast.users.county_leader)
    response = client.post(URL, {"new-name": " 巾帼家美积分 ", "new-sort_order": "5", "new-active": "on"})
    assert response.status_code == 302
    tag = BrandTag.objects.get(name="巾帼家美积分")
    assert tag.sort_order == 5 and tag.active
    rec = activity(cast.village_a1, cast.users.a1_staff, tags=[tag])

    response = client.post(URL, {"tag": tag.pk, f"t{tag.pk}-name": "家美积分", f"t{tag.pk}-sort_order": "6"})
    assert response.status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.sort_order, tag.active) == ("家美积分", 6, False)  # unticked: retired
    assert tag not in RecordForm("activity").fields["tags"].queryset  # no longer offered ...
    assert list(rec.tags.all()) == [tag]  # ... and the record keeps it
    page = client.get(URL).content.decode()
    assert "家美积分" in page and "1 条记录" in page
    actions = list(
        AuditEvent.objects.filter(action__startswith="ledger.tag.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["ledger.tag.create", "ledger.tag.update"]


def test_a_duplicate_name_is_refused_in_chinese_and_the_typed_name_is_kept(cast, login):
    existing = BrandTag.objects.first()  # the default list of the data migration
    before = BrandTag.objects.count()
    response = login(cast.users.county_leader).post(URL, {"new-name": existing.name, "new-sort_order": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert f"品牌标签“{existing.name}”已存在。" in html and f'value="{existing.name}"' in html
    assert BrandTag.objects.count() == before


@pytest.mark.parametrize("who", ["a_leader", "a_sysadmin", "county_staff", "a1_staff", "county_auditor"])
def test_only_the_top_units_managers_keep_the_list(cast, login, who):
    tag = BrandTag.objects.first()
    client = login(getattr(cast.users, who))
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"tag": tag.pk, f"t{tag.pk}-name": "篡改", f"t{tag.pk}-sort_order": "0"})
    assert response.status_code == 403
    assert client.post(URL, {"new-name": "新标签"}).status_code == 403
    assert (
        BrandTag.objects.get(pk=tag.pk).name == tag.name
        and not BrandTag.objects.filter(name="新标签").exists()
    )
    assert (
        AuditEvent.objects.filter(outcome=Outcome.DENIED, actor_id=getattr(cast.users, who).pk).count() == 3
    )


def test_tag_page_query_count_does_not_grow(cast, login, django_assert_num_queries):
    client = login(cast.users.county_leader)
    client.get(URL)
    # session, user, memberships, the tags with their use counts, the unread-notice badge; session save (3)
    with django_assert_num_queries(8):
        client.get(URL)
    for i in range(5):
        BrandTag.objects.create(name=f"测试标签{i}")
    with django_assert_num_queries(8):
        client.get(URL)
