"""Reading and writing the workflow's rows: share applications, notifications, calendar notices."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables as t
from store.repository import Bind, reading
from workflow.calendar import YearNotice
from workflow.model import Kind, Material, Request, ShareApplication, State

A = t.share_applications


def _application(r: Any, children: Sequence[str] = ()) -> ShareApplication:
    request = Request(
        resource=r.resource, fields=tuple(r.fields), purpose=r.purpose, scenario=r.scenario,
        system_name=r.system_name, modes=tuple(r.modes), valid_from=r.requested_from,
        valid_until=r.requested_until,
        materials=tuple(Material(str(m.get("name", "")), str(m.get("reference", ""))) for m in r.materials),
    )
    return ShareApplication(
        id=r.id, kind=Kind(r.kind), application=r.application, department=r.department, provider=r.provider,
        request=request, state=State(r.state), version=int(r.version), submitted_by=r.submitted_by,
        submitted_on=r.submitted_on, check_due=r.check_due, forwarded_on=r.forwarded_on, reply_due=r.reply_due,
        decided_on=r.decided_on, decision=r.decision, reasons=tuple(r.reasons or ()), grant_id=r.grant_id,
        renews=r.renews, parent=r.parent, updated_at=r.updated_at, children=tuple(children),
    )


async def insert_application(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(A.insert().values(**values))


async def load_application(bind: Bind, application_id: str) -> ShareApplication | None:
    async with reading(bind) as conn:
        row = (await conn.execute(select(A).where(A.c.id == application_id))).first()
        if row is None:
            return None
        children = (await conn.execute(select(A.c.id).where(A.c.parent == application_id).order_by(A.c.id))).scalars()
        return _application(row, list(children))


@dataclass(frozen=True)
class ApplicationFilter:
    """What a reader asks for; `departments` is the reader's scope (None: every department)."""

    departments: frozenset[str] | None = None  # applied by, or provided by, one of these
    state: State | None = None
    resource: str | None = None
    application: str | None = None
    ids: tuple[str, ...] | None = None


async def list_applications(bind: Bind, flt: ApplicationFilter, limit: int = 500) -> list[ShareApplication]:
    query: Select[Any] = select(A)
    if flt.departments is not None:
        query = query.where(or_(A.c.department.in_(flt.departments), A.c.provider.in_(flt.departments)))
    if flt.state is not None:
        query = query.where(A.c.state == flt.state.value)
    if flt.resource is not None:
        query = query.where(A.c.resource == flt.resource)
    if flt.application is not None:
        query = query.where(A.c.application == flt.application)
    if flt.ids is not None:
        query = query.where(A.c.id.in_(flt.ids))
    async with reading(bind) as conn:
        rows = list(await conn.execute(query.order_by(A.c.submitted_on.desc(), A.c.id.desc()).limit(limit)))
        parents = [r.id for r in rows if r.kind == Kind.CONSOLIDATED.value]
        children: dict[str, list[str]] = {p: [] for p in parents}
        if parents:
            for child, parent in await conn.execute(select(A.c.id, A.c.parent).where(A.c.parent.in_(parents))
                                                    .order_by(A.c.id)):
                children[parent].append(child)
    return [_application(r, children.get(r.id, ())) for r in rows]


async def overdue_applications(bind: Bind, today: date, departments: frozenset[str] | None = None
                               ) -> list[ShareApplication]:
    """Every application past the deadline of the step it waits for: the platform's check
    (SUBMITTED) or the provider's reply (FORWARDED); oldest deadline first."""
    late = or_((A.c.state == State.SUBMITTED.value) & (A.c.check_due < today),
               (A.c.state == State.FORWARDED.value) & (A.c.reply_due < today))
    query = select(A).where(late)
    if departments is not None:
        query = query.where(or_(A.c.department.in_(departments), A.c.provider.in_(departments)))
    async with reading(bind) as conn:
        return [_application(r) for r in await conn.execute(query.order_by(A.c.id))]


async def transition(conn: AsyncConnection, application_id: str, version: int, values: dict[str, Any]) -> bool:
    """Move an application on if nobody else did since it was read at `version`: one UPDATE
    decides, so of two concurrent decisions exactly one wins."""
    result = await conn.execute(update(A).where((A.c.id == application_id) & (A.c.version == version))
                                .values(**values, version=version + 1))
    return bool(result.rowcount)


async def set_grant_status_if(conn: AsyncConnection, grant_id: str, expected: str, status: str) -> bool:
    result = await conn.execute(update(t.grants).where((t.grants.c.id == grant_id) & (t.grants.c.status == expected))
                                .values(status=status))
    return bool(result.rowcount)


async def grant_row(bind: Bind, grant_id: str) -> Any:
    async with reading(bind) as conn:
        return (await conn.execute(select(t.grants).where(t.grants.c.id == grant_id))).first()


# Notifications.

E = t.workflow_events


@dataclass(frozen=True)
class Event:
    kind: str
    share_application: str | None = None
    grant_id: str | None = None
    consumer: str | None = None
    provider: str | None = None
    actor: str | None = None
    detail: dict[str, Any] | None = None
    dedupe: str | None = None  # a time-triggered event's identity: raised at most once


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    at: str
    event: Event

    def as_json(self) -> dict[str, Any]:
        e = self.event
        return {"seq": self.seq, "at": self.at, "kind": e.kind, "shareApplication": e.share_application,
                "grant": e.grant_id, "consumer": e.consumer, "provider": e.provider, "actor": e.actor,
                "detail": e.detail or {}}

    def ndjson(self) -> str:
        """One line of a webhook's NDJSON body: compact, keys sorted."""
        return json.dumps(self.as_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


async def add_events(conn: AsyncConnection, events: Iterable[Event], at: str) -> int:
    """Store events in the caller's transaction; one whose `dedupe` is stored already is skipped.
    The number stored."""
    stored = 0
    events = list(events)
    if events and conn.dialect.name == "postgresql":
        # Writers take turns, so events commit in seq order and a pusher's cursor never passes one
        # still to commit (SQLite's single writer gives the same order); readers are not blocked.
        await conn.execute(text("LOCK TABLE workflow_events IN SHARE ROW EXCLUSIVE MODE"))
    for e in events:
        values = {"at": at, "kind": e.kind, "share_application": e.share_application, "grant_id": e.grant_id,
                  "consumer": e.consumer, "provider": e.provider, "actor": e.actor, "detail": e.detail or {},
                  "dedupe": e.dedupe}
        if e.dedupe is None:
            await conn.execute(insert(E).values(**values))
            stored += 1
            continue
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        result = await conn.execute(dialect.insert(E).values(**values).on_conflict_do_nothing(index_elements=["dedupe"]))
        stored += result.rowcount or 0
    return stored


def _event(r: Any) -> StoredEvent:
    return StoredEvent(int(r.seq), r.at, Event(r.kind, r.share_application, r.grant_id, r.consumer, r.provider,
                                               r.actor, dict(r.detail or {}), r.dedupe))


def _concerning(department: str) -> Any:
    return or_(E.c.provider == department, E.c.consumer == department)


async def load_events(bind: Bind, department: str | None, after: int = 0, limit: int = 100,
                      kind: str | None = None) -> list[StoredEvent]:
    """Events after `after`, oldest first: those concerning `department` (as consumer or
    provider), or every event when `department` is None."""
    query = select(E).where(E.c.seq > after)
    if department is not None:
        query = query.where(_concerning(department))
    if kind is not None:
        query = query.where(E.c.kind == kind)
    async with reading(bind) as conn:
        return [_event(r) for r in await conn.execute(query.order_by(E.c.seq).limit(limit))]


async def last_event_seq(bind: Bind) -> int:
    async with reading(bind) as conn:
        return int((await conn.execute(select(E.c.seq).order_by(E.c.seq.desc()).limit(1))).scalar() or 0)


async def active_grants_ending(bind: Bind, start: date, end: date) -> list[Any]:
    g = t.grants
    async with reading(bind) as conn:
        return list(await conn.execute(select(g).where(and_(g.c.status == "ACTIVE", g.c.valid_until >= start,
                                                            g.c.valid_until <= end)).order_by(g.c.id)))


# The calendar's yearly notices.

N = t.calendar_notices


async def load_notices(bind: Bind) -> list[YearNotice]:
    async with reading(bind) as conn:
        rows = await conn.execute(select(N).order_by(N.c.year))
        return [YearNotice(int(r.year), {date.fromisoformat(d): n for d, n in r.holidays.items()},
                           {date.fromisoformat(d): n for d, n in r.workdays.items()}, r.source) for r in rows]


async def save_notice(conn: AsyncConnection, notice: YearNotice, operator: str, at: str) -> bool:
    """Record (or replace) a year's notice; True when it replaced one."""
    values = {"holidays": {d.isoformat(): n for d, n in sorted(notice.holidays.items())},
              "workdays": {d.isoformat(): n for d, n in sorted(notice.workdays.items())},
              "source": notice.source, "recorded_by": operator, "recorded_at": at}
    result = await conn.execute(update(N).where(N.c.year == notice.year).values(**values))
    if result.rowcount:
        return True
    await conn.execute(N.insert().values(year=notice.year, **values))
    return False
