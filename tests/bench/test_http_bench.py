"""Smoke test of bench/http.py: the gateway and the floor run as real processes over a tiny demo,
agree on their answers, and the report holds every figure; no timing is judged."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bench import http, pgdemo
from tests import postgres

TINY = ["--persons", "100", "--seconds", "0.3", "--repeats", "2", "--warmup", "0.2", "--concurrency", "4"]


def run_tiny(out: Path, database: str) -> dict[str, Any]:
    assert http.main([*TINY, "--database", database, "--out", str(out)]) == 0
    assert (out / "http.md").read_text(encoding="utf-8").startswith("# HTTP throughput and latency")
    return json.loads((out / "http.json").read_text(encoding="utf-8"))


def assert_measured(result: dict[str, Any], label: str, report: dict[str, Any]) -> None:
    assert result["answers_checked"] == http.SAMPLE  # both sides gave the same values for each
    for side in http.SIDES:
        assert len(result[side]["windows"]) == 2 and result[side]["requests"] > 0
        assert 0 < result[side]["p50_ms"] <= result[side]["p99_ms"]
    assert result["ratio"] == pytest.approx(result["gateway"]["throughput"] / result["floor"]["throughput"])
    figures = {f["measure"]: f for f in report["figures"]}
    ratio = figures[f"{label}: gateway / floor throughput, 4 connections"]
    assert ratio["aim"] == "≥ 0.70×" and ratio["met"] == (result["ratio"] >= http.AIM)
    assert figures[f"{label}: floor / client ceiling (constant JSON, no database)"]["met"] is None


def test_sqlite_run_compares_answers_and_reports_every_figure(tmp_path: Path) -> None:
    report = run_tiny(tmp_path, "sqlite")
    assert report["machine"] and report["concurrency"] == 4 and report["request"]["query"] == http.QUERY
    assert_measured(report["databases"]["sqlite"], "SQLite", report)
    assert all(f["item"] == http.ITEM for f in report["figures"])
    skipped = [f for f in report["figures"] if f["value"] == "skipped"]
    assert [f["measure"] for f in skipped] == ["PostgreSQL: gateway / floor throughput, 4 connections"]


@pytest.mark.postgres
def test_postgresql_run_compares_answers_and_reports_every_figure(tmp_path: Path) -> None:
    if (why := pgdemo.unreachable_reason()) and not postgres.REQUIRED:
        pytest.skip(why)
    report = run_tiny(tmp_path, "postgresql")
    assert_measured(report["databases"]["postgresql"], "PostgreSQL", report)


def test_different_answers_fail_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"gateway": {"name": "杨琦梦"}, "floor": {"name": "杨琦"}}

    async def answer(target: http.Target, _body: bytes) -> Any:
        return answers[target.name]

    monkeypatch.setattr(http, "person", answer)
    gateway, floor = (http.Target(name, 0, 1, "/graphql", b"", [b"{}"]) for name in answers)
    with pytest.raises(http.RunFailed, match="different answers"):
        asyncio.run(http.compare_answers(gateway, floor, 3))


def test_a_profile_is_summarized_per_thread_package_and_function() -> None:
    collapsed = ("run (asyncio/runners.py:1);_serve (gateway/graphql_view.py:10);execute (graphql/execution/execute.py:5) 30\n"
                 "run (asyncio/runners.py:1);_serve (gateway/graphql_view.py:12) 10\n"
                 "_worker (concurrent/futures/thread.py:3);do_execute (sqlalchemy/engine/default.py:9) 10\n")
    summary = http.summarize(collapsed, rate=100, requests=5)
    assert "50 samples holding the GIL at 100/s over 5 requests: 100.00 ms per request" in summary
    threads, rest = summary.split("Own time by package:")
    assert "80.0%  80.000 ms  event loop thread" in threads and "20.0%  20.000 ms  pool threads" in threads
    packages, rest = rest.split("Own time by function:")
    assert "60.0%  60.000 ms  graphql" in packages and "20.0%  20.000 ms  project gateway/" in packages
    functions, project = rest.split("Inclusive time, the project's functions:")
    assert "60.0%  60.000 ms  execute (graphql/execution/execute.py)" in functions
    assert project.strip().splitlines() == ["80.0%  80.000 ms  _serve (gateway/graphql_view.py)"]
