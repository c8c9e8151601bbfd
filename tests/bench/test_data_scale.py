"""Smoke test of bench/data_scale.py on two tiny demos: it runs, reuses a cached demo, checks
its answers and reports the three figures with the plans of the SQL; no timing is judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import data_scale
from tests.postgres import REQUIRED

TINY = ["--small", "300", "--large", "600", "--repeats", "2", "--lookups", "20", "--walks", "2", "--pages", "3"]


def test_a_cached_demo_is_reused_until_rebuild_is_asked(tmp_path: Path) -> None:
    directory, seconds = data_scale.cached_demo(300, 7, tmp_path, rebuild=False)
    assert seconds is not None and (directory / "demo-credentials.json").exists()
    assert data_scale.cached_demo(300, 7, tmp_path, rebuild=False) == (directory, None)
    assert data_scale.cached_demo(300, 7, tmp_path, rebuild=True)[1] is not None


def test_runs_on_two_tiny_demos_and_reports_each_measure(tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert data_scale.main([*TINY, "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    report = json.loads((out / "data_scale.json").read_text(encoding="utf-8"))
    assert report["persons"] == [300, 600] and report["machine"]
    measures = [f["measure"] for f in report["figures"]]
    assert measures == [f"{m}, 600 / 300 persons" for m in data_scale.MEASURES]
    assert all(f["item"] == data_scale.ITEM and f["aim"] == "≤ 1.2×" for f in report["figures"])
    for measure in data_scale.MEASURES:
        for persons in ("300", "600"):
            series = report["results"][measure][persons]
            assert len(series["repeats"]) == 2 and series["median"] > 0
    assert [len(r) for r in report["results"]["keyed lookup"]["600"]["repeats"]] == [20, 20]
    assert [len(r) for r in report["results"]["first page"]["600"]["repeats"]] == [2, 2]
    assert [len(r) for r in report["results"]["following pages"]["600"]["repeats"]] == [4, 4]
    planned = " ".join(p["statement"] for p in report["plans"])
    assert "FROM person_basic" in planned and "FROM social_insurance" in planned and "ORDER BY" in planned
    assert all(p["plan"] for p in report["plans"])
    assert (out / "data_scale.md").read_text(encoding="utf-8").startswith("# Scale of data: 300 against 600 persons")


def test_a_wrong_walk_is_caught() -> None:
    nodes = [{"idNumber": "a", "gender": "女", "birthPlaceCode": "110101"},
             {"idNumber": "b", "gender": "女", "birthPlaceCode": "120101"}]
    with pytest.raises(data_scale.WrongAnswer):
        data_scale.check_walk(10, nodes)
    with pytest.raises(data_scale.WrongAnswer):
        data_scale.check_walk(10, [*nodes[1:], nodes[1]])  # a row twice


@pytest.mark.postgres
def test_runs_on_postgresql(tmp_path: Path) -> None:
    from bench import pgdemo

    why = pgdemo.unreachable_reason()
    if why and not REQUIRED:
        pytest.skip(why)
    assert data_scale.main([*TINY, "--postgres", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "data_scale_postgres.json").read_text(encoding="utf-8"))
    assert report["database"] == "PostgreSQL" and len(report["figures"]) == len(data_scale.MEASURES)
    assert all(f["measure"].endswith("(PostgreSQL)") for f in report["figures"])
    assert all(p["plan"] and "$1" in p["statement"] for p in report["plans"])
