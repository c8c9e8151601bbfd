"""Data-check (数据核验) throughput through the real gateway, against a bare keyed SQL lookup.

Run from the repository root::

    .venv/bin/python -m bench.check                    # 2,000 persons, 2 s windows, median of 5 repeats
    .venv/bin/python -m bench.check --seconds 0.5      # quicker, noisier
    .venv/bin/python -m bench.check --profile          # also print where a single check spends its time

It builds the demo into a temporary directory, starts the ASGI application in-process
(``create_app`` under its lifespan, ``httpx.ASGITransport``) and measures, interleaved in
the same run:

- single checks (``checkPerson``, claims ``name`` and ``mobile``, application mz-assistance,
  purpose SOCIAL_ASSISTANCE_REVIEW) per second, one at a time and with ``--concurrency``
  requests in flight, audit on (every request commits its record before it answers);
- the wall time of one ``checkPersons`` batch of ``--batch`` subjects;
- the baseline for each: the same columns read with SQLAlchemy async from the same SQLite
  file by key (``SELECT name, mobile FROM person_basic WHERE id_number = :k``, or ``IN`` for
  the batch), with the same concurrency.

Reported: medians, the spread of the repeats (max - min, relative to the median) and the
ratio of the gateway's time per subject to the baseline's - the number that survives a
noisy machine. Aims (issue): at least 1,500 single checks/s per worker and a 1,000-subject
batch under 100 ms. Rate limits and quotas are switched off (0) so the bench measures
speed, not limits.

Writes ``bench/results/check.json`` and ``bench/results/check.md`` (or into ``--out``),
prints the Markdown table; exits non-zero when the audit chain does not verify (a missed aim is a
✗ in the table, not a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.figures import RESULTS, Figure, machine
from bench.harness import build, demo_headers, elapsed_ms, rate, running_gateway, settings_for, spread
from gateway.runtime import make_engine

SINGLE_AIM = 1_500.0  # single checks per second per worker
BATCH_AIM_MS = 100.0  # one 1,000-subject batch
APPLICATION, PURPOSE = "mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"
SINGLE = 'query($id: ID!, $c: PersonClaims!) { checkPerson(idNumber: $id, claims: $c) { results { field outcome } } }'
BATCH = 'query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { field outcome } } }'
LOOKUP = text("SELECT name, mobile FROM person_basic WHERE id_number = :k")
LOOKUP_MANY = text("SELECT id_number, name, mobile FROM person_basic WHERE id_number IN :ks").bindparams(
    bindparam("ks", expanding=True))

Subject = tuple[str, str, str]  # id number, name, mobile


@dataclass(frozen=True)
class Row:
    measure: str
    unit: str  # "checks/s" (higher is better) or "ms" (lower is better)
    median: float
    spread: float  # (max - min) / median of the repeats
    baseline: float  # the bare lookup's median, same unit
    ratio: float  # gateway time per subject / baseline time per subject
    aim: float | None

    @property
    def meets_aim(self) -> bool | None:
        if self.aim is None:
            return None
        return self.median >= self.aim if self.unit == "checks/s" else self.median < self.aim


@dataclass(frozen=True)
class Report:
    persons: int
    seconds: float
    repeats: int
    concurrency: int
    batch_size: int
    batches: int
    rows: list[Row]
    transport_per_second: float  # GET /healthz through the same client: the floor of any request
    audit_records: int
    audit_commits: int
    audit_verified: bool


async def _subjects(engine: AsyncEngine, limit: int) -> list[Subject]:
    query = text("SELECT id_number, name, mobile FROM person_basic WHERE name IS NOT NULL AND mobile IS NOT NULL "
                 "ORDER BY row_id LIMIT :n")
    async with engine.connect() as conn:
        return [(r.id_number, r.name, r.mobile) for r in await conn.execute(query, {"n": limit})]


class _Calls:
    """The measured calls: through the gateway, and the bare lookups of the baseline."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], engine: AsyncEngine,
                 subjects: list[Subject]) -> None:
        self.client, self.headers, self.engine, self.subjects = client, headers, engine, subjects

    def _subject(self, i: int) -> Subject:
        return self.subjects[i % len(self.subjects)]

    async def _post(self, query: str, variables: dict[str, Any]) -> None:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables},
                                          headers=self.headers)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise RuntimeError(f"the gateway refused a bench request: {response.status_code} {response.text[:300]}")

    async def check(self, i: int) -> None:
        key, name, mobile = self._subject(i)
        await self._post(SINGLE, {"id": key, "c": {"name": name, "mobile": mobile}})

    async def lookup(self, i: int) -> None:
        async with self.engine.connect() as conn:
            (await conn.execute(LOOKUP, {"k": self._subject(i)[0]})).one()

    async def check_batch(self, size: int) -> None:
        items = [{"idNumber": k, "claims": {"name": n, "mobile": m}} for k, n, m in self.subjects[:size]]
        await self._post(BATCH, {"items": items})

    async def lookup_batch(self, size: int) -> None:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(LOOKUP_MANY, {"ks": [s[0] for s in self.subjects[:size]]})).all()
        assert len(rows) == size

    async def healthz(self, _i: int) -> None:
        (await self.client.get("/healthz")).raise_for_status()


def _rate_row(measure: str, gateway: list[float], baseline: list[float], aim: float | None) -> Row:
    median, base = statistics.median(gateway), statistics.median(baseline)
    return Row(measure, "checks/s", median, spread(gateway), base, base / median, aim)


def _time_row(measure: str, gateway: list[float], baseline: list[float], aim: float | None) -> Row:
    median, base = statistics.median(gateway), statistics.median(baseline)
    return Row(measure, "ms", median, spread(gateway), base, median / base, aim)


async def run(data_dir: Path, *, seconds: float = 2.0, repeats: int = 5, concurrency: int = 16, batch: int = 1000,
              batches: int = 7, profile: int = 0) -> tuple[Report, str]:
    """Measure the demo in `data_dir`: the report, and the profile's text when `profile` > 0
    (that many single checks, then one batch, under cProfile)."""
    settings = settings_for(data_dir)
    headers = demo_headers(settings, APPLICATION, PURPOSE)
    engine = make_engine(settings.library_urls["population"])
    try:
        async with engine.connect() as conn:
            persons = (await conn.execute(text("SELECT count(*) FROM person_basic"))).scalar_one()
        subjects = await _subjects(engine, max(batch, 1000))
        batch = min(batch, len(subjects))
        async with running_gateway(settings) as (client, runtime):
            calls = _Calls(client, headers, engine, subjects)
            for i in range(20):  # warm the document cache, the pools and the planner
                await calls.check(i)
                await calls.lookup(i)
            await calls.check_batch(batch)
            await calls.lookup_batch(batch)
            records_before, commits_before = (await runtime.audit.verify()).records, runtime.audit.commits
            rows, floor = await _measure(calls, seconds, repeats, concurrency, batch, batches)
            audit = await runtime.audit.verify()
            report = Report(persons, seconds, repeats, concurrency, batch, batches, rows, floor,
                            audit_records=audit.records - records_before,
                            audit_commits=runtime.audit.commits - commits_before,
                            audit_verified=audit.first_bad is None)
            profiled = await _profile(calls, profile, batch) if profile else ""
    finally:
        await engine.dispose()
    return report, profiled


async def _measure(calls: _Calls, seconds: float, repeats: int, concurrency: int, batch: int,
                   batches: int) -> tuple[list[Row], float]:
    """The rows of the table, and the floor (GET /healthz per second)."""
    series: dict[str, list[float]] = {k: [] for k in ("seq", "seq0", "con", "con0", "batch", "batch0", "floor")}
    for _ in range(repeats):  # interleaved, so a slow moment of the machine hits both sides
        series["seq0"].append(await rate(calls.lookup, seconds, 1))
        series["seq"].append(await rate(calls.check, seconds, 1))
        series["con0"].append(await rate(calls.lookup, seconds, concurrency))
        series["con"].append(await rate(calls.check, seconds, concurrency))
        series["floor"].append(await rate(calls.healthz, seconds / 4, 1))
    for _ in range(batches):
        series["batch0"].append(await elapsed_ms(lambda: calls.lookup_batch(batch)))
        series["batch"].append(await elapsed_ms(lambda: calls.check_batch(batch)))
    rows = [
        _rate_row("single check, one at a time", series["seq"], series["seq0"], SINGLE_AIM),
        _rate_row(f"single check, {concurrency} in flight", series["con"], series["con0"], SINGLE_AIM),
        _time_row(f"batch of {batch:,} subjects", series["batch"], series["batch0"],
                  BATCH_AIM_MS if batch >= 1000 else None),
    ]
    return rows, statistics.median(series["floor"])


async def _profile(calls: _Calls, count: int, batch: int) -> str:
    """cProfile over `count` sequential single checks, then over one batch: own time by package,
    then the busiest functions. Only the event loop's thread is seen: SQLite itself runs in
    aiosqlite's threads and shows up as time waiting in the selector (epoll)."""
    singles = cProfile.Profile()
    singles.enable()
    for i in range(count):
        await calls.check(i)
    singles.disable()
    batches = cProfile.Profile()
    batches.enable()
    await calls.check_batch(batch)
    batches.disable()
    return (_by_package(singles, count, f"{count:,} single checks, one at a time", "check") + "\n"
            + _by_package(batches, 1, f"one batch of {batch:,} subjects", "batch"))


def _by_package(profiler: cProfile.Profile, count: int, title: str, unit: str) -> str:
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = {}
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in entries.items():
        package = _package(filename, function)
        by_package[package] = by_package.get(package, 0.0) + own
    total = sum(by_package.values())
    lines = [f"Own time by package over {title} (cProfile: {total * 1000 / count:.2f} ms per {unit}, "
             "inflated by the profiler's overhead):", ""]
    for package, own in sorted(by_package.items(), key=lambda item: -item[1])[:20]:
        lines.append(f"  {own / total:6.1%}  {own * 1000 / count:8.3f} ms  {package}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(20)
    return "\n".join(lines) + "\n" + out.getvalue()


def _package(filename: str, function: str) -> str:
    """`…/site-packages/sqlalchemy/engine/base.py` → sqlalchemy; the project's modules by folder;
    the standard library by module; C methods by their type's module (the selector's wait apart)."""
    if filename == "~":
        if "epoll" in function:
            return "(waiting in epoll: threads' SQLite work, fsync)"
        owner = function.split(" of '")[-1].split(".")[0].strip("'>") if " of '" in function else "builtins"
        return {"_queue": "queue (aiosqlite hand-offs)", "_socket": "socket (loop wake-ups)"}.get(owner, owner)
    path = Path(filename)
    if "site-packages" in path.parts:
        return path.parts[path.parts.index("site-packages") + 1].split(".")[0].removeprefix("_")
    root = Path(__file__).resolve().parent.parent
    if path.is_relative_to(root):
        return f"{path.relative_to(root).parts[0]}/ (project)"
    return f"stdlib {path.parent.name if path.parent.name not in ('lib', 'python3.11') else path.stem}"


def _number(row: Row, value: float) -> str:
    return f"{value:,.0f}" if row.unit == "checks/s" else f"{value:,.1f} ms"


def figure(row: Row) -> Figure:
    aim = "—" if row.aim is None else (f"≥ {row.aim:,.0f}/s" if row.unit == "checks/s" else f"< {row.aim:,.0f} ms")
    unit = "/s" if row.unit == "checks/s" else ""
    return Figure("6. Data check", row.measure, f"{_number(row, row.median)}{unit}", aim, row.meets_aim,
                  f"±{row.spread:.0%}; {row.ratio:,.1f}× the bare keyed read ({_number(row, row.baseline)}{unit})")


def markdown(report: Report) -> str:
    lines = [
        f"Demo of {report.persons:,} persons on SQLite; {report.seconds:g} s windows, median of {report.repeats} "
        f"repeats (batches: median of {report.batches}); audit on. Baseline = the same columns read by key with "
        "SQLAlchemy async from the same file, same concurrency; × baseline = gateway time per subject / baseline's.",
        "",
        "| Measure | gateway | spread | baseline | × baseline | aim |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        if row.aim is None:
            aim = "—"
        else:
            target = f"≥ {row.aim:,.0f}/s" if row.unit == "checks/s" else f"< {row.aim:,.0f} ms"
            aim = f"{target} {'✓' if row.meets_aim else '✗'}"
        unit = "/s" if row.unit == "checks/s" else ""
        lines.append(f"| {row.measure} | {_number(row, row.median)}{unit} | ±{row.spread:.0%} | "
                     f"{_number(row, row.baseline)}{unit} | {row.ratio:,.1f} | {aim} |")
    group = report.audit_records / report.audit_commits if report.audit_commits else 0.0
    lines += [
        "",
        f"Floor of any request through the in-process client (GET /healthz): {report.transport_per_second:,.0f}/s.",
        f"Audit: {report.audit_records:,} records in {report.audit_commits:,} transactions during the run "
        f"({group:,.1f} records per commit); the chain {'verifies' if report.audit_verified else 'DOES NOT verify'}.",
    ]
    return "\n".join(lines) + "\n"


def write(report: Report, out: Path) -> str:
    """Write the JSON and Markdown results into `out`; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(report)
    document = {
        "benchmark": "check",
        **{k: v for k, v in asdict(report).items() if k != "rows"},
        "machine": machine(),
        "aims": {"single_checks_per_second": SINGLE_AIM, "batch_of_1000_ms": BATCH_AIM_MS},
        "results": [{**asdict(row), "meets_aim": row.meets_aim} for row in report.rows],
        "figures": [figure(row).as_json() for row in report.rows],
    }
    (out / "check.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "check.md").write_text("# Data-check throughput\n\n" + table, encoding="utf-8")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=2000, help="persons in the demo (default 2000)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed window (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median counts (default 5)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--batch", type=int, default=1000, help="subjects in one checkPersons batch (default 1000)")
    parser.add_argument("--batches", type=int, default=7, help="timed batches; the median counts (default 7)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N sequential single checks and print the top functions")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for check.json and check.md")
    parser.add_argument("--quick", action="store_true", help="0.5 s windows, 3 repeats, 3 batches")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats, args.batches = 0.5, 3, 3
    with tempfile.TemporaryDirectory(prefix="bench-check-") as directory:
        build(Path(directory), args.persons)
        report, profiled = asyncio.run(run(Path(directory), seconds=args.seconds, repeats=args.repeats,
                                           concurrency=args.concurrency, batch=args.batch, batches=args.batches,
                                           profile=args.profile))
    print(write(report, args.out), end="")
    if profiled:
        print("\n" + profiled)
    missed = [row.measure for row in report.rows if row.meets_aim is False]
    if missed:
        print(f"\nbelow the aim: {', '.join(missed)}")
    if not report.audit_verified:
        print("\nthe audit chain does not verify")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
