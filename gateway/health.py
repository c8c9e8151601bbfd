"""/healthz (process alive), /readyz (stores, libraries and policy ready; says which is not; notes
how policy changes reach the worker: "policyChannel"), /metrics (Prometheus text format)."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.metrics import Metrics
from gateway.runtime import Runtime

PING_TIMEOUT = 2.0


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _ping(check: Any) -> str:
    try:
        await asyncio.wait_for(check(), PING_TIMEOUT)
        return "ok"
    except Exception as exc:  # readiness reports the kind of failure, never its details
        return f"unavailable ({type(exc).__name__})"


def readyz(runtime: Runtime) -> Any:
    async def endpoint(_request: Request) -> Response:
        async def store() -> None:
            async with runtime.store_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        checks: dict[str, str] = {"store": await _ping(store), "audit": await _ping(runtime.audit.ping),
                                  "audit:checkpoints": await _ping(runtime.audit.checkpoint_ping)}
        for code, source in runtime.sources.items():
            checks[f"library:{code}"] = await _ping(source.ping)
        checks["policy"] = _policy(runtime)
        checks["limits"] = await _ping(_limits_ping(runtime))
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks,
                "policyVersion": runtime.planner.policy_version,
                # How policy changes arrive: a note, not a check (down, the worker serves on polling).
                "policyChannel": runtime.policy_channel_status}
        return JSONResponse(body, status_code=200 if ready else 503)

    return endpoint


def _policy(runtime: Runtime) -> str:
    """ok; stale while the last good policy serves; unavailable once past the staleness limit."""
    if runtime.policy_error is None:
        return "ok"
    stale, limit = runtime.policy_stale_seconds, runtime.settings.policy_staleness_seconds
    state = "unavailable" if stale > limit else "stale"
    return f"{state} ({runtime.policy_error}; unconfirmed for {stale:.0f} s, limit {limit:g} s)"


def _limits_ping(runtime: Runtime) -> Any:
    async def ping() -> None:
        if not await runtime.limiter.ping():
            raise ConnectionError("the rate-limit store does not answer")

    return ping


def metrics_endpoint(metrics: Metrics) -> Any:
    async def endpoint(_request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return endpoint
