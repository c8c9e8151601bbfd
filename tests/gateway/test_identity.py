"""Token, then operator, then purpose: the first that fails gives the code (BRIEF §4)."""

from __future__ import annotations

from tests.support import Gateway, codes

PROBE = '{ person(idNumber: "%s") { name } }'


async def test_no_token_is_unauthenticated(gateway: Gateway) -> None:
    body = await gateway.query(PROBE % gateway.sample_id, app_id=None, expect_status=401)
    assert codes(body) == {"UNAUTHENTICATED"}
    assert "data" not in body


async def test_unknown_token_is_unauthenticated(gateway: Gateway) -> None:
    response = await gateway.client.post("/graphql", json={"query": PROBE % gateway.sample_id},
                                         headers={"Authorization": "Bearer gw_nope", "X-Operator": "mz-wangli",
                                                  "X-Purpose": "SOCIAL_ASSISTANCE_REVIEW"})
    assert response.status_code == 401
    assert codes(response.json()) == {"UNAUTHENTICATED"}


async def test_missing_operator_comes_before_missing_purpose(gateway: Gateway) -> None:
    body = await gateway.query(PROBE % gateway.sample_id, operator=None, purpose=None)
    assert codes(body) == {"OPERATOR_REQUIRED"}


async def test_operator_of_another_department_is_unauthenticated(gateway: Gateway) -> None:
    body = await gateway.query(PROBE % gateway.sample_id, operator="rs-liuyang")
    assert codes(body) == {"UNAUTHENTICATED"}


async def test_unknown_operator_is_unauthenticated(gateway: Gateway) -> None:
    body = await gateway.query(PROBE % gateway.sample_id, operator="nobody")
    assert codes(body) == {"UNAUTHENTICATED"}


async def test_missing_purpose(gateway: Gateway) -> None:
    body = await gateway.query(PROBE % gateway.sample_id, purpose=None)
    assert codes(body) == {"PURPOSE_REQUIRED"}


async def test_unknown_purpose_is_bad_user_input(gateway: Gateway) -> None:
    body = await gateway.query(PROBE % gateway.sample_id, purpose="NO_SUCH_PURPOSE")
    assert codes(body) == {"BAD_USER_INPUT"}
    assert body.get("data") is None


async def test_introspection_needs_a_token_only(gateway: Gateway) -> None:
    body = await gateway.query("{ __schema { queryType { fields { name } } } }", operator=None, purpose=None)
    names = {f["name"] for f in body["data"]["__schema"]["queryType"]["fields"]}
    assert {"person", "enterprise", "catalog", "checkPerson", "checkEnterprise", "checkPersons"} <= names
    refused = await gateway.query("{ __schema { queryType { name } } }", app_id=None)
    assert codes(refused) == {"UNAUTHENTICATED"}


async def test_catalog_needs_an_operator_but_no_purpose(gateway: Gateway) -> None:
    body = await gateway.query("{ catalog { resources { code fields { coordinate access } } } }", purpose=None)
    assert "errors" not in body
    fields = [f for r in body["data"]["catalog"]["resources"] for f in r["fields"]]
    assert fields and all(f["access"] is None for f in fields)
    refused = await gateway.query("{ catalog { resources { code } } }", operator=None, purpose=None)
    assert codes(refused) == {"OPERATOR_REQUIRED"}


async def test_malformed_body_and_query(gateway: Gateway) -> None:
    headers = gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW")
    response = await gateway.client.post("/graphql", content=b"{not json", headers=headers)
    assert response.status_code == 400 and codes(response.json()) == {"BAD_USER_INPUT"}
    body = await gateway.query("{ person(idNumber: ", expect_status=400)
    assert codes(body) == {"BAD_USER_INPUT"}
    body = await gateway.query("{ nosuchfield }", expect_status=400)
    assert codes(body) == {"BAD_USER_INPUT"}


async def test_oversize_body_is_refused(gateway: Gateway) -> None:
    big = "{ catalog { resources { code } } }" + " " * 300_000
    body = await gateway.query(big, expect_status=400)
    assert codes(body) == {"BAD_USER_INPUT"}


async def test_invalid_id_number_check_digit(gateway: Gateway) -> None:
    wrong = gateway.sample_id[:-1] + ("0" if gateway.sample_id[-1] != "0" else "1")
    body = await gateway.query(PROBE % wrong)
    assert codes(body) == {"BAD_USER_INPUT"}
    assert body["data"] == {"person": None}
    assert body["errors"][0]["path"] == ["person"]


async def test_invalid_credit_code_check_digit(gateway: Gateway) -> None:
    code = gateway.sample_code
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    body = await gateway.query('{ enterprise(creditCode: "%s") { name } }' % wrong)
    assert codes(body) == {"BAD_USER_INPUT"} and body["data"] == {"enterprise": None}


async def test_inactive_operator_is_unauthenticated(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from store import tables

    async with gateway.runtime.store_engine.begin() as conn:
        await conn.execute(update(tables.operators).where(tables.operators.c.id == "mz-wangli").values(active=False))
        await conn.execute(update(tables.policy_state).values(revision=tables.policy_state.c.revision + 1))
    body = await gateway.query(PROBE % gateway.sample_id)
    assert codes(body) == {"UNAUTHENTICATED"}
    other = await gateway.query(PROBE % gateway.sample_id, operator="mz-zhaoqiang")
    assert "errors" not in other
