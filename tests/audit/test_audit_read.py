"""Who sees what of the audit trail (`auditRecords`): an auditor and the platform administrator see
every record; any other application sees its department's own use and every use of the resources
its department provides, never more, whatever it filters on."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from audit import AuditRecord
from audit.chain import chain_hash
from schema.catalog import Catalog
from tests.support import Gateway, codes

READ = """query($f: AuditFilter, $first: Int, $after: String) {
  auditRecords(filter: $f, first: $first, after: $after) {
    edges { cursor node { seq hash prevHash body requestId at operation outcome code application department
                          operator purpose fields { key value } rows { key count } subjects } }
    pageInfo { hasNextPage endCursor }
    scope { everything department provides }
  }
}"""
CONSUMERS = {"mz-assistance": "MZ", "fg-credit": "FG", "rs-employment": "RS", "scjg-licensing": "SCJG"}


def admin(gateway: Gateway, role: str) -> dict[str, str]:
    entry = next(a for a in gateway.credentials["admins"] if a["role"] == role)
    return {"Authorization": f"Bearer {entry['token']}", "X-Operator": entry["operator"]}


async def read(gateway: Gateway, who: str, flt: dict[str, Any] | None = None, first: int = 200,
               after: str | None = None) -> dict[str, Any]:
    headers = admin(gateway, who) if who in ("AUDITOR", "PLATFORM_ADMIN") else gateway.headers(who)
    response = await gateway.client.post("/graphql", headers=headers, json={
        "query": READ, "variables": {"f": flt, "first": first, "after": after}})
    body: dict[str, Any] = response.json()
    return body


async def read_all(gateway: Gateway, who: str, flt: dict[str, Any] | None = None, first: int = 200) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = await read(gateway, who, flt, first, after)
        assert "errors" not in body, body
        page = body["data"]["auditRecords"]
        nodes.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def expected_scope(records: list[dict[str, Any]], catalog: Catalog, department: str) -> set[int]:
    """The department's slice, computed here independently of audit.query."""
    provided = {code for code, r in catalog.resources.items() if r.provider == department}
    slice_: set[int] = set()
    for r in records:
        touched = set(r["rows"])
        for name in ("fields", "denied", "masks", "uses", "scrubbed", "checks"):
            for key in r.get(name) or {}:
                ref = catalog.by_coordinate.get(key.split(":")[-1])
                touched.add(ref.resource.code if ref else key)
        if r["department"] == department or touched & provided:
            slice_.add(r["seq"])
    return slice_


@pytest.fixture
async def traffic(gateway: Gateway) -> list[dict[str, Any]]:
    """Requests of several departments over several providers' resources; the stored records."""
    person, enterprise = gateway.sample_id, gateway.sample_code
    await gateway.query('{ person(idNumber: "%s") { name mobile } }' % person)  # MZ reads GA
    await gateway.query('{ person(idNumber: "%s") { insuranceStatus dishonestDebtor } }' % person)  # MZ reads RS, FG
    await gateway.query('{ enterprise(creditCode: "%s") { name creditRating } }' % enterprise, app_id="fg-credit",
                        purpose="MARKET_SUPERVISION")  # FG reads SCJG and its own
    await gateway.query('{ enterprise(creditCode: "%s") { licenses { licenseNumber } } }' % enterprise,
                        app_id="scjg-licensing", purpose="WORK_REFERENCE")  # SCJG reads SJ
    await gateway.query('{ person(idNumber: "%s") { name } }' % person, app_id="rs-employment", purpose=None)  # refused
    await gateway.query('query { checkPerson(idNumber: "%s", claims: {name: "张三"}) { results { outcome } } }' % person)
    await gateway.runtime.audit.append(AuditRecord(  # an administrator's change of a GA field's rule
        request_id="policy-change", at="2020-01-01T00:00:00+00:00", operation="policy.mask_rule.set", outcome="SERVED",
        operator="sj-zhoumin", fields={"Person.mobile": "POLICY"}))
    records: list[dict[str, Any]] = await gateway.runtime.audit.records(limit=10_000)
    return records


@pytest.mark.parametrize("role", ["AUDITOR", "PLATFORM_ADMIN"])
async def test_auditor_and_platform_admin_see_every_record(gateway: Gateway, traffic: list[dict[str, Any]],
                                                           role: str) -> None:
    nodes = await read_all(gateway, role)
    assert [n["seq"] for n in nodes] == [r["seq"] for r in traffic]  # newest first, all of them
    body = await read(gateway, role, first=1)
    assert body["data"]["auditRecords"]["scope"] == {"everything": True, "department": None, "provides": []}


@pytest.mark.parametrize("application", sorted(CONSUMERS))
async def test_an_application_sees_exactly_its_departments_use_and_its_resources_use(
        gateway: Gateway, traffic: list[dict[str, Any]], application: str) -> None:
    department = CONSUMERS[application]
    nodes = await read_all(gateway, application)
    seen = {n["seq"] for n in nodes}
    assert seen == expected_scope(traffic, gateway.runtime.catalog, department)
    assert seen  # every demo department has some use in the traffic


async def test_a_provider_sees_the_use_of_its_resources_by_other_departments(
        gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    rs = await read_all(gateway, "rs-employment")
    assert any(n["department"] == "MZ" and {"key": "Person.insuranceStatus", "value": "RAW"} in n["fields"] for n in rs)
    assert not any(n["department"] == "MZ" and {f["key"] for f in n["fields"]} == {"Person.name", "Person.mobile"}
                   for n in rs)  # MZ's read of GA's fields only is not RS's business
    scjg = await read_all(gateway, "scjg-licensing")
    assert any(n["department"] == "FG" for n in scjg)  # FG read SCJG's registration
    assert not any(n["operation"] == "policy.mask_rule.set" for n in scjg)
    mz = await read_all(gateway, "mz-assistance")
    assert {n["department"] for n in mz} == {"MZ"}  # MZ provides nothing: only its own use


async def test_filters_narrow_the_scope_and_never_widen_it(gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    assert await read_all(gateway, "mz-assistance", {"department": "FG"}) == []
    assert await read_all(gateway, "mz-assistance", {"application": "scjg-licensing"}) == []
    own = await read_all(gateway, "rs-employment", {"department": "RS"})
    assert own and {n["department"] for n in own} == {"RS"}
    fg_by_mz = await read_all(gateway, "fg-credit", {"application": "mz-assistance"})
    assert fg_by_mz and all(n["application"] == "mz-assistance" for n in fg_by_mz)


async def test_filter_by_operation_outcome_purpose_coordinate_resource_and_subject(
        gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    checks = await read_all(gateway, "AUDITOR", {"operation": "check"})
    assert checks and all(n["operation"] == "check" for n in checks)
    refused = await read_all(gateway, "AUDITOR", {"outcome": "REFUSED", "application": "rs-employment"})
    assert refused and all(n["code"] == "PURPOSE_REQUIRED" for n in refused)
    purpose = await read_all(gateway, "AUDITOR", {"purpose": "MARKET_SUPERVISION"})
    assert {n["application"] for n in purpose} == {"fg-credit"}
    mobile = await read_all(gateway, "AUDITOR", {"coordinate": "Person.mobile"})
    assert {n["operation"] for n in mobile} == {"query", "policy.mask_rule.set"}
    name = await read_all(gateway, "AUDITOR", {"coordinate": "Person.name"})
    assert "check" in {n["operation"] for n in name}  # check:Person.name counts as touching Person.name
    license_use = await read_all(gateway, "AUDITOR", {"resource": "1-03-002-001/000001"})
    assert [n["application"] for n in license_use] == ["scjg-licensing"]
    [pseudonym] = {s for n in name if n["operation"] == "check" for s in n["subjects"]}
    by_subject = await read_all(gateway, "AUDITOR", {"subject": pseudonym})
    assert len(by_subject) >= 3 and all(pseudonym in n["subjects"] for n in by_subject)


async def test_time_range_by_date_and_datetime(gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    old = await read_all(gateway, "AUDITOR", {"to": "2020-01-01"})
    assert [n["requestId"] for n in old] == ["policy-change"]  # 08:00 CST on that day
    assert await read_all(gateway, "AUDITOR", {"to": "2020-01-01T07:59:59+08:00"}) == []
    exact = await read_all(gateway, "AUDITOR", {"from": "2020-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"})
    assert [n["requestId"] for n in exact] == ["policy-change"]  # both ends inclusive
    recent = await read_all(gateway, "AUDITOR", {"from": "2021-01-01"})
    assert "policy-change" not in {n["requestId"] for n in recent} and len(recent) >= len(traffic) - 1
    body = await read(gateway, "AUDITOR", {"from": "last tuesday"})
    assert codes(body) == {"BAD_USER_INPUT"}


async def test_pages_are_newest_first_with_opaque_cursors(gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    nodes = await read_all(gateway, "AUDITOR", first=2)
    seqs = [n["seq"] for n in nodes]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs) == len(traffic)
    body = await read(gateway, "AUDITOR", first=2)
    page = body["data"]["auditRecords"]
    assert page["pageInfo"]["hasNextPage"] and page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    assert str(page["edges"][-1]["node"]["seq"]) not in page["edges"][-1]["cursor"]  # opaque, not a bare number


@pytest.mark.parametrize(("first", "after"), [(0, None), (201, None), (10, "not-a-cursor"), (10, "YWJjOjE=")])
async def test_page_size_and_cursor_are_checked(gateway: Gateway, first: int, after: str | None) -> None:
    body = await read(gateway, "AUDITOR", first=first, after=after)
    assert codes(body) == {"BAD_USER_INPUT"} and body["data"] is None


async def test_each_node_holds_with_its_hash(gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    algorithm = gateway.runtime.audit.algorithm
    for node in await read_all(gateway, "fg-credit"):
        assert chain_hash(node["prevHash"], node["body"].encode(), algorithm) == node["hash"]


async def test_reading_the_trail_needs_an_operator_but_no_purpose(gateway: Gateway) -> None:
    body = await gateway.query(READ, app_id="mz-assistance", purpose=None, operator=None)
    assert codes(body) == {"OPERATOR_REQUIRED"}
    body = await gateway.query(READ, app_id=None, purpose=None, operator=None)
    assert codes(body) == {"UNAUTHENTICATED"}
    body = await gateway.query(READ, app_id="mz-assistance", purpose=None)
    assert "errors" not in body


async def test_reading_the_trail_is_itself_audited(gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    body = await read(gateway, "AUDITOR", first=3)
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["request_id"] == body["extensions"]["requestId"]
    assert record["operation"] == "audit" and record["outcome"] == "SERVED"
    assert record["application"] == "sj-auditor" and record["operator"] == "sj-zhoumin"
    assert record["rows"] == {"audit_records": 3}
    await read(gateway, "fg-credit", first=3)
    [own] = await gateway.runtime.audit.records(limit=1)
    nodes = await read_all(gateway, "fg-credit", {"operation": "audit"})
    assert own["seq"] in {n["seq"] for n in nodes}  # an application sees its own reads of the trail
    assert record["seq"] not in {n["seq"] for n in nodes}  # and not the auditor's


async def test_the_scope_follows_the_role_in_the_store(gateway: Gateway, traffic: list[dict[str, Any]]) -> None:
    from sqlalchemy import update

    from store import tables as t

    async with gateway.runtime.store_engine.begin() as conn:
        await conn.execute(update(t.applications).where(t.applications.c.id == "mz-assistance").values(role="AUDITOR"))
    nodes = await read_all(gateway, "mz-assistance")
    assert len(nodes) >= len(traffic) and {"FG", "SCJG"} <= {n["department"] for n in nodes}


async def pages(gateway: Gateway, who: str, flt: dict[str, Any], first: int,
                after: str | None = None) -> list[dict[str, Any]]:
    """Every page as answered (edges and pageInfo), following the cursors."""
    answered: list[dict[str, Any]] = []
    for _ in range(200):
        body = await read(gateway, who, flt, first, after)
        assert "errors" not in body, body
        page = body["data"]["auditRecords"]
        answered.append({"edges": page["edges"], "pageInfo": page["pageInfo"]})
        if not page["pageInfo"]["hasNextPage"]:
            return answered
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the pages did not end")


WINDOWS: list[dict[str, str]] = [{}, {"from": "2021-01-01"}, {"to": "2020-01-01"}, {"from": "2020-01-01", "to": "2020-01-01"}]


@pytest.mark.parametrize("window", WINDOWS)
async def test_an_application_outside_the_scope_reads_like_one_that_does_not_exist(
        gateway: Gateway, traffic: list[dict[str, Any]], window: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """hasNextPage and endCursor must not say whether or when another department's application was active."""
    import audit.query

    for _ in range(3):  # FG's application active over a stretch of the trail, longer than a short page scans
        await gateway.query('{ enterprise(creditCode: "%s") { creditRating } }' % gateway.sample_code,
                            app_id="fg-credit", purpose="MARKET_SUPERVISION")
        await gateway.query('{ person(idNumber: "%s") { name } }' % gateway.sample_id)  # MZ's own
    [newest] = await gateway.runtime.audit.records(limit=1)
    for first in (1, 2, 200):
        outsider = await pages(gateway, "mz-assistance", {"application": "fg-credit", **window}, first)
        unknown = await pages(gateway, "mz-assistance", {"application": "no-such-app", **window}, first)
        assert outsider == unknown == [{"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}]
    monkeypatch.setattr(audit.query, "PAGE_SCAN_BUDGET", 2)  # a long trail, as a short page sees it
    # Each read adds its own record to the trail: both start below the same point to compare alike.
    start = base64.urlsafe_b64encode(f"audit:{newest['seq'] + 1}".encode()).decode()
    outsider = await pages(gateway, "mz-assistance", {"application": "fg-credit", **window}, 1, start)
    unknown = await pages(gateway, "mz-assistance", {"application": "no-such-app", **window}, 1, start)
    assert outsider == unknown and all(p["edges"] == [] for p in outsider)
    provider = await pages(gateway, "scjg-licensing", {"application": "fg-credit", **window}, 1)  # FG read SCJG's
    if not window:
        assert any(p["edges"] for p in provider)


async def test_a_department_reads_the_changes_to_its_own_webhook(gateway: Gateway, settings: Any) -> None:
    from gateway.push import register_webhook

    await register_webhook(settings, "RS", "https://93.184.215.14/rs", operator="sj-zhoumin")
    rs = await read_all(gateway, "rs-employment", {"operation": "audit.webhook.set"})
    assert [n["fields"] for n in rs] == [[{"key": "webhook:RS", "value": "POLICY"}]]
    assert rs[0]["operator"] == "sj-zhoumin"
    assert await read_all(gateway, "fg-credit", {"operation": "audit.webhook.set"}) == []


async def test_a_subject_lookup_is_audited_with_its_operator_and_never_the_key(gateway: Gateway, data_dir: Any) -> None:
    import subprocess
    import sys

    def subject(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gateway", "audit", "subject", *args, "--data-dir", str(data_dir)],
                              input=stdin, capture_output=True, text=True, timeout=120)

    key = gateway.sample_id
    assert subject(key).returncode == 2  # --operator is required
    refused = subject(key, "--operator", "nobody")
    assert refused.returncode == 2 and refused.stdout == "" and "operator" in refused.stderr
    found = subject("-", "--operator", "sj-zhoumin", stdin=key + "\n")  # the key on stdin: not in argv or history
    assert found.returncode == 0, found.stderr
    pseudonym = found.stdout.strip()
    assert pseudonym and subject(key, "--operator", "sj-zhoumin").stdout.strip() == pseudonym
    lookups = [r for r in await gateway.runtime.audit.records(limit=10) if r["operation"] == "audit.subject"]
    assert len(lookups) == 2 and all(r["operator"] == "sj-zhoumin" and r["subjects"] == [pseudonym] for r in lookups)
    assert key not in str(lookups) and key[:-1] not in str(lookups)
    nodes = await read_all(gateway, "AUDITOR", {"subject": pseudonym, "operation": "audit.subject"})
    assert len(nodes) == 2  # an auditor finds who looked the person up
    assert subject("not-a-key", "--operator", "sj-zhoumin").returncode == 1
