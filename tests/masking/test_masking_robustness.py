"""Fail-closed behaviour on odd input, and a seeded property test for ID numbers."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from stdnum.cn import ric

from masking import RULES, mask
from tests.masking.support import KEYS, SCOPE

MALFORMED = [
    "",
    " ",
    "x",
    "ab",
    "12",
    "1234",
    "abcdefgh",
    "!!!!",
    "@",
    "a@",
    "@b",
    "张",
    "中文测试中文测试",
    "12345678901234567890123",
    "1" * 200,
    "\x00\x01\x02",
    "😀😀😀",
    "-",
    "--",
    "+86",
    "99999999999999999999999999999999999999e999999999",
]

ODD_TYPES: list[object] = [b"bytes", 3.14, ["a"], {"a": 1}, object(), True, ()]

MASKING_RULES = sorted(name for name in RULES if name != "suppress")


@pytest.mark.parametrize("name", MASKING_RULES)
@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_text_is_never_returned_unchanged(name: str, value: str) -> None:
    result = mask(name, value, SCOPE, KEYS)
    if value:
        assert result != value
    assert result is None or isinstance(result, str)


@pytest.mark.parametrize("name", MASKING_RULES)
@pytest.mark.parametrize("value", ODD_TYPES, ids=lambda value: type(value).__name__)
def test_odd_types_never_leak(name: str, value: object) -> None:
    result = mask(name, value, SCOPE, KEYS)
    assert result is not value
    assert isinstance(result, str)


@pytest.mark.parametrize("value", [*MALFORMED, *ODD_TYPES])
def test_suppress_always_returns_none(value: object) -> None:
    assert mask("suppress", value) is None


_AREAS = ["110101", "110102", "110105", "110108", "310101", "310104", "120101"]
_FIRST_BIRTH_DAY = date(1940, 1, 1)
_BIRTH_DAY_SPAN = (date(2020, 12, 31) - _FIRST_BIRTH_DAY).days


def _random_id_numbers(count: int, seed: int = 11643) -> list[str]:
    """Build ``count`` valid 18-digit ID numbers with correct check digits."""
    rng = random.Random(seed)
    numbers = []
    for _ in range(count):
        birth = _FIRST_BIRTH_DAY + timedelta(days=rng.randrange(_BIRTH_DAY_SPAN))
        body = f"{rng.choice(_AREAS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        numbers.append(body + ric.calc_check_digit(body + "0"))
    return numbers


@pytest.mark.parametrize("number", _random_id_numbers(300))
def test_id_number_property(number: str) -> None:
    assert ric.is_valid(number)
    result = mask("idNumber", number)
    assert isinstance(result, str)
    assert len(result) == len(number) == 18
    assert result[:6] == number[:6]
    assert result[6:14] == "*" * 8
    assert result[14:] == number[14:]
    assert result.count("*") == 8


def test_id_number_property_old_format() -> None:
    rng = random.Random(15)
    for _ in range(200):
        birth = _FIRST_BIRTH_DAY + timedelta(days=rng.randrange(_BIRTH_DAY_SPAN))
        number = f"{rng.choice(_AREAS)}{birth:%y%m%d}{rng.randrange(1000):03d}"
        result = mask("idNumber", number)
        assert result == number[:6] + "*****" + number[11:]
