"""Mask rules changed as data take effect on the next request, are named in the response and
the audit record; keyed pseudonyms link within one consumer only; reversible tokens are
unmasked by the platform only under an explicit grant."""

from __future__ import annotations

import re

import pytest

from gateway import admin
from gateway.settings import Settings
from tests.support import Gateway, codes, errors_at

LICENSING = {"app_id": "scjg-licensing", "purpose": "ADMINISTRATIVE_BASIS"}
EMPLOYMENT = {"app_id": "rs-employment", "purpose": "BUSINESS_COLLABORATION"}
ASSISTANCE = {"app_id": "mz-assistance", "purpose": "SOCIAL_ASSISTANCE_REVIEW"}
PERSON = 'query($id: ID!) { person(idNumber: $id) { %s } }'
ADMIN = "sj-zhoumin"  # the demo's operator at the data management bureau


async def set_rule(settings: Settings, target: str, rule: str, operator: str = ADMIN, **options: str):  # type: ignore[no-untyped-def]
    return await admin.set_mask_rule(settings, target, rule, operator=operator, **options)


async def unset_rule(settings: Settings, target: str, operator: str = ADMIN, **options: str) -> bool:
    return await admin.unset_mask_rule(settings, target, operator=operator, **options)


async def person(gateway: Gateway, fields: str, **caller: str) -> dict:
    body = await gateway.query(PERSON % fields, variables={"id": gateway.sample_id}, **caller)
    assert "errors" not in body, body
    return body


async def test_an_administrators_rule_applies_to_its_purpose_at_once(gateway: Gateway, settings: Settings) -> None:
    raw = (await person(gateway, "mobile", **ASSISTANCE))["data"]["person"]["mobile"]
    override = await set_rule(settings, "Person.mobile", "partial( head=2, tail=2 )",
                                         purpose="ADMINISTRATIVE_BASIS", note="stricter for licensing")
    assert override.rule == "partial(head=2,tail=2)"
    body = await person(gateway, "mobile", **LICENSING)
    assert body["data"]["person"]["mobile"] == raw[:2] + "*" * (len(raw) - 4) + raw[-2:]
    assert body["extensions"]["maskRules"] == {"Person.mobile": {"rule": "partial(head=2,tail=2)",
                                                                 "source": f"rule:{override.id}"}}
    assert body["extensions"]["masked"] == [{"path": ["person", "mobile"], "rule": "partial(head=2,tail=2)"}]
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["masks"] == {"Person.mobile": {"rule": "partial(head=2,tail=2)", "source": f"rule:{override.id}"}}
    assert raw not in str(record)
    # Another purpose keeps the catalog's rule.
    other = await person(gateway, "mobile", app_id="scjg-licensing", purpose="MARKET_SUPERVISION")
    assert re.fullmatch(r"1\d{2}\*{4}\d{4}", other["data"]["person"]["mobile"])
    assert await unset_rule(settings, "Person.mobile", purpose="ADMINISTRATIVE_BASIS")
    back = await person(gateway, "mobile", **LICENSING)
    assert back["extensions"]["maskRules"]["Person.mobile"] == {"rule": "mobile", "source": "catalog"}


async def test_rule_changes_are_audited(gateway: Gateway, settings: Settings) -> None:
    await set_rule(settings, "PERSONAL", "redact")
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["operation"] == "policy.mask_rule.set" and record["operator"] == ADMIN
    assert record["fields"] == {"PERSONAL": "POLICY"}
    # The record names the policy version the change produced: the one the next response carries.
    body = await person(gateway, "name", **LICENSING)
    assert record["policy_version"] == body["extensions"]["policyVersion"]


async def test_a_change_without_a_registered_operator_is_refused_and_not_made(gateway: Gateway,
                                                                              settings: Settings) -> None:
    from policies.mask_rules import MaskRuleError

    for operator in ("", "nobody"):
        with pytest.raises(MaskRuleError, match="operator"):
            await set_rule(settings, "Person.mobile", "redact", operator=operator)
    assert await admin.list_mask_rules(settings) == []


async def test_pseudonyms_link_within_one_consumer_and_not_across(gateway: Gateway, settings: Settings) -> None:
    await set_rule(settings, "Person.idNumber", "pseudonym(hash=sm3)")
    first = (await person(gateway, "idNumber", **LICENSING))["data"]["person"]["idNumber"]
    again = (await person(gateway, "idNumber", **LICENSING))["data"]["person"]["idNumber"]
    other = (await person(gateway, "idNumber", **EMPLOYMENT))["data"]["person"]["idNumber"]
    assert re.fullmatch(r"psn_[a-z2-7]{24}", first)
    assert first == again != other
    assert gateway.sample_id not in first + other


async def test_reversible_tokens_are_unmasked_only_under_an_explicit_grant(gateway: Gateway, settings: Settings) -> None:
    raw = (await person(gateway, "mobile", **ASSISTANCE))["data"]["person"]["mobile"]
    await set_rule(settings, "Person.mobile", "reversible", purpose="WORK_REFERENCE")
    reference = {"app_id": "mz-assistance", "purpose": "WORK_REFERENCE"}
    token = (await person(gateway, "mobile", **reference))["data"]["person"]["mobile"]
    assert token.startswith("enc1.") and raw not in token
    unmask = 'query($t: [String!]!) { unmask(field: "Person.mobile", tokens: $t) }'

    # Under the purpose its grant serves raw, the platform reverses the token.
    body = await gateway.query(unmask, variables={"t": [token]}, **ASSISTANCE)
    assert body["data"]["unmask"] == [raw]
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["operation"] == "unmask" and record["fields"] == {"unmask:Person.mobile": "RAW"}
    assert raw not in str(record) and token not in str(record)

    # Not under the purpose that only sees the token, nor for another application.
    denied = await gateway.query(unmask, variables={"t": [token]}, **reference)
    assert denied["data"] is None and errors_at(denied, "unmask")
    stranger = await gateway.query(unmask, variables={"t": [token]}, **LICENSING)
    assert stranger["data"] is None and errors_at(stranger, "unmask")
    assert raw not in str(denied) + str(stranger)


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1], lambda t: "enc1.a.xyz",
                                    lambda t: "not-a-token"])
async def test_tampered_tokens_are_refused(gateway: Gateway, settings: Settings, mangle) -> None:  # type: ignore[no-untyped-def]
    await set_rule(settings, "Person.mobile", "reversible", purpose="WORK_REFERENCE")
    token = (await person(gateway, "mobile", app_id="mz-assistance", purpose="WORK_REFERENCE"))["data"]["person"]["mobile"]
    body = await gateway.query('query($t: [String!]!) { unmask(field: "Person.mobile", tokens: $t) }',
                               variables={"t": [mangle(token)]}, **ASSISTANCE)
    assert codes(body) == {"BAD_USER_INPUT"} and body["data"] is None


async def test_explain_names_the_rule_and_its_source(settings: Settings) -> None:
    override = await set_rule(settings, "1-01-001-001/000001", "partial(head=2,tail=3)",
                                         purpose="ADMINISTRATIVE_BASIS")
    decision = await admin.explain(settings, "scjg-licensing", "ADMINISTRATIVE_BASIS", "Person.address")
    assert (decision.access.value, decision.rule, decision.rule_source) == (
        "MASKED", "partial(head=2,tail=3)", f"rule:{override.id}")


async def test_a_token_is_bound_to_the_application_it_was_issued_to(gateway: Gateway, settings: Settings) -> None:
    """Another application with its own grant to read the field raw still cannot reverse it."""
    from datetime import date, timedelta

    from gateway.runtime import make_engine
    from policies.grants import Grant, GrantStatus
    from store import repository

    await set_rule(settings, "Person.mobile", "reversible", purpose="WORK_REFERENCE")
    token = (await person(gateway, "mobile", app_id="mz-assistance", purpose="WORK_REFERENCE"))["data"]["person"]["mobile"]
    engine = make_engine(settings.store_url)
    async with engine.begin() as conn:
        today = date.today()
        await repository.insert_grant(conn, Grant(
            id="G-SCJG-TEST", application="scjg-licensing", resource="1-01-001-001/000001", fields=("Person.mobile",),
            purpose="ADMINISTRATIVE_BASIS", modes=("QUERY",), valid_from=today - timedelta(days=2),
            valid_until=today + timedelta(days=30), status=GrantStatus.ACTIVE))
    await engine.dispose()
    unmask = 'query($t: [String!]!) { unmask(field: "Person.mobile", tokens: $t) }'
    body = await gateway.query(unmask, variables={"t": [token]}, **LICENSING)
    assert codes(body) == {"BAD_USER_INPUT"} and body["data"] is None


async def test_unmasking_a_field_the_catalog_serves_raw_says_so(gateway: Gateway) -> None:
    body = await gateway.query('{ unmask(field: "Person.gender", tokens: ["enc1.a.x"]) }', **LICENSING)
    assert codes(body) == {"FORBIDDEN"} and "served raw to you by the catalog" in body["errors"][0]["message"]
