"""Whoever can write the audit table cannot change the trail unnoticed: modification, deletion,
insertion, reordering and truncation are each caught by `verify`, which names the first bad
record; a chain rewritten with fresh hashes is caught by the signed checkpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from audit import AuditStore
from audit.chain import chain_hash
from tests.audit.chain_support import fill, open_store, record, sql


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AuditStore]:
    audit = await open_store(tmp_path, every=10)
    await fill(audit, 30)
    yield audit
    await audit.close()


def db(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite"


async def test_an_untouched_chain_verifies_with_its_checkpoints(store: AuditStore) -> None:
    report = await store.verify()
    assert report.ok and report.records == 30 and (report.first, report.last) == (1, 30)
    assert report.newest_checkpoint == 30 and report.checkpoints >= 1 and report.unanchored == 0


async def test_an_edited_body_is_named(store: AuditStore, tmp_path: Path) -> None:
    sql(db(tmp_path), "UPDATE audit_records SET body = replace(body, 'mz-wangli', 'mz-zhaoqiang') WHERE seq = 12")
    report = await store.verify()
    assert report.first_bad == 12 and "content does not match its hash" in (report.problem or "")
    assert report.records == 11


async def test_a_deleted_middle_record_is_named(store: AuditStore, tmp_path: Path) -> None:
    sql(db(tmp_path), "DELETE FROM audit_records WHERE seq = 15")
    report = await store.verify()
    assert report.first_bad == 15 and "record 15 is missing" in (report.problem or "")


async def test_an_inserted_record_is_caught(store: AuditStore, tmp_path: Path) -> None:
    """The intruder makes room at 8 and inserts a record that links to record 7 correctly: record
    9 (the old 8) no longer links to its predecessor."""
    database = db(tmp_path)
    for seq in range(30, 7, -1):
        sql(database, "UPDATE audit_records SET seq = seq + 1 WHERE seq = ?", (seq,))
    [(prev,)] = sql(database, "SELECT hash FROM audit_records WHERE seq = 7")
    body = '{"operation":"query","operator":"mz-wangli"}'
    sql(database, "INSERT INTO audit_records (seq, request_id, at, application, body, prev_hash, hash) "
                  "VALUES (8, 'forged', '2024-05-01T08:00:00+00:00', 'mz-assistance', ?, ?, ?)",
        (body, prev, chain_hash(prev, body.encode())))
    report = await store.verify()
    assert report.first_bad == 9 and "link to the previous record" in (report.problem or "")


async def test_two_swapped_records_are_caught(store: AuditStore, tmp_path: Path) -> None:
    database = db(tmp_path)
    sql(database, "UPDATE audit_records SET seq = -1 WHERE seq = 5")
    sql(database, "UPDATE audit_records SET seq = 5 WHERE seq = 6")
    sql(database, "UPDATE audit_records SET seq = 6 WHERE seq = -1")
    report = await store.verify()
    assert report.first_bad == 5 and "link to the previous record" in (report.problem or "")


async def test_swapped_bodies_are_caught(store: AuditStore, tmp_path: Path) -> None:
    database = db(tmp_path)
    [(b5,)] = sql(database, "SELECT body FROM audit_records WHERE seq = 5")
    [(b6,)] = sql(database, "SELECT body FROM audit_records WHERE seq = 6")
    sql(database, "UPDATE audit_records SET body = ? WHERE seq = 5", (b6,))
    sql(database, "UPDATE audit_records SET body = ? WHERE seq = 6", (b5,))
    assert (await store.verify()).first_bad == 5


async def test_deleting_the_newest_records_is_caught_by_the_checkpoint(store: AuditStore, tmp_path: Path) -> None:
    sql(db(tmp_path), "DELETE FROM audit_records WHERE seq > 27")
    report = await store.verify()
    assert report.first_bad == 28
    assert "the chain ends at seq 27 but checkpoint" in (report.problem or "")
    assert "signed seq 30" in (report.problem or "") and "records 28–30 were removed" in (report.problem or "")


async def test_a_chain_rewritten_with_fresh_hashes_is_caught_by_the_checkpoints(store: AuditStore,
                                                                                tmp_path: Path) -> None:
    """The chain alone holds after a full rewrite from record 14 on; the signed hashes do not."""
    database = db(tmp_path)
    rows = sql(database, "SELECT seq, body, hash FROM audit_records ORDER BY seq")
    prev = rows[12][2]  # record 13's hash: the rewrite starts after it
    for seq, body, _ in rows[13:]:
        if seq == 14:
            body = body.replace("mz-wangli", "mz-zhaoqiang")
        digest = chain_hash(prev, body.encode())
        sql(database, "UPDATE audit_records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?", (body, prev, digest, seq))
        prev = digest
    chain_only = AuditStore(store.engine)  # no checkpoints: the rewrite goes unseen
    assert (await chain_only.verify()).ok
    report = await store.verify()
    assert report.first_bad is not None and report.first_bad <= 14
    assert "were rewritten" in (report.problem or "") and "differs from the one signed" in (report.problem or "")


async def test_records_after_the_newest_checkpoint_are_covered_by_the_chain_only(tmp_path: Path) -> None:
    audit = await open_store(tmp_path, every=1000)
    await fill(audit, 5)  # signed at 5 by the flush
    await audit.append(record("late"))
    report = await audit.verify()
    assert report.ok and report.newest_checkpoint == 5 and report.unanchored == 1
    sql(tmp_path / "audit.sqlite", "DELETE FROM audit_records WHERE seq = 6")  # inside the window: unseen
    assert (await audit.verify()).ok
    await audit.close()
