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
    assert "\nstore:" not in offline.stdout  # no database was opened
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


# --- verify: what it opens, what it needs, which key it trusts ---------------------------------

EVERY_10 = {"GATEWAY_AUDIT_CHECKPOINT_EVERY": "10"}


def test_verify_of_an_empty_data_directory_creates_nothing_and_holds_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = gateway("audit", "verify", "--data-dir", str(empty))
    assert result.returncode == 1, result.stdout
    assert "holds" not in result.stdout and "no audit store at" in result.stdout and "nothing was verified" in result.stdout
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("remove", ["DELETE FROM audit_checkpoints", "file"])
def test_records_with_their_checkpoints_gone_fail(trail: Path, remove: str) -> None:
    """The newest records cut off, and the checkpoints that would show it removed with them."""
    sql(trail / "audit.sqlite", "DELETE FROM audit_records WHERE seq > 30")
    if remove == "file":
        (trail / "audit_checkpoints.sqlite").unlink()
    else:
        sql(trail / "audit_checkpoints.sqlite", remove)
    result = gateway("audit", "verify", "--data-dir", str(trail))
    assert result.returncode == 1, result.stdout
    state = "is missing" if remove == "file" else "holds no checkpoint"
    assert f"the checkpoint database {trail / 'audit_checkpoints.sqlite'} {state}, but the store holds records 1–30" in (
        result.stdout)
    assert "holds:" not in result.stdout
    assert (trail / "audit_checkpoints.sqlite").exists() == (remove != "file")  # never created by verify


def test_checkpoints_above_n_deleted_with_records_beyond_the_cadence_fail(trail: Path) -> None:
    sql(trail / "audit.sqlite", "DELETE FROM audit_records WHERE seq > 33")
    sql(trail / "audit_checkpoints.sqlite", "DELETE FROM audit_checkpoints WHERE seq > 11")
    result = gateway("audit", "verify", "--data-dir", str(trail), env=EVERY_10)
    assert result.returncode == 1, result.stdout
    assert "records 12–33 (22) follow the newest checkpoint" in result.stdout
    assert "more than 2 × GATEWAY_AUDIT_CHECKPOINT_EVERY (10) records" in result.stdout
    assert "may have been removed" in result.stdout


def test_checkpoints_above_n_deleted_within_the_cadence_is_the_documented_window(trail: Path) -> None:
    sql(trail / "audit.sqlite", "DELETE FROM audit_records WHERE seq > 25")
    sql(trail / "audit_checkpoints.sqlite", "DELETE FROM audit_checkpoints WHERE seq > 11")
    result = gateway("audit", "verify", "--data-dir", str(trail), env=EVERY_10)
    assert result.returncode == 0, result.stdout
    assert "records 12–25 are covered by the chain only" in result.stdout


def test_no_checkpoints_checks_the_chain_alone_and_says_so(trail: Path) -> None:
    (trail / "audit_checkpoints.sqlite").unlink()
    result = gateway("audit", "verify", "--data-dir", str(trail), "--no-checkpoints")
    assert result.returncode == 0, result.stdout
    assert "the chain alone vouches" in result.stdout and "audit chain holds: 35 records verified by the chain alone" in (
        result.stdout)
    assert not (trail / "audit_checkpoints.sqlite").exists()


def test_verify_names_the_key_it_trusts_and_recommends_pinning(trail: Path) -> None:
    from audit.checkpoints import PublicKey

    public = trail / "keys" / "audit-signing.pub"
    key_id = PublicKey.from_file(public).key_id
    default = gateway("audit", "verify", "--data-dir", str(trail))
    assert f"audit signing key {key_id}" in default.stdout and f"read from {public}" in default.stdout
    assert "pin your own copy with --public-key" in default.stdout
    pinned = gateway("audit", "verify", "--data-dir", str(trail), "--public-key", str(public))
    assert pinned.returncode == 0 and "pin your own copy" not in pinned.stdout


def test_a_pinned_key_refuses_checkpoints_signed_by_another(trail: Path, tmp_path: Path) -> None:
    """The data directory's key replaced, and the checkpoints re-signed with it: the auditor's pinned copy says no."""
    from audit.checkpoints import PublicKey, SigningKey

    auditors = tmp_path / "auditors-copy.pub"
    auditors.write_bytes((trail / "keys" / "audit-signing.pub").read_bytes())
    pinned_id = PublicKey.from_file(auditors).key_id
    intruder = SigningKey.generate()
    rows = sql(trail / "audit_checkpoints.sqlite", "SELECT id, seq, hash, at, algorithm, chain FROM audit_checkpoints")
    for id_, seq, digest, at, algorithm, chain in rows:
        forged = intruder.sign_checkpoint(seq, digest, algorithm, chain, at=at)
        sql(trail / "audit_checkpoints.sqlite", "UPDATE audit_checkpoints SET key_id = ?, signature = ? WHERE id = ?",
            (forged.key_id, forged.signature, id_))
    (trail / "keys" / "audit-signing.pub").write_text(intruder.public.pem())
    assert gateway("audit", "verify", "--data-dir", str(trail)).returncode == 0  # the directory's own key: fooled
    result = gateway("audit", "verify", "--data-dir", str(trail), "--public-key", str(auditors))
    assert result.returncode == 1, result.stdout
    assert f"is {intruder.public.key_id}, not the pinned key {pinned_id}" in result.stdout
    assert f"does not carry a valid signature of the audit signing key {pinned_id}, it names key " \
           f"{intruder.public.key_id}" in result.stdout


async def test_an_empty_checkpoint_url_is_refused_at_start_and_by_verify(trail: Path) -> None:
    settings = Settings.from_env({"GATEWAY_AUDIT_CHECKPOINT_URL": ""}, data_dir=trail)
    with pytest.raises(RuntimeError, match="GATEWAY_AUDIT_CHECKPOINT_URL is empty"):
        await open_audit(settings)
    result = gateway("audit", "verify", "--data-dir", str(trail), env={"GATEWAY_AUDIT_CHECKPOINT_URL": ""})
    assert result.returncode == 1 and "GATEWAY_AUDIT_CHECKPOINT_URL is empty" in result.stdout
    chain_only = gateway("audit", "verify", "--data-dir", str(trail), "--no-checkpoints",
                         env={"GATEWAY_AUDIT_CHECKPOINT_URL": ""})
    assert chain_only.returncode == 0 and "by the chain alone" in chain_only.stdout


def test_an_archive_spliced_at_its_front_fails_offline(trail: Path, tmp_path: Path) -> None:
    import json

    done = gateway("audit", "archive", "--before", "2024-06-01", "--data-dir", str(trail), "--out", str(tmp_path / "v"))
    assert done.returncode == 0, done.stderr
    [path] = list((tmp_path / "v").glob("*.ndjson.gz"))
    with gzip.open(path, "rt", encoding="utf-8") as file:
        items = [json.loads(line) for line in file]
    kept = items[21:-1]  # records 21–35
    items[0].update(first=21, prev_hash=kept[0]["prev_hash"])
    items[-1].update(records=len(kept))
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.write("".join(json.dumps(item) + "\n" for item in [items[0], *kept, items[-1]]))
    public = trail / "keys" / "audit-signing.pub"
    result = gateway("audit", "verify", "--archive", str(path), "--public-key", str(public))
    assert result.returncode == 1 and "records 1–20 were removed from its start" in result.stdout
