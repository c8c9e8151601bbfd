"""Persisted queries: in production the gateway may run only the operations its departments
registered (an allow-list), so a stolen token cannot explore the schema or compose new queries.

The allow-list is a JSON object mapping the SHA-256 (hex) of each query text to the text — the
format of Apollo's and Relay's persisted-query manifests. `gateway queries manifest FILE...`
writes one from `.graphql` files. With GATEWAY_PERSISTED_QUERIES set, a request names its
operation by hash, in either common form:

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}, "variables": ...}
    {"documentId": "<hex>", "variables": ...}

or sends the full text, which runs only when its hash is on the list. Anything else is refused
with PERSISTED_QUERY_NOT_FOUND before the text is even parsed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.errors import ErrorCode, RequestRefused
from gateway.settings import SettingsError

NOT_FOUND = ("This gateway runs registered (persisted) queries only, and this one is not registered; "
             "ask the platform to add it to the allow-list.")


def query_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class PersistedQueries:
    def __init__(self, queries: Mapping[str, str]) -> None:
        self.queries = dict(queries)

    @classmethod
    def load(cls, path: Path) -> PersistedQueries:
        """Read and check a manifest: every key must be the hash of its query text."""
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"GATEWAY_PERSISTED_QUERIES={path}: cannot read it ({type(exc).__name__})") from None
        if not isinstance(manifest, dict) or not all(isinstance(v, str) for v in manifest.values()):
            raise SettingsError(f"GATEWAY_PERSISTED_QUERIES={path}: expected a JSON object of hash → query text")
        wrong = sorted(key for key, query in manifest.items() if key != query_hash(query))
        if wrong:
            raise SettingsError(f"GATEWAY_PERSISTED_QUERIES={path}: {len(wrong)} key(s) are not the SHA-256 of "
                                f"their query text, e.g. {wrong[0][:16]}…")
        return cls(manifest)

    def resolve(self, query: str | None, payload: Mapping[str, Any]) -> str:
        """The registered text a request runs, or PERSISTED_QUERY_NOT_FOUND."""
        wanted = _named_hash(payload)
        if wanted is None and query is not None:
            wanted = query_hash(query)
        registered = self.queries.get(wanted) if wanted else None
        if registered is None or (query is not None and query != registered):
            raise RequestRefused(ErrorCode.PERSISTED_QUERY_NOT_FOUND, NOT_FOUND)
        return registered


def _named_hash(payload: Mapping[str, Any]) -> str | None:
    extensions = payload.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, Mapping) else None
    named = persisted.get("sha256Hash") if isinstance(persisted, Mapping) else payload.get("documentId")
    return named if isinstance(named, str) else None


def manifest(texts: list[str]) -> dict[str, str]:
    return {query_hash(text): text for text in texts}
