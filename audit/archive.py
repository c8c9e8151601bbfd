"""Archives of the audit trail, and retention: records leave the store only into an archive that
verifies, and only once they are older than the retention period (at least 3 years).

Semantics (docs/audit-integrity.md says the same for operators):

- **Archiving** (copy out) may run any time: ``gateway audit archive --before DATE`` copies the
  records from the store's first one up to the last of the *unbroken run* of records older than
  DATE (00:00 UTC), so that the archive and what stays are each one chain. The store must verify
  first, and a signed checkpoint must cover every record to be archived (nothing is sealed that
  only the chain vouches for).
- The archive is NDJSON, gzip-compressed: a header line (format, chain id, algorithm, first seq
  and the hash it follows — with the store's signed base when it starts after a removal —, the
  date, when it was written), one line per stored row (seq, at, prev_hash, hash, body: the exact
  bytes the hash covers), and a trailer line (last seq, count, last hash and the signed **seal**
  of the whole file: name, first seq, prev_hash, last seq, last hash, count, algorithm, chain).
  It is written to a temporary file, fsynced and linked into place (never replacing a file),
  then read back and verified (audit.verify).
- **Removal** happens only when every archived record is past retention — DATE on or before the
  earlier of (today − GATEWAY_AUDIT_RETENTION_DAYS days) and (today − 3 calendar years) — and
  only after the archive verified. One transaction removes the records, keeps a signed *base*
  (the first retained seq, the hash it follows, the archive's file name, the chain id) and
  appends the removal's own audit record (operation ``audit.retention``), so the store still
  verifies on its own from the base, and store + archives verify as one chain.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from audit.chain import GENESIS
from audit.checkpoints import Checkpoint, Checkpointer
from audit.record import AuditRecord
from audit.signing import Seal
from audit.store import AuditStore
from audit.verify import FORMAT, ArchiveError, Piece, Together, describe, read_header, verify_archive, verify_together

__all__ = ["FORMAT", "MIN_RETENTION_DAYS", "RETENTION_OPERATION", "ArchiveError", "ArchiveResult", "Piece", "Together",
           "archive", "describe", "read_header", "retention_cutoff", "verify_archive", "verify_together"]
RETENTION_OPERATION = "audit.retention"
MIN_RETENTION_DAYS = 1095  # logs kept at least 3 years: 000 第三十六条 (the same floor as gateway.settings)
MIN_RETENTION_YEARS = 3


@dataclass(frozen=True)
class ArchiveResult:
    path: Path | None  # None: there was nothing to archive
    first: int = 0
    last: int = 0
    checkpoint: Checkpoint | None = None  # the signed checkpoint of the last archived record
    removed: bool = False
    retention_seq: int | None = None  # the audit.retention record, when records were removed
    reason: str = ""
    seal: Seal | None = None  # the archive's signed seal

    @property
    def records(self) -> int:
        return self.last - self.first + 1 if self.path else 0


def _utc_midnight(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def retention_cutoff(today: date, retention_days: int) -> date:
    """The latest `--before` date that allows removal: records older than it are past both
    `retention_days` days and 3 calendar years (1,095 days fall one day short of 3 years when a
    29 February lies between). 3 years before a 29 February is taken as 28 February.

    Raises ArchiveError for a retention under the regulatory minimum (000 第三十六条)."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ArchiveError(f"a retention of {retention_days} days is below the minimum of {MIN_RETENTION_DAYS} days "
                           "(audit records are kept at least 3 years: 000 第三十六条); nothing archived")
    try:
        years = today.replace(year=today.year - MIN_RETENTION_YEARS)
    except ValueError:  # 29 February
        years = today.replace(year=today.year - MIN_RETENTION_YEARS, day=28)
    return min(today - timedelta(days=retention_days), years)


async def archive(store: AuditStore, checkpointer: Checkpointer, *, before: date, out: Path, retention_days: int,
                  today: date | None = None, operator: str | None = None) -> ArchiveResult:
    """Copy the records older than `before` to an archive in `out`, verify it, and remove them
    from the store when they are all past retention (see the module docstring)."""
    today = today or datetime.now(UTC).date()
    cutoff = retention_cutoff(today, retention_days)  # refuses a retention under the minimum first
    base = await store.base()
    first, prev = (base.seq, base.prev_hash) if base else (1, GENESIS)
    last = await store.last_before(first, _utc_midnight(before))
    if last < first:
        return ArchiveResult(None, reason=f"no record in the store is older than {before.isoformat()}")
    report = await store.verify(keep=[last])
    if not report.ok:
        raise ArchiveError(f"the audit trail does not verify (record {report.first_bad}: {report.problem}); "
                           "nothing archived")
    if (report.newest_checkpoint or 0) < last:
        signed = f"the newest valid checkpoint signs record {report.newest_checkpoint}" \
            if report.newest_checkpoint else "no valid checkpoint signs any"
        raise ArchiveError(f"records {max(first, (report.newest_checkpoint or 0) + 1)}–{last} are covered by no signed "
                           f"checkpoint ({signed}): an archive would seal records that only the chain vouches for; "
                           "nothing archived. Check the checkpoint database, and let the gateway sign its newest record")
    key, algorithm, chain = checkpointer.key, store.algorithm, store.chain
    checkpoint = await checkpointer.store.add(key.sign_checkpoint(last, report.hashes[last], algorithm, chain))
    created = datetime.now(UTC)
    path = Path(out) / f"audit-{first:010d}-{last:010d}-{created:%Y%m%dT%H%M%SZ}.ndjson.gz"
    header = {"kind": "header", "format": FORMAT, "chain": chain, "algorithm": algorithm, "first": first, "last": last,
              "prev_hash": prev, "before": before.isoformat(), "created": created.isoformat(timespec="seconds"),
              "base": base.as_dict() if base else None}
    seal = key.sign_seal(chain=chain, archive=path.name, first=first, prev_hash=prev, last=last,
                         last_hash=report.hashes[last], records=last - first + 1, algorithm=algorithm)
    trailer = {"kind": "trailer", "last": last, "records": last - first + 1, "last_hash": report.hashes[last],
               "seal": seal.as_dict()}
    await _write(path, header, store, first, last, trailer)
    written = verify_archive(path, key.public)
    if not written.ok or (written.first, written.last) != (first, last):
        raise ArchiveError(f"the archive {path} does not verify after writing (record {written.first_bad}: "
                           f"{written.problem}); nothing removed")
    if before > cutoff:
        return ArchiveResult(path, first, last, checkpoint, seal=seal, reason=(
            f"kept in the store: records newer than {cutoff.isoformat()} are within the retention period "
            f"({retention_days} days and at least {MIN_RETENTION_YEARS} calendar years; removal needs --before "
            f"{cutoff.isoformat()} or earlier)"))
    signed_base = key.sign_base(last + 1, report.hashes[last], algorithm, path.name, chain)
    record = AuditRecord.administrative(
        RETENTION_OPERATION, operator, rows={"audit_records": last - first + 1},
        checks={RETENTION_OPERATION: {"first": first, "last": last, "retentionDays": retention_days}},
        fields={f"archive:{path.name}": "REMOVED"},
    )
    seq = await store.remove_archived(signed_base, record)
    return ArchiveResult(path, first, last, checkpoint, removed=True, retention_seq=seq, seal=seal, reason=(
        f"removed from the store: older than the retention period ({retention_days} days and at least "
        f"{MIN_RETENTION_YEARS} calendar years)"))


async def _write(path: Path, header: dict[str, Any], store: AuditStore, first: int, last: int,
                 trailer: dict[str, Any]) -> None:
    """Write the archive to a temporary file, fsync it, and link it into place (never replacing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        # audit records name operators and who read what: readable by the owner and its group only
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640), "wb") as raw:
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=0) as zipped:
                zipped.write(_line(header))
                async for row in store.rows(first, last):
                    zipped.write(_line({"seq": row.seq, "at": row.at, "prev_hash": row.prev_hash, "hash": row.hash,
                                        "body": row.body}))
                zipped.write(_line(trailer))
            raw.flush()
            os.fsync(raw.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise ArchiveError(f"{path} exists already; nothing archived") from None
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
