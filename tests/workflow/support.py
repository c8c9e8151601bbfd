"""Helpers of the workflow tests: the GraphQL operations of each role, as the README shows them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.support import Gateway
from workflow.service import now

POPULATION = "1-01-001-001/000001"
MATERIALS = [{"name": "共享申请函", "reference": "市监函〔2026〕12号"},
             {"name": "法定职责依据", "reference": "《市场主体登记管理条例》第五条"}]
APPLICATION_FIELDS = """id state version kind department provider fields purpose checkDue replyDue due overdue
    findings reasons grant allowedActions consolidates consolidatedInto
    decision { fields modes validFrom validUntil maskFields grants }"""

SUBMIT = """mutation($input: ShareApplicationInput!) { submitShareApplication(input: $input) { %s } }""" % APPLICATION_FIELDS
FORWARD = """mutation($id: String!, $version: Int) { forwardShareApplication(id: $id, version: $version) { %s } }""" % (
    APPLICATION_FIELDS)
APPROVE = """mutation($id: String!, $approval: ApprovalInput, $version: Int) {
  approveShareApplication(id: $id, approval: $approval, version: $version) { %s } }""" % APPLICATION_FIELDS
REFUSE = """mutation($id: String!, $reason: String!, $version: Int) {
  refuseShareApplication(id: $id, reason: $reason, version: $version) { %s } }""" % APPLICATION_FIELDS
RETURN = """mutation($id: String!, $reasons: [String!]!) { returnShareApplication(id: $id, reasons: $reasons) { %s } }""" % (
    APPLICATION_FIELDS)
RESUBMIT = """mutation($id: String!, $input: ShareApplicationInput) { resubmitShareApplication(id: $id, input: $input) {
  %s } }""" % APPLICATION_FIELDS
WITHDRAW = """mutation($id: String!) { withdrawShareApplication(id: $id) { %s } }""" % APPLICATION_FIELDS
CONSOLIDATE = """mutation($ids: [String!]!) { consolidateShareApplications(ids: $ids) { %s } }""" % APPLICATION_FIELDS
GRANT_CHANGE = """mutation($id: String!, $reason: String!) { %s(id: $id, reason: $reason) { id status } }"""
RENEW = """mutation($grant: String!, $until: Date!, $materials: [MaterialInput!]!) {
  renewGrant(grant: $grant, validUntil: $until, materials: $materials) { %s renews } }""" % APPLICATION_FIELDS


def request_input(fields: list[str] | None = None, purpose: str = "MARKET_SUPERVISION", **overrides: Any) -> dict[str, Any]:
    today = now().date()
    return {
        "resource": POPULATION, "fields": ["Person.maritalStatus"] if fields is None else fields, "purpose": purpose,
        "scenario": "企业登记注册时核验法定代表人婚姻状况以防虚假登记", "systemName": "企业准入审批系统",
        "modes": ["QUERY"], "validFrom": today.isoformat(), "validUntil": (today + timedelta(days=180)).isoformat(),
        "materials": MATERIALS, **overrides,
    }


async def run(gw: Gateway, app_id: str, document: str, **variables: Any) -> dict[str, Any]:
    """A workflow operation: a token and an operator, no purpose."""
    return await gw.query(document, app_id=app_id, purpose=None, variables=variables)


async def mutate(gw: Gateway, app_id: str, document: str, **variables: Any) -> dict[str, Any]:
    """The one mutation's answer; fails the test on any error."""
    body = await run(gw, app_id, document, **variables)
    assert "errors" not in body, body
    (answer,) = body["data"].values()
    return answer  # type: ignore[no-any-return]


async def submitted(gw: Gateway, app_id: str = "scjg-licensing", **overrides: Any) -> dict[str, Any]:
    return await mutate(gw, app_id, SUBMIT, input=request_input(**overrides))


async def forwarded(gw: Gateway, app_id: str = "scjg-licensing", **overrides: Any) -> dict[str, Any]:
    application = await submitted(gw, app_id, **overrides)
    moved = await mutate(gw, "sj-platform-admin", FORWARD, id=application["id"])
    assert moved["state"] == "FORWARDED", moved
    return moved


def day(text: str) -> date:
    return date.fromisoformat(text)
