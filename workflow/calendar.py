"""Chinese working days (工作日): statutory holidays and adjusted working weekends (调休).

The base is `chinesecalendar`, which knows every year up to its release; a year beyond it is
covered only once a platform administrator records that year's State Council notice
(`gateway calendar import`). A date outside the coverage is an explicit error, never a guess:
a deadline computed on a wrong calendar would flag a provider overdue, or hide a late reply.
A notice recorded for a year the library also knows replaces the library's days of that year.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import chinese_calendar
from chinese_calendar import constants

LIBRARY_YEARS = range(
    min(d.year for d in constants.holidays), max(d.year for d in [*constants.holidays, *constants.workdays]) + 1
)
MAX_WORKING_DAYS = 250  # a deadline longer than a working year is an input error


class CalendarNotCovered(ValueError):
    """The calendar has no data for the year a computation needs."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"the working-day calendar does not cover {year}: a platform administrator must record that year's "
            f"holiday notice first (gateway calendar import NOTICE.toml); see docs/workflow.md"
        )
        self.year = year


class NoticeError(ValueError):
    """A holiday notice that cannot be recorded; the message says what is wrong."""


@dataclass(frozen=True)
class YearNotice:
    """One year's official arrangement (国务院办公厅关于某年部分节假日安排的通知): the days off
    that fall on weekdays or weekends, and the weekend days that are worked."""

    year: int
    holidays: dict[date, str] = field(default_factory=dict)  # day → holiday name
    workdays: dict[date, str] = field(default_factory=dict)  # adjusted working weekend day → holiday it makes up for
    source: str = ""  # the notice's title or number

    def __post_init__(self) -> None:
        for day in [*self.holidays, *self.workdays]:
            if day.year != self.year:
                raise NoticeError(f"{day.isoformat()} is not in {self.year}")
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise NoticeError(f"{min(both).isoformat()} is listed both as a holiday and as a working day")
        weekdays = [d for d in self.workdays if d.weekday() < 5]
        if weekdays:
            raise NoticeError(f"{min(weekdays).isoformat()} is a weekday: only a weekend day can be made a working day")
        if not self.holidays:
            raise NoticeError(f"the notice for {self.year} lists no holiday")


def parse_notice(text: str) -> YearNotice:
    """A notice file (TOML), e.g.

        year = 2027
        source = "国办发明电〔2026〕X号"
        [[holidays]]
        name = "元旦"
        days = ["2027-01-01", "2027-01-02", "2027-01-03"]
        workdays = []            # weekend days worked for this holiday
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NoticeError(f"not a TOML notice: {exc}") from None
    year = doc.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise NoticeError("`year` must be a year, e.g. year = 2027")
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    entries = doc.get("holidays", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise NoticeError("write each holiday as a [[holidays]] table with a name and its days")
    for entry in entries:
        name = str(entry.get("name", "")).strip()
        if not name:
            raise NoticeError("every [[holidays]] entry needs a name")
        for target, key in ((holidays, "days"), (workdays, "workdays")):
            listed = entry.get(key, [])
            if not isinstance(listed, list):
                raise NoticeError(f"`{key}` of {name} must be a list of dates")
            for text_day in listed:
                day = _day(text_day)
                if day in target:
                    raise NoticeError(f"{day.isoformat()} is listed twice")
                target[day] = name
    return YearNotice(year, holidays, workdays, str(doc.get("source", "")))


def _day(value: object) -> date:
    if isinstance(value, datetime):
        raise NoticeError(f"{value.isoformat()} is a date and time: give the day only (YYYY-MM-DD)")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise NoticeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class WorkingCalendar:
    def __init__(self, notices: Iterable[YearNotice] = ()) -> None:
        self.notices: Mapping[int, YearNotice] = {n.year: n for n in notices}

    def covers(self, year: int) -> bool:
        return year in self.notices or year in LIBRARY_YEARS

    def coverage(self) -> tuple[int, int]:
        """The first and last year covered without a gap."""
        first, last = LIBRARY_YEARS.start, LIBRARY_YEARS.stop - 1
        while self.covers(last + 1):
            last += 1
        return first, last

    def is_working_day(self, day: date) -> bool:
        notice = self.notices.get(day.year)
        if notice is not None:
            if day in notice.holidays:
                return False
            return day in notice.workdays or day.weekday() < 5
        if day.year not in LIBRARY_YEARS:
            raise CalendarNotCovered(day.year)
        return bool(chinese_calendar.is_workday(day))

    def add_working_days(self, start: date, days: int) -> date:
        """The day `days` working days after `start`: counting starts the next day, so an
        application forwarded on 2025-09-26 with 5 working days is due on 2025-10-10."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"a deadline is 0 to {MAX_WORKING_DAYS} working days, not {days}")
        day = start
        while days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count
