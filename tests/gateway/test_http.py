"""Health, readiness, metrics, GraphiQL and GET semantics."""

from __future__ import annotations

from tests.support import Gateway, codes, unreachable_url


async def test_healthz_and_readyz(gateway: Gateway) -> None:
    assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert set(checks) == {"store", "audit", "audit:checkpoints", "policy", "limits", "library:population",
                           "library:legal_entity", "library:license", "library:credit", "library:social_security"}
    assert set(checks.values()) == {"ok"}


async def test_readyz_names_an_unavailable_library(gateway: Gateway, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gateway.runtime import make_engine

    source = gateway.runtime.sources["credit"]
    source.engine = make_engine(unreachable_url(gateway.runtime.settings.library_urls["credit"], tmp_path))
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["library:credit"].startswith("unavailable")
    # the other libraries still answer; the credit fields say why they are missing
    body = await gateway.query('{ person(idNumber: "%s") { name dishonestDebtor } }' % gateway.sample_id)
    assert body["data"]["person"]["name"]
    assert body["data"]["person"]["dishonestDebtor"] is None
    assert codes(body) == {"LIBRARY_UNAVAILABLE"}
    assert not any(driver in str(body).lower() for driver in ("sqlite", "postgres", "asyncpg"))


async def test_metrics_are_prometheus_text(gateway: Gateway) -> None:
    await gateway.query("{ catalog { resources { code } } }")
    text = (await gateway.client.get("/metrics")).text
    assert "# TYPE gateway_requests_total counter" in text
    assert 'operation="catalog"' in text


async def test_get_serves_graphiql_and_runs_queries_only(gateway: Gateway) -> None:
    page = await gateway.client.get("/graphql")
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    headers = gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW")
    response = await gateway.client.get("/graphql", params={"query": "{ catalog { resources { code } } }"},
                                        headers=headers)
    assert response.status_code == 200 and response.json()["data"]["catalog"]["resources"]
    response = await gateway.client.get("/graphql", params={"query": "mutation { x }"}, headers=headers)
    assert codes(response.json()) == {"BAD_USER_INPUT"}
    assert "data" not in response.json()


async def test_catalog_agrees_with_what_queries_answer(gateway: Gateway) -> None:
    """The catalog is the truth the planner enforces: for an application without grants,
    each Person field answers exactly as its catalog entry says."""
    app, purpose = "scjg-licensing", "ADMINISTRATIVE_BASIS"
    catalog = await gateway.query("{ catalog { resources { fields { coordinate access reason maskRule } } } }",
                                  app_id=app, purpose=purpose)
    fields = {f["coordinate"].split(".")[1]: f for r in catalog["data"]["catalog"]["resources"] for f in r["fields"]
              if f["coordinate"].startswith("Person.")}
    body = await gateway.query('{ person(idNumber: "%s") { %s } }' % (gateway.sample_id, " ".join(fields)),
                               app_id=app, purpose=purpose)
    person = body["data"]["person"]
    errors = {e["path"][1]: e["extensions"]["code"] for e in body.get("errors", [])}
    masked = {m["path"][1]: m["rule"] for m in body["extensions"]["masked"]}
    for name, f in fields.items():
        if f["access"] == "DENIED":
            assert person[name] is None and errors[name] == f["reason"], name
        elif f["access"] == "MASKED":
            assert name not in errors and (person[name] is None or masked[name] == f["maskRule"]), name
        else:
            assert name not in errors and name not in masked and f["reason"] is None, name
