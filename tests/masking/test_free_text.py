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


def has_card_prefix(number: str) -> bool:
    """UnionPay 62, older domestic 60 and 9558, Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37,
    JCB 35 (written out again here, apart from the module's table)."""
    return (number.startswith(("62", "60", "9558", "4", "51", "52", "53", "54", "55", "34", "37", "35"))
            or 2221 <= int(number[:4]) <= 2720)


def is_old_id_number(number: str) -> bool:
    """A 15-digit first-generation number, by stdnum: widened to 18 digits (19YY, check digit),
    it must be a valid ID number, which asks for a real date and a division of that time."""
    body = number[:6] + "19" + number[6:]
    try:
        return len(number) == 15 and number.isdigit() and ric.is_valid(body + ric.calc_check_digit(body + "0"))
    except KeyError:  # stdnum 1.20 on a code its table lists without a county
        return False


@given(st.from_regex(r"[1-9][0-9]{13,17}", fullmatch=True), st.booleans())
def test_a_lone_number_is_a_card_number_exactly_when_it_has_a_card_prefix_and_passes_luhn(
    body: str, complete: bool
) -> None:
    number = body + (luhn.calc_check_digit(body) if complete else str(len(body) % 10))
    if len(number) == 18 and (ric.is_valid(number) or uscc.is_valid(number)):
        return  # the more specific kinds win, as tested above
    if [f.kind for f in find(number)] == [Kind.ID_NUMBER] and len(number) == 15:
        return  # a first-generation ID number wins too (tested below)
    expected = luhn.is_valid(number) and has_card_prefix(number)
    assert (find(number) == [Finding(Kind.BANK_CARD, 0, len(number))]) == expected


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


noisy_text = st.text(alphabet=st.sampled_from("0123456789０１２３４５６７８９XxAZ+86 -\u3000－，身份证"), max_size=80)


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


# Written forms: separators, prefixes, first-generation ID numbers ------------------------------

CARD_19 = "6222020200001234562"  # UnionPay, passes Luhn: 6222 0202 0000 1234 562
ID_NUMBER_15 = "110101900307123"  # Dongcheng, Beijing, born 1990-03-07, sequence 123
AMEX = "371449635398431"  # American Express's published test number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("138-1234-5678", "138-****-5678"),
        ("138 1234 5678", "138 **** 5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("+86-138-1234-5678", "+86-138-****-5678"),
        ("0086 138 1234 5678", "0086 138 **** 5678"),
        ("(+86) 138-1234-5678", "(+86) 138-****-5678"),
        ("电话：１３８－１２３４－５６７８。", "电话：138－****－5678。"),  # full-width digits come out half-width
        ("电话：138\u30001234\u30005678", "电话：138\u3000****\u30005678"),  # the ideographic space stays
        ("手机138\u20131234\u20135678", "手机138\u2013****\u20135678"),  # so does an en dash
        ("2024 138 1234 5678 到访", "2024 138 **** 5678 到访"),  # inside a longer chain of groups
        ("电话 138-1234-5678 / 139 8765 4321", "电话 138-****-5678 / 139 **** 4321"),
    ],
)
def test_a_mobile_number_with_separators_is_masked_around_them(text: str, expected: str) -> None:
    assert scrub(text) == expected
    assert [f.kind for f in find(text)] == [Kind.MOBILE] * expected.count("****")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"0{MOBILE}", "0138****5678"),  # the long-distance prefix, kept like 86
        (f"拨打0{MOBILE}", "拨打0138****5678"),
        (f"0086{MOBILE}", "0086138****5678"),
        (f"86{MOBILE}", "86138****5678"),
    ],
)
def test_a_mobile_number_after_a_dialling_prefix_keeps_the_prefix(text: str, expected: str) -> None:
    assert scrub(text) == expected
    assert [(f.kind, f.end - f.start) for f in find(text)] == [(Kind.MOBILE, 11)]


@pytest.mark.parametrize("text", ["138-1234 5678", "138--1234--5678", "1381-234-5678", "13 8123 45678", "138-1234-56789"])
def test_a_mobile_number_in_another_layout_is_left_alone(text: str) -> None:
    assert find(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6222 0202 0000 1234 562", "6222 02** **** ***4 562"),
        ("6222-0202-0000-1234-562", "6222-02**-****-***4-562"),
        ("卡号：６２２２　０２０２　００００　１２３４　５６２", "卡号：6222　02**　****　***4　562"),
        ("Visa 4111 1111 1111 1111 到期", "Visa 4111 11** **** 1111 到期"),
        ("3714 496353 98431", "3714 49**** *8431"),  # Amex, 4-6-5
        (f"卡号 {BANK_CARD[:4]} {BANK_CARD[4:8]} {BANK_CARD[8:12]} {BANK_CARD[12:16]} {BANK_CARD[16:]}",
         "卡号 6222 02** **** ***0 128"),
    ],
)
def test_a_card_number_in_groups_is_masked_by_the_card_rule_around_the_separators(text: str, expected: str) -> None:
    assert scrub(text) == expected
    assert [f.kind for f in find(text)] == [Kind.BANK_CARD]


def test_a_grouped_card_number_masks_its_digits_as_the_compact_one_does() -> None:
    compact = str(mask("bankCard", CARD_19))
    assert compact == "622202*********4562"
    assert scrub("6222 0202 0000 1234 562").replace(" ", "") == compact


@pytest.mark.parametrize(
    "text",
    [
        "6222 0202 0000 1234 568",  # fails Luhn
        "4111 1111 1111 1111 2222",  # a run of 4s is read whole: 20 digits are no card
        "0000 6222 0202 0000 1234 562",
        "6222 0202-0000 1234 562",  # one separator throughout
        "6222  0202  0000  1234  562",  # one separator character
        "SN6222 0202 0000 1234 562",  # a letter beside it, as for a compact number
        "62220 20200 00123 4562",  # groups of 5
    ],
)
def test_a_grouped_number_that_is_no_card_is_left_alone(text: str) -> None:
    assert [f for f in find(text) if f.kind is Kind.BANK_CARD] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证 110101 19900307 1233", "身份证 110101 ******** 1233"),
        ("身份证 110101-19900307-1233", "身份证 110101-********-1233"),
        ("证件 110105 19491231 002X。", "证件 110105 ******** 002X。"),
        ("证件 110105 19491231 002x", "证件 110105 ******** 002X"),
        ("1101 0119 9003 0712 33", "1101 01** **** **12 33"),  # in groups of 4, like a card
        ("1101 0519 4912 3100 2X", "1101 05** **** **00 2X"),
        ("老身份证 110101 900307 123", "老身份证 110101 ****** 123"),
    ],
)
def test_an_id_number_with_separators_is_masked_around_them(text: str, expected: str) -> None:
    assert scrub(text) == expected
    assert [f.kind for f in find(text)] == [Kind.ID_NUMBER]


def test_an_id_number_with_separators_and_a_wrong_check_digit_is_left_alone() -> None:
    assert find("110101 19900307 1234") == []


def test_a_first_generation_id_number_is_found_and_masked_by_the_id_rule() -> None:
    assert is_old_id_number(ID_NUMBER_15)
    text = f"原身份证号{ID_NUMBER_15}，已换领"
    assert find(text) == [Finding(Kind.ID_NUMBER, 5, 20)]
    assert scrub(text) == f"原身份证号{mask('idNumber(tail=3)', ID_NUMBER_15)}，已换领" == "原身份证号110101******123，已换领"


@pytest.mark.parametrize(
    "number",
    [
        "110101901332123",  # month 13
        "110101900230123",  # 30 February
        "110101900000123",  # month 0
        "110101900307",  # too short, for completeness
        "990101900307123",  # no such province
        "110199900307123",  # no such division in Beijing
    ],
)
def test_a_15_digit_number_without_a_real_date_or_division_is_no_id_number(number: str) -> None:
    assert [f.kind for f in find(f"编号{number}")] != [Kind.ID_NUMBER]
    assert find(f"编号{number}") == []  # and none of these is anything else either


def test_a_first_generation_id_number_is_a_date_in_the_1900s() -> None:
    leap = "110101000229123"  # 1900 was no leap year: no 29 February
    assert find(leap) == []
    assert find("110101960229123") == [Finding(Kind.ID_NUMBER, 0, 15)]


def test_a_15_digit_id_number_that_passes_as_a_card_is_an_id_number() -> None:
    # Shandong (37) starts like an Amex card; pick a sequence number that passes Luhn too.
    number = next(n for seq in range(1000) if luhn.is_valid(n := f"370102850101{seq:03d}"))
    assert is_old_id_number(number) and has_card_prefix(number)
    assert find(number) == [Finding(Kind.ID_NUMBER, 0, 15)]


@pytest.mark.parametrize(
    ("number", "card"),
    [
        ("4111111111111111", True),  # Visa
        ("2221000000000009", True),  # Mastercard's 2-series, first
        ("2720000000000005", True),  # and last
        ("2220000000000000", False),
        ("2721000000000004", False),
        ("5500000000000004", True),
        ("5600000000000003", False),
        ("3530111333300000", True),  # JCB
        ("6011111111111117", True),  # prefix 60: older domestic cards (Bank of China and others)
        ("992202123456789019", False),
        ("100000000000000008", False),
    ],
)
def test_a_luhn_valid_number_is_a_card_number_only_with_a_card_prefix(number: str, card: bool) -> None:
    assert luhn.is_valid(number)
    assert (find(f"流水号 {number}") == [Finding(Kind.BANK_CARD, 4, 4 + len(number))]) is card
    if not card:
        assert scrub(f"流水号 {number}") == f"流水号 {number}"


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-05 10:30:00",
        "电话 0571-8888 8888",
        "办理时间 2024-01-05 至 2024-12-31",
        "ISBN 978-7-111-12345-6",
        "1 2 3 4 5 6 7 8 9 0 1 2",
        "京ICP备12345678号-1",
    ],
)
def test_dates_and_grouped_codes_are_returned_as_the_same_object(text: str) -> None:
    assert scrub(text) is text


def test_a_value_that_is_one_credit_code_is_still_left_alone_with_separators_about() -> None:
    code = CREDIT_CODE
    assert scrub(code, embedded_only=True) is code
    assert scrub(f"{code} 138-1234-5678", embedded_only=True) == "91350100********43 138-****-5678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("房号302 138-1234-5678", "房号302 138-****-5678"),  # the chains share the group 138
        ("2024-01-05 138 1234 5678", "2024-01-05 138 **** 5678"),
        ("编号 12-34 6222 0202 0000 1234 562", "编号 12-34 6222 02** **** ***4 562"),
    ],
)
def test_a_number_whose_first_group_ends_a_chain_of_the_other_separator_is_found(text: str, expected: str) -> None:
    assert scrub(text) == expected


# Properties of the written forms ------------------------------------------------------------


def grouped(number: str, sizes: tuple[int, ...], separator: str) -> str:
    groups, position = [], 0
    for size in sizes:
        groups.append(number[position : position + size])
        position += size
    return separator.join(groups)


# Before and after: no digit, letter or separator beside the number, so that it stays one token.
SEPARATORS = (" ", "-", "\u3000", "\u00a0", "\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\uff0d")
plain_before = before.filter(lambda t: not t.endswith(SEPARATORS))
plain_after = after.filter(lambda t: not t.startswith(SEPARATORS))
separators = st.sampled_from(SEPARATORS)


@given(plain_before, mobiles, separators, plain_after, st.booleans())
def test_any_mobile_number_written_3_4_4_is_masked_digit_for_digit_as_the_compact_one(
    prefix: str, number: str, separator: str, suffix: str, wide: bool
) -> None:
    written = grouped(number.translate(FULL_WIDTH) if wide else number, (3, 4, 4), separator)
    out = scrub(prefix + written + suffix)
    assert out == scrub(prefix) + grouped(str(mask("mobile", number)), (3, 4, 4), separator) + scrub(suffix)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    issuer = draw(st.sampled_from(["62", "4", "51", "55", "2221", "2720", "35"]))
    length = draw(st.integers(min_value=15, max_value=19))
    body = issuer + draw(st.from_regex(f"[0-9]{{{length - len(issuer) - 1}}}", fullmatch=True))
    return body + luhn.calc_check_digit(body)


@given(plain_before, card_numbers(), separators, plain_after)
def test_any_card_number_written_in_groups_of_4_is_masked_digit_for_digit_as_the_compact_one(
    prefix: str, number: str, separator: str, suffix: str
) -> None:
    if [f.kind for f in find(number)] == [Kind.ID_NUMBER]:
        return  # an ID number wins (tested above)
    sizes = (4,) * (len(number) // 4) + ((len(number) % 4,) if len(number) % 4 else ())
    out = scrub(prefix + grouped(number, sizes, separator) + suffix)
    assert out == scrub(prefix) + grouped(str(mask("bankCard", number)), sizes, separator) + scrub(suffix)


@given(plain_before, id_numbers(), st.sampled_from([(6, 8, 4), (4, 4, 4, 4, 2)]), separators, plain_after)
def test_any_id_number_written_in_groups_is_masked_digit_for_digit_as_the_compact_one(
    prefix: str, number: str, sizes: tuple[int, ...], separator: str, suffix: str
) -> None:
    out = scrub(prefix + grouped(number, sizes, separator) + suffix)
    assert out == scrub(prefix) + grouped(str(mask("idNumber", number)), sizes, separator) + scrub(suffix)


@st.composite
def old_id_numbers(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)))
    division = draw(st.sampled_from(["110101", "310104", "440305", "500101", "650102", "370102", "620102"]))
    return division + born.strftime("%y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))


@given(before, old_id_numbers(), after)
def test_any_first_generation_id_number_loses_its_birth_date(prefix: str, number: str, suffix: str) -> None:
    assert scrub(prefix + number + suffix) == scrub(prefix) + number[:6] + "******" + number[12:] + scrub(suffix)


@given(st.from_regex(r"(11|31|44)0[0-9]{3}[0-9]{9}", fullmatch=True))
def test_a_15_digit_number_is_an_id_number_only_with_a_real_date(number: str) -> None:
    if not is_old_id_number(number):  # stdnum also asks that the division existed at birth
        try:
            date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
        except ValueError:
            assert Kind.ID_NUMBER not in [f.kind for f in find(number)]
    else:
        assert find(number) == [Finding(Kind.ID_NUMBER, 0, 15)]


@given(st.text(alphabet=st.sampled_from("0123456789 -\u3000"), min_size=11, max_size=40))
def test_scrubbing_grouped_digits_keeps_every_separator_in_place(text: str) -> None:
    out = scrub(text)
    assert [i for i, c in enumerate(out) if c in " -\u3000"] == [i for i, c in enumerate(text) if c in " -\u3000"]
    assert all(o == t for o, t in zip(out, text, strict=True) if o != "*")
