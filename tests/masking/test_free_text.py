"""Identifiers embedded in free text: found by check digit, masked in place, nothing else touched."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric, uscc

from masking import mask
from masking.free_text import PERSONAL_KINDS, Finding, Kind, find, scrub

ID_NUMBER = "110101199003071233"  # valid check digit, born 1990-03-07, Dongcheng, Beijing
ID_NUMBER_X = "11010519491231002X"
CREDIT_CODE = "91350100M000100Y43"
MOBILE = "13812345678"
BANK_CARD = "6222021234567890128"  # passes Luhn

_ASCII = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+"
_WIDE = "".join(chr(ord(c) + 0xFEE0) for c in _ASCII)
FULL_WIDTH = str.maketrans(_ASCII, _WIDE)
HALF_WIDTH = str.maketrans(_WIDE, _ASCII)


def test_the_examples_are_what_they_claim() -> None:
    assert ric.is_valid(ID_NUMBER) and ric.is_valid(ID_NUMBER_X)
    assert uscc.is_valid(CREDIT_CODE)
    assert luhn.is_valid(BANK_CARD)


def test_an_id_number_is_found_and_masked_in_place() -> None:
    text = f"身份证{ID_NUMBER}，已核验"
    assert find(text) == [Finding(Kind.ID_NUMBER, 3, 21)]
    assert scrub(text) == "身份证110101********1233，已核验"


def test_an_id_number_ending_in_a_lowercase_x_is_found() -> None:
    assert scrub(f"证件 {ID_NUMBER_X.lower()} 有效") == "证件 110105********002X 有效"


def test_a_credit_code_is_found_and_masked() -> None:
    assert scrub(f"统一社会信用代码：{CREDIT_CODE}。") == "统一社会信用代码：91350100********43。"


def test_a_mobile_number_is_found_and_masked() -> None:
    assert scrub(f"联系人张三 {MOBILE}") == "联系人张三 138****5678"


@pytest.mark.parametrize("prefix", ["86", "+86"])
def test_a_mobile_number_after_a_country_prefix_keeps_the_prefix(prefix: str) -> None:
    assert scrub(f"电话{prefix}{MOBILE}") == f"电话{prefix}138****5678"


def test_a_mobile_number_beside_letters_is_found() -> None:
    assert scrub(f"Tel{MOBILE}ext") == "Tel138****5678ext"


def test_a_bank_card_is_found_and_masked() -> None:
    assert scrub(f"卡号 {BANK_CARD}") == "卡号 622202*********0128"


def test_an_id_number_with_a_wrong_check_digit_is_left_alone() -> None:
    wrong = ID_NUMBER[:-1] + "4"
    assert not luhn.is_valid(wrong)  # nor is it a card number
    assert find(f"身份证{wrong}") == []


def with_check_digit(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def test_an_id_number_with_an_impossible_birth_date_is_left_alone() -> None:
    # Month 13, and a sequence number chosen so that it does not pass as a card number either.
    number = next(n for seq in range(1000) if not luhn.is_valid(n := with_check_digit(f"11010119901332{seq:03d}")))
    assert find(number) == []


def test_an_id_number_born_in_the_future_is_left_alone() -> None:
    number = with_check_digit(f"110101{date.today().year + 1}0101123")
    assert [f.kind for f in find(number)] != [Kind.ID_NUMBER]


def test_a_credit_code_with_a_wrong_check_character_is_left_alone() -> None:
    assert find(CREDIT_CODE[:-1] + "4") == []


def test_a_card_number_failing_luhn_is_left_alone() -> None:
    assert find(f"卡号 {BANK_CARD[:-1]}7") == []


@pytest.mark.parametrize("text", [f"2{MOBILE}", f"{MOBILE}0", f"流水号{MOBILE}123456789"])
def test_a_mobile_number_inside_a_longer_number_is_left_alone(text: str) -> None:
    assert all(f.kind is not Kind.MOBILE for f in find(text))


@pytest.mark.parametrize("text", [f"A{BANK_CARD}", f"{BANK_CARD}B", f"9{BANK_CARD}"])
def test_a_card_number_beside_a_letter_or_digit_is_left_alone(text: str) -> None:
    assert find(text) == []


def test_an_id_number_that_also_passes_luhn_is_reported_once_as_an_id_number() -> None:
    number = next(n for seq in range(1000) if luhn.is_valid(n := with_check_digit(f"11010119900307{seq:03d}")))
    assert ric.is_valid(number)
    assert find(number) == [Finding(Kind.ID_NUMBER, 0, 18)]


def test_several_identifiers_in_one_text_are_all_masked() -> None:
    text = f"联系人张三 {MOBILE}，身份证{ID_NUMBER}，开户行工商银行，卡号{BANK_CARD}，单位{CREDIT_CODE}"
    assert [f.kind for f in find(text)] == [Kind.MOBILE, Kind.ID_NUMBER, Kind.BANK_CARD, Kind.CREDIT_CODE]
    assert scrub(text) == (
        "联系人张三 138****5678，身份证110101********1233，开户行工商银行，卡号622202*********0128，"
        "单位91350100********43"
    )


def test_full_width_identifiers_are_found_at_their_original_positions() -> None:
    text = f"手机：{MOBILE.translate(FULL_WIDTH)}，身份证：{ID_NUMBER_X.translate(FULL_WIDTH)}。"
    assert find(text) == [Finding(Kind.MOBILE, 3, 14), Finding(Kind.ID_NUMBER, 19, 37)]
    assert scrub(text) == "手机：138****5678，身份证：110105********002X。"


def test_personal_kinds_leave_a_credit_code_readable_and_whole() -> None:
    text = f"单位{CREDIT_CODE}，联系人{MOBILE}"
    assert scrub(text, PERSONAL_KINDS) == f"单位{CREDIT_CODE}，联系人138****5678"
    holding_a_mobile = "13812345678ABCDEF" + uscc.calc_check_digit("13812345678ABCDEF0")
    assert scrub(holding_a_mobile, PERSONAL_KINDS) is holding_a_mobile


@pytest.mark.parametrize(
    "text",
    [
        "",
        "在营（开业）",
        "北京市朝阳区建国路88号院3号楼2单元502室",
        "京市监罚〔2023〕1234号",
        "INTERNATIONALBUSINESSMACHINES",
        f"身份证{ID_NUMBER[:-1]}4，卡号{BANK_CARD[:-1]}7",
        "该企业于2023年12月完成年度报告，经营状况良好，无异常记录。" * 10,
    ],
)
def test_text_without_identifiers_is_returned_as_the_same_object(text: str) -> None:
    assert scrub(text) is text


# Properties ---------------------------------------------------------------------------------

PROVINCES = ["11", "12", "31", "32", "44", "50", "65", "81"]


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today()))
    body = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    body += born.strftime("%Y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return with_check_digit(body)


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


def _alnum_at(text: str, index: int) -> bool:
    char = text.translate(HALF_WIDTH)[index] if text else ""
    return char.isascii() and char.isalnum()


# Surrounding text that does not run into the identifier (a digit or letter beside it would make
# it part of a longer token, which the examples above cover).
before = st.text(max_size=40).filter(lambda t: not _alnum_at(t, -1))
after = st.text(max_size=40).filter(lambda t: not _alnum_at(t, 0))


@given(before, id_numbers(), after, st.booleans())
def test_any_text_holding_an_id_number_loses_its_birth_date(prefix: str, number: str, suffix: str, wide: bool) -> None:
    out = scrub(prefix + (number.translate(FULL_WIDTH) if wide else number) + suffix)
    masked = str(mask("idNumber", number))
    assert masked == number[:6] + "********" + number[14:]
    assert out == scrub(prefix) + masked + scrub(suffix)


@given(before, mobiles, after, st.booleans())
def test_any_text_holding_a_mobile_number_loses_its_middle_digits(prefix: str, number: str, suffix: str, wide: bool) -> None:
    out = scrub(prefix + (number.translate(FULL_WIDTH) if wide else number) + suffix)
    masked = str(mask("mobile", number))
    assert masked == number[:3] + "****" + number[7:]
    assert out == scrub(prefix) + masked + scrub(suffix)


@given(st.from_regex(r"[1-9][0-9]{13,17}", fullmatch=True), st.booleans())
def test_a_lone_number_is_a_card_number_exactly_when_it_passes_luhn(body: str, complete: bool) -> None:
    number = body + (luhn.calc_check_digit(body) if complete else str(len(body) % 10))
    if len(number) == 18 and (ric.is_valid(number) or uscc.is_valid(number)):
        return  # the more specific kinds win, as tested above
    assert (find(number) == [Finding(Kind.BANK_CARD, 0, len(number))]) == luhn.is_valid(number)


@given(st.from_regex(r"[0-9]{8}[0-9A-HJ-NP-RTUWXY]{9}", fullmatch=True), st.booleans())
def test_a_code_is_a_credit_code_exactly_when_stdnum_says_so(body: str, complete: bool) -> None:
    code = body + (uscc.calc_check_digit(body + "0") if complete else "Y")
    kinds = [f.kind for f in find(f"代码{code}。")]
    if uscc.is_valid(code):
        assert kinds in ([Kind.CREDIT_CODE], [Kind.ID_NUMBER])  # an ID number that is also a valid code reads as one
    else:
        assert Kind.CREDIT_CODE not in kinds


def test_a_credit_code_of_digits_only_is_found() -> None:
    code = next(c for n in range(100) if not ric.is_valid(c := (b := f"911101080{n:08d}") + uscc.calc_check_digit(b + "0")))
    assert code.isdigit() and find(code) == [Finding(Kind.CREDIT_CODE, 0, 18)]


def test_a_credit_code_holding_a_mobile_number_is_one_credit_code() -> None:
    body = "13812345678ABCDEF"
    code = body + uscc.calc_check_digit(body + "0")
    assert find(code) == [Finding(Kind.CREDIT_CODE, 0, 18)]


noisy_text = st.text(alphabet=st.sampled_from("0123456789０１２３４５６７８９XxAZ+86 ，身份证"), max_size=80)


@given(noisy_text)
def test_scrubbing_any_text_keeps_its_length_and_a_second_scrub_changes_nothing(text: str) -> None:
    once = scrub(text)
    assert len(once) == len(text)
    assert scrub(once) == once
    spans = find(text)
    assert all(0 <= a.start < a.end <= b.start < b.end <= len(text) for a, b in zip(spans, spans[1:], strict=False))


def test_embedded_only_leaves_a_value_that_is_one_credit_code() -> None:
    from masking.free_text import scrub as scrub_text

    code = "91350100M000100Y43"
    assert scrub_text(code, embedded_only=True) is code
    assert scrub_text(f" {code} ", embedded_only=True) == f" {code} "
    assert scrub_text(f"代码{code}", embedded_only=True) != f"代码{code}"
    assert scrub_text("13812345678", embedded_only=True) == "138****5678"  # only organisations' codes are exempt
    assert scrub_text("110101199003071233", embedded_only=True) == "110101********1233"
