"""The command line's policy and workflow steps leave a trace (gateway/admin.py `_audited`):
every policy command, a read as well as a change, is audited before its result is shown; a
commit that fails after its record was written is recorded as FAILED, its changes rolled back;
a policy file that is not UTF-8 is refused with a message, not a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncTransaction

from gateway import admin
from gateway.runtime import make_engine, open_audit
from gateway.settings import Settings
from policies.versions import Draft
from store import policy, repository
from tests.support import cli, cli_succeeded

ADMIN = ("--as", "sj-policy-admin", "--operator", "sj-wutao")


async def _records(settings: Settings, count: int) -> list[dict[str, Any]]:
    """The newest `count` audit records, oldest first."""
    audit = await open_audit(settings)
    try:
        return list(reversed(await audit.records(limit=count)))
    finally:
        await audit.close()


def test_every_policy_read_from_the_command_line_is_audited(data_dir: Path, tmp_path: Path) -> None:
    settings = Settings.from_env({}, data_dir=data_dir)
    before = len(asyncio.run(_records(settings, 10_000)))
    cli_succeeded(data_dir, "policy", "versions", *ADMIN)
    cli_succeeded(data_dir, "policy", "export", *ADMIN, "--out", str(tmp_path / "out"))
    cli_succeeded(data_dir, "policy", "check", "1", *ADMIN)
    cli_succeeded(data_dir, "policy", "diff", "1", "1", *ADMIN)
    cli_succeeded(data_dir, "policy", "explain", "fg-credit", "MARKET_SUPERVISION", "Person.maritalStatus", *ADMIN)
    reads = asyncio.run(_records(settings, 10_000))[before:]
    assert [r["changes"] for r in reads] == [[{"action": f"policy.{name}"}] for name in
                                             ("versions", "export", "check", "diff", "explain")]
    for record in reads:
        assert (record["operation"], record["outcome"], record["operator"], record["application"], record["client"]) == (
            "policy", "SERVED", "sj-wutao", "sj-policy-admin", "cli")
        assert record["department"] and record["policy_version"]


def test_a_policy_file_that_is_not_utf8_is_refused_with_a_message(data_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.conf"
    model.write_bytes("[request_definition]\nr = sub  # 主体\n".encode("gb18030"))
    result = cli(data_dir, "policy", "import", *ADMIN, "--model", str(model), "--note", "GBK")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "UnicodeDecodeError" not in result.stderr, result.stderr
    said = " ".join(result.stderr.replace("│", " ").split())  # typer's box, unwrapped
    assert "Invalid value for --model:" in said and "is not UTF-8 text (byte 32): save it as UTF-8" in said, said
    assert cli_succeeded(data_dir, "policy", "versions", *ADMIN).splitlines()[0].startswith("1\t")


@pytest.fixture
def failing_commit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform store's commits fail (the audit store's still work)."""
    real = AsyncTransaction.commit
    store_url = settings.store_url

    async def commit(self: AsyncTransaction) -> None:
        if self.connection.engine.url.render_as_string(hide_password=False) == store_url:
            raise OperationalError("COMMIT", {}, Exception("the server went away"))
        await real(self)

    monkeypatch.setattr(AsyncTransaction, "commit", commit)


async def _served_then_failed(settings: Settings, count: int) -> tuple[dict[str, Any], dict[str, Any]]:
    served, failed = await _records(settings, 2)
    assert (served["outcome"], failed["outcome"], failed["code"]) == ("SERVED", "FAILED", "INTERNAL_ERROR")
    assert failed["request_id"] == served["request_id"]
    for key in ("operation", "application", "department", "operator", "client"):
        assert failed[key] == served[key], key
    assert len(served["changes"]) == count
    assert failed["changes"] == [{**change, "rolledBack": "true"} for change in served["changes"]]
    return served, failed


async def test_a_policy_change_whose_commit_fails_is_recorded_as_failed(settings: Settings,
                                                                         failing_commit: None) -> None:
    engine = make_engine(settings.store_url)
    try:
        versions = await policy.list_versions(engine)
    finally:
        await engine.dispose()
    in_force = next(v for v in versions if v.state == "ACTIVE")
    draft = Draft(in_force.draft.model, "", "")
    with pytest.raises(OperationalError):
        await admin.policy_step(settings, "sj-policy-admin", "sj-wutao", "policy.create",
                                lambda desk: desk.create(draft, "never committed"))
    served, _ = await _served_then_failed(settings, 1)
    assert (served["operation"], served["changes"][0]["action"]) == ("policy", "policy.create")
    engine = make_engine(settings.store_url)
    try:
        assert [v.id for v in await policy.list_versions(engine)] == [v.id for v in versions]  # rolled back
    finally:
        await engine.dispose()

    with pytest.raises(OperationalError):  # a read's commit too: recorded, then failed
        await admin.policy_step(settings, "sj-policy-admin", "sj-wutao", "policy.versions", lambda desk: desk.versions())
    served, _ = await _served_then_failed(settings, 1)
    assert served["changes"] == [{"action": "policy.versions"}]


async def test_a_workflow_step_whose_commit_fails_is_recorded_as_failed(settings: Settings,
                                                                         failing_commit: None) -> None:
    with pytest.raises(OperationalError):
        await admin.workflow_step(settings, "ga-data-officer", "ga-lihua",
                                  lambda flow: flow.set_grant_status("G-MZ-0001", "suspend", "核查使用情况"))
    served, _ = await _served_then_failed(settings, 1)
    assert served["operation"] == "workflow" and served["changes"][0]["grant"] == "G-MZ-0001"
    engine = make_engine(settings.store_url)
    try:
        grants = {g.id: g.status for g in await repository.load_grants(engine)}
        assert grants["G-MZ-0001"] is repository.GrantStatus.ACTIVE  # rolled back
    finally:
        await engine.dispose()



async def test_a_mask_rule_whose_commit_fails_is_recorded_as_failed(settings: Settings,
                                                                     failing_commit: None) -> None:
    with pytest.raises(OperationalError):
        await admin.set_mask_rule(settings, "Person.mobile", "partial(head=2,tail=2)", operator="sj-zhoumin")
    served, failed = await _served_then_failed(settings, 0)
    assert served["operation"] == "policy.mask_rule.set" and served["fields"] == {"Person.mobile": "POLICY"}
    engine = make_engine(settings.store_url)
    try:
        assert await repository.load_mask_overrides(engine) == []  # rolled back
    finally:
        await engine.dispose()
