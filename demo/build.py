"""Build the embedded demo in a data directory: platform store (migrated), catalog,
departments, purposes, applications, operators, grants, five libraries of synthetic data,
and the demo credentials file. Deterministic for a seed (grant dates are relative to today).

The credentials file is written last: its presence means the demo is built.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tomllib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.checkpoints import SigningKey
from gateway.runtime import make_engine
from gateway.settings import Settings
from libraries.synthetic import populate
from libraries.tables import ROW_ID
from masking import KeyRing
from policies.grants import Grant, GrantStatus
from policies.rules import MODEL_PATH
from policies.versions import Draft
from schema.loader import DEMO_CATALOG_DIR, parse_documents
from store import repository
from store import tables as t
from store.migrate import upgrade_async
from store.policy import activate, create_version

PRINCIPALS = Path(__file__).with_name("principals.toml")
POLICY_TESTS = Path(__file__).with_name("policy_tests.toml")
Progress = Callable[[str, int, int], None]
# The demo's libraries index the sort orders of the lists the demo documents (README, scripts/soak.py),
# as a provider indexes the lists its consumers page through: without one, every page of
# `populationRecords(orderBy: birthPlaceCode DESC)` sorts the whole filtered table: 0.37 s a page at
# 1,000,000 persons against 16 ms at 10,000 (bench/data_scale.py). Library → (table, column), descending.
LIST_ORDER_INDEXES = {"population": [("person_basic", "birth_place_code")]}


def demo_token(seed: int, application_id: str) -> str:
    secret = hmac.new(f"demo-seed-{seed}".encode(), application_id.encode(), hashlib.sha256).hexdigest()
    return f"gw_{secret[:40]}"


def is_built(settings: Settings) -> bool:
    return settings.credentials_path.exists()


async def build_demo(settings: Settings, *, seed: int = 7, persons: int = 2000,
                     progress: Progress | None = None, today: date | None = None) -> Path:
    today = today or date.today()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for stale in settings.data_dir.glob("*.sqlite*"):  # a build that stopped half-way starts again
        stale.unlink()
    documents = [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(DEMO_CATALOG_DIR.glob("*.toml"))]
    catalog = parse_documents((str(i), d) for i, d in enumerate(documents))
    principals = tomllib.loads(PRINCIPALS.read_text(encoding="utf-8"))
    await upgrade_async(settings.store_url)
    store = make_engine(settings.store_url)
    try:
        grants = await _write_store(store, documents, principals, seed, today)
    finally:
        await store.dispose()
    engines = {code: make_engine(url) for code, url in settings.library_urls.items()}
    try:
        samples = await populate(catalog, engines, persons=persons, seed=seed, progress=progress)
        await _index_list_orders(engines)
    finally:
        for engine in engines.values():
            await engine.dispose()
    credentials = _credentials(settings, principals, grants, seed, today, samples.id_numbers, samples.credit_codes)
    KeyRing.from_file(settings.masking_key_path, create=True)  # the platform's masking key, once
    SigningKey.from_file(settings.audit_signing_key_path, create=True)  # signs audit checkpoints; .pub for auditors
    settings.credentials_path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2), encoding="utf-8")
    return settings.credentials_path


async def _write_store(engine: AsyncEngine, documents: list[dict[str, Any]], principals: dict[str, Any],
                       seed: int, today: date) -> list[Grant]:
    grants = [_grant(g, today) for g in principals["grants"]]
    async with engine.begin() as conn:
        await conn.execute(t.departments.insert(), principals["departments"])
        await conn.execute(t.purposes.insert(), [{"parent": None, **p} for p in principals["purposes"]])
        await repository.save_catalog(conn, documents)
        operators = [{"active": True, **op} for op in principals["operators"]]
        await conn.execute(t.operators.insert(), operators)
        applications = [
            {"id": a["id"], "name": a["name"], "department": a["department"], "role": a.get("role", "CONSUMER"),
             "active": True, "token_sha256": repository.token_digest(demo_token(seed, a["id"]))}
            for a in principals["applications"] + principals["admins"]
        ]
        await conn.execute(t.applications.insert(), applications)
        for declared, grant in zip(principals["grants"], grants, strict=True):
            await repository.insert_grant(conn, grant, declared.get("scenario", ""))
        # The policy in force is a stored version from the start (policies are data): the shipped
        # model, no administrator's line yet, and the demo's policy tests.
        first = Draft(MODEL_PATH.read_text(encoding="utf-8"), "", POLICY_TESTS.read_text(encoding="utf-8"))
        version = await create_version(conn, first, "the shipped model", "demo", f"{today.isoformat()}T00:00:00+08:00")
        await activate(conn, version, f"{today.isoformat()}T00:00:00+08:00")
    return grants


async def _index_list_orders(engines: dict[str, AsyncEngine]) -> None:
    """An index in the order a descending list pages in: the column descending with nulls last,
    then the row id (`resolvers.listing.order_columns`), so that a page reads its rows in order."""
    for library, orders in LIST_ORDER_INDEXES.items():
        async with engines[library].begin() as conn:
            # SQLite sorts nulls lowest (last when descending) and refuses NULLS in an index.
            nulls = " NULLS LAST" if conn.dialect.name == "postgresql" else ""
            for table, column in orders:
                await conn.execute(text(f"CREATE INDEX ix_{table}_{column}_desc ON {table} ({column} DESC{nulls}, {ROW_ID})"))


def _grant(declared: dict[str, Any], today: date) -> Grant:
    return Grant(
        id=declared["id"], application=declared["application"], resource=declared["resource"],
        fields=tuple(declared["fields"]), purpose=declared["purpose"], modes=tuple(declared["modes"]),
        valid_from=today + timedelta(days=declared["from_days"]),
        valid_until=today + timedelta(days=declared["until_days"]),
        status=GrantStatus(declared["status"]), mask_fields=tuple(declared.get("mask_fields", ())),
        mask_rules=dict(declared.get("mask_rules", {})),
    )


def _credentials(settings: Settings, principals: dict[str, Any], grants: list[Grant], seed: int, today: date,
                 id_numbers: list[str], credit_codes: list[str]) -> dict[str, Any]:
    departments = {d["code"]: d["name"] for d in principals["departments"]}
    return {
        "graphql": f"http://{settings.host}:{settings.port}/graphql",
        "seed": seed,
        "builtOn": today.isoformat(),
        "purposes": [{"code": p["code"], "name": p["name"]} for p in principals["purposes"]],
        "applications": [
            {
                "id": a["id"], "name": a["name"],
                "department": {"code": a["department"], "name": departments[a["department"]]},
                "token": demo_token(seed, a["id"]), "operators": a["operators"],
                "grants": [_grant_json(g, today) for g in grants if g.application == a["id"]],
            }
            for a in principals["applications"]
        ],
        "admins": [{"role": a["role"], "token": demo_token(seed, a["id"]), "operator": a["operator"],
                    "application": a["id"]} for a in principals["admins"]],
        "samples": {"idNumbers": id_numbers, "creditCodes": credit_codes},
    }


def _grant_json(grant: Grant, today: date) -> dict[str, Any]:
    return {
        "id": grant.id, "resource": grant.resource, "fields": list(grant.fields), "purpose": grant.purpose,
        "modes": list(grant.modes), "validFrom": grant.valid_from.isoformat(),
        "validUntil": grant.valid_until.isoformat(), "status": grant.status_on(today).value,
        "maskedFields": list(grant.mask_fields),
    }
