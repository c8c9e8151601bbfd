"""The `gateway` command line: demo, serve, schema print, audit verify, catalog lint, masking."""

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


@audit_app.command("subject")
def audit_subject(key: str, data_dir: DataDir = None) -> None:
    """The pseudonym under which audit records name a person (ID number) or an enterprise (credit code)."""
    from audit.subjects import LABEL, subject_pseudonym
    from masking import KeyRing
    from resolvers.entities import normalize_key
    from schema.catalog import Entity

    settings = _settings(data_dir)
    entity = Entity.PERSON if len(key.strip()) == 18 and key.strip()[:17].isdigit() else Entity.ENTERPRISE
    try:
        normalized = normalize_key(entity, key)
    except Exception:
        print("not a valid ID number (GB 11643) or credit code (GB 32100)", file=sys.stderr)
        raise typer.Exit(code=1) from None
    print(subject_pseudonym(KeyRing.from_file(settings.masking_key_path).derive(LABEL), normalized))


catalog_app = typer.Typer(help="The catalog of resources and fields (政务数据资源目录).", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("lint")
def catalog_lint(
    data_dir: DataDir = None,
    samples: Annotated[bool, typer.Option("--samples/--no-samples", help="Also scan sample values of NONE fields.")] = True,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows sampled per resource.")] = 200,
) -> None:
    """Flag fields that look personal but are labelled NONE or name no mask rule.

    Checks the catalog in DATA_DIR (the demo's, built if missing). Exit 1: findings; 2: a library could not be read.
    """
    from sqlalchemy.ext.asyncio import AsyncEngine

    from gateway.runtime import make_engine
    from resolvers.datasource import LibraryUnavailable, library_sources
    from schema.lint import Finding, lint
    from store.repository import load_catalog

    settings = _settings(data_dir)
    _ensure_demo(settings)

    async def run() -> tuple[list[Finding], int]:
        store = make_engine(settings.store_url)
        engines: dict[str, AsyncEngine] = {}
        try:
            catalog = await load_catalog(store)
            if samples:
                engines = {code: make_engine(settings.library_urls[code]) for code in catalog.libraries}
            sources = library_sources(catalog, engines) if samples else None
            return await lint(catalog, sources, limit), len(catalog.by_coordinate)
        finally:
            for engine in [store, *engines.values()]:
                await engine.dispose()

    try:
        findings, fields = asyncio.run(run())
    except LibraryUnavailable as exc:
        print(f"catalog lint: {exc}; lint names only with --no-samples", file=sys.stderr)
        raise typer.Exit(code=2) from None
    for finding in findings:
        print(finding)
    checked = f"{fields} fields, " + (f"names and up to {limit} sample rows per resource" if samples else "names only")
    if findings:
        print(f"catalog lint: {len(findings)} findings ({checked}); see docs/catalog-lint.md", file=sys.stderr)
        raise typer.Exit(code=1)
    print(f"catalog lint: clean ({checked})", file=sys.stderr)


masking_app = typer.Typer(help="Mask rules as data (脱敏规则): set, list, remove, explain.", no_args_is_help=True)
app.add_typer(masking_app, name="masking")
Purpose = Annotated[str, typer.Option("--purpose", help="A purpose code, or * for every purpose.")]
Operator = Annotated[str, typer.Option("--operator", help="Who makes the change, by real-name id (audited).")]


@masking_app.command("set")
def masking_set(
    target: Annotated[str, typer.Argument(help="A field (Person.mobile), a resource code or a sensitivity (PERSONAL).")],
    rule: Annotated[str, typer.Argument(help="A mask rule, e.g. mobile, 'partial(head=2,tail=2)', pseudonym.")],
    operator: Operator,
    purpose: Purpose = "*",
    note: Annotated[str, typer.Option("--note", help="Why (kept with the rule).")] = "",
    data_dir: DataDir = None,
) -> None:
    """Set the mask rule for TARGET under a purpose; in force on every worker at the next policy refresh."""
    from gateway import admin
    from policies.mask_rules import MaskRuleError

    try:
        override = asyncio.run(admin.set_mask_rule(_settings(data_dir), target, rule, purpose, note, operator))
    except MaskRuleError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        raise typer.Exit(code=1) from None
    print(f"rule:{override.id}  {override.target}  purpose {override.purpose}  {override.rule}")


@masking_app.command("unset")
def masking_unset(target: str, operator: Operator, purpose: Purpose = "*", data_dir: DataDir = None) -> None:
    """Remove the rule for TARGET under a purpose."""
    from gateway import admin
    from policies.mask_rules import MaskRuleError

    try:
        removed = asyncio.run(admin.unset_mask_rule(_settings(data_dir), target, purpose, operator))
    except MaskRuleError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        raise typer.Exit(code=1) from None
    if not removed:
        print(f"no rule for {target} under purpose {purpose}", file=sys.stderr)
        raise typer.Exit(code=1)
    print(f"removed the rule for {target} under purpose {purpose}")


@masking_app.command("rules")
def masking_rules(data_dir: DataDir = None) -> None:
    """List the administrators' rules, then the built-in defaults by sensitivity."""
    from gateway import admin
    from policies.mask_rules import BUILTIN_DEFAULTS

    for o in asyncio.run(admin.list_mask_rules(_settings(data_dir))):
        print(f"rule:{o.id}\t{o.target}\tpurpose {o.purpose}\t{o.rule}" + (f"\t# {o.note}" if o.note else ""))
    for sensitivity, default in BUILTIN_DEFAULTS.items():
        print(f"default\t{sensitivity.value}\tpurpose *\t{default}")


@masking_app.command("explain")
def masking_explain(
    application: str, purpose: str, coordinate: str,
    mode: Annotated[str, typer.Option("--mode", help="QUERY or CHECK.")] = "QUERY",
    data_dir: DataDir = None,
) -> None:
    """What APPLICATION gets for COORDINATE under PURPOSE today: access, rule, and what decided them."""
    from gateway import admin

    d = asyncio.run(admin.explain(_settings(data_dir), application, purpose, coordinate, mode))
    print(f"{coordinate}: {d.access.value}" + (f" ({d.reason.value})" if d.reason else ""))
    if d.source:
        print(f"  allowed by: {d.source}")
    if d.rule:
        print(f"  rule: {d.rule}  (from {d.rule_source})")


def main() -> None:
    app()
