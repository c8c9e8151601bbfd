"""Deadlines in Chinese working days and the sweep's notifications, on the demo platform store
with a fixed clock (workflow.service, workflow.sweep)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import chinese_calendar
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import ErrorCode
from gateway.runtime import make_engine
from gateway.settings import Settings
from policies.grants import Grant, GrantStatus
from schema.catalog import Catalog
from store import repository
from store import workflow as rows
from store.workflow import ApplicationFilter
from workflow.calendar import LIBRARY_YEARS, parse_notice
from workflow.model import Approval, Material, Request, ShareApplication, State, WorkflowError
from workflow.service import CST, Actor, Deadlines, Workflow
from workflow.sweep import SweepResult, sweep
from workflow.unit import open_workflow

T = TypeVar("T")
POPULATION = "1-01-001-001/000001"
MATERIALS = (Material("共享申请函", "市监函〔2025〕12号"), Material("法定职责依据", "《市场主体登记管理条例》第五条"))
FORWARDED_AT = datetime(2025, 9, 26, 10, 0, tzinfo=CST)  # a Friday before the National Day holiday
LAST_COVERED = LIBRARY_YEARS.stop - 1
DEFAULTS = Deadlines()


@dataclass
class Platform:
    engine: AsyncEngine
    catalog: Catalog

    async def step(self, app_id: str, operator: str, at: datetime, deadlines: Deadlines,
                   action: Callable[[Workflow], Awaitable[T]]) -> T:
        """One workflow step in its own transaction, its notifications stored with it."""
        application = await repository.load_application(self.engine, app_id)
        assert application is not None
        async with self.engine.begin() as conn:
            flow = await open_workflow(conn, self.catalog, Actor(application, operator), deadlines, at=at)
            result = await action(flow)
            await rows.add_events(conn, flow.events, flow.at.isoformat())
        return result

    async def submit(self, at: datetime, deadlines: Deadlines = DEFAULTS) -> ShareApplication:
        return await self.step("scjg-licensing", "scjg-sunwei", at, deadlines, lambda flow: flow.submit(request(at)))

    async def forward(self, application_id: str, at: datetime, deadlines: Deadlines = DEFAULTS) -> ShareApplication:
        forwarded = await self.step("sj-platform-admin", "sj-zhoumin", at, deadlines,
                                    lambda flow: flow.forward(application_id, None))
        assert forwarded.state is State.FORWARDED, forwarded.reasons
        return forwarded

    async def applications(self) -> list[ShareApplication]:
        return await rows.list_applications(self.engine, ApplicationFilter())


@pytest.fixture
async def demo(settings: Settings) -> AsyncIterator[Platform]:
    engine = make_engine(settings.store_url)
    try:
        yield Platform(engine, await repository.load_catalog(engine))
    finally:
        await engine.dispose()


def request(at: datetime) -> Request:
    today = at.astimezone(CST).date()
    return Request(resource=POPULATION, fields=("Person.maritalStatus",), purpose="MARKET_SUPERVISION",
                   scenario="企业登记注册时核验法定代表人婚姻状况以防虚假登记", system_name="企业准入审批系统",
                   modes=("QUERY",), valid_from=today, valid_until=today + timedelta(days=180), materials=MATERIALS)


def cst(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CST)


# Deadlines.


async def test_deadlines_skip_the_national_day_holiday(demo: Platform) -> None:
    submitted = await demo.submit(FORWARDED_AT, Deadlines(check_days=3))
    assert submitted.state is State.SUBMITTED
    assert submitted.submitted_on == date(2025, 9, 26)
    assert submitted.check_due == date(2025, 9, 30)  # Sunday 09-28 is worked: 09-28, 09-29, 09-30
    assert submitted.due() == date(2025, 9, 30) and submitted.reply_due is None

    forwarded = await demo.forward(submitted.id, FORWARDED_AT, Deadlines(reply_days=5))
    assert forwarded.forwarded_on == date(2025, 9, 26)
    assert forwarded.reply_due == date(2025, 10, 10)  # the example: 10-01..10-08 off
    assert forwarded.due() == date(2025, 10, 10)

    other = await demo.submit(FORWARDED_AT)
    longer = await demo.forward(other.id, FORWARDED_AT, Deadlines(reply_days=10))
    # 09-28, 09-29, 09-30, 10-09, 10-10, 10-11 (an adjusted working Saturday), 10-13, 10-14, 10-15, 10-16.
    assert longer.reply_due == date(2025, 10, 16)


async def test_the_deadline_counts_from_the_date_in_china(demo: Platform) -> None:
    # 17:30 UTC on 09-25 is already 01:30 on 09-26 in Beijing.
    submitted = await demo.submit(datetime(2025, 9, 25, 17, 30, tzinfo=UTC), Deadlines(check_days=3))
    assert submitted.submitted_on == date(2025, 9, 26) and submitted.check_due == date(2025, 9, 30)
    assert submitted.id.startswith("SA-20250926-")


async def test_overdue_stages(demo: Platform) -> None:
    waiting = await demo.submit(FORWARDED_AT, Deadlines(check_days=3))
    assert waiting.overdue_stage(date(2025, 9, 26)) is None
    assert waiting.overdue_stage(date(2025, 9, 30)) is None  # on the due day itself
    assert waiting.overdue_stage(date(2025, 10, 1)) == "CHECK"

    forwarded = await demo.forward((await demo.submit(FORWARDED_AT)).id, FORWARDED_AT)
    assert forwarded.reply_due == date(2025, 10, 10)
    assert forwarded.overdue_stage(date(2025, 10, 1)) is None  # forwarded: the check is done
    assert forwarded.overdue_stage(date(2025, 10, 10)) is None
    assert forwarded.overdue_stage(date(2025, 10, 11)) == "REPLY"

    approved = await demo.step("ga-data-officer", "ga-lihua", cst(2025, 10, 9, 15, 0), Deadlines(),
                                   lambda flow: flow.approve(forwarded.id, Approval(), forwarded.version))
    assert approved.state is State.APPROVED and approved.due() is None
    assert approved.overdue_stage(date(2025, 12, 31)) is None


# The sweep.


async def test_an_overdue_application_is_notified_once(demo: Platform) -> None:
    late_check = await demo.submit(FORWARDED_AT, Deadlines(check_days=3))  # due 09-30
    late_reply = await demo.forward((await demo.submit(FORWARDED_AT)).id, FORWARDED_AT)  # due 10-10
    assert len(await demo.applications()) == 2

    on_time = await sweep(demo.engine, demo.catalog, Deadlines(), at=cst(2025, 9, 30, 18, 0))
    assert on_time == SweepResult(overdue=0, expiring=0)

    first = await sweep(demo.engine, demo.catalog, Deadlines(), at=cst(2025, 10, 13, 9, 0))
    assert first == SweepResult(overdue=2, expiring=0)
    again = await sweep(demo.engine, demo.catalog, Deadlines(), at=cst(2025, 10, 13, 9, 5))
    assert again == SweepResult(overdue=0, expiring=0)
    later = await sweep(demo.engine, demo.catalog, Deadlines(), at=cst(2025, 10, 20, 9, 0))
    assert later.overdue == 0

    for department in ("SCJG", "GA"):
        events = await rows.load_events(demo.engine, department, kind="OVERDUE")
        found = {e.event.share_application: e.event for e in events}
        assert set(found) == {late_check.id, late_reply.id}, department
        assert found[late_check.id].detail == {"stage": "CHECK", "due": "2025-09-30"}
        assert found[late_reply.id].detail == {"stage": "REPLY", "due": "2025-10-10"}
        assert all(e.event.consumer == "SCJG" and e.event.provider == "GA" for e in events)
        assert all(e.at == cst(2025, 10, 13, 9, 0).isoformat() for e in events)
    assert await rows.load_events(demo.engine, "RS") == []
    assert await rows.load_events(demo.engine, "FG", kind="OVERDUE") == []


async def test_a_grant_ending_within_the_notice_period_is_notified_once(demo: Platform) -> None:
    at = cst(2025, 10, 13, 9, 0)
    today = at.date()

    def grant(grant_id: str, days_left: int, status: GrantStatus = GrantStatus.ACTIVE) -> Grant:
        return Grant(id=grant_id, application="scjg-licensing", resource=POPULATION, fields=("Person.maritalStatus",),
                     purpose="MARKET_SUPERVISION", modes=("QUERY",), valid_from=today - timedelta(days=90),
                     valid_until=today + timedelta(days=days_left), status=status)

    async with demo.engine.begin() as conn:
        await repository.insert_grant(conn, grant("G-T-SOON", 7), scenario="企业登记核验")
    async with demo.engine.begin() as conn:
        await repository.insert_grant(conn, grant("G-T-LATER", 8), scenario="企业登记核验")
    async with demo.engine.begin() as conn:
        await repository.insert_grant(conn, grant("G-T-SUSPENDED", 3, GrantStatus.SUSPENDED), scenario="企业登记核验")
    async with demo.engine.begin() as conn:
        await repository.insert_grant(conn, grant("G-T-ENDED", -1), scenario="企业登记核验")

    first = await sweep(demo.engine, demo.catalog, Deadlines(), at=at)
    assert first == SweepResult(overdue=0, expiring=1)
    assert await sweep(demo.engine, demo.catalog, Deadlines(), at=at + timedelta(hours=1)) == SweepResult(0, 0)
    # The next day the grant ending in 8 days comes within the notice period; the first is not raised again.
    assert await sweep(demo.engine, demo.catalog, Deadlines(), at=at + timedelta(days=1)) == SweepResult(0, 1)

    for department in ("SCJG", "GA"):
        events = await rows.load_events(demo.engine, department, kind="EXPIRING")
        assert [e.event.grant_id for e in events] == ["G-T-SOON", "G-T-LATER"], department
        soon = events[0].event
        assert soon.consumer == "SCJG" and soon.provider == "GA"
        assert soon.detail == {"validUntil": (today + timedelta(days=7)).isoformat(), "daysLeft": 7}
        assert events[1].event.detail == {"validUntil": (today + timedelta(days=8)).isoformat(), "daysLeft": 7}
    assert await rows.load_events(demo.engine, "MZ") == []
    assert await rows.load_events(demo.engine, "RS", kind="EXPIRING") == []


async def test_a_shorter_notice_period_raises_nothing_for_a_grant_ending_later(demo: Platform) -> None:
    at = cst(2025, 10, 13, 9, 0)
    async with demo.engine.begin() as conn:
        await repository.insert_grant(conn, Grant(
            id="G-T-SOON", application="scjg-licensing", resource=POPULATION, fields=(), purpose="MARKET_SUPERVISION",
            modes=("QUERY",), valid_from=at.date(), valid_until=at.date() + timedelta(days=5),
            status=GrantStatus.ACTIVE))
    assert await sweep(demo.engine, demo.catalog, Deadlines(expiry_notice_days=3), at=at) == SweepResult(0, 0)
    assert await sweep(demo.engine, demo.catalog, Deadlines(expiry_notice_days=5), at=at) == SweepResult(0, 1)


# The calendar's coverage.


async def test_a_deadline_beyond_the_calendar_is_refused_until_its_notice_is_recorded(demo: Platform) -> None:
    at = cst(LAST_COVERED, 12, 28, 10, 0)  # five working days cannot end in the same year
    application = await repository.load_application(demo.engine, "scjg-licensing")
    assert application is not None
    async with demo.engine.begin() as conn:
        flow = await open_workflow(conn, demo.catalog, Actor(application, "scjg-sunwei"), Deadlines(check_days=5),
                                   at=at)
        with pytest.raises(WorkflowError) as refused:
            await flow.submit(request(at))
        assert flow.changes == [] and flow.events == []
        # The transaction commits: nothing was written before the refusal.
    assert refused.value.code is ErrorCode.CALENDAR_NOT_COVERED
    assert str(LAST_COVERED + 1) in refused.value.message and "gateway calendar import" in refused.value.message
    assert await demo.applications() == []
    assert await rows.load_events(demo.engine, None) == []

    notice = parse_notice(f"""
        year = {LAST_COVERED + 1}
        source = "国办发明电〔{LAST_COVERED}〕X号"
        [[holidays]]
        name = "元旦"
        days = ["{LAST_COVERED + 1}-01-01", "{LAST_COVERED + 1}-01-02", "{LAST_COVERED + 1}-01-03"]
    """)
    async with demo.engine.begin() as conn:
        assert await rows.save_notice(conn, notice, "sj-zhoumin", at.isoformat()) is False
    assert [n.year for n in await rows.load_notices(demo.engine)] == [LAST_COVERED + 1]

    submitted = await demo.submit(at, Deadlines(check_days=5))
    # Counted by hand: the library's working days left in December, then weekdays from 4 January
    # (1-3 January are the notice's holidays; it makes no weekend a working day).
    left = 5 - sum(chinese_calendar.is_workday(date(LAST_COVERED, 12, d)) for d in (29, 30, 31))
    weekdays = [d for d in (date(LAST_COVERED + 1, 1, 4) + timedelta(days=i) for i in range(14)) if d.weekday() < 5]
    assert submitted.check_due == weekdays[left - 1]
    assert [a.id for a in await demo.applications()] == [submitted.id]


async def test_recording_a_notice_again_replaces_it(demo: Platform) -> None:
    year = LAST_COVERED + 1
    first = parse_notice(f'year = {year}\n[[holidays]]\nname = "元旦"\ndays = ["{year}-01-01"]\n')
    second = parse_notice(f'year = {year}\nsource = "更正"\n[[holidays]]\nname = "元旦"\n'
                          f'days = ["{year}-01-01", "{year}-01-04"]\n')
    async with demo.engine.begin() as conn:
        assert await rows.save_notice(conn, first, "sj-zhoumin", "2026-12-01T00:00:00+08:00") is False
    async with demo.engine.begin() as conn:
        assert await rows.save_notice(conn, second, "sj-zhoumin", "2026-12-02T00:00:00+08:00") is True
    (stored,) = await rows.load_notices(demo.engine)
    assert stored == second
