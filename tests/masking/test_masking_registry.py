"""The rule registry and the public ``mask`` entry point."""

from __future__ import annotations

import pytest

import masking
from masking import RULES, MaskRule, UnknownMaskRule, mask, rule_names

EXPECTED_RULES = {
    "idNumber",
    "mobile",
    "name",
    "fixedPhone",
    "address",
    "bankCard",
    "email",
    "creditCode",
    "amountRange",
    "year",
    "yearMonth",
    "licenseNumber",
    "suppress",
    "redact",
}


def test_public_api() -> None:
    assert set(masking.__all__) == {
        "RULES",
        "MaskRule",
        "UnknownMaskRule",
        "mask",
        "rule_names",
    }


def test_every_rule_is_registered() -> None:
    assert set(RULES) == EXPECTED_RULES


def test_rule_names_are_sorted_registry_keys() -> None:
    assert rule_names() == sorted(EXPECTED_RULES)


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES))
def test_rule_is_named_and_described(name: str) -> None:
    rule = RULES[name]
    assert isinstance(rule, MaskRule)
    assert rule.name == name
    assert rule.description.strip() == rule.description
    assert rule.description[0].isupper()
    assert rule.description.endswith(".")
    assert " e.g. " in rule.description
    assert " -> " in rule.description


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES))
def test_description_example_is_true(name: str) -> None:
    """The example shown to users in the catalog must be what the rule does."""
    example = RULES[name].description.rsplit(" e.g. ", 1)[1].removesuffix(".")
    given, shown = example.split(" -> ")
    expected = None if shown == "null" else shown
    assert mask(name, given) == expected


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES))
def test_none_passes_through(name: str) -> None:
    assert mask(name, None) is None
    assert RULES[name](None) is None


def test_rule_objects_are_callable() -> None:
    assert RULES["mobile"]("13812345678") == "138****5678"


def test_unknown_rule_raises() -> None:
    with pytest.raises(UnknownMaskRule) as raised:
        mask("phone", "13812345678")
    assert isinstance(raised.value, KeyError)
    assert raised.value.rule == "phone"
    assert "'phone'" in str(raised.value)


def test_unknown_rule_raises_even_for_none() -> None:
    with pytest.raises(UnknownMaskRule):
        mask("Mobile", None)


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        RULES["mobile"] = RULES["redact"]  # type: ignore[index]


def test_rule_is_frozen() -> None:
    rule = RULES["mobile"]
    with pytest.raises(AttributeError):
        rule.name = "other"  # type: ignore[misc]


def test_strategy_errors_fail_closed() -> None:
    def broken(value: object) -> object:
        raise RuntimeError(value)

    rule = MaskRule(
        name="broken", description="Broken, e.g. x -> ***.", strategy=broken
    )
    assert rule("13812345678") == "***"
