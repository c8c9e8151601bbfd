"""The data-check benchmark runs against the real app and writes its results (a tiny run, not a
measurement)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import check as bench


async def test_a_tiny_run_writes_json_and_markdown(data_dir: Path, tmp_path: Path) -> None:
    report, profiled = await bench.run(data_dir, seconds=0.05, repeats=1, concurrency=2, batch=20, batches=1, profile=2)
    assert [row.unit for row in report.rows] == ["checks/s", "checks/s", "ms"]
    assert all(row.median > 0 and row.baseline > 0 for row in report.rows)
    assert report.audit_verified and report.audit_records >= report.audit_commits > 0
    assert "Own time by package" in profiled
    table = bench.write(report, tmp_path)
    document = json.loads((tmp_path / "check.json").read_text(encoding="utf-8"))
    assert document["benchmark"] == "check" and len(document["results"]) == 3
    assert (tmp_path / "check.md").read_text(encoding="utf-8").endswith(table)
    assert "| single check, 2 in flight |" in table and "| batch of 20 subjects |" in table
