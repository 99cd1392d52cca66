"""A self-hosted CAPTCHA: an arithmetic question written in Chinese ("七 加 五 等于几?").

Plain text, so it works on any phone and with a screen reader (the question *is* the text alternative); no
image, no script, no third-party service. The answer may be typed in digits (full-width too) or in Chinese
numerals (十二).

The token is signed with ``django.core.signing`` (salted, timestamped, valid ``MAX_AGE`` seconds) and does not
carry the answer in the clear — only an HMAC of it under the SECRET_KEY, so reading the token does not help.
Each token can be answered once: the first answer (right or wrong) spends it, recorded in the database, so a
bot cannot try the ~100 possible answers against one token.

Forms: ``class MyForm(CaptchaMixin, forms.Form)`` adds the question (``captcha``, labelled with the question)
and its hidden token (``captcha_token``); a re-rendered form always shows a fresh question.
Tests: ``fulian.throttle.testing.solve(token)`` / ``solved()``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from django import forms
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .limits import prune_older
from .models import UsedChallenge

MAX_AGE = 20 * 60  # seconds
SALT = "fulian.throttle.captcha"
MAX_ANSWER = 100  # every answer lies in [0, MAX_ANSWER]
ERROR = "验证码不正确或已过期,请重新计算"

DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """0–99 in Chinese numerals: 7 → 七, 12 → 十二, 40 → 四十, 58 → 五十八."""
    if not 0 <= n <= 99:
        raise ValueError(n)
    if n < 10:
        return DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else DIGITS[tens]
    return head + "十" + (DIGITS[ones] if ones else "")


_CN_NUMBER = re.compile(
    r"^(?:([二三四五六七八九两])?十([一二三四五六七八九])?|([零〇一二三四五六七八九两]))$"
)


def parse_answer(text: str | None) -> int | None:
    """What a person typed as an answer → an int (digits, full-width digits, 十二 / 二十 / 两), or None."""
    s = unicodedata.normalize("NFKC", text or "").strip().replace(" ", "")
    if s.isascii() and s.isdigit() and len(s) <= 4:
        return int(s)
    m = _CN_NUMBER.match(s)
    if not m:
        return None
    values = {c: i for i, c in enumerate(DIGITS)} | {"〇": 0, "两": 2}
    if m.group(3):
        return values[m.group(3)]
    tens = values[m.group(1)] if m.group(1) else 1
    ones = values[m.group(2)] if m.group(2) else 0
    return tens * 10 + ones


@dataclass(frozen=True)
class Challenge:
    question: str
    token: str


_ASK = ("等于几?", "等于多少?", "是多少?")


def _question() -> tuple[str, int]:
    op = secrets.randbelow(3)
    if op == 0:  # addition, sum ≤ 30
        a, b = 1 + secrets.randbelow(20), 1 + secrets.randbelow(10)
        words, answer = ("加", "加上")[secrets.randbelow(2)], a + b
    elif op == 1:  # subtraction, never negative
        a = 5 + secrets.randbelow(16)
        b = 1 + secrets.randbelow(a - 1)
        words, answer = ("减", "减去")[secrets.randbelow(2)], a - b
    else:  # multiplication of small numbers
        a, b = 2 + secrets.randbelow(8), 2 + secrets.randbelow(8)
        words, answer = ("乘", "乘以")[secrets.randbelow(2)], a * b
    ask = _ASK[secrets.randbelow(len(_ASK))]
    return f"{chinese_numeral(a)} {words} {chinese_numeral(b)} {ask}", answer


def _answer_mac(nonce: str, answer: int) -> str:
    return salted_hmac(SALT + ".answer", f"{nonce}:{answer}", algorithm="sha256").hexdigest()[:32]


def new_challenge() -> Challenge:
    """A fresh question and its signed token. No database access."""
    question, answer = _question()
    nonce = secrets.token_hex(16)
    token = signing.dumps({"n": nonce, "h": _answer_mac(nonce, answer)}, salt=SALT, compress=False)
    return Challenge(question=question, token=token)


def _payload(token: str | None, *, max_age: int | None = MAX_AGE) -> dict | None:
    if not token or len(token) > 500:
        return None
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("h"), str):
        return None
    return data


def _spend(nonce: str) -> bool:
    """Mark the challenge used; False if it already was. Prunes spent challenges too old to matter."""
    now = timezone.now()
    prune_older(UsedChallenge, "used_at", now - dt.timedelta(seconds=2 * MAX_AGE))
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not break the caller's transaction
            UsedChallenge.objects.create(nonce=nonce[:32], used_at=now)
    except IntegrityError:
        return False
    return True


def check(token: str | None, answer: str | None) -> bool:
    """True when ``answer`` answers the challenge of ``token``, the token is genuine, not older than
    ``MAX_AGE`` and not answered before. Any answer (right or wrong) to a valid token spends it."""
    data = _payload(token)
    if data is None:
        return False
    if not _spend(data["n"]):
        return False
    value = parse_answer(answer)
    if value is None or not 0 <= value <= MAX_ANSWER:
        return False
    return hmac.compare_digest(_answer_mac(data["n"], value), data["h"])


# --- forms ------------------------------------------------------------------------------------------------


class CaptchaField(forms.CharField):
    """The answer box; its label is the question (set by CaptchaMixin). Validation happens in the form
    (``CaptchaMixin.clean_captcha``), against the token that was posted with it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "验证码")
        kwargs.setdefault("required", False)  # checked by the mixin: an empty answer gets the captcha error
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "off", "size": "6", "class": "captcha-answer"}
            ),
        )
        super().__init__(**kwargs)


class CaptchaMixin:
    """Put before ``forms.Form``/``forms.ModelForm``: adds ``captcha`` (the answer, labelled with the question)
    and ``captcha_token`` (hidden). A bound form remembers what was posted for validation, then shows a fresh
    question and an empty answer box when it is rendered again (the posted token is spent either way)."""

    captcha_help = "请用数字作答,例如 12。"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.challenge = new_challenge()
        answer_field = CaptchaField(help_text=self.captcha_help)
        answer_field.label = f"验证码:{self.challenge.question}"
        self.fields["captcha"] = answer_field
        self.fields["captcha_token"] = forms.CharField(widget=forms.HiddenInput, required=False)
        token_key, answer_key = self.add_prefix("captcha_token"), self.add_prefix("captcha")
        self.posted_captcha: tuple[str, str] = ("", "")
        if self.is_bound:
            self.posted_captcha = (str(self.data.get(token_key, "")), str(self.data.get(answer_key, "")))
            data = self.data.copy()
            data[token_key] = self.challenge.token
            data[answer_key] = ""
            self.data = data
        else:
            self.initial["captcha_token"] = self.challenge.token

    def clean_captcha(self) -> str:
        token, answer = self.posted_captcha
        if not check(token, answer):
            raise forms.ValidationError(ERROR, code="captcha")
        return answer
