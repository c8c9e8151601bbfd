"""Apply → check → approve → the conditional field is served under the granted purpose only →
revoke → denied at once (issue 4's end-to-end test), through the running gateway."""

from __future__ import annotations

import pytest

from tests.support import Gateway, codes, errors_at
from tests.workflow.support import APPROVE, FORWARD, GRANT_CHANGE, mutate, run, submitted

pytestmark = pytest.mark.usefixtures("covered")
QUERY = "query($id: ID!) { person(idNumber: $id) { name maritalStatus } }"


async def marital_status(gw: Gateway, purpose: str) -> dict:
    return await gw.query(QUERY, app_id="scjg-licensing", purpose=purpose, variables={"id": gw.sample_id})


async def test_apply_check_approve_query_revoke(gateway: Gateway) -> None:
    before = await marital_status(gateway, "MARKET_SUPERVISION")
    assert errors_at(before, "person", "maritalStatus") == ["GRANT_REQUIRED"]

    application = await submitted(gateway)
    assert application["state"] == "SUBMITTED" and application["findings"] == []
    checked = await mutate(gateway, "sj-platform-admin", FORWARD, id=application["id"])
    assert checked["state"] == "FORWARDED" and checked["replyDue"]
    approved = await mutate(gateway, "ga-data-officer", APPROVE, id=application["id"], version=checked["version"])
    assert approved["state"] == "APPROVED" and approved["grant"] == f"G-{application['id']}"

    served = await marital_status(gateway, "MARKET_SUPERVISION")
    assert "errors" not in served, served
    assert served["data"]["person"]["maritalStatus"]
    other_purpose = await marital_status(gateway, "WORK_REFERENCE")
    assert errors_at(other_purpose, "person", "maritalStatus") == ["PURPOSE_NOT_GRANTED"]

    revoked = await run(gateway, "ga-data-officer", GRANT_CHANGE % "revokeGrant", id=approved["grant"],
                        reason="申请单位已不再承担该项登记职责")
    assert revoked["data"]["revokeGrant"]["status"] == "REVOKED", revoked
    after = await marital_status(gateway, "MARKET_SUPERVISION")
    assert errors_at(after, "person", "maritalStatus") == ["GRANT_SUSPENDED"]
    assert after["data"]["person"]["maritalStatus"] is None


async def test_every_step_is_audited_with_its_change(gateway: Gateway) -> None:
    application = await submitted(gateway)
    await mutate(gateway, "sj-platform-admin", FORWARD, id=application["id"])
    records = [r for r in reversed(await gateway.runtime.audit.records()) if r.get("operation") == "workflow"]
    actions = [(c["action"], c.get("from"), c["to"]) for r in records for c in r["changes"]]
    assert actions == [("submit", None, "SUBMITTED"), ("forward", "SUBMITTED", "FORWARDED")]
    assert records[0]["operator"] == "scjg-sunwei" and records[1]["operator"] == "sj-zhoumin"
    assert all(c["shareApplication"] == application["id"] for r in records for c in r["changes"])
    assert codes(await run(gateway, "scjg-licensing", FORWARD, id=application["id"])) == {"FORBIDDEN"}

