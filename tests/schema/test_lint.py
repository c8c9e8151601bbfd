"""The catalog lint flags fields that look personal but are labelled NONE, and only those."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine
from stdnum.cn import ric
from typer.testing import CliRunner

from gateway.cli import app
from gateway.runtime import make_engine
from gateway.settings import Settings
from libraries.tables import library_metadata
from masking.free_text import PERSONAL_KINDS
from resolvers.datasource import LibrarySource, library_sources
from schema.catalog import Catalog, Sensitivity
from schema.lint import NAME_RULES, VALUE_KINDS, Finding, lint, lint_names, lint_samples
from schema.loader import load_catalog, parse_documents
from store import repository
from tests.support import remove_library

PERSON_FIELDS = """
  [[resources.fields]]
  name = "idNumber"
  title = "公民身份号码"
  type = "STRING"
  share = "CONDITIONAL"
  sensitivity = "SENSITIVE_PERSONAL"
  mask = "idNumber"
"""

ENTERPRISE = """
[library]
code = "legal_entity"
name = "法人基础库"

[[resources]]
code = "1-02-001-001/000001"
name = "企业登记信息"
provider = "SCJG"
share_class = "UNCONDITIONAL"
published_on = "2024-01-15"
entity = "Enterprise"
anchor = true
table = "enterprise_registration"
key_column = "credit_code"
list_field = "enterpriseRegistrations"

  [[resources.fields]]
  name = "legalRepresentative"
  title = "法定代表人姓名"
  type = "STRING"
  share = "UNCONDITIONAL"

  [[resources.fields]]
  name = "registeredAddress"
  title = "住所"
  type = "STRING"
  share = "UNCONDITIONAL"
"""


def field(name: str, title: str, extra: str = "", data_type: str = "STRING") -> str:
    return f"""
  [[resources.fields]]
  name = "{name}"
  title = "{title}"
  type = "{data_type}"
  share = "CONDITIONAL"
{extra}"""


def catalog(*fields: str) -> Catalog:
    """A population library with one Person resource holding `fields`, beside a small enterprise."""
    population = f"""
[library]
code = "population"
name = "人口基础库"

[[resources]]
code = "1-01-001-001/000001"
name = "人口基本信息"
provider = "GA"
share_class = "CONDITIONAL"
published_on = "2024-01-01"
entity = "Person"
anchor = true
table = "person_basic"
key_column = "id_number"
list_field = "populationRecords"
{PERSON_FIELDS}{"".join(fields)}"""
    return parse_documents([("population.toml", tomllib.loads(population)), ("legal_entity.toml", tomllib.loads(ENTERPRISE))])


def id_number(seq: int) -> str:
    body = f"11010119900307{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


# Names and titles ------------------------------------------------------------------------------


def test_a_mislabelled_contact_phone_is_flagged_by_name() -> None:
    findings = lint_names(catalog(field("contactPhone", "联系电话")))
    assert findings == [
        Finding("Person.contactPhone", "1-01-001-001/000001", "name",
                "name 'contactPhone' looks like a mobile or phone number, labelled NONE", Sensitivity.PERSONAL, "mobile"),
    ]
    assert str(findings[0]) == (
        "Person.contactPhone [1-01-001-001/000001] name: name 'contactPhone' looks like a mobile or phone number, "
        "labelled NONE; suggest sensitivity PERSONAL, mask mobile"
    )


def test_a_labelled_field_is_not_flagged() -> None:
    labelled = field("contactPhone", "联系电话", 'sensitivity = "PERSONAL"\nmask = "mobile"')
    assert lint_names(catalog(labelled)) == []


def test_a_sensitive_field_without_a_mask_rule_is_flagged() -> None:
    findings = lint_names(catalog(field("holderName", "持证人姓名", 'sensitivity = "PERSONAL"')))
    assert [(f.coordinate, f.mask_rule) for f in findings] == [("Person.holderName", "name")]
    assert "labelled PERSONAL without a mask rule" in findings[0].detail


@pytest.mark.parametrize(
    ("name", "title", "mask_rule"),
    [
        ("lxdh", "联系电话", "mobile"),  # a pinyin abbreviation: the title gives it away
        ("sfzh", "证件号", "idNumber"),
        ("cardNo", "卡号", "bankCard"),
        ("settlementAccount", "结算账户", "bankCard"),
        ("officeTel", "办公电话", "fixedPhone"),
        ("contactEmail", "联系邮箱", "email"),
        ("dateOfBirth", "出生日期", "year"),
        ("homeAddr", "家庭住址", "address"),
        ("contact", "联系人", "name"),
        ("guardianName", "监护人姓名", "name"),
    ],
)
def test_each_kind_is_recognised_by_name_or_title(name: str, title: str, mask_rule: str) -> None:
    assert [f.mask_rule for f in lint_names(catalog(field(name, title)))] == [mask_rule]


def test_a_column_gives_a_field_away_too() -> None:
    findings = lint_names(catalog(field("extra", "其他", 'column = "id_card"')))
    assert [(f.detail.split(" looks")[0], f.mask_rule) for f in findings] == [("column 'id_card'", "idNumber")]


@pytest.mark.parametrize(
    ("name", "title"),
    [("hotelName", "酒店名称"), ("accountStatus", "账户状态"), ("birthPlaceCode", "出生地行政区划代码"),
     ("telecomOperator", "运营商"), ("employerName", "单位名称"), ("mailingDays", "寄送天数")],
)
def test_words_are_matched_whole(name: str, title: str) -> None:
    assert lint_names(catalog(field(name, title))) == []


def test_a_published_registration_item_is_flagged_only_where_it_is_not_published() -> None:
    assert lint_names(catalog()) == []  # the enterprise's 法定代表人 and 住所 are published
    findings = lint_names(catalog(field("legalRepresentative", "法定代表人姓名")))
    assert [f.coordinate for f in findings] == ["Person.legalRepresentative"]


@pytest.mark.parametrize("rule", NAME_RULES, ids=lambda r: r.mask_rule)
def test_every_suggested_mask_rule_is_one_the_catalog_accepts(rule: Any) -> None:
    labelled = catalog(field("probe", "探针", f'sensitivity = "{rule.sensitivity.value}"\nmask = "{rule.mask_rule}"'))
    assert labelled.by_coordinate["Person.probe"].field.mask_rule == rule.mask_rule


def test_suggestions_agree_with_how_the_demo_labels_the_same_fields() -> None:
    demo = load_catalog()
    for ref in demo.field_refs():
        if ref.field.sensitivity is Sensitivity.NONE:
            continue
        probe = catalog(field("probe", ref.field.title, f'column = "{ref.field.column}"'))
        suggested = [f.mask_rule for f in lint_names(probe) if f.coordinate == "Person.probe"]
        assert suggested in ([], [ref.field.mask_rule]), ref.coordinate


@pytest.mark.parametrize("rule", NAME_RULES, ids=lambda r: r.mask_rule)
def test_every_name_rule_is_documented(rule: Any) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "catalog-lint.md").read_text(encoding="utf-8")
    assert f"| {rule.what} |" in docs and f"`{rule.mask_rule}` |" in docs


def test_the_demo_catalog_is_clean_by_name() -> None:
    assert lint_names(load_catalog()) == []


# Sample values --------------------------------------------------------------------------------


Library = tuple[Catalog, dict[str, LibrarySource]]


@pytest.fixture
async def population(tmp_path: Path) -> AsyncIterator[Library]:
    """A crafted catalog and its population library in SQLite, with remarks that hold ID numbers."""
    cat = catalog(
        field("remark", "备注"),
        field("phoneOnFile", "备用", 'column = "spare"'),
        field("verified", "核验结果", 'sensitivity = "PERSONAL"\nmask = "suppress"'),
        field("visits", "来访次数", data_type="INTEGER"),
        field("memo", "附言"),
        field("backup", "备用二"),
        field("reference", "参考"),
    )
    engines = {code: create_async_engine(f"sqlite+aiosqlite:///{tmp_path / code}.sqlite") for code in cat.libraries}
    rows: list[dict[str, Any]] = [
        {"id_number": id_number(1), "remark": f"本人持身份证{id_number(1)}办理", "spare": "13812345678",
         "verified": id_number(1), "visits": 3, "memo": "13812345678", "backup": "138-1234-5678",
         "reference": "110101900307123"},
        {"id_number": id_number(2), "remark": "材料齐全", "spare": None, "verified": id_number(2), "visits": 1,
         "memo": "+86 138 1234 5678", "backup": "(+86) 139 1234 5678", "reference": "6222 0212 3456 7890 128"},
        {"id_number": id_number(3), "remark": f"代办人{id_number(4)}，电话13912345678", "spare": "+86 13912345678",
         "verified": None, "visits": 13812345678, "memo": "请回电 139-1234-5678", "backup": "013912345678",
         "reference": "流水号 1000 0000 0000 0000 08"},
        {"id_number": id_number(5), "remark": None, "spare": "", "verified": None, "visits": None,
         "memo": "013812345678", "backup": None, "reference": None},
    ]
    for code, engine in engines.items():
        metadata, tables = library_metadata(cat, code)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            if code == "population":
                await conn.execute(tables["1-01-001-001/000001"].insert(), rows)
    yield cat, library_sources(cat, engines)
    for engine in engines.values():
        await engine.dispose()


def test_every_personal_kind_has_a_label() -> None:
    assert set(VALUE_KINDS) == PERSONAL_KINDS


async def test_a_field_whose_samples_hold_id_numbers_is_flagged_by_values(population: Library) -> None:
    cat, sources = population
    findings = {(f.coordinate, f.detail.split(" hold ")[1].split(",")[0]): f for f in await lint_samples(cat, sources)}
    remark = findings["Person.remark", "ID numbers inside longer text"]
    assert remark.detail == "2 of 3 samples hold ID numbers inside longer text, labelled NONE"
    assert (remark.evidence, remark.sensitivity, remark.mask_rule) == ("values", Sensitivity.SENSITIVE_PERSONAL, "redact")
    assert findings["Person.remark", "mobile numbers inside longer text"].detail.startswith("1 of 3 samples")


async def test_a_field_that_holds_nothing_but_an_identifier_gets_its_rule(population: Library) -> None:
    cat, sources = population
    spare = [f for f in await lint_samples(cat, sources) if f.coordinate == "Person.phoneOnFile"]
    assert [(f.detail, f.sensitivity, f.mask_rule) for f in spare] == [
        ("2 of 2 samples hold mobile numbers, labelled NONE", Sensitivity.PERSONAL, "mobile"),
    ]


async def test_bare_identifiers_are_counted_apart_from_identifiers_inside_longer_text(population: Library) -> None:
    cat, sources = population
    memo = [f for f in await lint_samples(cat, sources) if f.coordinate == "Person.memo"]
    assert [(f.detail, f.sensitivity, f.mask_rule) for f in memo] == [
        ("4 of 4 samples hold mobile numbers: 3 hold a bare mobile number, 1 holds one inside longer text, "
         "labelled NONE", Sensitivity.PERSONAL, "redact"),
    ]


async def test_a_bare_identifier_may_be_written_with_separators_and_a_dialling_prefix(population: Library) -> None:
    cat, sources = population
    backup = [f for f in await lint_samples(cat, sources) if f.coordinate == "Person.backup"]
    assert [(f.detail, f.mask_rule) for f in backup] == [("3 of 3 samples hold mobile numbers, labelled NONE", "mobile")]


async def test_first_generation_id_numbers_and_grouped_card_numbers_are_reported(population: Library) -> None:
    cat, sources = population
    reference = [f for f in await lint_samples(cat, sources) if f.coordinate == "Person.reference"]
    assert [(f.detail, f.sensitivity, f.mask_rule) for f in reference] == [
        ("1 of 3 samples hold ID numbers, labelled NONE", Sensitivity.SENSITIVE_PERSONAL, "idNumber"),
        ("1 of 3 samples hold bank card numbers, labelled NONE", Sensitivity.SENSITIVE_PERSONAL, "bankCard"),
    ]  # the Luhn-valid reference number without a card prefix is not one


async def test_numbers_stored_as_integers_are_scanned(population: Library) -> None:
    cat, sources = population
    visits = [f.detail for f in await lint_samples(cat, sources) if f.coordinate == "Person.visits"]
    assert visits == ["1 of 3 samples hold mobile numbers, labelled NONE"]


async def test_labelled_fields_are_not_sampled(population: Library) -> None:
    cat, sources = population
    assert all(f.coordinate != "Person.verified" for f in await lint_samples(cat, sources))


async def test_a_finding_never_holds_a_value(population: Library) -> None:
    cat, sources = population
    text = "\n".join(str(f) for f in await lint(cat, sources))
    assert not re.search(r"\d{11}", text)


async def test_samples_stop_at_the_limit(population: Library) -> None:
    cat, sources = population
    remark = [f.detail for f in await lint_samples(cat, sources, limit=1) if f.coordinate == "Person.remark"]
    assert remark == ["1 of 1 samples hold ID numbers inside longer text, labelled NONE"]


async def test_the_demo_is_clean_with_samples(built_demo: Path) -> None:
    settings = Settings.from_env({}, data_dir=built_demo)
    store = make_engine(settings.store_url)
    engines = {code: make_engine(url) for code, url in settings.library_urls.items()}
    try:
        demo = await repository.load_catalog(store)
        assert await lint(demo, library_sources(demo, engines)) == []
    finally:
        for engine in [store, *engines.values()]:
            await engine.dispose()


# The command ------------------------------------------------------------------------------------


def unlabel(data_dir: Path, coordinate_field: str) -> None:
    """Drop the sensitivity and mask rule of a Person field in the built demo's store."""
    from store.tables import resources

    async def run() -> None:
        engine = make_engine(Settings.from_env({}, data_dir=data_dir).store_url)
        try:
            async with engine.begin() as conn:
                for code, doc in (await conn.execute(select(resources.c.code, resources.c.declaration))).all():
                    for f in doc["fields"]:
                        if f["name"] == coordinate_field and doc["entity"] == "Person" and doc.get("anchor"):
                            f.pop("sensitivity", None)
                            f.pop("mask", None)
                            f.pop("without_grant", None)
                            await conn.execute(update(resources).where(resources.c.code == code).values(declaration=doc))
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_the_command_exits_0_on_the_demo(built_demo: Path) -> None:
    result = CliRunner().invoke(app, ["catalog", "lint", "--data-dir", str(built_demo)])
    assert result.exit_code == 0, result.output
    assert "catalog lint: clean" in result.output


def test_the_command_exits_1_on_a_finding_and_prints_no_value(data_dir: Path) -> None:
    unlabel(data_dir, "mobile")
    result = CliRunner().invoke(app, ["catalog", "lint", "--data-dir", str(data_dir)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Person.mobile ")]
    assert lines == [
        "Person.mobile [1-01-001-001/000001] name: name 'mobile' looks like a mobile or phone number, labelled NONE; "
        "suggest sensitivity PERSONAL, mask mobile",
        "Person.mobile [1-01-001-001/000001] values: 200 of 200 samples hold mobile numbers, labelled NONE; "
        "suggest sensitivity PERSONAL, mask mobile",
    ]
    assert not re.search(r"\d{11}", result.output)


def test_the_command_lints_names_only_with_no_samples(data_dir: Path) -> None:
    unlabel(data_dir, "mobile")
    result = CliRunner().invoke(app, ["catalog", "lint", "--no-samples", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert [line.split(" ")[2] for line in result.output.splitlines() if line.startswith("Person.")] == ["name:"]


def test_the_command_exits_2_when_a_library_cannot_be_read(data_dir: Path) -> None:
    remove_library(data_dir, "population")
    result = CliRunner().invoke(app, ["catalog", "lint", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "library population is unavailable" in result.output


def test_a_birth_date_served_raw_undoes_the_id_number_mask() -> None:
    from schema.lint import lint_cross_field
    from tests.schema.test_catalog import documents, find_field

    assert lint_cross_field(load_catalog()) == []  # the demo previews the birth date as its year
    docs = documents()
    birth = find_field(docs, "birthDate")
    birth.update(share="UNCONDITIONAL", without_grant="DENIED")
    [finding] = lint_cross_field(parse_documents(docs))
    assert (finding.coordinate, finding.evidence, finding.mask_rule) == ("Person.birthDate", "cross-field", "year")
    assert "Person.idNumber" in finding.detail
