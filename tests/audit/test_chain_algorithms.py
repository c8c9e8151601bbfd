"""The chain's hash is SHA-256 or SM3, recorded in the store when it is created: verify follows
the record, and a gateway configured for the other algorithm refuses the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from audit import AuditConfigError, AuditStore
from audit.chain import GENESIS, chain_hash
from gateway.runtime import make_engine
from tests.audit.chain_support import fill, open_store, record, sql, url


def sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def test_sm3_chain_hash_is_sm3_of_previous_hash_and_body() -> None:
    assert chain_hash(GENESIS, b"{}", "sm3") == sm3(GENESIS.encode() + b"{}")
    assert sm3(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"  # GB/T 32905 example
    with pytest.raises(ValueError, match="sha256, sm3"):
        chain_hash(GENESIS, b"{}", "md5")


async def test_an_sm3_chain_is_written_signed_and_verified(tmp_path: Path) -> None:
    store = await open_store(tmp_path, algorithm="sm3")
    await fill(store, 12)
    rows = sql(tmp_path / "audit.sqlite", "SELECT prev_hash, body, hash FROM audit_records ORDER BY seq")
    assert all(sm3(prev.encode() + body.encode()) == digest for prev, body, digest in rows)
    assert sql(tmp_path / "audit.sqlite", "SELECT value FROM audit_meta WHERE name = 'hash'") == [("sm3",)]
    report = await store.verify()
    assert report.ok and report.algorithm == "sm3" and report.records == 12 and report.newest_checkpoint == 12
    assert store.checkpointer is not None
    assert {c.algorithm for c in await store.checkpointer.store.all()} == {"sm3"}
    sql(tmp_path / "audit.sqlite", "UPDATE audit_records SET body = replace(body, 'RAW', 'MASKED') WHERE seq = 7")
    assert (await store.verify()).first_bad == 7
    await store.close()


async def test_a_reader_follows_the_stores_algorithm(tmp_path: Path) -> None:
    store = await open_store(tmp_path, algorithm="sm3")
    await fill(store, 3)
    await store.close()
    reader = AuditStore(make_engine(url(tmp_path / "audit.sqlite")))  # `audit verify`: no setting
    await reader.create()
    assert reader.algorithm == "sm3" and (await reader.verify()).ok
    await reader.close()


async def test_a_gateway_set_for_another_algorithm_refuses_the_store(tmp_path: Path) -> None:
    store = await open_store(tmp_path, algorithm="sm3")
    await store.close()
    other = AuditStore(make_engine(url(tmp_path / "audit.sqlite")), algorithm="sha256")
    with pytest.raises(AuditConfigError, match="chains its records with sm3, but GATEWAY_AUDIT_HASH is sha256"):
        await other.create()
    await other.engine.dispose()


async def test_a_store_from_before_the_algorithm_was_recorded_is_sha256(tmp_path: Path) -> None:
    old = AuditStore(make_engine(url(tmp_path / "audit.sqlite")))
    await old.create()
    await old.append(record("old"))
    await old.close()
    sql(tmp_path / "audit.sqlite", "DROP TABLE audit_meta")  # as stores were before audit_meta
    refused = AuditStore(make_engine(url(tmp_path / "audit.sqlite")), algorithm="sm3")
    with pytest.raises(AuditConfigError, match="with sha256"):
        await refused.create()
    await refused.engine.dispose()
    current = AuditStore(make_engine(url(tmp_path / "audit.sqlite")), algorithm="sha256")
    await current.create()
    assert sql(tmp_path / "audit.sqlite", "SELECT value FROM audit_meta WHERE name = 'hash'") == [("sha256",)]
    assert await current.append(record("new")) == 2 and (await current.verify()).ok
    await current.close()


async def test_a_changed_algorithm_record_breaks_verification(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await fill(store, 3)
    sql(tmp_path / "audit.sqlite", "UPDATE audit_meta SET value = 'sm3' WHERE name = 'hash'")
    assert (await store.verify()).first_bad == 1
    await store.close()


async def test_the_runtime_opens_the_store_with_the_configured_algorithm(tmp_path: Path) -> None:
    from gateway.runtime import open_audit
    from gateway.settings import Settings

    settings = Settings.from_env({"GATEWAY_AUDIT_HASH": "sm3"}, data_dir=tmp_path)
    store = await open_audit(settings)
    assert store.algorithm == "sm3" and store.checkpointer is not None
    await store.append(record("a"))
    await store.close()
    refused = Settings.from_env({}, data_dir=tmp_path)
    with pytest.raises(AuditConfigError):
        await open_audit(refused)
