"""Helpers of the deployment tests: free ports, a TCP proxy that can be cut, and real gateway
processes (`python -m gateway serve`) that are always killed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0  # a gateway process that is not serving by then fails the test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A local port nothing listens on (bound a moment ago, then released)."""
    return free_port()


class Proxy:
    """A TCP proxy to `target`, on a fixed local port: `cut()` drops every connection and stops
    listening (the server looks gone), `restore()` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


class GatewayProcess:
    """One `python -m gateway serve` process on its own port, with its output in a log file."""

    def __init__(self, name: str, env: Mapping[str, str], log_dir: Path, workers: int | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        command = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if workers is not None:
            command += ["--workers", str(workers)]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_serving(self, timeout: float = START_SECONDS) -> dict[str, Any]:
        """Block until /readyz answers (whatever it says); its body."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway {self.name} exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(f"{self.url}/readyz", timeout=5)
                return dict(response.json())
            time.sleep(0.1)
        raise AssertionError(f"gateway {self.name} not serving after {timeout:g}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]

    def stop(self) -> None:
        """Kill the process group (uvicorn's workers with it); never leaves one behind."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@contextlib.contextmanager
def gateways(*processes: GatewayProcess) -> Iterator[tuple[GatewayProcess, ...]]:
    try:
        yield processes
    finally:
        for process in processes:
            process.stop()


def credentials(data_dir: Path) -> dict[str, Any]:
    return dict(json.loads((data_dir / "demo-credentials.json").read_text(encoding="utf-8")))


def headers(creds: dict[str, Any], app_id: str, purpose: str | None = None) -> dict[str, str]:
    """The demo's headers of an application or an administrative one (its one operator)."""
    for application in creds["applications"]:
        if application["id"] == app_id:
            token, operator = application["token"], application["operators"][0]
            break
    else:
        admin = next(a for a in creds["admins"] if a["application"] == app_id)
        token, operator = admin["token"], admin["operator"]
    out = {"Authorization": f"Bearer {token}", "X-Operator": operator}
    if purpose:
        out["X-Purpose"] = purpose
    return out
