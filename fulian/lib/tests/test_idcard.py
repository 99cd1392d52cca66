"""Mainland ID numbers (GB 11643-1999) and phone numbers, with Chinese reasons."""

import datetime as dt

import pytest

from fulian.lib.idcard import (
    InvalidNumber,
    check_char,
    id_number_error,
    parse_id_number,
    validate_landline,
    validate_mobile,
    validate_phone,
)

TODAY = dt.date(2026, 3, 8)
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def with_check(first17):
    """The check character computed here from the standard's definition, independently of the module."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    r = (12 - total % 11) % 11
    return first17 + ("X" if r == 10 else str(r))


def test_published_sample_is_valid():
    info = parse_id_number("11010519491231002X", today=TODAY)
    assert info.region_code == "110105"
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.gender == "F"
    assert info.age_on(TODAY) == 76


def test_computed_numbers_are_valid_and_decoded():
    man = with_check("36043019850315003")  # 17th digit odd → man
    not_a_leap_day = with_check("36010220100229102")  # 2010 was not a leap year
    assert parse_id_number(man, today=TODAY).gender == "M"
    assert parse_id_number(man, today=TODAY).birth_date == dt.date(1985, 3, 15)
    minor = with_check("36043020120229004")
    info = parse_id_number(minor.lower(), today=TODAY)
    assert (info.gender, info.birth_date, info.age_on(TODAY)) == ("F", dt.date(2012, 2, 29), 14)
    assert id_number_error(not_a_leap_day, today=TODAY) == "身份证号码中的出生日期无效"
    assert check_char(man[:17]) == man[17]


def test_x_check_digit_with_spaces_and_lower_case():
    assert parse_id_number(" 110105 19491231 002x ", today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "身份证号码校验位不正确,请核对"),
        (with_check("11010519490230002"), "身份证号码中的出生日期无效"),  # 30 February
        (with_check("11010520300101002"), "身份证号码中的出生日期无效"),  # born in the future
        (with_check("11010518890101002"), "身份证号码中的出生日期无效"),
        ("11010519491231002", "身份证号码应为18位(现在是17位)"),
        ("110105491231002", "身份证号码应为18位(现在是15位)"),
        ("1101051949123100AB", "身份证号码只能是数字,最后一位可以是X"),
        ("11010519491231X02X", "身份证号码只能是数字,最后一位可以是X"),
        (with_check("99010519491231002"), "身份证号码前6位的地区码无效"),
        ("", "请填写身份证号码"),
    ],
)
def test_invalid_id_numbers_say_why(number, reason):
    assert id_number_error(number, today=TODAY) == reason
    with pytest.raises(InvalidNumber) as exc:
        parse_id_number(number, today=TODAY)
    assert exc.value.message == reason


def test_every_wrong_check_character_is_caught():
    valid = with_check("36043019850315003")
    for c in "0123456789X":
        if c != valid[-1]:
            assert id_number_error(valid[:-1] + c, today=TODAY) == "身份证号码校验位不正确,请核对"


def test_mobile_numbers():
    assert validate_mobile("138 0013 8000") == "13800138000"
    assert validate_mobile("+86 199-0000-1111") == "19900001111"
    for bad in ("12800138000", "1380013800", "138001380001", "abc"):
        with pytest.raises(InvalidNumber) as exc:
            validate_mobile(bad)
        assert "手机号码" in exc.value.message


def test_landlines():
    assert validate_landline("0791-86123456") == "0791-86123456"
    assert validate_landline("079186123456") == "0791-86123456"
    assert validate_landline("(010)62345678-801") == "010-62345678-801"
    assert validate_landline("（021）6234 5678") == "021-62345678"
    assert validate_landline("+86 791 86123456") == "0791-86123456"
    for bad in ("86123456", "0791-0123456", "0791-861234567", "12338"):
        with pytest.raises(InvalidNumber) as exc:
            validate_landline(bad)
        assert exc.value.message == "固定电话应写作“区号-号码”,如 0791-86123456"


def test_validate_phone_picks_the_kind():
    assert validate_phone("+86 138 0013 8000") == "13800138000"
    assert validate_phone("0791-86123456") == "0791-86123456"
    with pytest.raises(InvalidNumber) as exc:
        validate_phone("62345")
    assert exc.value.message == "电话号码无效:手机号为11位,固定电话写作“区号-号码”"
    with pytest.raises(InvalidNumber) as exc:
        validate_phone("12345")
    assert "手机号码" in exc.value.message
