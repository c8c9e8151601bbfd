"""Signed checkpoints of the audit chain, kept apart from it.

The chain alone proves that no record was edited, removed, inserted or reordered *unless whoever
did it recomputed every hash from there on*, and it cannot tell that its newest records were cut
off. So every N records or T seconds the writer signs the newest committed record — (seq, hash,
time, algorithm) — with an Ed25519 key the database does not hold, and stores the signed
checkpoint in *another* database. Someone who can rewrite the audit table then still cannot make
its hashes agree with the checkpoints, nor shorten it below the newest checkpoint, without the
signing key.

Two signed statements, told apart by their label so one can never pass for the other:

- a **checkpoint** (``gov-data-gateway/audit-checkpoint/v1``): record `seq` has hash `hash`;
- a **base** (``gov-data-gateway/audit-base/v1``): the records before `seq` were archived in
  `archive` and removed from the store, and record `seq` follows `prev_hash` (see audit.archive).

Key files: the private key is PEM (PKCS #8), mode 0600, created atomically like the masking key;
the public key (PEM, SubjectPublicKeyInfo) is written beside it as ``<name>.pub`` for auditors.

A checkpoint that cannot be written never costs an audit record: the record is committed before
the writer even tries. The failure is logged, `ping` reports it to /readyz, and the next commit
tries again (at most once a second).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import os
import secrets
import stat
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
CHECKPOINT_LABEL = "gov-data-gateway/audit-checkpoint/v1"
BASE_LABEL = "gov-data-gateway/audit-base/v1"
RETRY_SECONDS = 1.0  # after a failed checkpoint write, the next commit tries again once this has passed
_SEPARATOR = "\x1f"

metadata = MetaData()
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", Integer, nullable=False, index=True),
    Column("hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", String(128), nullable=False),
)


class CheckpointUnavailable(Exception):
    """The newest checkpoint could not be written (the audit records themselves are committed)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: record `seq` of a chain of `algorithm` has hash `hash`."""

    seq: int
    hash: str
    at: str  # when it was signed, ISO 8601 UTC
    algorithm: str
    key_id: str
    signature: str  # base64 Ed25519 signature of `message`
    id: int | None = None  # its row in the checkpoint store

    def message(self) -> bytes:
        return _SEPARATOR.join((CHECKPOINT_LABEL, str(self.seq), self.hash, self.at, self.algorithm)).encode()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(seq=int(data["seq"]), hash=str(data["hash"]), at=str(data["at"]), algorithm=str(data["algorithm"]),
                   key_id=str(data["key_id"]), signature=str(data["signature"]),
                   id=int(data["id"]) if data.get("id") is not None else None)


@dataclass(frozen=True)
class Base:
    """A signed statement: the records before `seq` were archived in `archive` and removed from
    the store; record `seq` follows `prev_hash`."""

    seq: int
    prev_hash: str
    at: str
    algorithm: str
    archive: str  # the archive's file name
    key_id: str
    signature: str

    def message(self) -> bytes:
        return _SEPARATOR.join((BASE_LABEL, str(self.seq), self.prev_hash, self.at, self.algorithm,
                                self.archive)).encode()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Base:
        return cls(seq=int(data["seq"]), prev_hash=str(data["prev_hash"]), at=str(data["at"]),
                   algorithm=str(data["algorithm"]), archive=str(data["archive"]), key_id=str(data["key_id"]),
                   signature=str(data["signature"]))


class PublicKey:
    """The audit signing key's public half: what an auditor needs to check checkpoints and bases."""

    __slots__ = ("_key", "key_id")

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self.key_id = hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def raw(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def pem(self) -> str:
        return self._key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def verify(self, signed: Checkpoint | Base) -> bool:
        try:
            self._key.verify(base64.b64decode(signed.signature, validate=True), signed.message())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    @classmethod
    def from_file(cls, path: Path) -> PublicKey:
        """A PEM public key, or the 32 raw bytes in base64 (one line)."""
        data = Path(path).read_bytes().strip()
        try:
            if data.startswith(b"-----BEGIN"):
                key = serialization.load_pem_public_key(data)
                if not isinstance(key, Ed25519PublicKey):
                    raise ValueError
                return cls(key)
            return cls(Ed25519PublicKey.from_public_bytes(base64.b64decode(data, validate=True)))
        except (ValueError, binascii.Error, TypeError):
            raise ValueError(f"{path} does not hold an Ed25519 public key (PEM or base64)") from None

    def __repr__(self) -> str:
        return f"PublicKey(key_id={self.key_id!r})"


def public_key_path(private_path: Path) -> Path:
    """Where the public key of the signing key in `private_path` is exported."""
    return Path(private_path).with_suffix(".pub")


class SigningKey:
    """The audit signing key (Ed25519). Its bytes never appear in repr or error messages."""

    __slots__ = ("_key", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey(key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_file(cls, path: Path, create: bool = False) -> SigningKey:
        """Read the PEM private key in `path`; with `create`, a missing file is created (mode 0600,
        atomically: racing workers all end up with the first one's key). The public key is
        exported beside it when missing."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise
            key = cls.generate()
            pem = key._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
            if not _create_file(path, pem, 0o600):
                return cls.from_file(path)  # another worker created it first: its key wins
            log.info("created audit signing key %s (key id %s)", path, key.public.key_id)
            key._export_public(path)
            return key
        if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("audit signing key file %s is readable by others than its owner; chmod 600 it", path)
        try:
            loaded = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            loaded = None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"audit signing key file {path} does not hold an Ed25519 private key (PEM, PKCS #8)")
        key = cls(loaded)
        key._export_public(path)
        return key

    def _export_public(self, private_path: Path) -> None:
        target = public_key_path(private_path)
        if not target.exists():
            _create_file(target, self.public.pem().encode(), 0o644)

    def sign_checkpoint(self, seq: int, digest: str, algorithm: str, at: str | None = None) -> Checkpoint:
        unsigned = Checkpoint(seq=seq, hash=digest, at=at or _now(), algorithm=algorithm,
                              key_id=self.public.key_id, signature="")
        return replace(unsigned, signature=base64.b64encode(self._key.sign(unsigned.message())).decode())

    def sign_base(self, seq: int, prev_hash: str, algorithm: str, archive: str, at: str | None = None) -> Base:
        unsigned = Base(seq=seq, prev_hash=prev_hash, at=at or _now(), algorithm=algorithm, archive=archive,
                        key_id=self.public.key_id, signature="")
        return replace(unsigned, signature=base64.b64encode(self._key.sign(unsigned.message())).decode())

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.public.key_id!r})"


def _create_file(path: Path, data: bytes, mode: int) -> bool:
    """Write `path` atomically unless it exists: a complete temporary file is hard-linked into
    place (never replacing), as masking.keys does. False if another process created it first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            if os.name == "posix":
                os.fchmod(file.fileno(), mode)  # whatever the umask
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


class CheckpointStore:
    """The database of signed checkpoints (its own, never the audit store's)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.created = False

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        self.created = True

    async def add(self, checkpoint: Checkpoint) -> Checkpoint:
        if not self.created:  # the database did not answer at start-up: create the table once it does
            await self.create()
        values = checkpoint.as_dict()
        values.pop("id")
        async with self.engine.begin() as conn:
            result = await conn.execute(audit_checkpoints.insert().values(**values))
            key = result.inserted_primary_key
        return replace(checkpoint, id=int(key[0]) if key else None)

    async def all(self) -> list[Checkpoint]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq,
                                                                          audit_checkpoints.c.id))
            return [Checkpoint.from_dict(dict(row._mapping)) for row in rows]

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def close(self) -> None:
        await self.engine.dispose()


class Checkpointer:
    """Signs the newest committed record every `every` records or `seconds` seconds, whichever
    comes first, checked after each commit (there is no timer: an idle store signs nothing new,
    and `close` signs whatever is left). Writes run in a task of their own, so an append never
    waits for a checkpoint."""

    def __init__(self, store: CheckpointStore, key: SigningKey, *, every: int = 100, seconds: float = 10.0,
                 algorithm: str = "sha256") -> None:
        if every < 1 or seconds <= 0:
            raise ValueError("checkpoints need every >= 1 record and seconds > 0")
        self.store, self.key, self.every, self.seconds, self.algorithm = store, key, every, seconds, algorithm
        self.written = 0  # checkpoints written by this process
        self.error: str | None = None  # why the last write failed, until one succeeds
        self._newest: tuple[int, str] | None = None  # the newest record this process saw committed
        self._signed = 0  # the newest sequence number signed by this process
        self._signed_at = time.monotonic()
        self._retry_at = 0.0
        self._task: asyncio.Task[None] | None = None

    def committed(self, seq: int, digest: str) -> None:
        """Called by the audit writer after each commit (not awaited: it only starts a task)."""
        if self._newest is None or seq > self._newest[0]:
            self._newest = (seq, digest)
        now = time.monotonic()
        due = seq - self._signed >= self.every or now - self._signed_at >= self.seconds
        if due and now >= self._retry_at and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._write(), name="audit-checkpoint")

    async def flush(self) -> Checkpoint | None:
        """Sign the newest committed record now, unless it is signed already."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.gather(task, return_exceptions=True)
        if self._newest is None or self._newest[0] <= self._signed:
            return None
        return await self._sign(*self._newest)

    async def _write(self) -> None:
        if self._newest is not None and self._newest[0] > self._signed:
            with contextlib.suppress(CheckpointUnavailable):  # logged; the next commit tries again
                await self._sign(*self._newest)

    async def _sign(self, seq: int, digest: str) -> Checkpoint:
        try:
            checkpoint = await self.store.add(self.key.sign_checkpoint(seq, digest, self.algorithm))
        except Exception as exc:
            self.error = type(exc).__name__
            self._retry_at = time.monotonic() + RETRY_SECONDS
            log.error("audit checkpoint of record %s could not be written (%s); the records are committed, "
                      "the next commit tries again", seq, self.error)
            raise CheckpointUnavailable(f"checkpoint of record {seq} not written: {self.error}") from exc
        self._signed, self._signed_at, self.error = max(self._signed, seq), time.monotonic(), None
        self.written += 1
        return checkpoint

    async def ping(self) -> None:
        """For /readyz: fails while checkpoints cannot be written, or the store does not answer."""
        if self.error is not None:
            raise CheckpointUnavailable(self.error)
        await self.store.ping()

    async def close(self) -> None:
        """Sign what is left (a failure is logged, never raised), then dispose of the engine."""
        try:
            await self.flush()
        except CheckpointUnavailable:
            pass
        finally:
            await self.store.close()


def load_public_key(private_path: Path, given: Path | None = None) -> PublicKey | None:
    """The public key to check signatures with: the file `given` (an auditor's own copy), else the
    one exported beside the signing key, else the signing key's own; None if there is none."""
    if given is not None:
        return PublicKey.from_file(given)
    exported = public_key_path(private_path)
    if exported.exists():
        return PublicKey.from_file(exported)
    if Path(private_path).exists():
        return SigningKey.from_file(private_path).public
    return None
