"""The ASGI application: it only assembles routes and a lifespan that owns the runtime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.collector import settle_after_start
from gateway.fanout import make_channel
from gateway.graphql_view import GraphQLView
from gateway.health import healthz, metrics_endpoint, readyz
from gateway.metrics import Metrics
from gateway.periodic import Periodic
from gateway.push import start_event_pusher, start_pusher
from gateway.runtime import Runtime
from gateway.settings import Settings


async def graphql(request: Request) -> Response:
    view: GraphQLView = request.state.view
    return await view(request)


async def ready(request: Request) -> Response:
    return await readyz(request.state.runtime)(request)


async def http_error(_request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405) answer in the GraphQL error shape too."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "Use POST /graphql (or GET /graphql for GraphiQL)." if status == 405 else "Not found."
    body = {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}
    return JSONResponse(body, status_code=status)


def _start_sweeper(runtime: Runtime) -> Periodic | None:
    from workflow.sweep import sweep

    interval = runtime.settings.workflow_sweep_seconds
    if interval <= 0:
        return None
    sweeper = Periodic("workflow-sweep", interval, lambda: sweep(runtime.store_engine, runtime.catalog,
                                                                  runtime.deadlines, runtime.clock()))
    sweeper.start()
    return sweeper


def create_app(settings: Settings, *, serving: bool = False) -> Starlette:
    """`serving`: this app is the process (`gateway serve`), which may tune its garbage collector."""
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        channel = make_channel(settings, lambda: runtime.refresh_policy(force=True))  # None: polling alone
        runtime = await Runtime.open(settings)
        if channel is not None:  # policy changes from any worker or the CLI, in force here within a second
            await channel.start()
            runtime.policy_channel = channel
        pusher = await start_pusher(runtime)  # None unless a department registered an audit webhook
        sweeper = _start_sweeper(runtime)  # overdue applications, grants ending soon
        notifier = await start_event_pusher(runtime)  # None unless a department registered a notification webhook
        if serving:
            settle_after_start()
        try:
            yield {"runtime": runtime, "view": GraphQLView(runtime, metrics)}
        finally:
            if sweeper is not None:
                await sweeper.close()
            if notifier is not None:
                await notifier.close()
            if pusher is not None:
                await pusher.close()
            if channel is not None:
                await channel.close()
            await runtime.close()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", ready),
            Route("/metrics", metrics_endpoint(metrics)),
        ],
        lifespan=lifespan,
        exception_handlers={404: http_error, 405: http_error},
    )


def create_app_from_env() -> Starlette:
    """The app factory of `gateway serve --workers N`: each worker process builds its own app
    (and opens its own runtime in its lifespan) from the environment."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(process)d %(name)s %(message)s")
    return create_app(Settings.from_env(), serving=True)
