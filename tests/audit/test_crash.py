"""A real gateway process killed mid-load (SIGKILL: no lifespan shutdown, no final checkpoint)
leaves an audit trail that verifies, chain and checkpoints, and holds the record of every
request that was answered 200."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from audit import AuditStore
from audit.checkpoints import CheckpointStore, PublicKey
from gateway.runtime import make_engine

IN_FLIGHT = 8
LOAD_SECONDS = 1.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway exited before it was ready"
        try:
            if httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the gateway did not become ready")


async def load(base: str, credentials: dict[str, Any], process: subprocess.Popen[bytes]) -> list[str]:
    """IN_FLIGHT clients send queries until the server dies; SIGKILL lands mid-load. The request
    ids of the answers that came back 200."""
    application = next(a for a in credentials["applications"] if a["id"] == "mz-assistance")
    headers = {"Authorization": f"Bearer {application['token']}", "X-Operator": application["operators"][0],
               "X-Purpose": "SOCIAL_ASSISTANCE_REVIEW"}
    samples = credentials["samples"]["idNumbers"]
    answered: list[str] = []

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=5.0) as http:
            for i in range(10_000):
                query = '{ person(idNumber: "%s") { name mobile } }' % samples[(n + i) % len(samples)]
                try:
                    response = await http.post("/graphql", json={"query": query}, headers=headers)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    answered.append(response.json()["extensions"]["requestId"])

    async def killer() -> None:
        await asyncio.sleep(LOAD_SECONDS)
        process.send_signal(signal.SIGKILL)

    await asyncio.gather(killer(), *(client(n) for n in range(IN_FLIGHT)))
    return answered


async def recorded(data_dir: Path) -> tuple[Any, set[str]]:
    store = AuditStore(make_engine(f"sqlite+aiosqlite:///{data_dir / 'audit.sqlite'}"))
    checkpoints = CheckpointStore(make_engine(f"sqlite+aiosqlite:///{data_dir / 'audit_checkpoints.sqlite'}"))
    try:
        await store.create()
        public = PublicKey.from_file(data_dir / "keys" / "audit-signing.pub")
        report = await store.verify(public, await checkpoints.all())
        ids = {str(r["request_id"]) for r in await store.records(limit=1_000_000)}
        return report, ids
    finally:
        await store.close()
        await checkpoints.close()


def test_a_gateway_killed_mid_load_keeps_a_verifiable_trail_with_every_answered_request(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_AUDIT_CHECKPOINT_EVERY": "25",
           "GATEWAY_AUDIT_CHECKPOINT_SECONDS": "0.2", "GATEWAY_LOOKUP_RATE": "0", "GATEWAY_LOOKUP_DAILY_QUOTA": "0"}
    process = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(base, process)
        credentials = json.loads((data_dir / "demo-credentials.json").read_text(encoding="utf-8"))
        answered = asyncio.run(load(base, credentials, process))
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert len(answered) > 50  # the load was real
    report, ids = asyncio.run(recorded(data_dir))
    assert report.ok, report.problem
    assert report.newest_checkpoint is not None and report.checkpoints >= 2  # signed during the load
    assert report.records >= len(answered)
    missing = set(answered) - ids
    assert not missing, f"{len(missing)} answered requests have no audit record"
    # what a killed worker leaves unsigned is within the window `audit verify` allows
    verify = subprocess.run([sys.executable, "-m", "gateway", "audit", "verify"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"audit trail holds: {report.records} records verified" in verify.stdout
