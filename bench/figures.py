"""The figures every benchmark reports, in one shape, so that `python -m bench` can gather them
into one table (bench/results/summary.md and .json).

A benchmark's JSON result carries `"figures": [Figure.as_json(), ...]`: one line of the table
each, with the measured value, the baseline it is compared with, their ratio and the aim.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"  # where every benchmark and script writes its results


@dataclass(frozen=True)
class Figure:
    item: str  # the numbered item, e.g. "1. Authorization and masking overhead"
    measure: str  # what was measured, e.g. "100 rows × 10 fields"
    value: str  # the figure as read, e.g. "1.04×" or "2,310 req/s"
    aim: str  # e.g. "≤ 1.10×"
    met: bool | None  # None: no aim
    detail: str = ""  # medians and spread of both sides, e.g. "3.1 ms ±4% vs 3.0 ms ±3%"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        return cls(**{k: data[k] for k in ("item", "measure", "value", "aim", "met")}, detail=data.get("detail", ""))


def mark(met: bool | None) -> str:
    return "—" if met is None else ("✓" if met else "✗")


def table(figures: list[Figure]) -> str:
    lines = ["| Item | Measure | Figure | Aim | | Medians and spread |", "|---|---|---:|---|---|---|"]
    lines += [f"| {f.item} | {f.measure} | {f.value} | {f.aim} | {mark(f.met)} | {f.detail} |" for f in figures]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, object]:
    """Where the numbers were measured."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
    }


def described(about: dict[str, object]) -> str:
    """`machine()` in one line, for a Markdown report."""
    return (f"{about['cpu_model'] or 'an unknown CPU'} ({about['cpus']} cores), {about['implementation']} "
            f"{about['python']}, {about['platform']}")
