"""What the in-process gateway benchmarks share: a demo to build, the gateway running under its
lifespan with an in-process client, and timing loops whose repeats are interleaved by the caller
so that a slow moment of the machine hits both sides of a comparison."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from demo.build import build_demo
from gateway.app import create_app
from gateway.settings import Settings

UNLIMITED = {  # the benches measure speed, not limits
    "GATEWAY_CHECK_RATE": "0", "GATEWAY_CHECK_BURST": "0", "GATEWAY_CHECK_DAILY_QUOTA": "0",
    "GATEWAY_LOOKUP_RATE": "0", "GATEWAY_LOOKUP_BURST": "0", "GATEWAY_LOOKUP_DAILY_QUOTA": "0",
    "GATEWAY_MAX_BODY_BYTES": str(256 * 1024),
}


def settings_for(data_dir: Path) -> Settings:
    return Settings.from_env(UNLIMITED, data_dir=data_dir)


def build(data_dir: Path, persons: int, seed: int = 7) -> None:
    asyncio.run(build_demo(settings_for(data_dir), persons=persons, seed=seed))


def demo_headers(settings: Settings, application: str, purpose: str) -> dict[str, str]:
    credentials = json.loads(settings.credentials_path.read_text(encoding="utf-8"))
    app = next(a for a in credentials["applications"] if a["id"] == application)
    return {"Authorization": f"Bearer {app['token']}", "X-Operator": app["operators"][0], "X-Purpose": purpose}


@asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The real application under its lifespan, an in-process client, and its runtime. It runs as
    `gateway serve` runs it (`serving=True`: the garbage collector tuned once it has started); the
    bench process is as much the gateway's as a served worker is."""
    async with LifespanManager(create_app(settings, serving=True)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client, manager._state["runtime"]


async def rate(call: Callable[[int], Awaitable[None]], seconds: float, concurrency: int) -> float:
    """Calls per second: `concurrency` loops await `call(0)`, `call(1)`, … until `seconds` pass."""
    counter = itertools.count()
    done = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call(next(counter))
            done += 1

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done / (time.perf_counter() - start)


async def elapsed_ms(call: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000


def spread(values: Sequence[float]) -> float:
    """(max - min) / median of the repeats."""
    return (max(values) - min(values)) / statistics.median(values)
