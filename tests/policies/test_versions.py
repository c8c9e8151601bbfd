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
KNOWN = Known(frozenset({"mz-assistance", "fg-credit", "sj-policy-admin"}), frozenset({"MZ", "FG"}),
              frozenset({"MARKET_SUPERVISION"}), consumers=frozenset({"mz-assistance", "fg-credit"}))
LINE = "p, dept:FG, Enterprise.taxPaid, QUERY, MARKET_SUPERVISION, MASKED, 2000-01-01, 2999-12-31, admin:fg\n"
BASE = "p, *, Enterprise.taxPaid, QUERY, *, MASKED, 2000-01-01, 2999-12-31, admin:a"  # valid; each case breaks one part


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_lines_round_trip_through_casbins_csv() -> None:
    lines = parse_lines("# a comment\n\n" + LINE + 'p, *, Person.name, QUERY, *, RAW, 0000-01-01, 9999-12-31, "admin:a, b"\n'
                        "g, app:fg-credit, grp:inspectors\n")
    assert lines.policies[0][1] == "Enterprise.taxPaid" and lines.groups == (("app:fg-credit", "grp:inspectors"),)
    assert lines.policies[1][-1] == "admin:a, b"
    assert parse_lines(format_lines(lines)) == lines


@pytest.mark.parametrize("row", ["p, a, b", "x, a, b", "g, a", "p, 1, 2, 3, 4, 5, 6, 7, 8, 9"])
def test_a_row_of_the_wrong_shape_is_refused(row: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_lines(row)
    assert "line 1" in refused.value.problems[0]


def test_the_shipped_model_with_a_good_line_validates(catalog: Catalog) -> None:
    demo = Known(frozenset({"mz-assistance", "fg-credit", "scjg-licensing"}), frozenset({"MZ", "FG"}),
                 frozenset({"MARKET_SUPERVISION", "SOCIAL_ASSISTANCE_REVIEW", "WORK_REFERENCE"}))
    assert validate(Draft(MODEL, LINE, POLICY_TESTS.read_text(encoding="utf-8")), catalog, demo) == []


@pytest.mark.parametrize(("line", "problem"), [
    (BASE.replace("*", "dept:XX", 1), "dept:XX"),
    (BASE.replace("*", "app:ghost", 1), "app:ghost"),
    (BASE.replace("*", "app:sj-policy-admin", 1), "consuming"),  # an administrator's own console gets no data
    (BASE.replace("*", "grp:nobody", 1), "grp:"),
    (BASE.replace("Enterprise.taxPaid", "Person.religion"), "NOT_SHARED"),
    (BASE.replace("Enterprise.taxPaid", "Person.shoeSize"), "not a field"),
    (BASE.replace("MASKED", "RAW"), "CONDITIONAL"),  # raw conditional data: only a provider's grant
    (BASE.replace("QUERY", "CHECK"), "CONDITIONAL"),  # a check compares raw values: only a CHECK grant
    (BASE.replace("Enterprise.taxPaid", "Person.bankAccountMasked").replace("MASKED", "RAW"), "CONDITIONAL"),
    ("p, *, Person.name, DOWNLOAD, *, RAW, 2000-01-01, 2999-12-31, admin:a", "share mode"),
    (BASE.replace("QUERY, *", "QUERY, FUN"), "purpose"),
    ("p, *, Person.name, QUERY, *, SOME, 2000-01-01, 2999-12-31, admin:a", "RAW or MASKED"),
    (BASE.replace("2000-01-01, 2999-12-31", "2999-01-01, 2000-12-31"), "ends before"),
    (BASE.replace("2000-01-01, 2999-12-31", "soon, later"), "are days"),
    (BASE.replace("admin:a", "catalog"), "ref"),
    (BASE.replace("admin:a", "grant:G-1"), "ref"),
    ("g, app:ghost, grp:x", "app:ghost"),
    ("g, app:fg-credit, dept:MZ", "grp:"),  # an application's department is the store's to say
    ("g, app:sj-policy-admin, grp:x", "consuming"),
])
def test_validation_names_what_is_wrong(catalog: Catalog, line: str, problem: str) -> None:
    problems = validate(Draft(MODEL, line + "\n"), catalog, KNOWN)
    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize(("model", "problem"), [
    ("not a model", "does not parse"),
    (MODEL.replace("r = sub, obj, act, pur, day, acc", "r = sub, obj, act"), "request definition"),
    (MODEL.replace("p = sub, obj, act, pur, acc, valid_from, valid_until, ref", "p = sub, obj"), "policy definition"),
    (MODEL.replace("[role_definition]\ng = _, _\n", ""), "`g`"),
    (MODEL.replace("some(where (p.eft == allow))", "!some(where (p.eft == deny))"), "effect definition"),
    (MODEL.replace("r.obj == p.obj && r.act == p.act && ", ""), "only add conditions"),
    (MODEL.replace("r.day <= p.valid_until", "r.day <= p.valid_until || true"), "only add conditions"),
    (MODEL.replace("r.day <= p.valid_until", "r.day <= p.valid_until && (true || r.acc == p.acc"), "only add"),
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
    assert pairs == {("fg-credit", "Enterprise.taxPaid")}
    scope = Scope(("fg-credit", "mz-assistance"), ("MARKET_SUPERVISION",), ("Enterprise.taxPaid",), pairs=pairs)
    decisions = {("fg-credit", "QUERY"): ("MASKED", "MASK_REQUIRED")}
    changes = dry_run(scope, lambda *_: ("DENIED", "GRANT_REQUIRED"),
                      lambda a, _p, _f, m: decisions.get((a, m), ("DENIED", "GRANT_REQUIRED")))
    assert [(c.application, c.mode, c.before, c.after, c.gains) for c in changes] == [
        ("fg-credit", "QUERY", "DENIED", "MASKED", True)]
    other_model = PolicySet.build(catalog, [], departments, model_text=MODEL + "\n# edited\n")
    assert affected(before, other_model, ["fg-credit"]) is None  # a model change can change anything


def test_diff_shows_the_model_lines_and_tests() -> None:
    text = diff(Draft(MODEL, "", ""), Draft(MODEL.replace("some(where", "some( where"), LINE, "x"), "v1", "v2")
    assert "--- v1/model.conf" in text and "+p, dept:FG" in text and "+++ v2/tests.toml" in text
    assert diff(Draft(MODEL), Draft(MODEL)) == ""


def test_admin_lines_default_to_none() -> None:
    assert AdminLines() == AdminLines((), ())


def test_oversized_or_nul_texts_are_refused(catalog: Catalog) -> None:
    assert "longer than" in validate(Draft(MODEL, "# " + "x" * 1_000_001), catalog, KNOWN)[0]
    assert "NUL" in validate(Draft(MODEL, "", "a\x00b"), catalog, KNOWN)[0]
