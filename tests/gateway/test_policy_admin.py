"""Policy versions through GraphQL: validation refusals, dry run, policy tests that block
activation, activation in force at once, rollback, explain, and the roles (issue 7)."""

from __future__ import annotations

import json
from typing import Any

from policies.rules import MODEL_PATH
from tests.support import Gateway, codes, errors_at

ADMIN = "sj-policy-admin"
MODEL = MODEL_PATH.read_text(encoding="utf-8")
FG_LINE = "p, dept:FG, Person.maritalStatus, QUERY, MARKET_SUPERVISION, RAW, 2000-01-01, 2999-12-31, admin:fg-marital\n"
CREATE = """mutation($model: String!, $lines: String!, $tests: String!, $note: String!) {
  createPolicyVersion(model: $model, lines: $lines, tests: $tests, note: $note) { id state } }"""
REPORT = """query($id: Int!) { policyReport(id: $id) { activatable problems failures
  changes { application purpose field mode before after gains } } }"""
ACTIVATE = "mutation($id: Int!) { activatePolicyVersion(id: $id) { id state } }"
ROLLBACK = "mutation { rollbackPolicy { id state } }"
EXPLAIN = """query($application: String, $purpose: String!, $field: String!) {
  explain(application: $application, purpose: $purpose, field: $field) {
    application access reason decidedBy shareClass resource grants policyVersion } }"""
MARITAL = "query($id: ID!) { person(idNumber: $id) { maritalStatus } }"


async def admin(gw: Gateway, document: str, app_id: str = ADMIN, **variables: Any) -> dict[str, Any]:
    return await gw.query(document, app_id=app_id, purpose=None, variables=variables)


async def create(gw: Gateway, lines: str = FG_LINE, tests: str = "", model: str = MODEL) -> dict[str, Any]:
    return await admin(gw, CREATE, model=model, lines=lines, tests=tests, note="FG 市场监管可见手机号脱敏预览")


async def fg_marital(gw: Gateway) -> dict[str, Any]:
    return await gw.query(MARITAL, app_id="fg-credit", purpose="MARKET_SUPERVISION", variables={"id": gw.sample_id})


async def test_a_version_with_problems_is_refused_with_every_reason(gateway: Gateway) -> None:
    lines = ("p, dept:NOPE, Person.mobile, QUERY, *, RAW, 2000-01-01, 2999-12-31, admin:x\n"
             "p, *, Person.religion, QUERY, *, RAW, 2000-01-01, 2999-12-31, admin:y\n"
             "p, *, Person.nothing, FETCH, NO_PURPOSE, ALL, 2999-01-01, 2000-01-01, \n"
             "g, app:mz-assistance, dept:ZZ\n")
    body = await create(gateway, lines=lines, model=MODEL.replace("r = sub, obj, act, pur, day, acc", "r = sub, obj"))
    assert codes(body) == {"POLICY_INVALID"} and body["data"] is None
    problems = " | ".join(body["errors"][0]["extensions"]["problems"])
    for expected in ("request definition", "dept:NOPE", "NOT_SHARED", "Person.nothing", "FETCH", "NO_PURPOSE",
                     "ALL", "ends before it starts", "ref", "dept:ZZ"):
        assert expected in problems, expected
    assert (await admin(gateway, "{ policyVersions { id } }"))["data"]["policyVersions"] == [{"id": 1}]


async def test_a_model_that_does_not_parse_is_refused(gateway: Gateway) -> None:
    body = await create(gateway, model="[request_definition]\nr = \n[matchers]\n")
    assert codes(body) == {"POLICY_INVALID"}


async def test_dry_run_lists_who_gains_what_and_activation_is_in_force_at_once(gateway: Gateway) -> None:
    assert errors_at(await fg_marital(gateway), "person", "maritalStatus") == ["GRANT_REQUIRED"]
    version = (await create(gateway))["data"]["createPolicyVersion"]
    assert version["state"] == "DRAFT"
    report = (await admin(gateway, REPORT, id=version["id"]))["data"]["policyReport"]
    assert report["activatable"] and report["problems"] == [] and report["failures"] == []
    # Every application of the department gains: its consumer system and its data officer's console.
    assert report["changes"] == [{"application": app, "purpose": "MARKET_SUPERVISION", "field": "Person.maritalStatus",
                                  "mode": "QUERY", "before": "DENIED", "after": "RAW", "gains": True}
                                 for app in ("fg-credit", "fg-data-officer")]
    before = (await fg_marital(gateway))["extensions"]["policyVersion"]
    activated = await admin(gateway, ACTIVATE, id=version["id"])
    assert activated["data"]["activatePolicyVersion"] == {"id": version["id"], "state": "ACTIVE"}
    after = await fg_marital(gateway)
    assert "errors" not in after and after["data"]["person"]["maritalStatus"]
    assert after["extensions"]["policyVersion"] != before
    explained = (await admin(gateway, EXPLAIN, application="fg-credit", purpose="MARKET_SUPERVISION",
                             field="Person.maritalStatus"))["data"]["explain"]
    assert explained["access"] == "RAW" and explained["decidedBy"] == "admin:fg-marital"


async def test_rollback_restores_the_previous_decisions(gateway: Gateway) -> None:
    version = (await create(gateway))["data"]["createPolicyVersion"]
    await admin(gateway, ACTIVATE, id=version["id"])
    assert "errors" not in await fg_marital(gateway)
    restored = await admin(gateway, ROLLBACK)
    assert restored["data"]["rollbackPolicy"] == {"id": 1, "state": "ACTIVE"}
    assert errors_at(await fg_marital(gateway), "person", "maritalStatus") == ["GRANT_REQUIRED"]
    versions = (await admin(gateway, "{ policyVersions { id state } }"))["data"]["policyVersions"]
    assert versions == [{"id": version["id"], "state": "RETIRED"}, {"id": 1, "state": "ACTIVE"}]


async def test_failing_policy_tests_block_activation(gateway: Gateway) -> None:
    tests = ('[[expect]]\napplication = "fg-credit"\npurpose = "MARKET_SUPERVISION"\n'
             'field = "Person.maritalStatus"\naccess = "DENIED"\n')
    version = (await create(gateway, tests=tests))["data"]["createPolicyVersion"]
    report = (await admin(gateway, REPORT, id=version["id"]))["data"]["policyReport"]
    assert not report["activatable"]
    assert report["failures"] == ["fg-credit / MARKET_SUPERVISION / Person.maritalStatus / QUERY: expected DENIED, "
                                  "got RAW"]
    body = await admin(gateway, ACTIVATE, id=version["id"])
    assert codes(body) == {"POLICY_INVALID"} and body["errors"][0]["extensions"]["problems"] == report["failures"]
    assert errors_at(await fg_marital(gateway), "person", "maritalStatus") == ["GRANT_REQUIRED"]


async def test_an_exported_policy_reimports_as_the_same_decisions(gateway: Gateway) -> None:
    exported = (await admin(gateway, "{ policyExport { version model csv policyVersion } }"))["data"]["policyExport"]
    assert exported["version"] == 1 and "grant:G-MZ-0001" in exported["csv"] and exported["model"] == MODEL
    version = (await create(gateway, lines=exported["csv"] + FG_LINE, model=exported["model"]))
    created = version["data"]["createPolicyVersion"]
    stored = (await admin(gateway, "query($id: Int!) { policyVersion(id: $id) { lines } }", id=created["id"]))
    assert stored["data"]["policyVersion"]["lines"] == FG_LINE  # the generated lines were dropped
    diff = (await admin(gateway, "{ policyDiff(older: 1, newer: %d) }" % created["id"]))["data"]["policyDiff"]
    assert "+p, dept:FG, Person.maritalStatus" in diff


async def test_a_consumer_explains_its_own_decisions_only(gateway: Gateway) -> None:
    own = await admin(gateway, EXPLAIN, app_id="scjg-licensing", purpose="MARKET_SUPERVISION",
                      field="Person.maritalStatus")
    assert own["data"]["explain"] == {
        "application": "scjg-licensing", "access": "DENIED", "reason": "GRANT_REQUIRED", "decidedBy": None,
        "shareClass": "CONDITIONAL", "resource": "1-01-001-001/000001", "grants": [],
        "policyVersion": own["data"]["explain"]["policyVersion"]}
    other = await admin(gateway, EXPLAIN, app_id="scjg-licensing", application="mz-assistance",
                        purpose="SOCIAL_ASSISTANCE_REVIEW", field="Person.mobile")
    assert codes(other) == {"FORBIDDEN"}
    granted = await admin(gateway, EXPLAIN, app_id="mz-assistance", purpose="SOCIAL_ASSISTANCE_REVIEW",
                          field="Person.mobile")
    assert granted["data"]["explain"]["decidedBy"] == "grant:G-MZ-0001"


async def test_only_policy_administrators_change_the_policy(gateway: Gateway) -> None:
    for app_id in ("scjg-licensing", "sj-platform-admin", "sj-auditor", "ga-data-officer"):
        body = await gateway.query(CREATE, app_id=app_id, purpose=None, variables={
            "model": MODEL, "lines": FG_LINE, "tests": "", "note": "x"})
        assert codes(body) == {"FORBIDDEN"}, app_id
    assert codes(await admin(gateway, ACTIVATE, app_id="sj-auditor", id=1)) == {"FORBIDDEN"}
    assert (await admin(gateway, "{ policyVersions { id } }", app_id="sj-auditor"))["data"]["policyVersions"]
    assert codes(await admin(gateway, "{ policyVersions { id } }", app_id="scjg-licensing")) == {"FORBIDDEN"}


async def test_every_policy_change_is_audited_with_its_operator(gateway: Gateway) -> None:
    version = (await create(gateway))["data"]["createPolicyVersion"]
    await admin(gateway, ACTIVATE, id=version["id"])
    records = [r for r in reversed(await gateway.runtime.audit.records()) if r.get("operation") == "policy"]
    changes = [c for r in records for c in r["changes"]]
    assert [c["action"] for c in changes] == ["policy.create", "policy.activate"]
    assert changes[1]["policyVersion"] == str(version["id"]) and changes[1]["gains"] == "2"
    assert all(r["operator"] == "sj-wutao" and r["outcome"] == "SERVED" for r in records)
    assert json.dumps(records)  # plain JSON, no values of data


async def test_editing_the_model_is_dry_run_then_enforced(gateway: Gateway) -> None:
    """docs/policies.md's worked example: a department-wide line may no longer grant raw data."""
    first = (await create(gateway))["data"]["createPolicyVersion"]
    await admin(gateway, ACTIVATE, id=first["id"])
    assert "errors" not in await fg_marital(gateway)
    stricter = MODEL.replace("r.day <= p.valid_until",
                             'r.day <= p.valid_until && !(p.acc == "RAW" && keyMatch(p.sub, "dept:*"))')
    assert stricter != MODEL
    second = (await create(gateway, model=stricter))["data"]["createPolicyVersion"]
    report = (await admin(gateway, REPORT, id=second["id"]))["data"]["policyReport"]
    assert report["activatable"]
    losses = {(c["application"], c["field"], c["before"], c["after"]) for c in report["changes"] if not c["gains"]}
    assert losses == {(app, "Person.maritalStatus", "RAW", "DENIED") for app in ("fg-credit", "fg-data-officer")}
    assert all(not c["gains"] for c in report["changes"])
    await admin(gateway, ACTIVATE, id=second["id"])
    assert errors_at(await fg_marital(gateway), "person", "maritalStatus") == ["GRANT_REQUIRED"]
