"""The working-day calendar of the workflow's deadlines (workflow/calendar.py): statutory holidays
and adjusted working weekends (调休) from `chinesecalendar`, extended beyond it by the notices a
platform administrator records; a date outside the coverage is an error, never a guess."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from workflow.calendar import (
    LIBRARY_YEARS,
    MAX_WORKING_DAYS,
    CalendarNotCovered,
    NoticeError,
    WorkingCalendar,
    YearNotice,
    parse_notice,
)

LAST_COVERED = LIBRARY_YEARS.stop - 1
UNCOVERED = LAST_COVERED + 1  # the first year the library does not know


def day(text: str) -> date:
    return date.fromisoformat(text)


def first_weekday(year: int, weekday: int, after: date | None = None) -> date:
    """The first `weekday` (0 = Monday) of `year`, on or after `after`."""
    found = after or date(year, 1, 1)
    while found.weekday() != weekday:
        found += timedelta(days=1)
    return found


def notice_text(year: int) -> str:
    """A notice for `year` as an administrator writes it (the format of parse_notice's docstring):
    New Year's Day on January 1-3, and a spring holiday of the first full Monday-to-Friday week of
    February made up for on the Saturday after it."""
    monday = first_weekday(year, 0, date(year, 2, 1))
    spring = [monday + timedelta(days=i) for i in range(5)]
    return f"""
year = {year}
source = "国办发明电〔{year - 1}〕X号"

[[holidays]]
name = "元旦"
days = ["{year}-01-01", "{year}-01-02", "{year}-01-03"]
workdays = []

[[holidays]]
name = "春节"
days = [{", ".join(f'"{d.isoformat()}"' for d in spring)}]
workdays = ["{(monday + timedelta(days=5)).isoformat()}"]
"""


# The library's years.


def test_the_issue_example_national_day_2025() -> None:
    calendar = WorkingCalendar()
    # Forwarded on Friday 2025-09-26: Sunday 09-28 is worked, 10-01..10-08 are off.
    assert calendar.is_working_day(day("2025-09-28")) and day("2025-09-28").weekday() == 6
    assert not calendar.is_working_day(day("2025-10-01")) and not calendar.is_working_day(day("2025-10-08"))
    assert calendar.add_working_days(day("2025-09-26"), 5) == day("2025-10-10")
    assert calendar.add_working_days(day("2025-09-26"), 3) == day("2025-09-30")
    # Saturday 10-11 is worked too: 09-28, 09-29, 09-30, 10-09, 10-10, 10-11, 10-13, 10-14, 10-15, 10-16.
    assert calendar.is_working_day(day("2025-10-11")) and day("2025-10-11").weekday() == 5
    assert calendar.add_working_days(day("2025-09-26"), 10) == day("2025-10-16")


def test_a_plain_week() -> None:
    calendar = WorkingCalendar()
    monday = day("2025-03-10")
    assert monday.weekday() == 0
    assert calendar.add_working_days(monday, 5) == day("2025-03-17")
    assert calendar.add_working_days(monday, 4) == day("2025-03-14")  # Friday
    assert calendar.add_working_days(day("2025-03-14"), 1) == day("2025-03-17")  # Friday + 1: the weekend skipped
    assert not calendar.is_working_day(day("2025-03-15")) and not calendar.is_working_day(day("2025-03-16"))


def test_spring_festival_2025() -> None:
    # 2025's notice: 01-28..02-04 off; Sunday 01-26 and Saturday 02-08 worked. From Friday 01-24:
    # 01-26 (1), 01-27 (2), the holiday, 02-05 (3), 02-06 (4), 02-07 (5).
    calendar = WorkingCalendar()
    for off in ("2025-01-28", "2025-01-31", "2025-02-03", "2025-02-04"):
        assert not calendar.is_working_day(day(off)), off
    assert calendar.is_working_day(day("2025-01-26")) and calendar.is_working_day(day("2025-02-08"))
    assert calendar.add_working_days(day("2025-01-24"), 5) == day("2025-02-07")
    assert calendar.add_working_days(day("2025-01-24"), 6) == day("2025-02-08")  # the worked Saturday
    assert calendar.add_working_days(day("2025-01-24"), 7) == day("2025-02-10")


def test_the_calendar_agrees_with_the_library_in_its_years() -> None:
    calendar = WorkingCalendar()
    start = day("2025-01-01")
    for offset in range(365):
        current = start + timedelta(days=offset)
        assert calendar.is_working_day(current) == chinese_calendar.is_workday(current), current


def test_working_days_between() -> None:
    calendar = WorkingCalendar()
    assert calendar.working_days_between(day("2025-09-26"), day("2025-10-10")) == 5
    assert calendar.working_days_between(day("2025-09-26"), day("2025-09-30")) == 3
    assert calendar.working_days_between(day("2025-09-30"), day("2025-10-08")) == 0  # the holiday only
    assert calendar.working_days_between(day("2025-03-10"), day("2025-03-17")) == 5
    assert calendar.working_days_between(day("2025-03-10"), day("2025-03-10")) == 0
    assert calendar.working_days_between(day("2025-03-17"), day("2025-03-10")) == 0  # end before start
    # The inverse of add_working_days, from any day.
    for start in (day("2025-01-24"), day("2025-09-26"), day("2025-10-04"), day("2025-12-31")):
        for days in (1, 3, 5, 10):
            assert calendar.working_days_between(start, calendar.add_working_days(start, days)) == days


def test_the_number_of_working_days_is_bounded() -> None:
    calendar = WorkingCalendar()
    assert calendar.add_working_days(day("2025-09-26"), 0) == day("2025-09-26")
    assert calendar.add_working_days(day("2025-10-01"), 0) == day("2025-10-01")  # a holiday stays itself
    with pytest.raises(ValueError, match="0 to 250"):
        calendar.add_working_days(day("2025-09-26"), -1)
    with pytest.raises(ValueError, match=str(MAX_WORKING_DAYS + 1)):
        calendar.add_working_days(day("2025-09-26"), MAX_WORKING_DAYS + 1)
    assert calendar.add_working_days(day("2024-01-02"), MAX_WORKING_DAYS) > day("2024-12-01")


# Beyond the library.


def test_a_year_beyond_the_library_is_not_covered() -> None:
    calendar = WorkingCalendar()
    assert calendar.covers(LAST_COVERED) and not calendar.covers(UNCOVERED)
    assert calendar.coverage() == (LIBRARY_YEARS.start, LAST_COVERED)
    with pytest.raises(CalendarNotCovered, match=str(UNCOVERED)) as raised:
        calendar.is_working_day(date(UNCOVERED, 3, 1))
    assert raised.value.year == UNCOVERED
    assert "gateway calendar import" in str(raised.value)
    # A weekday is no exception: the calendar does not guess.
    with pytest.raises(CalendarNotCovered):
        calendar.is_working_day(first_weekday(UNCOVERED, 2, date(UNCOVERED, 6, 1)))


def test_a_deadline_crossing_into_an_uncovered_year_is_refused() -> None:
    calendar = WorkingCalendar()
    start = date(LAST_COVERED, 12, 28)
    with pytest.raises(CalendarNotCovered, match=str(UNCOVERED)) as raised:
        calendar.add_working_days(start, 5)
    assert raised.value.year == UNCOVERED
    with pytest.raises(CalendarNotCovered):
        calendar.working_days_between(start, date(UNCOVERED, 1, 10))
    # Days left in the covered year are counted.
    assert calendar.add_working_days(date(LAST_COVERED, 12, 24), 1).year == LAST_COVERED


def test_a_recorded_notice_extends_the_coverage() -> None:
    notice = parse_notice(notice_text(UNCOVERED))
    calendar = WorkingCalendar([notice])
    assert calendar.covers(UNCOVERED)
    assert calendar.coverage() == (LIBRARY_YEARS.start, UNCOVERED)
    for holiday in notice.holidays:
        assert not calendar.is_working_day(holiday), holiday
    (worked,) = notice.workdays
    assert worked.weekday() == 5 and calendar.is_working_day(worked)
    # Any other weekend day is off, any other weekday is worked.
    other_saturday = worked + timedelta(days=7)
    assert not calendar.is_working_day(other_saturday) and not calendar.is_working_day(other_saturday + timedelta(days=1))
    assert calendar.is_working_day(other_saturday + timedelta(days=2))
    # The deadline across the year boundary, counted on both calendars.
    start = date(LAST_COVERED, 12, 28)
    expected, left, current = None, 5, start
    while left:
        current += timedelta(days=1)
        working = (chinese_calendar.is_workday(current) if current.year == LAST_COVERED
                   else current not in notice.holidays and (current in notice.workdays or current.weekday() < 5))
        left -= working
        expected = current
    due = calendar.add_working_days(start, 5)
    assert due == expected and due.year == UNCOVERED
    assert due > date(UNCOVERED, 1, 3)  # New Year's Day holiday skipped
    assert calendar.working_days_between(start, due) == 5
    # The year after is still not covered.
    with pytest.raises(CalendarNotCovered, match=str(UNCOVERED + 1)):
        calendar.is_working_day(date(UNCOVERED + 1, 1, 5))


def test_a_notice_for_a_later_year_leaves_a_gap_uncovered() -> None:
    calendar = WorkingCalendar([parse_notice(notice_text(UNCOVERED + 1))])
    assert calendar.covers(UNCOVERED + 1) and not calendar.covers(UNCOVERED)
    assert calendar.coverage() == (LIBRARY_YEARS.start, LAST_COVERED)
    with pytest.raises(CalendarNotCovered, match=str(UNCOVERED)):
        calendar.add_working_days(date(LAST_COVERED, 12, 28), 5)


def test_a_notice_for_a_library_year_replaces_the_library() -> None:
    notice = YearNotice(2025, {day("2025-03-12"): "植树"})
    calendar = WorkingCalendar([notice])
    assert not calendar.is_working_day(day("2025-03-12"))
    assert calendar.is_working_day(day("2025-10-01"))  # the library's holiday is not in this notice
    assert not calendar.is_working_day(day("2025-09-28"))  # nor its adjusted working day


# Notices refused.


def test_the_documented_notice_format_is_read() -> None:
    notice = parse_notice("""
        year = 2027
        source = "国办发明电〔2026〕X号"
        [[holidays]]
        name = "元旦"
        days = ["2027-01-01", "2027-01-02", "2027-01-03"]
        workdays = []            # weekend days worked for this holiday
    """)
    assert notice.year == 2027 and notice.source == "国办发明电〔2026〕X号"
    assert notice.holidays == {day("2027-01-01"): "元旦", day("2027-01-02"): "元旦", day("2027-01-03"): "元旦"}
    assert notice.workdays == {}
    # TOML's own dates are dates too.
    assert parse_notice('year = 2027\n[[holidays]]\nname = "元旦"\ndays = [2027-01-01]\n').holidays == {
        day("2027-01-01"): "元旦"}


@pytest.mark.parametrize(("text", "message"), [
    ("year = 2027\n[[holidays]\nname = '元旦'", "not a TOML notice"),
    ("<notice year='2027'/>", "not a TOML notice"),
    ("[[holidays]]\nname = '元旦'\ndays = ['2027-01-01']", "`year` must be a year"),
    ("year = '2027'\n[[holidays]]\nname = '元旦'\ndays = ['2027-01-01']", "`year` must be a year"),
    ("year = 1999\n[[holidays]]\nname = '元旦'\ndays = ['1999-01-01']", "`year` must be a year"),
    ("year = 2027\n[[holidays]]\nname = '元旦'\ndays = ['2026-12-31', '2027-01-01']", "2026-12-31 is not in 2027"),
    ("year = 2027\n[[holidays]]\nname = '春节'\ndays = ['2027-02-08']\nworkdays = ['2028-02-05']",
     "2028-02-05 is not in 2027"),
    ("year = 2027\n[[holidays]]\nname = '元旦'\ndays = ['2027-01-02']\nworkdays = ['2027-01-02']",
     "2027-01-02 is listed both as a holiday and as a working day"),
    ("year = 2027\n[[holidays]]\nname = '元旦'\ndays = ['2027-01-02']\n[[holidays]]\nname = '春节'\n"
     "days = ['2027-02-08']\nworkdays = ['2027-01-02']", "2027-01-02 is listed both as a holiday and as a working day"),
    ("year = 2027\n[[holidays]]\nname = '春节'\ndays = ['2027-02-08']\nworkdays = ['2027-02-03']",
     "2027-02-03 is a weekday"),
    ("year = 2027\nsource = 'x'", "lists no holiday"),
    ("year = 2027\n[[holidays]]\nname = '春节'\ndays = []\nworkdays = ['2027-02-06']", "lists no holiday"),
    ("year = 2027\n[[holidays]]\nname = '元旦'\ndays = ['2027-13-01']", "'2027-13-01' is not a date"),
    ("year = 2027\n[[holidays]]\nname = '元旦'\ndays = ['January 1st']", "'January 1st' is not a date"),
    ("year = 2027\n[[holidays]]\nname = '元旦'\ndays = ['2027-01-01', '2027-01-01']", "listed twice"),
    ("year = 2027\n[[holidays]]\ndays = ['2027-01-01']", "needs a name"),
])
def test_a_notice_that_cannot_be_recorded_is_refused(text: str, message: str) -> None:
    with pytest.raises(NoticeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_notice(text)


def test_a_notice_built_in_code_is_checked_too() -> None:
    with pytest.raises(NoticeError, match="is a weekday"):
        YearNotice(2027, {day("2027-01-01"): "元旦"}, {day("2027-01-04"): "元旦"})
    with pytest.raises(NoticeError, match="lists no holiday"):
        YearNotice(2027)
