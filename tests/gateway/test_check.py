"""Data check (数据核验): MATCH / MISMATCH / NOT_FOUND per claimed field, never the stored value,
and a CHECK grant for conditional fields (a QUERY grant or a masked preview never suffices)."""

from __future__ import annotations

import json

from audit.subjects import subject_pseudonym
from tests.support import Gateway, change, codes, errors_at, fetch

CHECK = 'query($id: ID!, $c: PersonClaims!) { checkPerson(idNumber: $id, claims: $c) { results { field outcome } } }'


async def stored(gateway: Gateway, fields: str) -> dict[str, str]:
    body = await gateway.query('{ person(idNumber: "%s") { %s } }' % (gateway.sample_id, fields))
    return body["data"]["person"]  # type: ignore[no-any-return]


def outcomes(body: dict[str, object]) -> dict[str, str]:
    return {r["field"]: r["outcome"] for r in body["data"]["checkPerson"]["results"]}  # type: ignore[index]


async def test_match_and_mismatch_per_field(gateway: Gateway) -> None:
    person = await stored(gateway, "name mobile birthDate")
    body = await gateway.query(CHECK, variables={"id": gateway.sample_id, "c": {
        "name": person["name"], "mobile": "13000000000", "birthDate": person["birthDate"]}})
    assert outcomes(body) == {"Person.name": "MATCH", "Person.mobile": "MISMATCH", "Person.birthDate": "MATCH"}
    text = json.dumps(body, ensure_ascii=False)
    assert person["mobile"] not in text


async def test_normalization_of_claims(gateway: Gateway) -> None:
    person = await stored(gateway, "name mobile")
    spaced = " ".join(person["name"])  # inner and surrounding whitespace
    full_width_mobile = person["mobile"].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert full_width_mobile != person["mobile"]
    body = await gateway.query(CHECK, variables={"id": gateway.sample_id.lower(), "c": {
        "name": f"  {spaced}\t", "mobile": full_width_mobile}})
    assert outcomes(body) == {"Person.name": "MATCH", "Person.mobile": "MATCH"}


async def test_unknown_subject_is_not_found(gateway: Gateway) -> None:
    body = await gateway.query(CHECK, variables={"id": "11010519491231002X", "c": {"name": "张三"}})
    assert outcomes(body) == {"Person.name": "NOT_FOUND"}


async def test_invalid_check_digit_is_refused_before_lookup(gateway: Gateway) -> None:
    wrong = gateway.sample_id[:-1] + ("1" if gateway.sample_id[-1] == "0" else "0")
    body = await gateway.query(CHECK, variables={"id": wrong, "c": {"name": "张三"}})
    assert codes(body) == {"BAD_USER_INPUT"}
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["rows"] == {}  # refused before any library was read


async def test_masked_preview_is_not_checkable_without_a_check_grant(gateway: Gateway) -> None:
    body = await gateway.query(CHECK, app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                               variables={"id": gateway.sample_id, "c": {"mobile": "13000000000"}})
    assert errors_at(body, "checkPerson") == ["GRANT_REQUIRED"]
    assert body["data"] is None


async def grant(settings, grant_id: str, application: str, coordinate: str, purpose: str, modes: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """An active grant written straight into the store (the policy reloads on the next request)."""
    from datetime import date, timedelta

    from gateway.runtime import make_engine
    from policies.grants import Grant, GrantStatus
    from store import repository

    resource = {"Person.mobile": "1-01-001-001/000001", "Person.insuranceStatus": "2-01-001-001/000001"}[coordinate]
    engine = make_engine(settings.store_url)
    async with engine.begin() as conn:
        await repository.insert_grant(conn, Grant(
            id=grant_id, application=application, resource=resource, fields=(coordinate,), purpose=purpose,
            modes=modes, valid_from=date.today() - timedelta(days=2), valid_until=date.today() + timedelta(days=30),
            status=GrantStatus.ACTIVE))
    await engine.dispose()


async def test_a_query_grant_in_force_does_not_allow_a_check(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    await grant(settings, "G-T-QUERY", "scjg-licensing", "Person.mobile", "ADMINISTRATIVE_BASIS", ("QUERY",))
    read = await gateway.query('query($id: ID!) { person(idNumber: $id) { mobile } }', app_id="scjg-licensing",
                               purpose="ADMINISTRATIVE_BASIS", variables={"id": gateway.sample_id})
    assert "*" not in read["data"]["person"]["mobile"]  # the grant is in force: raw
    body = await gateway.query(CHECK, app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                               variables={"id": gateway.sample_id, "c": {"mobile": "13000000000"}})
    assert body["data"] is None and errors_at(body, "checkPerson") == ["GRANT_REQUIRED"]


async def test_checkable_is_not_readable(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    """A CHECK-only grant verifies a field its holder cannot read."""
    await grant(settings, "G-T-CHECK", "scjg-licensing", "Person.insuranceStatus", "ADMINISTRATIVE_BASIS", ("CHECK",))
    caller = {"app_id": "scjg-licensing", "purpose": "ADMINISTRATIVE_BASIS"}
    read = await gateway.query('query($id: ID!) { person(idNumber: $id) { insuranceStatus } }',
                               variables={"id": gateway.sample_id}, **caller)
    assert read["data"]["person"]["insuranceStatus"] is None
    assert errors_at(read, "person", "insuranceStatus") == ["GRANT_REQUIRED"]
    checked = await gateway.query(CHECK, variables={"id": gateway.sample_id, "c": {"insuranceStatus": "参保缴费"}},
                                  **caller)
    assert set(outcomes(checked).values()) <= {"MATCH", "MISMATCH"}


async def test_a_subject_is_checked_once_per_request_whatever_the_aliases(gateway: Gateway) -> None:
    query = 'query($id: ID!) { a: checkPerson(idNumber: $id, claims: {name: "张三"}) { results { outcome } } ' \
            'b: checkPerson(idNumber: $id, claims: {name: "李四"}) { results { outcome } } }'
    body = await gateway.query(query, variables={"id": gateway.sample_id})
    assert "BAD_USER_INPUT" in codes(body) and "checked twice" in str(body)


async def test_every_subject_claims_something(gateway: Gateway) -> None:
    query = 'query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { outcome } } }'
    items = [{"idNumber": gateway.sample_id, "claims": {"name": "张三"}},
             {"idNumber": "11010519491231002X", "claims": {}}]
    body = await gateway.query(query, variables={"items": items})
    assert codes(body) == {"BAD_USER_INPUT"} and "subject 2 claims no field" in str(body)


async def test_a_subject_without_the_claimed_record_mismatches_rather_than_not_found(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    assert await change(settings.library_urls["social_security"], "DELETE FROM social_insurance WHERE id_number = :id",
                        id=gateway.sample_id) == 1
    body = await gateway.query(CHECK, variables={"id": gateway.sample_id, "c": {"insuranceStatus": "参保缴费"}})
    assert outcomes(body) == {"Person.insuranceStatus": "MISMATCH"}  # NOT_FOUND means no such person


async def test_batch_answers_in_input_order(gateway: Gateway) -> None:
    ids = gateway.credentials["samples"]["idNumbers"][:3]
    query = 'query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { field outcome } } }'
    items = [{"idNumber": i, "claims": {"name": "不存在的名字"}} for i in ids]
    items.insert(1, {"idNumber": "11010519491231002X", "claims": {"name": "张三"}})
    body = await gateway.query(query, variables={"items": items})
    results = [r["results"][0]["outcome"] for r in body["data"]["checkPersons"]]
    assert results == ["MISMATCH", "NOT_FOUND", "MISMATCH", "MISMATCH"]


async def test_check_is_audited_without_values(gateway: Gateway) -> None:
    person = await stored(gateway, "name")
    await gateway.query(CHECK, variables={"id": gateway.sample_id, "c": {"name": person["name"]}})
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["operation"] == "check"
    assert record["fields"] == {"check:Person.name": "RAW"}
    assert record["checks"] == {"Person.name": {"MATCH": 1}}
    text = json.dumps(record, ensure_ascii=False)
    assert person["name"] not in text and gateway.sample_id not in text


async def test_enterprise_check(gateway: Gateway) -> None:
    query = '''query($c: ID!, $claims: EnterpriseClaims!) {
        checkEnterprise(creditCode: $c, claims: $claims) { results { field outcome } } }'''
    info = await gateway.query('{ enterprise(creditCode: "%s") { name legalRepresentative } }' % gateway.sample_code)
    enterprise = info["data"]["enterprise"]
    body = await gateway.query(query, variables={"c": gateway.sample_code.lower(), "claims": {
        "name": enterprise["name"], "legalRepresentative": "某某某"}})
    results = {r["field"]: r["outcome"] for r in body["data"]["checkEnterprise"]["results"]}
    assert results == {"Enterprise.name": "MATCH", "Enterprise.legalRepresentative": "MISMATCH"}


async def test_repeated_subjects_in_a_batch_are_refused_by_position(gateway: Gateway) -> None:
    key = gateway.sample_id
    query = 'query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { field outcome } } }'
    items = [{"idNumber": key, "claims": {"name": "张三"}}, {"idNumber": key.lower(), "claims": {"name": "李四"}}]
    body = await gateway.query(query, variables={"items": items})
    assert codes(body) == {"BAD_USER_INPUT"}
    assert "subjects 1 and 2 are the same" in body["errors"][0]["message"] and key not in str(body)


async def test_checked_subjects_are_audited_as_pseudonyms_never_values(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    query = 'query($id: ID!) { checkPerson(idNumber: $id, claims: {name: "王小明", mobile: "13800001111"}) ' \
            '{ results { outcome } } }'
    await gateway.query(query, variables={"id": gateway.sample_id})
    [record] = await gateway.runtime.audit.records(limit=1)
    assert len(record["subjects"]) == 1 and gateway.sample_id not in str(record)
    assert "王小明" not in str(record) and "13800001111" not in str(record)
    found = subprocess.run([sys.executable, "-m", "gateway", "audit", "subject", gateway.sample_id, "--operator",
                            "sj-zhoumin", "--data-dir", str(settings.data_dir)], capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == record["subjects"][0]
    await gateway.query('query($id: ID!) { person(idNumber: $id) { name } }', variables={"id": gateway.sample_id})
    [lookup] = await gateway.runtime.audit.records(limit=1)
    assert lookup["subjects"] == record["subjects"]


async def test_a_licence_is_checked_by_number_and_holder(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    [(number, holder, valid_until)] = await fetch(
        settings.library_urls["license"],
        "SELECT license_number, holder_id_number, valid_until FROM person_license ORDER BY row_id LIMIT 1")
    other = next(i for i in gateway.credentials["samples"]["idNumbers"] if i != holder)
    query = 'query($n: String!, $c: PersonLicenseClaims!) { checkPersonLicense(licenseNumber: $n, claims: $c) ' \
            '{ results { field outcome } } }'

    async def outcomes(number: str, claims: dict) -> dict[str, str]:
        body = await gateway.query(query, variables={"n": number, "c": claims}, app_id="scjg-licensing",
                                   purpose="ADMINISTRATIVE_BASIS")
        assert "errors" not in body, body
        return {r["field"]: r["outcome"] for r in body["data"]["checkPersonLicense"]["results"]}

    assert await outcomes(f" {number.lower()} ", {"holder": holder, "validUntil": str(valid_until)}) == {
        "PersonLicense.holder": "MATCH", "PersonLicense.validUntil": "MATCH"}
    assert await outcomes(number, {"holder": other}) == {"PersonLicense.holder": "MISMATCH"}
    assert await outcomes("NO-SUCH-LICENCE", {"holder": holder}) == {"PersonLicense.holder": "NOT_FOUND"}
    [record] = await gateway.runtime.audit.records(limit=1)
    # The holder claim is governed, and audited, by the licence's check decision.
    assert record["operation"] == "check" and record["fields"] == {"check:PersonLicense.licenseNumber": "MASKED",
                                                                   "check:PersonLicense.holder": "MASKED"}
    assert holder not in str(record) and "NO-SUCH-LICENCE" not in str(record)
    # Whom it asked about is findable by the holder's pseudonym.
    assert subject_pseudonym(gateway.runtime.subject_key, holder) in record["subjects"]
    bad_holder = await gateway.query(query, variables={"n": number, "c": {"holder": "123"}}, app_id="scjg-licensing",
                                     purpose="ADMINISTRATIVE_BASIS")
    assert codes(bad_holder) == {"BAD_USER_INPUT"}


async def test_an_enterprise_licence_batch(gateway: Gateway) -> None:
    listing = await gateway.query('{ enterpriseLicenses(first: 3) { edges { node { licenseNumber licenseType } } } }',
                                  app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS")
    nodes = [e["node"] for e in listing["data"]["enterpriseLicenses"]["edges"]]
    items = [{"licenseNumber": n["licenseNumber"], "claims": {"licenseType": n["licenseType"]}} for n in nodes]
    items.append({"licenseNumber": nodes[0]["licenseNumber"] + "0", "claims": {"licenseType": "营业执照"}})
    body = await gateway.query('query($i: [EnterpriseLicenseCheckInput!]!) { checkEnterpriseLicenses(items: $i) '
                               '{ results { outcome } } }', variables={"i": items}, app_id="scjg-licensing",
                               purpose="ADMINISTRATIVE_BASIS")
    assert [r["results"][0]["outcome"] for r in body["data"]["checkEnterpriseLicenses"]] == ["MATCH"] * 3 + ["NOT_FOUND"]


async def test_id_number_keys_normalize_case_width_and_spaces(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    [(key, name)] = await fetch(settings.library_urls["population"],
                                "SELECT id_number, name FROM person_basic WHERE id_number LIKE '%X' LIMIT 1")
    full_width = key[:6].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}) + key[6:]
    for written in (key.lower(), f" {key[:6]} {key[6:14]} {key[14:].lower()} ", full_width):
        body = await gateway.query(CHECK, variables={"id": written, "c": {"name": name}})
        assert outcomes(body) == {"Person.name": "MATCH"}, written


async def test_coerced_and_strawberry_resolvers_agree(gateway: Gateway) -> None:
    """The check fields run on graphql-core's coerced arguments; strawberry's own resolvers
    remain the reference, and both answer the same."""
    from graphql import execute, parse

    from resolvers.context import RequestContext
    from schema.builder import build_schema

    runtime = gateway.runtime
    ids = gateway.credentials["samples"]["idNumbers"][:3] + ["11010519491231002X"]
    document = parse('query($items: [PersonCheckInput!]!) { checkPersons(items: $items) { results { field outcome } } }')
    variables = {"items": [{"idNumber": i, "claims": {"name": "张三", "mobile": "13800000000"}} for i in ids]}
    answers = []
    for coerced in (True, False):
        ctx = RequestContext(request_id="t", application="mz-assistance", purpose="SOCIAL_ASSISTANCE_REVIEW",
                             catalog=runtime.catalog, planner=runtime.planner, sources=runtime.sources,
                             cursors=runtime.cursors, keys=runtime.keys)
        result = await execute(build_schema(runtime.catalog, coerced_checks=coerced)._schema, document,
                               context_value=ctx, variable_values=variables)
        assert result.errors is None
        answers.append(result.data)
    assert answers[0] == answers[1]
    assert answers[0]["checkPersons"][3]["results"][0]["outcome"] == "NOT_FOUND"
