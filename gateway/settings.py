"""Settings: one object, read from environment variables, drives the CLI and docs/configuration.md.

Every setting is listed in `SETTINGS` with its variable, default and meaning; a test checks
that each one is documented.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LIBRARY_CODES = ("population", "legal_entity", "license", "credit", "social_security")

SETTINGS: dict[str, str] = {
    "GATEWAY_DATA_DIR": "Directory of the embedded SQLite files (default ./gateway-data).",
    "GATEWAY_STORE_URL": "Platform store URL (default sqlite+aiosqlite:///<data dir>/platform.sqlite).",
    "GATEWAY_AUDIT_URL": "Audit store URL (default sqlite+aiosqlite:///<data dir>/audit.sqlite).",
    "GATEWAY_LIBRARY_<CODE>_URL": "URL of one library, e.g. GATEWAY_LIBRARY_POPULATION_URL "
    "(default sqlite+aiosqlite:///<data dir>/library_<code>.sqlite).",
    "GATEWAY_HOST": "Address `gateway serve` binds (default 127.0.0.1).",
    "GATEWAY_PORT": "Port `gateway serve` listens on (default 8000).",
    "GATEWAY_GRAPHIQL": "Serve GraphiQL on GET /graphql: true or false (default true).",
    "GATEWAY_MAX_BODY_BYTES": "Largest request body accepted, in bytes (default 262144: a 1,000-subject check batch fits).",
    "GATEWAY_POLICY_REFRESH_SECONDS": "How often a worker checks the store for a new policy version (default 1).",
    "GATEWAY_MASKING_KEY_FILE": "The platform's masking key (pseudonyms, reversible tokens, cursors), base64 in a "
    "file readable only by the gateway; created on first start when missing (default <data dir>/keys/masking.key). "
    "Every worker of one deployment must read the same file.",
    "GATEWAY_CHECK_RATE": "Subjects one application may check (数据核验) per second, as a token bucket "
    "(default 200; 0 = no rate limit).",
    "GATEWAY_CHECK_BURST": "Subjects one application may check at once: the token bucket's capacity (default 2000).",
    "GATEWAY_CHECK_DAILY_QUOTA": "Subjects one application may check per calendar day, China Standard Time "
    "(default 200000; 0 = no quota).",
    "GATEWAY_LOOKUP_RATE": "Entities one application may look up by key per second (default 200; 0 = no rate limit).",
    "GATEWAY_LOOKUP_BURST": "Entities one application may look up by key at once: the bucket's capacity (default 2000).",
    "GATEWAY_LOOKUP_DAILY_QUOTA": "Entities one application may look up by key per calendar day, China Standard Time "
    "(default 500000; 0 = no quota).",
    "GATEWAY_REDIS_URL": "Redis that holds the rate limits and quotas shared by all workers, e.g. "
    "redis://127.0.0.1:6379/0 (default empty: each worker counts in its own memory).",
}


def _sqlite(data_dir: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{data_dir / name}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    store_url: str
    audit_url: str
    library_urls: dict[str, str]
    host: str = "127.0.0.1"
    port: int = 8000
    graphiql: bool = True
    max_body_bytes: int = 262144
    policy_refresh_seconds: float = 1.0
    masking_key_file: Path | None = None
    check_rate: float = 200.0
    check_burst: int = 2000
    check_daily_quota: int = 200000
    lookup_rate: float = 200.0
    lookup_burst: int = 2000
    lookup_daily_quota: int = 500000
    redis_url: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, data_dir: Path | None = None) -> Settings:
        env = os.environ if env is None else env
        directory = (data_dir or Path(env.get("GATEWAY_DATA_DIR", "gateway-data"))).resolve()
        return cls(
            data_dir=directory,
            store_url=env.get("GATEWAY_STORE_URL", _sqlite(directory, "platform.sqlite")),
            audit_url=env.get("GATEWAY_AUDIT_URL", _sqlite(directory, "audit.sqlite")),
            library_urls={
                code: env.get(f"GATEWAY_LIBRARY_{code.upper()}_URL", _sqlite(directory, f"library_{code}.sqlite"))
                for code in LIBRARY_CODES
            },
            host=env.get("GATEWAY_HOST", "127.0.0.1"),
            port=int(env.get("GATEWAY_PORT", "8000")),
            graphiql=env.get("GATEWAY_GRAPHIQL", "true").lower() in ("1", "true", "yes"),
            max_body_bytes=int(env.get("GATEWAY_MAX_BODY_BYTES", "262144")),
            policy_refresh_seconds=float(env.get("GATEWAY_POLICY_REFRESH_SECONDS", "1")),
            masking_key_file=Path(env["GATEWAY_MASKING_KEY_FILE"]) if env.get("GATEWAY_MASKING_KEY_FILE") else None,
            check_rate=float(env.get("GATEWAY_CHECK_RATE", "200")),
            check_burst=int(env.get("GATEWAY_CHECK_BURST", "2000")),
            check_daily_quota=int(env.get("GATEWAY_CHECK_DAILY_QUOTA", "200000")),
            lookup_rate=float(env.get("GATEWAY_LOOKUP_RATE", "200")),
            lookup_burst=int(env.get("GATEWAY_LOOKUP_BURST", "2000")),
            lookup_daily_quota=int(env.get("GATEWAY_LOOKUP_DAILY_QUOTA", "500000")),
            redis_url=env.get("GATEWAY_REDIS_URL", ""),
        )

    @property
    def masking_key_path(self) -> Path:
        return self.masking_key_file or self.data_dir / "keys" / "masking.key"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "demo-credentials.json"
