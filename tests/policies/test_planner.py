"""The planner's decisions, on the shipped catalog and model, without any database."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from gateway.errors import ErrorCode
from policies.grants import Grant, GrantStatus
from policies.planner import Access, Planner
from policies.rules import PolicySet, catalog_lines
from schema.catalog import ShareClass
from schema.loader import load_catalog

TODAY = date(2026, 11, 27)
POPULATION = "1-01-001-001/000001"
CATALOG = load_catalog()


def grant(**overrides: object) -> Grant:
    values: dict[str, object] = dict(
        id="G1", application="app1", resource=POPULATION, fields=("Person.maritalStatus",), purpose="P1",
        modes=("QUERY",), valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31), status=GrantStatus.ACTIVE,
    )
    values.update(overrides)
    return Grant(**values)  # type: ignore[arg-type]


def planner(*grants: Grant) -> Planner:
    policy = PolicySet.build(CATALOG, grants, {"app1": "D1", "app2": "D2"})
    return Planner(policy, today=lambda: TODAY)


def test_unconditional_field_is_raw_without_grant() -> None:
    assert planner().explain("app1", "ANY", "Person.name").access is Access.RAW


def test_conditional_field_without_grant_is_denied_grant_required() -> None:
    decision = planner().explain("app1", "P1", "Person.maritalStatus")
    assert (decision.access, decision.reason) == (Access.DENIED, ErrorCode.GRANT_REQUIRED)


def test_conditional_preview_is_masked_with_reason() -> None:
    decision = planner().explain("app1", "P1", "Person.mobile")
    assert (decision.access, decision.reason, decision.rule) == (Access.MASKED, ErrorCode.GRANT_REQUIRED, "mobile")


def test_grant_serves_its_application_and_purpose_only() -> None:
    p = planner(grant())
    assert p.explain("app1", "P1", "Person.maritalStatus").access is Access.RAW
    assert p.explain("app1", "P1", "Person.maritalStatus").source == "grant:G1"
    other_purpose = p.explain("app1", "P2", "Person.maritalStatus")
    assert (other_purpose.access, other_purpose.reason) == (Access.DENIED, ErrorCode.PURPOSE_NOT_GRANTED)
    other_app = p.explain("app2", "P1", "Person.maritalStatus")
    assert (other_app.access, other_app.reason) == (Access.DENIED, ErrorCode.GRANT_REQUIRED)


def test_grant_covers_only_its_fields() -> None:
    assert planner(grant()).explain("app1", "P1", "Person.address").access is Access.MASKED


def test_empty_field_list_grants_every_conditional_field_of_the_resource() -> None:
    p = planner(grant(fields=()))
    for f in CATALOG.resources[POPULATION].fields:
        coordinate = f"Person.{f.name}"
        expected = Access.DENIED if f.share_class is ShareClass.NOT_SHARED else Access.RAW
        assert p.explain("app1", "P1", coordinate).access is expected, coordinate


def test_expired_grant() -> None:
    decision = planner(grant(valid_until=date(2026, 11, 26))).explain("app1", "P1", "Person.maritalStatus")
    assert (decision.access, decision.reason) == (Access.DENIED, ErrorCode.GRANT_EXPIRED)


def test_grant_is_in_force_on_its_last_day() -> None:
    assert planner(grant(valid_until=TODAY)).explain("app1", "P1", "Person.maritalStatus").access is Access.RAW


def test_grant_not_yet_valid() -> None:
    decision = planner(grant(valid_from=date(2026, 11, 28))).explain("app1", "P1", "Person.maritalStatus")
    assert decision.access is Access.DENIED


@pytest.mark.parametrize("status", [GrantStatus.SUSPENDED, GrantStatus.REVOKED])
def test_suspended_or_revoked_grant(status: GrantStatus) -> None:
    decision = planner(grant(status=status)).explain("app1", "P1", "Person.maritalStatus")
    assert (decision.access, decision.reason) == (Access.DENIED, ErrorCode.GRANT_SUSPENDED)


def test_query_grant_does_not_allow_check() -> None:
    p = planner(grant())
    assert p.explain("app1", "P1", "Person.maritalStatus", mode="CHECK").access is Access.DENIED
    assert planner(grant(modes=("CHECK",))).explain("app1", "P1", "Person.maritalStatus", "CHECK").access is Access.RAW


def test_grant_with_mask_requirement() -> None:
    decision = planner(grant(mask_fields=("Person.maritalStatus",))).explain("app1", "P1", "Person.maritalStatus")
    assert (decision.access, decision.reason) == (Access.MASKED, ErrorCode.MASK_REQUIRED)


@pytest.mark.parametrize("coordinate", ["Person.religion", "Person.bankAccount"])
def test_not_shared_is_denied_even_when_a_grant_names_it(coordinate: str) -> None:
    resource = CATALOG.by_coordinate[coordinate].resource.code
    p = planner(grant(resource=resource, fields=(coordinate,)))
    for purpose in ("P1", "P2", "*"):
        decision = p.explain("app1", purpose, coordinate)
        assert (decision.access, decision.reason) == (Access.DENIED, ErrorCode.FIELD_NOT_SHARED)


def test_no_policy_line_names_a_not_shared_field() -> None:
    not_shared = {r.coordinate for r in CATALOG.field_refs() if r.field.share_class is ShareClass.NOT_SHARED}
    assert not_shared and not {line[1] for line in catalog_lines(CATALOG)} & not_shared


def test_unknown_coordinate_is_denied() -> None:
    assert planner().explain("app1", "P1", "Person.nope").access is Access.DENIED


def test_policy_version_changes_with_grants_and_decisions_follow_the_swap() -> None:
    p = planner()
    before = p.policy_version
    assert p.explain("app1", "P1", "Person.maritalStatus").access is Access.DENIED
    p.replace(PolicySet.build(CATALOG, [grant()], {"app1": "D1"}))
    assert p.policy_version != before
    assert p.explain("app1", "P1", "Person.maritalStatus").access is Access.RAW


def test_decisions_are_compiled_once_per_key() -> None:
    p = planner(grant())
    first = p.plan("app1", "P1", ["Person.maritalStatus", "Person.name"])
    compiled = next(iter(p._compiled.values()))
    calls = 0
    original = compiled.enforcer.enforce_ex

    def counting(*args: object) -> object:
        nonlocal calls
        calls += 1
        return original(*args)

    compiled.enforcer.enforce_ex = counting  # type: ignore[method-assign]
    second = p.plan("app1", "P1", ["Person.maritalStatus", "Person.name"])
    assert calls == 0 and first.decisions == second.decisions


def test_denied_reason_is_never_mask_required() -> None:
    decision = planner().explain("app1", "P1", "Person.bankAccountMasked")
    assert (decision.access, decision.reason) == (Access.DENIED, ErrorCode.GRANT_REQUIRED)


def test_a_suspension_changes_the_version_even_without_changing_a_line() -> None:
    suspended = PolicySet.build(CATALOG, [grant(status=GrantStatus.SUSPENDED)], {"app1": "D1"})
    revoked = PolicySet.build(CATALOG, [grant(status=GrantStatus.REVOKED)], {"app1": "D1"})
    assert suspended.version != revoked.version


def test_resource_lists_are_refused_when_no_field_is_visible() -> None:
    contributions = "2-01-002-001/000001"
    decision = planner().plan_resource("app1", "P1", contributions)
    assert (decision.access, decision.reason) == (Access.DENIED, ErrorCode.GRANT_REQUIRED)
    assert planner(grant(resource=contributions, fields=())).plan_resource("app1", "P1", contributions).access \
        is Access.RAW


def test_grant_periods_are_days_in_china_standard_time() -> None:
    from datetime import datetime

    from policies.planner import CHINA_STANDARD_TIME

    assert CHINA_STANDARD_TIME.utcoffset(datetime.now(UTC)).total_seconds() == 8 * 3600  # type: ignore[union-attr]


def test_a_pinned_planner_keeps_the_version_a_request_started_with() -> None:
    live = planner(grant())
    pinned = live.pinned()
    live.replace(planner().policy)  # the grant is gone in the new version
    assert pinned.policy_version != live.policy_version
    assert pinned.plan("app1", "P1", ["Person.maritalStatus"])["Person.maritalStatus"].access is Access.RAW
    assert live.plan("app1", "P1", ["Person.maritalStatus"])["Person.maritalStatus"].access is Access.DENIED
