"""`gateway policy …`: policy versions from the command line (docs/policies.md). Every command
acts as a named application (`--as`, whose role decides what it may do, policies/roles.py) and a
real-name operator of its department; every command, a read as well as a change, is audited
before it commits and before its result is shown, and a change is announced to every worker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gateway.cli_common import DataDir, _settings, run_administrative

policy_app = typer.Typer(help="Policy versions (the Casbin model and lines, as data): import, check, activate, roll back.",
                         no_args_is_help=True)
As = Annotated[str, typer.Option("--as", help="The application acting (a POLICY_ADMIN one to change the policy).")]
Operator = Annotated[str, typer.Option("--operator", help="A real-name operator of that application's department.")]


def _run(data_dir: Path | None, as_application: str, operator: str, operation: str, step: Any) -> Any:
    from gateway import admin

    return run_administrative(admin.policy_step(_settings(data_dir), as_application, operator, operation, step))


def _read(path: Path | None, what: str) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=what) from None
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8",
                                 param_hint=what) from None


@policy_app.command("versions")
def versions(as_application: As, operator: Operator, data_dir: DataDir = None) -> None:
    """Every policy version, newest first."""
    for v in _run(data_dir, as_application, operator, "policy.versions", lambda desk: desk.versions()):
        print(f"{v.id}\t{v.state}\t{v.created_at}\t{v.created_by}\t{v.note}")


@policy_app.command("export")
def export(as_application: As, operator: Operator,
           out: Annotated[Path, typer.Option("--out", help="Directory to write model.conf, policy.csv, tests.toml.")],
           data_dir: DataDir = None) -> None:
    """Write the policy in force in Casbin's formats: model.conf and policy.csv (every line: the catalog's,
    the grants' and the administrators'), and the version's policy tests."""
    from schema.policy_api import export as exported

    async def read(desk: Any) -> tuple[Any, str]:
        policy = await desk.in_force()
        stored = await desk.version(policy.stored_version) if policy.stored_version else None
        return exported(policy), stored.draft.tests if stored else ""

    files, tests = _run(data_dir, as_application, operator, "policy.export", read)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.conf").write_text(files.model, encoding="utf-8")
    (out / "policy.csv").write_text(files.csv, encoding="utf-8")
    (out / "tests.toml").write_text(tests, encoding="utf-8")
    print(f"policy {files.policy_version} (stored version {files.version or 'none: the shipped model'}) "
          f"written to {out}/model.conf, policy.csv, tests.toml")


@policy_app.command("import")
def import_(as_application: As, operator: Operator,
            model: Annotated[Path, typer.Option("--model", help="Casbin model.conf.")],
            note: Annotated[str, typer.Option("--note", help="What the version changes, and why.")],
            lines: Annotated[Optional[Path], typer.Option("--policy", help="Casbin policy CSV (p and g rows); the "
                                                          "catalog's and grants' lines of an export are dropped.")] = None,
            tests: Annotated[Optional[Path], typer.Option("--tests", help="Policy tests (TOML [[expect]]).")] = None,
            data_dir: DataDir = None) -> None:
    """Store a new policy version (DRAFT), validated first; `policy check` then `policy activate` put it in force."""
    from policies.versions import Draft

    draft = Draft(_read(model, "--model"), _read(lines, "--policy"), _read(tests, "--tests"))
    created = _run(data_dir, as_application, operator, "policy.create", lambda desk: desk.create(draft, note))
    print(f"version {created.id} stored (DRAFT); see `gateway policy check {created.id}`")


@policy_app.command("check")
def check(version: int, as_application: As, operator: Operator, data_dir: DataDir = None) -> None:
    """Validate VERSION, run its policy tests, and dry-run it against the policy in force: which applications
    gain or lose which fields under which purposes. Exit 1 when it cannot be activated."""
    report = _run(data_dir, as_application, operator, "policy.check", lambda desk: desk.report(version))
    for problem in report.problems:
        print(f"problem: {problem}")
    for failure in report.failures:
        print(f"test failed: {failure}")
    for c in report.changes:
        print(f"{'gains' if c.gains else 'loses'}\t{c.application}\t{c.purpose}\t{c.field}\t{c.mode}\t{c.before} → {c.after}")
    print(f"version {version}: {'activatable' if report.activatable else 'NOT activatable'}; "
          f"{len(report.changes)} decisions change", file=sys.stderr)
    if not report.activatable:
        raise typer.Exit(code=1)


@policy_app.command("diff")
def diff(older: int, newer: int, as_application: As, operator: Operator, data_dir: DataDir = None) -> None:
    """The model, lines and tests of two versions, as a unified diff."""
    from policies.versions import diff as unified

    async def read(desk: Any) -> str:
        old, new = await desk.version(older), await desk.version(newer)
        return unified(old.draft, new.draft, f"v{older}", f"v{newer}")

    sys.stdout.write(_run(data_dir, as_application, operator, "policy.diff", read))


@policy_app.command("activate")
def activate(version: int, as_application: As, operator: Operator, data_dir: DataDir = None) -> None:
    """Put VERSION in force on every worker (it must validate and pass its policy tests)."""
    done = _run(data_dir, as_application, operator, "policy.activate", lambda desk: desk.activate(version))
    print(f"version {done.id} is in force")


@policy_app.command("rollback")
def rollback(as_application: As, operator: Operator, data_dir: DataDir = None) -> None:
    """Put back the version in force before the active one."""
    done = _run(data_dir, as_application, operator, "policy.rollback", lambda desk: desk.rollback())
    print(f"version {done.id} is in force again")


@policy_app.command("explain")
def explain(application: str, purpose: str, coordinate: str, as_application: As, operator: Operator,
            mode: Annotated[str, typer.Option("--mode", help="QUERY or CHECK.")] = "QUERY",
            data_dir: DataDir = None) -> None:
    """What APPLICATION gets for COORDINATE under PURPOSE today, and the line, grant or catalog setting that decided it."""
    _, d, policy = _run(data_dir, as_application, operator, "policy.explain",
                        lambda desk: desk.explain(application, purpose, coordinate, mode.upper()))
    print(f"{coordinate}: {d.access.value}" + (f" ({d.reason.value})" if d.reason else ""))
    if d.source:
        print(f"  decided by: {d.source}")
    if d.rule:
        print(f"  rule: {d.rule}  (from {d.rule_source})")
    print(f"  policy version: {policy.version}" + (f" (stored version {policy.stored_version})" if policy.stored_version else ""))
