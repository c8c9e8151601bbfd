"""Partial masks reveal exactly the characters their rule keeps, for every head and tail.

The reference below is written independently of the implementation: position by
position, a character survives only inside the kept head or tail.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from masking import compile_rule, mask
from tests.masking.support import PROPERTY

KEEP = st.integers(0, 8)
DIGITS = "0123456789"
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def reference(text: str, head: int, tail: int) -> str:
    """``text`` with exactly positions ``head .. len - tail - 1`` starred; all stars if nothing would be hidden."""
    length = len(text)
    if length <= head + tail:
        return "*" * length
    return "".join(char if index < head or index >= length - tail else "*" for index, char in enumerate(text))


def digits(size: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=size, max_size=size)


@PROPERTY
@given(st.text(), KEEP, KEEP)
def test_partial_stars_exactly_the_middle_of_any_text(text: str, head: int, tail: int) -> None:
    assert mask(f"partial(head={head},tail={tail})", text) == reference(text, head, tail)


@PROPERTY
@given(st.text().map(str.strip), KEEP, KEEP)
def test_license_number_stars_exactly_the_middle(text: str, head: int, tail: int) -> None:
    assume(text)
    assert mask(f"licenseNumber(head={head},tail={tail})", f" {text} ") == reference(text, head, tail)


@PROPERTY
@given(digits(10), KEEP, KEEP, st.sampled_from(["", "+86", "0086", "86", "+86 "]))
def test_mobile_reveals_exactly_head_and_tail(rest: str, head: int, tail: int, country: str) -> None:
    number = "1" + rest
    expected = reference(number, head, tail)
    assert mask(f"mobile(head={head},tail={tail})", number) == expected
    spaced = f"{country}{number[:3]} {number[3:7]}-{number[7:]}"
    assert mask(f"mobile(head={head},tail={tail})", spaced) == expected


@PROPERTY
@given(digits(17), st.sampled_from([*DIGITS, "X", "x"]), KEEP, KEEP)
def test_id_number_reveals_exactly_head_and_tail(body: str, check: str, head: int, tail: int) -> None:
    number = body + check
    assert mask(f"idNumber(head={head},tail={tail})", number) == reference(number.upper(), head, tail)
    assert mask(f"idNumber(head={head},tail={tail})", body[:15]) == reference(body[:15], head, tail)


@PROPERTY
@given(st.integers(13, 19).flatmap(digits), KEEP, KEEP)
def test_bank_card_reveals_exactly_head_and_tail(number: str, head: int, tail: int) -> None:
    expected = reference(number, head, tail)
    assert mask(f"bankCard(head={head},tail={tail})", number) == expected
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    assert mask(f"bankCard(head={head},tail={tail})", grouped) == expected


@PROPERTY
@given(st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18), KEEP, KEEP)
def test_credit_code_reveals_exactly_head_and_tail(code: str, head: int, tail: int) -> None:
    assert mask(f"creditCode(head={head},tail={tail})", code.lower()) == reference(code, head, tail)


PLATES = st.one_of(
    st.tuples(st.sampled_from(PROVINCES), st.sampled_from("ABCDEFGHJKLMNOPQ"), st.text(SERIAL, min_size=5, max_size=5)),
    st.tuples(
        st.sampled_from(PROVINCES),
        st.sampled_from("ABCDE"),
        st.tuples(st.sampled_from("DF"), st.sampled_from(SERIAL), digits(4)).map("".join),
    ),
    st.tuples(st.sampled_from(PROVINCES), st.sampled_from("ABCDE"), digits(5).map(lambda d: d + "D")),
).map("".join)


@PROPERTY
@given(PLATES, KEEP)
def test_license_plate_keeps_province_authority_and_tail(plate: str, tail: int) -> None:
    expected = reference(plate, 2, tail)
    assert mask(f"licensePlate(tail={tail})", plate) == expected
    assert mask(f"licensePlate(tail={tail})", f"{plate[:2]}·{plate[2:].lower()}") == expected


@PROPERTY
@given(st.sampled_from(["010", "021", "0755", "0571"]), st.integers(7, 8).flatmap(digits), KEEP)
def test_fixed_phone_keeps_area_code_and_tail(area: str, local: str, tail: int) -> None:
    assume(local[0] != "0")
    assert mask(f"fixedPhone(tail={tail})", f"{area}-{local}") == f"{area}-{reference(local, 0, tail)}"


@pytest.mark.parametrize("rule", ["mobile", "idNumber", "bankCard", "creditCode", "licenseNumber", "partial"])
@PROPERTY
@given(text=st.text(), head=KEEP, tail=KEEP)
def test_no_rule_shows_more_than_head_plus_tail_characters(rule: str, text: str, head: int, tail: int) -> None:
    """On any input, well-formed or not, at most head + tail characters of it survive."""
    result = compile_rule(f"{rule}(head={head},tail={tail})")(text)
    assert isinstance(result, str)
    assert len(result) - result.count("*") <= head + tail
    assert set(result) - {"*"} <= set(text.upper()) | set(text)


@PROPERTY
@given(st.text(), KEEP)
def test_plate_and_landline_show_at_most_their_kept_characters(text: str, tail: int) -> None:
    plate = compile_rule(f"licensePlate(tail={tail})")(text)
    assert isinstance(plate, str) and len(plate) - plate.count("*") <= 2 + tail
    phone = compile_rule(f"fixedPhone(tail={tail})")(text)
    assert isinstance(phone, str)
    area, _, local = phone.rpartition("-")
    assert len(area) <= 4 and len(local) - local.count("*") <= tail


@PROPERTY
@given(st.text())
def test_name_shows_at_most_the_surname(text: str) -> None:
    result = mask("name", text)
    assert isinstance(result, str)
    shown = result.replace("*", "").replace(" ", "")
    assert len(shown) <= 2
    assert text.strip().startswith(shown)


@PROPERTY
@given(st.text(min_size=1).filter(lambda s: "@" not in s), st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True))
def test_email_hides_the_local_part_and_its_length(local: str, domain: str) -> None:
    result = mask("email", f"{local}@{domain}")
    assume(local.strip() == local)
    assert result == f"{local[0]}****@{domain}"


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("mobile(head=0,tail=4)", "13812345678", "*******5678"),
        ("mobile(head=8,tail=8)", "13812345678", "***********"),
        ("mobile(head=0,tail=0)", "+86 138 1234 5678", "***********"),
        ("idNumber(head=0,tail=0)", "110101199003071233", "******************"),
        ("idNumber(head=8,tail=8)", "110101900307123", "***************"),
        ("idNumber(head=8,tail=8)", "110101199003071233", "11010119**03071233"),
        ("bankCard(head=4,tail=4)", "6222021234567890123", "6222***********0123"),
        ("creditCode(head=2,tail=0)", "91110105MA01ABCD2X", "91****************"),
        ("licenseNumber(head=1,tail=1)", "A12345678", "A*******8"),
        ("partial", "ABC12345", "A******5"),
        ("partial", "张三丰", "张*丰"),
        ("partial", "AB", "**"),
        ("partial(head=0,tail=3)", " ab cd ", "****cd "),
        ("fixedPhone(tail=4)", "010-62345678", "010-****5678"),
        ("fixedPhone(tail=0)", "0755-87654321", "0755-********"),
        ("licensePlate", "京A12345", "京A***45"),
        ("licensePlate", "京AD12345", "京A****45"),
        ("licensePlate", "粤B12345D", "粤B****5D"),
        ("licensePlate", "粤B·1234学", "粤B***4学"),
        ("licensePlate", " 沪a-d1234 5 ", "沪A****45"),
        ("licensePlate(tail=0)", "京A12345", "京A*****"),
        ("licensePlate(tail=5)", "京A12345", "*******"),
        # not a plate: starred completely, keeping the length
        ("licensePlate", "京I12345", "*******"),
        ("licensePlate", "XA12345", "*******"),
        ("licensePlate", "京A1234", "******"),
        ("licensePlate", "京AO1234", "*******"),
        ("licensePlate", "京AD1234A", "********"),
        ("licensePlate", "", ""),
    ],
)
def test_parameterised_outputs(rule: str, value: str, expected: str) -> None:
    assert mask(rule, value) == expected
