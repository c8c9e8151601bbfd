"""Policy versions through GraphQL: validation refusals, dry run, policy tests that block
activation, activation in force at once, rollback, explain, and the roles (issue 7)."""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules import MODEL_PATH
from tests.support import Gateway, codes, errors_at

ADMIN = "sj-policy-admin"
MODEL = MODEL_PATH.read_text(encoding="utf-8")
# A desensitized view for a department (002 第十八条): 市场监管 sees enterprises' tax paid as a range.
LINE = "p, dept:SCJG, Enterprise.taxPaid, QUERY, MARKET_SUPERVISION, MASKED, 2000-01-01, 2999-12-31, admin:scjg-tax\n"
CREATE = """mutation($model: String!, $lines: String!, $tests: String!, $note: String!) {
  createPolicyVersion(model: $model, lines: $lines, tests: $tests, note: $note) { id state } }"""
REPORT = """query($id: Int!) { policyReport(id: $id) { activatable problems failures
  changes { application purpose field mode before after gains } } }"""
ACTIVATE = "mutation($id: Int!) { activatePolicyVersion(id: $id) { id state } }"
ROLLBACK = "mutation { rollbackPolicy { id state } }"
EXPLAIN = """query($application: String, $purpose: String!, $field: String!) {
  explain(application: $application, purpose: $purpose, field: $field) {
    application access reason decidedBy shareClass resource grants policyVersion } }"""
TAX = "query($code: ID!) { enterprise(creditCode: $code) { taxPaid } }"


async def admin(gw: Gateway, document: str, app_id: str = ADMIN, **variables: Any) -> dict[str, Any]:
    return await gw.query(document, app_id=app_id, purpose=None, variables=variables)


async def create(gw: Gateway, lines: str = LINE, tests: str = "", model: str = MODEL) -> dict[str, Any]:
    return await admin(gw, CREATE, model=model, lines=lines, tests=tests, note="FG 市场监管可见手机号脱敏预览")


async def scjg_tax(gw: Gateway) -> dict[str, Any]:
    return await gw.query(TAX, app_id="scjg-licensing", purpose="MARKET_SUPERVISION", variables={"code": gw.sample_code})


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
    assert errors_at(await scjg_tax(gateway), "enterprise", "taxPaid") == ["GRANT_REQUIRED"]
    version = (await create(gateway))["data"]["createPolicyVersion"]
    assert version["state"] == "DRAFT"
    report = (await admin(gateway, REPORT, id=version["id"]))["data"]["policyReport"]
    assert report["activatable"] and report["problems"] == [] and report["failures"] == []
    # Every application of the department gains: its consumer system and its data officer's console.
    assert report["changes"] == [{"application": app, "purpose": "MARKET_SUPERVISION", "field": "Enterprise.taxPaid",
                                  "mode": "QUERY", "before": "DENIED", "after": "MASKED", "gains": True}
                                 for app in ("scjg-data-officer", "scjg-licensing")]
    before = (await scjg_tax(gateway))["extensions"]["policyVersion"]
    activated = await admin(gateway, ACTIVATE, id=version["id"])
    assert activated["data"]["activatePolicyVersion"] == {"id": version["id"], "state": "ACTIVE"}
    after = await scjg_tax(gateway)
    assert "errors" not in after and after["extensions"]["masked"] == [{"path": ["enterprise", "taxPaid"],
                                                                         "rule": "amountRange"}]
    assert after["extensions"]["policyVersion"] != before
    explained = (await admin(gateway, EXPLAIN, application="scjg-licensing", purpose="MARKET_SUPERVISION",
                             field="Enterprise.taxPaid"))["data"]["explain"]
    assert explained["access"] == "MASKED" and explained["decidedBy"] == "admin:scjg-tax"


async def test_rollback_restores_the_previous_decisions(gateway: Gateway) -> None:
    version = (await create(gateway))["data"]["createPolicyVersion"]
    await admin(gateway, ACTIVATE, id=version["id"])
    assert "errors" not in await scjg_tax(gateway)
    restored = await admin(gateway, ROLLBACK)
    assert restored["data"]["rollbackPolicy"] == {"id": 1, "state": "ACTIVE"}
    assert errors_at(await scjg_tax(gateway), "enterprise", "taxPaid") == ["GRANT_REQUIRED"]
    versions = (await admin(gateway, "{ policyVersions { id state } }"))["data"]["policyVersions"]
    assert versions == [{"id": version["id"], "state": "RETIRED"}, {"id": 1, "state": "ACTIVE"}]


async def test_failing_policy_tests_block_activation(gateway: Gateway) -> None:
    tests = ('[[expect]]\napplication = "scjg-licensing"\npurpose = "MARKET_SUPERVISION"\n'
             'field = "Enterprise.taxPaid"\naccess = "DENIED"\n')
    version = (await create(gateway, tests=tests))["data"]["createPolicyVersion"]
    report = (await admin(gateway, REPORT, id=version["id"]))["data"]["policyReport"]
    assert not report["activatable"]
    assert report["failures"] == ["scjg-licensing / MARKET_SUPERVISION / Enterprise.taxPaid / QUERY: expected DENIED, "
                                  "got MASKED (MASK_REQUIRED)"]
    body = await admin(gateway, ACTIVATE, id=version["id"])
    assert codes(body) == {"POLICY_INVALID"} and body["errors"][0]["extensions"]["problems"] == report["failures"]
    assert errors_at(await scjg_tax(gateway), "enterprise", "taxPaid") == ["GRANT_REQUIRED"]


async def test_an_exported_policy_reimports_as_the_same_decisions(gateway: Gateway) -> None:
    exported = (await admin(gateway, "{ policyExport { version model csv policyVersion } }"))["data"]["policyExport"]
    assert exported["version"] == 1 and "grant:G-MZ-0001" in exported["csv"] and exported["model"] == MODEL
    version = (await create(gateway, lines=exported["csv"] + LINE, model=exported["model"]))
    created = version["data"]["createPolicyVersion"]
    stored = (await admin(gateway, "query($id: Int!) { policyVersion(id: $id) { lines } }", id=created["id"]))
    assert stored["data"]["policyVersion"]["lines"] == LINE  # the generated lines were dropped
    diff = (await admin(gateway, "{ policyDiff(older: 1, newer: %d) }" % created["id"]))["data"]["policyDiff"]
    assert "+p, dept:SCJG, Enterprise.taxPaid" in diff


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
            "model": MODEL, "lines": LINE, "tests": "", "note": "x"})
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
    assert changes[0]["digest"] == changes[1]["digest"] and len(changes[0]["digest"]) == 64
    assert "scjg-licensing MARKET_SUPERVISION Enterprise.taxPaid QUERY MASKED" in changes[1]["gained"]
    assert all(r["operator"] == "sj-wutao" and r["outcome"] == "SERVED" for r in records)
    assert all(r["policy_version"] for r in records)  # each names the policy it leaves in force


async def test_editing_the_model_is_dry_run_then_enforced(gateway: Gateway) -> None:
    """docs/policies.md's worked example: an administrator's line must name the purpose it serves."""
    first = (await create(gateway, lines=LINE.replace("MARKET_SUPERVISION", "*")))["data"]["createPolicyVersion"]
    await admin(gateway, ACTIVATE, id=first["id"])
    assert "errors" not in await scjg_tax(gateway)
    stricter = MODEL.replace("r.day <= p.valid_until", 'r.day <= p.valid_until && !(keyMatch(p.ref, "admin:*") && p.pur == "*")')
    assert stricter != MODEL
    second = (await create(gateway, model=stricter))["data"]["createPolicyVersion"]  # its line names its purpose
    report = (await admin(gateway, REPORT, id=second["id"]))["data"]["policyReport"]
    assert report["activatable"] and all(not c["gains"] for c in report["changes"])
    losers = {(c["application"], c["field"], c["before"], c["after"]) for c in report["changes"]}
    assert losers == {(app, "Enterprise.taxPaid", "MASKED", "DENIED") for app in ("scjg-data-officer", "scjg-licensing")}
    purposes = {c["purpose"] for c in report["changes"]}
    assert len(purposes) == 5 and "MARKET_SUPERVISION" not in purposes  # kept for the purpose it names
    await admin(gateway, ACTIVATE, id=second["id"])
    assert "errors" not in await scjg_tax(gateway)
    other = await gateway.query(TAX, app_id="scjg-licensing", purpose="WORK_REFERENCE",
                                variables={"code": gateway.sample_code})
    assert errors_at(other, "enterprise", "taxPaid") == ["GRANT_REQUIRED"]


@pytest.mark.parametrize(("model_edit", "why"), [
    (lambda m: m.replace("r.obj == p.obj && r.act == p.act && ", ""), "only add conditions"),  # drops conditions
    (lambda m: m.replace("r.day <= p.valid_until", "r.day <= p.valid_until || r.acc == \"RAW\""), "only add"),
    (lambda m: m.replace("some(where (p.eft == allow))", "!some(where (p.eft == deny))"), "effect"),
    (lambda m: m.replace("r = sub, obj, act, pur, day, acc", "r = sub, obj, act, pur, acc, day"), "request"),
    (lambda m: m.replace("r.day <= p.valid_until", "r.day <= p.valid_until && true) || (true"), "only add"),
])
async def test_a_model_may_only_restrict_the_shipped_one(gateway: Gateway, model_edit: Any, why: str) -> None:
    body = await create(gateway, model=model_edit(MODEL))
    assert codes(body) == {"POLICY_INVALID"} and why in body["errors"][0]["message"], body


@pytest.mark.parametrize(("lines", "why"), [
    ("p, *, Person.bankAccountMasked, QUERY, *, RAW, 0000-01-01, 9999-12-31, admin:x\n", "CONDITIONAL"),
    ("p, *, Person.idNumber, QUERY, *, RAW, 0000-01-01, 9999-12-31, admin:x\n", "CONDITIONAL"),
    ("p, dept:SCJG, Person.maritalStatus, CHECK, *, MASKED, 0000-01-01, 9999-12-31, admin:x\n", "CONDITIONAL"),
    ("p, app:sj-policy-admin, Person.name, QUERY, *, RAW, 0000-01-01, 9999-12-31, admin:x\n", "consuming"),
    ("g, app:scjg-licensing, dept:MZ\n", "grp:"),
    ("g, app:sj-policy-admin, grp:x\n", "consuming"),
    ("p, grp:undefined, Person.name, QUERY, *, RAW, 0000-01-01, 9999-12-31, admin:x\n", "grp:"),
])
async def test_lines_never_open_what_only_a_grant_may(gateway: Gateway, lines: str, why: str) -> None:
    body = await create(gateway, lines=lines)
    assert codes(body) == {"POLICY_INVALID"} and why in " ".join(body["errors"][0]["extensions"]["problems"]), body


async def test_a_line_can_never_serve_a_field_the_catalog_always_masks_raw(gateway: Gateway) -> None:
    """Defence in depth: even a line the validation missed could not unmask a mask_required field."""
    from policies.rules import PolicySet
    from policies.versions import parse_lines

    runtime = gateway.runtime
    policy = runtime.planner.policy
    widened = PolicySet.build(policy.catalog, policy.grants_by_id.values(), policy.departments,
                              admin_lines=parse_lines("p, *, Person.bankAccountMasked, QUERY, *, RAW, 0000-01-01, "
                                                      "9999-12-31, admin:x\n"))
    runtime.planner.replace(widened)
    decision = runtime.planner.explain("scjg-licensing", "MARKET_SUPERVISION", "Person.bankAccountMasked")
    assert decision.access.value == "MASKED" and decision.rule == "bankCard"


async def test_policy_tests_must_name_what_exists(gateway: Gateway) -> None:
    tests = ('[[expect]]\napplication = "scjg-licensng"\npurpose = "NOPE"\nfield = "Person.religon"\nmode = "FOO"\n'
             'access = "DENIED"\n')
    body = await create(gateway, tests=tests)
    problems = " ".join(body["errors"][0]["extensions"]["problems"])
    for name in ("scjg-licensng", "NOPE", "Person.religon", "FOO"):
        assert name in problems
    assert codes(await create(gateway, tests="expect = 1")) == {"POLICY_INVALID"}


async def test_oversized_or_nul_input_is_refused(gateway: Gateway) -> None:
    assert codes(await create(gateway, lines="# " + "x" * 300_000)) == {"BAD_USER_INPUT"}  # the body limit first
    body = await admin(gateway, CREATE, model=MODEL, lines=LINE, tests="", note="a\u0000b")
    assert codes(body) == {"BAD_USER_INPUT"}
