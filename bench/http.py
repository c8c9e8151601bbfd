"""HTTP throughput and latency of the real gateway at 50 connections, against a floor endpoint.

Run from the repository root::

    .venv/bin/python -m bench.http                 # 2,000 persons, 3 s windows, median of 5 repeats, SQLite and PostgreSQL
    .venv/bin/python -m bench.http --quick         # 1 s windows, 3 repeats: well under a minute per database
    .venv/bin/python -m bench.http --database sqlite --profile 10   # one half; then 10 s of py-spy on the gateway

Two servers run side by side over the same demo data directory, one uvicorn process each, with the
same uvicorn options: the gateway (``python -m gateway serve``, scripts/served.py; rate limits,
quotas and cost budget off) and the floor (bench/floor.py: a bare Starlette + SQLAlchemy Core
handler that runs the statement the gateway runs and returns the same values as JSON). The request
is a keyed read, ``person(idNumber: $id) { name gender ethnicity birthPlaceCode }`` for
application scjg-licensing, purpose ADMINISTRATIVE_BASIS: four unconditional (无条件共享) fields of
one library, served raw, so that both sides issue one identical SELECT; the subject varies over the
demo's persons. Before measuring, both sides must give the same answers for a sample of subjects.

What the gateway does and the floor does not, which is what the ratio prices: the token, operator
and purpose checks (实名, 使用用途); parsing, validating and measuring the GraphQL document (cached by
text) and executing it; the planner's decision for each field; the per-request DataLoader; the
masking pass and ``extensions.masked``; and the audit record, hash-chained and committed before
the answer leaves.

The load is bench/loadgen.py (raw asyncio HTTP/1.1 on keep-alive connections) at ``--concurrency``
connections, only one server loaded at a time, after a warm-up of each; the repeats interleave the
gateway, the floor and the client's ceiling (the floor's ``POST /constant``: a constant JSON, no
database), alternating their order. Reported: throughput (median of the repeats and spread =
(max - min) / median), p50 and p99 latency (medians of the windows'), the ratio gateway / floor of
throughput, and floor / ceiling: how close the floor comes to what this client can drive at all;
and the CPU time each request costs (user + system, from /proc) of the server process, all its
threads, and on PostgreSQL of the database server's processes: on a small shared machine, where a
server seldom has a core to itself, that is steadier than the throughput.

Aim (issue): the gateway at least 0.7x the floor's throughput, on SQLite and on PostgreSQL. The
PostgreSQL half is skipped, saying why, when no server answers (bench/pgdemo.py).

``--profile SECONDS`` then loads the gateway once more under py-spy (the ``bench`` extra), keeps
the collapsed stacks in the temporary directory and prints where the gateway spends its time per
request: by thread, own time by package and by function, inclusive time of the project's functions.

Writes ``bench/results/http.json`` and ``bench/results/http.md`` (or into ``--out``) and prints the
Markdown. Exits 1 only when the run went wrong: different answers, error responses, a server that
does not start; a missed aim is a figure with met=False.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import pgdemo
from bench.cpu import cpu_seconds, postgres_cpu, used_since
from bench.figures import RESULTS, Figure, machine, table
from bench.floor import QUERY
from bench.harness import build, demo_headers, settings_for, spread
from bench.loadgen import Connection, Load, drive, header_block
from scripts.served import (
    ROOT,
    free_port,
    server_env,
    start_server,
    stop_server,
    stopped_by_sigterm,
    wait_ready,
    write_results,
)

ITEM = "2. HTTP throughput"  # as bench/__main__.py names the item
AIM = 0.7  # gateway throughput / floor throughput
APPLICATION, PURPOSE = "scjg-licensing", "ADMINISTRATIVE_BASIS"
SAMPLE = 25  # subjects whose answers both sides must agree on
SIDES = ("gateway", "floor", "ceiling")
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class RunFailed(Exception):
    """The run itself went wrong (not a missed aim)."""


@dataclass(frozen=True)
class Target:
    """One thing to load: a server's process, port and path, and what each request carries."""

    name: str
    pid: int
    port: int
    path: str
    head: bytes
    bodies: list[bytes]
    check: Callable[[bytes], bool] | None = None

    def body(self, n: int) -> bytes:
        return self.bodies[n % len(self.bodies)]

    async def load(self, seconds: float, concurrency: int, database: bool = False) -> Window:
        """`seconds` of load; with `database`, the PostgreSQL server's CPU is counted too."""
        cpu, database_cpu = cpu_seconds(self.pid), postgres_cpu() if database else {}
        load = await drive("127.0.0.1", self.port, self.path, self.head, self.body, concurrency=concurrency,
                           seconds=seconds, check=self.check)
        if load.failures:
            raise RunFailed(f"{self.name}: {load.failures} failed requests, the first: {load.first_failure}")
        used = used_since(database_cpu, postgres_cpu()) if database else None
        return Window(load, cpu_seconds(self.pid) - cpu, used)


@dataclass(frozen=True)
class Window:
    """What one window of load saw: the client's view, and the CPU the server (and the database
    server, when counted) used meanwhile, all threads and processes: on a shared machine, where a
    server does not get a core to itself, the CPU a request costs is steadier than the throughput."""

    load: Load
    server_cpu: float  # seconds
    database_cpu: float | None  # seconds, or None when not counted (SQLite: in the server process)

    def per_request(self, seconds: float) -> float:
        return seconds * 1000 / max(self.load.requests, 1)


@dataclass
class Side:
    """The windows of one target: throughput and latency percentiles, one value per repeat."""

    throughput: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # server CPU per request
    database_cpu_ms: list[float] = field(default_factory=list)  # PostgreSQL's CPU per request
    requests: int = 0

    def add(self, window: Window) -> None:
        load = window.load
        self.throughput.append(load.throughput)
        self.p50_ms.append(load.p(0.50))
        self.p99_ms.append(load.p(0.99))
        self.cpu_ms.append(window.per_request(window.server_cpu))
        if window.database_cpu is not None:
            self.database_cpu_ms.append(window.per_request(window.database_cpu))
        self.requests += load.requests

    @property
    def median(self) -> float:
        return statistics.median(self.throughput)

    def summary(self) -> dict[str, Any]:
        return {"throughput": self.median, "spread": spread(self.throughput), "p50_ms": statistics.median(self.p50_ms),
                "p99_ms": statistics.median(self.p99_ms), "cpu_ms": statistics.median(self.cpu_ms),
                "database_cpu_ms": statistics.median(self.database_cpu_ms) if self.database_cpu_ms else None,
                "requests": self.requests, "windows": self.throughput}


@dataclass
class Measured:
    """One database's result."""

    sides: dict[str, Side]
    answers_checked: int
    profile: str = ""

    @property
    def ratio(self) -> float:
        return self.sides["gateway"].median / self.sides["floor"].median

    @property
    def floor_of_ceiling(self) -> float:
        return self.sides["floor"].median / self.sides["ceiling"].median


@dataclass(frozen=True)
class Options:
    persons: int
    seconds: float
    repeats: int
    warmup: float
    concurrency: int
    profile: float  # seconds of py-spy on the gateway; 0: none


# --- the servers ---------------------------------------------------------------------------------

def start_floor(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bench.floor", "--data-dir", str(data_dir), "--port", str(port)]
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=ROOT, env=server_env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


class Server(NamedTuple):
    port: int
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[dict[str, Server]]:
    """The gateway and the floor over `data_dir`, both ready, by name."""
    starters = {"gateway": start_server, "floor": start_floor}
    running: dict[str, Server] = {}
    try:
        for name, start in starters.items():
            port = free_port()
            running[name] = Server(port, start(data_dir, port, data_dir / f"{name}.log"))
        for name, (port, process) in running.items():
            wait_ready(f"http://127.0.0.1:{port}", process, data_dir / f"{name}.log")
        yield running
    finally:
        for server in running.values():
            stop_server(server.process)


@contextlib.contextmanager
def demo(database: str, data_dir: Path, persons: int) -> Iterator[None]:
    if database == "postgresql":
        with pgdemo.postgres_demo(data_dir, persons):
            yield
    else:
        build(data_dir, persons)
        yield


# --- the requests --------------------------------------------------------------------------------

async def subjects(data_dir: Path) -> list[str]:
    engine = create_async_engine(settings_for(data_dir).library_urls["population"])
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text("SELECT id_number FROM person_basic ORDER BY row_id"))).scalars())
    finally:
        await engine.dispose()


def targets(data_dir: Path, running: dict[str, Server], keys: list[str]) -> dict[str, Target]:
    bodies = [json.dumps({"query": QUERY, "variables": {"id": key}}).encode() for key in keys]
    head = header_block(demo_headers(settings_for(data_dir), APPLICATION, PURPOSE))
    gateway, floor = running["gateway"], running["floor"]
    return {
        "gateway": Target("gateway", gateway.pid, gateway.port, "/graphql", head, bodies,
                          check=lambda p: b'"errors"' not in p),
        "floor": Target("floor", floor.pid, floor.port, "/graphql", b"", bodies),
        "ceiling": Target("ceiling (constant JSON)", floor.pid, floor.port, "/constant", b"", [b"{}"]),
    }


async def person(target: Target, body: bytes) -> Any:
    connection = Connection("127.0.0.1", target.port)
    try:
        status, payload = await connection.post(target.path, target.head, body)
    finally:
        await connection.close()
    if status != 200:
        raise RunFailed(f"{target.name} answered {status}: {payload[:300]!r}")
    return json.loads(payload)["data"]["person"]


async def compare_answers(gateway: Target, floor: Target, sample: int) -> int:
    """Both sides' answers for `sample` subjects spread over the demo must be the same person, field by field."""
    bodies = gateway.bodies[::max(1, len(gateway.bodies) // sample)][:sample]
    for body in bodies:
        ours, bare = await person(gateway, body), await person(floor, body)
        if ours != bare or ours is None:
            raise RunFailed(f"different answers for {body!r}: gateway {ours!r}, floor {bare!r}")
    return len(bodies)


# --- the measurement -----------------------------------------------------------------------------

async def measure(loads: dict[str, Target], options: Options, database: str) -> dict[str, Side]:
    on_server = database == "postgresql"  # count the database server's CPU too
    for target in loads.values():
        await target.load(options.warmup, options.concurrency)
    sides = {name: Side() for name in loads}
    for repeat in range(options.repeats):  # interleaved, alternating order: a slow moment hits every side
        order = list(loads) if repeat % 2 == 0 else list(reversed(loads))
        for name in order:
            sides[name].add(await loads[name].load(options.seconds, options.concurrency, on_server))
            print(f"  {DATABASES[database]} {name}: {sides[name].throughput[-1]:,.0f}/s", file=sys.stderr, flush=True)
    return sides


async def measure_database(database: str, data_dir: Path, running: dict[str, Server], options: Options) -> Measured:
    loads = targets(data_dir, running, await subjects(data_dir))
    checked = await compare_answers(loads["gateway"], loads["floor"], SAMPLE)
    measured = Measured(await measure(loads, options, database), checked)
    if options.profile:
        raw = Path(tempfile.gettempdir()) / f"bench-http-profile-{database}.txt"
        measured.profile = await profile(loads["gateway"], options, raw)
    return measured


def run_database(database: str, options: Options) -> Measured:
    with tempfile.TemporaryDirectory(prefix=f"bench-http-{database}-") as directory:
        data_dir = Path(directory)
        print(f"{DATABASES[database]}: building the demo ({options.persons:,} persons)", file=sys.stderr, flush=True)
        with demo(database, data_dir, options.persons), serving(data_dir) as running:
            return asyncio.run(measure_database(database, data_dir, running, options))


# --- the profile (py-spy) ------------------------------------------------------------------------

def py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise RunFailed("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


async def profile(gateway: Target, options: Options, raw: Path) -> str:
    """py-spy samples the gateway process while the same load runs, into `raw` (collapsed stacks,
    for a flame graph); the summary as milliseconds per request. Only the thread holding the GIL is
    sampled (--gil): a thread waiting for it would otherwise show wherever it last stopped."""
    rate = 250
    recorder = await asyncio.create_subprocess_exec(
        py_spy(), "record", "--pid", str(gateway.pid), "--duration", f"{options.profile:g}", "--rate", str(rate),
        "--format", "raw", "--gil", "--output", str(raw), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load = (await gateway.load(options.profile, options.concurrency)).load
    if await recorder.wait() != 0 or not raw.exists():
        raise RunFailed("py-spy could not record the gateway (is ptrace allowed here?)")
    return f"Collapsed stacks: {raw}\n" + summarize(raw.read_text(encoding="utf-8"), rate, load.requests)


THREADS = {"_worker": "pool threads (SQLite: library reads, audit inserts)",
           "_connection_worker_thread": "aiosqlite threads (SQLite: the audit store's other work, checkpoints)"}
PROJECT_FOLDERS = ("gateway", "schema", "resolvers", "policies", "masking", "audit", "store", "libraries", "workflow")


@dataclass(frozen=True)
class Frame:
    function: str  # e.g. "execute (graphql/execution/execute.py)": by function, not by line
    package: str  # e.g. "graphql", "project gateway/", "stdlib asyncio"

    @property
    def in_project(self) -> bool:
        return self.package.startswith("project ")


def frame_of(raw: str) -> Frame:
    """A frame of py-spy's collapsed stacks, 'name (path:line)', its path relative to sys.path."""
    name, _, where = raw.partition(" (")
    path = where.rsplit(":", 1)[0].removesuffix(")")
    top = path.split("/", 1)[0].removesuffix(".py")
    if top in PROJECT_FOLDERS:
        package = f"project {top}/"
    elif top in sys.stdlib_module_names:
        package = f"stdlib {top}"
    else:
        package = top.lstrip("_") or name
    return Frame(f"{name} ({path})" if path else name, package)


def summarize(collapsed: str, rate: int, requests: int, top: int = 20) -> str:
    """py-spy's collapsed stacks ("a;b;c count") as CPU milliseconds per request: by thread, own
    time by package and by function, and inclusive time of the project's functions."""
    threads: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    project: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [frame_of(f) for f in stack.split(";")]
        samples = int(count)
        names = {f.function.split(" (", 1)[0] for f in frames}
        threads[next((label for name, label in THREADS.items() if name in names), "event loop thread")] += samples
        packages[frames[-1].package] += samples
        own[frames[-1].function] += samples
        for function in {f.function for f in frames if f.in_project}:
            project[function] += samples
    total = sum(threads.values())
    per_request = 1000 / rate / max(requests, 1)  # CPU ms per request of one sample

    def lines(title: str, counter: Counter[str]) -> list[str]:
        rows = [f"  {n / total:6.1%}  {n * per_request:6.3f} ms  {key}" for key, n in counter.most_common(top)]
        return ["", title, *rows]

    return "\n".join([
        f"py-spy, {total:,} samples holding the GIL at {rate}/s over {requests:,} requests: {total * per_request:.2f} ms "
        "per request (share of samples, ms per request, where):",
        *lines("By thread:", threads), *lines("Own time by package:", packages),
        *lines("Own time by function:", own), *lines("Inclusive time, the project's functions:", project),
    ]) + "\n"


# --- the report ----------------------------------------------------------------------------------

def figures(results: dict[str, Measured | str], concurrency: int) -> list[Figure]:
    out = []
    for database, label in DATABASES.items():
        result = results.get(database)
        if not isinstance(result, Measured):
            out.append(Figure(ITEM, f"{label}: gateway / floor throughput, {concurrency} connections", "skipped",
                              f"≥ {AIM:.2f}×", None, result or "not run"))
            continue
        gateway, floor, ceiling = (result.sides[s] for s in SIDES)
        out.append(Figure(ITEM, f"{label}: gateway / floor throughput, {concurrency} connections",
                          f"{result.ratio:.2f}×", f"≥ {AIM:.2f}×", result.ratio >= AIM,
                          f"{_side(gateway)} vs {_side(floor)}; CPU per request {_cpu(gateway)} vs {_cpu(floor)}"))
        out.append(Figure(ITEM, f"{label}: floor / client ceiling (constant JSON, no database)",
                          f"{result.floor_of_ceiling:.2f}×", "—", None,
                          f"ceiling {ceiling.median:,.0f} req/s ±{spread(ceiling.throughput):.0%}"))
    return out


def _cpu(side: Side) -> str:
    s = side.summary()
    database = "" if s["database_cpu_ms"] is None else f" + PostgreSQL {s['database_cpu_ms']:.2f} ms"
    return f"{s['cpu_ms']:.2f} ms{database}"


def _side(side: Side) -> str:
    s = side.summary()
    return f"{s['throughput']:,.0f} req/s ±{s['spread']:.0%} (p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms)"


def markdown(results: dict[str, Measured | str], options: Options, figs: list[Figure]) -> str:
    lines = [
        "# HTTP throughput and latency", "",
        f"Demo of {options.persons:,} persons; `person(idNumber:)` with four unconditional fields ({APPLICATION}, "
        f"{PURPOSE}), the subject varying; {options.concurrency} connections, {options.seconds:g} s windows, median of "
        f"{options.repeats} repeats interleaved; spread = (max − min) / median; latencies: medians of the windows'. "
        "Floor = bare Starlette + SQLAlchemy Core running the same SQL; ceiling = the floor's constant JSON endpoint "
        "(what the client can drive at all). CPU / request: user + system time over the window of the server process "
        "(all threads) and, on PostgreSQL, of the database server's processes: steadier than throughput on a shared "
        "machine.", "",
        "| Database | Server | req/s | spread | p50 | p99 | CPU / request: server | database | × floor (req/s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for database, label in DATABASES.items():
        result = results.get(database)
        if not isinstance(result, Measured):
            lines.append(f"| {label} | skipped: {result or 'not run'} | | | | | | | |")
            continue
        floor = result.sides["floor"].median
        for name in SIDES:
            s = result.sides[name].summary()
            database_cpu = "—" if s["database_cpu_ms"] is None else f"{s['database_cpu_ms']:.2f} ms"
            lines.append(f"| {label} | {name} | {s['throughput']:,.0f} | ±{s['spread']:.0%} | {s['p50_ms']:.1f} ms | "
                         f"{s['p99_ms']:.1f} ms | {s['cpu_ms']:.2f} ms | {database_cpu} | {s['throughput'] / floor:.2f} |")
    checked = [f"{DATABASES[d]}: {r.answers_checked}" for d, r in results.items() if isinstance(r, Measured)]
    lines += ["", f"Answers compared before measuring (same values on both sides): {', '.join(checked) or 'none'}.",
              "", table(figs)]
    return "\n".join(lines)


def report(results: dict[str, Measured | str], options: Options, figs: list[Figure]) -> dict[str, Any]:
    databases: dict[str, Any] = {}
    for database, result in results.items():
        if isinstance(result, Measured):
            databases[database] = {"ratio": result.ratio, "floor_of_ceiling": result.floor_of_ceiling,
                                   "answers_checked": result.answers_checked,
                                   **{name: side.summary() for name, side in result.sides.items()}}
        else:
            databases[database] = {"skipped": result}
    return {"benchmark": "http", "machine": machine(), "persons": options.persons, "seconds": options.seconds,
            "repeats": options.repeats, "warmup": options.warmup, "concurrency": options.concurrency,
            "request": {"query": QUERY, "application": APPLICATION, "purpose": PURPOSE}, "aim": AIM,
            "databases": databases, "figures": [f.as_json() for f in figs]}


def parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=2000, help="persons in the demo (default 2000)")
    parser.add_argument("--seconds", type=float, help="length of one timed window (default 3; --quick 1)")
    parser.add_argument("--repeats", type=int, help="timed repeats per side; the median counts (default 5; --quick 3)")
    parser.add_argument("--warmup", type=float, help="seconds of load on each side before measuring (default 2; --quick 1)")
    parser.add_argument("--concurrency", type=int, default=50, help="connections kept busy (default 50)")
    parser.add_argument("--quick", action="store_true", help="short windows and few repeats: a noisier run")
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both", help="which half to run (default both)")
    parser.add_argument("--profile", type=float, default=0, metavar="SECONDS",
                        help="after measuring, sample the gateway with py-spy for SECONDS under the same load")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for http.json and http.md")
    args = parser.parse_args(argv)
    quick = args.quick
    options = Options(persons=args.persons, seconds=args.seconds or (1.0 if quick else 3.0),
                      repeats=args.repeats or (3 if quick else 5), warmup=args.warmup or (1.0 if quick else 2.0),
                      concurrency=args.concurrency, profile=args.profile)
    return args, options


def main(argv: Sequence[str] | None = None) -> int:
    args, options = parse(argv)
    results: dict[str, Measured | str] = {}
    try:
        with stopped_by_sigterm():
            for database in DATABASES if args.database == "both" else [args.database]:
                unreachable = pgdemo.unreachable_reason() if database == "postgresql" else None
                results[database] = unreachable or run_database(database, options)
    except (RunFailed, RuntimeError) as failed:  # RuntimeError: a server that did not start (scripts/served.py)
        print(f"bench.http: {failed}", file=sys.stderr)
        return 1
    figs = figures(results, options.concurrency)
    text_ = markdown(results, options, figs)
    write_results("http", report(results, options, figs), text_, args.out)
    print(text_)
    for database, result in results.items():
        if isinstance(result, Measured) and result.profile:
            print(f"\n{DATABASES[database]}: where the gateway spends its time\n\n{result.profile}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
