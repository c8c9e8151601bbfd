"""Who a value is masked for (:class:`MaskScope`) and the secret behind keyed rules (:class:`KeyRing`).

Keyed rules (``pseudonym``, ``reversible``) depend on one master key of at
least 32 random bytes, kept in a file readable only by the gateway
(:meth:`KeyRing.from_file`).  The master key is never used directly: every
key a rule uses is derived from it as ``HMAC-SHA256(master, label)``, with
one label per purpose, so that the keys are independent of each other and a
key leaked from one purpose says nothing about another:

==========================================================  =======================================
label (UTF-8; ``\\x1f`` is the unit separator)               key
==========================================================  =======================================
``gov-data-gateway/masking/v1/pseudonym\\x1f<hash>\\x1f<app>``  :meth:`KeyRing.pseudonym_key`, 32 bytes
``gov-data-gateway/masking/v1/cipher\\x1f<cipher>``           :meth:`KeyRing.cipher_key`, 32 bytes
                                                            (``aes-gcm``) or its first 16 (``sm4-gcm``)
``gov-data-gateway/masking/v1/derived\x1f<purpose>``          :meth:`KeyRing.derive`, 32 bytes, for other
                                                            parts of the gateway (e.g. list cursors)
``gov-data-gateway/masking/v1/fingerprint``                 :attr:`KeyRing.fingerprint` (8 hex digits
                                                            shown in ``repr``, to tell key files apart)
==========================================================  =======================================

Pseudonym keys are per consuming application, so two applications cannot
join their data on pseudonyms.  The cipher key is shared; reversible tokens
are bound to the application and coordinate by the cipher's associated data
instead (see :mod:`masking.reversible`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MIN_KEY_BYTES = 32
GENERATED_KEY_BYTES = 32
CIPHER_KEY_BYTES = {"aes-gcm": 32, "sm4-gcm": 16}
"""Key length of each reversible cipher."""

_LABEL = b"gov-data-gateway/masking/v1/"
_SEPARATOR = "\x1f"


def _check_name(what: str, value: object) -> None:
    """Scope parts end up in key labels and associated data: no control characters there."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError(f"{what} must not contain control characters")


@dataclass(frozen=True, slots=True)
class MaskScope:
    """Whom a value is masked for: the consuming ``application`` (``mz-assistance``) and
    the schema ``coordinate`` of the field (``Person.mobile``).

    Pseudonyms depend on the application; reversible tokens on both.
    """

    application: str
    coordinate: str

    def __post_init__(self) -> None:
        _check_name("MaskScope.application", self.application)
        _check_name("MaskScope.coordinate", self.coordinate)


class KeyRing:
    """The master key of keyed masking rules, and the keys derived from it.

    The key bytes never appear in ``repr`` or in error messages.
    """

    __slots__ = ("_master",)

    def __init__(self, master: bytes) -> None:
        if not isinstance(master, bytes | bytearray):
            raise TypeError("the masking master key must be bytes")
        if len(master) < MIN_KEY_BYTES:
            raise ValueError(f"the masking master key must have at least {MIN_KEY_BYTES} bytes")
        self._master = bytes(master)

    @classmethod
    def generate(cls) -> KeyRing:
        """A key ring with a new random master key."""
        return cls(secrets.token_bytes(GENERATED_KEY_BYTES))

    @classmethod
    def from_file(cls, path: Path, create: bool = False) -> KeyRing:
        """Read the base64-encoded master key in ``path``.

        With ``create``, a missing file is created (parent directories
        included) holding a new key, readable and writable by its owner only
        (mode 0o600).

        Raises:
            FileNotFoundError: if the file is missing and ``create`` is false.
            ValueError: if the file is not base64 of at least 32 bytes (the
                message names the path, never the content).
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise
            return cls._create(path)
        if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning("masking key file %s is readable by others than its owner; chmod 600 it", path)
        try:
            master = base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"masking key file {path} does not hold a base64-encoded key") from None
        if len(master) < MIN_KEY_BYTES:
            raise ValueError(f"masking key file {path} holds a key of fewer than {MIN_KEY_BYTES} bytes")
        return cls(master)

    @classmethod
    def _create(cls, path: Path) -> KeyRing:
        """Write a new key atomically: a complete temporary file is hard-linked into place, so
        a worker racing another one reads either no file or a whole key, never a partial one."""
        keys = cls.generate()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                if os.name == "posix":
                    os.fchmod(file.fileno(), 0o600)  # whatever the umask
                file.write(base64.b64encode(keys._master) + b"\n")
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(temporary, path)  # never replaces: the first worker's key wins
            except FileExistsError:
                return cls.from_file(path)
        finally:
            temporary.unlink(missing_ok=True)
        logger.info("created masking key file %s (fingerprint %s)", path, keys.fingerprint)
        return keys

    def _derive(self, *parts: str) -> bytes:
        return hmac.digest(self._master, _LABEL + _SEPARATOR.join(parts).encode("utf-8"), "sha256")

    @property
    def fingerprint(self) -> str:
        """8 hex digits that identify the key without revealing it."""
        return self._derive("fingerprint")[:4].hex()

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for another part of the gateway, e.g. ``derive("cursor")``.

        Its label lives in a namespace of its own, so no ``purpose`` yields a
        key of the masking rules.
        """
        _check_name("purpose", purpose)
        return self._derive("derived", purpose)

    def pseudonym_key(self, application: str, hash_name: str) -> bytes:
        """The 32-byte HMAC key of ``pseudonym(hash=hash_name)`` for one consuming application."""
        _check_name("application", application)
        _check_name("hash name", hash_name)
        return self._derive("pseudonym", hash_name, application)

    def cipher_key(self, cipher: str) -> bytes:
        """The key of a ``reversible`` cipher: 32 bytes for ``aes-gcm``, 16 for ``sm4-gcm``."""
        try:
            length = CIPHER_KEY_BYTES[cipher]
        except KeyError:
            raise ValueError(f"unknown cipher {cipher!r}; known: {', '.join(CIPHER_KEY_BYTES)}") from None
        return self._derive("cipher", cipher)[:length]

    def __repr__(self) -> str:
        return f"KeyRing(fingerprint={self.fingerprint!r})"
