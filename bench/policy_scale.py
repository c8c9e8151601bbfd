"""Scale of policy: authorization with 10,000 grant lines, against the demo's own policy.

Run from the repository root::

    .venv/bin/python -m bench.policy_scale            # 5 repeats, 6 changes per store and setting (about 2 minutes)
    .venv/bin/python -m bench.policy_scale --quick    # 3 repeats, 2 changes (about a minute)

It builds the demo in a temporary directory and a copy of it grown to 10,000 grant lines (`--lines`):
consumer applications registered in the platform store as the demo registers its own, and their
grants stored with `store.repository.insert_grant`, the call a provider's approval makes
(workflow/service.py), so that every line is one the gateway derives from a stored grant
(policies/rules.py `grant_lines`). Each application holds grants for one to three purposes on one to
three of the catalog's conditional resources, fields spelled out as approvals spell them, QUERY or
QUERY and CHECK, some fields masked, some grants expired, suspended or revoked. The demo's policy is
the baseline of every figure, measured in the same run, its repeats interleaved with the large one's.

- Warm authorization per request: what the GraphQL view calls to plan a request of ten fields
  (`planner.pinned().plan(application, purpose, coordinates)`) once the caller's (application,
  purpose) is compiled, cycling over the callers; µs per request. Aim: < 50 µs.
- Cold compile: the first plan of one caller on a new policy version (a fresh planner, nothing
  cached), median over the callers. Aim: < 20 ms.
- Reload: what a worker does when the store's policy revision moved: read the snapshot and build
  the policy (`load_policy_snapshot`, `build_policy`). No aim of its own: it is part of the next.
- Change in force: two real gateway processes (`python -m gateway serve`, scripts/served.py), one
  over each store. A provider's data officer suspends or resumes a demo grant through the command
  line's step (`gateway workflow grant suspend|resume`, gateway/admin.py), while a client asks for
  the field it grants, back to back; the time from the commit (the store's policy revision seen to
  move) to the first answer that reflects it, median over the changes, each at a random moment of
  the workers' refresh cycle. Aim: < 1 s. With the SQLite store's default (no channel: a worker
  reads the revision on its requests, at most every GATEWAY_POLICY_REFRESH_SECONDS, default 0.25); the
  same at another interval (`--other-refresh`, default 1 s, the default before this benchmark); and with the Redis channel
  (GATEWAY_REDIS_URL; the step publishes after its commit) when Redis answers. The settings go into
  the data directories' gateway.env, which the gateways and the step both read.

Callers: the demo's consumer applications under every purpose on both sides; on the large side
also `--callers` (application, purpose) pairs of the added applications that hold a grant. The
demo's callers must get the same decisions from both policies (the other applications' grants are
none of theirs), which the run checks. Writes bench/results/policy_scale.json and .md and prints the
Markdown; exits 1 only when the run went wrong (a wrong answer, a failed command, decisions that
differ), not when an aim is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.figures import Figure, machine, table
from bench.harness import build, demo_headers, settings_for, spread
from demo.build import demo_token
from gateway.runtime import make_engine
from gateway.settings import SETTINGS_FILE, Settings
from masking import KeyRing
from policies.grants import Grant, GrantStatus
from policies.planner import Decision, Planner
from policies.rules import PolicySet, grant_lines
from schema.catalog import Catalog, Resource, ShareClass
from scripts.served import free_port, start_server, stop_server, wait_ready, write_results
from store import repository
from store import tables as t
from store.policy import build_policy

NAME = "policy_scale"
ITEM = "5. Scale of policy"
WARM_AIM_US, COLD_AIM_MS, IN_FORCE_AIM_MS = 50.0, 20.0, 1000.0
SELECTION = (  # a person read across three libraries: ten fields, unconditional and conditional
    "Person.idNumber", "Person.name", "Person.gender", "Person.birthDate", "Person.mobile", "Person.address",
    "Person.maritalStatus", "Person.insuranceStatus", "Person.contributionBase", "Person.dishonestDebtor",
)
MODES = ("QUERY", "CHECK")
# The change: the population provider's data officer suspends and resumes 民政's grant of marital status.
GRANT, PROVIDER, PROVIDER_OPERATOR = "G-MZ-0001", "ga-data-officer", "ga-lihua"
CONSUMER, PURPOSE, FIELD = "mz-assistance", "SOCIAL_ASSISTANCE_REVIEW", "maritalStatus"
CHANGE_TIMEOUT = 30.0  # seconds for a command to commit and its change to show
WARM_UP = 20  # requests to each gateway before its first change
REDIS_URL = os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DEFAULT_REFRESH = Settings.policy_refresh_seconds  # GATEWAY_POLICY_REFRESH_SECONDS when unset


class RunFailed(RuntimeError):
    """The run itself went wrong: a wrong answer, a failed command, decisions that differ."""


# The policy grown to scale, through the store.


@dataclass(frozen=True)
class Growth:
    applications: int
    grants: int
    grant_lines: int  # of every grant in the store, the demo's included


def grow(data_dir: Path, target_lines: int, seed: int) -> Growth:
    """Register consumer applications and store their grants until the grants give `target_lines` lines."""
    return asyncio.run(_grow(settings_for(data_dir), target_lines, seed))


async def _grow(settings: Settings, target_lines: int, seed: int) -> Growth:
    engine = make_engine(settings.store_url)
    try:
        catalog = await repository.load_catalog(engine)
        principals = await repository.load_principals(engine)
        existing = sum(len(grant_lines(catalog, g)) for g in await repository.load_grants(engine))
        applications, grants = generated(catalog, sorted(principals.departments), sorted(principals.purposes),
                                         target_lines - existing, random.Random(seed), date.today())
        async with engine.begin() as conn:
            await conn.execute(t.applications.insert(), [
                {"id": a, "name": f"业务系统 {a}", "department": d, "role": "CONSUMER", "active": True,
                 "token_sha256": repository.token_digest(demo_token(seed, a))} for a, d in applications])
            for grant in grants:
                await repository.insert_grant(conn, grant, scenario="policy scale bench")
    finally:
        await engine.dispose()
    added = sum(len(grant_lines(catalog, g)) for g in grants)
    return Growth(len(applications), len(grants), existing + added)


def generated(catalog: Catalog, departments: list[str], purposes: list[str], lines: int, rng: random.Random,
              today: date) -> tuple[list[tuple[str, str]], list[Grant]]:
    """(application, department) pairs and their grants, giving at least `lines` lines."""
    resources = [r for r in catalog.resources.values() if _conditional(r)]
    applications: list[tuple[str, str]] = []
    grants: list[Grant] = []
    count = 0
    while count < lines:
        department = departments[len(applications) % len(departments)]
        application = f"bench-{department.lower()}-{len(applications):04d}"
        applications.append((application, department))
        for purpose in rng.sample(purposes, rng.randint(1, 3)):
            for resource in rng.sample(resources, rng.randint(1, 3)):
                grant = _grant(f"G-BENCH-{len(grants):05d}", application, resource, purpose, rng, today)
                grants.append(grant)
                count += len(grant_lines(catalog, grant))
    return applications, grants


def _conditional(resource: Resource) -> list[str]:
    return [resource.coordinate(f) for f in resource.fields if f.share_class is ShareClass.CONDITIONAL]


def _grant(grant_id: str, application: str, resource: Resource, purpose: str, rng: random.Random,
           today: date) -> Grant:
    offered = _conditional(resource)
    fields = tuple(sorted(rng.sample(offered, rng.randint(1, len(offered)))))
    checks = "CHECK" in {m.value for m in resource.share_modes} and rng.random() < 0.4
    valid_from, valid_until, status = _term(rng, today)
    return Grant(grant_id, application, resource.code, fields, purpose, ("QUERY", "CHECK") if checks else ("QUERY",),
                 valid_from, valid_until, status, mask_fields=tuple(f for f in fields if rng.random() < 0.15))


def _term(rng: random.Random, today: date) -> tuple[date, date, GrantStatus]:
    """A year's grant: mostly in force, one in twelve ended, one in twenty suspended or revoked."""
    roll = rng.random()
    until = today - timedelta(days=rng.randint(1, 60)) if roll < 0.08 else today + timedelta(days=rng.randint(35, 365))
    status = GrantStatus.SUSPENDED if roll > 0.97 else GrantStatus.REVOKED if roll > 0.95 else GrantStatus.ACTIVE
    return until - timedelta(days=364), until, status


# In-process measures: the planner on each policy.


@dataclass
class Side:
    label: str
    data_dir: Path
    policy: PolicySet
    callers: list[tuple[str, str]]
    keys: KeyRing


def load_policy(data_dir: Path) -> PolicySet:
    async def load() -> PolicySet:
        engine = make_engine(settings_for(data_dir).store_url)
        try:
            catalog = await repository.load_catalog(engine)
            return build_policy(catalog, await repository.load_policy_snapshot(engine))
        finally:
            await engine.dispose()

    return asyncio.run(load())


def demo_callers(data_dir: Path) -> list[tuple[str, str]]:
    """Every (application, purpose) of the demo's consumer applications (its credentials file)."""
    credentials = _credentials(data_dir)
    purposes = sorted(p["code"] for p in credentials["purposes"])
    return [(a["id"], p) for a in credentials["applications"] for p in purposes]


def _credentials(data_dir: Path) -> dict[str, Any]:
    return json.loads(settings_for(data_dir).credentials_path.read_text(encoding="utf-8"))


def granted_callers(policy: PolicySet, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """`count` (application, purpose) pairs of the added applications holding a grant in force."""
    today = date.today()
    pairs = sorted({(g.application, g.purpose) for gs in policy.grants_by_application.values() for g in gs
                    if g.application.startswith("bench-") and g.status_on(today) is GrantStatus.ACTIVE})
    return rng.sample(pairs, min(count, len(pairs)))


def warm_us(side: Side, iterations: int) -> float:
    """µs per request of the view's planning once every caller is compiled."""
    planner = Planner(side.policy, keys=side.keys)
    for application, purpose in side.callers:
        planner.plan(application, purpose, SELECTION)
    calls = list(itertools.islice(itertools.cycle(side.callers), iterations))
    start = time.perf_counter()
    for application, purpose in calls:
        planner.pinned().plan(application, purpose, SELECTION)
    return (time.perf_counter() - start) / iterations * 1e6


def cold_ms(side: Side) -> list[float]:
    """ms of each caller's first plan on a policy version that nothing has planned on yet."""
    planner = Planner(side.policy, keys=side.keys)
    times = []
    for application, purpose in side.callers:
        start = time.perf_counter()
        planner.plan(application, purpose, SELECTION)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def reload_ms(data_dir: Path, repeats: int) -> list[float]:
    """ms to read the store's policy snapshot and build the policy, as a worker does on a change."""
    engine = make_engine(settings_for(data_dir).store_url)
    try:
        catalog = await repository.load_catalog(engine)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            build_policy(catalog, await repository.load_policy_snapshot(engine))
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        await engine.dispose()


def decisions(side: Side, callers: Sequence[tuple[str, str]]) -> dict[tuple[str, str, str, str], tuple[Any, ...]]:
    planner = Planner(side.policy, keys=side.keys)
    found = {}
    for (application, purpose), mode in itertools.product(callers, MODES):
        for coordinate, d in planner.plan(application, purpose, side.policy.catalog.by_coordinate, mode).decisions.items():
            found[(application, purpose, mode, coordinate)] = _decision(d)
    return found


def _decision(d: Decision) -> tuple[Any, ...]:
    return d.access.value, d.reason, d.rule, d.source, d.rule_source


@dataclass
class Series:
    """One measure on both sides: a value per repeat (the median of its samples), or per change."""

    unit: str
    demo: list[float]
    large: list[float]

    def median(self, side: str) -> float:
        return statistics.median(getattr(self, side))

    def spread(self, side: str) -> float:
        return spread(getattr(self, side))

    @property
    def ratio(self) -> float:
        return self.median("large") / self.median("demo")

    def detail(self, fmt: str, scale: str) -> str:
        return (f"{scale} {self.median('large'):{fmt}} {self.unit} ±{self.spread('large'):.0%} vs demo "
                f"{self.median('demo'):{fmt}} {self.unit} ±{self.spread('demo'):.0%}")


def measure_in_process(sides: dict[str, Side], repeats: int, iterations: int) -> dict[str, Series]:
    for side in sides.values():  # one-time costs of the process (mask tables, imports) out of the way
        cold_ms(side)
    found = {"warm": Series("µs", [], []), "cold": Series("ms", [], []), "reload": Series("ms", [], [])}
    for repeat in range(repeats):
        order = ("demo", "large") if repeat % 2 == 0 else ("large", "demo")
        for label in order:
            side = sides[label]
            getattr(found["warm"], label).append(warm_us(side, iterations))
            getattr(found["cold"], label).append(statistics.median(cold_ms(side)))
            getattr(found["reload"], label).append(statistics.median(asyncio.run(reload_ms(side.data_dir, 3))))
    return found


# Change in force: real gateway processes.


@dataclass
class Served:
    label: str
    data_dir: Path
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    headers: dict[str, str]
    query: str  # the granted field of one person
    store_path: str  # the platform store's SQLite file, to see the commit


@contextmanager
def serving(dirs: dict[str, Path]) -> Iterator[dict[str, Served]]:
    """A `gateway serve` process over each data directory; stopped at the end, by process id."""
    with ExitStack() as stack:
        started = {}
        for label, data_dir in dirs.items():
            port = free_port()
            log_path = data_dir / f"server-{port}.log"
            process = start_server(data_dir, port, log_path)
            stack.callback(stop_server, process)
            started[label] = _served(label, data_dir, f"http://127.0.0.1:{port}", process, log_path)
        for served in started.values():
            wait_ready(served.base_url, served.process, served.log_path)
        yield started


def _served(label: str, data_dir: Path, base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> Served:
    settings = settings_for(data_dir)
    person = _credentials(data_dir)["samples"]["idNumbers"][0]
    return Served(label, data_dir, base_url, process, log_path, demo_headers(settings, CONSUMER, PURPOSE),
                  f'{{ person(idNumber: "{person}") {{ {FIELD} }} }}', settings.store_url.removeprefix("sqlite+aiosqlite:///"))


async def field_state(client: httpx.AsyncClient, served: Served) -> str:
    """RAW when the granted field is served, SUSPENDED when refused for its suspended grant."""
    response = await client.post(f"{served.base_url}/graphql", json={"query": served.query}, headers=served.headers)
    body = response.json()
    value = ((body.get("data") or {}).get("person") or {}).get(FIELD)
    codes = sorted({(e.get("extensions") or {}).get("code") or "" for e in body.get("errors") or ()})
    if response.status_code == 200 and value is not None and not codes:
        return "RAW"
    if response.status_code == 200 and value is None and codes == ["GRANT_SUSPENDED"]:
        return "SUSPENDED"
    raise RunFailed(f"{served.label}: unexpected answer (HTTP {response.status_code}, errors {codes})")


def _revision(store: sqlite3.Connection) -> int:
    return int(store.execute("SELECT max(revision) FROM policy_state").fetchone()[0] or 0)


async def _watch_commit(store: sqlite3.Connection, before: int, committed: asyncio.Future[float]) -> None:
    while _revision(store) == before:
        await asyncio.sleep(0.001)
    committed.set_result(time.perf_counter())


async def time_change(client: httpx.AsyncClient, served: Served) -> float:
    """ms from the commit of a suspension (or resumption) to the first answer that reflects it."""
    action, expected = ("suspend", "SUSPENDED") if await field_state(client, served) == "RAW" else ("resume", "RAW")
    with closing(sqlite3.connect(f"file:{served.store_path}?mode=ro", uri=True)) as store:
        committed: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        watcher = asyncio.create_task(_watch_commit(store, _revision(store), committed))
        change = asyncio.create_task(change_grant(served.data_dir, action))
        try:
            reflected = await _poll_until(client, served, expected, change)
            committed_at = await asyncio.wait_for(committed, CHANGE_TIMEOUT)
            await change
        finally:
            watcher.cancel()
            change.cancel()
    return (reflected - committed_at) * 1000


async def change_grant(data_dir: Path, action: str) -> None:
    """`gateway workflow grant ACTION G-MZ-0001 --as ga-data-officer …`: the command's own step
    (gateway/admin.py), run here rather than in a process of its own, whose start-up would only
    lengthen the run (the time counts from the commit). It reads the data directory's settings as
    the command does, so it announces on Redis when gateway.env names it."""
    from gateway import admin

    settings = Settings.from_env({}, data_dir=data_dir)
    try:
        await admin.workflow_step(settings, PROVIDER, PROVIDER_OPERATOR,
                                  lambda flow: flow.set_grant_status(GRANT, action, "policy scale bench"))
    except admin.WorkflowRefused as exc:
        raise RunFailed(f"`gateway workflow grant {action} {GRANT}` was refused: {exc}") from None


async def _poll_until(client: httpx.AsyncClient, served: Served, expected: str, change: asyncio.Task[None]) -> float:
    deadline = time.perf_counter() + CHANGE_TIMEOUT
    while await field_state(client, served) != expected:
        if change.done() and change.exception() is not None:
            await change  # raises why
        if time.perf_counter() > deadline:
            raise RunFailed(f"{served.label}: the change was not in force after {CHANGE_TIMEOUT:g} s")
    return time.perf_counter()


async def changes_in_force(gateways: dict[str, Served], changes: int, refresh_seconds: float,
                           rng: random.Random) -> Series:
    found = Series("ms", [], [])
    async with httpx.AsyncClient(timeout=10.0) as client:
        for served in gateways.values():  # a fresh process answers its first requests slower
            for _ in range(WARM_UP):
                await field_state(client, served)
        for change in range(changes):
            for label in ("demo", "large") if change % 2 == 0 else ("large", "demo"):
                # A random phase against the workers' refresh cycle, as a change would fall in real life.
                await asyncio.sleep(rng.uniform(0, refresh_seconds))
                getattr(found, label).append(await time_change(client, gateways[label]))
    return found


@dataclass(frozen=True)
class Variant:
    """How a change reaches the gateways: the settings of their data directories' gateway.env."""

    key: str
    how: str
    settings: dict[str, str]
    refresh_seconds: float  # the revision is read at most this often (GATEWAY_POLICY_REFRESH_SECONDS)


def variants(args: argparse.Namespace) -> list[Variant]:
    found = [Variant("none", f"no channel, the SQLite default: polling every {DEFAULT_REFRESH:g} s", {}, DEFAULT_REFRESH)]
    if args.other_refresh:
        found.append(Variant("none_other", f"no channel, GATEWAY_POLICY_REFRESH_SECONDS={args.other_refresh:g}",
                             {"GATEWAY_POLICY_REFRESH_SECONDS": f"{args.other_refresh:g}"}, args.other_refresh))
    if args.redis and redis_answers(args.redis_url):
        found.append(Variant("redis", f"Redis channel, polling every {DEFAULT_REFRESH:g} s beside it",
                             {"GATEWAY_REDIS_URL": args.redis_url}, DEFAULT_REFRESH))
    return found


def redis_answers(url: str) -> bool:
    from redis import Redis

    try:
        with closing(Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)) as client:
            return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


def configure(dirs: dict[str, Path], variant: Variant) -> None:
    for data_dir in dirs.values():
        text = "".join(f"{name}={value}\n" for name, value in variant.settings.items())
        (data_dir / SETTINGS_FILE).write_text(text, encoding="utf-8")


def measure_changes(dirs: dict[str, Path], chosen: list[Variant], changes: int, rng: random.Random) -> dict[str, Series]:
    found = {}
    for variant in chosen:
        configure(dirs, variant)
        with serving(dirs) as gateways:
            found[variant.key] = asyncio.run(changes_in_force(gateways, changes, variant.refresh_seconds, rng))
    return found


# Report.


def figures(series: dict[str, Series], grant_lines: int, measured: list[Variant]) -> list[Figure]:
    warm, cold, reload = series["warm"], series["cold"], series["reload"]
    scale = f"{grant_lines:,} grant lines"
    found = [
        Figure(ITEM, f"warm authorization per request ({len(SELECTION)} fields), {scale}",
               f"{warm.median('large'):.1f} µs ({warm.ratio:.2f}× demo)", f"< {WARM_AIM_US:g} µs",
               warm.median("large") < WARM_AIM_US, warm.detail(".1f", scale)),
        Figure(ITEM, f"cold compile of one (application, purpose), {scale}",
               f"{cold.median('large'):.2f} ms ({cold.ratio:.2f}× demo)", f"< {COLD_AIM_MS:g} ms",
               cold.median("large") < COLD_AIM_MS, cold.detail(".2f", scale)),
        Figure(ITEM, f"policy reload on a change (read the store, build), {scale}",
               f"{reload.median('large'):.0f} ms ({reload.ratio:.1f}× demo)", "— (part of < 1 s)", None,
               reload.detail(".1f", scale)),
    ]
    for variant in measured:
        s = series[variant.key]
        found.append(Figure(  # a bound on every change, so judged on the slowest
            ITEM, f"change in force ({variant.how}), {scale}: slowest of {len(s.large)}",
            f"{max(s.large):.0f} ms (median {s.median('large'):.0f} ms, {s.ratio:.2f}× demo)",
            f"< {IN_FORCE_AIM_MS:g} ms", max(s.large) < IN_FORCE_AIM_MS,
            f"{s.detail('.0f', scale)}; slowest {max(s.large):.0f} ms vs {max(s.demo):.0f} ms"))
    return found


def markdown(report: dict[str, Any], found: list[Figure]) -> str:
    p = report["policy"]
    lines = [
        f"Demo catalog. The demo's policy ({p['demo_grant_lines']:,} grant lines, {p['demo_lines']:,} lines in all) "
        f"against it grown to {p['grant_lines']:,} grant lines ({p['applications']:,} added applications, "
        f"{p['grants']:,} grants; {p['lines']:,} lines in all). {report['repeats']} repeats interleaved; warm: "
        f"{report['iterations']:,} requests per repeat over {report['callers']['large']} callers "
        f"(demo: {report['callers']['demo']}); a request plans {len(SELECTION)} fields.",
        "",
        table(found),
        f"Change in force: `gateway workflow grant suspend|resume {GRANT}` by {PROVIDER}, as the data "
        f"officer of the population provider, against `gateway serve` processes; measured: "
        f"{'; '.join(report['variants'].values()) or 'nothing (--changes 0)'}.",
        f"The demo's {report['callers']['demo']} callers get the same decisions from both policies: "
        f"{'yes' if report['same_decisions'] else 'NO'}.",
    ]
    return "\n".join(lines) + "\n"


def run(root: Path, args: argparse.Namespace) -> tuple[dict[str, Any], list[Figure]]:
    demo_dir, large_dir = root / "demo", root / "large"
    build(demo_dir, args.persons, args.seed)
    shutil.copytree(demo_dir, large_dir)
    growth = grow(large_dir, args.lines, args.seed)
    rng = random.Random(args.seed)
    sides = {label: _side(label, d) for label, d in (("demo", demo_dir), ("large", large_dir))}
    sides["large"].callers = sides["demo"].callers + granted_callers(sides["large"].policy, args.callers, rng)
    same = decisions(sides["demo"], sides["demo"].callers) == decisions(sides["large"], sides["demo"].callers)
    if not same:
        raise RunFailed("the demo's callers get other decisions once the other applications' grants are added")
    series = measure_in_process(sides, args.repeats, args.iterations)
    measured = variants(args) if args.changes else []
    series |= measure_changes({"demo": demo_dir, "large": large_dir}, measured, args.changes, rng)
    policy = {
        "applications": growth.applications, "grants": growth.grants, "grant_lines": growth.grant_lines,
        "lines": _lines(sides["large"].policy), "demo_lines": _lines(sides["demo"].policy),
        "demo_grant_lines": sum(len(grant_lines(sides["demo"].policy.catalog, g))
                                for g in sides["demo"].policy.grants_by_id.values()),
    }
    report = {
        "benchmark": NAME, "machine": machine(), "repeats": args.repeats, "iterations": args.iterations,
        "callers": {label: len(side.callers) for label, side in sides.items()}, "policy": policy,
        "variants": {v.key: v.how for v in measured}, "same_decisions": same,
        "series": {name: asdict(s) for name, s in series.items()},
        "aims": {"warm_us": WARM_AIM_US, "cold_ms": COLD_AIM_MS, "in_force_ms": IN_FORCE_AIM_MS},
    }
    found = figures(series, growth.grant_lines, measured)
    report["figures"] = [f.as_json() for f in found]
    return report, found


def _side(label: str, data_dir: Path) -> Side:
    keys = KeyRing.from_file(settings_for(data_dir).masking_key_path)
    return Side(label, data_dir, load_policy(data_dir), demo_callers(data_dir), keys)


def _lines(policy: PolicySet) -> int:
    return sum(len(lines) for lines in policy.lines_by_subject.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.policy_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000, help="grant lines of the large policy (default 10,000)")
    parser.add_argument("--persons", type=int, default=200, help="persons in the demo (default 200: data is not measured)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats of the in-process measures")
    parser.add_argument("--iterations", type=int, default=20_000, help="warm requests per repeat (default 20,000)")
    parser.add_argument("--callers", type=int, default=100, help="added (application, purpose) callers (default 100)")
    parser.add_argument("--changes", type=int, default=6, help="policy changes per store and channel (default 6; 0: none)")
    parser.add_argument("--other-refresh", type=float, default=1.0, metavar="SECONDS",
                        help="also without a channel at this GATEWAY_POLICY_REFRESH_SECONDS (default 1; 0: not)")
    parser.add_argument("--no-redis", dest="redis", action="store_false", help="skip the Redis channel")
    parser.add_argument("--redis-url", default=REDIS_URL, help=f"Redis for the channel (default {REDIS_URL})")
    parser.add_argument("--quick", action="store_true", help="3 repeats, 5,000 warm requests, 2 changes")
    parser.add_argument("--out", type=Path, default=None, help="directory for the results (default bench/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.iterations, args.callers, args.changes = 3, 5_000, 50, min(args.changes, 2)
    with tempfile.TemporaryDirectory(prefix="bench-policy-scale-") as directory:
        try:
            report, found = run(Path(directory), args)
        except RunFailed as exc:
            print(f"the run went wrong: {exc}", file=sys.stderr)
            return 1
    text = "# Scale of policy\n\n" + markdown(report, found)
    write_results(NAME, report, text, *([args.out] if args.out else []))
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
