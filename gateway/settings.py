"""Settings: one object, read from environment variables (and the data directory's settings file,
`gateway.env`, beneath them), drives the CLI and docs/configuration.md.

Every setting is listed in `SETTINGS` with its variable, default and meaning; a test checks
that each one is documented.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.query_limits import QueryLimits

LIBRARY_CODES = ("population", "legal_entity", "license", "credit", "social_security")

SETTINGS: dict[str, str] = {
    "GATEWAY_DATA_DIR": "Directory of the embedded SQLite files (default ./gateway-data).",
    "GATEWAY_STORE_URL": "Platform store URL (default sqlite+aiosqlite:///<data dir>/platform.sqlite).",
    "GATEWAY_AUDIT_URL": "Audit store URL (default sqlite+aiosqlite:///<data dir>/audit.sqlite).",
    "GATEWAY_AUDIT_HASH": "Hash of the audit chain: sha256 or sm3 (default sha256); a store keeps the one it was "
    "created with.",
    "GATEWAY_AUDIT_CHECKPOINT_URL": "Database of the signed audit checkpoints, apart from the audit store "
    "(default sqlite+aiosqlite:///<data dir>/audit_checkpoints.sqlite).",
    "GATEWAY_AUDIT_CHECKPOINT_EVERY": "Sign a checkpoint of the audit chain every this many records (default 100).",
    "GATEWAY_AUDIT_CHECKPOINT_SECONDS": "Sign a checkpoint at the first commit this many seconds after the last "
    "checkpoint, if the record count has not come first (default 10).",
    "GATEWAY_AUDIT_SIGNING_KEY_FILE": "Ed25519 key that signs audit checkpoints, PEM (default "
    "<data dir>/keys/audit-signing.key; public key beside it as audit-signing.pub).",
    "GATEWAY_AUDIT_RETENTION_DAYS": "Days audit records are kept before `gateway audit archive` may remove them "
    "(default 1096; at least 1095, 3 years).",
    "GATEWAY_LIBRARY_<CODE>_URL": "URL of one library, e.g. GATEWAY_LIBRARY_POPULATION_URL "
    "(default sqlite+aiosqlite:///<data dir>/library_<code>.sqlite).",
    "GATEWAY_HOST": "Address `gateway serve` binds (default 127.0.0.1).",
    "GATEWAY_PORT": "Port `gateway serve` listens on (default 8000).",
    "GATEWAY_GRAPHIQL": "Serve GraphiQL on GET /graphql: true or false (default true).",
    "GATEWAY_MAX_BODY_BYTES": "Largest request body accepted, in bytes (default 262144: a 1,000-subject check batch fits).",
    "GATEWAY_POLICY_REFRESH_SECONDS": "How often a worker checks the store for a new policy version (default 0.25).",
    "GATEWAY_LIBRARY_POOL_SIZE": "Connections each worker keeps open to each library on a database server "
    "(default 10; a fixed pool: requests beyond it wait for a connection).",
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
    "GATEWAY_POLICY_CHANNEL": "How a policy change reaches every worker at once: auto (default: redis when "
    "GATEWAY_REDIS_URL is set, else postgres when the platform store is PostgreSQL, else none), redis (pub/sub), "
    "postgres (LISTEN/NOTIFY) or none (each worker polls every GATEWAY_POLICY_REFRESH_SECONDS).",
    "GATEWAY_AUDIT_PUSH_SECONDS": "How often the audit pusher posts each department's new audit records to its "
    "webhook (default 5; 0 = no pushing). It runs only when a webhook is registered at start.",
    "GATEWAY_AUDIT_PUSH_BATCH": "Audit records one webhook post carries at most (default 200).",
    "GATEWAY_AUDIT_PUSH_MAX_BACKOFF_SECONDS": "Longest wait before retrying a webhook that failed: the wait doubles "
    "from GATEWAY_AUDIT_PUSH_SECONDS with each failure up to this (default 300).",
    "GATEWAY_MAX_DEPTH": "Deepest nesting of fields in one operation, fragments included (default 20).",
    "GATEWAY_MAX_ALIASES": "Aliased fields in one operation (default 30).",
    "GATEWAY_MAX_ROOT_FIELDS": "Root fields in one operation, aliases counted (default 20).",
    "GATEWAY_MAX_FIELDS": "Fields in one operation with every fragment spread expanded (default 2000).",
    "GATEWAY_MAX_QUERY_COST": "Cost of one operation: each field costs 1 per item of every list around it, a list "
    "counting its `first`, its batch length, or 10 (default 5000; docs/security.md).",
    "GATEWAY_MAX_STRING_CHARS": "Longest string argument of a data request, in characters (default 1000).",
    "GATEWAY_MAX_BATCH": "Operations in one batched request (a JSON array body); each is decided and audited on its "
    "own (default 10).",
    "GATEWAY_COST_RATE": "Query cost units one application may spend per second, as a token bucket (default 5000; "
    "0 = no budget).",
    "GATEWAY_COST_BURST": "Query cost units one application may spend at once: the bucket's capacity (default 50000; "
    "at least GATEWAY_MAX_QUERY_COST).",
    "GATEWAY_COST_DAILY_QUOTA": "Query cost units one application may spend per calendar day, China Standard Time "
    "(default 0 = no quota).",
    "GATEWAY_INTROSPECTION": "Answer introspection (__schema, __type) to authenticated callers: true or false "
    "(default true; false also drops 'Did you mean' suggestions from errors).",
    "GATEWAY_PERSISTED_QUERIES": "A JSON allow-list of the only operations the gateway runs (persisted queries: "
    "{\"<sha256 of the query text>\": \"<query text>\"}); default empty: any valid operation.",
    "GATEWAY_POLICY_STALENESS_SECONDS": "How long a worker keeps serving its last good policy while the platform "
    "store does not answer; after that it refuses every request (POLICY_UNAVAILABLE) until the store answers "
    "(default 300).",
    "GATEWAY_WORKFLOW_CHECK_DAYS": "Working days the platform has for the normative check of a share application "
    "(default 3: 南昌 第十四条).",
    "GATEWAY_WORKFLOW_REPLY_DAYS": "Working days a provider has to answer a forwarded application (default 5: 朔州 "
    "第十六条, 南昌 第十四条; 10 under 西安 第二十条 and the Anhui rules).",
    "GATEWAY_WORKFLOW_EXPIRY_NOTICE_DAYS": "A grant ending within this many days raises an EXPIRING notification "
    "(default 7).",
    "GATEWAY_WORKFLOW_SWEEP_SECONDS": "How often a worker looks for overdue applications and expiring grants, and "
    "pushes notifications to the departments' webhooks (default 60; 0 = only `gateway workflow sweep`).",
}


def _sqlite(data_dir: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{data_dir / name}"


AUDIT_HASHES = ("sha256", "sm3")
MIN_AUDIT_RETENTION_DAYS = 1095  # logs kept at least 3 years: 000 第三十六条 (003 第二十四条 asks 6 months)


class SettingsError(ValueError):
    """A setting has a value the gateway refuses to start with; the message says which and why."""


SETTINGS_FILE = "gateway.env"


def read_settings_file(directory: Path) -> dict[str, str]:
    """The settings in `<data dir>/gateway.env` (none when it is missing): `NAME=value` lines, `#`
    comments and blank lines; a value may be wrapped in one pair of quotes. A name that is not a
    setting (or GATEWAY_DATA_DIR, which the file cannot move) is refused, naming its line."""
    path = directory / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    known = {name for name in SETTINGS if "<CODE>" not in name} - {"GATEWAY_DATA_DIR"}
    known |= {f"GATEWAY_LIBRARY_{code.upper()}_URL" for code in LIBRARY_CODES}
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or name not in known:
            what = "is not NAME=value" if not equals else f"{name or '(empty)'} is not a setting of the file"
            raise SettingsError(f"{path} line {number}: {what}; see docs/configuration.md")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name] = value
    return values


def _audit(env: Mapping[str, str], directory: Path) -> dict[str, object]:
    """The audit settings, validated: a retention below the regulatory minimum is refused."""
    algorithm = env.get("GATEWAY_AUDIT_HASH", "sha256").strip().lower()
    if algorithm not in AUDIT_HASHES:
        raise SettingsError(f"GATEWAY_AUDIT_HASH={algorithm!r}: use one of {', '.join(AUDIT_HASHES)}")
    retention = int(env.get("GATEWAY_AUDIT_RETENTION_DAYS", "1096"))
    if retention < MIN_AUDIT_RETENTION_DAYS:
        raise SettingsError(
            f"GATEWAY_AUDIT_RETENTION_DAYS={retention} is below the minimum of {MIN_AUDIT_RETENTION_DAYS} days: audit "
            "logs must be kept at least 3 years (西安市政务数据资源共享管理办法 第三十六条); set 1095 or more")
    every = int(env.get("GATEWAY_AUDIT_CHECKPOINT_EVERY", "100"))
    seconds = float(env.get("GATEWAY_AUDIT_CHECKPOINT_SECONDS", "10"))
    if every < 1 or seconds <= 0:
        raise SettingsError("GATEWAY_AUDIT_CHECKPOINT_EVERY must be at least 1 and GATEWAY_AUDIT_CHECKPOINT_SECONDS "
                            "more than 0")
    key = env.get("GATEWAY_AUDIT_SIGNING_KEY_FILE")
    return {"audit_hash": algorithm, "audit_retention_days": retention, "audit_checkpoint_every": every,
            "audit_checkpoint_seconds": seconds, "audit_signing_key_file": Path(key) if key else None,
            "audit_checkpoint_url": env.get("GATEWAY_AUDIT_CHECKPOINT_URL",
                                            _sqlite(directory, "audit_checkpoints.sqlite"))}


def _hardening(env: Mapping[str, str]) -> dict[str, object]:
    """Limits on hostile clients (docs/security.md), validated together."""
    limits = QueryLimits(**{name: int(env.get(f"GATEWAY_MAX_{variable}", str(getattr(QueryLimits, name))))
                            for name, variable in (("depth", "DEPTH"), ("aliases", "ALIASES"),
                                                   ("root_fields", "ROOT_FIELDS"), ("fields", "FIELDS"),
                                                   ("cost", "QUERY_COST"), ("string_chars", "STRING_CHARS"))})
    if min(vars(limits).values()) < 1:
        raise SettingsError("the GATEWAY_MAX_* query limits must be at least 1")
    cost_rate = float(env.get("GATEWAY_COST_RATE", "5000"))
    cost_burst = int(env.get("GATEWAY_COST_BURST", "50000"))
    if cost_rate and cost_burst < limits.cost:
        raise SettingsError(f"GATEWAY_COST_BURST={cost_burst} is below GATEWAY_MAX_QUERY_COST={limits.cost}: the "
                            "largest query allowed would always be refused")
    persisted = env.get("GATEWAY_PERSISTED_QUERIES", "").strip()
    return {"query_limits": limits, "cost_rate": cost_rate, "cost_burst": cost_burst,
            "cost_daily_quota": int(env.get("GATEWAY_COST_DAILY_QUOTA", "0")),
            "max_batch": max(1, int(env.get("GATEWAY_MAX_BATCH", "10"))),
            "introspection": env.get("GATEWAY_INTROSPECTION", "true").lower() in ("1", "true", "yes"),
            "persisted_queries": Path(persisted) if persisted else None,
            "policy_staleness_seconds": float(env.get("GATEWAY_POLICY_STALENESS_SECONDS", "300"))}


def _workflow(env: Mapping[str, str]) -> dict[str, object]:
    days = {name: int(env.get(f"GATEWAY_WORKFLOW_{name.upper()}", default))
            for name, default in (("check_days", "3"), ("reply_days", "5"), ("expiry_notice_days", "7"))}
    for name, value in days.items():
        if not 1 <= value <= 60:
            raise SettingsError(f"GATEWAY_WORKFLOW_{name.upper()}={value}: give 1 to 60 working days")
    return {f"workflow_{k}": v for k, v in days.items()} | {
        "workflow_sweep_seconds": float(env.get("GATEWAY_WORKFLOW_SWEEP_SECONDS", "60"))}


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
    policy_refresh_seconds: float = 0.25
    library_pool_size: int = 10
    masking_key_file: Path | None = None
    check_rate: float = 200.0
    check_burst: int = 2000
    check_daily_quota: int = 200000
    lookup_rate: float = 200.0
    lookup_burst: int = 2000
    lookup_daily_quota: int = 500000
    redis_url: str = ""
    policy_channel: str = "auto"  # auto, redis, postgres or none (gateway.fanout)
    audit_push_seconds: float = 5.0
    audit_push_batch: int = 200
    audit_push_max_backoff_seconds: float = 300.0
    audit_hash: str = "sha256"
    audit_checkpoint_url: str = ""  # from_env always sets one; an empty URL is refused by open_audit
    audit_checkpoint_every: int = 100
    audit_checkpoint_seconds: float = 10.0
    audit_signing_key_file: Path | None = None
    audit_retention_days: int = 1096
    workflow_check_days: int = 3
    workflow_reply_days: int = 5
    workflow_expiry_notice_days: int = 7
    workflow_sweep_seconds: float = 60.0
    query_limits: QueryLimits = field(default_factory=QueryLimits)
    cost_rate: float = 5000.0
    cost_burst: int = 50000
    cost_daily_quota: int = 0
    max_batch: int = 10
    introspection: bool = True
    persisted_queries: Path | None = None
    policy_staleness_seconds: float = 300.0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, data_dir: Path | None = None) -> Settings:
        env = os.environ if env is None else env
        directory = (data_dir or Path(env.get("GATEWAY_DATA_DIR", "gateway-data"))).resolve()
        env = {**read_settings_file(directory), **env}  # the mapping wins; the data directory's file fills in
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
            policy_refresh_seconds=float(env.get("GATEWAY_POLICY_REFRESH_SECONDS", "0.25")),
            library_pool_size=max(1, int(env.get("GATEWAY_LIBRARY_POOL_SIZE", "10"))),
            masking_key_file=Path(env["GATEWAY_MASKING_KEY_FILE"]) if env.get("GATEWAY_MASKING_KEY_FILE") else None,
            check_rate=float(env.get("GATEWAY_CHECK_RATE", "200")),
            check_burst=int(env.get("GATEWAY_CHECK_BURST", "2000")),
            check_daily_quota=int(env.get("GATEWAY_CHECK_DAILY_QUOTA", "200000")),
            lookup_rate=float(env.get("GATEWAY_LOOKUP_RATE", "200")),
            lookup_burst=int(env.get("GATEWAY_LOOKUP_BURST", "2000")),
            lookup_daily_quota=int(env.get("GATEWAY_LOOKUP_DAILY_QUOTA", "500000")),
            redis_url=env.get("GATEWAY_REDIS_URL", ""),
            policy_channel=env.get("GATEWAY_POLICY_CHANNEL", "auto").strip().lower() or "auto",
            audit_push_seconds=float(env.get("GATEWAY_AUDIT_PUSH_SECONDS", "5")),
            audit_push_batch=max(1, int(env.get("GATEWAY_AUDIT_PUSH_BATCH", "200"))),
            audit_push_max_backoff_seconds=float(env.get("GATEWAY_AUDIT_PUSH_MAX_BACKOFF_SECONDS", "300")),
            **_audit(env, directory),  # type: ignore[arg-type]
            **_workflow(env),  # type: ignore[arg-type]
            **_hardening(env),  # type: ignore[arg-type]
        )

    @property
    def masking_key_path(self) -> Path:
        return self.masking_key_file or self.data_dir / "keys" / "masking.key"

    @property
    def audit_signing_key_path(self) -> Path:
        return self.audit_signing_key_file or self.data_dir / "keys" / "audit-signing.key"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "demo-credentials.json"
