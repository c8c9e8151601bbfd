"""The `gateway` command line: demo, serve, schema print, audit verify."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
import uvicorn

from gateway.settings import Settings

app = typer.Typer(help="Government data-sharing gateway (政务数据共享网关).", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
schema_app = typer.Typer(help="The GraphQL schema generated from the catalog.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(audit_app, name="audit")

DataDir = Annotated[
    Optional[Path], typer.Option("--data-dir", help="Data directory (default: $GATEWAY_DATA_DIR or ./gateway-data).")
]


def _settings(data_dir: Path | None, host: str | None = None, port: int | None = None) -> Settings:
    settings = Settings.from_env(data_dir=data_dir)
    if host is not None or port is not None:
        from dataclasses import replace

        settings = replace(settings, host=host or settings.host, port=port or settings.port)
    return settings


def _ensure_demo(settings: Settings, seed: int = 7, persons: int = 2000) -> None:
    from demo.build import build_demo, is_built

    if is_built(settings):
        return
    from rich.progress import Progress

    with Progress(transient=True, console=_stderr_console()) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        asyncio.run(build_demo(settings, seed=seed, persons=persons, progress=progress))


def _stderr_console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data and demo tokens.")] = 7,
    persons: Annotated[int, typer.Option(help="Persons in the population library (built once).")] = 2000,
) -> None:
    """Build the embedded demo in DATA_DIR if it is missing, then serve it."""
    settings = _settings(data_dir, host, port)
    _ensure_demo(settings, seed, persons)
    print(f"GraphQL:     http://{settings.host}:{settings.port}/graphql", flush=True)
    print(f"Data dir:    {settings.data_dir}", flush=True)
    print(f"Credentials: {settings.credentials_path}", flush=True)
    _serve(settings)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to bind (default $GATEWAY_HOST).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default $GATEWAY_PORT).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve a configured deployment (environment variables: see docs/configuration.md)."""
    _serve(_settings(data_dir, host, port))


def _serve(settings: Settings) -> None:
    from gateway.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


@schema_app.command("print")
def schema_print(data_dir: DataDir = None) -> None:
    """Write the SDL of the catalog in DATA_DIR (the demo's, built if missing)."""
    from schema.builder import build_schema
    from store.repository import load_catalog

    settings = _settings(data_dir)
    _ensure_demo(settings)

    async def read() -> str:
        from gateway.runtime import make_engine

        engine = make_engine(settings.store_url)
        try:
            return build_schema(await load_catalog(engine)).as_str()
        finally:
            await engine.dispose()

    sys.stdout.write(asyncio.run(read()) + "\n")


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None) -> None:
    """Check the audit trail's hash chain; exit non-zero naming the first bad record."""
    from audit import AuditStore
    from gateway.runtime import make_engine

    settings = _settings(data_dir)

    async def run():  # type: ignore[no-untyped-def]
        store = AuditStore(make_engine(settings.audit_url))
        try:
            await store.create()
            return await store.verify()
        finally:
            await store.engine.dispose()

    report = asyncio.run(run())
    if report.first_bad is None:
        print(f"audit trail holds: {report.records} records verified")
        return
    print(f"audit trail broken at record {report.first_bad}: {report.problem} "
          f"({report.records} records hold before it)")
    raise typer.Exit(code=1)


def main() -> None:
    app()
