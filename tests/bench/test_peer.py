"""Smoke test of bench/peer.py: the gateway and PostGraphile run as real processes over a tiny
demo on PostgreSQL, answer alike, and the report holds every figure; no timing is judged.

No network at test time: the PostGraphile run is skipped when bench/peer/node_modules is not
installed (`npm ci --prefix bench/peer`), as it is when node or the PostgreSQL server is missing."""

from __future__ import annotations

import asyncio
import json
import shutil
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

from bench import peer, pgdemo
from tests import postgres

TINY = ["--persons", "200", "--seconds", "0.3", "--repeats", "2", "--warmup", "0.2", "--concurrency", "4",
        "--verify", "10"]


def result(out: Path) -> dict[str, Any]:
    assert (out / "peer.md").read_text(encoding="utf-8").startswith("# Peer: PostGraphile")
    return json.loads((out / "peer.json").read_text(encoding="utf-8"))


@pytest.mark.postgres
def test_both_servers_answer_alike_and_every_figure_is_reported(tmp_path: Path) -> None:
    if shutil.which("node") is None or not peer.PEER_CLI.exists():
        pytest.skip("PostGraphile is not installed: npm ci --prefix bench/peer (needs node and npm)")
    if (why := pgdemo.unreachable_reason()) and not postgres.REQUIRED:
        pytest.skip(why)
    assert peer.main([*TINY, "--out", str(tmp_path)]) == 0
    report = result(tmp_path)
    pinned = json.loads((peer.PEER_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]["postgraphile"]
    assert report["peerVersion"] == pinned and report["verifiedSubjects"] == 10
    windows = report["windows"]
    assert sorted(w["side"] for w in windows) == ["PostGraphile", "PostGraphile", "gateway", "gateway"]
    assert all(w["requests"] > 0 and w["failures"] == 0 and w["cpu_ms_per_request"] > 0 for w in windows)
    throughput, latency, cpu = (peer.Figure.from_json(f) for f in report["figures"])
    assert {throughput.item, latency.item, cpu.item} == {peer.ITEM}
    ratio = {s["side"]: s["throughput"] for s in report["summaries"]}
    assert throughput.value == f"{ratio['gateway'] / ratio['PostGraphile']:.2f}×"
    assert throughput.met == (ratio["gateway"] / ratio["PostGraphile"] >= peer.AIM)
    assert latency.met is None and cpu.met is None


def test_without_node_the_figure_is_not_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert peer.main(["--quick", "--out", str(tmp_path)]) == 0
    report = result(tmp_path)
    (figure,) = report["figures"]
    assert figure["value"] == "not measured" and figure["met"] is None and "node" in figure["detail"]


def test_answers_are_read_alike_from_both_sides() -> None:
    fields = {"name": "杨琦梦", "gender": "女", "ethnicity": "汉族", "birthDate": "1990-01-08", "mobile": "17000003648",
              "address": "福建省莆田市"}
    assert peer.gateway_person({"data": {"person": fields}, "extensions": {"masked": []}}) == fields
    assert peer.peer_person({"data": {"allPersonBasics": {"nodes": [fields]}}}) == fields
    masked = [{"path": ["person", "mobile"], "rule": "mobile"}]
    assert peer.gateway_person({"data": {"person": fields}, "extensions": {"masked": masked}}) is None
    assert peer.peer_person({"data": {"allPersonBasics": {"nodes": []}}}) is None
    assert peer.peer_person({"errors": [{"message": "x"}], "data": None}) is None


def test_different_answers_fail_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"gateway": {"name": "杨琦梦"}, "PostGraphile": {"name": "杨琦"}}

    async def fields_of(_client: Any, side: peer.Side, _id_number: str) -> dict[str, Any]:
        return answers[side.name]

    monkeypatch.setattr(peer, "fields_of", fields_of)
    sides = [peer.Side(name, 1, 1, {}, "", peer.peer_person) for name in answers]
    found = asyncio.run(peer.differences(sides, ["352101199001082349"]))
    assert len(found) == 1 and "杨琦梦" in found[0]
    out = tmp_path / "out"
    assert peer.compare(Namespace(verify=1, out=out), sides, ["352101199001082349"]) == 1
    assert not out.exists()  # nothing measured, nothing reported
