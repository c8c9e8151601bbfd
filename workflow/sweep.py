"""Time-triggered notifications: overdue applications and grants about to end. Run by every
worker on a timer and by `gateway workflow sweep`; each event is raised once (its `dedupe` key),
however many workers sweep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from schema.catalog import Catalog
from store import repository
from store import workflow as rows
from store.workflow import Event
from workflow.service import CST, Deadlines


@dataclass(frozen=True)
class SweepResult:
    overdue: int  # OVERDUE notifications raised now
    expiring: int  # EXPIRING notifications raised now


async def sweep(engine: AsyncEngine, catalog: Catalog, deadlines: Deadlines, at: datetime) -> SweepResult:
    today = at.astimezone(CST).date()
    overdue: list[Event] = []
    for application in await rows.overdue_applications(engine, today):
        stage, due = application.overdue_stage(today), application.due()
        overdue.append(Event(
            "OVERDUE", application.id, None, application.department, application.provider, None,
            {"stage": stage, "due": due.isoformat() if due else None}, dedupe=f"overdue:{application.id}:{stage}:{due}"))
    departments = (await repository.load_principals(engine)).application_departments()
    expiring: list[Event] = []
    for grant in await rows.active_grants_ending(engine, today, today + timedelta(days=deadlines.expiry_notice_days)):
        resource = catalog.resources.get(grant.resource)
        expiring.append(Event(
            "EXPIRING", grant.share_application, grant.id, departments.get(grant.application),
            resource.provider if resource else None, None,
            {"validUntil": grant.valid_until.isoformat(), "daysLeft": (grant.valid_until - today).days},
            dedupe=f"expiring:{grant.id}:{grant.valid_until.isoformat()}"))
    async with engine.begin() as conn:
        raised_overdue = await rows.add_events(conn, overdue, at.isoformat())
        raised_expiring = await rows.add_events(conn, expiring, at.isoformat())
    return SweepResult(raised_overdue, raised_expiring)
