"""Who sees which audit records, and reading them in bounded pages (003 第二十四条: logs are
pushed to the provider and the consumer; docs/audit-access.md).

    Scope         what one reader may see: every record (an AUDITOR or PLATFORM_ADMIN application,
                  or the operator's command line), or one department's slice: its own use
                  (consumer scope: records whose `department` is it) and every use of the resources
                  it provides (provider scope: records whose rows or fields touch such a resource)
    AuditFilter   what the reader asks for: a time range, application, department, operation, ...
    AuditReader   reads the audit table in windows of sequence numbers, newest or oldest first

Scoping is decided on the server, record by record, in two steps. SQL narrows: the sequence
window, the indexed `at` and `application` columns, and LIKE patterns on the canonical body
(sorted keys, no whitespace) that every admissible record matches, so the database returns a
superset. Python then decides exactly on the parsed record. A page examines at most
`PAGE_SCAN_BUDGET` sequence numbers, so a reader with a narrow scope gets a short (even empty)
page with `has_next` and a cursor to go on from, never an unbounded scan.

A page must not tell a reader anything about records outside its scope, not even through its
shape. So what a page answers (its records, `has_next`, its cursor) is a function of the records
the scope and filter admit, of the caller's cursor, and of bounds that hold for every reader alike:
for a reader without full scope the scanned range comes from the time filter alone (the `at`
index over the whole trail), never from the application filter, whose bounds would say when an
application outside the scope was last active; a page ends at a record it returns or at the
edge of its scan budget (`hi - budget + 1`), never at a position set by the rows SQL returned.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import IO, Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.store import audit_records
from policies.roles import may
from schema.catalog import Catalog

WINDOW = 2000  # sequence numbers one SQL query covers (bounds the rows held in memory)
# Sequence numbers one page may examine before it answers: at most ten window queries on the audit
# store, on which every data request depends (its record is committed before the answer leaves).
PAGE_SCAN_BUDGET = 20_000
WEBHOOK_LABEL = "webhook:"  # `fields` key of a change to a department's webhook: webhook:<department>
MAX_PAGE = 200
CHINA = timezone(timedelta(hours=8), "CST")  # dates and times without an offset are China Standard Time
# Record maps keyed by coordinate (or by a `check:` / `unmask:` label before it, or, for policy
# changes, by the target: a coordinate or a resource code). `rows` is keyed by resource code.
COORDINATE_MAPS = ("fields", "denied", "masks", "uses", "scrubbed", "checks")
CSV_COLUMNS = ("request_id", "at", "application", "department", "operator", "purpose", "operation", "outcome", "code",
               "fields", "rows", "grants", "policy_version", "latency_ms", "seq", "hash")


MAX_FILTER_CHARS = 200  # ids, codes, coordinates and pseudonyms: a longer value cannot match


class InvalidFilter(ValueError):
    """A filter or cursor the reader cannot use; the message says what to send instead."""


@dataclass(frozen=True)
class Scope:
    """What one reader may see. `everything`, or the department's consumer and provider slices."""

    everything: bool = False
    department: str | None = None
    resources: frozenset[str] = frozenset()  # codes of the resources the department provides
    coordinates: frozenset[str] = frozenset()  # their fields' coordinates

    @classmethod
    def full(cls) -> Scope:
        return cls(everything=True)

    @classmethod
    def of_department(cls, catalog: Catalog, department: str) -> Scope:
        provided = {r.code for r in catalog.resources.values() if r.provider == department}
        coordinates = {ref.coordinate for ref in catalog.field_refs() if ref.resource.code in provided}
        return cls(department=department, resources=frozenset(provided), coordinates=frozenset(coordinates))

    @classmethod
    def of_application(cls, catalog: Catalog, role: str, department: str) -> Scope:
        return cls.full() if may(role, "audit.read.all") else cls.of_department(catalog, department)

    def admits(self, record: Mapping[str, Any]) -> bool:
        if self.everything:
            return True
        if record.get("department") == self.department:
            return True
        if self.department is not None and f"{WEBHOOK_LABEL}{self.department}" in _keys(record.get("fields")):
            return True  # where the department's own slice is pushed, and who changed it
        if any(self.department in (c.get("provider"), c.get("consumer"))
               for c in record.get("changes") or () if isinstance(c, dict)):
            return True  # a workflow step on an application the department made or decides
        if not self.resources.isdisjoint(_keys(record.get("rows"))):
            return True
        touched = touched_keys(record)
        return not (self.coordinates.isdisjoint(touched) and self.resources.isdisjoint(touched))

    def describe(self) -> str:
        if self.everything:
            return "every record"
        provides = f" and every use of the {len(self.resources)} resources it provides" if self.resources else ""
        return f"records of department {self.department}{provides}"


def touched_keys(record: Mapping[str, Any]) -> set[str]:
    """The coordinates (and policy targets) a record names, labels such as `check:` removed."""
    found: set[str] = set()
    for name in COORDINATE_MAPS:
        found.update(key.rpartition(":")[2] for key in _keys(record.get(name)))
    return found


def _keys(value: Any) -> Iterable[str]:
    return value.keys() if isinstance(value, dict) else ()


@dataclass(frozen=True)
class AuditFilter:
    """What a reader asks for; every condition given must hold. `since` is inclusive and `until`
    exclusive, both in the stored form of `at` (ISO 8601, UTC)."""

    since: str | None = None
    until: str | None = None
    application: str | None = None
    department: str | None = None
    operation: str | None = None
    outcome: str | None = None
    purpose: str | None = None
    coordinate: str | None = None
    resource: str | None = None
    subject: str | None = None

    @classmethod
    def parse(cls, *, start: str | None = None, end: str | None = None, **exact: str | None) -> AuditFilter:
        """From user input: `start` and `end` are ISO dates (whole days) or datetimes, both
        inclusive; without an offset they are China Standard Time. Raises InvalidFilter."""
        cleaned = {k: v.strip() if isinstance(v, str) and v.strip() else None for k, v in exact.items()}
        for name, value in cleaned.items():
            if value is not None and len(value) > MAX_FILTER_CHARS:  # every stored value is far shorter
                raise InvalidFilter(f"`{name}` is longer than {MAX_FILTER_CHARS} characters")
        since = _bound(start, upper=False) if start and start.strip() else None
        until = _bound(end, upper=True) if end and end.strip() else None
        return cls(since=since, until=until, **cleaned)

    def admits(self, record: Mapping[str, Any], resource_of: Mapping[str, str]) -> bool:
        for name in ("application", "department", "operation", "outcome", "purpose"):
            wanted = getattr(self, name)
            if wanted is not None and record.get(name) != wanted:
                return False
        if self.since is not None and str(record.get("at", "")) < self.since:
            return False
        if self.until is not None and str(record.get("at", "")) >= self.until:
            return False
        if self.subject is not None and self.subject not in (record.get("subjects") or ()):
            return False
        touched = touched_keys(record) if self.coordinate or self.resource else set()
        if self.coordinate is not None and self.coordinate not in touched:
            return False
        if self.resource is not None:
            resources = set(_keys(record.get("rows"))) | {resource_of.get(k, k) for k in touched}
            if self.resource not in resources:
                return False
        return True


def _bound(text: str, *, upper: bool) -> str:
    text = text.strip()
    try:
        if len(text) == 10:  # a date: the whole day, China Standard Time
            day = date.fromisoformat(text) + timedelta(days=1 if upper else 0)
            return datetime.combine(day, time(), CHINA).astimezone(UTC).isoformat()
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(f"{text!r} is not an ISO date (2024-05-01) or datetime (2024-05-01T08:30:00+08:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    if upper:  # inclusive of that instant: records carry microseconds
        moment += timedelta(microseconds=1)
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class StoredRecord:
    """One row of the audit table: the chain links and the record as stored."""

    seq: int
    hash: str
    prev_hash: str
    body: str  # the canonical record, byte for byte as the hash covers it
    record: dict[str, Any]

    def ndjson(self) -> str:
        """One line: `record` is the stored body verbatim, so a verifier may hash the raw text
        between `"record":` and the closing brace, or re-encode the parsed object canonically."""
        return '{"seq":%d,"hash":%s,"prev_hash":%s,"record":%s}' % (
            self.seq, json.dumps(self.hash), json.dumps(self.prev_hash), self.body)

    def csv_row(self) -> list[str]:
        """The flattened record; a cell a spreadsheet would read as a formula is quoted (`_cell`)."""
        r = self.record
        flat = {
            **{k: "" if r.get(k) is None else str(r.get(k)) for k in CSV_COLUMNS},
            "fields": ";".join(f"{k}={v}" for k, v in sorted((r.get("fields") or {}).items())),
            "rows": ";".join(f"{k}={v}" for k, v in sorted((r.get("rows") or {}).items())),
            "grants": ";".join(r.get("grants") or ()),
            "seq": str(self.seq), "hash": self.hash,
        }
        return [_cell(flat[k]) for k in CSV_COLUMNS]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A CSV cell an auditor's spreadsheet will not run: a value starting with a formula character
    (a claimed operator name such as `=HYPERLINK(...)`) gets a leading apostrophe (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class Page:
    records: list[StoredRecord]
    has_next: bool
    end_cursor: int | None  # the next page holds records with a smaller seq than this


@dataclass(frozen=True)
class Batch:
    records: list[StoredRecord]
    first: int  # the batch answers for every admissible record with first <= seq <= through
    through: int


@dataclass
class AuditReader:
    """Scoped, filtered reads of the audit table; it only ever SELECTs."""

    engine: AsyncEngine
    catalog: Catalog
    window: int = WINDOW
    _resource_of: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._resource_of = {c: ref.resource.code for c, ref in self.catalog.by_coordinate.items()}

    async def tail(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.max(audit_records.c.seq)))).scalar_one() or 0)

    async def page(self, scope: Scope, flt: AuditFilter, *, first: int, before: int | None = None,
                   budget: int | None = None) -> Page:
        """Newest first: up to `first` records with seq < `before`, examining at most `budget`
        sequence numbers. The cursor is the seq of the last record returned, or, when the budget
        ran out first, the lowest seq examined: never a position only out-of-scope records set."""
        budget = PAGE_SCAN_BUDGET if budget is None else budget
        bounds = await self._bounds(self._indexed(flt, by_application=scope.everything))
        if bounds is None:
            return Page([], False, None)
        lo, hi = bounds
        if before is not None:
            hi = min(hi, before - 1)
        if hi < lo:
            return Page([], False, None)
        start = max(lo, hi - budget + 1)
        found: list[StoredRecord] = []
        async for matched in self._walk(scope, flt, start, hi, descending=True, chunk=first + 1):
            found.extend(matched)
            if len(found) > first:
                return Page(found[:first], True, found[first - 1].seq)
        if start > lo:
            return Page(found, True, start)
        return Page(found, False, found[-1].seq if found else None)

    async def stream(self, scope: Scope, flt: AuditFilter, *, after: int = 0) -> AsyncIterator[StoredRecord]:
        """Oldest first, every admissible record with seq > `after`, a window at a time. (Only
        records leave, so the indexed bounds may use every indexed condition.)"""
        bounds = await self._bounds(self._indexed(flt, by_application=True))
        if bounds is None:
            return
        lo, hi = max(bounds[0], after + 1), bounds[1]
        async for matched in self._walk(scope, flt, lo, hi, descending=False, chunk=self.window):
            for stored in matched:
                yield stored

    async def batch(self, scope: Scope, *, after: int, limit: int, budget: int | None = None) -> Batch:
        """Oldest first, up to `limit` admissible records with seq > `after`; `through` says how
        far the batch answers for (a delivery cursor may move there once the batch is acknowledged):
        the last record, or the edge of the budget, or the tail. Sequence numbers are committed in
        order, so nothing can later appear at or below the tail read here."""
        budget = PAGE_SCAN_BUDGET if budget is None else budget
        tail = await self.tail()
        found: list[StoredRecord] = []
        if tail <= after:
            return Batch(found, after + 1, after)
        end = min(tail, after + budget)
        async for matched in self._walk(scope, AuditFilter(), after + 1, end, descending=False, chunk=limit):
            for stored in matched:
                found.append(stored)
                if len(found) == limit:
                    return Batch(found, after + 1, stored.seq)
        return Batch(found, after + 1, end)

    async def _bounds(self, conditions: list[ColumnElement[bool]]) -> tuple[int, int] | None:
        """The smallest and largest seq that pass the indexed conditions (exact, whatever the
        order in which records were stamped and committed)."""
        query = select(func.min(audit_records.c.seq), func.max(audit_records.c.seq))
        if conditions:
            query = query.where(and_(*conditions))
        async with self.engine.connect() as conn:
            lo, hi = (await conn.execute(query)).one()
        return None if lo is None else (int(lo), int(hi))

    async def _walk(self, scope: Scope, flt: AuditFilter, lo: int, hi: int, *, descending: bool,
                    chunk: int) -> AsyncIterator[list[StoredRecord]]:
        """Scan [lo, hi] a window at a time, to its end; yield the admissible records found since
        the last yield, in scan order (the caller stops early by not asking for more). Each query
        opens its own connection, so a slow consumer of the stream holds no database connection."""
        c = audit_records.c
        conditions = [*self._indexed(flt, by_application=True), *_prefilter(scope, flt, self.catalog)]
        position = hi if descending else lo
        while lo <= position <= hi:
            start, end = (max(lo, position - self.window + 1), position) if descending else \
                (position, min(hi, position + self.window - 1))
            query = (select(c.seq, c.hash, c.prev_hash, c.body).where(c.seq.between(start, end), *conditions)
                     .order_by(c.seq.desc() if descending else c.seq).limit(chunk))
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            # Fewer rows than asked: the window is done. Otherwise SQL stopped at the last row it gave.
            reached = (start if descending else end) if len(rows) < chunk else int(rows[-1].seq)
            matched = []
            for row in rows:
                record = json.loads(row.body)
                if scope.admits(record) and flt.admits(record, self._resource_of):
                    matched.append(StoredRecord(int(row.seq), row.hash, row.prev_hash, row.body, record))
            yield matched
            position = reached - 1 if descending else reached + 1

    @staticmethod
    def _indexed(flt: AuditFilter, *, by_application: bool) -> list[ColumnElement[bool]]:
        """Conditions on the indexed columns. `by_application` False leaves the application out:
        for bounds a reader without full scope sees, which must not depend on records it cannot."""
        c = audit_records.c
        conditions: list[ColumnElement[bool]] = []
        if flt.since is not None:
            conditions.append(c.at >= flt.since)
        if flt.until is not None:
            conditions.append(c.at < flt.until)
        if flt.application is not None and by_application:
            conditions.append(c.application == flt.application)
        return conditions


def _prefilter(scope: Scope, flt: AuditFilter, catalog: Catalog) -> list[ColumnElement[bool]]:
    """LIKE conditions on the canonical body that every record admitted by `scope` and `flt`
    satisfies (a superset: Python decides exactly)."""
    body = audit_records.c.body
    conditions: list[ColumnElement[bool]] = []

    def contains(text: str) -> ColumnElement[bool]:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return body.like(f"%{escaped}%", escape="\\")

    def member(key: str, value: str) -> ColumnElement[bool]:  # a top-level "key":"value"
        return contains(f'"{key}":{_json(value)}')

    def key(name: str) -> ColumnElement[bool]:  # a map key, with or without a `check:` label before it
        return contains(f'{_json(name)[1:]}:')

    if not scope.everything and scope.department is not None:
        conditions.append(or_(member("department", scope.department), key(f"{WEBHOOK_LABEL}{scope.department}"),
                              member("consumer", scope.department), member("provider", scope.department),
                              *(key(c) for c in sorted(scope.coordinates)), *(key(r) for r in sorted(scope.resources))))
    for name in ("department", "operation", "outcome", "purpose"):
        if getattr(flt, name) is not None:
            conditions.append(member(name, getattr(flt, name)))
    if flt.subject is not None:
        conditions.append(contains(_json(flt.subject)))
    if flt.coordinate is not None:
        conditions.append(key(flt.coordinate))
    if flt.resource is not None:
        fields = [ref.coordinate for ref in catalog.field_refs() if ref.resource.code == flt.resource]
        conditions.append(or_(key(flt.resource), *(key(c) for c in fields)))
    return conditions


def _json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


async def export(reader: AuditReader, scope: Scope, flt: AuditFilter, fmt: str, out: IO[str],
                 progress: Callable[[int], None] | None = None) -> int:
    """Write the admissible records oldest first, as NDJSON (one stored row a line) or CSV (one
    flattened record a row), a window at a time; how many were written."""
    if fmt not in ("ndjson", "csv"):
        raise InvalidFilter("the format is ndjson or csv")
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    count = 0
    async for stored in reader.stream(scope, flt):
        if writer is not None:
            writer.writerow(stored.csv_row())
        else:
            out.write(stored.ndjson() + "\n")
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(count)
    return count
