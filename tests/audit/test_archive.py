"""Archives and retention: records are copied to a signed, verified archive any time, and leave
the store only past retention; store and archives then verify as one chain, and an archive
edited offline is caught."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from audit import AuditStore
from audit.archive import (
    ArchiveError,
    ArchiveResult,
    Piece,
    archive,
    describe,
    retention_cutoff,
    verify_archive,
    verify_together,
)
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
    assert items[-1]["kind"] == "trailer" and "checkpoint" not in items[-1]
    seal = items[-1]["seal"]
    assert (seal["first"], seal["last"], seal["records"], seal["archive"]) == (1, 40, 40, result.path.name)
    assert seal["chain"] == items[0]["chain"] == store.chain and seal["prev_hash"] == items[0]["prev_hash"] == "0" * 64
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
    assert "within the retention period (1096 days" in result.reason and "--before 2022-06-01 or earlier" in result.reason
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
    assert report.ok and (report.first, report.last, report.records) == (1, 40, 40) and report.checkpoints == 0
    assert report.seal is not None and report.seal.key_id == key.public.key_id
    line = describe(Piece(path.name, report))
    assert "records 1–40" in line and f"sealed {report.seal.at}" in line and "chain alone" not in line


def test_an_archive_with_an_edited_body_is_caught(archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    items = lines(path)
    items[12]["body"] = items[12]["body"].replace("mz-wangli", "mz-zhaoqiang")  # record 12
    rewrite(path, items)
    report = verify_archive(path, key.public)
    assert report.first_bad == 12 and "content does not match its hash" in (report.problem or "")


def test_an_archive_rewritten_with_fresh_hashes_is_caught_by_its_seal(
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
    assert report.first_bad == 1 and "records 1–40 were rewritten" in (report.problem or "")
    assert "differs from the one signed in the archive's seal" in (report.problem or "")
    items[-1]["seal"] = {**items[-1]["seal"], "last_hash": prev}  # the seal edited to match
    rewrite(path, items)
    assert "does not carry a valid signature" in (verify_archive(path, key.public).problem or "")
    intruder = SigningKey.generate()  # re-sealed: by whom?
    fields = {k: v for k, v in items[-1]["seal"].items() if k not in ("key_id", "signature")}
    items[-1]["seal"] = intruder.sign_seal(**fields).as_dict()
    rewrite(path, items)
    problem = verify_archive(path, key.public).problem or ""
    assert "does not carry a valid signature" in problem and f"names key {intruder.public.key_id}" in problem


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


# --- splicing: archives cut at either end, sets that do not start at the genesis ------------


def _chain_on(items: list[dict[str, Any]], prev: str) -> str:
    """Re-link `items` (records) on `prev` with fresh hashes, as an intruder would; the last hash."""
    for item in items:
        item["prev_hash"], item["hash"] = prev, chain_hash(prev, item["body"].encode())
        prev = item["hash"]
    return prev


async def test_an_archive_cut_at_its_front_with_its_header_edited_is_caught(
        store: AuditStore, tmp_path: Path) -> None:
    """Records 1–20 dropped, header first/prev_hash and trailer counts edited: the seal signs the start."""
    result = await run(store, tmp_path, date(2025, 1, 1))  # a copy of 1–50
    assert result.path is not None and store.checkpointer is not None
    items = lines(result.path)
    kept = items[21:-1]  # records 21–50
    items[0].update(first=21, prev_hash=kept[0]["prev_hash"])
    items[-1].update(records=len(kept))
    rewrite(result.path, [items[0], *kept, items[-1]])
    key = store.checkpointer.key.public
    report = verify_archive(result.path, key)
    assert report.first_bad == 1 and "records 1–20 were removed from its start" in (report.problem or "")
    together = await verify_together([result.path], store, key, await store.checkpointer.store.all())
    assert not together.ok and "records 1–20 were removed from its start" in (together.problem or "")


async def test_an_archive_cut_at_its_end_with_an_ordinary_checkpoint_in_its_trailer_is_caught(
        store: AuditStore, tmp_path: Path) -> None:
    """A copy of 1–50 cut to 1–30 offline, with the store's own checkpoint of record 30 as its trailer's
    proof: a checkpoint says nothing about where an archive ends; only the archive's seal does."""
    assert store.checkpointer is not None
    [(digest,)] = sql(tmp_path / "audit.sqlite", "SELECT hash FROM audit_records WHERE seq = 30")
    checkpoint = await store.checkpointer.store.add(
        store.checkpointer.key.sign_checkpoint(30, digest, "sha256", store.chain))  # a genuine checkpoint of 30
    result = await run(store, tmp_path, date(2025, 1, 1))
    assert result.path is not None
    items = lines(result.path)
    cut = items[:31]
    items[0]["last"] = 30
    trailer = {"kind": "trailer", "last": 30, "records": 30, "last_hash": digest, "checkpoint": checkpoint.as_dict()}
    rewrite(result.path, [*cut, trailer])
    report = verify_archive(result.path, store.checkpointer.key.public)
    assert not report.ok and "carries no signed seal" in (report.problem or "")
    rewrite(result.path, [*cut, {**trailer, "seal": items[-1]["seal"]}])  # the genuine seal, of 1–50
    report = verify_archive(result.path, store.checkpointer.key.public)
    assert report.first_bad == 31 and "records 31–50 were removed from its end" in (report.problem or "")


async def test_a_renamed_archive_is_named(archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    moved = path.rename(path.with_name("audit-renamed.ndjson.gz"))
    problem = verify_archive(moved, key.public).problem or ""
    assert f"names the file {path.name}, not audit-renamed.ndjson.gz" in problem


def _forge(path: Path, key: SigningKey, items: list[dict[str, Any]], prev: str) -> None:
    """Write `items` (records) as an archive signed with the real key, starting after `prev`: what
    only the key's holder could make — to show that the set's start is checked on its own."""
    first, last = items[0]["seq"], items[-1]["seq"]
    last_hash = _chain_on(items, prev)
    chain = lines_of_any_header(path)["chain"]
    header = {"kind": "header", "format": "gov-data-gateway/audit-archive/v1", "chain": chain, "algorithm": "sha256",
              "first": first, "last": last, "prev_hash": prev, "before": "2021-01-01", "created": "2021-01-01T00:00:00"}
    seal = key.sign_seal(chain=chain, archive=path.name, first=first, prev_hash=prev, last=last, last_hash=last_hash,
                         records=len(items), algorithm="sha256")
    rewrite(path, [header, *items, {"kind": "trailer", "last": last, "records": len(items), "last_hash": last_hash,
                                    "seal": seal.as_dict()}])


def lines_of_any_header(path: Path) -> dict[str, Any]:
    return lines(path)[0]


async def test_a_set_must_start_at_record_1_after_the_genesis(archived: tuple[Path, SigningKey]) -> None:
    path, key = archived
    items = lines(path)
    records = items[1:-1]
    _forge(path, key, records[20:], records[19]["hash"])  # a sealed archive of 21–40, no base: 1–20 unaccounted for
    assert verify_archive(path, key.public).ok  # on its own it holds...
    together = await verify_together([path], None, key.public)
    assert together.first_bad == 1  # ...but a trail does not start at 21
    assert "records 1–20 are in none of the parts given, and no signed base vouches" in (together.problem or "")
    _forge(path, key, records, "f" * 64)  # records 1–40, but not after the genesis hash
    assert "starts at record 1 but does not follow the genesis hash" in (verify_archive(path, key.public).problem or "")


async def test_a_later_archive_carries_the_signed_base_that_vouches_for_its_start(
        store: AuditStore, tmp_path: Path) -> None:
    sql(tmp_path / "audit.sqlite", "UPDATE audit_records SET at = '2020-01-15T00:00:00+00:00' WHERE seq <= 20")
    first = await run(store, tmp_path, date(2020, 2, 1))
    second = await run(store, tmp_path, date(2021, 1, 1))
    assert first.path is not None and second.path is not None and store.checkpointer is not None
    header = lines(second.path)[0]
    assert header["base"]["seq"] == 21 and header["base"]["archive"] == first.path.name
    key = store.checkpointer.key.public
    report = verify_archive(second.path, key)
    assert report.ok and report.base is not None and report.base.archive == first.path.name
    assert f"records before 21 were archived in {first.path.name}" in describe(Piece(second.path.name, report))
    assert (await verify_together([second.path], store, key, await store.checkpointer.store.all())).ok
    # the base is signed: moved to hide records, it fails
    items = lines(second.path)
    items[0]["base"] = {**items[0]["base"], "seq": 25}
    rewrite(second.path, items)
    assert "does not carry a valid signature" in (verify_archive(second.path, key).problem or "")


async def test_an_archive_of_another_chain_is_refused(store: AuditStore, tmp_path: Path) -> None:
    """Two stores signed with the same key are two chains: an archive of one does not continue the other."""
    import shutil

    from tests.audit.chain_support import key_path

    other_dir = tmp_path / "other"
    key_path(other_dir).parent.mkdir(parents=True)
    shutil.copy(key_path(tmp_path), key_path(other_dir))
    other = await open_store(other_dir, every=10)
    try:
        await fill(other, 40, at=OLD, prefix="old")  # the very same records
        assert other.checkpointer is not None and other.chain != store.chain
        result = await archive(other, other.checkpointer, before=date(2021, 1, 1), out=tmp_path / "other-archives",
                               retention_days=1096, today=TODAY)
    finally:
        await other.close()
    ours = await run(store, tmp_path, date(2021, 1, 1))
    assert result.path is not None and ours.path is not None and store.checkpointer is not None
    key, checkpoints = store.checkpointer.key.public, await store.checkpointer.store.all()
    assert (await verify_together([ours.path], store, key, checkpoints)).ok
    foreign = await verify_together([result.path], store, key, checkpoints)
    assert not foreign.ok and "belong to different chains" in (foreign.problem or "")


# --- retention -------------------------------------------------------------------------------


def test_the_archive_floor_is_the_settings_floor() -> None:
    from audit.archive import MIN_RETENTION_DAYS
    from gateway.settings import MIN_AUDIT_RETENTION_DAYS

    assert MIN_RETENTION_DAYS == MIN_AUDIT_RETENTION_DAYS == 1095


@pytest.mark.parametrize("days", [0, 365, 1094])
async def test_archive_itself_refuses_a_retention_under_three_years(store: AuditStore, tmp_path: Path, days: int) -> None:
    assert store.checkpointer is not None
    with pytest.raises(ArchiveError, match="below the minimum of 1095 days"):
        await archive(store, store.checkpointer, before=date(2021, 1, 1), out=tmp_path / "archives",
                      retention_days=days, today=TODAY)
    assert not (tmp_path / "archives").exists()
    assert sql(tmp_path / "audit.sqlite", "SELECT count(*) FROM audit_records") == [(50,)]


@pytest.mark.parametrize(("today", "days", "cutoff"), [
    (date(2025, 6, 1), 1095, date(2022, 6, 1)),  # 1,095 days back is 2 June: a day short of 3 years (2024 is leap)
    (date(2025, 6, 1), 1096, date(2022, 6, 1)),
    (date(2023, 6, 1), 1095, date(2020, 6, 1)),  # 29 Feb 2020 lies before: 1,095 days is 3 years here
    (date(2024, 2, 29), 1095, date(2021, 2, 28)),  # 3 years before a 29 February: the 28th
    (date(2025, 6, 1), 2000, date(2025, 6, 1) - timedelta(days=2000)),
])
def test_the_retention_cutoff_is_3_calendar_years_at_least(today: date, days: int, cutoff: date) -> None:
    assert retention_cutoff(today, days) == cutoff


async def test_a_retention_of_1095_days_keeps_records_3_calendar_years(store: AuditStore, tmp_path: Path) -> None:
    assert store.checkpointer is not None
    sql(tmp_path / "audit.sqlite", "UPDATE audit_records SET at = '2022-06-01T12:00:00+00:00' WHERE seq <= 40")
    kept = await archive(store, store.checkpointer, before=date(2022, 6, 2), out=tmp_path / "archives",
                         retention_days=1095, today=TODAY)  # 1,095 days before 2025-06-01 is 2022-06-02
    assert kept.path is not None and not kept.removed and "--before 2022-06-01 or earlier" in kept.reason
    assert sql(tmp_path / "audit.sqlite", "SELECT count(*) FROM audit_records") == [(50,)]


async def test_records_no_checkpoint_covers_are_not_archived(store: AuditStore, tmp_path: Path) -> None:
    """A chain rewritten and its checkpoints emptied must not be sealed into an archive."""
    sql(tmp_path / "audit_checkpoints.sqlite", "DELETE FROM audit_checkpoints WHERE seq > 20")
    sql(tmp_path / "audit.sqlite", "DELETE FROM audit_records WHERE seq > 45")
    with pytest.raises(ArchiveError, match="records 12–40 are covered by no signed checkpoint"):
        await run(store, tmp_path, date(2021, 1, 1))
    assert not (tmp_path / "archives").exists()
