"""Verifying archives offline, and archives with the live store as one trail.

An archive (written by audit.archive) is gzip-compressed NDJSON: a header (format, chain id,
algorithm, first seq and the hash it follows, and — when the store had been cut by an earlier
retention removal — the signed base it started from), one line per record, and a trailer whose
signed **seal** states the file name, first and last seq, the hash the first follows, the last
hash, the count, the algorithm and the chain. The seal is checked against what the file holds,
so an archive cut at either end, or with its header edited, fails offline.

A set of parts (archives, and the store) verifies as one trail when each part verifies, all
name the same chain, each part follows the hash of the record before it in another part, they
agree where they overlap, no records are missing between them, and the earliest starts at
record 1 after the genesis hash — or at a signed base that vouches for the records before it
having been archived and removed by retention.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.chain import ALGORITHMS, GENESIS, VerifyReport, Walk, base_problem
from audit.signing import Base, Checkpoint, PublicKey, Seal

if TYPE_CHECKING:
    from audit.store import AuditStore

FORMAT = "gov-data-gateway/audit-archive/v1"


class ArchiveError(Exception):
    """Nothing was archived or removed (or a file is not an archive); the message says why."""


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


def _start(path: Path, header: dict[str, Any], public_key: PublicKey | None) -> tuple[Base | None, str | None]:
    """The signed base the archive starts from (None at record 1), or what is wrong with its start."""
    first, prev, chain, algorithm = int(header["first"]), str(header["prev_hash"]), str(header.get("chain") or ""), \
        str(header["algorithm"])
    if header.get("base") is None:
        if first == 1 and prev != GENESIS:
            return None, f"{path.name} starts at record 1 but does not follow the genesis hash"
        return None, None
    base = Base.from_dict(header["base"])
    problem = base_problem(base, algorithm, chain, public_key)
    if problem is None and (base.seq, base.prev_hash) != (first, prev):
        problem = f"{path.name}'s signed base starts the chain at record {base.seq}, but its header says {first}"
    return base, problem


def verify_archive(path: Path, public_key: PublicKey | None, checkpoints: Iterable[Checkpoint] = (), *,
                   keep: Iterable[int] = ()) -> VerifyReport:
    """Check an archive offline: its chain from the hash its header says it follows, its base
    (if any), and its trailer's signed seal against what it holds (plus any `checkpoints`)."""
    try:
        header = read_header(path)
        algorithm, first, prev = header["algorithm"], int(header["first"]), str(header["prev_hash"])
        if algorithm not in ALGORITHMS:
            raise ArchiveError(f"{path} chains with an unknown algorithm {algorithm!r}")
        chain = str(header.get("chain") or "")
        base, problem = _start(path, header, public_key)
    except (ArchiveError, KeyError, TypeError, ValueError) as exc:
        return VerifyReport(0, 0, str(exc) if isinstance(exc, ArchiveError) else f"{path}: its header is incomplete")
    walk = Walk(algorithm, seq=first, prev=prev, chain=chain, checkpoints=checkpoints, public_key=public_key, keep=keep,
                base=base)
    if problem is not None:
        walk.fail(first, problem)
    trailer: dict[str, Any] | None = None
    try:
        for number, line in enumerate(_lines(path), start=1):
            if walk.failed:
                break
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
    seal = _check_trailer(walk, path, header, trailer, public_key) if not walk.failed else None
    return replace(walk.end(truncation=False), seal=seal)


def _check_trailer(walk: Walk, path: Path, header: dict[str, Any], trailer: dict[str, Any] | None,
                   public_key: PublicKey | None) -> Seal | None:
    """The trailer's seal if it holds; else the walk fails, naming what is wrong."""
    last = walk.expected - 1
    if trailer is None:
        walk.fail(walk.expected, f"the archive ends at record {last} without its trailer: it was cut short")
        return None
    try:
        claims = int(trailer["last"]), int(trailer["records"]), str(trailer["last_hash"]), int(header["last"])
    except (KeyError, TypeError, ValueError):
        walk.fail(walk.expected, "the archive's trailer is incomplete")
        return None
    if claims[0] != last or claims[3] != last or claims[1] != walk.records:
        walk.fail(min(last, claims[0]) + 1, f"the archive holds records {walk.first}–{last}, but its header and "
                                             f"trailer say {walk.first}–{claims[0]}: records were removed or added")
        return None
    if claims[2] != walk.prev:
        walk.fail(last, "the trailer's last hash is not the last record's")
        return None
    try:
        seal = Seal.from_dict(trailer["seal"])
    except (KeyError, TypeError, ValueError):
        walk.fail(last, "the archive's trailer carries no signed seal (a checkpoint does not vouch for an archive's "
                        "extent): it was not written by `gateway audit archive`, or its trailer was replaced")
        return None
    problem = _seal_problem(seal, path, header, walk, public_key)
    if problem is not None:
        walk.fail(*problem)
        return None
    return seal


def _seal_problem(seal: Seal, path: Path, header: dict[str, Any], walk: Walk,
                  public_key: PublicKey | None) -> tuple[int, str] | None:
    """Whether the trailer's seal is signed and states exactly what the file holds."""
    last = walk.expected - 1
    what = f"the archive's seal (signed {seal.at})"
    if public_key is None:
        return last, f"{what} cannot be checked: no public key was given"
    if not public_key.verify(seal):
        other = "" if seal.key_id == public_key.key_id else f", it names key {seal.key_id}"
        return last, f"{what} does not carry a valid signature of the audit signing key {public_key.key_id}{other}"
    if seal.chain != walk.chain:
        return walk.first, f"{what} is of chain {seal.chain}, but the header says {walk.chain or 'none'}"
    if seal.archive != path.name:
        return walk.first, f"{what} names the file {seal.archive}, not {path.name}: rename it back to verify it"
    if seal.first != walk.first or seal.prev_hash != str(header["prev_hash"]):
        cut = f"records {seal.first}–{walk.first - 1} were removed from its start" if seal.first < walk.first else \
            "its header was edited"
        return min(seal.first, walk.first), f"{what} signs records from {seal.first} (following {seal.prev_hash[:16]}…), " \
                                             f"but the file starts at {walk.first}: {cut}"
    if (seal.last, seal.records) != (last, walk.records):
        cut = f"records {last + 1}–{seal.last} were removed from its end" if seal.last > last else \
            "records were added at its end"
        return min(seal.last, last) + 1, f"{what} signs records {seal.first}–{seal.last} ({seal.records}), but " \
                                          f"the file holds {walk.first}–{last} ({walk.records}): {cut}"
    if seal.last_hash != walk.prev:
        return walk.first, f"records {walk.first}–{last} were rewritten: record {last}'s hash differs from the one " \
                           f"signed in {what}"
    if seal.algorithm != walk.algorithm:
        return walk.first, f"{what} signs a {seal.algorithm} chain, but the archive is {walk.algorithm}"
    return None


async def verify_together(archives: Sequence[Path], store: AuditStore | None, public_key: PublicKey | None,
                          checkpoints: Sequence[Checkpoint] = ()) -> Together:
    """Archives (offline) and, if given, the live store: each must verify, and together they must
    form one trail (see the module docstring). Every checkpoint is used: the store's walk checks
    each one's signature and those of its records; each archive's, those of its records."""
    try:
        headers = {path: read_header(path) for path in archives}
    except ArchiveError as exc:
        return Together([], 0, str(exc))
    chains = {path.name: str(header.get("chain") or "") for path, header in headers.items()}
    if store is not None:
        chains["store"] = (await store.identity())[1]
    if len(set(chains.values())) > 1:
        names = "; ".join(f"{name}: {chain or 'none'}" for name, chain in chains.items())
        return Together([], 0, f"the parts belong to different chains ({names}): they are not one trail")
    keep: set[int] = set()
    for header in headers.values():
        keep |= {int(header["first"]) - 1, int(header["last"])}
    base = await store.base() if store is not None else None
    if store is not None:
        keep.add((base.seq if base else 1) - 1)
    pieces: list[Piece] = []
    for path, header in headers.items():
        inside = [c for c in checkpoints if int(header["first"]) - 1 <= c.seq <= int(header["last"])]
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
    for piece in sorted(pieces, key=lambda p: (p.report.first, p.report.base is None)):
        first, last = piece.report.first, piece.report.last
        if last < first:
            continue
        if spans and first <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        elif spans:
            gap = (spans[-1][1] + 1, first - 1)
            return Together(pieces, gap[0], f"records {gap[0]}–{gap[1]} are in none of the archives given "
                                            f"(the next part, {piece.name}, starts at {first})", spans)
        elif first != 1 and piece.report.base is None:
            return Together(pieces, 1, f"records 1–{first - 1} are in none of the parts given, and no signed base "
                                       f"vouches for their archiving ({piece.name} starts at {first}): give the "
                                       "archives that hold them, or records were cut from the start")
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
    if report.base is not None:
        line += f"; records before {report.first} were archived in {report.base.archive} (signed base)"
    if report.seal is not None:
        line += f"; sealed {report.seal.at}"
    if report.newest_checkpoint is None:
        if report.seal is None:
            line += "; no signed checkpoint: the chain alone vouches for them"
    else:
        line += f"; {report.checkpoints} signed checkpoints hold, the newest of record {report.newest_checkpoint}"
        if report.ok and report.unanchored:
            line += f"; records {report.last - report.unanchored + 1}–{report.last} are covered by the chain only"
    return line + ")"
