"""One request's administrative changes as one unit: a transaction opened on first use, the
workflow's notifications stored in it, committed by the caller only after the audit record is
durable. Workflow steps and policy administration (policies/administration.py) share it.

    unit = WorkflowUnit(engine, catalog, deadlines)
    flow = await unit.workflow(actor)       # begins the transaction
    await flow.approve(...)                 # rows change, nothing is committed
    await unit.prepare()                    # the notifications join the transaction
    await audit.append(record_with(unit.changes))
    await unit.commit()                     # or unit.rollback(): no audit, no change
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schema.catalog import Catalog
from store import repository
from store import workflow as rows
from workflow.calendar import WorkingCalendar
from workflow.service import Actor, Deadlines, Workflow, now


class WorkflowUnit:
    def __init__(self, engine: AsyncEngine, catalog: Catalog, deadlines: Deadlines,
                 clock: Callable[[], datetime] = now) -> None:
        self.engine = engine
        self.catalog = catalog
        self.deadlines = deadlines
        self.clock = clock
        self._conn: AsyncConnection | None = None
        self._flows: list[Workflow] = []
        self._recorded: list[dict[str, Any]] = []
        self._policy_recorded = False

    async def connection(self) -> AsyncConnection:
        """The unit's transaction, begun on first use."""
        if self._conn is None:
            self._conn = await self.engine.connect()
            await self._conn.begin()
        return self._conn

    async def workflow(self, actor: Actor) -> Workflow:
        flow = await open_workflow(await self.connection(), self.catalog, actor, self.deadlines, self.clock())
        self._flows.append(flow)
        return flow

    def record(self, changes: list[dict[str, Any]], policy: bool) -> None:
        """Changes made on `connection()` by other than a workflow (policy administration)."""
        self._recorded.extend(changes)
        self._policy_recorded = self._policy_recorded or (policy and bool(changes))

    @property
    def open(self) -> bool:
        return self._conn is not None

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [change.as_audit() for flow in self._flows for change in flow.changes] + self._recorded

    @property
    def changes_policy(self) -> bool:
        return self._policy_recorded or any(c.grant is not None for flow in self._flows for c in flow.changes)

    async def prepare(self) -> None:
        for flow in self._flows:
            await rows.add_events(flow.conn, flow.events, flow.at.isoformat())

    async def commit(self) -> None:
        await self._finish(commit=True)

    async def rollback(self) -> None:
        await self._finish(commit=False)

    async def _finish(self, commit: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if commit:
                await conn.commit()
            else:
                await conn.rollback()
        finally:
            await conn.close()


async def open_workflow(conn: AsyncConnection, catalog: Catalog, actor: Actor, deadlines: Deadlines,
                        at: datetime | None = None) -> Workflow:
    """A `Workflow` on `conn`, with the principals and the calendar as the store holds them now."""
    principals = await repository.load_principals(conn)
    calendar = WorkingCalendar(await rows.load_notices(conn))
    return Workflow(conn, catalog, principals, calendar, deadlines, actor, at or now())
