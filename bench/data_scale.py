"""Scale of data: the latency a department system sees for keyed lookups and a paginated list,
over the demo at 10,000 and at 1,000,000 persons, in the same run.

Run from the repository root::

    .venv/bin/python -m bench.data_scale              # 10,000 against 1,000,000 persons, 7 repeats
    .venv/bin/python -m bench.data_scale --quick      # 10,000 against 100,000 persons, 3 shorter repeats
    .venv/bin/python -m bench.data_scale --rebuild    # build the cached demos again
    .venv/bin/python -m bench.data_scale --postgres   # the same on PostgreSQL (built every run)

Each demo is built once into ``bench/.cache/demo-<persons>-seed<seed>/`` (about 3 s for 10,000
persons, 6 to 8 minutes for 1,000,000 on the shared 2-core machine) and reused while the code that
builds it is unchanged; the build time is printed. Both gateways run in this process at once
(``create_app`` under its lifespan, ``httpx.ASGITransport``, audit on) and answer one request at a
time, the two scales taking turns request by request so that a slow moment of the machine falls
on both alike. Each repeat times, on each scale:

- keyed lookups ``person(idNumber:)`` of five fields from three libraries (population, social
  security, credit) for random persons of that scale, one in twenty of them absent;
- walks through a filtered, sorted list (``populationRecords(first: 20, where: {gender: …},
  orderBy: [{field: birthPlaceCode, direction: DESC}])``, the soak's list): the first page, then
  the following pages through their cursors.

The application (mz-assistance, purpose SOCIAL_ASSISTANCE_REVIEW) sees every field raw, so the
answers are checked: a looked-up person has the ID number asked (an absent one is null), the pages
are in order, filtered, and hold no row twice. The figure is, per measure, the median over the
repeats of the large scale's median latency / the small scale's; beside it each scale's median of
the repeat medians, their spread and the p99 of all requests. It also prints the plan of the SQL
the gateway issues at the large scale (EXPLAIN QUERY PLAN, or EXPLAIN on PostgreSQL), which is
where a missing index or a sort of the whole table shows. Aim (issue, item 4): at most 1.2× the
latency at 1,000,000 persons.

Writes ``bench/results/data_scale.json`` and ``.md`` (``data_scale_postgres.*`` with ``--postgres``).
Exits non-zero only when an answer is wrong or a request fails, not when the aim is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, event, text

from bench.figures import RESULTS, Figure, machine, table
from bench.harness import build, demo_headers, running_gateway, settings_for, spread
from demo.build import is_built
from libraries.synthetic_codes import id_number
from scripts.served import write_results

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
ITEM = "4. Scale of data"
AIM = 1.2  # latency at the large scale / latency at the small one
APPLICATION, PURPOSE = "mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"
LOOKUP = "query($id: ID!) { person(idNumber: $id) { idNumber name mobile insuranceStatus dishonestDebtor } }"
GENDER = "女"
PAGE = ("query($after: String) { populationRecords(first: 20, after: $after, where: {gender: {eq: \"" + GENDER + "\"}}, "
        "orderBy: [{field: birthPlaceCode, direction: DESC}]) { edges { node { idNumber gender birthPlaceCode mobile } } "
        "pageInfo { hasNextPage endCursor } } }")
MEASURES = ("keyed lookup", "first page", "following pages")
# What a demo's data and indexes depend on: a change to any of these rebuilds the cached demos.
BUILD_SOURCES = ("demo", "libraries", "store/migrations/versions")


class WrongAnswer(Exception):
    """The gateway failed a request or answered something other than the data."""


# ---- the demos, cached between runs -------------------------------------------------------------

def build_fingerprint() -> str:
    digest = hashlib.sha256()
    for source in BUILD_SOURCES:
        for path in sorted((ROOT / source).rglob("*")):
            if path.suffix in (".py", ".toml") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cached_demo(persons: int, seed: int, cache: Path, rebuild: bool) -> tuple[Path, float | None]:
    """The demo's data directory and how long building it took (None when it was reused)."""
    directory = cache / f"demo-{persons}-seed{seed}"
    stamp = directory / "bench-build.json"
    fingerprint = build_fingerprint()
    if not rebuild and is_built(settings_for(directory)) and _stamped(stamp) == fingerprint:
        return directory, None
    shutil.rmtree(directory, ignore_errors=True)
    print(f"building the demo of {persons:,} persons into {directory} …", flush=True)
    start = time.perf_counter()
    build(directory, persons, seed)
    seconds = time.perf_counter() - start
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "buildSeconds": seconds}) + "\n", encoding="utf-8")
    print(f"built in {seconds:,.1f} s", flush=True)
    return directory, seconds


def _stamped(stamp: Path) -> str | None:
    return json.loads(stamp.read_text(encoding="utf-8")).get("fingerprint") if stamp.exists() else None


Demos = dict[int, tuple[Path, float | None]]  # persons → (data directory, build seconds or None: reused)


@contextmanager
def postgres_demos(persons: Sequence[int], seed: int) -> Iterator[Demos]:
    """Each scale built into throw-away PostgreSQL databases, with a data directory naming them."""
    from bench.pgdemo import postgres_demo

    with tempfile.TemporaryDirectory(prefix="bench-data-scale-") as base, ExitStack() as stack:
        demos: Demos = {}
        for n in persons:
            print(f"building the demo of {n:,} persons on PostgreSQL …", flush=True)
            start = time.perf_counter()
            stack.enter_context(postgres_demo(Path(base) / f"demo-{n}", n, seed))
            demos[n] = Path(base) / f"demo-{n}", time.perf_counter() - start
            print(f"built in {demos[n][1]:,.1f} s", flush=True)
        yield demos


# ---- one scale: its gateway and its subjects ----------------------------------------------------

@dataclass
class Scale:
    persons: int
    client: httpx.AsyncClient
    runtime: Any
    headers: dict[str, str]
    subjects: list[tuple[str, bool]] = field(default_factory=list)  # (ID number, present), in asking order

    async def post(self, query: str, variables: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """The latency of one request in milliseconds, and its answer (checked to be data)."""
        start = time.perf_counter()
        response = await self.client.post("/graphql", headers=self.headers,
                                          json={"query": query, "variables": variables})
        elapsed = (time.perf_counter() - start) * 1000
        payload = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200 or "errors" in payload or payload.get("extensions", {}).get("masked"):
            raise WrongAnswer(f"at {self.persons:,} persons: HTTP {response.status_code} {response.text[:300]}")
        return elapsed, payload["data"]


async def id_numbers(scale: Scale, column: str, values: Sequence[Any]) -> list[str]:
    """The ID numbers of the population library's persons whose `column` is one of `values`."""
    statement = text(f"SELECT id_number FROM person_basic WHERE {column} IN :values")
    async with scale.runtime.sources["population"].engine.connect() as conn:
        result = await conn.execute(statement.bindparams(bindparam("values", expanding=True)), {"values": list(values)})
        return list(result.scalars())


async def choose_subjects(scale: Scale, count: int, rng: random.Random) -> list[tuple[str, bool]]:
    """`count` persons of this scale in random order, one in twenty of them absent (an ID number
    of valid form, next to a real one, that the population library does not hold)."""
    absent_count = max(1, count // 20)
    rows = rng.sample(range(1, scale.persons + 1), min(count - absent_count, scale.persons))
    present = await id_numbers(scale, "row_id", rows)
    neighbours = {id_number(key[:14] + f"{rng.randrange(1000):03d}") for key in rng.choices(present, k=3 * absent_count)}
    absent = sorted(neighbours - set(await id_numbers(scale, "id_number", sorted(neighbours))))[:absent_count]
    subjects = [(key, True) for key in present] + [(key, False) for key in absent]
    rng.shuffle(subjects)
    return (subjects * -(-count // len(subjects)))[:count]  # a tiny demo asks some persons twice


# ---- what is timed ------------------------------------------------------------------------------

async def lookup(scale: Scale, key: str, present: bool) -> float:
    elapsed, data = await scale.post(LOOKUP, {"id": key})
    person = data["person"]
    if (person is None) == present or (person is not None and person["idNumber"] != key):
        raise WrongAnswer(f"at {scale.persons:,} persons, person({key}) answered {person}")
    return elapsed


class Walk:
    """A walk through the list's pages on one scale, page by page through the cursors."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.after: str | None = None
        self.ended = False
        self.nodes: list[dict[str, Any]] = []

    async def next_page(self) -> float:
        if self.ended:
            raise WrongAnswer(f"at {self.scale.persons:,} persons the list ended after {len(self.nodes)} rows")
        elapsed, data = await self.scale.post(PAGE, {"after": self.after})
        page = data["populationRecords"]
        self.nodes += [edge["node"] for edge in page["edges"]]
        self.ended = not page["pageInfo"]["hasNextPage"]
        self.after = page["pageInfo"]["endCursor"]
        return elapsed

    async def check(self) -> None:
        check_walk(self.scale.persons, self.nodes)
        expected = await first_rows(self.scale, len(self.nodes))
        if [n["idNumber"] for n in self.nodes] != expected:  # a row skipped at a page boundary shows here
            raise WrongAnswer(f"at {self.scale.persons:,} persons the pages are not the list's first "
                              f"{len(self.nodes)} rows as the library orders them")


async def first_rows(scale: Scale, count: int) -> list[str]:
    """The ID numbers the walked list starts with, read from the library directly."""
    statement = text("SELECT id_number FROM person_basic WHERE gender = :gender "
                     "ORDER BY birth_place_code DESC NULLS LAST, row_id LIMIT :count")
    async with scale.runtime.sources["population"].engine.connect() as conn:
        return list((await conn.execute(statement, {"gender": GENDER, "count": count})).scalars())


def check_walk(persons: int, nodes: list[dict[str, Any]]) -> None:
    """The rows of a walk are filtered, in order, and none comes twice (`Walk.check` also compares
    them with the library's own first rows)."""
    places = [n["birthPlaceCode"] for n in nodes]
    keys = [n["idNumber"] for n in nodes]
    if not nodes or any(n["gender"] != GENDER for n in nodes):
        raise WrongAnswer(f"at {persons:,} persons the list is empty or not filtered")
    if places != sorted(places, reverse=True) or len(set(keys)) != len(keys):
        raise WrongAnswer(f"at {persons:,} persons the pages are out of order or repeat a row")


@dataclass
class Series:
    """The latencies (ms) of one measure at one scale, a list per repeat."""

    repeats: list[list[float]] = field(default_factory=list)

    @property
    def medians(self) -> list[float]:
        return [statistics.median(r) for r in self.repeats]

    @property
    def median(self) -> float:
        return statistics.median(self.medians)

    @property
    def p99(self) -> float:
        pooled = sorted(t for r in self.repeats for t in r)
        return pooled[min(len(pooled) - 1, round(0.99 * (len(pooled) - 1)))]

    def as_json(self) -> dict[str, Any]:
        return {"median": self.median, "spread": spread(self.medians), "p99": self.p99, "repeats": self.repeats}


Results = dict[str, dict[int, Series]]  # measure → persons → series


def turns(scales: Sequence[Scale], i: int) -> Sequence[Scale]:
    """The scales in the order of turn `i`: alternating, so that neither always goes first."""
    return scales if i % 2 == 0 else list(reversed(scales))


async def measure_round(scales: Sequence[Scale], lookups: int, walks: int, pages: int, results: Results) -> None:
    """One repeat. The scales take turns request by request, so that a slow moment of the shared
    machine falls on both alike."""
    times: dict[str, dict[int, list[float]]] = {m: {s.persons: [] for s in scales} for m in MEASURES}
    for i in range(lookups):
        for scale in turns(scales, i):
            key, present = scale.subjects.pop()
            times["keyed lookup"][scale.persons].append(await lookup(scale, key, present))
    for w in range(walks):
        walking = {scale.persons: Walk(scale) for scale in scales}
        for page in range(pages):
            for scale in turns(scales, w + page):
                measure = "first page" if page == 0 else "following pages"
                times[measure][scale.persons].append(await walking[scale.persons].next_page())
        for each in walking.values():
            await each.check()
    for measure, by_scale in times.items():
        for persons, measured in by_scale.items():
            results[measure][persons].repeats.append(measured)


# ---- the plans of the SQL the gateway issues ----------------------------------------------------

async def issued_sql(scale: Scale, request: Callable[[], Awaitable[Any]]) -> list[tuple[str, str, Any]]:
    """The statements that the libraries ran for one request: (library, statement, parameters)."""
    seen: list[tuple[str, str, Any]] = []
    listeners = []
    for library, source in scale.runtime.sources.items():
        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool,
                   library: str = library) -> None:
            seen.append((library, statement, parameters))

        listeners.append((source.executing_engine, record))
        event.listen(source.executing_engine, "before_cursor_execute", record)
    try:
        await request()
    finally:
        for engine, record in listeners:
            event.remove(engine, "before_cursor_execute", record)
    return seen


async def query_plans(scale: Scale) -> list[dict[str, Any]]:
    """EXPLAIN of each library statement of one lookup and of one following page."""
    [key] = await id_numbers(scale, "row_id", [scale.persons // 2])
    _, first = await scale.post(PAGE, {"after": None})
    cursor = first["populationRecords"]["pageInfo"]["endCursor"]
    statements = await issued_sql(scale, lambda: scale.post(LOOKUP, {"id": key}))
    statements += await issued_sql(scale, lambda: scale.post(PAGE, {"after": cursor}))
    plans = []
    for library, statement, parameters in statements:
        async with scale.runtime.sources[library].engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
        plans.append({"statement": _unqualified(statement), "plan": [row[0] if postgres else row[-1] for row in rows]})
    return plans


def _unqualified(statement: str) -> str:
    """The statement on one line without its `table.` prefixes, for reading."""
    words = statement.split()
    table_name = words[words.index("FROM") + 1]
    return " ".join(words).replace(f"{table_name}.", "")


# ---- the run ------------------------------------------------------------------------------------

async def run(directories: dict[int, Path], *, lookups: int, walks: int, pages: int, repeats: int,
              seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    results: Results = {m: {n: Series() for n in directories} for m in MEASURES}
    async with AsyncExitStack() as stack:
        scales = []
        for persons, directory in directories.items():
            settings = settings_for(directory)
            client, runtime = await stack.enter_async_context(running_gateway(settings))
            scales.append(Scale(persons, client, runtime, demo_headers(settings, APPLICATION, PURPOSE)))
        for scale in scales:
            scale.subjects = await choose_subjects(scale, lookups * (repeats + 1), rng)
        # A round unrecorded first: the document cache, the pools, the planner, the files' pages.
        await measure_round(scales, lookups, walks, pages, {m: {s.persons: Series() for s in scales} for m in MEASURES})
        for _ in range(repeats):
            await measure_round(scales, lookups, walks, pages, results)
        plans = await query_plans(scales[-1])
    return {"results": results, "plans": plans}


def ratios(results: Results, measure: str, small: int, large: int) -> list[float]:
    """Per repeat: the large scale's median latency / the small scale's, measured side by side."""
    return [b / a for a, b in zip(results[measure][small].medians, results[measure][large].medians, strict=True)]


def figures(results: Results, small: int, large: int, database: str = "SQLite") -> list[Figure]:
    out = []
    for measure in MEASURES:
        a, b = results[measure][small], results[measure][large]
        ratio = statistics.median(ratios(results, measure, small, large))
        detail = (f"ratio ±{spread(ratios(results, measure, small, large)):.0%}; "
                  f"{scale_name(large)}: {b.median:.2f} ms ±{spread(b.medians):.0%}, p99 {b.p99:.2f} ms; "
                  f"{scale_name(small)}: {a.median:.2f} ms ±{spread(a.medians):.0%}, p99 {a.p99:.2f} ms")
        where = "" if database == "SQLite" else f" ({database})"  # SQLite, the embedded default, is the headline
        out.append(Figure(ITEM, f"{measure}, {scale_name(large)} / {scale_name(small)} persons{where}", f"{ratio:.2f}×",
                          f"≤ {AIM:.1f}×", ratio <= AIM, detail))
    return out


def scale_name(persons: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if persons >= size and persons % size == 0:
            return f"{persons // size:,}{suffix}"
    return f"{persons:,}"


def markdown(report: dict[str, Any], found: list[Figure]) -> str:
    small, large = report["persons"]
    lines = [
        f"# Scale of data: {small:,} against {large:,} persons ({report['database']})",
        "",
        f"One request at a time, both gateways in process, the two scales taking turns request by request; "
        f"{report['repeats']} repeats of {report['lookups']} keyed lookups (1 in 20 absent) and {report['walks']} walks "
        f"of {report['pages']} pages of 20 on each. Figure: the median over the repeats of the large scale's median "
        "latency / the small scale's, with the spread of that ratio; then each scale's median of the repeat medians, "
        "their spread, and the p99 of every request.",
        "",
        table(found).rstrip("\n"),
        "",
        "| Measure | persons | median | spread | p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    for measure in MEASURES:
        for persons in (small, large):
            s = report["results"][measure][str(persons)]
            lines.append(f"| {measure} | {persons:,} | {s['median']:.2f} ms | ±{s['spread']:.0%} | {s['p99']:.2f} ms |")
    builds = {n: s for n, s in report["buildSeconds"].items() if s is not None}
    if builds:
        lines += ["", "Built this run: " + ", ".join(f"{int(n):,} persons in {s:,.1f} s" for n, s in builds.items())]
    lines += ["", f"Plans of the SQL the gateway issued at {large:,} persons (one lookup, one following page):", ""]
    for item in report["plans"]:
        lines.append(f"- `{item['statement']}`: " + "; ".join(p.strip() for p in item["plan"]))
    return "\n".join(lines) + "\n"


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.data_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 persons for the large scale, 3 short repeats")
    parser.add_argument("--small", type=int, default=10_000, help="persons of the small demo (default 10,000)")
    parser.add_argument("--large", type=int, help="persons of the large demo (default 1,000,000; --quick 100,000)")
    parser.add_argument("--repeats", type=int, help="timed repeats of each scale (default 7; --quick 3)")
    parser.add_argument("--lookups", type=int, help="keyed lookups per repeat (default 200; --quick 50)")
    parser.add_argument("--walks", type=int, help="walks through the list per repeat (default 10; --quick 6)")
    parser.add_argument("--pages", type=int, default=6, help="pages of each walk (default 6)")
    parser.add_argument("--seed", type=int, default=7, help="the demo's seed (default 7)")
    parser.add_argument("--rebuild", action="store_true", help="build the cached demos again")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the built demos are kept")
    parser.add_argument("--postgres", action="store_true", help="the libraries on PostgreSQL (built every run)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    args = parser.parse_args(argv)
    args.large = args.large or (100_000 if args.quick else 1_000_000)
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.lookups = args.lookups or (50 if args.quick else 200)
    args.walks = args.walks or (6 if args.quick else 10)
    args.database = "PostgreSQL" if args.postgres else "SQLite"
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    persons = (args.small, args.large)
    with ExitStack() as stack:
        if args.postgres:
            demos = stack.enter_context(postgres_demos(persons, args.seed))
        else:
            demos = {n: cached_demo(n, args.seed, args.cache, args.rebuild) for n in persons}
        try:
            measured = asyncio.run(run({n: d for n, (d, _) in demos.items()}, lookups=args.lookups, walks=args.walks,
                                       pages=args.pages, repeats=args.repeats, seed=args.seed))
        except WrongAnswer as wrong:
            print(f"wrong answer: {wrong}")
            return 1
    found = figures(measured["results"], *persons, args.database)
    report = {
        "benchmark": "data_scale", "machine": machine(), "database": args.database, "persons": list(persons),
        **{k: getattr(args, k) for k in ("repeats", "lookups", "walks", "pages", "seed")}, "aim": AIM,
        "buildSeconds": {str(n): seconds for n, (_, seconds) in demos.items()},
        "results": {m: {str(n): s.as_json() for n, s in by.items()} for m, by in measured["results"].items()},
        "plans": measured["plans"], "figures": [f.as_json() for f in found],
    }
    summary = markdown(report, found)
    write_results("data_scale_postgres" if args.postgres else "data_scale", report, summary, args.out)
    print(summary, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
