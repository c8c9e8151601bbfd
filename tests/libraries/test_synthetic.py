"""The synthetic libraries: valid check digits, coherent records, samples everywhere, and the
same rows for the same seed (on SQLite, and on PostgreSQL when a server answers)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from stdnum import luhn
from stdnum.cn import ric, uscc

from libraries.synthetic import (
    CONTRIBUTION_PERIODS,
    LIBRARIES,
    LONG_TERM,
    REFERENCE_DATE,
    REPORT_YEAR,
    TABLES,
    Samples,
    enterprise_count,
    populate,
)
from libraries.synthetic_codes import add_years, org_code_check, years_between
from libraries.synthetic_divisions import divisions
from libraries.synthetic_vocab import BANK_BINS, MOBILE_PREFIXES
from libraries.tables import library_metadata
from schema.catalog import Catalog
from schema.loader import load_catalog
from tests.postgres import temporary_databases

PERSONS = 2_000
SEED = 20_240_601

Rows = dict[str, list[dict[str, Any]]]
PERSON_TABLES = ("person_basic", "person_license", "person_dishonesty", "social_insurance", "contribution_record")
ENTERPRISE_TABLES = (
    "enterprise_registration",
    "enterprise_annual_report",
    "enterprise_license",
    "enterprise_credit_rating",
    "administrative_penalty",
)
KEY = {
    "person_license": "holder_id_number",
    "enterprise_license": "holder_credit_code",
}


def _key(table: str) -> str:
    if table in KEY:
        return KEY[table]
    return "id_number" if table in PERSON_TABLES else "credit_code"


def sqlite_engines(directory: Path) -> dict[str, AsyncEngine]:
    directory.mkdir(parents=True, exist_ok=True)
    return {code: create_async_engine(f"sqlite+aiosqlite:///{directory}/{code}.sqlite") for code in LIBRARIES}


async def read_all(catalog: Catalog, engines: dict[str, AsyncEngine]) -> Rows:
    rows: Rows = {}
    for code, engine in engines.items():
        metadata, _ = library_metadata(catalog, code)
        async with engine.connect() as conn:
            for name, table in metadata.tables.items():
                result = await conn.execute(select(table).order_by(table.c.row_id))
                rows[name] = [dict(r) for r in result.mappings()]
    return rows


async def build(
    catalog: Catalog, engines: dict[str, AsyncEngine], persons: int, seed: int
) -> tuple[Samples, Rows, list[tuple[str, int, int]]]:
    calls: list[tuple[str, int, int]] = []
    try:
        samples = await populate(
            catalog, engines, persons=persons, seed=seed, progress=lambda *call: calls.append(call)
        )
        rows = await read_all(catalog, engines)
    finally:
        for engine in engines.values():
            await engine.dispose()
    return samples, rows, calls


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def built(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> tuple[Samples, Rows, list[tuple[str, int, int]]]:
    engines = sqlite_engines(tmp_path_factory.mktemp("synthetic"))
    return asyncio.run(build(catalog, engines, PERSONS, SEED))


@pytest.fixture(scope="module")
def rows(built: tuple[Samples, Rows, list[tuple[str, int, int]]]) -> Rows:
    return built[1]


@pytest.fixture(scope="module")
def samples(built: tuple[Samples, Rows, list[tuple[str, int, int]]]) -> Samples:
    return built[0]


def test_counts(rows: Rows) -> None:
    enterprises = enterprise_count(PERSONS)
    assert len(rows["person_basic"]) == PERSONS
    assert len(rows["person_dishonesty"]) == PERSONS
    assert len(rows["enterprise_registration"]) == enterprises
    assert len(rows["enterprise_annual_report"]) == enterprises
    assert len(rows["enterprise_credit_rating"]) == enterprises
    for table in TABLES:
        assert rows[table], f"{table} is empty"


def test_id_numbers_are_valid_unique_and_match_the_person(rows: Rows) -> None:
    people = rows["person_basic"]
    assert len({p["id_number"] for p in people}) == len(people)
    for p in people:
        number = p["id_number"]
        assert ric.validate(number) == number
        assert p["gender"] == ("男" if int(number[16]) % 2 else "女"), number
        assert p["birth_date"] == ric.get_birth_date(number)
        assert date(1940, 1, 1) <= p["birth_date"] <= date(2015, 12, 31)
        assert p["birth_place_code"] == number[:6]


def test_persons_are_coherent(rows: Rows) -> None:
    places = divisions().by_code()
    places_by_province = {d.code[:2]: d.province for d in places.values()}
    for p in rows["person_basic"]:
        assert 2 <= len(p["name"]) <= 4
        # Where the person lives: the birth place, or near it if its code has been abolished.
        residence = places.get(p["birth_place_code"])
        assert p["address"].startswith(residence.place if residence else places_by_province[p["birth_place_code"][:2]])
        age = years_between(p["birth_date"], REFERENCE_DATE)
        if age < 20:
            assert p["marital_status"] == "未婚"
        assert p["marital_status"] in ("未婚", "已婚", "离婚", "丧偶")
        assert p["ethnicity"].endswith("族")
        if p["email"] is not None:
            local, domain = p["email"].split("@")
            assert local.isascii() and domain in ("qq.com", "163.com", "126.com", "sina.com", "outlook.com")
        if p["home_phone"] is not None:
            area, number = p["home_phone"].split("-")
            assert area.startswith("0") and len(area) in (3, 4) and number.isdigit() and len(number) in (7, 8)
    shares = Counter(p["ethnicity"] for p in rows["person_basic"])
    assert 0.8 < shares["汉族"] / PERSONS < 0.97
    assert 0.4 < sum(p["home_phone"] is not None for p in rows["person_basic"]) / PERSONS < 0.6
    assert 0.5 < sum(p["email"] is not None for p in rows["person_basic"]) / PERSONS < 0.7


def test_mobiles_have_eleven_digits_and_a_listed_prefix(rows: Rows) -> None:
    mobiles = [p["mobile"] for p in rows["person_basic"]]
    assert len(set(mobiles)) == len(mobiles)
    for mobile in mobiles:
        assert len(mobile) == 11 and mobile.isdigit() and mobile[:3] in MOBILE_PREFIXES, mobile


def test_credit_codes_are_valid_and_unique(rows: Rows) -> None:
    places = divisions().by_code()
    registrations = rows["enterprise_registration"]
    assert len({e["credit_code"] for e in registrations}) == len(registrations)
    assert len({e["name"] for e in registrations}) == len(registrations)
    for e in registrations:
        code = e["credit_code"]
        assert uscc.validate(code) == code
        assert code[:2] == "91" and code[2:8] in places
        assert org_code_check(code[8:16]) == code[16], code  # GB 11714
        assert e["registered_address"].startswith(places[code[2:8]].place)
        assert e["name"].endswith(("有限公司", "经营部", "合伙企业（有限合伙）"))
        assert e["registered_capital"] > 0 and e["registered_capital"] == round(e["registered_capital"], 2)


def test_legal_representatives_are_adult_persons_of_the_population(rows: Rows) -> None:
    names = {p["id_number"]: p for p in rows["person_basic"]}
    for e in rows["enterprise_registration"]:
        person = names[e["legal_representative_id_number"]]
        assert person["name"] == e["legal_representative"]
        assert years_between(person["birth_date"], e["established_on"]) >= 18


def test_samples_are_in_every_table_of_their_entity(rows: Rows, samples: Samples) -> None:
    assert len(samples.id_numbers) == len(set(samples.id_numbers)) == 5
    assert len(samples.credit_codes) == len(set(samples.credit_codes)) == 5
    for table in PERSON_TABLES:
        keys = {r[_key(table)] for r in rows[table]}
        assert set(samples.id_numbers) <= keys, table
    for table in ENTERPRISE_TABLES:
        keys = {r[_key(table)] for r in rows[table]}
        assert set(samples.credit_codes) <= keys, table
    born = {p["id_number"]: p["birth_date"] for p in rows["person_basic"]}
    for number in samples.id_numbers:
        assert years_between(born[number], REFERENCE_DATE) >= 18
    representatives = {e["credit_code"]: e["legal_representative_id_number"] for e in rows["enterprise_registration"]}
    assert [representatives[c] for c in samples.credit_codes] == samples.id_numbers


def test_person_keyed_records_belong_to_persons(rows: Rows) -> None:
    persons = {p["id_number"] for p in rows["person_basic"]}
    for table in PERSON_TABLES[1:]:
        assert {r[_key(table)] for r in rows[table]} <= persons, table
    enterprises = {e["credit_code"] for e in rows["enterprise_registration"]}
    for table in ENTERPRISE_TABLES[1:]:
        assert {r[_key(table)] for r in rows[table]} <= enterprises, table


def test_licences(rows: Rows) -> None:
    licences = rows["person_license"]
    for lic in licences:
        assert lic["valid_until"] > lic["issued_on"]
        assert lic["issued_on"] <= REFERENCE_DATE
        if lic["license_type"] == "机动车驾驶证":
            assert lic["license_number"] == lic["holder_id_number"]
    holders = Counter(lic["holder_id_number"] for lic in licences)
    assert max(holders.values()) <= 2
    assert 0.3 < len(holders) / PERSONS < 0.5
    business = [lic for lic in rows["enterprise_license"] if lic["license_type"] == "营业执照"]
    assert {lic["holder_credit_code"] for lic in business} == {e["credit_code"] for e in rows["enterprise_registration"]}
    for lic in rows["enterprise_license"]:
        assert lic["valid_until"] > lic["issued_on"]
        if lic["license_type"] == "营业执照":
            assert lic["license_number"] == lic["holder_credit_code"]
        if lic["license_type"] == "食品经营许可证":
            assert lic["license_number"][:2] == "JY" and lic["license_number"][2:].isdigit()
            assert len(lic["license_number"]) == 16
    assert any(lic["valid_until"] == LONG_TERM for lic in licences)


def test_credit_records(rows: Rows) -> None:
    ratings = Counter(r["credit_rating"] for r in rows["enterprise_credit_rating"])
    assert set(ratings) <= set("ABCD") and ratings["A"] + ratings["B"] > len(rows["enterprise_credit_rating"]) / 2
    penalized = {p["credit_code"] for p in rows["administrative_penalty"]}
    assert 0.05 < len(penalized) / enterprise_count(PERSONS) < 0.25
    for p in rows["administrative_penalty"]:
        assert p["decision_number"].endswith("号") and f"〔{p['decided_on'].year}〕" in p["decision_number"]
        assert p["fine_amount"] >= 0 and p["decided_on"] <= REFERENCE_DATE
    listed = [d for d in rows["person_dishonesty"] if d["dishonest_debtor"]]
    assert 0.005 < len(listed) / PERSONS < 0.05
    for d in rows["person_dishonesty"]:
        assert (d["dishonest_since"] is not None) == d["dishonest_debtor"]
    for report in rows["enterprise_annual_report"]:
        assert report["report_year"] == REPORT_YEAR
        assert 0 <= report["tax_paid"] < report["annual_revenue"]


def test_social_insurance(rows: Rows) -> None:
    born = {p["id_number"]: p["birth_date"] for p in rows["person_basic"]}
    enterprises = {e["credit_code"]: e["name"] for e in rows["enterprise_registration"]}
    bins = {b for b, _ in BANK_BINS}
    insured = {}
    for r in rows["social_insurance"]:
        age = years_between(born[r["id_number"]], REFERENCE_DATE)
        assert 16 <= age <= 70
        assert r["insured_since"] >= add_years(born[r["id_number"]], 16)
        assert Decimal(3000) <= r["contribution_base"] <= Decimal(35000)
        assert len(r["bank_account"]) == 19 and r["bank_account"][:6] in bins
        assert luhn.is_valid(r["bank_account"]), r["bank_account"]
        assert r["employer_credit_code"] in enterprises
        insured[r["id_number"]] = r
    eligible = sum(16 <= years_between(b, REFERENCE_DATE) <= 70 for b in born.values())
    assert 0.7 < len(insured) / eligible < 0.9
    for c in rows["contribution_record"]:
        insurance = insured[c["id_number"]]
        assert insurance["insurance_status"] == "参保缴费"
        assert c["period"] in CONTRIBUTION_PERIODS and c["insurance_type"] == "养老保险"
        assert c["amount"] == (insurance["contribution_base"] * Decimal("0.08")).quantize(Decimal("0.01"))
        assert c["employer_name"] == enterprises[insurance["employer_credit_code"]]


def test_progress_reaches_every_total(built: tuple[Samples, Rows, list[tuple[str, int, int]]]) -> None:
    calls = built[2]
    last = {stage: (done, total) for stage, done, total in calls}
    assert last == {
        "tables": (5, 5),
        "persons": (PERSONS, PERSONS),
        "enterprises": (enterprise_count(PERSONS), enterprise_count(PERSONS)),
    }
    for stage in last:
        done = [d for s, d, _ in calls if s == stage]
        assert done == sorted(done)


@pytest.mark.asyncio
async def test_same_seed_same_rows_other_seed_other_rows(catalog: Catalog, tmp_path: Path) -> None:
    first = await build(catalog, sqlite_engines(tmp_path / "a"), 300, 5)
    again = await build(catalog, sqlite_engines(tmp_path / "b"), 300, 5)
    other = await build(catalog, sqlite_engines(tmp_path / "c"), 300, 6)
    assert first[0] == again[0]
    assert first[1] == again[1]
    assert other[0] != first[0]
    for table in TABLES:
        assert other[1][table] != first[1][table], table


def _digest(samples: Samples, rows: Rows) -> str:
    return hashlib.sha256(repr((samples, sorted(rows.items()))).encode()).hexdigest()


_DIGEST_SCRIPT = """
import asyncio, sys
from pathlib import Path
from tests.libraries.test_synthetic import _digest, build, sqlite_engines
from schema.loader import load_catalog
samples, rows, _ = asyncio.run(build(load_catalog(), sqlite_engines(Path(sys.argv[1])), 200, 3))
print(_digest(samples, rows))
"""


@pytest.mark.asyncio
async def test_same_rows_in_another_process_with_another_hash_seed(catalog: Catalog, tmp_path: Path) -> None:
    samples, rows, _ = await build(catalog, sqlite_engines(tmp_path / "here"), 200, 3)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    there = subprocess.run(
        [sys.executable, "-c", _DIGEST_SCRIPT, str(tmp_path / "there")],
        cwd=root, env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    assert there.stdout.strip() == _digest(samples, rows)


@pytest.mark.asyncio
async def test_refuses_filled_tables_unless_replacing(catalog: Catalog, tmp_path: Path) -> None:
    engines = sqlite_engines(tmp_path)
    try:
        first = await populate(catalog, engines, persons=20, seed=1)
        with pytest.raises(ValueError, match="already holds"):
            await populate(catalog, engines, persons=20, seed=1)
        assert await populate(catalog, engines, persons=20, seed=1, replace=True) == first
        async with engines["population"].connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM person_basic")) == 20
        with pytest.raises(ValueError, match="at least"):
            await populate(catalog, engines, persons=4, seed=1, replace=True)
    finally:
        for engine in engines.values():
            await engine.dispose()




@pytest.fixture
def postgres_urls() -> Iterator[dict[str, str]]:
    with temporary_databases("synthetic", LIBRARIES) as urls:
        yield urls


@pytest.mark.postgres
def test_postgres_gets_the_same_rows_as_sqlite(catalog: Catalog, postgres_urls: dict[str, str], tmp_path: Path) -> None:
    on_postgres = asyncio.run(
        build(catalog, {code: create_async_engine(url) for code, url in postgres_urls.items()}, 300, 9)
    )
    on_sqlite = asyncio.run(build(catalog, sqlite_engines(tmp_path), 300, 9))
    assert on_postgres[0] == on_sqlite[0]
    for table in TABLES:
        assert on_postgres[1][table] == on_sqlite[1][table], table
