"""CPU time of the processes a benchmark drives, from /proc: on a small shared machine the CPU a
request costs is steadier than the requests per second a loaded server manages."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, and of its children that ended
    (fields 14 to 17 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    return sum(int(ticks) for ticks in stat.rsplit(")", 1)[1].split()[11:15]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process of this machine; the postmaster's include the
    backends that ended (a gateway under load opens and closes connections)."""
    found = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text(encoding="ascii").strip() == "postgres":
                found[int(comm.parent.name)] = cpu_seconds(int(comm.parent.name))
        except (OSError, ValueError):  # gone meanwhile
            continue
    return found


def used_since(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
