"""The hash chain, offline: its hash algorithms and the walk that checks rows against the chain
rules and the signed checkpoints. Nothing here needs a database, so the live store, exported
archives and an auditor's own script check a chain the same way.

A record's hash is H(previous hash ‖ canonical record), H being SHA-256 or SM3 (GB/T 32905) as the
store recorded when it was created. The first record of a chain follows the genesis hash (64
zeros); after a retention removal the store's first record follows a signed *base* instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes

from audit.signing import Base, Checkpoint, PublicKey, Seal

GENESIS = "0" * 64
ALGORITHMS = ("sha256", "sm3")
Hasher = Callable[[str, bytes], str]


def _sha256(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def _sm3(prev_hash: str, body: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(prev_hash.encode())
    digest.update(body)
    return digest.finalize().hex()


_HASHERS: dict[str, Hasher] = {"sha256": _sha256, "sm3": _sm3}


def hasher(algorithm: str) -> Hasher:
    """The chain function of `algorithm` (sha256 or sm3)."""
    try:
        return _HASHERS[algorithm]
    except KeyError:
        raise ValueError(f"unknown audit hash algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}") from None


def chain_hash(prev_hash: str, body: bytes, algorithm: str = "sha256") -> str:
    return hasher(algorithm)(prev_hash, body)


@dataclass(frozen=True)
class VerifyReport:
    """What a verification found. `first_bad` is the sequence number of the first record that
    does not hold (None: all hold); `problem` says what is wrong with it."""

    records: int
    first_bad: int | None
    problem: str | None = None
    algorithm: str = "sha256"
    first: int = 1  # the first sequence number checked (after a retention removal: the base)
    last: int = 0  # the last sequence number that holds
    checkpoints: int = 0  # signed checkpoints whose record was found with the signed hash
    newest_checkpoint: int | None = None  # the newest sequence number a valid checkpoint signed
    hashes: dict[int, str] = field(default_factory=dict, repr=False, compare=False)  # the hashes asked for (`keep`)
    chain: str = ""  # the chain's id
    base: Base | None = None  # the signed base the records start from (None: they start at the genesis)
    newest: Checkpoint | None = None  # the valid checkpoint of `newest_checkpoint` (the latest signed)
    last_at: str | None = None  # the time recorded in the last record that holds (from its hashed body)
    seal: Seal | None = None  # an archive's verified seal

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    @property
    def unanchored(self) -> int:
        """Records after the newest checkpoint (or the base): covered by the chain only."""
        return max(0, self.last - max(self.newest_checkpoint or 0, self.first - 1))


class Walk:
    """Checks rows, in sequence order, against the chain rules and the signed checkpoints; the
    first problem stops it.

    `seq`/`prev` are where the rows must start (record 1 after the genesis, or a signed `base`).
    Checkpoints of records before `seq` are checked for their signature only (their records
    live in archives), except the one of record `seq - 1`, whose hash must be `prev`. Every
    checkpoint must name `chain`. `keep` names sequence numbers whose hashes the caller wants
    afterwards (in `hashes`)."""

    def __init__(self, algorithm: str, *, seq: int = 1, prev: str = GENESIS, chain: str = "",
                 checkpoints: Iterable[Checkpoint] = (), public_key: PublicKey | None = None,
                 keep: Iterable[int] = (), base: Base | None = None) -> None:
        self.algorithm, self._hash = algorithm, hasher(algorithm)
        self.chain, self.base = chain, base
        self.first, self.expected, self.prev = seq, seq, prev
        self.records = 0
        self.first_bad: int | None = None
        self.problem: str | None = None
        self.checked = 0
        self.hashes: dict[int, str] = {}
        self._keep = set(keep)
        self._public_key = public_key
        self._pending = sorted(checkpoints, key=lambda c: (c.seq, c.id or 0))
        self._newest: Checkpoint | None = None  # the newest valid checkpoint
        self._last_body: bytes | None = None
        self._trusted = seq - 1  # the newest sequence number proven by a checkpoint (or the base)
        if seq - 1 in self._keep:
            self.hashes[seq - 1] = prev
        while self._pending and self._pending[0].seq < seq:
            checkpoint = self._pending.pop(0)
            if not self._checkpoint(checkpoint, prev if checkpoint.seq == seq - 1 else None):
                break

    @property
    def failed(self) -> bool:
        return self.first_bad is not None

    def fail(self, seq: int, problem: str) -> bool:
        self.first_bad, self.problem = seq, problem
        return False

    def _checkpoint(self, checkpoint: Checkpoint, actual: str | None, *, beyond: bool = False) -> bool:
        """One signed checkpoint: its signature, chain, algorithm and (when its record is at hand)
        its hash. `beyond`: its record is past the end (its signature is all there is to check)."""
        where = f"checkpoint #{checkpoint.id} of record {checkpoint.seq} (signed {checkpoint.at})"
        if self._public_key is None:
            return self.fail(checkpoint.seq, f"{where} cannot be checked: no public key was given")
        if not self._public_key.verify(checkpoint):
            other = "" if checkpoint.key_id == self._public_key.key_id else f", it names key {checkpoint.key_id}"
            return self.fail(checkpoint.seq, f"{where} does not carry a valid signature of the audit signing key "
                                              f"{self._public_key.key_id}{other}: the checkpoint store was tampered with")
        if checkpoint.chain != self.chain:
            return self.fail(checkpoint.seq, f"{where} belongs to another chain ({checkpoint.chain or 'none named'}; "
                                              f"this chain is {self.chain or 'unnamed'}): it was copied from another "
                                              "audit store, or this store's chain id was changed")
        if checkpoint.algorithm != self.algorithm:
            return self.fail(checkpoint.seq, f"{where} signs a {checkpoint.algorithm} chain, but the chain is "
                                              f"{self.algorithm}")
        if actual is not None:
            if actual != checkpoint.hash:
                since = self._trusted + 1
                span = f"record {since}" if since == checkpoint.seq else f"records {since}–{checkpoint.seq}"
                return self.fail(since, f"{span} were rewritten: record {checkpoint.seq}'s hash differs from "
                                         f"the one signed in {where}")
            self.checked += 1
            self._trusted = max(self._trusted, checkpoint.seq)
        if not beyond and (self._newest is None or (checkpoint.seq, checkpoint.at) >= (self._newest.seq, self._newest.at)):
            self._newest = checkpoint
        return True

    def step(self, seq: int, prev_hash: str, digest: str, body: str | bytes) -> bool:
        """One row; False once a problem is found."""
        if self.first_bad is not None:
            return False
        if seq != self.expected:
            if seq < self.expected:
                return self.fail(seq, f"record {seq} appears twice or out of order (expected {self.expected})")
            gap = f"record {self.expected} is missing" if seq == self.expected + 1 else \
                f"records {self.expected}–{seq - 1} are missing"
            return self.fail(self.expected, f"{gap} (next is {seq})")
        if prev_hash != self.prev:
            return self.fail(seq, "its link to the previous record does not hold (a record before it was "
                                   "removed, inserted or reordered)")
        raw = body.encode() if isinstance(body, str) else body
        if self._hash(self.prev, raw) != digest:
            return self.fail(seq, "its content does not match its hash")
        while self._pending and self._pending[0].seq == seq:
            if not self._checkpoint(self._pending.pop(0), digest):
                return False
        if seq in self._keep:
            self.hashes[seq] = digest
        self.prev, self.expected, self.records, self._last_body = digest, seq + 1, self.records + 1, raw
        return True

    def end(self, *, truncation: bool = True) -> VerifyReport:
        """The report. Checkpoints beyond the last row are checked for their signature first (a
        junk row is reported as such); with `truncation`, valid ones then mean that the newest
        records were removed (for the live store: its end is the chain's end)."""
        if self.first_bad is None and self._pending:
            for checkpoint in self._pending:
                if not self._checkpoint(checkpoint, None, beyond=True):
                    break
            else:
                beyond = self._pending[-1]
                if truncation:
                    self.fail(self.expected, f"the chain ends at seq {self.expected - 1} but checkpoint #{beyond.id} "
                                              f"signed seq {beyond.seq} (at {beyond.at}): records "
                                              f"{self.expected}–{beyond.seq} were removed")
        return VerifyReport(
            records=self.records, first_bad=self.first_bad, problem=self.problem, algorithm=self.algorithm,
            first=self.first, last=self.expected - 1, checkpoints=self.checked,
            newest_checkpoint=self._newest.seq if self._newest else None, hashes=self.hashes, chain=self.chain,
            base=self.base, newest=self._newest, last_at=_recorded_at(self._last_body),
        )


def _recorded_at(body: bytes | None) -> str | None:
    """The time a canonical record says it was made (None if it says none)."""
    if body is None:
        return None
    try:
        at = json.loads(body).get("at")
    except (ValueError, AttributeError):
        return None
    return at if isinstance(at, str) else None


def base_problem(base: Base, algorithm: str, chain: str, public_key: PublicKey | None) -> str | None:
    """What is wrong with a signed base of chain `chain` (None: it holds)."""
    what = f"the signed base of the chain (records before {base.seq} archived in {base.archive}, removed {base.at})"
    if public_key is None:
        return f"{what} cannot be checked: no public key was given"
    if not public_key.verify(base):
        return f"{what} does not carry a valid signature of the audit signing key {public_key.key_id}"
    if base.chain != chain:
        return f"{what} belongs to another chain ({base.chain or 'none named'}; this chain is {chain or 'unnamed'})"
    if base.algorithm != algorithm:
        return f"{what} signs a {base.algorithm} chain, but the chain is {algorithm}"
    return None
