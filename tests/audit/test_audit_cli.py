"""`gateway audit verify` and `gateway audit archive`, and the retention setting's floor."""

from __future__ import annotations

import asyncio
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.runtime import open_audit
from gateway.settings import Settings, SettingsError
from tests.audit.chain_support import record, sql


def gateway(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("days", ["0", "365", "1094"])
def test_a_retention_below_three_years_is_refused(days: str) -> None:
    with pytest.raises(SettingsError, match="below the minimum of 1095 days.*第三十六条"):
        Settings.from_env({"GATEWAY_AUDIT_RETENTION_DAYS": days})


def test_retention_defaults_to_1096_days_and_accepts_the_minimum() -> None:
    assert Settings.from_env({}).audit_retention_days == 1096
    assert Settings.from_env({"GATEWAY_AUDIT_RETENTION_DAYS": "1095"}).audit_retention_days == 1095


def test_other_audit_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="GATEWAY_AUDIT_HASH"):
        Settings.from_env({"GATEWAY_AUDIT_HASH": "md5"})
    with pytest.raises(SettingsError, match="GATEWAY_AUDIT_CHECKPOINT_EVERY"):
        Settings.from_env({"GATEWAY_AUDIT_CHECKPOINT_EVERY": "0"})
    settings = Settings.from_env({"GATEWAY_AUDIT_HASH": "SM3"}, data_dir=Path("/srv/gw"))
    assert settings.audit_hash == "sm3"
    assert settings.audit_checkpoint_url == "sqlite+aiosqlite:////srv/gw/audit_checkpoints.sqlite"
    assert settings.audit_signing_key_path == Path("/srv/gw/keys/audit-signing.key")


def test_serve_refuses_to_start_with_a_short_retention(tmp_path: Path) -> None:
    result = gateway("serve", "--data-dir", str(tmp_path), env={"GATEWAY_AUDIT_RETENTION_DAYS": "180"})
    assert result.returncode == 2
    assert "GATEWAY_AUDIT_RETENTION_DAYS=180 is below the minimum of 1095 days" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    """A data directory whose audit trail holds 30 records from 2020 and 5 from 2024."""
    directory = tmp_path / "data"

    async def build() -> None:
        store = await open_audit(Settings.from_env({"GATEWAY_AUDIT_CHECKPOINT_EVERY": "10"}, data_dir=directory))
        for i in range(35):
            await store.append(record(f"r{i}", "2020-03-01T08:00:00+00:00" if i < 30 else "2024-05-01T08:00:00+00:00"))
        await store.close()

    asyncio.run(build())
    return directory


def test_verify_prints_the_public_key_and_what_holds(trail: Path) -> None:
    result = gateway("audit", "verify", "--data-dir", str(trail))
    assert result.returncode == 0, result.stdout + result.stderr
    public = (trail / "keys" / "audit-signing.pub").read_text()
    assert public.strip() in result.stdout and "audit signing key" in result.stdout
    assert "store: records 1–35 (sha256;" in result.stdout and "the newest of record 35" in result.stdout
    assert "audit trail holds: 35 records verified" in result.stdout


def test_verify_names_the_truncation_and_exits_1(trail: Path) -> None:
    sql(trail / "audit.sqlite", "DELETE FROM audit_records WHERE seq > 32")
    result = gateway("audit", "verify", "--data-dir", str(trail))
    assert result.returncode == 1
    assert "audit trail broken at record 33" in result.stdout and "the chain ends at seq 32" in result.stdout


def test_archive_then_verify_store_and_archive_offline_and_together(trail: Path, tmp_path: Path) -> None:
    out = tmp_path / "vault"
    done = gateway("audit", "archive", "--before", "2021-01-01", "--data-dir", str(trail), "--out", str(out),
                   "--operator", "sj-zhoumin")
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = list(out.glob("audit-0000000001-0000000030-*.ndjson.gz"))
    assert f"archived records 1–30 (30 records) to {path}" in done.stdout
    assert "removed from the store" in done.stdout and "audit record 36 (audit.retention)" in done.stdout
    public = trail / "keys" / "audit-signing.pub"
    offline = gateway("audit", "verify", "--archive", str(path), "--public-key", str(public))
    assert offline.returncode == 0 and f"{path.name}: records 1–30" in offline.stdout
    assert "store" not in offline.stdout.replace("audit trail", "")  # no database was opened
    together = gateway("audit", "verify", "--data-dir", str(trail), "--archive", str(path))
    assert together.returncode == 0, together.stdout
    assert "store: records 31–36" in together.stdout and "audit trail holds: 36 records verified" in together.stdout
    alone = gateway("audit", "verify", "--data-dir", str(trail))  # the store verifies from its signed base
    assert alone.returncode == 0 and "store: records 31–36" in alone.stdout
    # an archive edited offline fails, naming the record
    with gzip.open(path, "rt", encoding="utf-8") as file:
        text = file.read().split("\n")
    text[5] = text[5].replace("mz-wangli", "mz-zhaoqiang")
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.write("\n".join(text))
    bad = gateway("audit", "verify", "--archive", str(path), "--public-key", str(public))
    assert bad.returncode == 1 and "audit trail broken at record 5" in bad.stdout


def test_archive_within_retention_keeps_the_records(trail: Path) -> None:
    done = gateway("audit", "archive", "--before", "2024-06-01", "--data-dir", str(trail))
    assert done.returncode == 0, done.stderr
    assert "archived records 1–35" in done.stdout and "kept in the store" in done.stdout
    assert sql(trail / "audit.sqlite", "SELECT count(*) FROM audit_records") == [(35,)]
    assert len(list((trail / "archives").glob("*.ndjson.gz"))) == 1


def test_archive_refuses_a_bad_date_and_a_broken_store(trail: Path) -> None:
    assert gateway("audit", "archive", "--before", "yesterday", "--data-dir", str(trail)).returncode == 2
    sql(trail / "audit.sqlite", "UPDATE audit_records SET body = replace(body, 'RAW', 'MASKED') WHERE seq = 4")
    refused = gateway("audit", "archive", "--before", "2021-01-01", "--data-dir", str(trail))
    assert refused.returncode == 1 and "record 4" in refused.stderr and "nothing archived" in refused.stderr
