"""Peer: the gateway against PostGraphile over the same PostgreSQL data, with an equivalent query.

Run from the repository root::

    .venv/bin/python -m bench.peer                 # 2,000 persons, 5 s windows, 5 repeats per side, 50 connections
    .venv/bin/python -m bench.peer --quick         # 500 persons, 2 s windows, 2 repeats: shorter, noisier

The demo is built into throw-away PostgreSQL databases (bench/pgdemo.py). Two servers run side by
side, each one process: the gateway (`python -m gateway serve` over that data directory, limits
off as in scripts/served.py) and PostGraphile 4 (`postgraphile` from npm, pinned in
bench/peer/package.json and its lockfile, installed with `npm ci` the first time) on the
population library's database, with the options its documentation recommends for production
that bear on serving: no query log, no GraphiQL, no watch, `--no-ignore-rbac`, `--dynamic-json`,
`--no-setof-functions-contain-nulls`, `--legacy-relations omit`; its default pool of 10 connections.

The query: one person by ID number, six population fields (name, gender, ethnicity, birth date,
mobile, address).

- gateway: `person(idNumber: $id) { … }` as `mz-assistance` for `SOCIAL_ASSISTANCE_REVIEW`, whose
  grant G-MZ-0001 lets it read every one of those fields raw;
- PostGraphile: `allPersonBasics(condition: {idNumber: $id}, first: 1) { nodes { … } }`. The demo's
  `person_basic` has a unique index on `id_number`, not a unique constraint, and PostGraphile 4
  only derives a `…ByIdNumber` lookup from a constraint; the condition is its lookup by that
  index.

Before timing, both servers are asked about a sample of subjects (`--verify`) and must answer the
same values (and the gateway nothing masked); a difference fails the run. Then, after a warm-up,
`bench.loadgen.drive` keeps `--concurrency` keep-alive connections busy against one server at a
time (both stay up), alternating which goes first, over every person of the demo in turn. Any
answer other than a 200 without errors fails the run. It reports throughput (median of the
repeats, spread ± (max − min) / median), the medians of the windows' p50 and p99 latency, the
ratio gateway / PostGraphile of the median throughputs, and the CPU time per request (from /proc)
of the server process and of the whole PostgreSQL server (on this machine): on a small
shared machine the CPU a request costs is steadier than the throughput, and the database's share
shows the round trips each side makes.

Aim (issue, item 3): the gateway at least 1.0× PostGraphile's throughput. It does more per
request than PostGraphile does: it authenticates the application token, the real-name operator
and the purpose; decides every field through the planner over the Casbin policy and the grants in
force (PostGraphile, without a JWT or row-level security, reads whatever the connecting role may);
would mask or deny fields per purpose and grant (here all six are raw by grant, but the plan is
still made); and commits a hash-chained, signed audit record of the request (in the SQLite audit
store of the data directory) before the answer leaves. PostGraphile logs nothing per request.

Writes `bench/results/peer.json` and `bench/results/peer.md`. When node, npm or the PostgreSQL
server are missing, the figure is reported as not measured and the run exits 0; it exits 1 only
when the run itself went wrong (different answers, an error answer, a server that would not start).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.cpu import cpu_seconds, postgres_cpu, used_since
from bench.figures import RESULTS, Figure, machine, table
from bench.harness import demo_headers, settings_for
from bench.loadgen import Load, drive, header_block
from bench.pgdemo import postgres_demo, unreachable_reason, url_of
from scripts.served import free_port, start_server, stop_server, stopped_by_sigterm, wait_ready, write_results

PEER_DIR = Path(__file__).resolve().parent / "peer"
PEER_CLI = PEER_DIR / "node_modules" / "postgraphile" / "cli.js"
PEER_OPTIONS = ("--disable-query-log", "--disable-graphiql", "--no-ignore-rbac", "--dynamic-json",
                "--no-setof-functions-contain-nulls", "--legacy-relations", "omit")
NPM_TIMEOUT = 600.0
READY_TIMEOUT = 60.0

ITEM = "3. Peer: PostGraphile"
AIM = 1.0  # gateway throughput / PostGraphile throughput
APPLICATION, PURPOSE = "mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"
FIELDS = ("name", "gender", "ethnicity", "birthDate", "mobile", "address")
GATEWAY_QUERY = "query($id: ID!) { person(idNumber: $id) { %s } }" % " ".join(FIELDS)
PEER_QUERY = ("query($id: String!) { allPersonBasics(condition: {idNumber: $id}, first: 1) { nodes { %s } } }"
              % " ".join(FIELDS))


@dataclass(frozen=True)
class Side:
    """One server under test: where it listens, what it is asked, and how to read its answer."""

    name: str
    port: int
    pid: int
    headers: dict[str, str]  # beyond Content-Type
    query: str
    person: Callable[[dict[str, Any]], dict[str, Any] | None]  # the fields of a decoded answer; None: not one person

    @property
    def head(self) -> bytes:
        return header_block(self.headers)

    def body(self, id_number: str) -> bytes:
        return json.dumps({"query": self.query, "variables": {"id": id_number}}, ensure_ascii=False).encode()


def gateway_person(answer: dict[str, Any]) -> dict[str, Any] | None:
    extensions = answer.get("extensions") or {}
    if answer.get("errors") or extensions.get("masked"):
        return None
    return (answer.get("data") or {}).get("person")


def peer_person(answer: dict[str, Any]) -> dict[str, Any] | None:
    if answer.get("errors"):
        return None
    nodes = ((answer.get("data") or {}).get("allPersonBasics") or {}).get("nodes") or []
    return nodes[0] if len(nodes) == 1 else None


@dataclass
class Window:
    """One timed window against one side."""

    side: str
    throughput: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float  # the server process's CPU time (all its threads) per answered request
    database_cpu_ms_per_request: float  # the PostgreSQL server's, all its processes
    requests: int
    failures: int
    first_failure: str | None


@dataclass
class Summary:
    side: str
    throughput: float  # median of the windows
    spread: float
    p50_ms: float  # median of the windows' p50
    p99_ms: float
    cpu_ms_per_request: float
    database_cpu_ms_per_request: float
    throughputs: list[float] = field(default_factory=list)


# --- the peer: node, npm and PostGraphile -------------------------------------------------------------------------

def peer_missing() -> str | None:
    """None when PostGraphile can run here (installing it from the lockfile if needed), else why not."""
    if shutil.which("node") is None:
        return "node is not installed (PostGraphile needs Node.js)"
    if PEER_CLI.exists():
        return None
    if shutil.which("npm") is None:
        return f"PostGraphile is not installed in {PEER_DIR / 'node_modules'} and npm is not available to install it"
    print(f"installing PostGraphile: npm ci --prefix {PEER_DIR}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(["npm", "ci", "--prefix", str(PEER_DIR), "--no-audit", "--no-fund"], capture_output=True,
                              text=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"npm ci did not finish within {NPM_TIMEOUT:.0f} s"
    if done.returncode != 0 or not PEER_CLI.exists():
        return f"npm ci failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}"
    return None


def peer_version() -> str:
    return json.loads((PEER_CLI.parent / "package.json").read_text(encoding="utf-8"))["version"]


def start_peer(database: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    connection = url_of(database, driver="postgres")
    command = ["node", str(PEER_CLI), "--connection", connection, "--host", "127.0.0.1", "--port", str(port),
               *PEER_OPTIONS]
    env = {**os.environ, "NODE_ENV": "production"}
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=PEER_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def wait_peer_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """PostGraphile has no health route: ready when a trivial query answers."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"PostGraphile exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.post(f"{base_url}/graphql", json={"query": "{ __typename }"}, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"PostGraphile was not ready within {READY_TIMEOUT:.0f} s:\n{log_path.read_text(errors='replace')}")


# --- data and equivalence -----------------------------------------------------------------------------------------

async def id_numbers(database: str) -> list[str]:
    """Every person of the demo, in table order: both sides are asked about the same rows."""
    engine = create_async_engine(url_of(database))
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text("SELECT id_number FROM person_basic ORDER BY row_id"))).scalars())
    finally:
        await engine.dispose()


def gateway_headers(data_dir: Path) -> dict[str, str]:
    return demo_headers(settings_for(data_dir), APPLICATION, PURPOSE)


async def fields_of(client: httpx.AsyncClient, side: Side, id_number: str) -> dict[str, Any] | str:
    """The person's fields as `side` answers them, or what was wrong with its answer."""
    response = await client.post(f"http://127.0.0.1:{side.port}/graphql", content=side.body(id_number),
                                 headers={"Content-Type": "application/json", **side.headers})
    try:
        person = side.person(response.json()) if response.status_code == 200 else None
    except ValueError:
        person = None
    if person is None:
        return f"{side.name} about {id_number}: {response.status_code} {response.text[:300]}"
    return {k: person.get(k) for k in FIELDS}


async def differences(sides: Sequence[Side], subjects: Sequence[str]) -> list[str]:
    """What differs between the sides' answers about each subject (empty: they all agree)."""
    found = []
    async with httpx.AsyncClient(timeout=30.0) as client:
        for id_number in subjects:
            answers = {side.name: await fields_of(client, side, id_number) for side in sides}
            found += [wrong for wrong in answers.values() if isinstance(wrong, str)]
            values = [v for v in answers.values() if isinstance(v, dict)]
            if any(v != values[0] for v in values):
                found.append(f"{id_number}: {answers}")
    return found


def evenly(items: Sequence[str], count: int) -> list[str]:
    step = max(1, len(items) // max(1, count))
    return list(items[::step][:count])


# --- load -------------------------------------------------------------------------------------------------------

def no_errors(payload: bytes) -> bool:
    return b'"errors"' not in payload


async def window(side: Side, subjects: Sequence[str], concurrency: int, seconds: float) -> Window:
    bodies = [side.body(s) for s in subjects]
    cpu_before, database_before = cpu_seconds(side.pid), postgres_cpu()
    load: Load = await drive("127.0.0.1", side.port, "/graphql", side.head, lambda n: bodies[n % len(bodies)],
                             concurrency=concurrency, seconds=seconds, check=no_errors)
    cpu, database_cpu = cpu_seconds(side.pid) - cpu_before, used_since(database_before, postgres_cpu())
    per_request = 1000 / max(1, load.requests)
    return Window(side.name, load.throughput, load.p(0.50), load.p(0.99), cpu * per_request, database_cpu * per_request,
                  load.requests, load.failures, load.first_failure)


async def measure(sides: Sequence[Side], subjects: Sequence[str], *, concurrency: int, seconds: float, warmup: float,
                  repeats: int) -> list[Window]:
    for side in sides:
        await window(side, subjects, concurrency, warmup)
    windows = []
    for repeat in range(repeats):  # alternate which side goes first, so that a drift hits both alike
        for side in sides if repeat % 2 == 0 else reversed(sides):
            windows.append(await window(side, subjects, concurrency, seconds))
            print(f"  {side.name}: {windows[-1].throughput:,.0f}/s", file=sys.stderr, flush=True)
    return windows


def summarize(name: str, windows: Sequence[Window]) -> Summary:
    mine = [w for w in windows if w.side == name]
    throughputs = [w.throughput for w in mine]
    median = statistics.median(throughputs)
    return Summary(name, median, (max(throughputs) - min(throughputs)) / median if median else 0.0,
                   statistics.median(w.p50_ms for w in mine), statistics.median(w.p99_ms for w in mine),
                   statistics.median(w.cpu_ms_per_request for w in mine),
                   statistics.median(w.database_cpu_ms_per_request for w in mine), throughputs)


# --- report -----------------------------------------------------------------------------------------------------

def figures(gateway: Summary, peer: Summary, concurrency: int) -> list[Figure]:
    ratio = gateway.throughput / peer.throughput if peer.throughput else 0.0
    return [
        Figure(ITEM, f"throughput, person by ID number (6 fields), {concurrency} connections", f"{ratio:.2f}×",
               f"≥ {AIM:.1f}×", ratio >= AIM, f"gateway {gateway.throughput:,.0f}/s ±{gateway.spread:.0%} vs "
               f"PostGraphile {peer.throughput:,.0f}/s ±{peer.spread:.0%}"),
        Figure(ITEM, f"latency p50 / p99, {concurrency} connections", f"{gateway.p50_ms:.1f} / {gateway.p99_ms:.1f} ms",
               "—", None, f"PostGraphile {peer.p50_ms:.1f} / {peer.p99_ms:.1f} ms"),
        Figure(ITEM, "CPU time per request: server + PostgreSQL", cpu_text(gateway), "—", None,
               f"PostGraphile {cpu_text(peer)}"),
    ]


def cpu_text(summary: Summary) -> str:
    return f"{summary.cpu_ms_per_request:.2f} + {summary.database_cpu_ms_per_request:.2f} ms"


def not_measured(why: str) -> list[Figure]:
    return [Figure(ITEM, "throughput, person by ID number (6 fields)", "not measured", f"≥ {AIM:.1f}×", None, why)]


def markdown(summaries: Sequence[Summary], found: list[Figure], setup: str) -> str:
    lines = ["# Peer: PostGraphile", "", setup, ""]
    if summaries:
        lines += ["| Server | requests/s | spread | p50 | p99 | CPU per request: server + PostgreSQL |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {s.side} | {s.throughput:,.0f} | ±{s.spread:.0%} | {s.p50_ms:.1f} ms | {s.p99_ms:.1f} ms "
                  f"| {cpu_text(s)} |" for s in summaries]
        lines.append("")
    return "\n".join(lines) + "\n" + table(found)


def describe(args: argparse.Namespace, version: str, verified: int) -> str:
    return (f"Demo of {args.persons:,} persons on PostgreSQL; `person(idNumber:)` with six population fields as "
            f"{APPLICATION} / {PURPOSE} (all raw by grant, audit on) against PostGraphile {version}'s "
            f"`allPersonBasics(condition: {{idNumber}}, first: 1)`; both one process; {args.concurrency} connections, "
            f"{args.seconds:g} s windows, {args.repeats} repeats per side, alternating; both answered alike for "
            f"{verified} subjects. CPU per request: the server process (all threads), and the whole PostgreSQL server "
            f"(shared with whatever else runs on this machine).")


def report(args: argparse.Namespace, found: list[Figure], markdown_text: str, **extra: Any) -> None:
    document = {"benchmark": "peer", "machine": machine(), "persons": args.persons, "seconds": args.seconds,
                "repeats": args.repeats, "warmup": args.warmup, "concurrency": args.concurrency,
                "application": APPLICATION, "purpose": PURPOSE, "gatewayQuery": GATEWAY_QUERY, "peerQuery": PEER_QUERY,
                "peerOptions": list(PEER_OPTIONS), **extra, "figures": [f.as_json() for f in found]}
    write_results("peer", document, markdown_text, args.out)
    print(markdown_text, end="")


# --- the run ----------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, data_dir: Path) -> int:
    with postgres_demo(data_dir, args.persons) as databases:
        population = databases["population"]
        subjects = asyncio.run(id_numbers(population))
        gateway_port, peer_port = free_port(), free_port()
        gateway = start_server(data_dir, gateway_port, data_dir / "gateway.log")
        peer = start_peer(population, peer_port, data_dir / "postgraphile.log")
        try:
            wait_ready(f"http://127.0.0.1:{gateway_port}", gateway, data_dir / "gateway.log")
            wait_peer_ready(f"http://127.0.0.1:{peer_port}", peer, data_dir / "postgraphile.log")
            sides = (Side("gateway", gateway_port, gateway.pid, gateway_headers(data_dir), GATEWAY_QUERY, gateway_person),
                     Side("PostGraphile", peer_port, peer.pid, {}, PEER_QUERY, peer_person))
            return compare(args, sides, subjects)
        finally:
            stop_server(gateway)
            stop_server(peer)


def compare(args: argparse.Namespace, sides: Sequence[Side], subjects: list[str]) -> int:
    sample = evenly(subjects, args.verify)
    if found := asyncio.run(differences(sides, sample)):
        print("the two servers did not answer alike:\n" + "\n".join(found[:20]), file=sys.stderr)
        return 1
    windows = asyncio.run(measure(sides, subjects, concurrency=args.concurrency, seconds=args.seconds,
                                  warmup=args.warmup, repeats=args.repeats))
    if failed := [w for w in windows if w.failures]:
        print(f"{failed[0].side} answered {failed[0].failures} requests wrongly: {failed[0].first_failure}",
              file=sys.stderr)
        return 1
    summaries = [summarize(side.name, windows) for side in sides]
    found = figures(*summaries, concurrency=args.concurrency)
    report(args, found, markdown(summaries, found, describe(args, peer_version(), len(sample))),
           peerVersion=peer_version(), verifiedSubjects=len(sample), windows=[asdict(w) for w in windows],
           summaries=[asdict(s) for s in summaries])
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 persons, 2 s windows, 2 repeats, 1 s warm-up")
    parser.add_argument("--persons", type=int, help="persons in the demo (default 2000; quick 500)")
    parser.add_argument("--seconds", type=float, help="length of one timed window (default 5; quick 2)")
    parser.add_argument("--repeats", type=int, help="timed windows per side (default 5; quick 2)")
    parser.add_argument("--warmup", type=float, help="untimed seconds per side first (default 3; quick 1)")
    parser.add_argument("--concurrency", type=int, default=50, help="connections kept busy (default 50)")
    parser.add_argument("--verify", type=int, default=50, help="subjects both sides must answer alike (default 50)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for peer.json and peer.md")
    args = parser.parse_args(argv)
    defaults = (500, 2.0, 2, 1.0) if args.quick else (2000, 5.0, 5, 3.0)
    for name, default in zip(("persons", "seconds", "repeats", "warmup"), defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    why = peer_missing() or unreachable_reason()
    if why:
        found = not_measured(why)
        report(args, found, markdown([], found, f"PostGraphile against the gateway: not measured ({why})."),
               notMeasured=why)
        return 0
    with stopped_by_sigterm(), tempfile.TemporaryDirectory(prefix="bench-peer-") as directory:
        try:
            return run(args, Path(directory))
        except RuntimeError as exc:  # a server that would not start
            print(exc, file=sys.stderr)
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
