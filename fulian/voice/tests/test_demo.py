from fulian.voice.demo import seed_demo_voice
from fulian.voice.models import Response, State, Suggestion, Survey, SurveyStatus
from fulian.voice.queries import results


def test_demo_voice_is_deterministic_and_rerunnable(cast):
    assert seed_demo_voice(cast.county) == 60
    survey = Survey.objects.get(unit=cast.county)
    assert survey.status == SurveyStatus.PUBLISHED
    assert Response.objects.filter(survey=survey).count() == 60
    assert Suggestion.objects.filter(unit__in=[cast.town_a, cast.town_b]).count() == 4
    assert Suggestion.objects.filter(state=State.REPLIED).count() == 2
    assert Suggestion.objects.filter(state=State.CLOSED).count() == 1
    shown = results(survey)
    assert shown is not None
    assert seed_demo_voice(cast.county) == 0
    assert Response.objects.count() == 60 and Suggestion.objects.count() == 4
