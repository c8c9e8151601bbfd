"""Every transition of a share application and of a grant through GraphQL, each refusal path,
and concurrent decisions (docs/workflow.md)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from tests.support import Gateway, codes, errors_at
from tests.workflow.support import (
    APPROVE,
    CONSOLIDATE,
    FORWARD,
    GRANT_CHANGE,
    MATERIALS,
    REFUSE,
    RENEW,
    RESUBMIT,
    RETURN,
    SUBMIT,
    WITHDRAW,
    forwarded,
    mutate,
    request_input,
    run,
    submitted,
)
from workflow.calendar import WorkingCalendar
from workflow.model import FINAL, TRANSITIONS, Action, State, WorkflowError, next_state
from workflow.service import now

pytestmark = pytest.mark.usefixtures("covered")
RENEWED_UNTIL = (now().date() + timedelta(days=300)).isoformat()
PLATFORM, PROVIDER = "sj-platform-admin", "ga-data-officer"
MARITAL = "query($id: ID!) { person(idNumber: $id) { maritalStatus mobile } }"


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_the_state_machine_allows_only_its_named_transitions(state: State, action: Action) -> None:
    if (state, action) in TRANSITIONS:
        assert next_state(state, action) is TRANSITIONS[(state, action)]
    else:
        with pytest.raises(WorkflowError) as refused:
            next_state(state, action)
        assert refused.value.code.value == "INVALID_TRANSITION"
        assert state.value in refused.value.message


def test_final_states_allow_nothing() -> None:
    assert all(source not in FINAL for source, _ in TRANSITIONS)


async def test_return_resubmit_forward(gateway: Gateway) -> None:
    application = await submitted(gateway)
    returned = await mutate(gateway, PLATFORM, RETURN, id=application["id"], reasons=["请补充法定职责依据的条款"])
    assert returned["state"] == "RETURNED" and returned["reasons"] == ["请补充法定职责依据的条款"]
    assert returned["allowedActions"] == ["resubmit", "withdraw"]
    again = await mutate(gateway, "scjg-licensing", RESUBMIT, id=application["id"])
    assert again["state"] == "SUBMITTED" and again["reasons"] == []
    moved = await mutate(gateway, PLATFORM, FORWARD, id=application["id"])
    assert moved["state"] == "FORWARDED"


async def test_returning_needs_a_reason(gateway: Gateway) -> None:
    application = await submitted(gateway)
    assert codes(await run(gateway, PLATFORM, RETURN, id=application["id"], reasons=[" "])) == {"BAD_USER_INPUT"}


@pytest.mark.parametrize(("overrides", "finding"), [
    ({"materials": []}, "共享申请函"),
    ({"fields": ["Person.name"]}, "unconditionally"),
    ({"fields": ["Enterprise.name"]}, "not a field of"),
    ({"scenario": "查询"}, "scenario"),
    ({"systemName": " "}, "system"),
    ({"modes": ["CHECK", "QUERY", "QUERY"], "fields": ["Person.maritalStatus", "Person.religion"]}, "not shared"),
])
async def test_the_normative_check_returns_an_application_with_its_findings(
        gateway: Gateway, overrides: dict, finding: str) -> None:
    application = await submitted(gateway, **overrides)
    assert any(finding in f for f in application["findings"]), application["findings"]
    checked = await mutate(gateway, PLATFORM, FORWARD, id=application["id"])
    assert checked["state"] == "RETURNED"
    assert any(finding in r for r in checked["reasons"])


async def test_submission_refuses_what_cannot_be_stored(gateway: Gateway) -> None:
    for overrides in ({"resource": "9-99-999-999/999999"}, {"purpose": "NO_SUCH_PURPOSE"}, {"modes": ["DOWNLOAD"]}):
        body = await run(gateway, "scjg-licensing", SUBMIT, input=request_input(**overrides))
        assert codes(body) == {"BAD_USER_INPUT"} and body["data"] is None


async def test_roles_each_do_their_own_steps(gateway: Gateway) -> None:
    body = await run(gateway, PLATFORM, SUBMIT, input=request_input())
    assert codes(body) == {"FORBIDDEN"}
    application = await submitted(gateway)
    assert codes(await run(gateway, "ga-data-officer", FORWARD, id=application["id"])) == {"FORBIDDEN"}
    await mutate(gateway, PLATFORM, FORWARD, id=application["id"])
    for app_id in ("scjg-licensing", PLATFORM):  # the consumer, the platform
        assert codes(await run(gateway, app_id, APPROVE, id=application["id"])) == {"FORBIDDEN"}, app_id
    # Another provider does not even see it: the same answer as for an id that does not exist.
    assert codes(await run(gateway, "rs-data-officer", APPROVE, id=application["id"])) == {"BAD_USER_INPUT"}
    assert codes(await run(gateway, "mz-assistance", WITHDRAW, id=application["id"])) == {"BAD_USER_INPUT"}


async def test_another_department_cannot_see_an_application(gateway: Gateway) -> None:
    application = await submitted(gateway)
    query = "query($id: String!) { shareApplication(id: $id) { id } }"
    assert (await run(gateway, "mz-assistance", query, id=application["id"]))["data"]["shareApplication"] is None
    for app_id in ("scjg-licensing", PROVIDER, PLATFORM, "sj-auditor"):
        assert (await run(gateway, app_id, query, id=application["id"]))["data"]["shareApplication"], app_id


async def test_approving_an_unforwarded_application_is_an_invalid_transition(gateway: Gateway) -> None:
    application = await submitted(gateway)
    body = await run(gateway, PROVIDER, APPROVE, id=application["id"])
    assert codes(body) == {"INVALID_TRANSITION"} and "forward" in body["errors"][0]["message"]


async def test_a_refusal_needs_its_reason_and_grants_nothing(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    assert codes(await run(gateway, PROVIDER, REFUSE, id=application["id"], reason="  ")) == {"BAD_USER_INPUT"}
    refused = await mutate(gateway, PROVIDER, REFUSE, id=application["id"], reason="婚姻状况不属于企业登记审查必要信息")
    assert refused["state"] == "REFUSED" and refused["grant"] is None
    assert refused["reasons"] == ["婚姻状况不属于企业登记审查必要信息"]
    body = await gateway.query(MARITAL, app_id="scjg-licensing", purpose="MARKET_SUPERVISION",
                               variables={"id": gateway.sample_id})
    assert errors_at(body, "person", "maritalStatus") == ["GRANT_REQUIRED"]
    assert codes(await run(gateway, PROVIDER, APPROVE, id=application["id"])) == {"INVALID_TRANSITION"}


async def test_withdrawal_closes_the_application(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    withdrawn = await mutate(gateway, "scjg-licensing", WITHDRAW, id=application["id"])
    assert withdrawn["state"] == "WITHDRAWN" and withdrawn["allowedActions"] == []
    assert codes(await run(gateway, PROVIDER, APPROVE, id=application["id"])) == {"INVALID_TRANSITION"}


async def test_an_approval_narrows_and_requires_masking(gateway: Gateway) -> None:
    application = await forwarded(gateway, fields=["Person.maritalStatus", "Person.mobile"])
    approved = await mutate(gateway, PROVIDER, APPROVE, id=application["id"],
                            approval={"fields": ["Person.mobile"], "maskFields": ["Person.mobile"]})
    assert approved["decision"]["fields"] == ["Person.mobile"]
    assert approved["decision"]["maskFields"] == ["Person.mobile"]
    body = await gateway.query(MARITAL, app_id="scjg-licensing", purpose="MARKET_SUPERVISION",
                               variables={"id": gateway.sample_id})
    assert errors_at(body, "person", "maritalStatus") == ["GRANT_REQUIRED"]
    mobile = body["data"]["person"]["mobile"]
    assert "*" in mobile and ["person", "mobile"] in [m["path"] for m in body["extensions"]["masked"]]


@pytest.mark.parametrize("approval", [
    {"fields": ["Person.address"]},  # not requested
    {"modes": ["CHECK"]},  # not requested
    {"validUntil": "2999-01-01"},  # longer than requested
    {"maskFields": ["Person.address"]},  # masked but not granted
])
async def test_an_approval_never_widens_the_request(gateway: Gateway, approval: dict) -> None:
    application = await forwarded(gateway)
    body = await run(gateway, PROVIDER, APPROVE, id=application["id"], approval=approval)
    assert codes(body) == {"BAD_USER_INPUT"}
    still = await run(gateway, PROVIDER, "query($id: String!) { shareApplication(id: $id) { state } }",
                      id=application["id"])
    assert still["data"]["shareApplication"]["state"] == "FORWARDED"


async def test_a_stale_version_is_a_conflict(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    body = await run(gateway, PROVIDER, APPROVE, id=application["id"], version=application["version"] - 1)
    assert codes(body) == {"CONFLICT"}


async def test_two_approvers_at_once_one_wins_the_other_gets_a_conflict(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    first, second = await asyncio.gather(
        run(gateway, PROVIDER, APPROVE, id=application["id"], version=application["version"]),
        run(gateway, PROVIDER, REFUSE, id=application["id"], reason="重复申请", version=application["version"]))
    outcomes = sorted(["errors" in first, "errors" in second])
    assert outcomes == [False, True], (first, second)
    loser = first if "errors" in first else second
    assert codes(loser) == {"CONFLICT"}
    grants = [g for g in gateway.runtime.planner.policy.grants_by_id if g == f"G-{application['id']}"]
    winner_approved = "errors" not in first
    assert bool(grants) == winner_approved


async def test_suspend_resume_revoke_take_effect_at_once(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    grant = (await mutate(gateway, PROVIDER, APPROVE, id=application["id"]))["grant"]

    async def marital() -> dict:
        return await gateway.query(MARITAL, app_id="scjg-licensing", purpose="MARKET_SUPERVISION",
                                   variables={"id": gateway.sample_id})

    assert not errors_at(await marital(), "person", "maritalStatus")
    assert codes(await run(gateway, PROVIDER, GRANT_CHANGE % "suspendGrant", id=grant, reason=" ")) == {"BAD_USER_INPUT"}
    for app_id in ("rs-data-officer", "scjg-licensing", "mz-assistance"):  # to anyone but its provider, no such grant
        refused = await run(gateway, app_id, GRANT_CHANGE % "suspendGrant", id=grant, reason="核查")
        assert codes(refused) == {"BAD_USER_INPUT"} and "GA" not in refused["errors"][0]["message"], app_id
    suspended = await run(gateway, PROVIDER, GRANT_CHANGE % "suspendGrant", id=grant, reason="核查使用情况")
    assert suspended["data"]["suspendGrant"]["status"] == "SUSPENDED"
    assert errors_at(await marital(), "person", "maritalStatus") == ["GRANT_SUSPENDED"]
    assert codes(await run(gateway, PROVIDER, GRANT_CHANGE % "suspendGrant", id=grant, reason="again")) == {
        "INVALID_TRANSITION"}
    resumed = await run(gateway, PROVIDER, GRANT_CHANGE % "resumeGrant", id=grant, reason="")
    assert resumed["data"]["resumeGrant"]["status"] == "ACTIVE"
    assert not errors_at(await marital(), "person", "maritalStatus")
    revoked = await run(gateway, PROVIDER, GRANT_CHANGE % "revokeGrant", id=grant, reason="职责调整")
    assert revoked["data"]["revokeGrant"]["status"] == "REVOKED"
    assert codes(await run(gateway, PROVIDER, GRANT_CHANGE % "resumeGrant", id=grant, reason="")) == {
        "INVALID_TRANSITION"}
    assert errors_at(await marital(), "person", "maritalStatus") == ["GRANT_SUSPENDED"]


async def test_a_grant_is_renewed_through_a_renewal_application(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    grant = (await mutate(gateway, PROVIDER, APPROVE, id=application["id"]))["grant"]
    until = "2099-01-01"
    renewal = await mutate(gateway, "scjg-licensing", RENEW, grant=grant, until=until, materials=MATERIALS)
    assert renewal["kind"] == "RENEWAL" and renewal["renews"] == grant and renewal["state"] == "SUBMITTED"
    assert renewal["fields"] == ["Person.maritalStatus"] and renewal["purpose"] == "MARKET_SUPERVISION"
    assert codes(await run(gateway, "mz-assistance", RENEW, grant=grant, until=until, materials=MATERIALS)) == {
        "BAD_USER_INPUT"}  # not its grant


async def test_consolidated_application_fans_the_grant_out(gateway: Gateway) -> None:
    scjg = await submitted(gateway, "scjg-licensing")
    fg = await submitted(gateway, "fg-credit", fields=["Person.maritalStatus", "Person.mobile"])
    parent = await mutate(gateway, PLATFORM, CONSOLIDATE, ids=[scjg["id"], fg["id"]])
    assert parent["kind"] == "CONSOLIDATED" and parent["state"] == "FORWARDED"
    assert parent["allowedActions"] == ["approve", "refuse"]  # the platform's own: no department withdraws it
    assert sorted(parent["consolidates"]) == sorted([scjg["id"], fg["id"]])
    assert parent["fields"] == ["Person.maritalStatus", "Person.mobile"]
    approved = await mutate(gateway, PROVIDER, APPROVE, id=parent["id"])
    assert sorted(approved["decision"]["grants"]) == sorted([f"G-{scjg['id']}", f"G-{fg['id']}"])
    query = "query($id: String!) { shareApplication(id: $id) { state grant consolidatedInto decision { fields } } }"
    child = (await run(gateway, "fg-credit", query, id=fg["id"]))["data"]["shareApplication"]
    assert child == {"state": "APPROVED", "grant": f"G-{fg['id']}", "consolidatedInto": parent["id"],
                     "decision": {"fields": ["Person.maritalStatus", "Person.mobile"]}}
    for app_id in ("scjg-licensing", "fg-credit"):
        body = await gateway.query(MARITAL, app_id=app_id, purpose="MARKET_SUPERVISION",
                                   variables={"id": gateway.sample_id})
        assert not errors_at(body, "person", "maritalStatus"), (app_id, body)


async def test_a_consolidated_refusal_reaches_every_application(gateway: Gateway) -> None:
    ids = [(await submitted(gateway, app))["id"] for app in ("scjg-licensing", "fg-credit")]
    parent = await mutate(gateway, PLATFORM, CONSOLIDATE, ids=ids)
    await mutate(gateway, PROVIDER, REFUSE, id=parent["id"], reason="上级部门暂不开放该字段")
    query = "query($id: String!) { shareApplication(id: $id) { state reasons } }"
    for app, application_id in zip(("scjg-licensing", "fg-credit"), ids, strict=True):
        child = (await run(gateway, app, query, id=application_id))["data"]["shareApplication"]
        assert child == {"state": "REFUSED", "reasons": ["上级部门暂不开放该字段"]}


async def test_consolidation_refuses_mixed_purposes_and_single_applications(gateway: Gateway) -> None:
    a = await submitted(gateway, "scjg-licensing")
    b = await submitted(gateway, "fg-credit", purpose="WORK_REFERENCE")
    assert codes(await run(gateway, PLATFORM, CONSOLIDATE, ids=[a["id"], b["id"]])) == {"BAD_USER_INPUT"}
    assert codes(await run(gateway, PLATFORM, CONSOLIDATE, ids=[a["id"]])) == {"BAD_USER_INPUT"}


async def test_a_failed_mutation_applies_nothing_of_its_request(gateway: Gateway) -> None:
    application = await submitted(gateway)
    both = """mutation($id: String!) {
      a: forwardShareApplication(id: $id) { state }
      b: approveShareApplication(id: "SA-NOPE") { state } }"""
    body = await run(gateway, PLATFORM, both, id=application["id"])
    assert body["data"] is None and codes(body) == {"BAD_USER_INPUT"}
    query = "query($id: String!) { shareApplication(id: $id) { state } }"
    assert (await run(gateway, PLATFORM, query, id=application["id"]))["data"]["shareApplication"]["state"] == "SUBMITTED"


async def test_no_audit_no_change(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    from audit import AuditUnavailable

    application = await submitted(gateway)

    async def unavailable(record: object) -> None:
        raise AuditUnavailable("down")

    monkeypatch.setattr(gateway.runtime.audit, "append", unavailable)
    body = await run(gateway, PLATFORM, FORWARD, id=application["id"])
    assert codes(body) == {"AUDIT_UNAVAILABLE"} and "data" not in body
    monkeypatch.undo()
    query = "query($id: String!) { shareApplication(id: $id) { state } }"
    assert (await run(gateway, PLATFORM, query, id=application["id"]))["data"]["shareApplication"]["state"] == "SUBMITTED"


async def test_mutations_need_an_operator_not_a_purpose_and_never_run_on_get(gateway: Gateway) -> None:
    body = await gateway.query(SUBMIT, app_id="scjg-licensing", purpose=None, operator=None,
                               variables={"input": request_input()})
    assert codes(body) == {"OPERATOR_REQUIRED"}
    headers = gateway.headers("scjg-licensing")
    response = await gateway.client.get("/graphql", params={"query": "mutation { withdrawShareApplication(id: \"x\") "
                                                                      "{ id } }"}, headers=headers)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_notifications_are_visible_to_both_departments_only(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    await mutate(gateway, PROVIDER, APPROVE, id=application["id"])
    query = "{ workflowEvents { kind shareApplication consumer provider actor } }"
    for app_id in ("scjg-licensing", PROVIDER):
        events = (await run(gateway, app_id, query))["data"]["workflowEvents"]
        mine = [e["kind"] for e in events if e["shareApplication"] == application["id"]]
        assert mine == ["SUBMITTED", "FORWARDED", "APPROVED"], app_id
    others = (await run(gateway, "mz-assistance", query))["data"]["workflowEvents"]
    assert all(e["shareApplication"] != application["id"] for e in others)


async def test_an_empty_field_list_never_grants_every_field(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    assert codes(await run(gateway, PROVIDER, APPROVE, id=application["id"], approval={"fields": []})) == {
        "BAD_USER_INPUT"}
    everything = await forwarded(gateway, fields=[])  # asks for every conditional field of the resource
    approved = await mutate(gateway, PROVIDER, APPROVE, id=everything["id"])
    spelled_out = approved["decision"]["fields"]
    assert "Person.maritalStatus" in spelled_out and "Person.name" not in spelled_out  # conditional ones, by name
    grant = gateway.runtime.planner.policy.grants_by_id[approved["grant"]]
    assert list(grant.fields) == spelled_out


async def test_a_renewal_keeps_the_masking_of_the_grant_it_renews(gateway: Gateway) -> None:
    application = await forwarded(gateway, fields=["Person.mobile"])
    grant = (await mutate(gateway, PROVIDER, APPROVE, id=application["id"],
                          approval={"maskFields": ["Person.mobile"]}))["grant"]
    renewal = await mutate(gateway, "scjg-licensing", RENEW, grant=grant, until=RENEWED_UNTIL, materials=MATERIALS)
    await mutate(gateway, PLATFORM, FORWARD, id=renewal["id"])
    renewed = await mutate(gateway, PROVIDER, APPROVE, id=renewal["id"])
    assert renewed["decision"]["maskFields"] == ["Person.mobile"]
    assert gateway.runtime.planner.policy.grants_by_id[renewed["grant"]].mask_fields == ("Person.mobile",)


async def test_a_renewal_of_a_revoked_grant_cannot_be_approved(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    grant = (await mutate(gateway, PROVIDER, APPROVE, id=application["id"]))["grant"]
    renewal = await mutate(gateway, "scjg-licensing", RENEW, grant=grant, until=RENEWED_UNTIL, materials=MATERIALS)
    await mutate(gateway, PLATFORM, FORWARD, id=renewal["id"])
    await mutate(gateway, PROVIDER, GRANT_CHANGE % "revokeGrant", id=grant, reason="违规使用")
    body = await run(gateway, PROVIDER, APPROVE, id=renewal["id"])
    assert codes(body) == {"INVALID_TRANSITION"} and "revoked" in body["errors"][0]["message"]


async def test_a_consolidated_member_is_decided_only_through_its_group(gateway: Gateway) -> None:
    ids = [(await submitted(gateway, app))["id"] for app in ("scjg-licensing", "fg-credit")]
    parent = await mutate(gateway, PLATFORM, CONSOLIDATE, ids=ids)
    for document, extra in ((APPROVE, {}), (REFUSE, {"reason": "单独处理"})):
        body = await run(gateway, PROVIDER, document, id=ids[0], **extra)
        assert codes(body) == {"INVALID_TRANSITION"} and parent["id"] in body["errors"][0]["message"]
    query = "query($id: String!) { shareApplication(id: $id) { state allowedActions } }"
    member = (await run(gateway, "scjg-licensing", query, id=ids[0]))["data"]["shareApplication"]
    assert member == {"state": "CONSOLIDATED", "allowedActions": []}
    approved = await mutate(gateway, PROVIDER, APPROVE, id=parent["id"])
    assert approved["state"] == "APPROVED"


async def test_consolidation_groups_departments_not_one_department_twice(gateway: Gateway) -> None:
    ids = [(await submitted(gateway, "scjg-licensing"))["id"] for _ in range(2)]
    assert codes(await run(gateway, PLATFORM, CONSOLIDATE, ids=ids)) == {"BAD_USER_INPUT"}


async def test_a_member_department_never_hears_of_the_others(gateway: Gateway) -> None:
    scjg = await submitted(gateway, "scjg-licensing")
    fg = await submitted(gateway, "fg-credit")
    parent = await mutate(gateway, PLATFORM, CONSOLIDATE, ids=[scjg["id"], fg["id"]])
    await mutate(gateway, PROVIDER, APPROVE, id=parent["id"])
    events = (await run(gateway, "scjg-licensing", "{ workflowEvents { shareApplication consumer detail } }"))
    seen = events["data"]["workflowEvents"]
    assert seen and all(fg["id"] not in str(e) and parent["id"] not in str(e["shareApplication"]) for e in seen)
    assert {e["consumer"] for e in seen} == {"SCJG"}
    # Its audit slice holds the platform's and the provider's records of the group whole, as every
    # audit record is served whole to each department it concerns (docs/audit-access.md).


async def test_each_department_audits_every_step_of_its_applications(gateway: Gateway) -> None:
    application = await forwarded(gateway)
    await mutate(gateway, PROVIDER, APPROVE, id=application["id"])
    query = "{ auditRecords(first: 100, filter: {operation: \"workflow\"}) { edges { node { body } } } }"
    for app_id in ("scjg-licensing", PROVIDER):
        edges = (await run(gateway, app_id, query))["data"]["auditRecords"]["edges"]
        steps = [c["action"] for e in reversed(edges) for c in json.loads(e["node"]["body"])["changes"]
                 if c["shareApplication"] == application["id"]]
        assert steps == ["submit", "forward", "approve"], app_id
    others = (await run(gateway, "mz-assistance", query))["data"]["auditRecords"]["edges"]
    assert all(application["id"] not in e["node"]["body"] for e in others)


async def test_a_deadline_beyond_the_calendar_is_refused_through_graphql(gateway: Gateway, covered: WorkingCalendar
                                                                         ) -> None:
    from datetime import datetime

    from workflow.service import CST

    last = covered.coverage()[1]
    gateway.runtime.clock = lambda: datetime(last, 12, 30, 10, 0, tzinfo=CST)
    body = await run(gateway, "scjg-licensing", SUBMIT, input=request_input(
        validFrom=f"{last}-12-30", validUntil=f"{last + 1}-06-30"))
    assert codes(body) == {"CALENDAR_NOT_COVERED"} and str(last + 1) in body["errors"][0]["message"]
    assert (await run(gateway, PLATFORM, "{ shareApplications { id } }"))["data"]["shareApplications"] == []


async def test_a_returned_application_is_resubmitted_changed(gateway: Gateway) -> None:
    application = await submitted(gateway, materials=[])
    returned = await mutate(gateway, PLATFORM, FORWARD, id=application["id"])
    assert returned["state"] == "RETURNED"
    again = await mutate(gateway, "scjg-licensing", RESUBMIT, id=application["id"], input=request_input())
    assert again["state"] == "SUBMITTED" and again["findings"] == []
    assert (await mutate(gateway, PLATFORM, FORWARD, id=application["id"]))["state"] == "FORWARDED"


async def test_oversized_input_is_refused_on_every_store(gateway: Gateway) -> None:
    for overrides in ({"systemName": "系" * 101}, {"scenario": "景" * 2001},
                      {"materials": [{"name": "共享申请函", "reference": "x" * 201}]}):
        assert codes(await run(gateway, "scjg-licensing", SUBMIT, input=request_input(**overrides))) == {
            "BAD_USER_INPUT"}, overrides
