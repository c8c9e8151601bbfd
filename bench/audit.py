"""The cost of the audit trail: request latency and throughput with audit on against audit off,
in the same run.

Run from the repository root::

    .venv/bin/python -m bench.audit                    # 2,000 persons, 2 s windows, median of 5 repeats
    .venv/bin/python -m bench.audit --seconds 0.5      # quicker, noisier

It builds the demo into a temporary directory, starts the real application in-process and
times a typical read — ``person(idNumber:)`` with five fields from three libraries, some
masked — one request at a time (latency) and with ``--concurrency`` in flight (throughput).
"Audit on" is the gateway as it runs: every request commits its hash-chained record before
it answers (group commit across concurrent requests). "Audit off" swaps the runtime's audit
store for one that writes nothing; that exists only here, the gateway itself cannot run
without its audit trail. The repeats alternate on and off. Aim (issue 6): audit costs at most
10% (on/off ≤ 1.10 in time per request).

Writes ``bench/results/audit.json`` and ``bench/results/audit.md``; exits non-zero when the chain
written during the run does not verify (a missed aim is a ✗ in the table, not a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from audit import AuditRecord
from bench.figures import RESULTS, Figure, machine
from bench.harness import build, demo_headers, rate, running_gateway, settings_for, spread

AIM = 1.10  # time per request, audit on / audit off
APPLICATION, PURPOSE = "mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"
READ = 'query($id: ID!) { person(idNumber: $id) { name mobile address maritalStatus insuranceStatus } }'


class NoAudit:
    """An audit store that keeps nothing: the 'audit off' side of the comparison only."""

    def __init__(self) -> None:
        self.seq = 0

    async def append(self, _record: AuditRecord) -> int:
        self.seq += 1
        return self.seq


@dataclass(frozen=True)
class Row:
    measure: str
    on: float  # requests per second, audit on
    off: float
    spread_on: float
    spread_off: float

    @property
    def ratio(self) -> float:
        """Time per request, audit on / audit off."""
        return self.off / self.on

    @property
    def meets_aim(self) -> bool:
        return self.ratio <= AIM


async def run(data_dir: Path, *, seconds: float = 2.0, repeats: int = 5, concurrency: int = 16) -> tuple[list[Row], bool]:
    settings = settings_for(data_dir)
    headers = demo_headers(settings, APPLICATION, PURPOSE)
    subjects = json.loads(settings.credentials_path.read_text(encoding="utf-8"))["samples"]["idNumbers"]
    async with running_gateway(settings) as (client, runtime):
        async def read(i: int) -> None:
            response = await client.post("/graphql", headers=headers,
                                         json={"query": READ, "variables": {"id": subjects[i % len(subjects)]}})
            if response.status_code != 200 or b'"errors"' in response.content:
                raise RuntimeError(f"the gateway refused a bench request: {response.text[:300]}")

        real, off = runtime.audit, NoAudit()
        for i in range(50):  # warm the document cache, the pools and the planner
            await read(i)
        series: dict[str, list[float]] = {k: [] for k in ("seq_on", "seq_off", "con_on", "con_off")}
        for _ in range(repeats):
            for audit, side in ((real, "on"), (off, "off")):
                runtime.audit = audit
                series[f"seq_{side}"].append(await rate(read, seconds, 1))
                series[f"con_{side}"].append(await rate(read, seconds, concurrency))
        runtime.audit = real
        verified = (await real.verify()).first_bad is None
    rows = [
        _row("one request at a time", series["seq_on"], series["seq_off"]),
        _row(f"{concurrency} requests in flight", series["con_on"], series["con_off"]),
    ]
    return rows, verified


def _row(measure: str, on: list[float], off: list[float]) -> Row:
    return Row(measure, statistics.median(on), statistics.median(off), spread(on), spread(off))


def markdown(rows: Sequence[Row], seconds: float, repeats: int) -> str:
    lines = [
        f"Demo on SQLite; a `person(idNumber:)` read of five fields from three libraries; {seconds:g} s windows, "
        f"median of {repeats} repeats, audit on and off alternating.",
        "",
        "| Measure | audit on | audit off | on / off (time per request) | aim |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        mark = "✓" if row.meets_aim else "✗"
        lines.append(f"| {row.measure} | {row.on:,.0f}/s ±{row.spread_on:.0%} | {row.off:,.0f}/s ±{row.spread_off:.0%} "
                     f"| {row.ratio:.2f} | ≤ {AIM:.2f} {mark} |")
    return "\n".join(lines) + "\n"


def write(rows: Sequence[Row], seconds: float, repeats: int, out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, seconds, repeats)
    document: dict[str, Any] = {
        "benchmark": "audit", "seconds": seconds, "repeats": repeats, "machine": machine(), "aim": AIM,
        "results": [{**asdict(row), "ratio": row.ratio, "meets_aim": row.meets_aim} for row in rows],
        "figures": [Figure("6. Audit overhead", f"audit on / off, {row.measure}", f"{row.ratio:.2f}×", f"≤ {AIM:.2f}×",
                           row.meets_aim, f"{row.on:,.0f}/s ±{row.spread_on:.0%} vs "
                                          f"{row.off:,.0f}/s ±{row.spread_off:.0%}").as_json()
                    for row in rows],
    }
    (out / "audit.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "audit.md").write_text("# Audit overhead\n\n" + table, encoding="utf-8")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=2000, help="persons in the demo (default 2000)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed window (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each side (default 5)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for audit.json and audit.md")
    parser.add_argument("--quick", action="store_true", help="0.5 s windows, 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats = 0.5, 3
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as directory:
        build(Path(directory), args.persons)
        rows, verified = asyncio.run(run(Path(directory), seconds=args.seconds, repeats=args.repeats,
                                         concurrency=args.concurrency))
    print(write(rows, args.seconds, args.repeats, args.out), end="")
    if not verified:
        print("\nthe audit chain written during the run does not verify")
    return 0 if verified else 1


if __name__ == "__main__":
    raise SystemExit(main())
