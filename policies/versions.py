"""Policy versions: the Casbin model and the administrators' own policy lines, as data.

A version is a model (Casbin's model.conf text), the administrators' lines (Casbin's CSV:
`p, sub, obj, act, pur, acc, valid_from, valid_until, ref` and `g, app:<id>, dept:<code>`) and the
policy tests that must pass before it activates (TOML, like OPA's tests: expected decisions).
The lines the catalog and the grants imply are generated, never stored here (policies/rules.py).

    validate(draft)      model syntax and shape; unknown subjects, objects, purposes, modes;
                         a line that reaches a NOT_SHARED field; a model that fails on a request
    decision_table(...)  every (application, purpose, field, mode) decision under one policy
    dry_run(a, b)        who gains or loses which field, under which purpose, from a to b
    run_tests(...)       the expected decisions that do not hold
    diff(a, b)           the model and the lines, line by line
"""

from __future__ import annotations

import csv
import difflib
import io
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from casbin import model as casbin_model

from policies.rules import ALWAYS_FROM, ALWAYS_UNTIL, ANY, MODEL_PATH, AdminLines, GroupLine, PolicyLine, PolicySet
from schema.catalog import Catalog, ShareClass

POLICY_TOKENS = 8  # sub, obj, act, pur, acc, valid_from, valid_until, ref: the planner reads `ref` last
MODES = ("QUERY", "CHECK")
GROUP_PREFIX = "grp:"  # an administrator's group of applications (g lines), beside the generated dept: groups
ACCESS = ("RAW", "MASKED")


class PolicyError(ValueError):
    """A policy version that cannot be stored or activated; `problems` says every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Draft:
    model: str
    lines: str = ""
    tests: str = ""


def parse_lines(text: str) -> AdminLines:
    """Casbin's policy CSV (`p, …` and `g, …` rows; `#` comments and blank lines skipped)."""
    policies: list[PolicyLine] = []
    groups: list[GroupLine] = []
    problems: list[str] = []
    rows = csv.reader((line for line in io.StringIO(text) if line.strip() and not line.lstrip().startswith("#")),
                      skipinitialspace=True)
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        kind, values = (cells[0], cells[1:]) if cells else ("", [])
        if kind == "p" and len(values) == POLICY_TOKENS:
            policies.append(tuple(values))  # type: ignore[arg-type]
        elif kind == "g" and len(values) == 2:
            groups.append((values[0], values[1]))
        else:
            problems.append(f"line {number}: write `p` and {POLICY_TOKENS} values, or `g` and 2 values")
    if problems:
        raise PolicyError(problems)
    return AdminLines(tuple(policies), tuple(groups))


def format_lines(lines: AdminLines) -> str:
    """Casbin's policy CSV, `, `-separated; a cell holding a comma or a quote is quoted."""
    rows = [["p", *line] for line in lines.policies] + [["g", *group] for group in lines.groups]
    return "".join(", ".join(_cell(c) for c in row) + "\n" for row in rows)


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if ("," in text or '"' in text) else text


def load_model(text: str) -> casbin_model.Model:
    model = casbin_model.Model()
    model.load_model_from_text(text)
    return model


@dataclass(frozen=True)
class Known:
    """What lines and tests may name (the platform store's principals): lines give data to
    consuming applications only; tests may ask about any application."""

    applications: frozenset[str]
    departments: frozenset[str]
    purposes: frozenset[str]
    consumers: frozenset[str] | None = None  # None: every application consumes

    def consumer(self, application: str) -> bool:
        return application in (self.applications if self.consumers is None else self.consumers)


LIMITS = {"model": 20_000, "lines": 1_000_000, "tests": 200_000}  # characters


def validate(draft: Draft, catalog: Catalog, known: Known) -> list[str]:
    """Every reason the draft may not become the policy; empty when it may."""
    problems = [f"the {name} is longer than {limit:,} characters" for name, limit in LIMITS.items()
                if len(getattr(draft, name)) > limit]
    problems += [f"the {name} holds a NUL character" for name in LIMITS if "\x00" in getattr(draft, name)]
    if problems:
        return problems
    problems = _model_problems(draft.model)
    try:
        lines = parse_lines(draft.lines)
    except PolicyError as exc:
        return problems + exc.problems
    groups = set()
    for number, (member, group) in enumerate(lines.groups, start=1):
        if not (member.startswith("app:") and known.consumer(member[4:])):
            problems.append(f"g line {number}: {member} is not app:<a registered consuming application>")
        if not (group.startswith(GROUP_PREFIX) and len(group) > len(GROUP_PREFIX)):
            problems.append(f"g line {number}: {group} is not {GROUP_PREFIX}<name>: an application's department is "
                            "the platform store's to say, so a line may only add it to a group of its own")
        groups.add(group)
    for number, line in enumerate(lines.policies, start=1):
        problems.extend(f"p line {number}: {p}" for p in _line_problems(line, catalog, known, groups))
    try:
        for number, e in enumerate(parse_tests(draft.tests), start=1):
            problems.extend(f"test {number}: {p}" for p in _expectation_problems(e, catalog, known))
    except PolicyError as exc:
        problems.extend(exc.problems)
    return problems


def restricts_shipped(model_text: str) -> bool:
    """Whether a model keeps the shipped definitions and matcher, conditions only added (as
    `validate` requires of every stored version): its decisions never allow what the shipped
    model refuses."""
    return not _model_problems(model_text)


def _model_problems(text: str) -> list[str]:
    """A model may only restrict the shipped one: the same request, policy, role and effect
    definitions, and the shipped matcher with conditions added (`&& …`), never one removed or
    an alternative (`|| …`) that would let a request through that the shipped model refuses."""
    try:
        model = load_model(text)
    except Exception as exc:  # casbin raises RuntimeError and others on malformed text
        return [f"the model does not parse: {exc}"]
    shipped = load_model(MODEL_PATH.read_text(encoding="utf-8"))
    problems = []
    for section, key, name in (("r", "r", "request"), ("p", "p", "policy"), ("g", "g", "role"), ("e", "e", "effect"),
                               ("m", "m", "matcher")):
        if section not in model.model or key not in model.model[section]:
            problems.append(f"the model lacks its {name} definition (`{key}`)")
        elif section != "m" and model.model[section][key].value != shipped.model[section][key].value:
            problems.append(f"the {name} definition must stay as shipped ({key} = "
                            f"{shipped.model[section][key].value.replace('_', '.')}): the planner asks it")
    if problems:
        return problems
    matcher, base = _spaced(model.model["m"]["m"].value), _spaced(shipped.model["m"]["m"].value)
    if matcher != base:
        added = matcher[len(base):].strip() if matcher.startswith(base) else ""
        if not added.startswith("&&") or _top_level_or(added[2:]):
            problems.append("the matcher may only add conditions: keep the shipped matcher and append "
                            "`&& (…)`, never `|| …` (a model may restrict what the policy allows, never widen it)")
    return problems


def _spaced(expression: str) -> str:
    return " ".join(expression.split())


def _top_level_or(expression: str) -> bool:
    """Whether `||` (or a `?:`) appears outside parentheses and quotes."""
    depth, quote, previous = 0, "", ""
    for char in expression:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return True  # closes a parenthesis of the shipped matcher: not an added condition
        elif depth == 0 and (char == "?" or (char == "|" and previous == "|")):
            return True
        previous = char
    return depth != 0


def _line_problems(line: PolicyLine, catalog: Catalog, known: Known, groups: set[str]) -> list[str]:
    sub, obj, act, pur, acc, start, until, ref = line
    problems = []
    if not (sub == ANY or (sub.startswith("app:") and known.consumer(sub[4:]))
            or (sub.startswith("dept:") and sub[5:] in known.departments) or sub in groups):
        problems.append(f"{sub} is not *, app:<a registered consuming application>, dept:<a registered department> "
                        f"or a {GROUP_PREFIX}<group> a g line of this version defines")
    found = catalog.by_coordinate.get(obj)
    if found is None:
        problems.append(f"{obj} is not a field of the catalog")
    elif found.field.share_class is ShareClass.NOT_SHARED:
        problems.append(f"{obj} is NOT_SHARED ({found.field.legal_basis}): no line may reach it")
    elif found.field.share_class is ShareClass.CONDITIONAL and (acc != "MASKED" or act != "QUERY"):
        problems.append(f"{obj} is CONDITIONAL: a line may only give it MASKED for QUERY (a desensitized view); raw "
                        "data and checks are granted by its provider, through a share application")
    elif found.field.mask_required and acc != "MASKED":
        problems.append(f"{obj} must always be masked (the catalog's mask_required): give it MASKED")
    if act not in MODES:
        problems.append(f"{act} is not a share mode ({', '.join(MODES)})")
    if pur != ANY and pur not in known.purposes:
        problems.append(f"{pur} is not * or a registered purpose")
    if acc not in ACCESS:
        problems.append(f"{acc} is not RAW or MASKED")
    try:
        first = date.min if start == ALWAYS_FROM else date.fromisoformat(start)
        last = date.max if until == ALWAYS_UNTIL else date.fromisoformat(until)
        if first > last:
            problems.append("the line ends before it starts")
    except ValueError:
        problems.append(f"valid_from and valid_until are days (YYYY-MM-DD; {ALWAYS_FROM} and {ALWAYS_UNTIL} for always)")
    if not ref or ref == "catalog" or ref.startswith("grant:"):
        problems.append("name the line's source in `ref` (e.g. admin:<note>); catalog and grant:… are generated")
    return problems


def _expectation_problems(e: Expectation, catalog: Catalog, known: Known) -> list[str]:
    """A test about nothing would pass for ever: every name it gives must exist."""
    problems = []
    if e.application not in known.applications:
        problems.append(f"{e.application} is not a registered application")
    if e.purpose not in known.purposes:
        problems.append(f"{e.purpose} is not a registered purpose")
    if e.field not in catalog.by_coordinate:
        problems.append(f"{e.field} is not a field of the catalog")
    if e.mode not in MODES:
        problems.append(f"{e.mode} is not a share mode ({', '.join(MODES)})")
    return problems


# Policy tests: expected decisions.


@dataclass(frozen=True)
class Expectation:
    application: str
    purpose: str
    field: str
    access: str  # RAW / MASKED / DENIED
    mode: str = "QUERY"
    reason: str | None = None  # the reason code, when given

    def describe(self) -> str:
        return f"{self.application} / {self.purpose} / {self.field} / {self.mode}"


def parse_tests(text: str) -> list[Expectation]:
    """A TOML file of `[[expect]]` tables: application, purpose, field, access, and optional mode and reason."""
    if not text.strip():
        return []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([f"the policy tests are not TOML: {exc}"]) from None
    entries = doc.get("expect", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PolicyError(["write each policy test as an [[expect]] table"])
    found, problems = [], []
    for number, entry in enumerate(entries, start=1):
        try:
            expectation = Expectation(
                application=str(entry["application"]), purpose=str(entry["purpose"]), field=str(entry["field"]),
                access=str(entry["access"]).upper(), mode=str(entry.get("mode", "QUERY")).upper(),
                reason=entry.get("reason"))
        except (KeyError, TypeError, AttributeError):
            problems.append(f"test {number}: give application, purpose, field and access")
            continue
        if expectation.access not in ("RAW", "MASKED", "DENIED"):
            problems.append(f"test {number}: access is RAW, MASKED or DENIED")
        found.append(expectation)
    if problems:
        raise PolicyError(problems)
    return found


Decide = Callable[[str, str, str, str], tuple[str, str | None]]  # app, purpose, field, mode → access, reason


def run_tests(expectations: Iterable[Expectation], decide: Decide) -> list[str]:
    failures = []
    for e in expectations:
        access, reason = decide(e.application, e.purpose, e.field, e.mode)
        if access != e.access or (e.reason is not None and reason != e.reason):
            got = access + (f" ({reason})" if reason else "")
            want = e.access + (f" ({e.reason})" if e.reason else "")
            failures.append(f"{e.describe()}: expected {want}, got {got}")
    return failures


# Dry run and diff.


@dataclass(frozen=True)
class Change:
    application: str
    purpose: str
    field: str
    mode: str
    before: str
    after: str

    @property
    def gains(self) -> bool:
        rank = {"DENIED": 0, "MASKED": 1, "RAW": 2}
        return rank[self.after] > rank[self.before]


@dataclass(frozen=True)
class Scope:
    """The decisions a dry run compares: every application, purpose, field and mode; or, when
    `pairs` is given, only those (application, field) pairs, under every purpose and mode."""

    applications: tuple[str, ...]
    purposes: tuple[str, ...]
    fields: tuple[str, ...]
    modes: tuple[str, ...] = MODES
    pairs: frozenset[tuple[str, str]] | None = None

    def application_fields(self) -> list[tuple[str, str]]:
        if self.pairs is not None:
            return sorted(self.pairs)
        return [(a, f) for a in self.applications for f in self.fields]


def dry_run(scope: Scope, before: Decide, after: Decide) -> list[Change]:
    changes = []
    for application, coordinate in scope.application_fields():
        for purpose in scope.purposes:
            for mode in scope.modes:
                old, new = before(application, purpose, coordinate, mode)[0], after(application, purpose, coordinate, mode)[0]
                if old != new:
                    changes.append(Change(application, purpose, coordinate, mode, old, new))
    return sorted(changes, key=lambda c: (c.application, c.purpose, c.field, c.mode))


def affected(before: PolicySet, after: PolicySet, applications: Iterable[str]) -> frozenset[tuple[str, str]] | None:
    """The (application, field) pairs whose decisions can differ between two policies of one
    model: those the changed lines name, for the applications they reach. None when the models
    differ (then any decision can)."""
    if before.model_text != after.model_text:
        return None
    applications = list(applications)
    fields = list(before.catalog.by_coordinate)
    changed_lines = set(_all_lines(before)) ^ set(_all_lines(after))
    changed_groups = set(before.groups) ^ set(after.groups)
    members: dict[str, set[str]] = {}
    for member, group in {*before.groups, *after.groups}:
        members.setdefault(group, set()).add(member.removeprefix("app:"))
    pairs = {(member.removeprefix("app:"), f) for member, _ in changed_groups for f in fields}
    for sub, obj, *_ in changed_lines:
        reached = applications if sub == ANY else [sub.removeprefix("app:")] if sub.startswith("app:") else members.get(sub, ())
        pairs.update((a, obj) for a in reached)
    return frozenset(p for p in pairs if p[0] in applications)


def _all_lines(policy: PolicySet) -> list[PolicyLine]:
    return [line for lines in policy.lines_by_subject.values() for line in lines]


def diff(old: Draft, new: Draft, old_name: str = "a", new_name: str = "b") -> str:
    parts: list[str] = []
    for what, a, b in (("model.conf", old.model, new.model), ("policy.csv", old.lines, new.lines),
                       ("tests.toml", old.tests, new.tests)):
        parts.extend(difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                          f"{old_name}/{what}", f"{new_name}/{what}"))
    return "".join(parts)


@dataclass(frozen=True)
class Report:
    """What activating a version would do: its problems, its failing tests, its changes, against
    the version in force (`active`, None for the shipped model)."""

    problems: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    active: Any = None

    @property
    def activatable(self) -> bool:
        return not self.problems and not self.failures


