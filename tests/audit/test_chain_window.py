"""The window after the newest checkpoint: `audit verify` fails when more records follow it than
the checkpoint cadence ever leaves unsigned, and warns when the newest record is much newer than
the newest checkpoint (records may have been cut off with the checkpoints that signed them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from audit.chain import VerifyReport
from audit.signing import SigningKey
from audit.trail import COUNT_FACTOR, TIME_FACTOR, verify_data, window
from gateway.runtime import make_engine
from tests.audit.chain_support import open_store, record, sql, url


def report(last: int, newest: int, newest_at: str, last_at: str) -> VerifyReport:
    checkpoint = SigningKey.generate().sign_checkpoint(newest, "0" * 64, "sha256", "c", at=newest_at)
    return VerifyReport(records=last, first_bad=None, last=last, newest_checkpoint=newest, newest=checkpoint,
                        last_at=last_at)


def test_more_unsigned_records_than_the_cadence_allows_fail() -> None:
    at = "2024-05-01T08:00:00+00:00"
    assert window(report(10 + COUNT_FACTOR * 10, 10, at, at), every=10, seconds=10) == (None, None)
    problem, warning = window(report(11 + COUNT_FACTOR * 10, 10, at, at), every=10, seconds=10)
    assert warning is None and problem is not None
    assert problem.startswith("records 11–31 (21) follow the newest checkpoint (#None, of record 10")


def test_a_newest_record_much_newer_than_the_newest_checkpoint_warns() -> None:
    signed = datetime(2024, 5, 1, 8, tzinfo=UTC)
    late = (signed + timedelta(seconds=TIME_FACTOR * 10 + 1)).isoformat()
    problem, warning = window(report(15, 10, signed.isoformat(), late), every=10, seconds=10)
    assert problem is None and warning is not None
    assert "warning: records 11–15 (5) follow the newest checkpoint" in warning and "31 s after it" in warning
    assert "may have been removed" in warning
    in_time = (signed + timedelta(seconds=TIME_FACTOR * 10)).isoformat()
    assert window(report(15, 10, signed.isoformat(), in_time), every=10, seconds=10) == (None, None)
    assert window(report(10, 10, signed.isoformat(), late), every=10, seconds=10) == (None, None)  # all signed


async def test_verify_warns_from_the_time_in_the_hashed_record_not_its_column(tmp_path: Path) -> None:
    store = await open_store(tmp_path, every=1000, seconds=3600)
    now = datetime.now(UTC)
    await store.append(record("first", now.isoformat()))  # a worker's first commit: signed at once
    assert store.checkpointer is not None
    await store.checkpointer.flush()
    for i in range(3):  # made a minute after the checkpoint, and not signed
        await store.append(record(f"late{i}", (now + timedelta(seconds=60)).isoformat()))
    sql(tmp_path / "audit.sqlite", "UPDATE audit_records SET at = ?", (now.isoformat(),))  # the column lies
    key = store.checkpointer.key.public
    outcome = await verify_data(url(tmp_path / "audit.sqlite"), url(tmp_path / "audit_checkpoints.sqlite"), [], key,
                                every=1000, seconds=1, engine=make_engine)
    assert outcome.ok and outcome.records == 4
    [warning] = outcome.warnings
    assert warning.startswith("warning: records 2–4 (3) follow the newest checkpoint") and "may have been removed" in warning
    quiet = await verify_data(url(tmp_path / "audit.sqlite"), url(tmp_path / "audit_checkpoints.sqlite"), [], key,
                              every=1000, seconds=60, engine=make_engine)
    assert quiet.ok and quiet.warnings == []
    await store.close()
