"""The hash chain, offline: its hash algorithms and the walk that checks rows against the chain
rules and the signed checkpoints. Nothing here needs a database, so the live store, exported
archives and an auditor's own script check a chain the same way.

A record's hash is H(previous hash ‖ canonical record), H being SHA-256 or SM3 (GB/T 32905) as the
store recorded when it was created. The first record of a chain follows the genesis hash (64
zeros); after a retention removal the store's first record follows a signed *base* instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes

from audit.checkpoints import Checkpoint, PublicKey

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
    newest_checkpoint: int | None = None  # the newest checkpointed sequence number
    hashes: dict[int, str] = field(default_factory=dict, repr=False, compare=False)  # the hashes asked for (`keep`)

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    @property
    def unanchored(self) -> int:
        """Records after the newest checkpoint: covered by the chain only."""
        return max(0, self.last - (self.newest_checkpoint or 0))


class Walk:
    """Checks rows, in sequence order, against the chain rules and the signed checkpoints; the
    first problem stops it.

    `seq`/`prev` are where the rows must start (record 1 after the genesis, or a signed base).
    Checkpoints of records before `seq` are checked for their signature only (their records
    live in archives), except the one of record `seq - 1`, whose hash must be `prev`.
    `keep` names sequence numbers whose hashes the caller wants afterwards (in `hashes`)."""

    def __init__(self, algorithm: str, *, seq: int = 1, prev: str = GENESIS,
                 checkpoints: Iterable[Checkpoint] = (), public_key: PublicKey | None = None,
                 keep: Iterable[int] = ()) -> None:
        self.algorithm, self._hash = algorithm, hasher(algorithm)
        self.first, self.expected, self.prev = seq, seq, prev
        self.records = 0
        self.first_bad: int | None = None
        self.problem: str | None = None
        self.checked = 0
        self.hashes: dict[int, str] = {}
        self._keep = set(keep)
        self._public_key = public_key
        self._pending = sorted(checkpoints, key=lambda c: (c.seq, c.id or 0))
        self._newest = self._pending[-1].seq if self._pending else None
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

    def _checkpoint(self, checkpoint: Checkpoint, actual: str | None) -> bool:
        """One signed checkpoint: its signature, algorithm and (when its record is at hand) its hash."""
        where = f"checkpoint #{checkpoint.id} of record {checkpoint.seq} (signed {checkpoint.at})"
        if self._public_key is None:
            return self.fail(checkpoint.seq, f"{where} cannot be checked: no public key was given")
        if not self._public_key.verify(checkpoint):
            other = "" if checkpoint.key_id == self._public_key.key_id else f", it names key {checkpoint.key_id}"
            return self.fail(checkpoint.seq, f"{where} does not carry a valid signature of the audit signing key "
                                              f"{self._public_key.key_id}{other}: the checkpoint store was tampered with")
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
        self.prev, self.expected, self.records = digest, seq + 1, self.records + 1
        return True

    def anchor(self, checkpoint: Checkpoint) -> bool:
        """Check a checkpoint of the last record walked (an archive's trailer)."""
        if self.first_bad is not None:
            return False
        if checkpoint.seq != self.expected - 1:
            return self.fail(checkpoint.seq, f"the signed checkpoint names record {checkpoint.seq}, but the records "
                                              f"end at {self.expected - 1}")
        self._newest = max(self._newest or 0, checkpoint.seq)
        return self._checkpoint(checkpoint, self.prev)

    def end(self, *, truncation: bool = True) -> VerifyReport:
        """The report. With `truncation`, checkpoints beyond the last row mean newest records were
        removed (for the live store: its end is the chain's end)."""
        if self.first_bad is None and self._pending:
            beyond = self._pending[-1]
            if truncation:
                last = self.expected - 1
                self.fail(self.expected, f"the chain ends at seq {last} but checkpoint #{beyond.id} signed seq "
                                          f"{beyond.seq} (at {beyond.at}): records {self.expected}–{beyond.seq} "
                                          "were removed")
            else:
                for checkpoint in self._pending:
                    if not self._checkpoint(checkpoint, None):
                        break
        return VerifyReport(
            records=self.records, first_bad=self.first_bad, problem=self.problem, algorithm=self.algorithm,
            first=self.first, last=self.expected - 1, checkpoints=self.checked, newest_checkpoint=self._newest,
            hashes=self.hashes,
        )
