import datetime as dt
import re

import pytest
from django import forms
from django.core import signing
from django.template import Context, Template
from django.utils import timezone

from fulian.throttle import captcha
from fulian.throttle.captcha import ERROR, CaptchaMixin, check, chinese_numeral, new_challenge, parse_answer
from fulian.throttle.models import UsedChallenge
from fulian.throttle.testing import solve, solved, solved_from


class NoteForm(CaptchaMixin, forms.Form):
    text = forms.CharField(max_length=20)


def _eval(question: str) -> int:
    """Compute the answer from the Chinese question, the way a person would."""
    m = re.match(r"^(\S+) (加上|加|减去|减|乘以|乘) (\S+) ", question)
    assert m, question
    a, op, b = parse_answer(m.group(1)), m.group(2), parse_answer(m.group(3))
    return {"加": a + b, "加上": a + b, "减": a - b, "减去": a - b, "乘": a * b, "乘以": a * b}[op]


def test_numerals_round_trip():
    for n in range(100):
        assert parse_answer(chinese_numeral(n)) == n
    assert chinese_numeral(7) == "七"
    assert chinese_numeral(12) == "十二"
    assert chinese_numeral(40) == "四十"
    assert parse_answer(" １２ ") == 12
    assert parse_answer("两") == 2
    assert parse_answer("abc") is None
    assert parse_answer("") is None


def test_questions_vary_and_are_chinese():
    questions = {new_challenge().question for _ in range(200)}
    assert len(questions) > 50
    ops = {op for q in questions for op in ("加", "减", "乘") if op in q}
    assert ops == {"加", "减", "乘"}
    for q in questions:
        assert not re.search(r"\d", q), q  # numerals written out in Chinese
        assert 0 <= _eval(q) <= captcha.MAX_ANSWER


@pytest.mark.django_db
def test_right_answer_passes_once():
    ch = new_challenge()
    answer = _eval(ch.question)
    assert solve(ch.token) == str(answer)
    assert check(ch.token, str(answer)) is True
    assert check(ch.token, str(answer)) is False  # single use


@pytest.mark.django_db
def test_chinese_numeral_answer_accepted():
    ch = new_challenge()
    assert check(ch.token, chinese_numeral(_eval(ch.question))) is True


@pytest.mark.django_db
def test_wrong_answer_spends_the_token():
    ch = new_challenge()
    right = _eval(ch.question)
    assert check(ch.token, str(right + 1)) is False
    assert check(ch.token, str(right)) is False  # no second try on the same token
    assert UsedChallenge.objects.count() == 1


def test_token_does_not_reveal_the_answer():
    ch = new_challenge()
    payload = signing.loads(ch.token, salt=captcha.SALT)
    assert set(payload) == {"n", "h"}
    assert str(_eval(ch.question)) not in payload.values()


@pytest.mark.django_db
def test_forged_and_foreign_tokens_fail():
    assert check("", "3") is False
    assert check("garbage", "3") is False
    forged = signing.dumps({"n": "0" * 32, "h": "x"}, salt="another.salt")
    assert check(forged, "3") is False
    assert check("x" * 600, "3") is False
    assert UsedChallenge.objects.count() == 0


@pytest.mark.django_db
def test_expired_token_fails(monkeypatch):
    ch = new_challenge()
    later = timezone.now() + dt.timedelta(seconds=captcha.MAX_AGE + 5)
    monkeypatch.setattr(signing.time, "time", lambda: later.timestamp())
    assert check(ch.token, solve(ch.token)) is False


@pytest.mark.django_db
def test_form_valid_with_solved_captcha():
    form = NoteForm(data={"text": "你好", **solved()})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["text"] == "你好"


@pytest.mark.django_db
def test_form_wrong_answer_chinese_error_and_fresh_challenge_keeps_text():
    first = new_challenge()
    wrong = str(int(solve(first.token)) + 1)
    form = NoteForm(data={"text": "<b>保留</b>", "captcha_token": first.token, "captcha": wrong})
    assert not form.is_valid()
    assert form.errors["captcha"] == [ERROR]
    html = Template("{{ form }}").render(Context({"form": form}))
    assert first.token not in html  # a fresh question, not the spent one
    assert form.challenge.token in html
    assert form.challenge.question in html
    assert "&lt;b&gt;保留&lt;/b&gt;" in html  # what was typed is kept (and escaped)
    # the page's fresh challenge can be answered
    again = NoteForm(data={"text": "保留", **solved_from(html)})
    assert again.is_valid(), again.errors


@pytest.mark.django_db
def test_form_missing_captcha_is_an_error():
    form = NoteForm(data={"text": "你好"})
    assert not form.is_valid()
    assert form.errors["captcha"] == [ERROR]


@pytest.mark.django_db
def test_form_replayed_token_refused():
    data = {"text": "你好", **solved()}
    assert NoteForm(data=data).is_valid()
    replay = NoteForm(data=data)
    assert not replay.is_valid()
    assert replay.errors["captcha"] == [ERROR]


@pytest.mark.django_db
def test_other_field_error_also_reissues_challenge():
    data = {"text": "太长" * 20, **solved()}
    form = NoteForm(data=data)
    assert not form.is_valid()
    assert "captcha" not in form.errors and "text" in form.errors
    html = form.as_div()
    assert data["captcha_token"] not in html


@pytest.mark.django_db
def test_prefixed_form():
    form = NoteForm(data={"s-text": "你好", **solved("s")}, prefix="s")
    assert form.is_valid(), form.errors


def test_unbound_form_renders_question_accessibly():
    form = NoteForm()
    html = form.as_div()
    assert f"验证码:{form.challenge.question}" in html
    assert 'inputmode="numeric"' in html
    assert "<label" in html  # the question is the label of the answer box
    assert form.challenge.token in html


@pytest.mark.django_db
def test_spent_challenges_pruned():
    old = timezone.now() - dt.timedelta(seconds=3 * captcha.MAX_AGE)
    UsedChallenge.objects.create(nonce="a" * 32, used_at=old)
    ch = new_challenge()
    check(ch.token, solve(ch.token))
    assert list(UsedChallenge.objects.values_list("nonce", flat=True)) == [
        signing.loads(ch.token, salt=captcha.SALT)["n"]
    ]


@pytest.mark.django_db
def test_check_inside_a_transaction_survives_a_replay():
    from django.db import transaction

    ch = new_challenge()
    answer = solve(ch.token)
    with transaction.atomic():
        assert check(ch.token, answer) is True
        assert check(ch.token, answer) is False
        assert UsedChallenge.objects.count() == 1  # the transaction is still usable
