"""The workflow tests that run on today's date need a calendar that covers the next weeks."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from gateway.runtime import make_engine
from gateway.settings import Settings
from store import workflow as rows
from workflow.calendar import WorkingCalendar, YearNotice
from workflow.service import now


async def cover_the_coming_weeks(settings: Settings) -> WorkingCalendar:
    """Deadlines of steps taken today reach about two months ahead. Should that run past the
    calendar library's years (late in its last year, before a new release), record a notice of
    New Year's Day alone for the missing year, as an administrator would record the real one."""
    engine = make_engine(settings.store_url)
    try:
        calendar = WorkingCalendar(await rows.load_notices(engine))
        today = now().date()
        missing = sorted({y for y in (today.year, (today + timedelta(days=60)).year) if not calendar.covers(y)})
        async with engine.begin() as conn:
            for year in missing:
                await rows.save_notice(conn, YearNotice(year, {date(year, 1, 1): "元旦"}, source="tests"), "tests",
                                       now().isoformat())
        return WorkingCalendar(await rows.load_notices(engine))
    finally:
        await engine.dispose()


@pytest.fixture
def covered(settings: Settings) -> WorkingCalendar:
    return asyncio.run(cover_the_coming_weeks(settings))
