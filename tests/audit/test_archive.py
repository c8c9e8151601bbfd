"""Archives and retention: records are copied to a signed, verified archive any time, and leave
the store only past retention; store and archives then verify as one chain, and an archive
edited offline is caught."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from audit import AuditStore
from audit.archive import ArchiveError, ArchiveResult, Piece, archive, describe, verify_archive, verify_together
from audit.chain import chain_hash
from audit.checkpoints import SigningKey
from tests.audit.chain_support import fill, open_store, record, sql

OLD = "2020-03-01T08:00:00+00:00"  # long past any retention
RECENT = "2024-05-01T08:00:00+00:00"
TODAY = date(2025, 6, 1)  # retention 1096 days: records before 2022-06-01 may be removed


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AuditStore]:
    audit = await open_store(tmp_path, every=10)
    await fill(audit, 40, at=OLD, prefix="old")
    await fill(audit, 10, at=RECENT, prefix="new")
    yield audit
    await audit.close()


async def run(store: AuditStore, tmp_path: Path, before: date, **options: Any) -> ArchiveResult:
    assert store.checkpointer is not None
    return await archive(store, store.checkpointer, before=before, out=tmp_path / "archives", retention_days=1096,
                         today=TODAY, **options)


def lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def rewrite(path: Path, items: list[dict[str, Any]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as file:
        for item in items:
            file.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")


async def test_records_past_retention_are_archived_then_removed(store: AuditStore, tmp_path: Path) -> None:
    result = await run(store, tmp_path, date(2021, 1, 1), operator="sj-zhoumin")
    assert result.removed and (result.first, result.last, result.records) == (1, 40, 40)
    assert result.path is not None and result.path.parent == tmp_path / "archives"
    assert result.path.name.startswith("audit-0000000001-0000000040-") and result.path.name.endswith(".ndjson.gz")
    items = lines(result.path)
    assert items[0]["kind"] == "header" and items[0]["algorithm"] == "sha256" and items[0]["first"] == 1
    assert items[-1]["kind"] == "trailer" and items[-1]["checkpoint"]["seq"] == 40
    assert [i["seq"] for i in items[1:-1]] == list(range(1, 41))
    assert set(items[1]) == {"seq", "at", "prev_hash", "hash", "body"}
    # the store keeps records 41-50 and the removal's own record, and verifies on its own from the base
    assert [s for (s,) in sql(tmp_path / "audit.sqlite", "SELECT seq FROM audit_records ORDER BY seq")] == list(range(41, 52))
    report = await store.verify()
    assert report.ok and (report.first, report.last) == (41, 51)
    [retention] = [r for r in await store.records(limit=1) if r["operation"] == "audit.retention"]
    assert retention["seq"] == result.retention_seq == 51 and retention["operator"] == "sj-zhoumin"
    assert retention["checks"] == {"audit.retention": {"first": 1, "last": 40, "retentionDays": 1096}}
    assert retention["fields"] == {f"archive:{result.path.name}": "REMOVED"}
    base = await store.base()
    assert base is not None and (base.seq, base.archive) == (41, result.path.name)
    # store and archive together: one chain from the genesis
    assert store.checkpointer is not None
    together = await verify_together([result.path], store, store.checkpointer.key.public,
                                     await store.checkpointer.store.all())
    assert together.ok and together.spans == [(1, 51)] and together.records == 51
    assert await store.append(record("after")) == 52


async def test_archiving_within_retention_copies_and_keeps_the_records(store: AuditStore, tmp_path: Path) -> None:
    result = await run(store, tmp_path, date(2025, 1, 1))
    assert not result.removed and (result.first, result.last) == (1, 50)
    assert "within the 1096-day retention period" in result.reason and "--before 2022-06-01 or earlier" in result.reason
    assert sql(tmp_path / "audit.sqlite", "SELECT count(*) FROM audit_records") == [(50,)]
    assert await store.base() is None
    assert store.checkpointer is not None
    together = await verify_together([result.path], store, store.checkpointer.key.public)  # type: ignore[list-item]
    assert together.ok and together.spans == [(1, 50)]


async def test_the_archive_is_an_unbroken_prefix_of_older_records(store: AuditStore, tmp_path: Path) -> None:
    """A newer record among old ones ends the archive there: what leaves and what stays are each one chain."""
    sql(tmp_path / "audit.sqlite", "UPDATE audit_records SET at = ? WHERE seq = 21", (RECENT,))
    result = await run(store, tmp_path, date(2021, 1, 1))
    assert (result.first, result.last) == (1, 20)


async def test_nothing_older_means_nothing_archived(store: AuditStore, tmp_path: Path) -> None:
    result = await run(store, tmp_path, date(2019, 1, 1))
    assert result.path is None and "no record" in result.reason
    assert not (tmp_path / "archives").exists()


async def test_a_broken_store_is_not_archived(store: AuditStore, tmp_path: Path) -> None:
    sql(tmp_path / "audit.sqlite", "UPDATE audit_records SET body = replace(body, 'RAW', 'MASKED') WHERE seq = 3")
    with pytest.raises(ArchiveError, match="record 3"):
        await run(store, tmp_path, date(2021, 1, 1))
    assert not (tmp_path / "archives").exists()


async def test_successive_archives_chain_on_and_a_missing_one_is_named(store: AuditStore, tmp_path: Path) -> None:
    sql(tmp_path / "audit.sqlite", "UPDATE audit_records SET at = '2020-01-15T00:00:00+00:00' WHERE seq <= 20")
    first = await run(store, tmp_path, date(2020, 2, 1))
    second = await run(store, tmp_path, date(2021, 1, 1))
    assert (first.first, first.last, second.first, second.last) == (1, 20, 21, 40)
    assert first.removed and second.removed
    assert store.checkpointer is not None
    key, checkpoints = store.checkpointer.key.public, await store.checkpointer.store.all()
    assert (await verify_together([second.path, first.path], store, key, checkpoints)).ok  # type: ignore[list-item]
    gap = await verify_together([first.path], store, key, checkpoints)  # type: ignore[list-item]
    assert gap.first_bad == 21 and "records 21–40 are in none of the archives given" in (gap.problem or "")


async def test_a_forged_base_is_caught(store: AuditStore, tmp_path: Path) -> None:
    await run(store, tmp_path, date(2021, 1, 1))
    [(value,)] = sql(tmp_path / "audit.sqlite", "SELECT value FROM audit_meta WHERE name = 'base'")
    forged = {**json.loads(value), "seq": 45}  # "records before 45 were archived": hides 41-44
    sql(tmp_path / "audit.sqlite", "UPDATE audit_meta SET value = ? WHERE name = 'base'", (json.dumps(forged),))
    sql(tmp_path / "audit.sqlite", "DELETE FROM audit_records WHERE seq < 45")
    report = await store.verify()
    assert report.first_bad == 45 and "does not carry a valid signature" in (report.problem or "")


async def test_a_record_removed_after_the_base_is_named(store: AuditStore, tmp_path: Path) -> None:
    await run(store, tmp_path, date(2021, 1, 1))
    sql(tmp_path / "audit.sqlite", "DELETE FROM audit_records WHERE seq = 41")
    report = await store.verify()
    assert report.first_bad == 41 and "record 41 is missing" in (report.problem or "")


# --- archives edited offline ---------------------------------------------------------------


@pytest.fixture
async def archived(store: AuditStore, tmp_path: Path) -> tuple[Path, SigningKey]:
    result = await run(store, tmp_path, date(2021, 1, 1))
    assert result.path is not None and store.checkpointer is not None
    return result.path, store.checkpointer.key


def test_an_untouched_archive_verifies_offline(archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    report = verify_archive(path, key.public)
    assert report.ok and (report.first, report.last, report.records) == (1, 40, 40) and report.checkpoints == 1
    assert "records 1–40" in describe(Piece(path.name, report))


def test_an_archive_with_an_edited_body_is_caught(archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    items = lines(path)
    items[12]["body"] = items[12]["body"].replace("mz-wangli", "mz-zhaoqiang")  # record 12
    rewrite(path, items)
    report = verify_archive(path, key.public)
    assert report.first_bad == 12 and "content does not match its hash" in (report.problem or "")


def test_an_archive_rewritten_with_fresh_hashes_is_caught_by_its_signed_checkpoint(
        archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    items = lines(path)
    prev = items[0]["prev_hash"]
    for item in items[1:-1]:
        if item["seq"] == 12:
            item["body"] = item["body"].replace("mz-wangli", "mz-zhaoqiang")
        item["prev_hash"], item["hash"] = prev, chain_hash(prev, item["body"].encode())
        prev = item["hash"]
    items[-1]["last_hash"] = prev
    rewrite(path, items)
    report = verify_archive(path, key.public)
    assert report.first_bad == 1 and "differs from the one signed" in (report.problem or "")
    items[-1]["checkpoint"] = SigningKey.generate().sign_checkpoint(40, prev, "sha256").as_dict()  # re-signed: by whom?
    rewrite(path, items)
    assert "does not carry a valid signature" in (verify_archive(path, key.public).problem or "")


def test_an_archive_cut_short_is_caught(archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    items = lines(path)
    rewrite(path, items[:-4] + items[-1:])  # the last three records gone, trailer kept
    report = verify_archive(path, key.public)
    assert report.first_bad == 38 and "records were removed or added" in (report.problem or "")
    rewrite(path, items[:-1])  # the trailer gone
    assert "without its trailer" in (verify_archive(path, key.public).problem or "")
    rewrite(path, items)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # the file cut mid-stream
    assert "cut or damaged" in (verify_archive(path, key.public).problem or "")


def test_an_archive_with_a_removed_middle_record_is_caught(archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    items = lines(path)
    rewrite(path, items[:20] + items[21:])  # record 20
    report = verify_archive(path, key.public)
    assert report.first_bad == 20 and "record 20 is missing" in (report.problem or "")


def test_an_archive_checked_with_another_key_fails(archived: tuple[Path, SigningKey]) -> None:
    path, _ = archived
    assert not verify_archive(path, SigningKey.generate().public).ok
    assert "no public key" in (verify_archive(path, None).problem or "")


def test_a_file_that_is_not_an_archive_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.ndjson.gz").write_bytes(b"not gzip")
    assert "not a readable audit archive" in (verify_archive(tmp_path / "x.ndjson.gz", None).problem or "")


@pytest.mark.postgres
def test_archive_removal_and_checkpoints_on_postgres(tmp_path: Path) -> None:
    """The same on PostgreSQL: the audit store and the checkpoint store are two databases."""
    from audit.checkpoints import Checkpointer, CheckpointStore
    from gateway.runtime import make_engine
    from tests.postgres import temporary_databases

    async def scenario(urls: dict[str, str]) -> None:
        key = SigningKey.from_file(tmp_path / "keys" / "audit-signing.key", create=True)
        checkpoints = CheckpointStore(make_engine(urls["checkpoints"]))
        await checkpoints.create()
        audit = AuditStore(make_engine(urls["audit"]), algorithm="sm3",
                           checkpointer=Checkpointer(checkpoints, key, every=10))
        await audit.create()
        try:
            await fill(audit, 25, at=OLD, prefix="old")
            await fill(audit, 5, at=RECENT, prefix="new")
            result = await run(audit, tmp_path, date(2021, 1, 1))
            assert result.removed and (result.first, result.last) == (1, 25) and result.path is not None
            report = await audit.verify()
            assert report.ok and report.algorithm == "sm3" and (report.first, report.last) == (26, 31)
            together = await verify_together([result.path], audit, key.public, await checkpoints.all())
            assert together.ok and together.spans == [(1, 31)]
        finally:
            await audit.close()

    with temporary_databases("auditarchive", ["audit", "checkpoints"]) as urls:
        asyncio.run(scenario(urls))
