"""Signed checkpoints: the key file, when checkpoints are signed, forged or foreign signatures,
and a checkpoint store that fails without costing an audit record."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from audit import AuditStore
from audit.checkpoints import (
    Checkpointer,
    CheckpointStore,
    CheckpointUnavailable,
    PublicKey,
    SigningKey,
    load_public_key,
    public_key_path,
)
from gateway.runtime import make_engine
from tests.audit.chain_support import fill, key_path, open_store, record, sql, url
from tests.support import Gateway


def test_the_signing_key_is_created_once_mode_0600_with_its_public_key_beside_it(tmp_path: Path) -> None:
    path = key_path(tmp_path)
    created = SigningKey.from_file(path, create=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.from_file(path).public.key_id == created.public.key_id  # the same key, read back
    exported = PublicKey.from_file(public_key_path(path))
    assert public_key_path(path).name == "audit-signing.pub" and exported.key_id == created.public.key_id
    assert load_public_key(path).key_id == created.public.key_id  # type: ignore[union-attr]
    assert "PRIVATE" not in repr(created) and created.public.key_id in repr(created)


def test_a_missing_key_is_not_invented_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SigningKey.from_file(key_path(tmp_path))
    assert load_public_key(key_path(tmp_path)) is None


def test_racing_workers_end_up_with_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: SigningKey.from_file(key_path(tmp_path), create=True).public.key_id, range(16)))
    assert len(set(keys)) == 1
    assert sorted(p.name for p in key_path(tmp_path).parent.iterdir()) == ["audit-signing.key", "audit-signing.pub"]


def test_a_public_key_file_in_base64_is_read_too(tmp_path: Path) -> None:
    import base64

    key = SigningKey.generate()
    (tmp_path / "k.b64").write_text(base64.b64encode(key.public.raw).decode())
    assert PublicKey.from_file(tmp_path / "k.b64").key_id == key.public.key_id
    (tmp_path / "bad").write_text("not a key")
    with pytest.raises(ValueError, match="Ed25519 public key"):
        PublicKey.from_file(tmp_path / "bad")


async def test_a_checkpoint_every_n_records(tmp_path: Path) -> None:
    store = await open_store(tmp_path, every=10)
    for i in range(35):
        await store.append(record(f"r{i}"))
        await asyncio.sleep(0.001)
    assert store.checkpointer is not None
    signed = [c.seq for c in await store.checkpointer.store.all()]
    assert signed and all(seq <= 35 for seq in signed) and max(signed) >= 30
    assert all(b - a >= 10 for a, b in zip(signed, signed[1:], strict=False))  # never more often than every 10
    await store.close()  # signs the rest
    again = CheckpointStore(make_engine(url(tmp_path / "audit_checkpoints.sqlite")))
    assert max(c.seq for c in await again.all()) == 35
    await again.close()


async def test_the_first_commit_is_signed_at_once_then_t_seconds_after_the_last_checkpoint(tmp_path: Path) -> None:
    store = await open_store(tmp_path, every=1000, seconds=0.5)
    assert store.checkpointer is not None
    await store.append(record("a"))  # a worker's first commit: signed at once
    await asyncio.sleep(0.05)
    assert [c.seq for c in await store.checkpointer.store.all()] == [1]
    await store.append(record("b"))  # within T, and far from 1,000 records: not signed yet
    await asyncio.sleep(0.05)
    assert [c.seq for c in await store.checkpointer.store.all()] == [1]
    await asyncio.sleep(0.6)  # T has passed: signed by the timer, with no further commit
    assert [c.seq for c in await store.checkpointer.store.all()] == [1, 2]
    await store.close()


async def test_a_burst_followed_by_silence_is_signed_after_t_seconds(tmp_path: Path) -> None:
    """An idle store is signed too: the writer does not wait for another commit."""
    store = await open_store(tmp_path, every=1000, seconds=0.5)
    checkpointer = store.checkpointer
    assert checkpointer is not None
    await store.append(record("first"))
    await asyncio.sleep(0.05)  # signed at once: T now counts from here
    await asyncio.gather(*(store.append(record(f"burst{i}")) for i in range(20)))
    await asyncio.sleep(0.05)
    assert max(c.seq for c in await checkpointer.store.all()) == 1  # the burst is not signed yet
    await asyncio.sleep(0.6)  # silence
    assert max(c.seq for c in await checkpointer.store.all()) == 21
    report = await store.verify()
    assert report.ok and report.unanchored == 0
    await store.close()


async def test_closing_cancels_the_checkpoint_timer(tmp_path: Path) -> None:
    store = await open_store(tmp_path, every=1000, seconds=3600)
    checkpointer = store.checkpointer
    assert checkpointer is not None
    await store.append(record("a"))
    await asyncio.sleep(0.05)
    await store.append(record("b"))
    timer = checkpointer._timer
    assert timer is not None and not timer.cancelled()  # armed for T after the first checkpoint
    await store.close()  # signs what is left and stops the timer
    assert timer.cancelled() and checkpointer._timer is None


async def test_checkpoints_sign_seq_hash_time_and_algorithm(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await fill(store, 3)
    assert store.checkpointer is not None
    checkpoint = (await store.checkpointer.store.all())[-1]
    [(digest,)] = sql(tmp_path / "audit.sqlite", "SELECT hash FROM audit_records WHERE seq = 3")
    [(chain,)] = sql(tmp_path / "audit.sqlite", "SELECT value FROM audit_meta WHERE name = 'chain'")
    assert (checkpoint.seq, checkpoint.hash, checkpoint.algorithm, checkpoint.chain) == (3, digest, "sha256", chain)
    assert len(chain) == 32 and chain == store.chain
    assert checkpoint.at.endswith("+00:00") and store.checkpointer.key.public.verify(checkpoint)
    assert checkpoint.message().startswith(f"gov-data-gateway/audit-checkpoint/v2\x1f{chain}\x1f3\x1f".encode())
    await store.close()


async def test_an_edited_checkpoint_fails_its_signature(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await fill(store, 10)
    sql(tmp_path / "audit_checkpoints.sqlite", "UPDATE audit_checkpoints SET seq = 9 WHERE seq = 10")
    report = await store.verify()
    assert report.first_bad == 9 and "does not carry a valid signature" in (report.problem or "")
    await store.close()


async def test_a_checkpoint_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    """Someone without the signing key cannot vouch for a truncated chain with a key of their own."""
    store = await open_store(tmp_path)
    await fill(store, 10)
    assert store.checkpointer is not None
    intruder = SigningKey.generate()
    [(digest,)] = sql(tmp_path / "audit.sqlite", "SELECT hash FROM audit_records WHERE seq = 4")
    await store.checkpointer.store.add(intruder.sign_checkpoint(4, digest, "sha256", store.chain))
    report = await store.verify()
    assert report.first_bad == 4 and f"names key {intruder.public.key_id}" in (report.problem or "")
    await store.close()


async def test_verify_with_an_auditors_public_key(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await fill(store, 10)
    report = await store.verify(SigningKey.generate().public)  # not the key that signed
    assert not report.ok and "does not carry a valid signature" in (report.problem or "")
    await store.close()


async def test_a_failing_checkpoint_store_costs_no_record_is_reported_and_retried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("audit.checkpoints.RETRY_SECONDS", 0.01)
    store = await open_store(tmp_path, every=1)
    checkpointer = store.checkpointer
    assert checkpointer is not None
    good = checkpointer.store.engine
    checkpointer.store.engine = make_engine(url(tmp_path / "missing" / "dir" / "checkpoints.sqlite"))
    checkpointer.store.created = False
    assert await store.append(record("a")) == 1  # committed although its checkpoint fails
    await asyncio.sleep(0.05)
    assert checkpointer.error is not None
    with pytest.raises(CheckpointUnavailable):
        await store.checkpoint_ping()
    await checkpointer.store.engine.dispose()
    checkpointer.store.engine = good
    await asyncio.sleep(0.05)  # the writer tries again on its own, and succeeds once the database answers
    assert checkpointer.error is None
    await store.checkpoint_ping()
    assert [c.seq for c in await checkpointer.store.all()] == [1]
    assert await store.append(record("b")) == 2
    await checkpointer.flush()
    assert [c.seq for c in await checkpointer.store.all()] == [1, 2]
    assert (await store.verify()).ok
    await store.close()


async def test_readyz_reports_failing_checkpoints_while_requests_are_served(gateway: Gateway, tmp_path: Path) -> None:
    checkpointer = gateway.runtime.audit.checkpointer
    checkpointer.every = 1
    await checkpointer.store.engine.dispose()
    checkpointer.store.engine = make_engine(url(tmp_path / "missing" / "dir" / "checkpoints.sqlite"))
    checkpointer.store.created = False
    body = await gateway.query('{ person(idNumber: "%s") { name } }' % gateway.sample_id, expect_status=200)
    assert body["data"]["person"]["name"]
    await asyncio.sleep(0.05)
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["audit:checkpoints"] == "unavailable (CheckpointUnavailable)"
    assert ready.json()["checks"]["audit"] == "ok"


async def test_the_gateway_signs_checkpoints_into_their_own_database(gateway: Gateway, data_dir: Path) -> None:
    gateway.runtime.audit.checkpointer.every = 2
    for _ in range(4):
        await gateway.query('{ person(idNumber: "%s") { name } }' % gateway.sample_id, expect_status=200)
    await gateway.runtime.audit.checkpointer.flush()
    report = await gateway.runtime.audit.verify()
    assert report.ok and report.newest_checkpoint == report.last == 4
    assert (data_dir / "audit_checkpoints.sqlite").exists() and (data_dir / "keys" / "audit-signing.pub").exists()
    assert not sql(data_dir / "audit.sqlite", "SELECT name FROM sqlite_master WHERE name = 'audit_checkpoints'")


def test_checkpointer_refuses_a_zero_cadence() -> None:
    with pytest.raises(ValueError):
        Checkpointer(CheckpointStore(make_engine("sqlite+aiosqlite://")), SigningKey.generate(), every=0)


async def test_a_store_without_checkpointer_verifies_its_chain_only(tmp_path: Path) -> None:
    store = AuditStore(make_engine(url(tmp_path / "audit.sqlite")))
    await store.create()
    await store.append(record("a"))
    await store.checkpoint_ping()  # nothing to report
    report = await store.verify()
    assert report.ok and report.newest_checkpoint is None and report.unanchored == 1
    await store.close()


async def test_a_checkpoint_of_another_chain_is_refused(tmp_path: Path) -> None:
    """Signed with the right key, but for another chain (another store under the same key)."""
    store = await open_store(tmp_path)
    await fill(store, 10)
    assert store.checkpointer is not None
    [(digest,)] = sql(tmp_path / "audit.sqlite", "SELECT hash FROM audit_records WHERE seq = 4")
    await store.checkpointer.store.add(store.checkpointer.key.sign_checkpoint(4, digest, "sha256", "f" * 32))
    report = await store.verify()
    assert report.first_bad == 4 and f"belongs to another chain ({'f' * 32}; this chain is {store.chain})" in (
        report.problem or "")
    await store.close()


async def test_a_junk_checkpoint_past_the_end_is_reported_as_junk_not_as_removed_records(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await fill(store, 10)
    sql(tmp_path / "audit_checkpoints.sqlite", "INSERT INTO audit_checkpoints (seq, hash, at, algorithm, key_id, "
        "signature, chain) VALUES (500, 'x', '2024-01-01', 'sha256', 'k', 'junk', 'c')")
    report = await store.verify()
    assert report.first_bad == 500 and "does not carry a valid signature" in (report.problem or "")
    assert "were removed" not in (report.problem or "")
    await store.close()


async def test_a_checkpoint_table_from_before_chain_ids_gets_the_column(tmp_path: Path) -> None:
    database = tmp_path / "audit_checkpoints.sqlite"
    sql(database, "CREATE TABLE audit_checkpoints (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash VARCHAR(64) NOT "
                  "NULL, at VARCHAR(40) NOT NULL, algorithm VARCHAR(16) NOT NULL, key_id VARCHAR(32) NOT NULL, "
                  "signature VARCHAR(128) NOT NULL)")
    store = await open_store(tmp_path)
    await fill(store, 3)
    assert store.checkpointer is not None
    assert {c.chain for c in await store.checkpointer.store.all()} == {store.chain}
    assert (await store.verify()).ok
    await store.close()


async def test_every_store_gets_its_own_chain_id_once(tmp_path: Path) -> None:
    one = await open_store(tmp_path / "one")
    two = await open_store(tmp_path / "two")
    chain = one.chain
    await one.close()
    await two.close()
    again = await open_store(tmp_path / "one")
    assert again.chain == chain and chain != two.chain and len(chain) == 32
    await again.close()
