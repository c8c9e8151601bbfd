"""Data check (数据核验): MATCH / MISMATCH / NOT_FOUND per claimed field, never the stored value,
and a CHECK grant for conditional fields (a QUERY grant or a masked preview never suffices)."""

from __future__ import annotations

import json

from tests.support import Gateway, codes, errors_at

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


async def test_masked_preview_is_not_checkable_without_a_check_grant(gateway: Gateway) -> None:
    body = await gateway.query(CHECK, app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
                               variables={"id": gateway.sample_id, "c": {"mobile": "13000000000"}})
    assert errors_at(body, "checkPerson") == ["GRANT_REQUIRED"]
    assert body["data"] is None


async def test_a_query_grant_does_not_allow_a_check(gateway: Gateway) -> None:
    # rs-employment's grant is QUERY-only (and expired): a check on a conditional field is refused
    body = await gateway.query(CHECK, app_id="rs-employment", purpose="BUSINESS_COLLABORATION",
                               variables={"id": gateway.sample_id, "c": {"mobile": "13000000000"}})
    assert body["data"] is None and codes(body) <= {"GRANT_REQUIRED", "GRANT_EXPIRED"}


async def test_checkable_is_not_readable(gateway: Gateway) -> None:
    """mz-assistance may check insuranceStatus under its CHECK grant; the check never returns it."""
    body = await gateway.query(CHECK, variables={"id": gateway.sample_id, "c": {"insuranceStatus": "参保缴费"}})
    assert set(outcomes(body).values()) <= {"MATCH", "MISMATCH"}


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
    found = subprocess.run([sys.executable, "-m", "gateway", "audit", "subject", gateway.sample_id, "--data-dir",
                            str(settings.data_dir)], capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == record["subjects"][0]
    await gateway.query('query($id: ID!) { person(idNumber: $id) { name } }', variables={"id": gateway.sample_id})
    [lookup] = await gateway.runtime.audit.records(limit=1)
    assert lookup["subjects"] == record["subjects"]


async def test_a_licence_is_checked_by_number_and_holder(gateway: Gateway, settings) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    database = settings.library_urls["license"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as conn:
        number, holder, valid_until = conn.execute(
            "SELECT license_number, holder_id_number, valid_until FROM person_license ORDER BY row_id LIMIT 1").fetchone()
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
    assert record["operation"] == "check" and record["fields"] == {"check:PersonLicense.licenseNumber": "MASKED"}
    assert holder not in str(record) and "NO-SUCH-LICENCE" not in str(record)
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
    import sqlite3

    database = settings.library_urls["population"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as conn:
        key, name = conn.execute("SELECT id_number, name FROM person_basic WHERE id_number LIKE '%X' LIMIT 1").fetchone()
    full_width = key[:6].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}) + key[6:]
    for written in (key.lower(), f" {key[:6]} {key[6:14]} {key[14:].lower()} ", full_width):
        body = await gateway.query(CHECK, variables={"id": written, "c": {"name": name}})
        assert outcomes(body) == {"Person.name": "MATCH"}, written
