"""Subject pseudonyms: the audit trail names whom a request asked about without holding the key.

A person's ID number or an enterprise's credit code is recorded as HMAC-SHA256 under a key
derived from the platform's masking key (`KeyRing.derive("audit-subject")`), truncated to 80
bits: the same subject has the same pseudonym in every record, so an auditor who holds the key
(`gateway audit subject <key>`) can find every request about one person, while the trail itself
reveals no key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

LABEL = "audit-subject"


def subject_pseudonym(key: bytes, subject: str) -> str:
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:20]


def subject_pseudonyms(key: bytes, subjects: Iterable[str]) -> list[str]:
    """One pseudonym per distinct subject, in first-seen order."""
    return [subject_pseudonym(key, s) for s in dict.fromkeys(subjects)]
