"""A worker whose policy channel cannot be reached still serves, polls, and says so on /readyz.

GATEWAY_REDIS_URL points at a closed port with GATEWAY_POLICY_CHANNEL=redis. That URL also
holds the rate limits, which fail closed without Redis (lookups by key and checks are refused,
and /readyz's `limits` check fails), so this test reads through a list query that looks nothing
up by key: what it shows is the channel's fallback alone. Needs no server: runs everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.deploy.support import ROOT, GatewayProcess, closed_port, credentials, gateways, headers

REFRESH_SECONDS = 1
LIST = "query { populationRecords(first: 1) { edges { node { maritalStatus } } } }"


def _list_codes(url: str, creds: dict[str, Any]) -> set[str]:
    response = httpx.post(f"{url}/graphql", json={"query": LIST},
                          headers=headers(creds, "mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"), timeout=5)
    body = response.json()
    assert body["data"]["populationRecords"]["edges"], body  # served
    return {e["extensions"]["code"] for e in body.get("errors", [])}


def test_with_the_redis_channel_unreachable_a_worker_serves_polls_and_says_so(data_dir: Path, tmp_path: Path) -> None:
    env = {
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "GATEWAY_POLICY_CHANNEL": "redis",
        "GATEWAY_POLICY_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "GATEWAY_WORKFLOW_SWEEP_SECONDS": "0",
    }
    creds = credentials(data_dir)
    with gateways(GatewayProcess("fallback", env, tmp_path)) as (worker,):
        ready = worker.wait_serving()
        assert ready["policyChannel"].startswith(f"down: polling every {REFRESH_SECONDS}s (redis: "), ready
        assert ready["policyChannel"].endswith("; reconnecting)")
        checks = ready["checks"]
        assert checks["store"] == checks["policy"] == "ok", ready
        assert checks["limits"].startswith("unavailable"), ready  # the same Redis: limits fail closed, and say so
        assert "GRANT_SUSPENDED" not in _list_codes(worker.url, creds)
        version = ready["policyVersion"]

        # The provider suspends the grant from the command line: the change commits, its announce
        # fails (Redis is down) without failing the command, and the worker picks it up by polling.
        command = [sys.executable, "-m", "gateway", "workflow", "grant", "suspend", "G-MZ-0001", "--as", "ga-data-officer",
                   "--operator", "ga-lihua", "--reason", "核查使用情况", "--data-dir", str(data_dir)]
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUSPENDED" in done.stdout
        assert "not announced" in done.stderr  # logged: the workers will pick it up by polling
        committed = time.monotonic()
        # No GraphQL request meanwhile (/readyz does not refresh): only the worker's own poll moves it.
        while httpx.get(f"{worker.url}/readyz", timeout=5).json()["policyVersion"] == version:
            assert time.monotonic() - committed < REFRESH_SECONDS + 2, "the suspension did not arrive by polling"
            time.sleep(0.05)
        assert "GRANT_SUSPENDED" in _list_codes(worker.url, creds)

        assert "policy channel redis is down" in worker.log()  # noticed and logged, once
        assert worker.log().count("policy channel redis is down") == 1
