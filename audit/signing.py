"""The audit signing key and the statements it signs.

Three signed statements, told apart by their label so that one can never pass for another, and
each naming the chain it belongs to (a random id the store keeps in its `audit_meta`), so that a
statement about one chain never vouches for another chain signed with the same key:

- a **checkpoint** (``gov-data-gateway/audit-checkpoint/v2``): record `seq` of chain `chain` has
  hash `hash`;
- a **base** (``gov-data-gateway/audit-base/v2``): the records before `seq` were archived in
  `archive` and removed from the store, and record `seq` follows `prev_hash` (see audit.archive);
- a **seal** (``gov-data-gateway/audit-archive-seal/v1``): the archive file `archive` holds records
  `first`–`last` of the chain, `records` of them, the first following `prev_hash` and the last
  having hash `last_hash`. It ends every archive, so an archive cut at either end offline fails.

Key files: the private key is PEM (PKCS #8), mode 0600, created atomically like the masking key;
the public key (PEM, SubjectPublicKeyInfo) is written beside it as ``<name>.pub`` for auditors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import stat
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)
CHECKPOINT_LABEL = "gov-data-gateway/audit-checkpoint/v2"
BASE_LABEL = "gov-data-gateway/audit-base/v2"
SEAL_LABEL = "gov-data-gateway/audit-archive-seal/v1"
_SEPARATOR = "\x1f"


def now() -> str:
    """A signing time: ISO 8601 UTC, to the millisecond (compared with record times by `audit verify`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _message(*parts: object) -> bytes:
    return _SEPARATOR.join(str(part) for part in parts).encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: record `seq` of chain `chain` (of `algorithm`) has hash `hash`."""

    seq: int
    hash: str
    at: str  # when it was signed, ISO 8601 UTC
    algorithm: str
    key_id: str
    signature: str  # base64 Ed25519 signature of `message`
    id: int | None = None  # its row in the checkpoint store
    chain: str = ""  # the chain's id (audit_meta 'chain')

    def message(self) -> bytes:
        return _message(CHECKPOINT_LABEL, self.chain, self.seq, self.hash, self.at, self.algorithm)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(seq=int(data["seq"]), hash=str(data["hash"]), at=str(data["at"]), algorithm=str(data["algorithm"]),
                   key_id=str(data["key_id"]), signature=str(data["signature"]),
                   id=int(data["id"]) if data.get("id") is not None else None, chain=str(data.get("chain") or ""))


@dataclass(frozen=True)
class Base:
    """A signed statement: the records of chain `chain` before `seq` were archived in `archive`
    and removed from the store; record `seq` follows `prev_hash`."""

    seq: int
    prev_hash: str
    at: str
    algorithm: str
    archive: str  # the archive's file name
    key_id: str
    signature: str
    chain: str = ""

    def message(self) -> bytes:
        return _message(BASE_LABEL, self.chain, self.seq, self.prev_hash, self.at, self.algorithm, self.archive)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Base:
        return cls(seq=int(data["seq"]), prev_hash=str(data["prev_hash"]), at=str(data["at"]),
                   algorithm=str(data["algorithm"]), archive=str(data["archive"]), key_id=str(data["key_id"]),
                   signature=str(data["signature"]), chain=str(data.get("chain") or ""))


@dataclass(frozen=True)
class Seal:
    """A signed statement that ends an archive: the file `archive` holds records `first`–`last`
    (`records` of them) of chain `chain`; record `first` follows `prev_hash`, record `last` has
    hash `last_hash`."""

    chain: str
    archive: str  # the archive's file name
    first: int
    prev_hash: str
    last: int
    last_hash: str
    records: int
    algorithm: str
    at: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        return _message(SEAL_LABEL, self.chain, self.archive, self.first, self.prev_hash, self.last, self.last_hash,
                        self.records, self.algorithm, self.at)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seal:
        return cls(chain=str(data["chain"]), archive=str(data["archive"]), first=int(data["first"]),
                   prev_hash=str(data["prev_hash"]), last=int(data["last"]), last_hash=str(data["last_hash"]),
                   records=int(data["records"]), algorithm=str(data["algorithm"]), at=str(data["at"]),
                   key_id=str(data["key_id"]), signature=str(data["signature"]))


Signed = Checkpoint | Base | Seal


class PublicKey:
    """The audit signing key's public half: what an auditor needs to check signed statements."""

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

    def verify(self, signed: Signed) -> bool:
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

    def _sign(self, unsigned: Signed) -> str:
        return base64.b64encode(self._key.sign(unsigned.message())).decode()

    def sign_checkpoint(self, seq: int, digest: str, algorithm: str, chain: str, at: str | None = None) -> Checkpoint:
        unsigned = Checkpoint(seq=seq, hash=digest, at=at or now(), algorithm=algorithm, key_id=self.public.key_id,
                              signature="", chain=chain)
        return replace(unsigned, signature=self._sign(unsigned))

    def sign_base(self, seq: int, prev_hash: str, algorithm: str, archive: str, chain: str,
                  at: str | None = None) -> Base:
        unsigned = Base(seq=seq, prev_hash=prev_hash, at=at or now(), algorithm=algorithm, archive=archive,
                        key_id=self.public.key_id, signature="", chain=chain)
        return replace(unsigned, signature=self._sign(unsigned))

    def sign_seal(self, *, chain: str, archive: str, first: int, prev_hash: str, last: int, last_hash: str,
                  records: int, algorithm: str, at: str | None = None) -> Seal:
        unsigned = Seal(chain=chain, archive=archive, first=first, prev_hash=prev_hash, last=last, last_hash=last_hash,
                        records=records, algorithm=algorithm, at=at or now(), key_id=self.public.key_id, signature="")
        return replace(unsigned, signature=self._sign(unsigned))

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


def load_public_key(private_path: Path, given: Path | None = None) -> PublicKey | None:
    """The public key to check signatures with: the file `given` (an auditor's own copy), else the
    one exported beside the signing key, else the signing key's own; None if there is none."""
    return find_public_key(private_path, given)[0]


def find_public_key(private_path: Path, given: Path | None = None) -> tuple[PublicKey | None, Path | None]:
    """`load_public_key`, and the file the key was read from."""
    if given is not None:
        return PublicKey.from_file(given), Path(given)
    exported = public_key_path(private_path)
    if exported.exists():
        return PublicKey.from_file(exported), exported
    if Path(private_path).exists():
        return SigningKey.from_file(private_path).public, Path(private_path)
    return None, None
