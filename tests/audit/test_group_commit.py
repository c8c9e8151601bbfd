"""Group commit: concurrent appends share transactions, yet each record is committed exactly
once, in one unbroken chain, before its append returns; a failed transaction fails every append
of its group and nothing else."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from audit import AuditRecord, AuditStore, AuditUnavailable
from gateway.runtime import make_engine


def record(request_id: str) -> AuditRecord:
    return AuditRecord(request_id=request_id, at="2024-05-01T08:00:00+00:00", operation="check", outcome="SERVED",
                       application="mz-assistance", fields={"check:Person.name": "RAW"})


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AuditStore]:
    audit = AuditStore(make_engine(url(tmp_path / "audit.sqlite")), max_group=25)
    await audit.create()
    yield audit
    await audit.close()


async def stored(audit: AuditStore) -> dict[int, str]:
    """seq → request id, for every record in the store."""
    return {int(r["seq"]): str(r["request_id"]) for r in await audit.records(limit=100_000)}  # type: ignore[call-overload]


def writers() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "audit-writer"]


async def test_concurrent_appends_share_transactions_in_one_chain(store: AuditStore) -> None:
    ids = [f"r{i:04d}" for i in range(300)]
    seqs = await asyncio.gather(*(store.append(record(i)) for i in ids))
    assert sorted(seqs) == list(range(1, 301))  # strictly consecutive, each once
    assert await stored(store) == dict(zip(seqs, ids, strict=True))  # each record under the seq its append got
    assert (await store.verify()).first_bad is None
    assert 300 / 25 <= store.commits < 300  # grouped, never past max_group


async def test_a_lone_append_is_committed_at_once_and_leaves_no_task(store: AuditStore) -> None:
    assert await store.append(record("alone")) == 1
    assert store.commits == 1 and await stored(store) == {1: "alone"}
    assert writers() == []  # the writer lives only while records are queued


async def test_appends_during_a_commit_go_in_the_next_group(store: AuditStore) -> None:
    first = asyncio.create_task(store.append(record("first")))
    await asyncio.sleep(0)  # the writer has taken "first" and is committing it
    await asyncio.sleep(0)
    rest = [store.append(record(f"later{i}")) for i in range(10)]
    assert await first == 1
    assert sorted(await asyncio.gather(*rest)) == list(range(2, 12))
    assert store.commits == 2


async def test_a_failed_transaction_fails_every_append_of_its_group_and_the_next_works(store: AuditStore,
                                                                                      tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "audit.sqlite") as conn:  # the database refuses one record (not a constraint)
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit_records WHEN NEW.request_id = 'poison' "
                     "BEGIN SELECT abs(-9223372036854775808); END")
    # max_group is 25: the first 25 commit together, the next 25 hold the poisoned record
    ids = [f"r{i:02d}" for i in range(50)]
    ids[30] = "poison"
    results = await asyncio.gather(*(store.append(record(i)) for i in ids), return_exceptions=True)
    assert results[:25] == list(range(1, 26))
    assert all(isinstance(r, AuditUnavailable) for r in results[25:])
    assert len({id(r) for r in results[25:]}) == 25  # each waiter has its own exception
    assert await store.append(record("next")) == 26  # the tail was reloaded; no gap, no fork
    assert await stored(store) == {**{i + 1: ids[i] for i in range(25)}, 26: "next"}
    assert (await store.verify()).first_bad is None


async def test_an_unwritable_store_fails_the_append(tmp_path: Path) -> None:
    audit = AuditStore(make_engine(url(tmp_path / "audit.sqlite")))  # never created: no table to write
    with pytest.raises(AuditUnavailable):
        await audit.append(record("lost"))
    await audit.close()


async def test_a_cancelled_append_is_still_recorded(store: AuditStore) -> None:
    """A request whose client went away still leaves its record: once queued, it is written."""
    waiting = asyncio.create_task(store.append(record("gone")))
    await asyncio.sleep(0)
    waiting.cancel()
    assert await store.append(record("after")) == 2
    assert await stored(store) == {1: "gone", 2: "after"}


async def test_close_commits_what_is_queued_then_refuses(tmp_path: Path) -> None:
    audit = AuditStore(make_engine(url(tmp_path / "audit.sqlite")), max_group=5)
    await audit.create()
    pending = [asyncio.create_task(audit.append(record(f"r{i}"))) for i in range(20)]
    await asyncio.sleep(0)
    await audit.close()
    assert sorted([await p for p in pending]) == list(range(1, 21))
    assert writers() == []
    with pytest.raises(AuditUnavailable):
        await audit.append(record("late"))
    reopened = AuditStore(make_engine(url(tmp_path / "audit.sqlite")))
    assert (await reopened.verify()).records == 20
    await reopened.close()


async def interleave(stores: list[AuditStore], rounds: int = 10, per_round: int = 20) -> list[int]:
    """The stores append concurrently, round after round, as worker processes would."""
    seqs: list[int] = []
    for r in range(rounds):
        seqs += await asyncio.gather(*(s.append(record(f"{n}-{r}-{i}")) for i in range(per_round)
                                       for n, s in enumerate(stores)))
    return seqs


async def test_stores_on_one_sqlite_file_keep_one_chain(tmp_path: Path) -> None:
    """Each store's cached tail goes stale as the others append: the unique sequence number
    refuses the fork and the retry, under the write lock, always lands."""
    stores = [AuditStore(make_engine(url(tmp_path / "audit.sqlite"))) for _ in range(3)]
    await stores[0].create()
    try:
        seqs = await interleave(stores)  # no append fails
        assert sorted(seqs) == list(range(1, len(seqs) + 1))
        report = await stores[1].verify()
        assert report.first_bad is None and report.records == len(seqs)
        assert sum(s.commits for s in stores) < len(seqs)
    finally:
        for store in stores:
            await store.close()


@pytest.mark.postgres
def test_stores_on_one_postgres_database_keep_one_chain() -> None:
    from tests.postgres import temporary_databases

    async def scenario(database: str) -> None:
        stores = [AuditStore(create_async_engine(database)) for _ in range(3)]
        await stores[0].create()
        try:
            seqs = await interleave(stores)
            assert sorted(seqs) == list(range(1, len(seqs) + 1))
            report = await stores[2].verify()
            assert report.first_bad is None and report.records == len(seqs)
        finally:
            for store in stores:
                await store.close()

    with temporary_databases("audit", ["audit"]) as urls:
        asyncio.run(scenario(urls["audit"]))
