"""A real gateway in its own process, for the robustness scripts (`scripts.fuzz`, `scripts.soak`).

`served_gateway()` builds the demo into a temporary data directory (the same `build_demo` that
`gateway demo` calls), starts `python -m gateway serve` (uvicorn, one process) on a free loopback
port with the rate limits and quotas switched off (the body limit keeps its default), waits until
GET /readyz answers 200, and yields a `Served` handle: the URL, the demo credentials, the server's
resident memory and its log. On exit the server is stopped by its process id and the directory
removed (unless `keep`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.figures import RESULTS
from bench.harness import UNLIMITED, build, settings_for

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
LOG_NOISE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO ")
# The scripts measure robustness, not limits: the data-check and lookup rates and quotas of the
# benches, and the query-cost budget (a variable older gateways ignore). The body limit and the
# query-shape limits (depth, aliases, cost of one operation) keep their defaults.
LIMITS_OFF = UNLIMITED | {"GATEWAY_COST_RATE": "0", "GATEWAY_COST_DAILY_QUOTA": "0"}


@dataclass
class Served:
    """A running gateway process and what a client needs to talk to it."""

    base_url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    credentials: dict[str, Any] = field(repr=False)

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def pid(self) -> int:
        return self.process.pid

    def application(self, application_id: str) -> dict[str, Any]:
        """A consumer application of the demo credentials, or an administrator (by application id)."""
        for app in self.credentials["applications"]:
            if app["id"] == application_id:
                return {"token": app["token"], "operator": app["operators"][0]}
        for admin in self.credentials["admins"]:
            if admin["application"] == application_id:
                return {"token": admin["token"], "operator": admin["operator"]}
        raise KeyError(f"no demo application {application_id!r}")

    def headers(self, application_id: str, purpose: str | None) -> dict[str, str]:
        """Authorization, X-Operator (the application's first operator) and X-Purpose."""
        app = self.application(application_id)
        headers = {"Authorization": f"Bearer {app['token']}", "X-Operator": app["operator"]}
        if purpose is not None:
            headers["X-Purpose"] = purpose
        return headers

    def rss_kib(self) -> int:
        """The server process's resident memory (VmRSS of /proc/PID/status), in KiB."""
        return self.memory_kib()["VmRSS"]

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and its parts (RssAnon: heap; RssFile: mapped files; RssShmem), in KiB."""
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        values = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(VmRSS|RssAnon|RssFile|RssShmem):\s+(\d+) kB",
                                                                    status, re.MULTILINE)}
        if "VmRSS" not in values:
            raise RuntimeError(f"no VmRSS for process {self.pid}")
        return values

    def library_rows(self, code: str, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one library's SQLite file, read directly (read-only), e.g. for samples and secrets."""
        url = settings_for(self.data_dir).library_urls[code]
        path = url.removeprefix("sqlite+aiosqlite:///")
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return list(conn.execute(sql))

    def log_excerpt(self, limit: int = 200) -> list[str]:
        """The server log without its routine INFO lines: warnings, errors, tracebacks."""
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line for line in lines if line.strip() and not LOG_NOISE.match(line)][-limit:]


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env() -> dict[str, str]:
    """This process's environment with the limits off; the data dir comes from --data-dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return env | LIMITS_OFF | {"PYTHONUNBUFFERED": "1"}


def start_server(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gateway", "serve", "--data-dir", str(data_dir),
               "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=ROOT, env=server_env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the gateway was not ready within {timeout:.0f} s:\n{log_path.read_text(errors='replace')}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it hangs: this process only."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM (e.g. `kill PID` of a run under nohup, where SIGINT is ignored) exits through the
    `finally` clauses, so that the gateway process is stopped too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def served_gateway(persons: int = 2000, seed: int = 7, keep: bool = False) -> Iterator[Served]:
    """Build the demo in a fresh temporary directory, serve it in a subprocess, stop it at the end."""
    with stopped_by_sigterm():
        yield from _served(persons, seed, keep)


def _served(persons: int, seed: int, keep: bool) -> Iterator[Served]:
    data_dir = Path(tempfile.mkdtemp(prefix="gateway-robustness-"))
    log_path = data_dir / "server.log"
    process = None
    try:
        print(f"building the demo ({persons} persons) in {data_dir}", file=sys.stderr, flush=True)
        build(data_dir, persons, seed)
        port = free_port()
        process = start_server(data_dir, port, log_path)
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(base_url, process, log_path)
        credentials = json.loads(settings_for(data_dir).credentials_path.read_text(encoding="utf-8"))
        print(f"gateway ready at {base_url} (pid {process.pid})", file=sys.stderr, flush=True)
        yield Served(base_url, process, data_dir, log_path, credentials)
    finally:
        if process is not None:
            stop_server(process)
        if keep:
            print(f"kept the data directory and server log: {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def write_results(name: str, report: dict[str, Any], markdown: str, out: Path = RESULTS) -> tuple[Path, Path]:
    """`<out>/<name>.json` and `<out>/<name>.md`."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return json_path, md_path


def histogram_table(title: str, counts: dict[str, int]) -> list[str]:
    """A two-column Markdown table of a histogram, largest first."""
    lines = [f"| {title} | count |", "|---|---:|"]
    lines += [f"| {key} | {value:,} |" for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return lines
