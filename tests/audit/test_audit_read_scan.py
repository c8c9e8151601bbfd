"""The reader under the GraphQL field, the export and the pusher: exact scopes behind a SQL
prefilter, bounded pages, and streams that hold one window at a time."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from audit import AuditRecord, AuditStore
from audit.query import CSV_COLUMNS, AuditFilter, AuditReader, InvalidFilter, Scope
from audit.store import audit_records
from gateway.runtime import make_engine
from schema.catalog import Catalog
from schema.loader import DEMO_CATALOG_DIR, parse_documents
from tests.postgres import temporary_databases

GA_FIELD = "Person.mobile"  # population, provided by GA
RS_RESOURCE = "2-01-001-001/000001"  # social insurance, provided by RS


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    documents = [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(DEMO_CATALOG_DIR.glob("*.toml"))]
    return parse_documents((str(i), d) for i, d in enumerate(documents))


@pytest.fixture(scope="module")
def postgres_audit() -> Iterator[str]:
    with temporary_databases("auditread", ["audit"]) as urls:
        yield urls["audit"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, and PostgreSQL where a server answers (LIKE and its escapes differ)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_audit"))
    return f"sqlite+aiosqlite:///{tmp_path}/audit.sqlite"


@pytest.fixture
async def store(audit_url: str) -> AsyncIterator[AuditStore]:
    audit = AuditStore(make_engine(audit_url))
    await audit.create()
    yield audit
    if audit_url.startswith("postgresql"):  # one database for the module: empty it for the next test
        async with audit.engine.begin() as conn:
            await conn.execute(delete(audit_records))
    await audit.close()


def record(n: int, department: str | None = "MZ", **extra: object) -> AuditRecord:
    values: dict[str, object] = {"operation": "query", "outcome": "SERVED", **extra}
    return AuditRecord(request_id=f"r{n}", at=f"2024-05-01T00:00:{n % 60:02d}+00:00",
                       application=f"{(department or 'x').lower()}-app", department=department,
                       **values)  # type: ignore[arg-type]


async def test_look_alikes_pass_the_prefilter_but_not_the_scope(store: AuditStore, catalog: Catalog) -> None:
    await store.append(record(1, department="mz"))  # SQLite's LIKE ignores case: Python does not
    await store.append(record(2, department="MZX"))
    await store.append(record(3, department="FG", fields={"Person.mobileVerified": "RAW"}))  # not a GA field
    await store.append(record(4, department="FG", operator='"department":"MZ"'))  # escaped in the body
    await store.append(record(5, department="MZ"))
    await store.append(record(6, department="M_"))  # LIKE wildcards in a value are escaped
    await store.append(record(7, department="M%"))
    reader = AuditReader(store.engine, catalog)
    page = await reader.page(Scope.of_department(catalog, "MZ"), AuditFilter(), first=50)
    assert [r.seq for r in page.records] == [5]
    page = await reader.page(Scope.of_department(catalog, "GA"), AuditFilter(), first=50)
    assert page.records == []
    page = await reader.page(Scope.of_department(catalog, "M_"), AuditFilter(), first=50)
    assert [r.seq for r in page.records] == [6]


async def test_provider_scope_reads_fields_labels_rows_and_policy_targets(store: AuditStore, catalog: Catalog) -> None:
    await store.append(record(1, fields={GA_FIELD: "RAW"}))
    await store.append(record(2, fields={f"check:{GA_FIELD}": "RAW"}))
    await store.append(record(3, uses={GA_FIELD: ["filter"]}, outcome="REFUSED"))  # refused before any field ran
    await store.append(record(4, rows={RS_RESOURCE: 3}))
    await store.append(record(5, department=None, fields={RS_RESOURCE: "POLICY"}))
    await store.append(record(6, fields={"Person.dishonestDebtor": "DENIED"}))  # FG's
    reader = AuditReader(store.engine, catalog)
    ga = await reader.page(Scope.of_department(catalog, "GA"), AuditFilter(), first=50)
    rs = await reader.page(Scope.of_department(catalog, "RS"), AuditFilter(), first=50)
    assert [r.seq for r in ga.records] == [3, 2, 1]
    assert [r.seq for r in rs.records] == [5, 4]


async def test_a_narrow_scope_answers_short_pages_within_the_scan_budget(store: AuditStore, catalog: Catalog) -> None:
    for n in range(1, 301):
        await store.append(record(n, department="RS" if n % 100 == 0 else "MZ"))
    reader = AuditReader(store.engine, catalog, window=20)
    scope = Scope.of_department(catalog, "RS")
    pages, seen, before = 0, list[int](), None
    while True:
        page = await reader.page(scope, AuditFilter(), first=10, before=before, budget=60)
        pages += 1
        seen.extend(r.seq for r in page.records)
        if not page.has_next:
            break
        before = page.end_cursor
    assert seen == [300, 200, 100] and pages >= 5  # each page examined at most 60 sequence numbers


async def test_stream_is_oldest_first_and_batch_says_how_far_it_answers(store: AuditStore, catalog: Catalog) -> None:
    for n in range(1, 51):
        await store.append(record(n, department="RS" if n % 10 == 0 else "MZ"))
    reader = AuditReader(store.engine, catalog, window=7)
    scope = Scope.of_department(catalog, "RS")
    assert [r.seq async for r in reader.stream(scope, AuditFilter())] == [10, 20, 30, 40, 50]
    assert [r.seq async for r in reader.stream(scope, AuditFilter(), after=30)] == [40, 50]
    first = await reader.batch(scope, after=0, limit=2)
    assert [r.seq for r in first.records] == [10, 20] and (first.first, first.through) == (1, 20)
    rest = await reader.batch(scope, after=20, limit=10)
    assert [r.seq for r in rest.records] == [30, 40, 50] and rest.through == 50
    idle = await reader.batch(scope, after=50, limit=10)
    assert idle.records == [] and idle.through == 50
    await store.append(record(51))
    skipped = await reader.batch(scope, after=50, limit=10)
    assert skipped.records == [] and skipped.through == 51  # nothing of RS's: the cursor may move on


def test_time_bounds_are_inclusive_and_china_standard_time_by_default() -> None:
    flt = AuditFilter.parse(start="2024-05-01", end="2024-05-01")
    assert (flt.since, flt.until) == ("2024-04-30T16:00:00+00:00", "2024-05-01T16:00:00+00:00")
    flt = AuditFilter.parse(start="2024-05-01T08:00:00Z", end="2024-05-01T08:00:00+00:00")
    assert (flt.since, flt.until) == ("2024-05-01T08:00:00+00:00", "2024-05-01T08:00:00.000001+00:00")
    with pytest.raises(InvalidFilter):
        AuditFilter.parse(start="yesterday")


async def pages(reader: AuditReader, scope: Scope, flt: AuditFilter, *, first: int, budget: int,
                limit: int = 100) -> list[tuple[list[int], bool, int | None]]:
    """Every page a reader gets by following the cursors: (seqs, has_next, end_cursor) each."""
    answered, before = [], None
    for _ in range(limit):
        page = await reader.page(scope, flt, first=first, before=before, budget=budget)
        answered.append(([r.seq for r in page.records], page.has_next, page.end_cursor))
        if not page.has_next:
            return answered
        before = page.end_cursor
    raise AssertionError("the pages did not end")


async def test_an_application_outside_the_scope_reads_like_one_that_does_not_exist(
        store: AuditStore, catalog: Catalog) -> None:
    """Neither the records nor hasNextPage nor the cursors say whether or when another department's
    application was active (the bounds of its own records would), on any page or time window."""
    for n in range(1, 121):  # FG's application is busy at the end of the trail; MZ's own use earlier
        await store.append(record(n, department="FG" if n > 60 else "MZ"))
    reader = AuditReader(store.engine, catalog, window=7)
    mz = Scope.of_department(catalog, "MZ")
    windows = [{}, {"start": "2024-05-01"}, {"start": "2024-05-01T08:00:30+08:00", "end": "2024-05-01T08:00:50+08:00"},
               {"end": "2024-04-30"}]
    for window in windows:
        for first, budget in ((1, 10), (5, 25), (50, 1000)):
            outsider = await pages(reader, mz, AuditFilter.parse(application="fg-app", **window),
                                   first=first, budget=budget)
            unknown = await pages(reader, mz, AuditFilter.parse(application="nobody", **window),
                                  first=first, budget=budget)
            assert outsider == unknown, (window, first, budget)
            assert all(seqs == [] for seqs, _, _ in outsider)
            if budget >= 120:  # one page examines the whole trail: nothing there, nothing to go on to
                assert outsider == [([], False, None)]
    assert (await reader.page(mz, AuditFilter.parse(application="fg-app"), first=5, before=100, budget=1000)) \
        == (await reader.page(mz, AuditFilter.parse(application="nobody"), first=5, before=100, budget=1000))
    full = await pages(reader, Scope.full(), AuditFilter.parse(application="fg-app"), first=50, budget=1000)
    assert [seq for seqs, _, _ in full for seq in seqs] == list(range(120, 60, -1))  # an auditor still sees them


async def test_a_page_ends_at_a_record_it_returns_or_at_the_edge_of_its_budget(store: AuditStore,
                                                                             catalog: Catalog) -> None:
    for n in range(1, 41):
        await store.append(record(n, department="RS" if n in (5, 6, 7, 30) else "MZ"))
    reader = AuditReader(store.engine, catalog, window=3)
    rs = Scope.of_department(catalog, "RS")
    assert await pages(reader, rs, AuditFilter(), first=2, budget=15) == [
        ([30], True, 26),  # 40-26 examined: the cursor is the budget's edge, not where SQL stopped
        ([], True, 11),  # 25-11: nothing of RS's
        ([7, 6], True, 6),  # a full page: the cursor is its last record
        ([5], False, 5)]


async def test_the_default_scan_budget_is_read_at_call_time_and_bounded(store: AuditStore, catalog: Catalog,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import audit.query

    assert audit.query.PAGE_SCAN_BUDGET <= 20_000  # at most ten window queries per page on the audit store
    for n in range(1, 21):
        await store.append(record(n, department="MZ"))
    monkeypatch.setattr(audit.query, "PAGE_SCAN_BUDGET", 4)
    page = await AuditReader(store.engine, catalog).page(Scope.of_department(catalog, "RS"), AuditFilter(), first=5)
    assert (page.records, page.has_next, page.end_cursor) == ([], True, 17)


async def test_a_departments_webhook_changes_are_in_its_scope(store: AuditStore, catalog: Catalog) -> None:
    await store.append(record(1, department=None, operation="audit.webhook.set", fields={"webhook:RS": "POLICY"}))
    await store.append(record(2, department=None, operation="audit.webhook.set", fields={"webhook:RSX": "POLICY"}))
    await store.append(record(3, department=None, operation="audit.webhook.remove", fields={"webhook:RS": "POLICY"}))
    reader = AuditReader(store.engine, catalog)
    rs = await reader.page(Scope.of_department(catalog, "RS"), AuditFilter(), first=50)
    assert [r.seq for r in rs.records] == [3, 1]
    assert [r.seq async for r in reader.stream(Scope.of_department(catalog, "RS"), AuditFilter())] == [1, 3]
    assert (await reader.page(Scope.of_department(catalog, "FG"), AuditFilter(), first=50)).records == []


def test_csv_cells_starting_with_a_formula_character_are_quoted() -> None:
    from audit.query import StoredRecord

    body = {"request_id": "=1+1", "operator": "@x", "application": "-a", "purpose": "+p", "client": "\tc",
            "department": "MZ", "fields": {"Person.name": "RAW"}}
    row = dict(zip(CSV_COLUMNS, StoredRecord(1, "h", "p", "{}", body).csv_row(), strict=True))
    assert (row["request_id"], row["operator"], row["application"], row["purpose"]) == ("'=1+1", "'@x", "'-a", "'+p")
    assert row["department"] == "MZ" and row["fields"] == "Person.name=RAW" and row["seq"] == "1"
