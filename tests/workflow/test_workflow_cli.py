"""`gateway workflow …` and `gateway calendar …` on a copy of the demo: every step acts as a named
application and a real-name operator of its department, is audited before it commits, and a
refused step exits 1 saying why."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gateway.runtime import make_engine, open_audit
from gateway.settings import Settings
from store import workflow as rows
from tests.support import cli as gateway
from tests.support import cli_refused as refused
from tests.support import cli_succeeded as succeeded
from workflow.calendar import LIBRARY_YEARS, WorkingCalendar, YearNotice, parse_notice
from workflow.service import now

POPULATION = "1-01-001-001/000001"
LAST_COVERED = LIBRARY_YEARS.stop - 1
UNCOVERED = LAST_COVERED + 1
PLATFORM = ("--as", "sj-platform-admin", "--operator", "sj-zhoumin")
NOTICE = f"""
year = {UNCOVERED}
source = "国办发明电〔{LAST_COVERED}〕7号"

[[holidays]]
name = "元旦"
days = ["{UNCOVERED}-01-01", "{UNCOVERED}-01-02", "{UNCOVERED}-01-03"]
workdays = []

[[holidays]]
name = "春节"
days = ["{UNCOVERED}-02-08", "{UNCOVERED}-02-09", "{UNCOVERED}-02-10"]
workdays = ["{min(d for d in (date(UNCOVERED, 2, 1) + timedelta(days=i) for i in range(7)) if d.weekday() == 5)}"]
"""


def today() -> date:
    return now().date()


def submit_args(*extra: str) -> tuple[str, ...]:
    start = today()
    return ("workflow", "submit", "--as", "scjg-licensing", "--operator", "scjg-sunwei", "--resource", POPULATION,
            "--field", "Person.maritalStatus", "--purpose", "MARKET_SUPERVISION",
            "--scenario", "企业登记注册时核验法定代表人婚姻状况以防虚假登记", "--system", "企业准入审批系统",
            "--from", start.isoformat(), "--until", (start + timedelta(days=90)).isoformat(),
            "--material", "共享申请函=市监函〔2026〕12号", "--material", "法定职责依据=《市场主体登记管理条例》第五条", *extra)


def submit(data_dir: Path) -> str:
    out = succeeded(data_dir, *submit_args())
    found = re.match(r"(SA-\d{8}-[0-9A-F]{6})  SUBMITTED  \(NEW, version 1\)\n", out)
    assert found, out
    return found.group(1)


def audit_records(settings: Settings, operation: str) -> list[dict[str, Any]]:
    """The audit records of one operation, oldest first."""

    async def read() -> list[dict[str, Any]]:
        store = await open_audit(settings)
        try:
            return [r for r in reversed(await store.records(1000)) if r.get("operation") == operation]
        finally:
            await store.close()

    return asyncio.run(read())


def notices(settings: Settings) -> list[YearNotice]:
    async def read() -> list[YearNotice]:
        engine = make_engine(settings.store_url)
        try:
            return await rows.load_notices(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


# The workflow.


def test_apply_forward_approve_revoke(data_dir: Path, settings: Settings, covered: WorkingCalendar) -> None:
    submitted_on = today()
    application = submit(data_dir)
    assert application.startswith(f"SA-{submitted_on:%Y%m%d}-")
    shown = succeeded(data_dir, "workflow", "show", application)
    assert f"  scjg-licensing → GA  {POPULATION}  purpose MARKET_SUPERVISION  modes QUERY" in shown
    assert "  fields: Person.maritalStatus\n" in shown
    assert f"  due: {covered.add_working_days(submitted_on, settings.workflow_check_days)}\n" in shown
    assert "  next: forward, return, consolidate, withdraw\n" in shown

    forwarded = succeeded(data_dir, "workflow", "forward", application, "--as", "sj-platform-admin",
                          "--operator", "sj-zhoumin")
    assert forwarded.startswith(f"{application}  FORWARDED  (NEW, version 2)\n"), forwarded
    assert f"  due: {covered.add_working_days(today(), settings.workflow_reply_days)}\n" in forwarded
    assert "  next: approve, refuse, withdraw\n" in forwarded

    approved = succeeded(data_dir, "workflow", "approve", application, "--as", "ga-data-officer",
                         "--operator", "ga-lihua", "--version", "2")
    assert approved.startswith(f"{application}  APPROVED  (NEW, version 3)\n"), approved
    grant = f"G-{application}"
    assert f"  grant: {grant}\n" in approved and "  next: (closed)\n" in approved

    revoked = succeeded(data_dir, "workflow", "grant", "revoke", grant, "--as", "ga-data-officer",
                        "--operator", "ga-lihua", "--reason", "不再需要")
    assert revoked == f"{grant}  REVOKED\n"

    listed = succeeded(data_dir, "workflow", "list").splitlines()
    assert listed == [f"{application}\tAPPROVED\tscjg-licensing\tGA\t{POPULATION}\tdue -"]
    assert succeeded(data_dir, "workflow", "list", "--state", "submitted") == ""
    assert succeeded(data_dir, "workflow", "list", "--overdue") == ""
    shown = succeeded(data_dir, "workflow", "show", application)
    assert shown.startswith(f"{application}  APPROVED  (NEW, version 3)\n") and f"  grant: {grant}\n" in shown

    events = [json.loads(line) for line in succeeded(data_dir, "workflow", "events").splitlines()]
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("SUBMITTED", "scjg-sunwei"), ("FORWARDED", "sj-zhoumin"), ("APPROVED", "ga-lihua"), ("REVOKED", "ga-lihua")]
    assert all(e["shareApplication"] == application and e["consumer"] == "SCJG" and e["provider"] == "GA"
               for e in events)
    assert [e["grant"] for e in events] == [None, None, grant, grant]
    assert events[3]["detail"] == {"reason": "不再需要"}
    assert [json.loads(line)["seq"] for line in succeeded(data_dir, "workflow", "events", "--department", "GA")
            .splitlines()] == [e["seq"] for e in events]
    assert succeeded(data_dir, "workflow", "events", "--department", "RS") == ""
    after = succeeded(data_dir, "workflow", "events", "--after", str(events[1]["seq"])).splitlines()
    assert [json.loads(line)["kind"] for line in after] == ["APPROVED", "REVOKED"]

    records = audit_records(settings, "workflow")
    assert [(c["action"], c.get("from"), c["to"]) for r in records for c in r["changes"]] == [
        ("submit", None, "SUBMITTED"), ("forward", "SUBMITTED", "FORWARDED"), ("approve", "FORWARDED", "APPROVED"),
        ("grant.revoke", "ACTIVE", "REVOKED")]
    assert [(r["operator"], r["application"], r["department"]) for r in records] == [
        ("scjg-sunwei", "scjg-licensing", "SCJG"), ("sj-zhoumin", "sj-platform-admin", "SJ"),
        ("ga-lihua", "ga-data-officer", "GA"), ("ga-lihua", "ga-data-officer", "GA")]
    assert all(r["client"] == "cli" and r["outcome"] == "SERVED" for r in records)
    assert all(c["shareApplication"] == application and c["resource"] == POPULATION and c["consumer"] == "SCJG"
               and c["provider"] == "GA" for r in records for c in r["changes"])
    assert [c.get("grant") for r in records for c in r["changes"]] == [None, None, grant, grant]


def test_refused_steps_exit_1_and_change_nothing(data_dir: Path, settings: Settings, covered: WorkingCalendar) -> None:
    application = submit(data_dir)

    early = refused(data_dir, "workflow", "approve", application, "--as", "ga-data-officer", "--operator", "ga-lihua")
    assert "INVALID_TRANSITION" in early and "SUBMITTED" in early and "allowed now: forward" in early
    by_consumer = refused(data_dir, "workflow", "forward", application, "--as", "scjg-licensing",
                          "--operator", "scjg-sunwei")
    assert "FORBIDDEN" in by_consumer
    stranger = refused(data_dir, *submit_args()[:2], "--as", "scjg-licensing", "--operator", "mz-wangli",
                       *submit_args()[6:])
    assert "'mz-wangli' is not a registered, active operator of SCJG" in stranger
    nobody = refused(data_dir, "workflow", "forward", application, "--as", "no-such-app", "--operator", "sj-zhoumin")
    assert "no active application 'no-such-app'" in nobody

    succeeded(data_dir, "workflow", "forward", application, "--as", "sj-platform-admin", "--operator", "sj-zhoumin")
    stale = refused(data_dir, "workflow", "approve", application, "--as", "ga-data-officer", "--operator", "ga-lihua",
                    "--version", "1")
    assert "CONFLICT" in stale
    wrong_provider = refused(data_dir, "workflow", "approve", application, "--as", "scjg-data-officer",
                             "--operator", "scjg-sunwei")
    assert "FORBIDDEN" in wrong_provider and "GA" in wrong_provider
    no_reason = refused(data_dir, "workflow", "refuse", application, "--as", "ga-data-officer", "--operator", "ga-lihua",
                        "--reason", " ")
    assert "BAD_USER_INPUT" in no_reason and "reason" in no_reason
    unknown = refused(data_dir, "workflow", "show", "SA-20250101-000000")
    assert "no share application SA-20250101-000000" in unknown

    # Only the two steps taken are stored, audited and notified.
    listed = succeeded(data_dir, "workflow", "list").splitlines()
    assert len(listed) == 1 and listed[0].startswith(f"{application}\tFORWARDED\t")
    assert succeeded(data_dir, "workflow", "show", application).startswith(f"{application}  FORWARDED  (NEW, version 2)")
    assert [json.loads(line)["kind"] for line in succeeded(data_dir, "workflow", "events").splitlines()] == [
        "SUBMITTED", "FORWARDED"]
    assert [c["action"] for r in audit_records(settings, "workflow") for c in r["changes"]] == ["submit", "forward"]
    # Each refusal of a known application and operator is recorded with its code, as a refused request is.
    assert [(r["operator"], r["code"]) for r in audit_records(settings, "workflow") if r["outcome"] == "REFUSED"] == [
        ("ga-lihua", "INVALID_TRANSITION"), ("scjg-sunwei", "FORBIDDEN"), ("ga-lihua", "CONFLICT"),
        ("scjg-sunwei", "FORBIDDEN"), ("ga-lihua", "BAD_USER_INPUT")]


def test_a_refusal_with_its_reason_is_recorded(data_dir: Path, settings: Settings, covered: WorkingCalendar) -> None:
    application = submit(data_dir)
    succeeded(data_dir, "workflow", "forward", application, "--as", "sj-platform-admin", "--operator", "sj-zhoumin")
    out = succeeded(data_dir, "workflow", "refuse", application, "--as", "ga-data-officer", "--operator", "ga-lihua",
                    "--reason", "婚姻状况不属于企业登记核验的必要范围")
    assert out.startswith(f"{application}  REFUSED") and "  reason: 婚姻状况不属于企业登记核验的必要范围\n" in out
    (last,) = audit_records(settings, "workflow")[-1]["changes"]
    assert (last["action"], last["from"], last["to"]) == ("refuse", "FORWARDED", "REFUSED")


# The calendar.


def test_a_notice_extends_the_calendar(data_dir: Path, settings: Settings, tmp_path: Path) -> None:
    start = f"{LAST_COVERED}-12-28"
    assert succeeded(data_dir, "calendar", "show") == f"covered: {LIBRARY_YEARS.start} to {LAST_COVERED}\n"
    assert succeeded(data_dir, "calendar", "due", "--from", "2025-09-26", "--days", "5") == "2025-10-10\n"
    before = refused(data_dir, "calendar", "due", "--from", start, "--days", "5")
    assert f"does not cover {UNCOVERED}" in before and "gateway calendar import" in before

    notice_file = tmp_path / "notice.toml"
    notice_file.write_text(NOTICE, encoding="utf-8")
    recorded = succeeded(data_dir, "calendar", "import", str(notice_file), *PLATFORM)
    assert recorded == f"recorded the notice for {UNCOVERED}: 6 holidays, 1 adjusted working days\n"

    expected = WorkingCalendar([parse_notice(NOTICE)]).add_working_days(date.fromisoformat(start), 5)
    assert expected.year == UNCOVERED and expected > date(UNCOVERED, 1, 3)
    assert succeeded(data_dir, "calendar", "due", "--from", start, "--days", "5") == f"{expected.isoformat()}\n"
    assert succeeded(data_dir, "calendar", "show") == (
        f"covered: {LIBRARY_YEARS.start} to {UNCOVERED}\n"
        f"{UNCOVERED}: recorded notice 国办发明电〔{LAST_COVERED}〕7号: 6 holidays, 1 adjusted working days\n")
    assert notices(settings) == [parse_notice(NOTICE)]

    assert "--replace" in refused(data_dir, "calendar", "import", str(notice_file), *PLATFORM)
    again = succeeded(data_dir, "calendar", "import", str(notice_file), *PLATFORM, "--replace")
    assert again.startswith(f"replaced the notice for {UNCOVERED}")
    records = audit_records(settings, "workflow.calendar")
    assert [(r["operator"], r["fields"], r["client"]) for r in records] == [
        ("sj-zhoumin", {f"calendar:{UNCOVERED}": "POLICY"}, "cli")] * 2


def test_a_notice_that_cannot_be_recorded_is_refused(data_dir: Path, settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'year = {UNCOVERED}\n[[holidays]]\nname = "春节"\ndays = ["{UNCOVERED}-02-08"]\n'
                   f'workdays = ["{UNCOVERED}-02-03"]\n', encoding="utf-8")
    assert "is a weekday" in refused(data_dir, "calendar", "import", str(bad), *PLATFORM)
    good = tmp_path / "good.toml"
    good.write_text(NOTICE, encoding="utf-8")
    assert "not a registered, active operator" in refused(data_dir, "calendar", "import", str(good),
                                                          "--as", "sj-platform-admin", "--operator", "nobody")
    assert "only the platform" in refused(data_dir, "calendar", "import", str(good), "--as", "scjg-licensing",
                                          "--operator", "scjg-sunwei")
    assert "refused:" in refused(data_dir, "calendar", "import", str(tmp_path / "missing.toml"), *PLATFORM)
    assert notices(settings) == [] and audit_records(settings, "workflow.calendar") == []
    assert succeeded(data_dir, "calendar", "show") == f"covered: {LIBRARY_YEARS.start} to {LAST_COVERED}\n"


# Malformed input is refused with a message, never a traceback.


def test_a_malformed_holidays_list_is_refused_not_a_traceback(data_dir: Path, tmp_path: Path) -> None:
    notice = tmp_path / "notice.toml"
    notice.write_text(f'year = {UNCOVERED}\nholidays = ["{UNCOVERED}-01-01"]\n', encoding="utf-8")
    assert "[[holidays]] table" in refused(data_dir, "calendar", "import", str(notice), *PLATFORM)


def test_a_datetime_in_a_notice_does_not_break_the_calendar(data_dir: Path, tmp_path: Path) -> None:
    notice = tmp_path / "notice.toml"
    notice.write_text(f'year = {UNCOVERED}\n[[holidays]]\nname = "元旦"\ndays = [{UNCOVERED}-01-01T00:00:00]\n',
                      encoding="utf-8")
    assert "give the day only" in refused(data_dir, "calendar", "import", str(notice), *PLATFORM)
    assert gateway(data_dir, "calendar", "show").returncode == 0


def test_calendar_due_refuses_a_day_count_out_of_range(data_dir: Path) -> None:
    result = gateway(data_dir, "calendar", "due", "--from", "2025-09-26", "--days", "-1")
    assert result.returncode != 0 and "Traceback" not in result.stderr and "0 to 250" in result.stderr
