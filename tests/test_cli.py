"""The command line: help, schema print, deterministic demo credentials."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_every_command() -> None:
    result = gateway("--help")
    assert result.returncode == 0
    for command in ("demo", "serve", "schema", "audit", "catalog", "masking"):
        assert command in result.stdout


def test_schema_print_writes_the_generated_sdl(built_demo: Path) -> None:
    result = gateway("schema", "print", "--data-dir", str(built_demo))
    assert result.returncode == 0
    sdl = result.stdout
    assert "type Person {" in sdl and "type Enterprise {" in sdl
    assert "person(idNumber: ID!): Person" in sdl
    assert "checkPerson(idNumber: ID!, claims: PersonClaims!): CheckResult!" in sdl
    assert ("populationRecords(first: Int! = 20, after: String = null, where: PopulationRecordsWhere = null, "
            "orderBy: [PopulationRecordsOrder!] = null): PersonConnection!") in sdl
    assert "populationRecordsGroups(groupBy: [PopulationRecordsField!]!" in sdl


def test_demo_credentials_are_deterministic_for_a_seed(built_demo: Path, tmp_path: Path) -> None:
    import asyncio

    from demo.build import build_demo
    from gateway.settings import Settings

    asyncio.run(build_demo(Settings.from_env({}, data_dir=tmp_path), persons=300, seed=7))
    first = json.loads((built_demo / "demo-credentials.json").read_text(encoding="utf-8"))
    second = json.loads((tmp_path / "demo-credentials.json").read_text(encoding="utf-8"))
    assert first == second


def test_masking_rules_are_set_listed_explained_and_removed(data_dir: Path) -> None:
    where = ("--data-dir", str(data_dir))
    done = gateway("masking", "set", "Person.mobile", "partial( head=2, tail=2 )", "--purpose", "ADMINISTRATIVE_BASIS",
                   "--note", "stricter for licensing", "--operator", "sj-zhoumin", *where)
    assert done.returncode == 0, done.stderr
    assert "Person.mobile  purpose ADMINISTRATIVE_BASIS  partial(head=2,tail=2)" in done.stdout
    listed = gateway("masking", "rules", *where).stdout
    assert "partial(head=2,tail=2)\t# stricter for licensing" in listed and "default\tSENSITIVE_PERSONAL" in listed
    explained = gateway("masking", "explain", "scjg-licensing", "ADMINISTRATIVE_BASIS", "Person.mobile", *where).stdout
    assert "Person.mobile: MASKED (GRANT_REQUIRED)" in explained and "rule: partial(head=2,tail=2)  (from rule:1)" in explained
    assert gateway("masking", "unset", "Person.mobile", "--purpose", "ADMINISTRATIVE_BASIS", "--operator", "sj-zhoumin",
                   *where).returncode == 0
    assert "rule: mobile  (from catalog)" in gateway("masking", "explain", "scjg-licensing", "ADMINISTRATIVE_BASIS",
                                                     "Person.mobile", *where).stdout


def test_a_rule_that_does_not_fit_is_refused_with_its_reason(data_dir: Path) -> None:
    refused = gateway("masking", "set", "Person.religion", "redact", "--operator", "sj-zhoumin", "--data-dir", str(data_dir))
    assert refused.returncode == 1 and "NOT_SHARED" in refused.stderr
    unknown = gateway("masking", "set", "Person.mobile", "mobile(head=99)", "--operator", "sj-zhoumin",
                      "--data-dir", str(data_dir))
    assert unknown.returncode == 1 and "head" in unknown.stderr
