"""The demo content (for ``fulian seed``): published through the actions, re-runnable."""

from __future__ import annotations

from fulian.portal.demo import seed_demo_portal
from fulian.portal.models import Commitment, DisclosureItem, PortalProfile, State


def test_demo_portal_is_published_and_rerunnable(cast, client):
    seed_demo_portal(cast.county)
    assert PortalProfile.objects.count() == 3
    assert DisclosureItem.objects.filter(state=State.PUBLISHED).count() == 9
    assert DisclosureItem.objects.filter(state=State.SUBMITTED).count() == 3
    assert DisclosureItem.objects.filter(next_due__isnull=False).count() == 3
    assert set(Commitment.objects.values_list("progress", flat=True)) == {60, 75, 70}
    seed_demo_portal(cast.county)
    assert DisclosureItem.objects.count() == 12 and Commitment.objects.count() == 9
    body = client.get(f"/p/u/{cast.town_a.pk}/").content.decode()
    assert "第一季度妇联工作经费使用情况" in body and "村(社区)妇联换届工作进展" not in body
    assert '<progress value="75" max="100"' in body
