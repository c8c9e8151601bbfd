"""Entity keys: what people type is normalized, then the check digit decides — never more
lenient than python-stdnum's validators, which the gateway used before its own faster check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from gateway.errors import RequestRefused
from resolvers.entities import normalize_key
from schema.catalog import Entity


def accepted(entity: Entity, value: str) -> bool:
    try:
        normalize_key(entity, value)
    except RequestRefused:
        return False
    return True


@settings(max_examples=300)
@given(st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True) | st.text(max_size=20))
def test_an_id_number_accepted_is_one_stdnum_accepts(value: str) -> None:
    if accepted(Entity.PERSON, value):  # stdnum's check digit and birth date (its county table is not required)
        key = normalize_key(Entity.PERSON, value)
        assert ric.calc_check_digit(key) == key[-1] and ric.get_birth_date(key)


@settings(max_examples=300)
@given(st.from_regex(r"[0-9A-Z]{18}", fullmatch=True) | st.text(max_size=20))
def test_a_credit_code_accepted_is_one_stdnum_accepts(value: str) -> None:
    if accepted(Entity.ENTERPRISE, value):
        assert uscc.is_valid(normalize_key(Entity.ENTERPRISE, value))


@pytest.mark.parametrize("value", ["4LAKKM715C212Y7XW7", "11\u0660105194912310021", "110105194912310021\u0660"])
def test_lookalikes_are_refused(value: str) -> None:
    assert not accepted(Entity.ENTERPRISE if value[0] == "4" else Entity.PERSON, value)


def test_what_people_type_is_normalized() -> None:
    body = "11010519491231002"
    key = body + ric.calc_check_digit(body + " ")
    assert ric.is_valid(key)
    full_width = key.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    for written in (key.lower(), f" {key[:6]} {key[6:14]}\t{key[14:]} ", full_width):
        assert normalize_key(Entity.PERSON, written) == key
