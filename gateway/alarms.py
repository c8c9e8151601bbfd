"""Anomaly alarms on data checks: an application whose checks mostly fail, or whose volume is
abnormal, is probably guessing rather than verifying what a citizen or enterprise claimed.

Each application's subjects checked and subjects not fully matched (any claimed field
MISMATCH or NOT_FOUND) are counted over a sliding window, in 60 slots (10 s each for the default
600 s window), so the window slides by a slot at a time and costs the same memory at any rate. When the window holds at least
`min_checks` subjects and the failure rate reaches `mismatch_rate`, or the window's volume
reaches `volume`, the monitor raises an alarm, at most once per window per application and
reason; and once a day when the day's failed subjects reach `daily_failures` (slow guessing,
below the window's thresholds). The gateway logs it, counts it in the metrics and writes it to the audit trail, where
the provider and the auditors see it. Rate limits and quotas (gateway/limits.py) bound what an
application can try; the alarm tells people that it tried.

Counts are per worker process; a multi-worker deployment alarms per worker (documented).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from policies.planner import today_in_china

SLOTS = 60  # a window is counted in this many slots: constant memory whatever the traffic


@dataclass(frozen=True)
class AlarmPolicy:
    window_seconds: float = 600.0
    min_checks: int = 100
    mismatch_rate: float = 0.5
    volume: int = 50_000
    daily_failures: int = 2_000  # failed subjects in one day (CST): slow guessing under the window's radar


@dataclass(frozen=True)
class Alarm:
    application: str
    reason: str  # MISMATCH_RATE, VOLUME or DAILY_FAILURES
    checked: int  # subjects in the window
    failed: int  # subjects not fully matched in the window
    window_seconds: float

    def describe(self) -> str:
        rate = f"{self.failed / self.checked:.0%}" if self.checked else "0%"
        return (f"{self.application}: {self.checked} subjects checked in {self.window_seconds:.0f} s, "
                f"{self.failed} not fully matched ({rate}) — {self.reason}")


@dataclass
class _Window:
    # [slot, checked, failed] per slot of window_seconds / SLOTS, oldest first: at most SLOTS+1
    # entries, updated in place, so a busy application costs no memory per request (a deque of
    # one entry per request held 600 s of traffic, and fragmented the heap under load).
    slots: deque[list[int]] = field(default_factory=deque)
    checked: int = 0
    failed: int = 0
    last_alarm: dict[str, float] = field(default_factory=dict)
    day: str = ""
    failed_today: int = 0


class CheckMonitor:
    def __init__(self, policy: AlarmPolicy | None = None, clock: Callable[[], float] = time.monotonic,
                 day: Callable[[], str] = lambda: today_in_china().isoformat()) -> None:
        self.policy = policy or AlarmPolicy()
        self._clock = clock
        self._day = day
        self._windows: dict[str, _Window] = {}

    def observe(self, application: str, checked: int, failed: int) -> list[Alarm]:
        """Count one request's subjects; the alarms it raises, if any."""
        if checked <= 0:
            return []
        now, policy = self._clock(), self.policy
        window = self._windows.setdefault(application, _Window())
        slot = int(now // (policy.window_seconds / SLOTS))
        if window.slots and window.slots[-1][0] == slot:
            window.slots[-1][1] += checked
            window.slots[-1][2] += failed
        else:
            window.slots.append([slot, checked, failed])
        window.checked += checked
        window.failed += failed
        while window.slots[0][0] <= slot - SLOTS:  # slots wholly out of the window
            _, old_checked, old_failed = window.slots.popleft()
            window.checked -= old_checked
            window.failed -= old_failed
        reasons = []
        if window.checked >= policy.min_checks and window.failed >= policy.mismatch_rate * window.checked:
            reasons.append("MISMATCH_RATE")
        if policy.volume and window.checked >= policy.volume:
            reasons.append("VOLUME")
        day = self._day()
        if day != window.day:
            window.day, window.failed_today = day, 0
            window.last_alarm.pop("DAILY_FAILURES", None)
        window.failed_today += failed
        if policy.daily_failures and window.failed_today >= policy.daily_failures:
            reasons.append("DAILY_FAILURES")
        alarms = []
        for reason in reasons:
            last = window.last_alarm.get(reason)
            once = reason == "DAILY_FAILURES"  # once a day; the others once a window
            if last is None or (not once and now - last >= policy.window_seconds):
                window.last_alarm[reason] = now
                alarms.append(Alarm(application, reason, window.checked, window.failed, policy.window_seconds))
        return alarms
