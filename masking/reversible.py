"""``reversible``: authenticated encryption that only the gateway can undo.

The value is encrypted with AES-256-GCM (default) or SM4-GCM (GB/T 32907,
``cipher=sm4-gcm``) under a key derived from the gateway's master key
(:meth:`masking.KeyRing.cipher_key`), and served as a token::

    13812345678 -> enc1.a.<base64url without padding of nonce + ciphertext + tag>

``a`` stands for AES-GCM, ``s`` for SM4-GCM.  Each value gets a fresh random
12-byte nonce, so encrypting the same value twice gives two different tokens:
unlike a pseudonym, a token does not let a consumer link records.  The
associated data is ``application \\x1f coordinate \\x1f cipher``, so a token
is bound to the application and field it was issued for: :func:`unmask`
(an operator's action, e.g. for a court order or a data-quality complaint)
decrypts it only with the same key ring and the same :class:`~masking.MaskScope`.

The token length reveals the value's length in UTF-8 bytes; the random nonce bounds a key's use to about 2**32
values before the key should be rotated.  Strings and integers are accepted
(integers decrypt as their decimal text); other types become ``***``.
"""

from __future__ import annotations

import os
import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from masking._base import TextCore
from masking.errors import UnmaskError
from masking.keys import KeyRing, MaskScope
from masking.strategy import Param, Strategy

VERSION = "enc1"
NONCE_BYTES = 12
TAG_BYTES = 16
CIPHER_CODES = {"aes-gcm": "a", "sm4-gcm": "s"}
"""Token letter of each cipher."""

_CIPHERS_BY_CODE = {code: cipher for cipher, code in CIPHER_CODES.items()}
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class _Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class _SM4GCM:
    """SM4 in GCM mode with the interface of ``AESGCM`` (ciphertext followed by the 16-byte tag)."""

    def __init__(self, key: bytes) -> None:
        self._algorithm = algorithms.SM4(key)

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        encryptor = Cipher(self._algorithm, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated_data or b"")
        ciphertext = encryptor.update(data) + encryptor.finalize()
        return ciphertext + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < TAG_BYTES:
            raise InvalidTag
        decryptor = Cipher(self._algorithm, modes.GCM(nonce, data[-TAG_BYTES:])).decryptor()
        decryptor.authenticate_additional_data(associated_data or b"")
        return decryptor.update(data[:-TAG_BYTES]) + decryptor.finalize()


def _aead(cipher: str, keys: KeyRing) -> _Aead:
    key = keys.cipher_key(cipher)
    return _SM4GCM(key) if cipher == "sm4-gcm" else AESGCM(key)


def _associated_data(scope: MaskScope, cipher: str) -> bytes:
    return f"{scope.application}\x1f{scope.coordinate}\x1f{cipher}".encode()


def build(cipher: str = "aes-gcm", *, scope: MaskScope, keys: KeyRing) -> TextCore:
    """Encrypt values for ``scope`` into ``enc1`` tokens."""
    aead = _aead(cipher, keys)
    associated_data = _associated_data(scope, cipher)
    prefix = f"{VERSION}.{CIPHER_CODES[cipher]}."

    def encrypt(text: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(nonce, text.encode("utf-8"), associated_data)
        return prefix + urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    return encrypt


def unmask(token: str, scope: MaskScope, keys: KeyRing) -> str:
    """Decrypt a ``reversible`` token issued for ``scope`` under ``keys``.

    Raises:
        UnmaskError: if the token is malformed, was altered, was issued for
            another application or coordinate, or under another key.  The
            message is the same in every case and never contains the value.
    """
    try:
        if not isinstance(token, str):
            raise ValueError
        version, code, body = token.split(".")
        cipher = _CIPHERS_BY_CODE[code]
        if version != VERSION or _BASE64URL.fullmatch(body) is None:
            raise ValueError
        sealed = urlsafe_b64decode(body + "=" * (-len(body) % 4))
        # Only the canonical spelling counts: no unused trailing bits to flip unnoticed.
        if urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii") != body:
            raise ValueError
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise ValueError
        plain = _aead(cipher, keys).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(scope, cipher))
        return plain.decode("utf-8")
    except (ValueError, KeyError, InvalidTag):
        raise UnmaskError("the token cannot be unmasked with this key for this application and field") from None


STRATEGY = Strategy(
    name="reversible",
    description="Replaces a value with a token encrypted for the consuming application and field "
    "that only the gateway can decrypt, different at every call, "
    "e.g. 13812345678 -> enc1.a. followed by 52 base64url characters.",
    build=build,
    params=(Param("cipher", str, "aes-gcm", "authenticated cipher", choices=("aes-gcm", "sm4-gcm")),),
    keyed=True,
)
