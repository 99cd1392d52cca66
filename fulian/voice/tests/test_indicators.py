import datetime as dt

import pytest
from django.utils import timezone

from fulian.reports import registry
from fulian.voice import actions

from .conftest import DEVICE, full_answer, make_survey, suggest

pytestmark = pytest.mark.django_db


def test_indicators_registered_and_computed(cast):
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=30), today
    a1, _ = suggest(cast.village_a1, ip="10.0.0.1")
    suggest(cast.village_a1, ip="10.0.0.2")
    b1, _ = suggest(cast.village_b1, ip="10.0.0.3")
    actions.reply_suggestion(cast.users.a_staff, a1, reply="已答复")
    spam, _ = suggest(cast.town_a, ip="10.0.0.4")
    actions.mark_spam(cast.users.a_staff, spam)
    survey = make_survey(cast.users.a_staff, cast.town_a)
    actions.submit_response(None, survey, full_answer(survey), device=DEVICE)

    codes = ["voice_suggestions", "voice_replied", "voice_replied_pct", "voice_survey_responses"]
    for code in codes:
        assert registry.get(code).module == "voice"
    source = registry.get("voice_suggestions").source
    assert source.compute(cast.town_a, start, end, codes) == {
        "voice_suggestions": 2,
        "voice_replied": 1,
        "voice_replied_pct": 50.0,
        "voice_survey_responses": 1,
    }
    county = source.compute(cast.county, start, end, codes)
    assert county["voice_suggestions"] == 3 and county["voice_replied_pct"] == 33.3
    by_child = source.by_child(cast.county, start, end, codes)
    assert by_child["voice_suggestions"][cast.town_a.pk] == 2
    assert by_child["voice_suggestions"][cast.town_b.pk] == 1
    assert by_child["voice_survey_responses"][cast.town_a.pk] == 1
    assert by_child["voice_replied_pct"][cast.town_b.pk] == 0.0
    before = today - dt.timedelta(days=400)
    assert source.compute(cast.county, before, before, codes)["voice_suggestions"] == 0
