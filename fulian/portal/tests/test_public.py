"""The public site: no sign-in, only published things, everything escaped, comments held, exact query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fulian.orgs.actions import create_unit
from fulian.orgs.models import Kind
from fulian.portal import actions
from fulian.portal.models import Category, Comment, CommentState, DisclosureItem
from fulian.throttle.testing import solved, solved_from

from .conftest import XSS, commitment, draft, published, returned, submitted

ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def body_of(response) -> str:
    return response.content.decode()


def test_index_lists_counties_and_searches_by_name(cast, client, django_assert_num_queries):
    with django_assert_num_queries(1):
        page = client.get("/p/")
    assert page.status_code == 200 and "测试县妇联" in body_of(page)
    with django_assert_num_queries(1):
        found = client.get("/p/", {"q": "甲一"})
    assert found.status_code == 200
    assert f'href="/p/u/{cast.village_a1.pk}/"' in body_of(found) and "乙一村" not in body_of(found)
    assert "没有找到" in body_of(client.get("/p/", {"q": "不存在的村"}))


def test_search_is_escaped(cast, client):
    page = client.get("/p/", {"q": XSS[:50]})
    assert "<script>" not in body_of(page) and "&lt;script&gt;" in body_of(page)


def test_unit_page_shows_only_published_things(cast, client):
    shown = published(cast, title="已公开的经费使用情况")
    draft(cast, title="草稿事项不应出现")
    submitted(cast, title="待审核事项不应出现")
    returned(cast, title="退回事项不应出现")
    published(cast, cast.town_b, title="乙镇的公开事项")
    commitment(cast, title="已公开的承诺")
    commitment(cast, title="未公开的承诺", publish=False)
    for url in (f"/p/u/{cast.town_a.pk}/", f"/p/u/{cast.town_a.pk}/board/"):
        body = body_of(client.get(url))
        assert shown.title in body
        for hidden in ("草稿事项不应出现", "待审核事项不应出现", "退回事项不应出现", "乙镇的公开事项"):
            assert hidden not in body
    body = body_of(client.get(f"/p/u/{cast.town_a.pk}/"))
    assert "已公开的承诺" in body and "未公开的承诺" not in body
    for item in DisclosureItem.objects.exclude(pk=shown.pk).filter(org_unit=cast.town_a):
        assert client.get(f"/p/d/{item.pk}/").status_code == 404


def test_unit_page_content_and_links(cast, client):
    actions.save_profile(
        cast.users.a_staff,
        cast.town_a,
        expected_version=0,
        intro="甲镇妇联成立于1958年,下辖2个村妇联。",
        address="甲镇人民路1号",
        phone="0791-1234567",
        office_hours="工作日 8:30—17:30",
        published=True,
    )
    commitment(cast)
    c = commitment(cast, title="开展两癌筛查宣传", target_value=None, target_unit="")
    actions.report_progress(
        cast.users.a_staff, c, expected_version=c.version, evidence="已开展3场。", progress=40
    )
    body = body_of(client.get(f"/p/u/{cast.town_a.pk}/"))
    assert "甲镇妇联成立于1958年" in body and "甲镇人民路1号" in body and "工作日 8:30—17:30" in body
    assert 'href="tel:0791-1234567"' in body and 'href="tel:12338"' in body
    assert 'href="/cases/help/"' in body and 'href="/cases/track/"' in body
    assert f'href="/p/u/{cast.village_a1.pk}/"' in body and f'href="/p/u/{cast.county.pk}/"' in body
    assert '<progress value="40" max="100"' in body and "目标 10场" in body


def test_unpublished_profile_shows_the_units_own_contact(cast, client):
    type(cast.town_a).objects.filter(pk=cast.town_a.pk).update(address="甲镇政府大院", phone="0791-7654321")
    actions.save_profile(
        cast.users.a_staff,
        cast.town_a,
        expected_version=0,
        intro="尚未公开的简介",
        address="",
        phone="",
        office_hours="",
        published=False,
    )
    body = body_of(client.get(f"/p/u/{cast.town_a.pk}/"))
    assert "尚未公开的简介" not in body
    assert "甲镇政府大院" in body and 'href="tel:0791-7654321"' in body


def test_unit_page_query_count(cast, client, django_assert_num_queries):
    for i in range(8):
        published(cast, title=f"公开事项{i}")
    for i in range(3):
        commitment(cast, title=f"承诺{i}")
    # the unit with parent and profile, its open surveys, children, items, commitments
    with django_assert_num_queries(5):
        response = client.get(f"/p/u/{cast.town_a.pk}/")
    assert response.status_code == 200
    assert f'href="/p/u/{cast.town_a.pk}/board/"' in body_of(response)


def test_board_pages_and_filters(cast, client, django_assert_num_queries):
    for i in range(23):
        published(cast, title=f"经费公开{i:02d}")
    published(cast, title="组织建设公开", category=Category.ORGANISATION)
    # the unit, the count, the page
    with django_assert_num_queries(3):
        first = client.get(f"/p/u/{cast.town_a.pk}/board/")
    assert body_of(first).count('href="/p/d/') == 20
    second = client.get(f"/p/u/{cast.town_a.pk}/board/", {"page": 2})
    assert body_of(second).count('href="/p/d/') == 4
    only = client.get(f"/p/u/{cast.town_a.pk}/board/", {"category": Category.ORGANISATION})
    assert body_of(only).count('href="/p/d/') == 1 and "组织建设公开" in body_of(only)


def test_item_detail_query_count(item, client, django_assert_num_queries):
    c = actions.post_comment(item, body="经费公开很及时。", ip="10.0.0.1")
    actions.show_comment(None, c)
    # the item (with unit and previous), its shown comments, its follow-ups
    with django_assert_num_queries(3):
        response = client.get(f"/p/d/{item.pk}/")
    assert response.status_code == 200 and "经费公开很及时。" in body_of(response)


def test_missing_and_unknown_pages_are_404(cast, client):
    assert client.get("/p/u/999999/").status_code == 404
    assert client.get("/p/d/999999/").status_code == 404


def test_closed_unit_says_so_and_hides_its_items(cast, client):
    item = published(cast, cast.village_a1)
    type(cast.village_a1).objects.filter(pk=cast.village_a1.pk).update(
        closed_on=timezone.localdate() - dt.timedelta(days=1)
    )
    page = client.get(f"/p/u/{cast.village_a1.pk}/")
    assert page.status_code == 404 and "该妇联组织已撤销" in body_of(page)
    assert f'href="/p/u/{cast.town_a.pk}/"' in body_of(page)
    assert client.get(f"/p/u/{cast.village_a1.pk}/board/").status_code == 404
    assert client.get(f"/p/d/{item.pk}/").status_code == 404
    assert "甲一村" not in body_of(client.get(f"/p/u/{cast.town_a.pk}/"))


# --- comments ---------------------------------------------------------------------------------------------------


def test_comment_is_held_until_approved_then_shown_escaped(item, cast, client):
    page = client.get(f"/p/d/{item.pk}/")
    data = {"body": XSS, **solved_from(page.content)}
    response = client.post(f"/p/d/{item.pk}/", data)
    assert response.status_code == 302 and response["Location"] == f"/p/d/{item.pk}/?sent=1#comments"
    comment = Comment.objects.get()
    assert comment.state == CommentState.PENDING and comment.body == XSS and not comment.burst
    assert "onerror" not in body_of(client.get(f"/p/d/{item.pk}/"))  # held: not shown
    actions.show_comment(cast.users.a_staff, comment)
    actions.reply_comment(
        cast.users.a_staff, comment, reply="感谢监督。" + XSS, expected_version=comment.version
    )
    body = body_of(client.get(f"/p/d/{item.pk}/"))
    assert "<script>" not in body and "<img src=x" not in body
    assert body.count(ESCAPED) == 2 and "感谢监督。" in body


def test_hidden_comment_is_kept_but_never_shown(item, cast, client):
    comment = actions.post_comment(item, body="不予显示的留言", ip="10.0.0.2")
    actions.hide_comment(cast.users.a_staff, comment, reason="与本事项无关")
    comment.refresh_from_db()
    assert comment.state == CommentState.HIDDEN and comment.hide_reason == "与本事项无关"
    assert "不予显示的留言" not in body_of(client.get(f"/p/d/{item.pk}/"))
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_wrong_captcha_saves_nothing_and_keeps_the_text(item, client):
    response = client.post(
        f"/p/d/{item.pk}/",
        {"body": "我的留言内容", "captcha_token": solved()["captcha_token"], "captcha": "999"},
    )
    assert response.status_code == 400
    assert "验证码不正确或已过期" in body_of(response) and "我的留言内容" in body_of(response)
    assert not Comment.objects.exists()


def test_oversized_and_empty_comments_are_refused(item, client):
    response = client.post(f"/p/d/{item.pk}/", {"body": "长" * 1001, **solved()})
    assert response.status_code == 400 and "留言不能超过1000字" in body_of(response)
    response = client.post(f"/p/d/{item.pk}/", {"body": "  ", **solved()})
    assert response.status_code == 400 and "请填写留言内容" in body_of(response)
    assert not Comment.objects.exists()


def test_comments_only_on_published_items(cast, client):
    item = submitted(cast)
    assert client.post(f"/p/d/{item.pk}/", {"body": "留言", **solved()}).status_code == 404
    with pytest.raises(Exception, match="未公开"):
        actions.post_comment(item, body="留言", ip="10.0.0.3")
    assert not Comment.objects.exists()


def test_comment_rate_limit_keeps_the_comment_and_answers_429(item, client):
    for i in range(actions.COMMENT_LIMIT):
        response = client.post(
            f"/p/d/{item.pk}/", {"body": f"第{i}条留言", **solved()}, REMOTE_ADDR="10.9.9.9"
        )
        assert response.status_code == 302
    response = client.post(f"/p/d/{item.pk}/", {"body": "超出频率的留言", **solved()}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429 and "提交过于频繁" in body_of(response)
    burst = Comment.objects.get(body="超出频率的留言")
    assert burst.burst and burst.state == CommentState.PENDING  # kept, held, marked for the moderator
    assert Comment.objects.count() == actions.COMMENT_LIMIT + 1
    # another sender is not affected
    assert (
        client.post(
            f"/p/d/{item.pk}/", {"body": "别人的留言", **solved()}, REMOTE_ADDR="10.1.1.1"
        ).status_code
        == 302
    )


# --- XSS in every public text field -----------------------------------------------------------------------------


def test_every_public_text_field_is_escaped(cast, client):
    unit = create_unit(None, parent=cast.town_a, kind=Kind.VILLAGE, name=XSS[:60], code="AX")
    actions.save_profile(
        cast.users.a_staff,
        cast.town_a,
        expected_version=0,
        intro=XSS,
        address=XSS,
        phone="0791-1234567",
        office_hours=XSS[:100],
        published=True,
    )
    item = published(cast, title=XSS, body=XSS)
    c = commitment(cast, title=XSS, detail=XSS, target_unit=XSS[:16])
    actions.report_progress(cast.users.a_staff, c, expected_version=c.version, evidence=XSS, achieved_value=3)
    comment = actions.post_comment(item, body=XSS, ip="10.0.0.4")
    actions.show_comment(cast.users.a_staff, comment)
    actions.reply_comment(cast.users.a_staff, comment, reply=XSS, expected_version=comment.version)
    pages = [
        f"/p/u/{cast.town_a.pk}/",
        f"/p/u/{cast.town_a.pk}/board/",
        f"/p/d/{item.pk}/",
        f"/p/u/{unit.pk}/",
        "/p/?q=script",
    ]
    for url in pages:
        body = body_of(client.get(url))
        assert "<script>alert" not in body and "<img src=x" not in body, url
        assert "&lt;script&gt;" in body, url


def test_unit_page_links_open_public_surveys(cast, client, django_assert_num_queries):
    from fulian.voice.tests.conftest import make_survey

    survey = make_survey(cast.users.a_staff, cast.town_a, title="妇女之家满意度调查" + XSS[:40])
    make_survey(cast.users.a_staff, cast.town_a, title="干部内部问卷", audience="cadres")
    with django_assert_num_queries(5):
        body = body_of(client.get(f"/p/u/{cast.town_a.pk}/"))
    assert f'href="/p/survey/{survey.token}/"' in body and "妇女之家满意度调查" in body
    assert "干部内部问卷" not in body and "<script>" not in body
    assert f'href="/p/u/{cast.town_a.pk}/suggest/"' in body and 'href="/p/receipt/"' in body


def test_a_unit_closing_later_is_still_open(cast, client):
    item = published(cast, cast.village_a1)
    type(cast.village_a1).objects.filter(pk=cast.village_a1.pk).update(
        closed_on=timezone.localdate() + dt.timedelta(days=30)
    )
    assert item.title in body_of(client.get(f"/p/u/{cast.village_a1.pk}/"))
    assert client.get(f"/p/d/{item.pk}/").status_code == 200
    assert f'href="/p/u/{cast.village_a1.pk}/"' in body_of(client.get(f"/p/u/{cast.town_a.pk}/"))


def test_a_village_without_a_federation_is_not_offered_as_a_child(cast, client):
    """甲二村 has no federation yet (established=False): township A's page lists 甲一村 only."""
    body = body_of(client.get(f"/p/u/{cast.town_a.pk}/"))
    assert f'href="/p/u/{cast.village_a1.pk}/"' in body
    assert "甲二村" not in body and f'href="/p/u/{cast.village_a2.pk}/"' not in body


def test_the_brand_link_takes_the_public_to_the_portal_not_to_the_sign_in(cast, client):
    body = body_of(client.get(f"/p/u/{cast.town_a.pk}/"))
    assert '<a href="/p/" class="brand">' in body
