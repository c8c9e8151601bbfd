"""The audit-overhead benchmark runs against the real app and writes its results (a tiny run,
not a measurement); its 'audit off' side never leaks into the gateway."""

from __future__ import annotations

import json
from pathlib import Path

from bench import audit as bench


async def test_a_tiny_run_writes_json_and_markdown(data_dir: Path, tmp_path: Path) -> None:
    rows, verified = await bench.run(data_dir, seconds=0.05, repeats=1, concurrency=2)
    assert verified and [row.measure for row in rows] == ["one request at a time", "2 requests in flight"]
    assert all(row.on > 0 and row.off > 0 for row in rows)
    table = bench.write(rows, 0.05, 1, tmp_path)
    document = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert document["benchmark"] == "audit" and len(document["results"]) == 2
    assert (tmp_path / "audit.md").read_text(encoding="utf-8").endswith(table)
