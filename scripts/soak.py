"""Soak test: a real gateway process under steady, mixed load for minutes, on loopback.

What it proves: for `--seconds` (default 600) at `--concurrency` (default 50) requests in flight,
the gateway answers every request of every kind as it should - no 5xx, no dropped connection, no
unexpected status or error code, and the answer itself right (a raw read unmasked, a masked read
masked, a check of the stored values all MATCH, a list page followed by its cursor) - and its
resident memory does not creep: the server's VmRSS at
the end is within `--max-rss-growth` (default 10 %) of its VmRSS after the warm-up (the first 60 s,
or 10 % of a shorter run).

Run from the repository root::

    .venv/bin/python -m scripts.soak                               # 10 minutes, 50 in flight
    .venv/bin/python -m scripts.soak --seconds 30 --concurrency 10 # a quick look

The gateway is the demo (`scripts/served.py`: built into a temporary directory, served by
`python -m gateway serve` on a free port) with the rate limits, quotas and cost budget off, so the
run measures endurance, not limits. The client is raw asyncio HTTP/1.1 on keep-alive connections,
one per worker, so that the load generator costs little CPU beside the server on a small machine.
The mix (see `KINDS`): unconditional reads, masked reads, list pages following their cursors, data
checks (checkPerson), the catalog, and refusals - a bad token, a purpose not granted, a field not
shared, malformed bodies - each with the status and error codes it must get.

Every request leaves an audit record, so the audit store grows during the run: that is disk, not
resident memory. Writes `bench/results/soak.json` and `bench/results/soak.md` (or into `--out`),
prints the Markdown and exits non-zero on any error or on memory growth beyond the tolerance.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.figures import RESULTS, described, machine
from bench.loadgen import Connection, header_block, percentile
from scripts.served import Served, histogram_table, served_gateway, write_results

RSS_SAMPLE_SECONDS = 5.0
MAX_ERROR_SAMPLES = 50

PERSON = "query($id: ID!) { person(idNumber: $id) { %s } }"
PAGE = ("query($after: String) { populationRecords(first: 20, after: $after, where: {gender: {eq: \"女\"}}, "
        "orderBy: [{field: birthPlaceCode, direction: DESC}]) { edges { node { name birthPlaceCode mobile } } "
        "pageInfo { hasNextPage endCursor } } }")
CHECK = "query($id: ID!, $c: PersonClaims!) { checkPerson(idNumber: $id, claims: $c) { results { field outcome } } }"
CATALOG = "{ catalog { resources { code shareClass fields { coordinate access reason } } } }"
MALFORMED = (b"{not json", b'{"variables": {}}', b'{"query": "{ person(idNumber: "}', b'{"query": "{ noSuchField }"}')

# Who asks: (application, purpose). scjg-licensing holds no grant (unconditional and masked data);
# mz-assistance holds grants for SOCIAL_ASSISTANCE_REVIEW only.
OPEN = ("scjg-licensing", "ADMINISTRATIVE_BASIS")
GRANTED = ("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW")
OTHER_PURPOSE = ("mz-assistance", "WORK_REFERENCE")


@dataclass
class Subject:
    id_number: str
    name: str
    mobile: str


@dataclass
class Worker:
    """One connection's state: its random stream and where its list walk is."""

    rng: random.Random
    subjects: list[Subject]
    cursor: str | None = None
    pages_after_cursor: int = 0  # list pages asked for with a cursor from the page before

    def subject(self) -> Subject:
        return self.rng.choice(self.subjects)


@dataclass(frozen=True)
class Request:
    who: tuple[str, str] | None  # None: a bad token
    body: bytes


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix and the answer it must get."""

    name: str
    weight: int
    make: Callable[[Worker], Request]
    status: int
    codes: frozenset[str] = frozenset()
    inspect: Callable[[Worker, dict[str, Any]], str | None] | None = None  # what else is wrong with the answer


def _graphql(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}, ensure_ascii=False).encode()


def _read(fields: str, who: tuple[str, str]) -> Callable[[Worker], Request]:
    return lambda w: Request(who, _graphql(PERSON % fields, {"id": w.subject().id_number}))


def _page(w: Worker) -> Request:
    w.pages_after_cursor += w.cursor is not None
    return Request(OPEN, _graphql(PAGE, {"after": w.cursor}))


def _next_page(w: Worker, payload: dict[str, Any]) -> str | None:
    page = payload["data"]["populationRecords"]
    w.cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    return None if page["edges"] else "an empty page"


def _raw(_w: Worker, payload: dict[str, Any]) -> str | None:
    if payload["data"]["person"] is None:
        return "no person for a key of the library"
    return "masked unexpectedly" if payload["extensions"]["masked"] else None


def _masked(_w: Worker, payload: dict[str, Any]) -> str | None:
    if payload["data"]["person"] is None:
        return "no person for a key of the library"
    return None if payload["extensions"]["masked"] else "served raw, not masked"


def _all_match(_w: Worker, payload: dict[str, Any]) -> str | None:
    outcomes = [r["outcome"] for r in payload["data"]["checkPerson"]["results"]]
    return None if outcomes and set(outcomes) == {"MATCH"} else f"the stored values did not all MATCH: {outcomes}"


def _has_resources(_w: Worker, payload: dict[str, Any]) -> str | None:
    return None if payload["data"]["catalog"]["resources"] else "an empty catalog"


def _check(w: Worker) -> Request:
    s = w.subject()
    return Request(GRANTED, _graphql(CHECK, {"id": s.id_number, "c": {"name": s.name, "mobile": s.mobile}}))


KINDS: tuple[Kind, ...] = (
    Kind("unconditional read", 20, _read("name gender ethnicity", OPEN), 200, inspect=_raw),
    Kind("masked read", 15, _read("mobile address birthDate", OPEN), 200, inspect=_masked),
    Kind("list page (cursor)", 15, _page, 200, inspect=_next_page),
    Kind("data check", 20, _check, 200, inspect=_all_match),
    Kind("catalog", 4, lambda w: Request(OPEN, _graphql(CATALOG)), 200, inspect=_has_resources),
    Kind("bad token", 5, lambda w: Request(None, _graphql(PERSON % "name", {"id": w.subject().id_number})),
         401, frozenset({"UNAUTHENTICATED"})),
    Kind("purpose not granted", 6, _read("maritalStatus", OTHER_PURPOSE), 200, frozenset({"PURPOSE_NOT_GRANTED"})),
    Kind("field not shared", 6, _read("name religion", GRANTED), 200, frozenset({"FIELD_NOT_SHARED"})),
    Kind("malformed body", 9, lambda w: Request(OPEN, w.rng.choice(MALFORMED)), 400, frozenset({"BAD_USER_INPUT"})),
)


@dataclass
class Stats:
    """What the run saw, per kind, status and error code."""

    per_kind: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)  # "kind: status codes"
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    error_samples: list[dict[str, Any]] = field(default_factory=list)

    def error(self, kind: Kind, why: str, status: int | None, body: bytes, request: Request) -> None:
        self.errors += 1
        self.error_kinds[f"{kind.name}: {why}"] += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append({
                "kind": kind.name, "why": why, "status": status, "who": list(request.who or ("bad token", "")),
                "request": request.body.decode("utf-8", "replace"), "response": body[:1000].decode("utf-8", "replace")})


def _codes(payload: Any) -> tuple[list[str], bool]:
    """The error codes of a GraphQL answer, and whether every error had one."""
    errors = (payload.get("errors") or []) if isinstance(payload, dict) else []
    codes = [((e.get("extensions") or {}).get("code") if isinstance(e, dict) else None) for e in errors]
    return sorted(c for c in codes if isinstance(c, str)), all(isinstance(c, str) for c in codes)


def judge(kind: Kind, worker: Worker, status: int, body: bytes) -> tuple[str | None, list[str]]:
    """Why this answer is wrong for its kind (None: as expected), and its error codes."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "not JSON", []
    codes, all_coded = _codes(payload)
    if status >= 500:
        return f"server error {status}", codes
    if not all_coded:
        return "an error without extensions.code", codes
    if status != kind.status or frozenset(codes) != kind.codes:
        return f"expected {kind.status} {sorted(kind.codes)}, got {status} {codes}", codes
    if kind.inspect is None:
        return None, codes
    try:
        return kind.inspect(worker, payload), codes
    except (KeyError, TypeError, IndexError) as exc:
        return f"unexpected answer shape ({type(exc).__name__}: {exc})", codes


class Soak:
    def __init__(self, served: Served, subjects: list[Subject], concurrency: int, seconds: float, seed: int) -> None:
        self.served, self.subjects = served, subjects
        self.concurrency, self.seconds, self.seed = concurrency, seconds, seed
        self.stats = Stats()
        self.heads = {who: header_block(served.headers(*who)) for who in (OPEN, GRANTED, OTHER_PURPOSE)}
        self.bad_head = header_block({"Authorization": "Bearer gw_0000000000000000000000000000000000000000",
                               "X-Operator": "nobody", "X-Purpose": OPEN[1]})
        self.rss: list[tuple[float, int]] = []  # (seconds since start, VmRSS KiB)
        self.memory: dict[str, dict[str, int]] = {}  # VmRSS and its parts after the warm-up and at the end
        self.started = self.elapsed = 0.0
        self.workers: list[Worker] = []

    async def run(self) -> None:
        self.started = time.perf_counter()
        deadline = self.started + self.seconds
        warm_up = asyncio.get_running_loop().call_later(warm_up_seconds(self.seconds), self._sample, "afterWarmUp")
        sampler = asyncio.create_task(self._sample_every(RSS_SAMPLE_SECONDS, deadline))
        await asyncio.gather(*(self._worker(i, deadline) for i in range(self.concurrency)))
        self.elapsed = time.perf_counter() - self.started
        warm_up.cancel()
        sampler.cancel()
        self._sample("end")  # at the end of the load

    async def _sample_every(self, seconds: float, deadline: float) -> None:
        while time.perf_counter() < deadline:
            self._sample(None)
            await asyncio.sleep(seconds)

    def _sample(self, moment: str | None) -> None:
        memory = self.served.memory_kib()
        self.rss.append((round(time.perf_counter() - self.started, 1), memory["VmRSS"]))
        if moment is not None:
            self.memory[moment] = memory

    async def _worker(self, index: int, deadline: float) -> None:
        split = urlsplit(self.served.base_url)
        connection = Connection(split.hostname or "127.0.0.1", split.port or 80)
        worker = Worker(random.Random(self.seed * 1000 + index), self.subjects)
        self.workers.append(worker)
        weights = [k.weight for k in KINDS]
        try:
            while time.perf_counter() < deadline:
                kind = worker.rng.choices(KINDS, weights)[0]
                await self._one(connection, worker, kind)
        finally:
            await connection.close()

    async def _one(self, connection: Connection, worker: Worker, kind: Kind) -> None:
        request = kind.make(worker)
        head = self.heads[request.who] if request.who else self.bad_head
        started = time.perf_counter()
        try:
            status, body = await connection.post("/graphql", head, request.body)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            await connection.close()
            self.stats.per_kind[kind.name] += 1
            self.stats.statuses["connection failure"] += 1
            self.stats.error(kind, f"connection failure ({type(exc).__name__})", None, b"", request)
            return
        self.stats.latencies_ms.append((time.perf_counter() - started) * 1000)
        why, codes = judge(kind, worker, status, body)
        self.stats.per_kind[kind.name] += 1
        self.stats.statuses[str(status)] += 1
        self.stats.codes.update(codes)
        self.stats.outcomes[f"{kind.name}: {status} {' '.join(sorted(set(codes))) or '-'}"] += 1
        if why is not None:
            worker.cursor = None  # a refused or odd page: walk the list again from its start
            self.stats.error(kind, why, status, body, request)


def load_subjects(served: Served, limit: int = 1000) -> list[Subject]:
    rows = served.library_rows("population", "SELECT id_number, name, mobile FROM person_basic WHERE name IS NOT NULL "
                                             f"AND mobile IS NOT NULL ORDER BY row_id LIMIT {int(limit)}")
    return [Subject(*row) for row in rows]


def warm_up_seconds(seconds: float) -> float:
    return min(60.0, seconds * 0.1)


def report(soak: Soak, args: argparse.Namespace, log: list[str]) -> dict[str, Any]:
    stats = soak.stats
    warm = warm_up_seconds(soak.seconds)
    after_warm_up = soak.memory.get("afterWarmUp", soak.memory["end"])
    warm_rss, end_rss = after_warm_up["VmRSS"], soak.memory["end"]["VmRSS"]
    growth = end_rss / warm_rss - 1
    total = sum(stats.per_kind.values())
    return {
        "machine": machine(), "persons": args.persons, "seconds": round(soak.elapsed, 1),
        "concurrency": soak.concurrency, "requests": total, "requestsPerSecond": round(total / soak.elapsed, 1),
        "latencyMs": {"p50": round(percentile(stats.latencies_ms, 0.50), 2),
                      "p99": round(percentile(stats.latencies_ms, 0.99), 2),
                      "max": round(max(stats.latencies_ms, default=0.0), 2)},
        "listPagesAfterCursor": sum(w.pages_after_cursor for w in soak.workers),
        "perKind": dict(stats.per_kind), "statuses": dict(stats.statuses), "errorCodes": dict(stats.codes),
        "outcomes": dict(stats.outcomes),
        "errors": stats.errors, "errorKinds": dict(stats.error_kinds), "errorSamples": stats.error_samples,
        "rss": {"warmUpSeconds": warm, "afterWarmUpKiB": warm_rss, "endKiB": end_rss, "growth": round(growth, 4),
                "maxGrowth": args.max_rss_growth,
                "partsAfterWarmUpKiB": after_warm_up, "partsEndKiB": soak.memory["end"], "samples": soak.rss},
        "pass": stats.errors == 0 and growth <= args.max_rss_growth,
        "serverLog": log,
    }


def _mib(parts: dict[str, int], name: str) -> str:
    return f"{parts[name] / 1024:.1f}" if name in parts else "?"


def markdown(r: dict[str, Any]) -> str:
    rss = r["rss"]
    lines = [
        f"# Soak: {r['seconds']:.0f} s at {r['concurrency']} concurrent requests - {'PASS' if r['pass'] else 'FAIL'}",
        "",
        f"Machine: {described(r['machine'])}. Demo of {r['persons']:,} persons, one `gateway serve` process on loopback, "
        "rate limits, quotas and cost budget off.",
        "",
        f"- requests: **{r['requests']:,}** ({r['requestsPerSecond']:,.1f}/s)",
        f"- latency: p50 **{r['latencyMs']['p50']} ms**, p99 **{r['latencyMs']['p99']} ms**, max {r['latencyMs']['max']} ms",
        f"- errors (5xx, connection failures, unexpected status or code): **{r['errors']}**",
        f"- list pages asked for with the cursor of the page before: {r['listPagesAfterCursor']:,}",
        f"- server RSS: {rss['afterWarmUpKiB'] / 1024:.1f} MiB after the warm-up ({rss['warmUpSeconds']:.0f} s), "
        f"{rss['endKiB'] / 1024:.1f} MiB at the end: **{rss['growth']:+.1%}** (limit +{rss['maxGrowth']:.0%}); "
        f"of which heap (RssAnon) {_mib(rss['partsAfterWarmUpKiB'], 'RssAnon')} → {_mib(rss['partsEndKiB'], 'RssAnon')} "
        f"MiB, mapped files (RssFile) {_mib(rss['partsAfterWarmUpKiB'], 'RssFile')} → {_mib(rss['partsEndKiB'], 'RssFile')} "
        "MiB",
        "",
        *histogram_table("Kind: status and codes", r["outcomes"]),
        "",
        *histogram_table("HTTP status", r["statuses"]),
        "",
        *histogram_table("Error code", r["errorCodes"]),
        "",
    ]
    if r["errorKinds"]:
        lines += [*histogram_table("Error", r["errorKinds"]), ""]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long the load runs (default 600)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--persons", type=int, default=2000, help="persons in the demo (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the request mix")
    parser.add_argument("--max-rss-growth", type=float, default=0.10,
                        help="largest end RSS growth over the post-warm-up RSS that passes (default 0.10)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory of soak.json and soak.md")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and the server log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with served_gateway(persons=args.persons, keep=args.keep) as served:
        soak = Soak(served, load_subjects(served), args.concurrency, args.seconds, args.seed)
        print(f"soaking for {args.seconds:.0f} s at {args.concurrency} concurrent requests", file=sys.stderr, flush=True)
        asyncio.run(soak.run())
        result = report(soak, args, served.log_excerpt())
    text = markdown(result)
    write_results("soak", result, text, args.out)
    print(text)
    if result["serverLog"]:
        print("server log (warnings and errors):\n" + "\n".join(result["serverLog"][-40:]))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
