"""The `gateway` command line: demo, serve, schema print, audit verify, catalog lint, masking."""

from __future__ import annotations

import asyncio
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import uvicorn

from gateway.cli_common import DataDir, _settings
from gateway.cli_policy import policy_app
from gateway.cli_webhooks import Operator as WebhookOperator
from gateway.cli_webhooks import webhook_commands
from gateway.cli_workflow import calendar_app, workflow_app
from gateway.settings import Settings

app = typer.Typer(help="Government data-sharing gateway (政务数据共享网关).", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
schema_app = typer.Typer(help="The GraphQL schema generated from the catalog.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(audit_app, name="audit")
app.add_typer(workflow_app, name="workflow")
app.add_typer(calendar_app, name="calendar")
app.add_typer(policy_app, name="policy")
queries_app = typer.Typer(help="Persisted queries: the allow-list of GATEWAY_PERSISTED_QUERIES.", no_args_is_help=True)
app.add_typer(queries_app, name="queries")

class ExportFormat(str, Enum):
    NDJSON = "ndjson"
    CSV = "csv"


# How `serve` runs uvicorn (bench/floor.py serves the benchmarks' floor the same way): its "auto"
# choices pick uvloop and httptools, dependencies of the project, where the platform has them.
UVICORN_OPTIONS: dict[str, Any] = {"loop": "auto", "http": "auto", "log_level": "warning"}


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
    workers: Annotated[Optional[int], typer.Option(
        "--workers", min=1, help="Worker processes sharing the port, each with its own runtime (default: one, in this "
        "process). Several workers need shared stores, keys and Redis: see docs/deploy.md.")] = None,
) -> None:
    """Serve a configured deployment (environment variables: see docs/configuration.md and docs/deploy.md)."""
    settings = _settings(data_dir, host, port)
    from gateway.fanout import channel_kind
    from gateway.settings import SettingsError

    try:
        channel_kind(settings)  # refuse a channel the deployment cannot have before any worker starts
    except SettingsError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        raise typer.Exit(code=2) from None
    if workers is None:
        _serve(settings)
        return
    import os

    _prepare_stores(settings)
    # Each worker process reads its settings from the environment (gateway.app:create_app_from_env):
    # the command line's choices go there first.
    os.environ["GATEWAY_DATA_DIR"] = str(settings.data_dir)
    os.environ["GATEWAY_HOST"], os.environ["GATEWAY_PORT"] = settings.host, str(settings.port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    print(f"GraphQL: http://{settings.host}:{settings.port}/graphql ({workers} worker{'s' if workers > 1 else ''})",
          file=sys.stderr, flush=True)
    uvicorn.run("gateway.app:create_app_from_env", factory=True, workers=workers, host=settings.host,
                port=settings.port, **UVICORN_OPTIONS)


def _prepare_stores(settings: Settings) -> None:
    """Before several workers start at once: check the key files and create the audit and checkpoint
    tables once here (workers creating them together on a new server database would collide)."""
    from gateway.runtime import load_keys, open_audit

    async def prepare() -> None:
        load_keys(settings)
        audit = await open_audit(settings)
        await audit.close()

    try:
        asyncio.run(prepare())
    except RuntimeError as exc:  # a missing key file: say which, start nothing
        print(f"gateway: {exc}", file=sys.stderr)
        raise typer.Exit(code=2) from None


def _serve(settings: Settings) -> None:
    from gateway.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings, serving=True), host=settings.host, port=settings.port, **UVICORN_OPTIONS)


@queries_app.command("manifest")
def queries_manifest(
    files: Annotated[list[Path], typer.Argument(help="Query documents (.graphql), one operation text each.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Write here instead of standard output.")] = None,
) -> None:
    """Write the allow-list {sha256 of the text: text} of these documents (docs/security.md)."""
    import json

    from gateway.persisted import manifest

    text = json.dumps(manifest([f.read_text(encoding="utf-8") for f in files]), ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"{len(files)} queries written to {out}", err=True)


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
def audit_verify(
    data_dir: DataDir = None,
    archive: Annotated[Optional[list[Path]], typer.Option(
        "--archive", help="An exported archive to check offline (repeatable). With --data-dir the store is checked "
        "too, and both as one chain.")] = None,
    public_key: Annotated[Optional[Path], typer.Option(
        "--public-key", help="Pin the audit signing public key, PEM or base64: your own copy, so that a key replaced "
        "in the data directory cannot vouch for anything (default: audit-signing.pub beside the signing key).")] = None,
    no_checkpoints: Annotated[bool, typer.Option(
        "--no-checkpoints", help="Check the chain alone, without the checkpoint database (e.g. when it is lost): the "
        "chain cannot show a rewrite with fresh hashes or a cut-off end.")] = False,
) -> None:
    """Check the audit trail (hash chain and signed checkpoints), or archives offline; exit 1 naming the first bad record."""
    from audit.archive import describe, verify_together
    from audit.checkpoints import find_public_key
    from audit.trail import Outcome, verify_data
    from gateway.runtime import make_engine

    settings = _settings(data_dir)
    offline = bool(archive) and data_dir is None
    try:
        key, source = find_public_key(settings.audit_signing_key_path, public_key)
        local = None if offline or public_key is None else find_public_key(settings.audit_signing_key_path)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(code=1) from None
    if key is None:
        print("no audit signing key found: signed checkpoints cannot be checked (give --public-key)")
    else:
        print(f"audit signing key {key.key_id} (Ed25519; key id = fingerprint: SHA-256 of the raw key, first 16 hex "
              f"digits), read from {source}:\n{key.pem().rstrip()}")
        if public_key is None:
            print("note: this key was read from the data directory, where whoever can replace it could make forged "
                  "checkpoints verify; for an independent check, pin your own copy with --public-key FILE")
        elif local is not None and local[0] is not None and local[0].key_id != key.key_id:
            print(f"warning: the data directory's key ({local[1]}) is {local[0].key_id}, not the pinned key "
                  f"{key.key_id}: anything signed with it fails")

    async def run() -> Outcome:
        if offline:  # no database needed
            return Outcome(await verify_together(archive or [], None, key))
        return await verify_data(settings.audit_url, None if no_checkpoints else settings.audit_checkpoint_url,
                                 archive or [], key, every=settings.audit_checkpoint_every,
                                 seconds=settings.audit_checkpoint_seconds, engine=make_engine)

    outcome = asyncio.run(run())
    for piece in outcome.together.pieces:
        print(describe(piece))
    for warning in outcome.warnings:
        print(warning)
    if outcome.ok:
        if not outcome.records:
            print("audit trail: no records yet, nothing to verify")
        elif no_checkpoints and not offline:
            print(f"audit chain holds: {outcome.records} records verified by the chain alone (no checkpoints checked)")
        else:
            print(f"audit trail holds: {outcome.records} records verified")
        return
    together = outcome.together
    if not together.ok:
        held = sum(p.report.records for p in together.pieces)
        print(f"audit trail broken at record {together.first_bad}: {together.problem} ({held} records hold before it)")
    else:
        print(f"audit trail not verified: {outcome.problem}")
    raise typer.Exit(code=1)


@audit_app.command("archive")
def audit_archive(
    before: Annotated[str, typer.Option("--before", help="Archive the records older than this date (YYYY-MM-DD, UTC).")],
    data_dir: DataDir = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Directory of the archive (default <data dir>/archives).")] = None,
    operator: Annotated[Optional[str], typer.Option("--operator", help="Who archives, by real-name id (audited).")] = None,
) -> None:
    """Copy old records to a verified, signed archive; remove them from the store once past retention.

    See docs/audit-integrity.md for what is archived and when records are removed.
    """
    from datetime import date

    from audit.archive import ArchiveError, ArchiveResult, archive
    from audit.store import AuditConfigError, AuditUnavailable
    from gateway.runtime import open_audit

    settings = _settings(data_dir)
    try:
        day = date.fromisoformat(before)
    except ValueError:
        raise typer.BadParameter(f"{before!r} is not a date (YYYY-MM-DD)", param_hint="--before") from None

    async def run() -> ArchiveResult:
        store = await open_audit(settings)
        try:
            assert store.checkpointer is not None
            return await archive(store, store.checkpointer, before=day, out=out or settings.data_dir / "archives",
                                 retention_days=settings.audit_retention_days, operator=operator)
        finally:
            await store.close()

    try:
        result = asyncio.run(run())
    except (ArchiveError, AuditConfigError, AuditUnavailable, RuntimeError) as exc:
        print(f"audit archive: {exc}", file=sys.stderr)
        raise typer.Exit(code=1) from None
    if result.path is None:
        print(f"nothing archived: {result.reason}")
        return
    print(f"archived records {result.first}–{result.last} ({result.records} records) to {result.path}")
    print(f"archive verified: its signed seal covers records {result.first}–{result.last}")
    print(result.reason + (f"; audit record {result.retention_seq} (audit.retention) notes it" if result.removed else ""))


AuditOperator = WebhookOperator


async def _audit_operator(stores, operator: str) -> str:  # type: ignore[no-untyped-def]
    """The operator's id if registered and active; otherwise exit 2 saying so (nothing is done)."""
    from store.repository import load_principals

    who = (await load_principals(stores.store)).active_operator(operator)
    if who is None:
        print(f"refused: {operator!r} is not a registered, active operator (--operator): audit operations are "
              "audited by real name", file=sys.stderr)
        raise typer.Exit(code=2)
    return who


@audit_app.command("subject")
def audit_subject(
    key: Annotated[str, typer.Argument(help="The ID number or credit code; - reads it from standard input, so it "
                                       "stays out of the process list and the shell history.")],
    operator: AuditOperator,
    data_dir: DataDir = None,
) -> None:
    """The pseudonym under which audit records name a person (ID number) or an enterprise (credit code).

    Audited (operation audit.subject, the operator and the pseudonym; never the key) before it is printed.
    """

    from audit import AuditRecord
    from audit.subjects import LABEL, subject_pseudonym
    from gateway import admin
    from gateway.errors import RequestRefused
    from masking import KeyRing
    from resolvers.entities import normalize_key
    from schema.catalog import Entity

    settings = _settings(data_dir)
    if key == "-":
        key = sys.stdin.readline().strip()
    normalized = None
    for entity in Entity:  # an all-digit credit code exists too: try both kinds
        try:
            normalized = normalize_key(entity, key)
            break
        except RequestRefused:
            continue
    if normalized is None:
        print("not a valid ID number (GB 11643) or credit code (GB 32100)", file=sys.stderr)
        raise typer.Exit(code=1)
    pseudonym = subject_pseudonym(KeyRing.from_file(settings.masking_key_path).derive(LABEL), normalized)

    async def record() -> None:
        async with admin.open_stores(settings) as stores:
            who = await _audit_operator(stores, operator)
            await stores.audit.append(AuditRecord.administrative(  # before the pseudonym is shown; not if this fails
                "audit.subject", who, subjects=[pseudonym], client="cli"))

    asyncio.run(record())
    print(pseudonym)


@audit_app.command("export")
def audit_export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="ndjson: one stored row a line (seq, hash, prev_hash, "
                                              "record), verifiable offline; csv: one flattened record a row.")],
    operator: AuditOperator,
    start: Annotated[Optional[str], typer.Option("--from", help="From this ISO date or datetime, inclusive "
                                                 "(China Standard Time without an offset).")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="Up to this ISO date or datetime, inclusive.")] = None,
    application: Annotated[Optional[str], typer.Option("--application", help="Only this calling application.")] = None,
    department: Annotated[Optional[str], typer.Option("--department", help="Only this calling department.")] = None,
    as_application: Annotated[Optional[str], typer.Option(
        "--as", help="Export what this application may read (its department's use and its resources' use; every "
        "record for an auditor). Without it: every record (an operator's tool).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file, created readable by its owner "
                                                "only (default: standard output).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export audit records, oldest first, streaming; the export is itself audited (operation audit.export,
    naming the operator, the scope and the filter)."""
    import os

    from audit import AuditRecord
    from audit.query import AuditFilter, AuditReader, InvalidFilter, Scope, export
    from gateway import admin
    from store.repository import load_application

    settings = _settings(data_dir)
    try:
        flt = AuditFilter.parse(start=start, end=end, application=application, department=department)
    except InvalidFilter as exc:
        print(f"audit export: {exc}", file=sys.stderr)
        raise typer.Exit(code=2) from None

    async def run() -> int:
        async with admin.open_stores(settings) as stores:
            who = await _audit_operator(stores, operator)
            scope, caller = Scope.full(), None
            if as_application is not None:
                caller = await load_application(stores.store, as_application)
                if caller is None or not caller.active:
                    state = "no application" if caller is None else "inactive application"
                    print(f"audit export: {state} {as_application!r}", file=sys.stderr)
                    raise typer.Exit(code=2)
                scope = Scope.of_application(stores.catalog, caller.role, caller.department)
            given = {"format": fmt.value, "scope": "everything" if scope.everything else f"department:{scope.department}",
                     "from": flt.since, "to": flt.until, "application": flt.application, "department": flt.department}
            await stores.audit.append(AuditRecord.administrative(  # before any record leaves; none if this fails
                "audit.export", who, application=caller.id if caller else None,
                department=caller.department if caller else None, client="cli",
                fields={f"export:{k}": v[:200] for k, v in given.items() if v is not None}))
            reader = AuditReader(stores.audit.engine, stores.catalog)
            if out is None:
                return await export(reader, scope, flt, fmt.value, sys.stdout)
            # Owner-only from its creation (an existing file is truncated and narrowed to 0600 too).
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            os.fchmod(descriptor, 0o600)
            with open(descriptor, "w", encoding="utf-8", newline="") as handle:
                return await export(reader, scope, flt, fmt.value, handle)

    count = asyncio.run(run())
    print(f"audit export: {count} records", file=sys.stderr)


audit_app.add_typer(webhook_commands("the audit trail", "record", table="audit_webhooks"), name="webhook")


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
