"""Every request, served or refused, leaves exactly one audit record, committed before the
answer leaves; if it cannot be written, no data leaves."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from tests.support import Gateway, codes


async def test_served_request_is_recorded_with_fields_and_rows(gateway: Gateway) -> None:
    body = await gateway.query('{ person(idNumber: "%s") { name mobile maritalStatus religion } }' % gateway.sample_id)
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["request_id"] == body["extensions"]["requestId"]
    assert record["application"] == "mz-assistance" and record["department"] == "MZ"
    assert record["operator"] == "mz-wangli" and record["purpose"] == "SOCIAL_ASSISTANCE_REVIEW"
    assert record["fields"] == {"Person.name": "RAW", "Person.mobile": "RAW", "Person.maritalStatus": "RAW",
                                "Person.religion": "DENIED"}
    assert record["denied"] == {"Person.religion": "FIELD_NOT_SHARED"}
    assert record["outcome"] == "PARTIAL" and record["rows"] == {"1-01-001-001/000001": 1}
    assert record["policy_version"] == body["extensions"]["policyVersion"]
    assert record["grants"] == ["G-MZ-0001"]  # the grant that served mobile and maritalStatus


async def test_refused_request_is_recorded_with_its_code(gateway: Gateway) -> None:
    before = len(await gateway.runtime.audit.records(limit=1000))
    body = await gateway.query('{ person(idNumber: "%s") { name } }' % gateway.sample_id, purpose=None)
    records = await gateway.runtime.audit.records(limit=1000)
    assert len(records) == before + 1
    assert records[0]["outcome"] == "REFUSED" and records[0]["code"] == "PURPOSE_REQUIRED"
    assert records[0]["request_id"] == body["extensions"]["requestId"]
    assert records[0]["rows"] == {}
    assert records[0]["operator"] == "mz-wangli"  # who tried, though refused


async def test_an_unregistered_operator_header_is_never_stored_raw(gateway: Gateway) -> None:
    for claimed in (gateway.sample_id, "=HYPERLINK(\"http://x\")"):
        body = await gateway.query('{ person(idNumber: "%s") { name } }' % gateway.sample_id, operator=claimed)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        [record] = await gateway.runtime.audit.records(limit=1)
        assert record["operator"] == "(unregistered)" and claimed not in json.dumps(record, ensure_ascii=False)


async def test_audit_record_holds_no_data_value(gateway: Gateway) -> None:
    body = await gateway.query('{ person(idNumber: "%s") { name mobile address } }' % gateway.sample_id)
    person = body["data"]["person"]
    [record] = await gateway.runtime.audit.records(limit=1)
    text = json.dumps(record, ensure_ascii=False)
    for value in (gateway.sample_id, person["name"], person["mobile"], person["address"]):
        assert value not in text


async def test_broken_audit_store_yields_no_data(gateway: Gateway, tmp_path: Path) -> None:
    audit = gateway.runtime.audit
    await audit.engine.dispose()
    audit.engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/audit.sqlite")
    audit._tail = None
    response = await gateway.client.post(
        "/graphql", json={"query": '{ person(idNumber: "%s") { name mobile } }' % gateway.sample_id},
        headers=gateway.headers("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"))
    assert response.status_code == 503
    body = response.json()
    assert codes(body) == {"AUDIT_UNAVAILABLE"}
    assert "data" not in body
    assert gateway.sample_id not in response.text


async def test_audit_verify_detects_an_edited_record(gateway: Gateway, data_dir: Path) -> None:
    for _ in range(3):
        await gateway.query('{ person(idNumber: "%s") { name } }' % gateway.sample_id)
    ok = subprocess.run([sys.executable, "-m", "gateway", "audit", "verify", "--data-dir", str(data_dir)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "3 records" in ok.stdout
    with sqlite3.connect(data_dir / "audit.sqlite") as conn:
        conn.execute("UPDATE audit_records SET body = replace(body, 'mz-wangli', 'mz-zhaoqiang') WHERE seq = 2")
    bad = subprocess.run([sys.executable, "-m", "gateway", "audit", "verify", "--data-dir", str(data_dir)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "record 2" in bad.stdout
