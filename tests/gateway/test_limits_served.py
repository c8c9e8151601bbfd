"""Rate limits and quotas, served: checks and key lookups are counted per application, refused
all-or-nothing with 429 and Retry-After, before any library is read, and audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from stdnum.cn import ric

from gateway.settings import Settings
from tests.support import Gateway, codes

CHECK = 'query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { outcome } } }'


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings.from_env({
        "GATEWAY_POLICY_REFRESH_SECONDS": "0",
        "GATEWAY_CHECK_RATE": "0.001", "GATEWAY_CHECK_BURST": "5", "GATEWAY_CHECK_DAILY_QUOTA": "0",
        "GATEWAY_LOOKUP_RATE": "0", "GATEWAY_LOOKUP_BURST": "0", "GATEWAY_LOOKUP_DAILY_QUOTA": "3",
    }, data_dir=data_dir)


def items(gateway: Gateway, count: int) -> list[dict]:
    bodies = (f"11010119900101{n:03d}" for n in range(count))
    return [{"idNumber": body + ric.calc_check_digit(body + " "), "claims": {"name": "张三"}} for body in bodies]


async def test_a_batch_beyond_the_burst_is_refused_whole_and_consumes_nothing(gateway: Gateway) -> None:
    response = await gateway.client.post("/graphql", json={"query": CHECK, "variables": {"items": items(gateway, 6)}},
                                         headers=gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"))
    assert response.status_code == 429 and codes(response.json()) == {"RATE_LIMITED"}
    assert int(response.headers["Retry-After"]) >= 1
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["code"] == "RATE_LIMITED" and record["rows"] == {}
    allowed = await gateway.query(CHECK, variables={"items": items(gateway, 5)})
    assert "errors" not in allowed
    again = await gateway.query(CHECK, variables={"items": items(gateway, 1)}, expect_status=429)
    assert codes(again) == {"RATE_LIMITED"}
    # Another application has its own budget.
    other = await gateway.query(CHECK, variables={"items": items(gateway, 1)}, app_id="scjg-licensing",
                                purpose="ADMINISTRATIVE_BASIS")
    assert "RATE_LIMITED" not in codes(other)


async def test_key_lookups_have_a_daily_quota(gateway: Gateway) -> None:
    query = 'query($id: ID!) { a: person(idNumber: $id) { name } b: person(idNumber: $id) { gender } }'
    first = await gateway.query(query, variables={"id": gateway.sample_id})
    assert "errors" not in first  # two lookups of three
    refused = await gateway.query(query, variables={"id": gateway.sample_id}, expect_status=429)
    assert codes(refused) == {"QUOTA_EXCEEDED"} and refused.get("data") is None
    single = await gateway.query('query($id: ID!) { person(idNumber: $id) { name } }', variables={"id": gateway.sample_id})
    assert "errors" not in single  # the refused request consumed nothing


async def test_readiness_reports_the_limit_store(gateway: Gateway) -> None:
    body = (await gateway.client.get("/readyz")).json()
    assert body["checks"]["limits"] == "ok"


async def test_a_list_filtered_on_keys_counts_as_lookups(gateway: Gateway) -> None:
    ids = gateway.credentials["samples"]["idNumbers"][:3]
    query = 'query($ids: [String!]!) { populationRecords(where: {idNumber: {in: $ids}}) { edges { node { name } } } }'
    first = await gateway.query(query, variables={"ids": ids})
    assert "errors" not in first and len(first["data"]["populationRecords"]["edges"]) == 3
    [record] = await gateway.runtime.audit.records(limit=1)
    assert len(record["subjects"]) == 3  # audited like lookups, as pseudonyms
    refused = await gateway.query('query($id: ID!) { person(idNumber: $id) { name } }',
                                  variables={"id": gateway.sample_id}, expect_status=429)
    assert codes(refused) == {"QUOTA_EXCEEDED"}
