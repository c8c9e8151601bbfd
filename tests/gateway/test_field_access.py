"""Field-level authorization end to end: share classes, grants, purposes, periods, masking."""

from __future__ import annotations

import re

from tests.support import Gateway, codes, errors_at

PURPOSE = "SOCIAL_ASSISTANCE_REVIEW"


def person_query(fields: str) -> str:
    return 'query($id: ID!) { person(idNumber: $id) { %s } }' % fields


async def test_unconditional_fields_are_raw_for_every_application(gateway: Gateway) -> None:
    for app_id, purpose in [("mz-assistance", PURPOSE), ("scjg-licensing", "ADMINISTRATIVE_BASIS")]:
        body = await gateway.query(person_query("name gender ethnicity"), app_id=app_id, purpose=purpose,
                                   variables={"id": gateway.sample_id})
        person = body["data"]["person"]
        assert "errors" not in body and body["extensions"]["masked"] == []
        assert len(person["name"]) >= 2 and "*" not in person["name"]
        assert person["gender"] in {"男", "女"}
        assert person["ethnicity"].endswith("族")


async def test_masked_id_number_cannot_be_rebuilt_from_the_birth_date(gateway: Gateway) -> None:
    """The idNumber mask hides exactly the birth date, so without a grant the birth date is
    served as its year only; with the grant both are raw."""
    bare = await gateway.query(person_query("idNumber birthDate"), app_id="scjg-licensing",
                               purpose="ADMINISTRATIVE_BASIS", variables={"id": gateway.sample_id})
    person = bare["data"]["person"]
    assert person["birthDate"] == gateway.sample_id[6:10]
    assert gateway.sample_id[10:14] not in person["idNumber"] + person["birthDate"]
    granted = await gateway.query(person_query("idNumber birthDate"), variables={"id": gateway.sample_id})
    person = granted["data"]["person"]
    assert person["idNumber"] == gateway.sample_id
    assert person["birthDate"] == f"{gateway.sample_id[6:10]}-{gateway.sample_id[10:12]}-{gateway.sample_id[12:14]}"


async def test_conditional_preview_is_masked_without_a_grant(gateway: Gateway) -> None:
    body = await gateway.query(person_query("mobile idNumber"), app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                               variables={"id": gateway.sample_id})
    person = body["data"]["person"]
    assert re.fullmatch(r"1\d{2}\*{4}\d{4}", person["mobile"])
    assert person["idNumber"] == gateway.sample_id[:6] + "*" * 8 + gateway.sample_id[-4:]
    masked = {tuple(m["path"]): m["rule"] for m in body["extensions"]["masked"]}
    assert masked == {("person", "mobile"): "mobile", ("person", "idNumber"): "idNumber"}


async def test_conditional_field_without_grant_is_denied(gateway: Gateway) -> None:
    body = await gateway.query(person_query("name maritalStatus"), app_id="scjg-licensing",
                               purpose="ADMINISTRATIVE_BASIS", variables={"id": gateway.sample_id})
    assert body["data"]["person"]["maritalStatus"] is None
    assert body["data"]["person"]["name"]
    assert errors_at(body, "person", "maritalStatus") == ["GRANT_REQUIRED"]


async def test_grant_serves_its_purpose_raw(gateway: Gateway) -> None:
    body = await gateway.query(person_query("maritalStatus mobile idNumber"), variables={"id": gateway.sample_id})
    assert "errors" not in body
    person = body["data"]["person"]
    assert person["maritalStatus"] in {"未婚", "已婚", "离婚", "丧偶"}
    assert re.fullmatch(r"1\d{10}", person["mobile"])
    assert person["idNumber"] == gateway.sample_id
    assert body["extensions"]["masked"] == []


async def test_grant_for_one_purpose_does_not_serve_another(gateway: Gateway) -> None:
    body = await gateway.query(person_query("maritalStatus mobile"), purpose="WORK_REFERENCE",
                               variables={"id": gateway.sample_id})
    assert errors_at(body, "person", "maritalStatus") == ["PURPOSE_NOT_GRANTED"]
    assert "*" in body["data"]["person"]["mobile"]  # back to the masked preview


async def test_expired_grant_is_denied(gateway: Gateway) -> None:
    body = await gateway.query(person_query("maritalStatus"), app_id="rs-employment",
                               purpose="BUSINESS_COLLABORATION", variables={"id": gateway.sample_id})
    assert body["data"]["person"]["maritalStatus"] is None
    assert errors_at(body, "person", "maritalStatus") == ["GRANT_EXPIRED"]


async def test_suspended_grant_is_denied(gateway: Gateway) -> None:
    query = 'query($c: ID!) { enterprise(creditCode: $c) { name taxPaid annualRevenue } }'
    body = await gateway.query(query, app_id="fg-credit", purpose="MARKET_SUPERVISION",
                               variables={"c": gateway.sample_code})
    enterprise = body["data"]["enterprise"]
    assert enterprise["name"] and enterprise["taxPaid"] is None
    assert errors_at(body, "enterprise", "taxPaid") == ["GRANT_SUSPENDED"]
    assert re.fullmatch(r"\[\d+, \d+\)|0|>= \d+", enterprise["annualRevenue"])


async def test_not_shared_field_never_comes_back(gateway: Gateway) -> None:
    query = '''query($id: ID!) {
      person(idNumber: $id) { religion alias: religion ...F ... on Person { r2: religion } }
      again: person(idNumber: $id) { bankAccount }
    }
    fragment F on Person { r3: religion }'''
    for app_id, purpose in [("mz-assistance", PURPOSE), ("scjg-licensing", "ADMINISTRATIVE_BASIS"),
                            ("rs-employment", "BUSINESS_COLLABORATION")]:
        body = await gateway.query(query, app_id=app_id, purpose=purpose, variables={"id": gateway.sample_id})
        person = body["data"]["person"]
        assert person == {"religion": None, "alias": None, "r2": None, "r3": None}
        assert body["data"]["again"] == {"bankAccount": None}
        assert codes(body) == {"FIELD_NOT_SHARED"}
        assert len(body["errors"]) == 5


async def test_desensitized_derivative_of_a_not_shared_field_is_always_masked(gateway: Gateway) -> None:
    body = await gateway.query(person_query("bankAccountMasked"), variables={"id": gateway.sample_id})
    value = body["data"]["person"]["bankAccountMasked"]
    assert re.fullmatch(r"\d{6}\*+\d{4}", value)
    assert body["extensions"]["masked"] == [{"path": ["person", "bankAccountMasked"], "rule": "bankCard"}]


async def test_grant_may_require_masking(gateway: Gateway) -> None:
    body = await gateway.query(person_query("contributionBase insuranceStatus"), variables={"id": gateway.sample_id})
    person = body["data"]["person"]
    assert person["insuranceStatus"] in {"参保缴费", "暂停缴费", "终止参保"}
    assert re.fullmatch(r"\[\d+, \d+\)", person["contributionBase"])


async def test_unknown_subject_is_null(gateway: Gateway) -> None:
    body = await gateway.query(person_query("name"), variables={"id": "11010519491231002X"})
    assert body["data"]["person"] is None and "errors" not in body


async def test_extensions_carry_request_id_policy_version_and_masked(gateway: Gateway) -> None:
    body = await gateway.query(person_query("name mobile"), app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                               variables={"id": gateway.sample_id})
    ext = body["extensions"]
    assert re.fullmatch(r"[0-9a-f]{32}", ext["requestId"])
    assert ext["policyVersion"] == gateway.runtime.planner.policy_version
    assert ext["masked"] == [{"path": ["person", "mobile"], "rule": "mobile"}]


async def test_nested_records_and_lists_obey_the_plan(gateway: Gateway) -> None:
    query = '''query($id: ID!) { person(idNumber: $id) { name licenses { licenseNumber licenseType }
                contributions { period amount } } }'''
    body = await gateway.query(query, app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                               variables={"id": gateway.sample_id})
    person = body["data"]["person"]
    assert person["licenses"] and all("*" in lic["licenseNumber"] for lic in person["licenses"])
    assert {tuple(m["path"][:3]) for m in body["extensions"]["masked"]} == {
        ("person", "licenses", i) for i in range(len(person["licenses"]))}
    # every ContributionRecord field is refused to this caller: not even the records' existence leaks
    assert person["contributions"] is None
    assert errors_at(body, "person", "contributions") == ["GRANT_REQUIRED"]
    listing = await gateway.query("{ contributionRecords(first: 5) { edges { cursor } } }",
                                  app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS")
    assert listing["data"] is None and codes(listing) == {"GRANT_REQUIRED"}
    granted = await gateway.query(query, variables={"id": gateway.sample_id})
    assert granted["data"]["person"]["contributions"]


async def test_list_pagination_with_opaque_cursors(gateway: Gateway) -> None:
    query = '''query($after: String) { populationRecords(first: 5, after: $after) {
                 edges { cursor node { name mobile } } pageInfo { hasNextPage endCursor } } }'''
    first = await gateway.query(query, variables={"after": None})
    page = first["data"]["populationRecords"]
    assert len(page["edges"]) == 5 and page["pageInfo"]["hasNextPage"]
    second = await gateway.query(query, variables={"after": page["pageInfo"]["endCursor"]})
    names1 = [e["node"]["mobile"] for e in page["edges"]]
    names2 = [e["node"]["mobile"] for e in second["data"]["populationRecords"]["edges"]]
    assert not set(names1) & set(names2)
    for edge in page["edges"]:
        assert gateway.sample_id not in edge["cursor"]
    bad = await gateway.query(query, variables={"after": "not-a-cursor"})
    assert codes(bad) == {"BAD_USER_INPUT"}
    too_many = await gateway.query('{ populationRecords(first: 1000) { edges { cursor } } }')
    assert codes(too_many) == {"BAD_USER_INPUT"}
