"""Mask rules as data: which rule a masked field is served with, and what refuses a rule."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.errors import ErrorCode
from masking import KeyRing
from policies.grants import Grant, GrantStatus
from policies.mask_rules import MaskOverride, MaskRuleError, check_override
from policies.planner import Access, Planner
from policies.rules import PolicySet
from schema.loader import load_catalog

TODAY = date(2026, 11, 27)
POPULATION = "1-01-001-001/000001"
CATALOG = load_catalog()
PURPOSES = {"P1", "P2"}
KEYS = KeyRing(b"k" * 32)


def grant(**overrides: object) -> Grant:
    values: dict[str, object] = dict(
        id="G1", application="app1", resource=POPULATION, fields=("Person.mobile", "Person.address"), purpose="P1",
        modes=("QUERY",), valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31), status=GrantStatus.ACTIVE,
    )
    values.update(overrides)
    return Grant(**values)  # type: ignore[arg-type]


def planner(*overrides: MaskOverride, grants: tuple[Grant, ...] = ()) -> Planner:
    policy = PolicySet.build(CATALOG, grants, {"app1": "D1", "app2": "D2"}, mask_overrides=overrides)
    return Planner(policy, today=lambda: TODAY, keys=KEYS)


def rule(p: Planner, coordinate: str = "Person.mobile", purpose: str = "P1", app: str = "app1") -> tuple[str, str]:
    decision = p.explain(app, purpose, coordinate)
    assert decision.access is Access.MASKED, decision
    return decision.rule or "", decision.rule_source or ""


def test_catalog_rule_applies_when_nothing_overrides_it() -> None:
    assert rule(planner()) == ("mobile", "catalog")


def test_most_specific_rule_wins() -> None:
    candidates = [
        MaskOverride(1, "PERSONAL", "*", "redact"),
        MaskOverride(2, POPULATION, "*", "partial(head=2,tail=2)"),
        MaskOverride(3, POPULATION, "P1", "partial(head=1,tail=1)"),
        MaskOverride(4, "Person.mobile", "*", "mobile(head=2,tail=3)"),
        MaskOverride(5, "Person.mobile", "P1", "pseudonym"),
    ]
    for keep in range(len(candidates), 1, -1):
        expected = candidates[keep - 1]
        assert rule(planner(*candidates[:keep])) == (expected.rule, f"rule:{expected.id}")
    # A sensitivity's rule ranks below the catalog's own rule for the field.
    assert rule(planner(candidates[0])) == ("mobile", "catalog")
    # A purpose's rule applies to that purpose only.
    assert rule(planner(*candidates), purpose="P2") == ("mobile(head=2,tail=3)", "rule:4")


def test_a_grant_names_the_rule_for_its_purpose() -> None:
    masked_grant = grant(mask_rules={"Person.mobile": "pseudonym"})
    p = planner(MaskOverride(1, "Person.mobile", "*", "redact"), grants=(masked_grant,))
    assert rule(p) == ("pseudonym", "grant:G1")
    # Raw under the grant's purpose for the field it does not mask; masked for another purpose.
    assert p.explain("app1", "P1", "Person.address").access is Access.RAW
    assert rule(p, purpose="P2") == ("redact", "rule:1")


def test_grant_rule_for_one_purpose_and_raw_for_another() -> None:
    raw = grant(id="G-RAW", purpose="P1")
    reversible = grant(id="G-REV", purpose="P2", mask_rules={"Person.mobile": "reversible"})
    p = planner(grants=(raw, reversible))
    assert p.explain("app1", "P1", "Person.mobile").access is Access.RAW
    assert rule(p, purpose="P2") == ("reversible", "grant:G-REV")


def test_sensitivity_default_applies_without_a_catalog_rule() -> None:
    field_without_rule = next(r for r in CATALOG.field_refs() if r.field.mask_rule is None
                              and r.field.share_class.value == "CONDITIONAL" and r.field.data_type.value == "STRING")
    p = planner(grants=(grant(fields=(field_without_rule.coordinate,), resource=field_without_rule.resource.code,
                              mask_fields=(field_without_rule.coordinate,)),))
    assert rule(p, field_without_rule.coordinate) == ("redact", f"default:{field_without_rule.field.sensitivity.value}")
    sensitivity_rule = MaskOverride(7, field_without_rule.field.sensitivity.value, "*", "suppress")
    p = planner(sensitivity_rule, grants=(grant(fields=(field_without_rule.coordinate,),
                                                resource=field_without_rule.resource.code,
                                                mask_fields=(field_without_rule.coordinate,)),))
    assert rule(p, field_without_rule.coordinate) == ("suppress", "rule:7")


def test_resource_rule_skips_fields_its_output_does_not_fit() -> None:
    """A Boolean served typed (its catalog rule is `suppress`) cannot carry `***`: a resource's
    text rule passes it by, and the next candidate (the catalog's rule) applies."""
    typed = next(r for r in CATALOG.field_refs() if r.field.name == "dishonestDebtor")
    masked = grant(resource=typed.resource.code, fields=(typed.coordinate,), mask_fields=(typed.coordinate,))
    p = planner(MaskOverride(1, typed.resource.code, "*", "redact"), grants=(masked,))
    assert rule(p, typed.coordinate) == ("suppress", "catalog")


def test_policy_version_changes_with_a_rule() -> None:
    assert planner().policy_version != planner(MaskOverride(1, "Person.mobile", "*", "redact")).policy_version


def test_compiled_masker_is_the_resolved_rule() -> None:
    p = planner(MaskOverride(1, "Person.mobile", "*", "partial(head=1,tail=1)"))
    decision = p.explain("app1", "P1", "Person.mobile")
    assert decision.masker is not None and decision.masker("13812345678") == "1*********8"


def test_keyed_rule_without_keys_fails_closed() -> None:
    policy = PolicySet.build(CATALOG, (), {"app1": "D1"}, mask_overrides=[MaskOverride(1, "Person.mobile", "*", "pseudonym")])
    decision = Planner(policy, today=lambda: TODAY).explain("app1", "P1", "Person.mobile")
    assert decision.access is Access.DENIED and decision.reason is ErrorCode.MASK_REQUIRED


@pytest.mark.parametrize(("target", "purpose", "rule_text", "message"), [
    ("Person.nothing", "*", "redact", "unknown target"),
    ("Person.religion", "*", "redact", "NOT_SHARED"),
    ("Person.mobile", "NOPE", "redact", "unknown purpose"),
    ("Person.mobile", "*", "noSuchRule", "noSuchRule"),
    ("Person.mobile", "*", "partial(head=", "partial"),
])
def test_invalid_rules_are_refused(target: str, purpose: str, rule_text: str, message: str) -> None:
    with pytest.raises(MaskRuleError, match=message):
        check_override(CATALOG, PURPOSES, target, purpose, rule_text)


def test_typed_field_takes_only_rules_that_fit() -> None:
    typed = next(r for r in CATALOG.field_refs() if r.field.data_type.value in ("INTEGER", "DATE", "BOOLEAN", "DECIMAL")
                 and r.field.mask_rule is None and r.field.sensitivity.value == "NONE"
                 and r.field.share_class.value != "NOT_SHARED")
    with pytest.raises(MaskRuleError, match="does not fit"):
        check_override(CATALOG, PURPOSES, typed.coordinate, "*", "redact")
    assert check_override(CATALOG, PURPOSES, typed.coordinate, "*", "suppress") == "suppress"


def test_rules_are_stored_in_canonical_form() -> None:
    assert check_override(CATALOG, PURPOSES, "Person.mobile", "P1", " partial( head = 2 , tail=2 ) ") == \
        "partial(head=2,tail=2)"
    assert check_override(CATALOG, PURPOSES, "PERSONAL", "*", "mobile(head=3,tail=4)") == "mobile"


def test_a_desensitized_derivative_keeps_the_catalogs_rule() -> None:
    derivative = next(r for r in CATALOG.field_refs() if r.field.mask_required)
    with pytest.raises(MaskRuleError, match="derivative"):
        check_override(CATALOG, PURPOSES, derivative.coordinate, "*", "partial(head=8,tail=8)")
    loosening = MaskOverride(1, derivative.resource.code, "*", "partial(head=8,tail=8)")
    granted = grant(resource=derivative.resource.code, fields=(derivative.coordinate,))
    assert rule(planner(loosening, grants=(granted,)), derivative.coordinate) == (derivative.field.mask_rule, "catalog")


@pytest.mark.parametrize("changes", [
    {"status": GrantStatus.SUSPENDED}, {"valid_until": date(2026, 1, 31)}, {"valid_from": date(2026, 12, 1)},
    {"application": "app2"}, {"purpose": "P2"}, {"modes": ("CHECK",)},
])
def test_a_grant_out_of_force_or_scope_names_no_rule(changes: dict[str, object]) -> None:
    out_of_scope = grant(mask_rules={"Person.mobile": "pseudonym"}, **changes)
    assert rule(planner(grants=(out_of_scope,))) == ("mobile", "catalog")


@pytest.mark.parametrize("rule_text", ["mobile(head=3,tail=7)", "idNumber(head=8,tail=8)", "bankCard(head=8,tail=4)",
                                       "licensePlate(tail=3)"])
def test_an_administrators_partial_mask_must_hide_enough(rule_text: str) -> None:
    with pytest.raises(MaskRuleError, match="must hide at least"):
        check_override(CATALOG, PURPOSES, "PERSONAL", "*", rule_text)


def test_a_partial_mask_hiding_enough_is_accepted() -> None:
    assert check_override(CATALOG, PURPOSES, "Person.mobile", "*", "mobile(head=3,tail=4)") == "mobile"
    assert check_override(CATALOG, PURPOSES, "Person.mobile", "*", "mobile(head=0,tail=4)") == "mobile(head=0)"
