"""Policy versions without a store: parsing Casbin's CSV, validation, policy tests, dry runs, diffs."""

from __future__ import annotations

import pytest

from demo.build import POLICY_TESTS
from policies.rules import MODEL_PATH, AdminLines, PolicySet
from policies.versions import (
    Draft,
    Known,
    PolicyError,
    Scope,
    affected,
    diff,
    dry_run,
    format_lines,
    parse_lines,
    parse_tests,
    run_tests,
    validate,
)
from schema.catalog import Catalog
from schema.loader import load_catalog

MODEL = MODEL_PATH.read_text(encoding="utf-8")
KNOWN = Known(frozenset({"mz-assistance", "fg-credit"}), frozenset({"MZ", "FG"}), frozenset({"MARKET_SUPERVISION"}))
LINE = "p, dept:FG, Person.maritalStatus, QUERY, MARKET_SUPERVISION, RAW, 2000-01-01, 2999-12-31, admin:fg\n"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_lines_round_trip_through_casbins_csv() -> None:
    lines = parse_lines("# a comment\n\n" + LINE + "g, app:fg-credit, dept:FG\n")
    assert lines.policies[0][1] == "Person.maritalStatus" and lines.groups == (("app:fg-credit", "dept:FG"),)
    assert parse_lines(format_lines(lines)) == lines


@pytest.mark.parametrize("row", ["p, a, b", "x, a, b", "g, a", "p, 1, 2, 3, 4, 5, 6, 7, 8, 9"])
def test_a_row_of_the_wrong_shape_is_refused(row: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_lines(row)
    assert "line 1" in refused.value.problems[0]


def test_the_shipped_model_with_a_good_line_validates(catalog: Catalog) -> None:
    assert validate(Draft(MODEL, LINE, POLICY_TESTS.read_text(encoding="utf-8")), catalog, KNOWN) == []


@pytest.mark.parametrize(("line", "problem"), [
    ("p, dept:XX, Person.maritalStatus, QUERY, *, RAW, 2000-01-01, 2999-12-31, admin:a", "dept:XX"),
    ("p, app:ghost, Person.maritalStatus, QUERY, *, RAW, 2000-01-01, 2999-12-31, admin:a", "app:ghost"),
    ("p, *, Person.religion, QUERY, *, MASKED, 2000-01-01, 2999-12-31, admin:a", "NOT_SHARED"),
    ("p, *, Person.shoeSize, QUERY, *, RAW, 2000-01-01, 2999-12-31, admin:a", "not a field"),
    ("p, *, Person.maritalStatus, DOWNLOAD, *, RAW, 2000-01-01, 2999-12-31, admin:a", "share mode"),
    ("p, *, Person.maritalStatus, QUERY, FUN, RAW, 2000-01-01, 2999-12-31, admin:a", "purpose"),
    ("p, *, Person.maritalStatus, QUERY, *, SOME, 2000-01-01, 2999-12-31, admin:a", "RAW or MASKED"),
    ("p, *, Person.maritalStatus, QUERY, *, RAW, 2999-01-01, 2000-12-31, admin:a", "ends before"),
    ("p, *, Person.maritalStatus, QUERY, *, RAW, soon, later, admin:a", "are days"),
    ("p, *, Person.maritalStatus, QUERY, *, RAW, 2000-01-01, 2999-12-31, catalog", "ref"),
    ("p, *, Person.maritalStatus, QUERY, *, RAW, 2000-01-01, 2999-12-31, grant:G-1", "ref"),
    ("g, app:ghost, dept:FG", "app:ghost"),
    ("g, app:fg-credit, role:x", "role:x"),
])
def test_validation_names_what_is_wrong(catalog: Catalog, line: str, problem: str) -> None:
    problems = validate(Draft(MODEL, line + "\n"), catalog, KNOWN)
    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize(("model", "problem"), [
    ("not a model", "does not parse"),
    (MODEL.replace("r = sub, obj, act, pur, day, acc", "r = sub, obj, act"), "request definition"),
    (MODEL.replace("p = sub, obj, act, pur, acc, valid_from, valid_until, ref", "p = sub, obj"), "8 fields"),
    (MODEL.replace("[role_definition]\ng = _, _\n", ""), "`g`"),
])
def test_a_model_the_planner_cannot_ask_is_refused(catalog: Catalog, model: str, problem: str) -> None:
    problems = validate(Draft(model), catalog, KNOWN)
    assert problems and problem in problems[0], problems


def test_policy_tests_parse_and_report_each_failure() -> None:
    expectations = parse_tests('[[expect]]\napplication = "a"\npurpose = "p"\nfield = "Person.x"\naccess = "raw"\n'
                               '[[expect]]\napplication = "a"\npurpose = "p"\nfield = "Person.y"\naccess = "DENIED"\n'
                               'reason = "GRANT_REQUIRED"\nmode = "check"\n')
    assert [(e.access, e.mode) for e in expectations] == [("RAW", "QUERY"), ("DENIED", "CHECK")]
    outcomes = {"Person.x": ("RAW", None), "Person.y": ("DENIED", "FIELD_NOT_SHARED")}
    failures = run_tests(expectations, lambda _a, _p, f, _m: outcomes[f])
    assert failures == ["a / p / Person.y / CHECK: expected DENIED (GRANT_REQUIRED), got DENIED (FIELD_NOT_SHARED)"]
    for bad in ("not toml [", '[[expect]]\napplication = "a"\n', '[[expect]]\napplication = "a"\npurpose = "p"\n'
                'field = "f"\naccess = "SOMETIMES"\n'):
        with pytest.raises(PolicyError):
            parse_tests(bad)


def test_a_dry_run_of_one_model_looks_only_at_what_the_changed_lines_reach(catalog: Catalog) -> None:
    departments = {"fg-credit": "FG", "mz-assistance": "MZ"}
    before = PolicySet.build(catalog, [], departments)
    after = PolicySet.build(catalog, [], departments, admin_lines=parse_lines(LINE))
    pairs = affected(before, after, ["fg-credit", "mz-assistance"])
    assert pairs == {("fg-credit", "Person.maritalStatus")}
    scope = Scope(("fg-credit", "mz-assistance"), ("MARKET_SUPERVISION",), ("Person.maritalStatus",), pairs=pairs)
    decisions = {("fg-credit", "QUERY"): ("RAW", None)}
    changes = dry_run(scope, lambda *_: ("DENIED", "GRANT_REQUIRED"),
                      lambda a, _p, _f, m: decisions.get((a, m), ("DENIED", "GRANT_REQUIRED")))
    assert [(c.application, c.mode, c.before, c.after, c.gains) for c in changes] == [
        ("fg-credit", "QUERY", "DENIED", "RAW", True)]
    other_model = PolicySet.build(catalog, [], departments, model_text=MODEL + "\n# edited\n")
    assert affected(before, other_model, ["fg-credit"]) is None  # a model change can change anything


def test_diff_shows_the_model_lines_and_tests() -> None:
    text = diff(Draft(MODEL, "", ""), Draft(MODEL.replace("some(where", "some( where"), LINE, "x"), "v1", "v2")
    assert "--- v1/model.conf" in text and "+p, dept:FG" in text and "+++ v2/tests.toml" in text
    assert diff(Draft(MODEL), Draft(MODEL)) == ""


def test_admin_lines_default_to_none() -> None:
    assert AdminLines() == AdminLines((), ())
