"""The masking benchmark covers every rule and writes its results (a tiny run, not a measurement)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import masking as bench
from masking import rule_names


def test_every_rule_has_benchmark_inputs() -> None:
    assert set(bench.INPUTS) == set(rule_names())


def test_a_tiny_run_writes_json_and_markdown(tmp_path: Path) -> None:
    rows = bench.run(count=50, repeats=1)
    assert [row.rule for row in rows] == [*rule_names(), *bench.EXTRA_SPECS]
    table = bench.write(rows, 50, 1, tmp_path)
    document = json.loads((tmp_path / "masking.json").read_text(encoding="utf-8"))
    assert len(document["results"]) == len(rows)
    assert (tmp_path / "masking.md").read_text(encoding="utf-8").endswith(table)
    assert "| `mobile` |" in table
