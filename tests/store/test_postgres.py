"""The same product on PostgreSQL: platform store (Alembic), audit store and five libraries,
each in its own database, through the same code as the embedded SQLite default.

Runs where a server is reachable (GATEWAY_TEST_POSTGRES_URL, default 127.0.0.1:5432) and
skips with the reason otherwise; CI sets GATEWAY_TEST_REQUIRE_POSTGRES=1 to forbid the skip.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from demo.build import build_demo
from gateway.app import create_app
from gateway.settings import LIBRARY_CODES, Settings
from tests.postgres import temporary_databases
from tests.support import Gateway

pytestmark = pytest.mark.postgres
STORES = ("platform", "audit", *LIBRARY_CODES)


@pytest.fixture(scope="module")
def postgres_databases() -> Iterator[dict[str, str]]:
    with temporary_databases("test", STORES) as urls:
        yield urls


@pytest.fixture(scope="module")
def pg_settings(postgres_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    env = {
        "GATEWAY_STORE_URL": postgres_databases["platform"],
        "GATEWAY_AUDIT_URL": postgres_databases["audit"],
        "GATEWAY_POLICY_REFRESH_SECONDS": "0",
        **{f"GATEWAY_LIBRARY_{code.upper()}_URL": postgres_databases[code] for code in LIBRARY_CODES},
    }
    settings = Settings.from_env(env, data_dir=tmp_path_factory.mktemp("pg-demo"))
    asyncio.run(build_demo(settings, persons=200, seed=11))
    return settings


@pytest.fixture
async def pg_gateway(pg_settings: Settings) -> AsyncIterator[Gateway]:
    credentials: dict[str, Any] = json.loads(Path(pg_settings.credentials_path).read_text(encoding="utf-8"))
    app = create_app(pg_settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, credentials, manager._state)


async def test_postgres_serves_grants_masks_and_denials(pg_gateway: Gateway) -> None:
    query = 'query($id: ID!) { person(idNumber: $id) { name maritalStatus mobile religion insuranceStatus } }'
    granted = await pg_gateway.query(query, variables={"id": pg_gateway.sample_id})
    person = granted["data"]["person"]
    assert person["name"] and person["maritalStatus"] and "*" not in person["mobile"]
    assert [e["extensions"]["code"] for e in granted["errors"]] == ["FIELD_NOT_SHARED"]
    bare = await pg_gateway.query(query, app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                                  variables={"id": pg_gateway.sample_id})
    assert "*" in bare["data"]["person"]["mobile"]
    assert {e["extensions"]["code"] for e in bare["errors"]} == {"GRANT_REQUIRED", "FIELD_NOT_SHARED"}


async def test_postgres_audit_chain_verifies(pg_gateway: Gateway) -> None:
    await pg_gateway.query('{ enterprise(creditCode: "%s") { name creditRating } }' % pg_gateway.sample_code)
    report = await pg_gateway.runtime.audit.verify()
    assert report.first_bad is None and report.records >= 1


async def test_postgres_filters_sorts_pages_groups_and_mask_rules(pg_gateway: Gateway, pg_settings: Settings) -> None:
    from gateway import admin
    from tests.gateway.test_oracles import all_rows

    caller = {"app_id": "mz-assistance", "purpose": "SOCIAL_ASSISTANCE_REVIEW"}
    order = 'orderBy: [{field: birthPlaceCode, direction: DESC}, {field: gender}], where: {gender: {in: ["男", "女"]}}'
    rows = await all_rows(pg_gateway, order, "idNumber birthPlaceCode gender", page=9, **caller)
    everyone = await all_rows(pg_gateway, "", "idNumber", page=100, **caller)
    assert sorted(r["idNumber"] for r in rows) == sorted(r["idNumber"] for r in everyone)
    codes_seen = [r["birthPlaceCode"] for r in rows]
    assert codes_seen == sorted(codes_seen, reverse=True)
    prefix = rows[0]["idNumber"][:6]
    starting = await all_rows(pg_gateway, 'where: {idNumber: {startsWith: "%s"}}' % prefix, "idNumber", **caller)
    assert starting and all(r["idNumber"].startswith(prefix) for r in starting)
    groups = await pg_gateway.query('{ populationRecordsGroups(groupBy: [gender]) { values count } }', **caller)
    assert sum(g["count"] for g in groups["data"]["populationRecordsGroups"]) == len(everyone)
    refused = await pg_gateway.query('{ populationRecords(orderBy: [{field: mobile}]) { edges { cursor } } }',
                                     app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS")
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FILTER_NOT_ALLOWED"]

    override = await admin.set_mask_rule(pg_settings, "Person.mobile", "partial(head=2,tail=2)",
                                         purpose="ADMINISTRATIVE_BASIS", operator="sj-zhoumin")
    again = await admin.set_mask_rule(pg_settings, "Person.mobile", "partial(head=1,tail=3)",
                                      purpose="ADMINISTRATIVE_BASIS", operator="sj-zhoumin")
    assert again.id == override.id  # one rule per target and purpose: replaced, not duplicated
    body = await pg_gateway.query('query($id: ID!) { person(idNumber: $id) { mobile } }', app_id="scjg-licensing",
                                  purpose="ADMINISTRATIVE_BASIS", variables={"id": pg_gateway.sample_id})
    assert body["extensions"]["maskRules"]["Person.mobile"] == {"rule": "partial(tail=3)",
                                                                "source": f"rule:{override.id}"}
    assert await admin.unset_mask_rule(pg_settings, "Person.mobile", purpose="ADMINISTRATIVE_BASIS",
                                       operator="sj-zhoumin")


async def test_postgres_runs_the_workflow_end_to_end(pg_gateway: Gateway, pg_settings: Settings) -> None:
    """Apply → check → approve → served → revoke → denied, with the platform store on PostgreSQL."""
    from tests.workflow import test_end_to_end
    from tests.workflow.conftest import cover_the_coming_weeks

    await cover_the_coming_weeks(pg_settings)
    await test_end_to_end.test_apply_check_approve_query_revoke(pg_gateway)


async def test_postgres_two_approvers_at_once_one_wins(pg_gateway: Gateway, pg_settings: Settings) -> None:
    """Row locks instead of SQLite's single writer: still one winner and one CONFLICT."""
    from tests.workflow import test_transitions
    from tests.workflow.conftest import cover_the_coming_weeks

    await cover_the_coming_weeks(pg_settings)
    await test_transitions.test_two_approvers_at_once_one_wins_the_other_gets_a_conflict(pg_gateway)
    await test_transitions.test_a_failed_mutation_applies_nothing_of_its_request(pg_gateway)
    await test_transitions.test_notifications_are_visible_to_both_departments_only(pg_gateway)
