"""`gateway workflow …` and `gateway calendar …`: the application-and-approval workflow and its
working-day calendar from the command line (docs/workflow.md). Every step names the application
it acts as (`--as`, whose role decides what it may do) and a real-name operator of its department,
and is audited before it commits, exactly like the GraphQL mutations."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gateway.cli_common import DataDir, _settings, run_administrative
from gateway.cli_webhooks import webhook_commands

workflow_app = typer.Typer(help="Share applications (共享申请): apply, check, approve, and the grants they make.",
                           no_args_is_help=True)
grant_app = typer.Typer(help="A provider's grants: suspend, resume, revoke.", no_args_is_help=True)
workflow_app.add_typer(grant_app, name="grant")
workflow_app.add_typer(webhook_commands("the workflow's notifications", "notification", table="event_webhooks"),
                       name="webhook")
calendar_app = typer.Typer(help="The Chinese working-day calendar of the deadlines (工作日).", no_args_is_help=True)

As = Annotated[str, typer.Option("--as", help="The application acting (its role decides what it may do).")]
Operator = Annotated[str, typer.Option("--operator", help="A real-name operator of that application's department.")]
Version = Annotated[Optional[int], typer.Option("--version", help="The version you read: a stale one is refused.")]


def _step(data_dir: Path | None, as_application: str, operator: str, step: Any) -> Any:
    from gateway import admin

    return run_administrative(admin.workflow_step(_settings(data_dir), as_application, operator, step))


def _show(application: Any) -> None:
    r = application.request
    print(f"{application.id}  {application.state.value}  ({application.kind.value}, version {application.version})")
    print(f"  {application.application or application.department} → {application.provider}  {r.resource}  "
          f"purpose {r.purpose}  modes {','.join(r.modes)}  {r.valid_from} to {r.valid_until}")
    print(f"  fields: {', '.join(r.fields) or 'every conditional field'}")
    due = application.due()
    if due:
        print(f"  due: {due}")
    for reason in application.reasons:
        print(f"  reason: {reason}")
    if application.grant_id:
        print(f"  grant: {application.grant_id}")
    if application.parent:
        print(f"  consolidated into: {application.parent}")
    if application.children:
        print(f"  consolidates: {', '.join(application.children)}")
    print(f"  next: {', '.join(a.value for a in application.allowed_actions()) or '(closed)'}")


def _materials(given: list[str] | None) -> tuple[Any, ...]:
    from workflow.model import Material

    found = []
    for item in given or ():
        name, sep, reference = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: write NAME=REFERENCE", param_hint="--material")
        found.append(Material(name.strip(), reference.strip()))
    return tuple(found)


@workflow_app.command("submit")
def submit(
    as_application: As, operator: Operator,
    resource: Annotated[str, typer.Option("--resource", help="The resource code.")],
    purpose: Annotated[str, typer.Option("--purpose", help="The purpose code (使用用途).")],
    scenario: Annotated[str, typer.Option("--scenario", help="The application scenario (应用场景).")],
    system: Annotated[str, typer.Option("--system", help="The system that will use the data.")],
    valid_from: Annotated[str, typer.Option("--from", help="Start of the requested period, YYYY-MM-DD.")],
    valid_until: Annotated[str, typer.Option("--until", help="End of the requested period, YYYY-MM-DD.")],
    field: Annotated[Optional[list[str]], typer.Option("--field", help="A coordinate; none: every conditional field.")] = None,
    mode: Annotated[Optional[list[str]], typer.Option("--mode", help="QUERY or CHECK (default QUERY).")] = None,
    material: Annotated[Optional[list[str]], typer.Option("--material", help="NAME=REFERENCE of a required material.")] = None,
    data_dir: DataDir = None,
) -> None:
    """A consumer applies for conditional data."""
    from workflow.model import Request

    request = Request(resource=resource, fields=tuple(field or ()), purpose=purpose, scenario=scenario,
                      system_name=system, modes=tuple(m.upper() for m in mode or ["QUERY"]),
                      valid_from=_date(valid_from, "--from"), valid_until=_date(valid_until, "--until"),
                      materials=_materials(material))
    _show(_step(data_dir, as_application, operator, lambda flow: flow.submit(request)))


@workflow_app.command("forward")
def forward(application_id: str, as_application: As, operator: Operator, version: Version = None,
            note: Annotated[str, typer.Option("--note")] = "", data_dir: DataDir = None) -> None:
    """The platform's normative check: forwarded to the provider, or returned with the findings."""
    _show(_step(data_dir, as_application, operator, lambda flow: flow.forward(application_id, version, note)))


@workflow_app.command("return")
def return_(application_id: str, as_application: As, operator: Operator,
            reason: Annotated[list[str], typer.Option("--reason", help="Why (one or more).")],
            version: Version = None, data_dir: DataDir = None) -> None:
    """The platform returns an application to the consumer."""
    _show(_step(data_dir, as_application, operator, lambda flow: flow.return_(application_id, reason, version)))


@workflow_app.command("resubmit")
def resubmit(application_id: str, as_application: As, operator: Operator, version: Version = None,
             data_dir: DataDir = None) -> None:
    """The consumer resubmits a returned application as it is (change it with the GraphQL mutation)."""
    _show(_step(data_dir, as_application, operator, lambda flow: flow.resubmit(application_id, None, version)))


@workflow_app.command("withdraw")
def withdraw(application_id: str, as_application: As, operator: Operator, version: Version = None,
             data_dir: DataDir = None) -> None:
    """The consumer withdraws its application."""
    _show(_step(data_dir, as_application, operator, lambda flow: flow.withdraw(application_id, version)))


@workflow_app.command("consolidate")
def consolidate(application_ids: list[str], as_application: As, operator: Operator,
                scenario: Annotated[str, typer.Option("--scenario")] = "", data_dir: DataDir = None) -> None:
    """The platform groups several departments' applications into one upward (整体授权)."""
    _show(_step(data_dir, as_application, operator, lambda flow: flow.consolidate(application_ids, scenario)))


@workflow_app.command("approve")
def approve(
    application_id: str, as_application: As, operator: Operator, version: Version = None,
    field: Annotated[Optional[list[str]], typer.Option("--field", help="Narrow to these coordinates.")] = None,
    mode: Annotated[Optional[list[str]], typer.Option("--mode", help="Narrow to these modes.")] = None,
    valid_from: Annotated[Optional[str], typer.Option("--from")] = None,
    valid_until: Annotated[Optional[str], typer.Option("--until")] = None,
    mask_field: Annotated[Optional[list[str]], typer.Option("--mask-field", help="Serve this field masked only.")] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    data_dir: DataDir = None,
) -> None:
    """The provider approves: the grant is in force at once."""
    from workflow.model import Approval

    approval = Approval(fields=tuple(field) if field else None, modes=tuple(m.upper() for m in mode) if mode else None,
                        valid_from=_date(valid_from, "--from") if valid_from else None,
                        valid_until=_date(valid_until, "--until") if valid_until else None,
                        mask_fields=tuple(mask_field or ()), note=note)
    _show(_step(data_dir, as_application, operator, lambda flow: flow.approve(application_id, approval, version)))


@workflow_app.command("refuse")
def refuse(application_id: str, as_application: As, operator: Operator,
           reason: Annotated[str, typer.Option("--reason", help="Why (mandatory).")],
           version: Version = None, data_dir: DataDir = None) -> None:
    """The provider refuses, with its reason."""
    _show(_step(data_dir, as_application, operator, lambda flow: flow.refuse(application_id, reason, version)))


@workflow_app.command("renew")
def renew(grant: str, as_application: As, operator: Operator,
          valid_until: Annotated[str, typer.Option("--until", help="The new end, YYYY-MM-DD.")],
          material: Annotated[Optional[list[str]], typer.Option("--material", help="NAME=REFERENCE.")] = None,
          scenario: Annotated[Optional[str], typer.Option("--scenario", help="Default: the original one.")] = None,
          system: Annotated[Optional[str], typer.Option("--system", help="Default: the original one.")] = None,
          data_dir: DataDir = None) -> None:
    """The consumer applies to renew one of its grants."""
    until = _date(valid_until, "--until")
    _show(_step(data_dir, as_application, operator,
                lambda flow: flow.renew(grant, until, _materials(material), scenario, system)))


def _grant_command(action: str) -> Any:
    def command(grant: str, as_application: As, operator: Operator,
                reason: Annotated[str, typer.Option("--reason", help="Why (mandatory to suspend or revoke).")] = "",
                data_dir: DataDir = None) -> None:
        changed = _step(data_dir, as_application, operator, lambda flow: flow.set_grant_status(grant, action, reason))
        print(f"{changed.id}  {changed.status.value}")

    command.__doc__ = f"The provider {action}s a grant of its resources; in force at once."
    return command


for _action in ("suspend", "resume", "revoke"):
    grant_app.command(_action)(_grant_command(_action))


@workflow_app.command("list")
def list_applications(
    state: Annotated[Optional[str], typer.Option("--state", help="Only this state.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only the overdue ones.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Every share application, newest first (the platform's view)."""
    from gateway import admin
    from store import workflow as rows
    from workflow.model import State
    from workflow.service import now

    try:
        wanted = State(state.upper()) if state else None
    except ValueError:
        raise typer.BadParameter(f"one of {', '.join(s.value for s in State)}", param_hint="--state") from None
    today = now().date()

    async def read(store: Any, _catalog: Any) -> list[Any]:
        if overdue:
            return [a for a in await rows.overdue_applications(store, today) if wanted in (None, a.state)]
        return await rows.list_applications(store, rows.ApplicationFilter(state=wanted))

    for a in asyncio.run(admin.read_workflow(_settings(data_dir), read)):
        stage = a.overdue_stage(today)
        print(f"{a.id}\t{a.state.value}\t{a.application or a.department}\t{a.provider}\t{a.request.resource}\t"
              f"due {a.due() or '-'}" + (f"\tOVERDUE {stage}" if stage else ""))


@workflow_app.command("show")
def show(application_id: str, data_dir: DataDir = None) -> None:
    """One share application."""
    from gateway import admin
    from store import workflow as rows

    found = asyncio.run(admin.read_workflow(_settings(data_dir), lambda store, _c: rows.load_application(store, application_id)))
    if found is None:
        print(f"no share application {application_id}", file=sys.stderr)
        raise typer.Exit(code=1)
    _show(found)


@workflow_app.command("events")
def events(after: Annotated[int, typer.Option("--after", help="Only events after this seq.")] = 0,
           department: Annotated[Optional[str], typer.Option("--department")] = None, data_dir: DataDir = None) -> None:
    """Notifications, oldest first, one JSON object a line."""
    from gateway import admin
    from store import workflow as rows

    found = asyncio.run(admin.read_workflow(_settings(data_dir),
                                            lambda store, _c: rows.load_events(store, department, after, 1000)))
    for event in found:
        print(json.dumps(event.as_json(), ensure_ascii=False))


@workflow_app.command("sweep")
def sweep(data_dir: DataDir = None) -> None:
    """Raise the notifications that time triggers: overdue applications, grants ending soon."""
    from gateway import admin
    from workflow.service import Deadlines, now
    from workflow.sweep import sweep as run_sweep

    settings = _settings(data_dir)
    result = asyncio.run(admin.read_workflow(
        settings, lambda store, catalog: run_sweep(store, catalog, Deadlines.of(settings), now())))
    print(f"overdue notifications raised: {result.overdue}; expiring: {result.expiring}")


@calendar_app.command("import")
def calendar_import(notice_file: Path, as_application: As, operator: Operator,
                    replace: Annotated[bool, typer.Option("--replace", help="Replace a year the calendar covers "
                                                          "already (a correction).")] = False,
                    data_dir: DataDir = None) -> None:
    """Record a year's holiday notice (TOML; docs/workflow.md) so that deadlines reach into that year; the
    platform (a PLATFORM_ADMIN application) records it."""
    from gateway import admin
    from workflow.calendar import NoticeError, parse_notice

    try:
        notice = parse_notice(notice_file.read_text(encoding="utf-8"))
        replaced = asyncio.run(admin.record_notice(_settings(data_dir), notice, as_application, operator, replace))
    except (NoticeError, admin.WorkflowRefused, OSError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        raise typer.Exit(code=1) from None
    print(f"{'replaced' if replaced else 'recorded'} the notice for {notice.year}: {len(notice.holidays)} holidays, "
          f"{len(notice.workdays)} adjusted working days")


@calendar_app.command("due")
def calendar_due(start: Annotated[str, typer.Option("--from", help="The day the clock starts, YYYY-MM-DD.")],
                 days: Annotated[int, typer.Option("--days", help="Working days.")], data_dir: DataDir = None) -> None:
    """The day a deadline of DAYS working days from START falls on."""
    from gateway import admin
    from store import workflow as rows
    from workflow.calendar import CalendarNotCovered, WorkingCalendar

    notices = asyncio.run(admin.read_workflow(_settings(data_dir), lambda store, _c: rows.load_notices(store)))
    try:
        print(WorkingCalendar(notices).add_working_days(_date(start, "--from"), days).isoformat())
    except (CalendarNotCovered, ValueError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        raise typer.Exit(code=1) from None


@calendar_app.command("show")
def calendar_show(data_dir: DataDir = None) -> None:
    """The years the calendar covers, and the notices administrators recorded."""
    from gateway import admin
    from store import workflow as rows
    from workflow.calendar import WorkingCalendar

    notices = asyncio.run(admin.read_workflow(_settings(data_dir), lambda store, _c: rows.load_notices(store)))
    first, last = WorkingCalendar(notices).coverage()
    print(f"covered: {first} to {last}")
    for notice in notices:
        print(f"{notice.year}: recorded notice {notice.source or '(no source)'}: {len(notice.holidays)} holidays, "
              f"{len(notice.workdays)} adjusted working days")


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option) from None
