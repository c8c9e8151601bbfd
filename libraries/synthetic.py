"""Deterministic synthetic data for the five demo libraries.

`populate` creates each library's tables (from the catalog, see `libraries.tables`) and fills
them with coherent fake records: persons with valid GB 11643 ID numbers whose birth place is
a real division, enterprises with valid GB 32100 credit codes whose legal representatives are
persons of the population, and the licences, credit, social-insurance and contribution
records that hang off them. The same seed and size always give the same rows: every
generator draws from its own `random.Random` seeded from the seed and a label, dates are
relative to a fixed `REFERENCE_DATE`, and nothing reads the clock.

Rows are generated and inserted in streaming batches (`PERSON_BATCH` persons at a time, at
most `INSERT_ROWS` rows per executemany, one transaction per batch and library), so memory
stays bounded for a million persons: only the enterprises and the set of issued ID numbers
are kept for the whole run.

Five sample persons and five sample enterprises are guaranteed to have a record in every
table keyed by their entity; `populate` returns their keys (`Samples`) for demos and tests.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libraries.synthetic_codes import add_years
from libraries.synthetic_divisions import divisions
from libraries.synthetic_enterprises import REPORT_YEAR, EnterpriseDetails, plan_enterprises
from libraries.synthetic_people import (
    CONTRIBUTION_PERIODS,
    LONG_TERM,
    REFERENCE_DATE,
    DishonestyGenerator,
    Employers,
    InsuranceGenerator,
    PersonGenerator,
    PersonLicenseGenerator,
    Row,
)
from libraries.tables import library_metadata
from schema.catalog import Catalog

__all__ = [
    "CONTRIBUTION_PERIODS",
    "LIBRARIES",
    "LONG_TERM",
    "REFERENCE_DATE",
    "REPORT_YEAR",
    "Samples",
    "enterprise_count",
    "populate",
]

LIBRARIES = ("population", "legal_entity", "license", "credit", "social_security")
# The tables this module fills, with their library.
TABLES = {
    "person_basic": "population",
    "enterprise_registration": "legal_entity",
    "enterprise_annual_report": "legal_entity",
    "person_license": "license",
    "enterprise_license": "license",
    "person_dishonesty": "credit",
    "enterprise_credit_rating": "credit",
    "administrative_penalty": "credit",
    "social_insurance": "social_security",
    "contribution_record": "social_security",
}
SAMPLE_COUNT = 5
PERSON_BATCH = 5_000
ENTERPRISE_BATCH = 5_000
INSERT_ROWS = 5_000

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Samples:
    """Keys that have a record in every table of their entity, in every library."""

    # Adults in person_basic, person_license, person_dishonesty, social_insurance, contribution_record.
    id_numbers: list[str]
    # In enterprise_registration, enterprise_annual_report, enterprise_license,
    # enterprise_credit_rating and administrative_penalty; sample enterprise k is
    # represented by sample person k.
    credit_codes: list[str]


def enterprise_count(persons: int) -> int:
    return max(20, persons // 10)


async def populate(
    catalog: Catalog,
    engines: Mapping[str, AsyncEngine],
    *,
    persons: int,
    seed: int,
    progress: Progress | None = None,
    replace: bool = False,
) -> Samples:
    """Create the five libraries' tables and fill them; return the sample keys.

    The tables must be empty unless `replace`, which drops and recreates the catalog's
    tables of each library first. `progress(stage, done, total)` is called with the stages
    "tables" (libraries), "persons" and "enterprises" as they advance.
    """
    if persons < SAMPLE_COUNT:
        raise ValueError(f"persons must be at least {SAMPLE_COUNT}, got {persons}")
    missing = [library for library in LIBRARIES if library not in engines]
    if missing:
        raise ValueError(f"no engine for the libraries {', '.join(missing)}")
    report: Progress = progress or (lambda stage, done, total: None)
    tables = _tables(catalog)

    async with AsyncExitStack() as stack:
        connections = {
            library: await stack.enter_async_context(engines[library].connect()) for library in LIBRARIES
        }
        report("tables", 0, len(LIBRARIES))
        for done, library in enumerate(LIBRARIES, 1):
            await _create(catalog, library, connections[library], replace)
            report("tables", done, len(LIBRARIES))
        for name, table in tables.items():
            async with connections[TABLES[name]].begin():
                count = await connections[TABLES[name]].scalar(select(func.count()).select_from(table))
            if count:
                raise ValueError(f"table {name} of library {TABLES[name]} already holds {count} rows")
        return await _fill(connections, tables, persons, seed, report)


def _tables(catalog: Catalog) -> dict[str, Table]:
    found: dict[str, Table] = {}
    for library in LIBRARIES:
        metadata, _ = library_metadata(catalog, library)
        for name, owner in TABLES.items():
            if owner == library:
                if name not in metadata.tables:
                    raise ValueError(f"the catalog declares no table {name} in library {library}")
                found[name] = metadata.tables[name]
    return found


async def _create(catalog: Catalog, library: str, connection: AsyncConnection, replace: bool) -> None:
    metadata, _ = library_metadata(catalog, library)
    async with connection.begin():
        if replace:
            await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)


async def _fill(
    connections: dict[str, AsyncConnection], tables: dict[str, Table], persons: int, seed: int, report: Progress
) -> Samples:
    run = _Run(seed, persons)

    async def write(rows: Mapping[str, Sequence[Row]]) -> None:
        await _write(connections, tables, rows)

    await _pipeline(run.person_batches(), write, report, "persons", persons)
    await _pipeline(run.enterprise_batches(), write, report, "enterprises", len(run.enterprises))
    return Samples(run.sample_ids, [run.enterprises[i].credit_code for i in run.plan.samples])


Batch = tuple[dict[str, list[Row]], int]  # rows by table name, entities done so far


class _Run:
    """The generators of one run, batch by batch: persons first, then enterprises."""

    def __init__(self, seed: int, persons: int) -> None:
        self.persons = persons
        rng = random.Random(f"{seed}:samples")
        self.sample_persons = sorted(rng.sample(range(persons), SAMPLE_COUNT))
        # Sample persons are of working age: adult, insured, with a licence.
        working_age = (add_years(REFERENCE_DATE, -55), add_years(REFERENCE_DATE, -25))
        constraints = {index: working_age for index in self.sample_persons}
        places = divisions()
        self.plan = plan_enterprises(seed, places, enterprise_count(persons), persons, self.sample_persons, constraints)
        self.enterprises = self.plan.enterprises
        self.representative_of: dict[int, list[int]] = {}
        for position, enterprise in enumerate(self.enterprises):
            self.representative_of.setdefault(enterprise.representative, []).append(position)
        self.representatives: list[tuple[str, str]] = [("", "")] * len(self.enterprises)
        self.employers = Employers(
            [e.credit_code for e in self.enterprises],
            [e.name for e in self.enterprises],
            self.plan.active,
            [0] * len(self.enterprises),
        )
        self.people = PersonGenerator(seed, places, self.plan.constraints)
        self.licenses = PersonLicenseGenerator(seed)
        self.dishonesty = DishonestyGenerator(seed)
        self.insurance = InsuranceGenerator(seed, self.employers)
        self.details = EnterpriseDetails(seed)
        self.sample_ids: list[str] = []

    def person_batches(self) -> Iterator[Batch]:
        forced = set(self.sample_persons)
        for start in range(0, self.persons, PERSON_BATCH):
            basic, batch = self.people.batch(start, min(start + PERSON_BATCH, self.persons))
            rows: dict[str, list[Row]] = {
                "person_basic": basic,
                "person_license": [],
                "person_dishonesty": [],
                "social_insurance": [],
                "contribution_record": [],
            }
            for person in batch:
                sample = person.position in forced
                if sample:
                    self.sample_ids.append(person.id_number)
                for enterprise in self.representative_of.get(person.position, ()):
                    self.representatives[enterprise] = (person.name, person.id_number)
                rows["person_license"] += self.licenses.rows(person, sample)
                rows["person_dishonesty"].append(self.dishonesty.row(person))
                insured, contributions = self.insurance.rows(person, sample)
                if insured is not None:
                    rows["social_insurance"].append(insured)
                    rows["contribution_record"] += contributions
            yield rows, start + len(batch)

    def enterprise_batches(self) -> Iterator[Batch]:
        samples = set(self.plan.samples)
        details = self.details
        count = len(self.enterprises)
        for start in range(0, count, ENTERPRISE_BATCH):
            rows: dict[str, list[Row]] = {
                "enterprise_registration": [],
                "enterprise_annual_report": [],
                "enterprise_license": [],
                "enterprise_credit_rating": [],
                "administrative_penalty": [],
            }
            stop = min(start + ENTERPRISE_BATCH, count)
            for position in range(start, stop):
                e = self.enterprises[position]
                rows["enterprise_registration"].append(details.registration(e, self.representatives[position]))
                rows["enterprise_annual_report"].append(details.annual_report(e, self.employers.insured[position]))
                rows["enterprise_license"] += details.licenses(e)
                penalties = details.penalties(e, position in samples)
                rows["administrative_penalty"] += penalties
                rows["enterprise_credit_rating"].append(details.credit_rating(e, bool(penalties)))
            yield rows, stop


async def _pipeline(
    batches: Iterator[Batch],
    write: Callable[[Mapping[str, Sequence[Row]]], Awaitable[None]],
    report: Progress,
    stage: str,
    total: int,
) -> None:
    """Write batch after batch. (Generating the next batch in a worker thread while one is
    written was measured slower: both are mostly Python and contend for the GIL.)"""
    report(stage, 0, total)
    for rows, done in batches:
        await write(rows)
        report(stage, done, total)


async def _write(
    connections: dict[str, AsyncConnection], tables: dict[str, Table], rows: Mapping[str, Sequence[Row]]
) -> None:
    """Insert each library's share in its own transaction. (One library after the other:
    writing them concurrently was measured no faster on SQLite or PostgreSQL.)"""
    by_library: dict[str, list[tuple[Table, Sequence[Row]]]] = {}
    for name, table_rows in rows.items():
        if table_rows:
            by_library.setdefault(TABLES[name], []).append((tables[name], table_rows))
    for library, work in by_library.items():
        connection = connections[library]
        async with connection.begin():
            for table, table_rows in work:
                for offset in range(0, len(table_rows), INSERT_ROWS):
                    await connection.execute(table.insert(), list(table_rows[offset : offset + INSERT_ROWS]))
