"""``pseudonym``: a keyed, stable pseudonym per consuming application.

The value is replaced by ``psn_`` and 24 lowercase base32 characters (the
first 15 bytes of an HMAC, 120 bits)::

    13812345678 -> psn_k3v6r2c4m7xq9w0a1b2c3d4e   (for one application)

The HMAC key is derived from the gateway's master key and the consuming
application (:meth:`masking.KeyRing.pseudonym_key`), so:

* the same value gives the same pseudonym for the same application, in every
  field and every request: a consumer can link its own records;
* another application gets another, unrelated pseudonym: two consumers
  cannot join their data on it;
* without the master key, pseudonyms can be neither reversed nor recomputed
  from guessed values (a plain hash of a phone number could be, by trying
  all of them).

Before hashing, the text is NFKC-normalised (full-width ``１３８`` is ``138``),
all whitespace is removed and letters are upper-cased, so trivially
different spellings of one identifier (``11010119900307123x`` /
``110101 19900307 123X``) share a pseudonym.  ``hash`` selects HMAC-SHA256
(default) or HMAC-SM3 (GB/T 32905, for deployments that must use national
algorithms); the two give different pseudonyms.  Strings and integers are
accepted; other types become ``***``.
"""

from __future__ import annotations

import hmac
import unicodedata
from base64 import b32encode
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from masking._base import TextCore
from masking.keys import KeyRing, MaskScope
from masking.strategy import Param, Strategy

PREFIX = "psn_"
DIGEST_BYTES = 15
"""Bytes of the HMAC kept: 120 bits, 24 base32 characters, no padding."""


def _hmac(hash_name: str, key: bytes) -> Callable[[bytes], bytes]:
    if hash_name == "sm3":

        keyed = crypto_hmac.HMAC(key, hashes.SM3())  # keyed once; each value works on a copy

        def hmac_sm3(data: bytes) -> bytes:
            mac = keyed.copy()
            mac.update(data)
            return mac.finalize()

        return hmac_sm3
    return lambda data: hmac.digest(key, data, "sha256")


def canonical(text: str) -> str:
    """The form of ``text`` that is hashed: NFKC, no whitespace, upper case."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def build(hash: str = "sha256", *, scope: MaskScope, keys: KeyRing) -> TextCore:  # noqa: A002 - the rule's parameter name
    """Pseudonymise values for ``scope.application``."""
    digest = _hmac(hash, keys.pseudonym_key(scope.application, hash))

    def pseudonymise(text: str) -> str:
        tag = digest(canonical(text).encode("utf-8"))[:DIGEST_BYTES]
        return PREFIX + b32encode(tag).decode("ascii").lower()

    return pseudonymise


STRATEGY = Strategy(
    name="pseudonym",
    description="Replaces a value with a keyed pseudonym that is the same for the same value "
    "within one consuming application and differs between applications, "
    "e.g. 13812345678 -> psn_ followed by 24 base32 characters.",
    build=build,
    params=(Param("hash", str, "sha256", "HMAC hash function", choices=("sha256", "sm3")),),
    keyed=True,
)
