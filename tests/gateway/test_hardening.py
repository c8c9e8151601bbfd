"""Limits on hostile clients: depth, aliases, root fields, fragment bombs, cost (per request and
per application), string and nesting bounds, batches, introspection and persisted queries.
Each limit is measured once per document, so the validation cache keeps hitting."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.limits import make_limiter
from gateway.persisted import query_hash
from gateway.runtime import make_engine
from gateway.settings import Settings, SettingsError
from tests.support import Gateway, codes, unreachable_url

NAME = '{ person(idNumber: "%s") { name } }'
PAGE = "query($n: Int!) { populationRecords(first: $n) { edges { node { name gender ethnicity } } } }"


async def post(gateway: Gateway, body: Any, app: str = "mz-assistance", purpose: str | None = "SOCIAL_ASSISTANCE_REVIEW",
               **headers: str) -> tuple[int, Any]:
    response = await gateway.client.post("/graphql", content=body if isinstance(body, str) else json.dumps(body),
                                         headers={**gateway.headers(app, purpose), "Content-Type": "application/json",
                                                  **headers})
    return response.status_code, response.json()


def refused(body: dict[str, Any], code: str) -> str:
    assert "data" not in body or body["data"] is None, body
    assert codes(body) == {code}, body
    return str(body["errors"][0]["message"])


# The shape of an operation


async def test_too_deep_is_refused_naming_the_limit(gateway: Gateway) -> None:
    deep = "{ __schema { types { fields { type { " + "ofType { " * 16 + "name" + " }" * 16 + " } } } } }"
    body = await gateway.query(deep, expect_status=400)
    assert "nests fields 21 deep; at most 20" in refused(body, "QUERY_TOO_COMPLEX")


async def test_the_standard_introspection_query_fits_the_limits(gateway: Gateway) -> None:
    from graphql import get_introspection_query

    body = await gateway.query(get_introspection_query(descriptions=True), purpose=None, expect_status=200)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_too_many_aliases_and_root_fields(gateway: Gateway) -> None:
    aliases = "{ person(idNumber: \"%s\") { %s } }" % (gateway.sample_id, " ".join(f"a{i}: name" for i in range(31)))
    assert "uses 31 aliases; at most 30" in refused(await gateway.query(aliases, expect_status=400), "QUERY_TOO_COMPLEX")
    roots = "{ %s }" % " ".join(f'p{i}: person(idNumber: "{gateway.sample_id}") {{ name }}' for i in range(21))
    assert "asks for 21 root fields; at most 20" in refused(await gateway.query(roots, expect_status=400),
                                                            "QUERY_TOO_COMPLEX")


async def test_a_fragment_bomb_stops_at_the_field_limit(gateway: Gateway) -> None:
    """Each fragment spreads the next twice: 2^30 fields from 40 lines of text."""
    levels = 30
    fragments = [f"fragment F{i} on Person {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Person {{ name }}")
    # validation refuses a spread repeated at one level only when it conflicts; these merge, so it is the limit that stops it
    query = 'query { person(idNumber: "%s") { ...F0 } } %s' % (gateway.sample_id, " ".join(fragments))
    body = await gateway.query(query, expect_status=400)
    assert "selects 2001 fields; at most 2000" in refused(body, "QUERY_TOO_COMPLEX")


async def test_cost_counts_pages_through_variables_and_literals(gateway: Gateway) -> None:
    # 100 rows × (edges + node + 3 fields) + 1 = 501 per list; ten lists with aliases = 5010 > 5000
    tenfold = "{ %s }" % " ".join(f"l{i}: populationRecords(first: 100) {{ edges {{ node {{ name gender ethnicity }} }} }}"
                                  for i in range(10))
    message = refused(await gateway.query(tenfold, expect_status=400), "QUERY_TOO_COMPLEX")
    assert "may return 5010 values" in message and "at most 5000" in message
    small = await gateway.query(PAGE, variables={"n": 5}, expect_status=200)
    assert len(small["data"]["populationRecords"]["edges"]) == 5
    huge = refused(await gateway.query(PAGE, variables={"n": 10**6}, expect_status=400), "QUERY_TOO_COMPLEX")
    assert "may return 5000001 values" in huge and "Ask for smaller pages" in huge


async def test_a_check_batch_costs_its_length(gateway: Gateway) -> None:
    check = "query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { outcome } } }"
    item = {"idNumber": gateway.sample_id, "claims": {"name": "张三"}}
    message = refused(await gateway.query(check, variables={"items": [item] * 2500}, expect_status=400),
                      "QUERY_TOO_COMPLEX")
    assert "may return 5001 values" in message  # 2,500 × (result + outcome) + the root field


async def test_the_validation_cache_still_hits(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.documents as documents

    calls: list[object] = []
    real = documents.validate
    monkeypatch.setattr(documents, "validate", lambda *a, **k: calls.append(a) or real(*a, **k))
    for n in (1, 2, 3):
        body = await gateway.query(PAGE, variables={"n": n}, expect_status=200)
        assert len(body["data"]["populationRecords"]["edges"]) == n
    assert len(calls) == 1


# Sizes of the input


async def test_long_strings_and_deeply_nested_variables_are_bad_input(gateway: Gateway) -> None:
    long = await gateway.query('{ person(idNumber: "%s") { name } }' % ("1" * 1001), expect_status=400)
    assert "longer than 1000 characters" in refused(long, "BAD_USER_INPUT")
    by_variable = await gateway.query("query($id: ID!) { person(idNumber: $id) { name } }",
                                      variables={"id": "9" * 5000}, expect_status=400)
    assert "longer than 1000 characters" in refused(by_variable, "BAD_USER_INPUT")
    nested: Any = "x"
    for _ in range(50):
        nested = [nested]
    deep = await gateway.query(NAME % gateway.sample_id, variables={"deep": nested}, expect_status=400)
    assert "nest deeper than 10 levels" in refused(deep, "BAD_USER_INPUT")


async def test_a_number_beyond_64_bits_is_bad_input_not_a_rounded_value(gateway: Gateway) -> None:
    """The JSON reader makes such a number a float; a Decimal filter would then compare a rounded value."""
    status, body = await post(gateway, '{"query": "query($v: Decimal) { __typename }", '
                                       '"variables": {"v": 123456789012345678901}}')
    assert status == 400 and "send it as a string" in refused(body, "BAD_USER_INPUT")


async def test_json_nested_beyond_the_parser_is_bad_input_not_a_crash(gateway: Gateway) -> None:
    status, body = await post(gateway, "[" * 100_000 + "]" * 100_000)
    assert status == 400 and "not valid JSON" in refused(body, "BAD_USER_INPUT")
    assert (await gateway.query(NAME % gateway.sample_id, expect_status=200))["data"]["person"]["name"]


# Batches


async def test_a_batch_answers_each_operation_on_its_own(gateway: Gateway) -> None:
    before = len(await gateway.runtime.audit.records(limit=1000))
    status, answers = await post(gateway, [
        {"query": NAME % gateway.sample_id},
        {"query": '{ person(idNumber: "%s") { religion } }' % gateway.sample_id},
        {"query": "{ nope }"},
        "not an object",
    ])
    assert status == 200 and isinstance(answers, list) and len(answers) == 4
    assert answers[0]["data"]["person"]["name"] and "errors" not in answers[0]
    assert answers[1]["data"]["person"]["religion"] is None and codes(answers[1]) == {"FIELD_NOT_SHARED"}
    assert codes(answers[2]) == {"BAD_USER_INPUT"} and codes(answers[3]) == {"BAD_USER_INPUT"}
    records = await gateway.runtime.audit.records(limit=1000)
    assert len(records) == before + 4  # one audit record per operation
    assert {r["request_id"] for r in records[:4]} == {a["extensions"]["requestId"] for a in answers}


async def test_a_batch_obeys_the_limits_per_operation(gateway: Gateway) -> None:
    status, body = await post(gateway, [{"query": NAME % gateway.sample_id}] * 11)
    assert status == 400 and "1 to 10 operations; this one holds 11" in refused(body, "QUERY_TOO_COMPLEX")
    status, body = await post(gateway, [])
    assert status == 400 and refused(body, "BAD_USER_INPUT")
    costly = "{ %s }" % " ".join(f"l{i}: populationRecords(first: 100) {{ edges {{ node {{ name gender ethnicity }} }} }}"
                                 for i in range(10))
    status, answers = await post(gateway, [{"query": costly}, {"query": NAME % gateway.sample_id}])
    assert status == 200 and codes(answers[0]) == {"QUERY_TOO_COMPLEX"} and answers[1]["data"]["person"]["name"]


async def test_get_cannot_run_a_mutation_even_in_a_batch_of_one(gateway: Gateway) -> None:
    response = await gateway.client.get("/graphql", params={"query": "mutation { __typename }"},
                                        headers=gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"))
    assert response.status_code == 400 and "GET runs queries only" in refused(response.json(), "BAD_USER_INPUT")


# A per-application budget


@pytest.fixture
def budget_settings(data_dir: Path) -> Settings:
    return Settings.from_env({"GATEWAY_POLICY_REFRESH_SECONDS": "0", "GATEWAY_COST_RATE": "0.001",
                              "GATEWAY_COST_BURST": "5000"}, data_dir=data_dir)


async def test_the_cost_budget_is_per_application(gateway: Gateway, budget_settings: Settings) -> None:
    gateway.runtime.limiter = make_limiter(budget_settings)
    for _ in range(9):  # 9 × 501 = 4509 of the 5000
        await gateway.query(PAGE, variables={"n": 100}, expect_status=200)
    response = await gateway.client.post("/graphql", json={"query": PAGE, "variables": {"n": 100}},
                                         headers=gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"))
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "query cost" in refused(response.json(), "RATE_LIMITED")
    other = await gateway.query(PAGE, app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                                variables={"n": 100}, expect_status=200)  # another application's own budget
    assert len(other["data"]["populationRecords"]["edges"]) == 100


def test_a_budget_smaller_than_one_query_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_COST_BURST=100 is below GATEWAY_MAX_QUERY_COST=5000"):
        Settings.from_env({"GATEWAY_COST_BURST": "100"}, data_dir=tmp_path)


# Introspection, switchable


async def test_introspection_can_be_switched_off(gateway: Gateway) -> None:
    gateway.runtime.settings = dataclasses.replace(gateway.runtime.settings, introspection=False)
    body = await gateway.query("{ __schema { queryType { name } } }", purpose=None, expect_status=403)
    assert "switched off" in refused(body, "INTROSPECTION_DISABLED")
    body = await gateway.query('{ __type(name: "Person") { name } }', purpose=None, expect_status=403)
    refused(body, "INTROSPECTION_DISABLED")
    typename = await gateway.query('{ person(idNumber: "%s") { __typename name } }' % gateway.sample_id)
    assert typename["data"]["person"]["__typename"] == "Person"


def test_without_introspection_errors_suggest_no_field_names() -> None:
    from gateway.documents import DocumentCache
    from gateway.errors import RequestRefused
    from schema.builder import build_schema
    from schema.loader import load_catalog

    schema = build_schema(load_catalog())._schema
    for suggestions, expected in ((True, True), (False, False)):
        with pytest.raises(RequestRefused) as refusal:
            DocumentCache(schema, suggestions=suggestions).get('{ person(idNumber: "1") { nam } }')
        assert ("Did you mean" in refusal.value.message) is expected
        assert "Cannot query field 'nam'" in refusal.value.message


# Persisted queries (an allow-list)


@pytest.fixture
def allow_list(gateway: Gateway, tmp_path: Path) -> str:
    """Register one query with the CLI and switch the gateway to registered queries only."""
    text = NAME % gateway.sample_id
    (tmp_path / "name.graphql").write_text(text, encoding="utf-8")
    manifest = tmp_path / "manifest.json"
    subprocess.run([sys.executable, "-m", "gateway", "queries", "manifest", str(tmp_path / "name.graphql"),
                    "--out", str(manifest)], check=True, capture_output=True)
    from gateway.persisted import PersistedQueries

    gateway.runtime.persisted = PersistedQueries.load(manifest)
    return text


async def test_persisted_mode_runs_registered_queries_only(gateway: Gateway, allow_list: str) -> None:
    digest = query_hash(allow_list)
    for body in ({"query": allow_list}, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
                 {"documentId": digest}):
        status, answer = await post(gateway, body)
        assert status == 200 and answer["data"]["person"]["name"], answer
    response = await gateway.client.get("/graphql", params={"extensions": json.dumps(
        {"persistedQuery": {"version": 1, "sha256Hash": digest}})},
        headers=gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"))
    assert response.status_code == 200 and response.json()["data"]["person"]["name"]
    for body in ({"query": '{ person(idNumber: "%s") { mobile } }' % gateway.sample_id},
                 {"documentId": "0" * 64},
                 {"query": "{ __schema { types { name } } }"},
                 {"query": allow_list + " ", "documentId": digest}):  # a hash and another text
        status, answer = await post(gateway, body)
        assert status == 400 and "not registered" in refused(answer, "PERSISTED_QUERY_NOT_FOUND")
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["outcome"] == "REFUSED" and record["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_manifest_whose_keys_are_not_the_hashes_is_refused(tmp_path: Path) -> None:
    from gateway.persisted import PersistedQueries

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"0" * 64: "{ __typename }"}), encoding="utf-8")
    with pytest.raises(SettingsError, match="not the SHA-256 of their query text"):
        PersistedQueries.load(path)


# The policy store down: the last good policy until the staleness limit, then closed


async def test_policy_store_down_serves_the_last_good_policy_then_fails_closed(gateway: Gateway, tmp_path: Path) -> None:
    runtime = gateway.runtime
    working = runtime.store_engine
    runtime.store_engine = make_engine(unreachable_url(runtime.settings.store_url, tmp_path))
    try:
        body = await gateway.query('{ person(idNumber: "%s") { name mobile } }' % gateway.sample_id, expect_status=200)
        assert body["data"]["person"]["mobile"]  # the grant of the last good policy still serves
        ready = (await gateway.client.get("/readyz")).json()
        assert ready["checks"]["policy"].startswith("stale (") and "limit 300 s" in ready["checks"]["policy"]
        runtime.policy_confirmed_at -= 301  # five minutes without the store
        response = await gateway.client.post("/graphql", json={"query": NAME % gateway.sample_id},
                                             headers=gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"))
        assert response.status_code == 503
        assert "has not confirmed the policy" in refused(response.json(), "POLICY_UNAVAILABLE")
        ready = (await gateway.client.get("/readyz")).json()
        assert ready["status"] == "not ready" and ready["checks"]["policy"].startswith("unavailable (")
    finally:
        await runtime.store_engine.dispose()
        runtime.store_engine = working
    await runtime.refresh_policy(force=True)
    assert (await gateway.query(NAME % gateway.sample_id, expect_status=200))["data"]["person"]["name"]
    [record, *_] = await runtime.audit.records(limit=5)
    assert record["outcome"] == "SERVED"
    assert any(r["code"] == "POLICY_UNAVAILABLE" for r in await runtime.audit.records(limit=5))


# Error hygiene: a failure inside the gateway says only that it failed, and where to look

LEAKY = "SELECT mobile FROM person_basic WHERE id_number = '%s' at /srv/gateway/resolvers/x.py line 3"


async def test_a_failure_in_a_field_answers_only_the_request_id(gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError(LEAKY % gateway.sample_id)

    monkeypatch.setattr(gateway.runtime.sources["credit"], "fetch", broken)
    body = await gateway.query('{ person(idNumber: "%s") { name dishonestDebtor } }' % gateway.sample_id,
                               expect_status=200)
    assert body["data"] == {"person": None}  # an unexpected failure withholds the whole entity
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL_ERROR" and error["path"] == ["person"]
    assert error["message"] == f"Internal error; quote request id {body['extensions']['requestId']} to the operator."
    assert_no_internals(body, gateway.sample_id)
    assert body["extensions"]["requestId"] in caplog.text and "ValueError" in caplog.text  # the operator's log has it


async def test_a_failure_of_the_request_answers_500_with_only_the_request_id(gateway: Gateway,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(LEAKY % gateway.sample_id)

    monkeypatch.setattr(gateway.runtime.planner, "pinned", broken)
    response = await gateway.client.post("/graphql", json={"query": NAME % gateway.sample_id},
                                         headers=gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"))
    assert response.status_code == 500
    body = response.json()
    assert codes(body) == {"INTERNAL_ERROR"} and "data" not in body
    assert_no_internals(body, gateway.sample_id)
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["outcome"] == "FAILED" and record["code"] == "INTERNAL_ERROR"


def assert_no_internals(body: dict[str, Any], value: str) -> None:
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("Traceback", "SELECT", "person_basic", ".py", "/srv/", "ValueError", "RuntimeError", value):
        assert secret not in text, secret


async def test_a_nul_character_is_refused_in_every_operation(gateway: Gateway) -> None:
    """No identifier or text holds NUL, and PostgreSQL cannot store one: refused before any store."""
    literal = await gateway.query('{ person(idNumber: "%s\\u0000") { name } }' % gateway.sample_id, expect_status=400)
    assert "NUL" in refused(literal, "BAD_USER_INPUT")
    audit = await gateway.query("query($p: String) { auditRecords(filter: {purpose: $p}) { edges { cursor } } }",
                                app_id="sj-auditor", purpose=None, variables={"p": "A\x00B"}, expect_status=400)
    assert "NUL" in refused(audit, "BAD_USER_INPUT")


@pytest.mark.parametrize(("console", "purpose"), [
    ("sj-auditor", "ADMINISTRATIVE_BASIS"), ("sj-platform-admin", "ADMINISTRATIVE_BASIS"),
    ("sj-policy-admin", "ADMINISTRATIVE_BASIS"), ("ga-data-officer", "ADMINISTRATIVE_BASIS"),
    ("rs-data-officer", "BUSINESS_COLLABORATION"),  # the purpose its department's business system holds a grant for
])
async def test_administrative_consoles_never_read_data(gateway: Gateway, console: str, purpose: str) -> None:
    body = await gateway.query(NAME % gateway.sample_id, app_id=console, purpose=purpose, expect_status=403)
    assert "do not read data" in refused(body, "FORBIDDEN")
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["application"] == console and record["code"] == "FORBIDDEN" and record["rows"] == {}


async def test_a_cached_refusal_holds_no_request_frames(gateway: Gateway) -> None:
    """A refused document is cached; raising it again must not chain each request's traceback
    onto the cached exception (that kept every refused request's frames alive)."""
    for _ in range(3):
        await gateway.query("{ noSuchField }", expect_status=400)
    cached = gateway.runtime.documents._cache["{ noSuchField }"]
    assert cached.__traceback__ is None
