"""Smoke test of bench/overhead.py: a tiny run that must answer right on both sides and report its
figures (never its timings), and the checks that would catch a wrong answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphql import ExecutionResult

from bench import overhead
from bench.overhead import MASKED, RAW, Answer, compare


def test_a_tiny_run_reports_every_figure(tmp_path: Path) -> None:
    code = overhead.main(["--persons", "40", "--rows", "3", "20", "--repeats", "2", "--sample", "0.01",
                          "--out", str(tmp_path)])
    assert code == 0  # 1 would mean a wrong answer: rows, masked or raw values, or the SQL differed
    report = json.loads((tmp_path / "overhead.json").read_text(encoding="utf-8"))
    figures = report["figures"]
    assert [f["measure"] for f in figures] == [
        f"{rows} rows × 10 fields (6 masked), {variant}" for variant in ("SQLite", "memory") for rows in (3, 20)
    ]
    assert all(f["item"] == "1. Authorization and masking overhead" for f in figures)
    assert [f["aim"] for f in figures] == ["≤ 1.10×"] * 2 + ["—"] * 2
    assert [isinstance(f["met"], bool) for f in figures] == [True, True, False, False]
    for result in report["results"]:
        assert len(result["on"]["cpu_ms"]) == len(result["off"]["cpu_ms"]) == 2
        assert result["ratio_cpu"] > 0
    assert report["masked"] == list(MASKED) and report["raw"] == list(RAW)
    assert (tmp_path / "overhead.md").read_text(encoding="utf-8").startswith("# Authorization and masking overhead")


def _answer(nodes: list[dict[str, Any]], masked: int) -> Answer:
    data = {"populationRecords": {"edges": [{"node": node} for node in nodes]}}
    return Answer(ExecutionResult(data=data), [{"path": [], "rule": "x"}] * masked)


def test_the_sanity_checks_catch_wrong_answers() -> None:
    raw = {name: f"raw {name}" for name in (*MASKED, *RAW)}
    masked = {**raw, **{name: "***" for name in MASKED}}
    assert compare(_answer([masked], len(MASKED)), _answer([raw], 0), rows=1) == []
    assert compare(_answer([raw], len(MASKED)), _answer([raw], 0), rows=1)  # nothing masked
    assert compare(_answer([{**masked, "name": "other"}], len(MASKED)), _answer([raw], 0), rows=1)  # raw differs
    assert compare(_answer([masked], len(MASKED)), _answer([raw], 0), rows=2)  # a row missing
    assert compare(_answer([masked], 1), _answer([raw], 0), rows=1)  # masked paths not listed
