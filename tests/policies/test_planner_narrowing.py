"""The compiled enforcer's narrowing (policies/planner.py `_narrowable`) and the reuse of derived grants
(policies/rules.py `_LastGrants`) change no decision, no deciding line and no policy version."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from policies import planner as planner_module
from policies.grants import Grant, GrantStatus
from policies.planner import Planner
from policies.rules import MODEL_PATH, PolicySet
from policies.versions import parse_lines
from schema.loader import load_catalog

CATALOG = load_catalog()
TODAY = date(2026, 11, 27)
SHIPPED = MODEL_PATH.read_text(encoding="utf-8")
RESTRICTED = SHIPPED.replace("r.day <= p.valid_until", 'r.day <= p.valid_until && !(keyMatch(p.ref, "admin:*") && p.pur == "*")')
ADMIN = parse_lines("p, dept:D2, Enterprise.taxPaid, QUERY, *, MASKED, 2026-01-01, 2026-12-31, admin:a\n"
                    "p, grp:x, Person.mobile, QUERY, P1, MASKED, 2020-01-01, 2099-12-31, admin:b\n"
                    "g, app:app2, grp:x\n")


def grants() -> list[Grant]:
    def grant(gid: str, app: str, resource: str, fields: tuple[str, ...], purpose: str, modes: tuple[str, ...],
              days: tuple[int, int], status: GrantStatus = GrantStatus.ACTIVE, **more: object) -> Grant:
        return Grant(gid, app, resource, fields, purpose, modes, TODAY + timedelta(days=days[0]),
                     TODAY + timedelta(days=days[1]), status, **more)  # type: ignore[arg-type]

    population, insurance = "1-01-001-001/000001", "2-01-001-001/000001"
    return [
        grant("G1", "app1", population, ("Person.mobile", "Person.maritalStatus"), "P1", ("QUERY", "CHECK"), (-10, 10),
              mask_fields=("Person.mobile",)),
        grant("G2", "app1", insurance, (), "P2", ("QUERY",), (-400, -1)),
        grant("G3", "app2", population, ("Person.address",), "P1", ("QUERY",), (5, 300)),
        grant("G4", "app2", insurance, (), "P1", ("CHECK",), (-10, 10), GrantStatus.SUSPENDED),
    ]


def decisions(policy: PolicySet, day: date) -> dict[tuple[str, ...], tuple[object, ...]]:
    planner = Planner(policy, today=lambda: day)
    found = {}
    for application in ("app1", "app2", "app3"):
        for purpose in ("P1", "P2", "P3"):
            for mode in ("QUERY", "CHECK"):
                for c, d in planner.plan(application, purpose, CATALOG.by_coordinate, mode).decisions.items():
                    found[(application, purpose, mode, c)] = (d.access, d.reason, d.rule, d.source, d.rule_source)
    return found


@pytest.mark.parametrize("model", [SHIPPED, RESTRICTED])
def test_narrowing_changes_no_decision(model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = PolicySet.build(CATALOG, grants(), {"app1": "D1", "app2": "D2", "app3": "D2"}, model_text=model,
                             admin_lines=ADMIN)
    assert planner_module._narrowable(model)
    for day in (TODAY, TODAY + timedelta(days=5), TODAY + timedelta(days=10), TODAY + timedelta(days=20)):  # G3 starts, G1 ends
        narrowed = decisions(policy, day)
        with monkeypatch.context() as patched:
            patched.setattr(planner_module, "_narrowable", lambda _text: False)
            assert decisions(policy, day) == narrowed


def test_a_matcher_asking_the_role_function_otherwise_is_not_narrowed() -> None:
    assert not planner_module._narrowable(SHIPPED.replace("r.day <= p.valid_until",
                                                          'r.day <= p.valid_until && g(r.sub, "grp:x")'))


def test_a_matcher_evaluating_line_text_is_not_narrowed() -> None:
    """eval() runs a line's text as matcher code, which may ask the groups narrowing leaves out."""
    assert planner_module._narrowable(SHIPPED)
    assert not planner_module._narrowable(SHIPPED.replace("r.day <= p.valid_until",
                                                          "r.day <= p.valid_until && eval(p.ref)"))


def test_a_grant_changed_under_the_same_id_changes_the_version() -> None:
    departments = {"app1": "D1", "app2": "D2"}
    first = PolicySet.build(CATALOG, grants(), departments)
    assert PolicySet.build(CATALOG, grants(), departments).version == first.version
    changed = [replace(grants()[0], status=GrantStatus.SUSPENDED), *grants()[1:]]
    suspended = PolicySet.build(CATALOG, changed, departments)
    assert suspended.version != first.version
    assert not [line for line in suspended.lines_for("app1") if line[-1] == "grant:G1"]
    reordered = [replace(grants()[0], mask_rules={"Person.mobile": "mobile", "Person.address": "address"}), *grants()[1:]]
    other_order = [replace(grants()[0], mask_rules={"Person.address": "address", "Person.mobile": "mobile"}), *grants()[1:]]
    # The version hashes a grant as it reads (its repr): the order of its mask rules shows, as it always did.
    assert PolicySet.build(CATALOG, reordered, departments).version != PolicySet.build(CATALOG, other_order, departments).version
