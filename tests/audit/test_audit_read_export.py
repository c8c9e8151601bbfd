"""`gateway audit export`: NDJSON that verifies offline by the chain, flattened CSV, and an
application's scope with --as; the export is itself audited."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.chain import chain_hash
from audit.query import CSV_COLUMNS
from tests.support import Gateway

MZ_READS_GA = '{ person(idNumber: "%s") { name mobile } }'
MZ_READS_FG = '{ person(idNumber: "%s") { dishonestDebtor } }'


def gateway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
async def traffic(gateway: Gateway) -> list[dict[str, Any]]:
    await gateway.query(MZ_READS_GA % gateway.sample_id)
    await gateway.query(MZ_READS_FG % gateway.sample_id)
    await gateway.query('{ enterprise(creditCode: "%s") { creditRating } }' % gateway.sample_code, app_id="fg-credit",
                        purpose="MARKET_SUPERVISION")
    await gateway.query('{ enterprise(creditCode: "%s") { name } }' % gateway.sample_code, app_id="scjg-licensing",
                        purpose="WORK_REFERENCE")
    records: list[dict[str, Any]] = await gateway.runtime.audit.records(limit=1000)
    return records


def ndjson(data_dir: Path, *args: str) -> list[str]:
    result = gateway_cli("audit", "export", "--format", "ndjson", "--data-dir", str(data_dir), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


async def test_ndjson_export_verifies_offline_by_the_chain(gateway: Gateway, traffic: list[dict[str, Any]],
                                                           data_dir: Path) -> None:
    lines = ndjson(data_dir)
    assert len(lines) == len(traffic) + 1  # and the export's own record, written before any record left
    algorithm = gateway.runtime.audit.algorithm
    prev = "0" * 64
    for line in lines:
        row = json.loads(line)
        assert list(row) == ["seq", "hash", "prev_hash", "record"]
        raw = line[line.index('"record":') + len('"record":'):-1]  # the stored bytes, verbatim
        assert raw == json.dumps(row["record"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row["prev_hash"] == prev and chain_hash(prev, raw.encode(), algorithm) == row["hash"]
        prev = row["hash"]
    assert json.loads(lines[-1])["record"]["operation"] == "audit.export"
    assert [json.loads(line)["seq"] for line in lines] == sorted(json.loads(line)["seq"] for line in lines)


async def test_csv_export_flattens_each_record(gateway: Gateway, traffic: list[dict[str, Any]], data_dir: Path) -> None:
    out = data_dir / "audit.csv"
    result = gateway_cli("audit", "export", "--format", "csv", "--application", "mz-assistance", "--out", str(out),
                         "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert {r["application"] for r in records} == {"mz-assistance"} and len(records) == 2
    ga = next(r for r in records if "Person.mobile" in r["fields"])
    assert ga["fields"] == "Person.mobile=RAW;Person.name=RAW" and ga["rows"] == "1-01-001-001/000001=1"
    assert ga["grants"] == "G-MZ-0001" and ga["department"] == "MZ" and ga["purpose"] == "SOCIAL_ASSISTANCE_REVIEW"
    assert int(ga["seq"]) > 0 and len(ga["hash"]) == 64


async def test_export_as_an_application_applies_its_scope(gateway: Gateway, traffic: list[dict[str, Any]],
                                                          data_dir: Path) -> None:
    records = [json.loads(line)["record"] for line in ndjson(data_dir, "--as", "fg-credit")]
    fields = [set(r["fields"]) for r in records]
    assert {"Person.dishonestDebtor"} in fields  # MZ's use of FG's resource
    assert {"Person.name", "Person.mobile"} not in fields  # MZ's use of GA's: not FG's business
    assert {r["department"] for r in records} == {"MZ", "FG"}
    assert records[-1]["operation"] == "audit.export" and records[-1]["application"] == "fg-credit"
    auditor = next(a["application"] for a in gateway.credentials["admins"] if a["role"] == "AUDITOR")
    assert len(ndjson(data_dir, "--as", auditor)) > len(records)  # an auditor's export holds every record


async def test_export_filters_by_time_and_refuses_what_it_cannot_use(gateway: Gateway, traffic: list[dict[str, Any]],
                                                                     data_dir: Path) -> None:
    assert ndjson(data_dir, "--to", "2020-01-01") == []
    assert len(ndjson(data_dir, "--from", "2020-01-01", "--department", "MZ")) == 2
    unknown = gateway_cli("audit", "export", "--format", "ndjson", "--as", "nobody", "--data-dir", str(data_dir))
    assert unknown.returncode == 2 and "no application 'nobody'" in unknown.stderr
    bad = gateway_cli("audit", "export", "--format", "ndjson", "--from", "soon", "--data-dir", str(data_dir))
    assert bad.returncode == 2 and "not an ISO date" in bad.stderr
