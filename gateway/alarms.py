"""Anomaly alarms on data checks: an application whose checks mostly fail, or whose volume is
abnormal, is probably guessing rather than verifying what a citizen or enterprise claimed.

Each application's subjects checked and subjects not fully matched (any claimed field
MISMATCH or NOT_FOUND) are counted over a sliding window. When the window holds at least
`min_checks` subjects and the failure rate reaches `mismatch_rate`, or the window's volume
reaches `volume`, the monitor raises an alarm, at most once per window per application and
reason. The gateway logs it, counts it in the metrics and writes it to the audit trail, where
the provider and the auditors see it. Rate limits and quotas (gateway/limits.py) bound what an
application can try; the alarm tells people that it tried.

Counts are per worker process; a multi-worker deployment alarms per worker (documented).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AlarmPolicy:
    window_seconds: float = 600.0
    min_checks: int = 100
    mismatch_rate: float = 0.5
    volume: int = 50_000


@dataclass(frozen=True)
class Alarm:
    application: str
    reason: str  # MISMATCH_RATE or VOLUME
    checked: int  # subjects in the window
    failed: int  # subjects not fully matched in the window
    window_seconds: float

    def describe(self) -> str:
        rate = f"{self.failed / self.checked:.0%}" if self.checked else "0%"
        return (f"{self.application}: {self.checked} subjects checked in {self.window_seconds:.0f} s, "
                f"{self.failed} not fully matched ({rate}) — {self.reason}")


@dataclass
class _Window:
    events: deque[tuple[float, int, int]] = field(default_factory=deque)  # (time, checked, failed)
    checked: int = 0
    failed: int = 0
    last_alarm: dict[str, float] = field(default_factory=dict)


class CheckMonitor:
    def __init__(self, policy: AlarmPolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or AlarmPolicy()
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def observe(self, application: str, checked: int, failed: int) -> list[Alarm]:
        """Count one request's subjects; the alarms it raises, if any."""
        if checked <= 0:
            return []
        now, policy = self._clock(), self.policy
        window = self._windows.setdefault(application, _Window())
        window.events.append((now, checked, failed))
        window.checked += checked
        window.failed += failed
        while window.events and window.events[0][0] <= now - policy.window_seconds:
            _, old_checked, old_failed = window.events.popleft()
            window.checked -= old_checked
            window.failed -= old_failed
        reasons = []
        if window.checked >= policy.min_checks and window.failed >= policy.mismatch_rate * window.checked:
            reasons.append("MISMATCH_RATE")
        if policy.volume and window.checked >= policy.volume:
            reasons.append("VOLUME")
        alarms = []
        for reason in reasons:
            last = window.last_alarm.get(reason)
            if last is None or now - last >= policy.window_seconds:
                window.last_alarm[reason] = now
                alarms.append(Alarm(application, reason, window.checked, window.failed, policy.window_seconds))
        return alarms
