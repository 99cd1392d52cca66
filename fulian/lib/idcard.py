"""Mainland resident ID numbers (GB 11643-1999) and phone numbers: validation with Chinese reasons (no Django).

An 18-character citizen identity number is ``RRRRRR YYYYMMDD SSS C``: a 6-digit administrative region code, the
birth date, a sequence code whose last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check
character (0-9 or X). The region is checked for shape only (a valid province-level prefix, incl. 81/82/83 of the
residence permits for Hong Kong, Macao and Taiwan residents): region codes change with every 撤县设区, so a
table would reject real, older numbers. First-generation 15-digit numbers expired in 2013 and are refused.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from .crypto import normalize_id_number, normalize_phone

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
    | {"71", "81", "82", "83"}
)
EARLIEST_BIRTH_YEAR = 1900

_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area codes: 010 and 02X have three digits, every other one four (0xxx); local numbers 7-8 digits.
_LANDLINE = re.compile(r"^(010|02\d|0[3-9]\d{2})-?([2-9]\d{6,7})(?:-(\d{1,6}))?$")


class InvalidNumber(ValueError):
    """A number that is not valid; ``message`` is the Chinese reason to show next to the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IdNumber:
    number: str
    region_code: str
    birth_date: dt.date
    gender: str  # "M" / "F", the codes of fulian.orgs.models.Gender

    @property
    def province_code(self) -> str:
        return self.region_code[:2]

    def age_on(self, day: dt.date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need the first 17 digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_id_number(value: str | None, *, today: dt.date | None = None) -> IdNumber:
    """Validate and decode; raises InvalidNumber with a Chinese reason."""
    number = normalize_id_number(value)
    if not number:
        raise InvalidNumber("请填写身份证号码")
    if len(number) != 18:
        raise InvalidNumber(f"身份证号码应为18位(现在是{len(number)}位)")
    if not _ID_SHAPE.match(number):
        raise InvalidNumber("身份证号码只能是数字,最后一位可以是X")
    if number[:2] not in PROVINCE_CODES:
        raise InvalidNumber("身份证号码前6位的地区码无效")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidNumber("身份证号码中的出生日期无效") from None
    today = today or dt.date.today()
    if birth.year < EARLIEST_BIRTH_YEAR or birth > today:
        raise InvalidNumber("身份证号码中的出生日期无效")
    if check_char(number[:17]) != number[17]:
        raise InvalidNumber("身份证号码校验位不正确,请核对")
    return IdNumber(
        number=number,
        region_code=number[:6],
        birth_date=birth,
        gender="M" if int(number[16]) % 2 else "F",
    )


def id_number_error(value: str | None, *, today: dt.date | None = None) -> str | None:
    """The Chinese reason why the number is invalid, or None if it is valid."""
    try:
        parse_id_number(value, today=today)
    except InvalidNumber as exc:
        return exc.message
    return None


def validate_mobile(value: str | None) -> str:
    """A mainland mobile number (+86 and spaces allowed) → its 11 digits; InvalidNumber otherwise."""
    digits = normalize_phone(value)
    if not digits:
        raise InvalidNumber("请填写手机号码")
    if not _MOBILE.match(digits):
        raise InvalidNumber("手机号码应为以1开头的11位数字(第二位为3-9)")
    return digits


def validate_landline(value: str | None) -> str:
    """A landline written 区号-号码 (e.g. 0791-86123456, extension as -8001) → that canonical form."""
    text = unicodedata.normalize("NFKC", value or "").replace("—", "-")
    text = re.sub(r"^\((0\d{2,3})\)", r"\1-", re.sub(r"\s+", "", text))
    if text.startswith("+86"):
        text = "0" + text[3:].lstrip("-")
    if not text:
        raise InvalidNumber("请填写电话号码")
    match = _LANDLINE.match(text)
    if not match:
        raise InvalidNumber("固定电话应写作“区号-号码”,如 0791-86123456")
    area, local, ext = match.groups()
    return f"{area}-{local}" + (f"-{ext}" if ext else "")


def validate_phone(value: str | None) -> str:
    """A mobile or a landline number (whichever it looks like) in canonical form; InvalidNumber otherwise."""
    digits = normalize_phone(value)
    if not digits:
        raise InvalidNumber("请填写电话号码")
    if digits.startswith("1"):
        return validate_mobile(value)
    try:
        return validate_landline(value)
    except InvalidNumber:
        raise InvalidNumber("电话号码无效:手机号为11位,固定电话写作“区号-号码”") from None
