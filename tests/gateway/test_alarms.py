"""Anomaly alarms on data checks: abnormal failure rates and volumes are raised once per window,
logged, counted and audited."""

from __future__ import annotations

from stdnum.cn import ric

from gateway.alarms import AlarmPolicy, CheckMonitor
from tests.support import Gateway


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_high_failure_rate_alarms_once_per_window() -> None:
    clock = Clock()
    monitor = CheckMonitor(AlarmPolicy(window_seconds=60, min_checks=10, mismatch_rate=0.5, volume=0), clock)
    assert monitor.observe("app", 9, 9) == []  # too few to judge
    [alarm] = monitor.observe("app", 1, 1)
    assert (alarm.reason, alarm.checked, alarm.failed) == ("MISMATCH_RATE", 10, 10)
    assert monitor.observe("app", 5, 5) == []  # already raised in this window
    assert monitor.observe("other", 9, 9) == []  # per application
    clock.now = 61
    assert monitor.observe("app", 10, 1) == []  # the old events left the window: 10% now
    clock.now = 130
    [again] = monitor.observe("app", 20, 20)
    assert again.reason == "MISMATCH_RATE"


def test_honest_verification_does_not_alarm_but_volume_does() -> None:
    clock = Clock()
    monitor = CheckMonitor(AlarmPolicy(window_seconds=60, min_checks=10, mismatch_rate=0.5, volume=1000), clock)
    for _ in range(9):
        assert monitor.observe("app", 100, 10) == []
    [alarm] = monitor.observe("app", 100, 10)
    assert (alarm.reason, alarm.checked) == ("VOLUME", 1000)


async def test_guessing_raises_an_audited_alarm(gateway: Gateway) -> None:
    gateway.runtime.check_monitor.policy = AlarmPolicy(window_seconds=600, min_checks=20, mismatch_rate=0.5, volume=0)
    query = 'query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { outcome } } }'
    ids = [f"{body}{ric.calc_check_digit(body + ' ')}" for body in (f"11010119900101{n:03d}" for n in range(25))]
    items = [{"idNumber": i, "claims": {"name": "猜测"}} for i in ids]
    body = await gateway.query(query, variables={"items": items})
    assert "errors" not in body
    records = await gateway.runtime.audit.records(limit=2)
    assert [r["operation"] for r in records] == ["check", "alarm"]  # newest first: the alarm, then its request
    alarm = records[1]
    assert alarm["application"] == "mz-assistance" and alarm["code"] == "MISMATCH_RATE"
    assert alarm["checks"]["window"]["checked"] == len(ids) and alarm["checks"]["window"]["failed"] == len(ids)
    assert "猜测" not in str(alarm) and ids[0] not in str(alarm)
    metrics = (await gateway.client.get("/metrics")).text
    assert 'gateway_check_alarms_total{application="mz-assistance",reason="MISMATCH_RATE"} 1.0' in metrics


def test_slow_guessing_alarms_once_a_day() -> None:
    clock, today = Clock(), ["2026-11-27"]
    monitor = CheckMonitor(AlarmPolicy(window_seconds=60, min_checks=1000, mismatch_rate=0.5, volume=0,
                                       daily_failures=50), clock, day=lambda: today[0])
    alarms = []
    for minute in range(10):  # 9 failures a minute: never half of 1,000 in a window
        clock.now = minute * 61
        alarms += monitor.observe("app", 9, 9)
    assert [a.reason for a in alarms] == ["DAILY_FAILURES"]
    today[0] = "2026-11-28"
    assert monitor.observe("app", 9, 9) == []  # a new day starts from zero


def test_the_window_costs_the_same_memory_at_any_rate() -> None:
    """100,000 checks over 20 minutes: the window holds its slots, never one entry per request."""
    from gateway.alarms import SLOTS

    clock = Clock()
    monitor = CheckMonitor(AlarmPolicy(window_seconds=600, min_checks=10**9, volume=0, daily_failures=0), clock)
    for i in range(100_000):
        clock.now = i * 0.012
        monitor.observe("app", 1, i % 2)
    window = monitor._windows["app"]
    assert len(window.slots) <= SLOTS + 1
    assert 49_000 <= window.checked <= 51_000  # the last 600 s of 1,200, give or take a 10-s slot
    assert window.failed * 2 in (window.checked - 1, window.checked, window.checked + 1)
