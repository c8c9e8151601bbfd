"""Archives of the audit trail, and retention: records leave the store only into an archive that
verifies, and only once they are older than the retention period (at least 3 years).

Semantics (docs/audit-integrity.md says the same for operators):

- **Archiving** (copy out) may run any time: ``gateway audit archive --before DATE`` copies the
  records from the store's first one up to the last of the *unbroken run* of records older than
  DATE (00:00 UTC), so that the archive and what stays are each one chain. The store must verify
  first (nothing is archived from a broken chain: the archive's signature would vouch for it).
- The archive is NDJSON, gzip-compressed: a header line (format, algorithm, first seq and the hash
  it follows, the date, when it was written), one line per stored row (seq, at, prev_hash, hash,
  body: the exact bytes the hash covers), and a trailer line (last seq, count, last hash and a
  signed checkpoint of the last record, written to the checkpoint store too). It is written to a
  temporary file, fsynced and linked into place (never replacing a file), then read back and
  verified.
- **Removal** happens only when every archived record is past retention (DATE ≤ today −
  GATEWAY_AUDIT_RETENTION_DAYS) and only after the archive verified. One transaction removes the
  records, keeps a signed *base* (the first retained seq, the hash it follows, the archive's file
  name) and appends the removal's own audit record (operation ``audit.retention``), so the store
  still verifies on its own from the base, and store + archives verify as one chain.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from audit.chain import ALGORITHMS, GENESIS, VerifyReport, Walk
from audit.checkpoints import Checkpoint, Checkpointer, PublicKey
from audit.record import AuditRecord
from audit.store import AuditStore

FORMAT = "gov-data-gateway/audit-archive/v1"
RETENTION_OPERATION = "audit.retention"


class ArchiveError(Exception):
    """Nothing was archived or removed; the message says why."""


@dataclass(frozen=True)
class ArchiveResult:
    path: Path | None  # None: there was nothing to archive
    first: int = 0
    last: int = 0
    checkpoint: Checkpoint | None = None  # the signed checkpoint of the last archived record
    removed: bool = False
    retention_seq: int | None = None  # the audit.retention record, when records were removed
    reason: str = ""

    @property
    def records(self) -> int:
        return self.last - self.first + 1 if self.path else 0


@dataclass(frozen=True)
class Piece:
    """One verified part of the trail: an archive or the live store."""

    name: str
    report: VerifyReport


@dataclass(frozen=True)
class Together:
    """Archives and store verified as one chain."""

    pieces: list[Piece]
    first_bad: int | None = None
    problem: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)  # the sequence numbers covered, merged

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    @property
    def records(self) -> int:
        return sum(b - a + 1 for a, b in self.spans)


def _utc_midnight(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


async def archive(store: AuditStore, checkpointer: Checkpointer, *, before: date, out: Path, retention_days: int,
                  today: date | None = None, operator: str | None = None) -> ArchiveResult:
    """Copy the records older than `before` to an archive in `out`, verify it, and remove them
    from the store when they are all past retention (see the module docstring)."""
    today = today or datetime.now(UTC).date()
    base = await store.base()
    first, prev = (base.seq, base.prev_hash) if base else (1, GENESIS)
    last = await store.last_before(first, _utc_midnight(before))
    if last < first:
        return ArchiveResult(None, reason=f"no record in the store is older than {before.isoformat()}")
    report = await store.verify(keep=[last])
    if not report.ok:
        raise ArchiveError(f"the audit trail does not verify (record {report.first_bad}: {report.problem}); "
                           "nothing archived")
    key, algorithm = checkpointer.key, store.algorithm
    checkpoint = await checkpointer.store.add(key.sign_checkpoint(last, report.hashes[last], algorithm))
    created = datetime.now(UTC)
    path = Path(out) / f"audit-{first:010d}-{last:010d}-{created:%Y%m%dT%H%M%SZ}.ndjson.gz"
    header = {"kind": "header", "format": FORMAT, "algorithm": algorithm, "first": first, "last": last,
              "prev_hash": prev, "before": before.isoformat(), "created": created.isoformat(timespec="seconds")}
    trailer = {"kind": "trailer", "last": last, "records": last - first + 1, "last_hash": report.hashes[last],
               "checkpoint": checkpoint.as_dict()}
    await _write(path, header, store, first, last, trailer)
    written = verify_archive(path, key.public)
    if not written.ok or (written.first, written.last) != (first, last):
        raise ArchiveError(f"the archive {path} does not verify after writing (record {written.first_bad}: "
                           f"{written.problem}); nothing removed")
    cutoff = today - timedelta(days=retention_days)
    if before > cutoff:
        return ArchiveResult(path, first, last, checkpoint, reason=(
            f"kept in the store: records newer than {cutoff.isoformat()} are within the {retention_days}-day "
            f"retention period (removal needs --before {cutoff.isoformat()} or earlier)"))
    signed_base = key.sign_base(last + 1, report.hashes[last], algorithm, path.name)
    record = AuditRecord(
        request_id=uuid.uuid4().hex, at=datetime.now(UTC).isoformat(), operation=RETENTION_OPERATION,
        outcome="SERVED", operator=operator, rows={"audit_records": last - first + 1},
        checks={RETENTION_OPERATION: {"first": first, "last": last, "retentionDays": retention_days}},
        fields={f"archive:{path.name}": "REMOVED"},
    )
    seq = await store.remove_archived(signed_base, record)
    return ArchiveResult(path, first, last, checkpoint, removed=True, retention_seq=seq, reason=(
        f"removed from the store: older than the {retention_days}-day retention period"))


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


def read_header(path: Path) -> dict[str, Any]:
    """The archive's header line (cheap: the first line only)."""
    try:
        with gzip.open(path, "rb") as file:
            header = json.loads(file.readline())
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise ArchiveError(f"{path} is not a readable audit archive ({type(exc).__name__})") from None
    if not isinstance(header, dict) or header.get("kind") != "header" or header.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not an audit archive (its first line is not a {FORMAT} header)")
    return header


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rb") as file:
        for line in file:
            value = json.loads(line)
            if not isinstance(value, dict):
                raise ValueError("a line is not a JSON object")
            yield value


def verify_archive(path: Path, public_key: PublicKey | None, checkpoints: Iterable[Checkpoint] = (), *,
                   keep: Iterable[int] = ()) -> VerifyReport:
    """Check an archive offline: its chain from the hash its header says it follows, its trailer,
    and the signed checkpoint of its last record (plus any `checkpoints` of records inside it)."""
    try:
        header = read_header(path)
        algorithm, first, prev = header["algorithm"], int(header["first"]), str(header["prev_hash"])
        if algorithm not in ALGORITHMS:
            raise ArchiveError(f"{path} chains with an unknown algorithm {algorithm!r}")
    except (ArchiveError, KeyError, TypeError, ValueError) as exc:
        return VerifyReport(0, 0, str(exc) if isinstance(exc, ArchiveError) else f"{path}: its header is incomplete")
    walk = Walk(algorithm, seq=first, prev=prev, checkpoints=checkpoints, public_key=public_key, keep=keep)
    trailer: dict[str, Any] | None = None
    try:
        for number, line in enumerate(_lines(path), start=1):
            if number == 1:
                continue
            if trailer is not None:
                walk.fail(walk.expected, f"line {number} follows the trailer")
                break
            if line.get("kind") == "trailer":
                trailer = line
                continue
            if not walk.step(int(line["seq"]), str(line["prev_hash"]), str(line["hash"]), str(line["body"])):
                break
    except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError) as exc:
        walk.fail(walk.expected, f"the archive cannot be read past record {walk.expected - 1} "
                                  f"({type(exc).__name__}): it was cut or damaged")
    if not walk.failed:
        _check_trailer(walk, header, trailer)
    return walk.end(truncation=False)


def _check_trailer(walk: Walk, header: dict[str, Any], trailer: dict[str, Any] | None) -> None:
    last = walk.expected - 1
    if trailer is None:
        walk.fail(walk.expected, f"the archive ends at record {last} without its trailer: it was cut short")
        return
    try:
        checkpoint = Checkpoint.from_dict(trailer["checkpoint"])
        claims = int(trailer["last"]), int(trailer["records"]), str(trailer["last_hash"]), int(header["last"])
    except (KeyError, TypeError, ValueError):
        walk.fail(walk.expected, "the archive's trailer is incomplete")
        return
    if claims[0] != last or claims[3] != last or claims[1] != walk.records:
        walk.fail(min(last, claims[0]) + 1, f"the archive holds records {walk.first}–{last}, but its header and "
                                             f"trailer say {walk.first}–{claims[0]}: records were removed or added")
    elif claims[2] != walk.prev:
        walk.fail(last, "the trailer's last hash is not the last record's")
    else:
        walk.anchor(checkpoint)


async def verify_together(archives: Sequence[Path], store: AuditStore | None, public_key: PublicKey | None,
                          checkpoints: Sequence[Checkpoint] = ()) -> Together:
    """Archives (offline) and, if given, the live store: each must verify, and together they must
    form one chain — each part follows the hash of the record before it in another part, and the
    parts agree wherever they overlap. Gaps between parts are named."""
    try:
        headers = {path: read_header(path) for path in archives}
    except ArchiveError as exc:
        return Together([], 0, str(exc))
    keep: set[int] = set()
    for header in headers.values():
        keep |= {int(header["first"]) - 1, int(header["last"])}
    base = await store.base() if store is not None else None
    if store is not None:
        keep.add((base.seq if base else 1) - 1)
    pieces: list[Piece] = []
    for path, header in headers.items():
        inside = [c for c in checkpoints if int(header["first"]) <= c.seq <= int(header["last"])]
        pieces.append(Piece(path.name, verify_archive(path, public_key, inside, keep=keep)))
    if store is not None:
        pieces.append(Piece("store", await store.verify(public_key, checkpoints, keep=keep)))
    for piece in pieces:
        if not piece.report.ok:
            return Together(pieces, piece.report.first_bad, f"{piece.name}: {piece.report.problem}")
    return _link(pieces)


def _link(pieces: list[Piece]) -> Together:
    known: dict[int, tuple[str, str]] = {}
    for piece in pieces:
        for seq, digest in sorted(piece.report.hashes.items()):
            if seq in known and known[seq][0] != digest:
                return Together(pieces, seq + 1 if seq < piece.report.first else seq,
                                f"{piece.name} does not continue {known[seq][1]}: they disagree on record {seq}'s hash")
            known.setdefault(seq, (digest, piece.name))
    spans: list[tuple[int, int]] = []
    for piece in sorted(pieces, key=lambda p: p.report.first):
        first, last = piece.report.first, piece.report.last
        if last < first:
            continue
        if spans and first <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        elif spans:
            gap = (spans[-1][1] + 1, first - 1)
            return Together(pieces, gap[0], f"records {gap[0]}–{gap[1]} are in none of the archives given "
                                            f"(the next part, {piece.name}, starts at {first})", spans)
        else:
            spans.append((first, last))
    return Together(pieces, spans=spans)


def describe(piece: Piece) -> str:
    """One line about a verified part, for `gateway audit verify`."""
    report = piece.report
    if report.records == 0 and report.ok:
        return f"{piece.name}: no records"
    span = f"records {report.first}–{report.last}" if report.ok else f"{report.records} records hold before it"
    line = f"{piece.name}: {span} ({report.algorithm}"
    if report.newest_checkpoint is None:
        line += "; no signed checkpoint: the chain alone vouches for them"
    else:
        line += f"; {report.checkpoints} signed checkpoints hold, the newest of record {report.newest_checkpoint}"
        if report.ok and report.unanchored:
            line += f"; records {report.newest_checkpoint + 1}–{report.last} are covered by the chain only"
    return line + ")"
