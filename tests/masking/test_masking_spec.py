"""Rule specs: parsing, canonical spelling, and every error message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masking import RULES, InvalidMaskRule, RuleSpec, UnknownMaskRule, compile_rule, parse_rule, rule_names
from masking.strategy import Param, format_value
from tests.masking.support import PROPERTY


def test_defaults_are_filled_in_declared_order() -> None:
    assert parse_rule("mobile") == RuleSpec("mobile", (("head", 3), ("tail", 4)))
    assert parse_rule("mobile(tail=2)") == RuleSpec("mobile", (("head", 3), ("tail", 2)))
    assert parse_rule("address") == RuleSpec("address", ())


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("mobile", "mobile"),
        ("mobile()", "mobile"),
        ("mobile(head=3,tail=4)", "mobile"),
        (" mobile ( tail = 2 , head = 0 ) ", "mobile(head=0,tail=2)"),
        ("mobile(head=+4)", "mobile(head=4)"),
        ("mobile(head=04)", "mobile(head=4)"),
        ("grid(step=0.010)", "grid"),
        ("grid(step=1.0)", "grid(step=1)"),
        ("grid(step=0.5)", "grid(step=0.5)"),
        ("grid(step=0.0001)", "grid(step=0.0001)"),
        ("pseudonym(hash=sm3)", "pseudonym(hash=sm3)"),
        ("reversible(cipher=sm4-gcm)", "reversible(cipher=sm4-gcm)"),
        ("divisionCode(level=prefecture)", "divisionCode"),
        ("ageBand(width=5)", "ageBand(width=5)"),
    ],
)
def test_canonical_spelling(spec: str, canonical: str) -> None:
    parsed = parse_rule(spec)
    assert str(parsed) == canonical
    assert parse_rule(canonical) == parsed


def test_decimal_values_keep_their_canonical_form() -> None:
    assert parse_rule("grid(step=0.10)").params == (("step", Decimal("0.1")),)
    assert str(parse_rule("grid(step=0.10)")) == "grid(step=0.1)"


def test_parse_results_are_cached_and_immutable() -> None:
    assert parse_rule("mobile(head=4)") is parse_rule("mobile(head=4)")
    spec = parse_rule("mobile")
    with pytest.raises(AttributeError):
        spec.name = "name"  # type: ignore[misc]
    assert hash(spec) == hash(RuleSpec("mobile", (("head", 3), ("tail", 4))))


KNOWN = ", ".join(rule_names())
STEPS = "1, 0.5, 0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "malformed mask rule '': expected name or name(key=value, ...)"),
        ("   ", "malformed mask rule '   ': expected name or name(key=value, ...)"),
        ("mobile(", "malformed mask rule 'mobile(': expected name or name(key=value, ...)"),
        ("mobile(head=3", "malformed mask rule 'mobile(head=3': expected name or name(key=value, ...)"),
        ("mobile head=3", "malformed mask rule 'mobile head=3': expected name or name(key=value, ...)"),
        ("1mobile", "malformed mask rule '1mobile': expected name or name(key=value, ...)"),
        ("mobile(head=3)(tail=2)", "malformed mask rule 'mobile(head=3)(tail=2)': expected name or name(key=value, ...)"),
        ("mobile(head=(3))", "malformed mask rule 'mobile(head=(3))': expected name or name(key=value, ...)"),
        ("mo_bile", "malformed mask rule 'mo_bile': expected name or name(key=value, ...)"),
        (
            "mobile(head)",
            "malformed parameter 'head' in mask rule 'mobile(head)': expected key=value, "
            "the value an integer, a decimal or a word",
        ),
        (
            "mobile(head=3,)",
            "malformed parameter '' in mask rule 'mobile(head=3,)': expected key=value, "
            "the value an integer, a decimal or a word",
        ),
        (
            "mobile(head=a b)",
            "malformed parameter 'head=a b' in mask rule 'mobile(head=a b)': expected key=value, "
            "the value an integer, a decimal or a word",
        ),
        (
            "grid(step=0.1.1)",
            "malformed parameter 'step=0.1.1' in mask rule 'grid(step=0.1.1)': expected key=value, "
            "the value an integer, a decimal or a word",
        ),
        ("mobile(head=3,head=4)", "parameter 'head' given twice in mask rule 'mobile(head=3,head=4)'"),
        ("mobile(digits=3)", "mask rule 'mobile' has no parameter 'digits'; accepted: head, tail"),
        ("name(keep=1)", "mask rule 'name' has no parameter 'keep'; it takes no parameters"),
        ("mobile(head=9)", "parameter 'head' of mask rule 'mobile' must be an integer from 0 to 8, not '9'"),
        ("mobile(head=-1)", "parameter 'head' of mask rule 'mobile' must be an integer from 0 to 8, not '-1'"),
        ("mobile(head=abc)", "parameter 'head' of mask rule 'mobile' must be an integer from 0 to 8, not 'abc'"),
        ("mobile(head=1.5)", "parameter 'head' of mask rule 'mobile' must be an integer from 0 to 8, not '1.5'"),
        ("ageBand(width=0)", "parameter 'width' of mask rule 'ageBand' must be an integer from 1 to 50, not '0'"),
        ("grid(step=0.02)", f"parameter 'step' of mask rule 'grid' must be one of {STEPS}, not '0.02'"),
        ("grid(step=fine)", f"parameter 'step' of mask rule 'grid' must be one of {STEPS}, not 'fine'"),
        ("pseudonym(hash=md5)", "parameter 'hash' of mask rule 'pseudonym' must be one of sha256, sm3, not 'md5'"),
        ("pseudonym(hash=SM3)", "parameter 'hash' of mask rule 'pseudonym' must be one of sha256, sm3, not 'SM3'"),
        (
            "divisionCode(level=2)",
            "parameter 'level' of mask rule 'divisionCode' must be one of county, prefecture, province, not '2'",
        ),
    ],
)
def test_invalid_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(InvalidMaskRule) as raised:
        parse_rule(spec)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)
    assert not isinstance(raised.value, UnknownMaskRule)
    assert "\n" not in message


@pytest.mark.parametrize("spec", ["phone", "Mobile", "phone(head=3)"])
def test_unknown_rule_lists_the_known_ones(spec: str) -> None:
    with pytest.raises(UnknownMaskRule) as raised:
        parse_rule(spec)
    name = spec.split("(")[0]
    assert str(raised.value) == f"unknown mask rule {name!r}; known rules: {KNOWN}"
    assert isinstance(raised.value, KeyError)
    assert isinstance(raised.value, InvalidMaskRule)


@pytest.mark.parametrize("spec", [None, 3, b"mobile", ["mobile"]])
def test_spec_must_be_text(spec: object) -> None:
    with pytest.raises(InvalidMaskRule, match="a mask rule must be a string such as mobile or mobile"):
        parse_rule(spec)  # type: ignore[arg-type]


def test_hand_built_specs_are_validated_when_compiled() -> None:
    with pytest.raises(InvalidMaskRule, match="must be an integer from 0 to 8, not '99'"):
        compile_rule(RuleSpec("mobile", (("head", 99), ("tail", 4))))
    with pytest.raises(InvalidMaskRule, match="has no parameter 'keep'"):
        compile_rule(RuleSpec("name", (("keep", 1),)))
    with pytest.raises(UnknownMaskRule):
        compile_rule(RuleSpec("phone"))
    assert compile_rule(RuleSpec("mobile"))("13812345678") == "138****5678"  # defaults filled in


def _value(param: Param) -> st.SearchStrategy[object]:
    if param.choices:
        return st.sampled_from(param.choices)
    assert param.minimum is not None and param.maximum is not None
    return st.integers(param.minimum, param.maximum)


@st.composite
def specs(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A rule name and a random subset of its parameters with valid values."""
    name = draw(st.sampled_from(rule_names()))
    chosen = {}
    for param in RULES[name].params:
        if draw(st.booleans()):
            chosen[param.name] = draw(_value(param))
    return name, chosen


@PROPERTY
@given(specs(), st.booleans())
def test_canonical_spelling_round_trips(drawn: tuple[str, dict[str, object]], spaced: bool) -> None:
    name, chosen = drawn
    separator = " , " if spaced else ","
    written = name + (f"({separator.join(f'{k}={format_value(v)}' for k, v in chosen.items())})" if chosen else "")
    spec = parse_rule(written)
    assert spec.arguments() == {**RULES[name].defaults, **chosen}
    assert parse_rule(str(spec)) == spec
    assert " " not in str(spec)
    if all(RULES[name].defaults[k] == v for k, v in chosen.items()):
        assert str(spec) == name


@PROPERTY
@given(st.text(max_size=40) | st.from_regex(r"[a-zA-Z]{1,12}\((\s?[a-z]{1,6}=[0-9a-z.-]{0,6}\s?,?){0,3}\)", fullmatch=True))
def test_parsing_anything_either_succeeds_or_raises_invalid_mask_rule(spec: str) -> None:
    try:
        parsed = parse_rule(spec)
    except InvalidMaskRule as error:
        assert "\n" not in str(error)
    else:
        assert parse_rule(str(parsed)) == parsed
