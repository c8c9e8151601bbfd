"""Smoke tests of the long-running robustness scripts, so that they keep working: each runs for
real against its own gateway process (scripts/served.py), briefly - the soak for 5 s at 5
requests in flight, the fuzz for 30 operations - and must pass and write its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PERSONS = "300"  # a small demo: the scripts build their own


def run_script(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, "--persons", PERSONS, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_soak_runs_briefly_without_errors(tmp_path: Path) -> None:
    # Memory is measured, but 5 s is too short for a meaningful growth limit: only the errors are judged.
    done = run_script("scripts.soak", "--seconds", "5", "--concurrency", "5", "--max-rss-growth", "10",
                      "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "soak.json").read_text(encoding="utf-8"))
    assert result["errors"] == 0 and result["pass"]
    assert result["requests"] > 100
    assert {"UNAUTHENTICATED", "FIELD_NOT_SHARED", "PURPOSE_NOT_GRANTED", "BAD_USER_INPUT"} <= set(result["errorCodes"])
    assert result["listPagesAfterCursor"] > 0
    assert result["rss"]["afterWarmUpKiB"] > 0 and result["rss"]["endKiB"] > 0
    assert (tmp_path / "soak.md").read_text(encoding="utf-8").startswith("# Soak:")


def test_fuzz_runs_thirty_operations_without_failures(tmp_path: Path) -> None:
    pytest.importorskip("schemathesis", reason="the fuzz needs schemathesis: pip install -e '.[fuzz]'")
    done = run_script("scripts.fuzz", "--operations", "30", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "fuzz.json").read_text(encoding="utf-8"))
    assert result["operations"] == 30 and result["failures"] == 0 and result["pass"]
    assert sum(result["statuses"].values()) == 30
    assert result["readyAfter"]
    assert (tmp_path / "fuzz.md").read_text(encoding="utf-8").startswith("# GraphQL fuzz: 30 operations")


def test_fuzz_checks_catch_what_they_look_for() -> None:
    pytest.importorskip("schemathesis", reason="the fuzz needs schemathesis: pip install -e '.[fuzz]'")
    from scripts.fuzz import Leaks, response_problems

    leaks = Leaks(["13800000000", "杨琦梦"], ["/srv/gateway-data"])

    def problems(status: int, body: dict[str, object], request: str = "{ x }") -> list[str]:
        return response_problems(status, json.dumps(body, ensure_ascii=False), request, leaks)[0]

    def error(message: str, code: str | None = "BAD_USER_INPUT") -> dict[str, object]:
        return {"errors": [{"message": message, "extensions": {"code": code} if code else {}}]}

    assert problems(200, {"data": {"x": 1}}) == []
    assert problems(400, error("`first` must be between 1 and 500.")) == []
    assert problems(500, error("Internal error", "INTERNAL_ERROR"))[:2] == ["server error: HTTP 500",
                                                                            "internal error: INTERNAL_ERROR"]
    assert problems(400, error("no code", None)) == ["no code: an error without extensions.code"]
    assert problems(200, error('Traceback (most recent call last):\n  File "x", line 1'))[0].startswith("traceback")
    assert problems(200, error("TypeError: 'NoneType' object is not iterable")) == ["traceback: TypeError: "]
    assert problems(200, error("SELECT name FROM person_basic WHERE id = ?"))[0].startswith("sql")
    assert problems(200, error("(sqlite3.OperationalError) database is locked"))[0].startswith("sql")
    assert problems(200, error("cannot open /srv/gateway-data/platform.sqlite"))[0].startswith("path")
    assert problems(200, error("mobile 13800000000 does not match")) == ["sensitive value: 13800000000"]
    assert problems(200, error("claim 杨琦梦 is malformed"), request='{ check(name: "杨琦梦") }') == []
    assert problems(502, {"detail": "bad gateway"})[-1] == "not a GraphQL response object"
