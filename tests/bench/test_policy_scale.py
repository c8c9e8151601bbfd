"""Smoke test of bench/policy_scale.py: a tiny run, real gateway processes and command-line changes
included, that must see every change in force and report its figures (never judging its timings);
and the grants it generates, which must be real ones."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

from bench import policy_scale
from policies.grants import GrantStatus
from policies.rules import grant_lines
from schema.loader import load_catalog


def test_a_tiny_run_reports_every_figure(tmp_path: Path) -> None:
    code = policy_scale.main(["--lines", "1500", "--persons", "40", "--repeats", "1", "--iterations", "50",
                              "--callers", "5", "--changes", "1", "--other-refresh", "0", "--no-redis",
                              "--out", str(tmp_path)])
    assert code == 0  # 1 would mean a wrong answer, a failed command or decisions that differ
    report = json.loads((tmp_path / "policy_scale.json").read_text(encoding="utf-8"))
    assert report["policy"]["grant_lines"] >= 1500 > report["policy"]["demo_grant_lines"]
    assert report["same_decisions"] and list(report["variants"]) == ["none"]
    assert report["callers"]["large"] == report["callers"]["demo"] + 5
    figures = report["figures"]
    assert all(f["item"] == "5. Scale of policy" for f in figures)
    assert [f["measure"].split(" (")[0].split(",")[0] for f in figures] == [
        "warm authorization per request", "cold compile of one", "policy reload on a change", "change in force"]
    assert [f["aim"] for f in figures] == ["< 50 µs", "< 20 ms", "— (part of < 1 s)", "< 1000 ms"]
    assert [type(f["met"]) for f in figures] == [bool, bool, type(None), bool]
    changes = report["series"]["none"]
    assert len(changes["demo"]) == len(changes["large"]) == 1
    assert min(changes["demo"] + changes["large"]) > 0  # seen after its commit, never before
    assert (tmp_path / "policy_scale.md").read_text(encoding="utf-8").startswith("# Scale of policy")


def test_generated_grants_give_the_lines_asked_for() -> None:
    catalog = load_catalog()
    applications, grants = policy_scale.generated(catalog, ["GA", "MZ"], ["P1", "P2", "P3"], 2000,
                                                  random.Random(7), date(2026, 11, 27))
    lines = [line for g in grants for line in grant_lines(catalog, g)]
    assert 2000 <= len(lines) < 2000 + 200  # stops at the first application past the count
    assert {g.application for g in grants} == {a for a, _ in applications}
    assert {d for _, d in applications} == {"GA", "MZ"}
    assert {g.status for g in grants} == set(GrantStatus) - {GrantStatus.EXPIRED, GrantStatus.NOT_YET_VALID}
    assert any(g.valid_until < date(2026, 11, 27) for g in grants)  # some have ended
    for grant in grants:  # spelled out, on one resource, as an approval makes them
        assert grant.fields and {catalog.by_coordinate[f].resource.code for f in grant.fields} == {grant.resource}
        assert set(grant.mask_fields) <= set(grant.fields)
