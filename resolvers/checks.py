"""Data check: compare claimed values with stored ones inside the platform.

The check asks the planner in share mode CHECK (a QUERY grant never suffices for a
conditional field), reads only the claimed columns, batched per resource, and returns one
outcome per claimed field. Checkable is not readable: a stored value never leaves.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.errors import ErrorCode, RequestRefused, field_refused
from policies.planner import Access
from resolvers.context import RequestContext
from resolvers.datasource import Row
from resolvers.entities import normalize_key
from schema.catalog import Entity, Field, FieldRef, Resource

MAX_BATCH = 1000
_SPACE = re.compile(r"\s+")


def normalize(value: Any) -> str:
    """Full-width to half-width (NFKC), no whitespace anywhere, upper case (trailing x of an
    ID number, letters of a credit code)."""
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, Decimal):
        text = format(value.normalize(), "f")
    else:
        text = str(value)
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).upper()


async def check(
    ctx: RequestContext, entity: Entity, items: list[tuple[str, Mapping[str, Any]]]
) -> list[list[tuple[str, str]]]:
    if not 1 <= len(items) <= MAX_BATCH:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"a check takes 1 to {MAX_BATCH} subjects")
    keys = [normalize_key(entity, key) for key, _ in items]
    refuse_repeated_subjects(ctx, keys)
    claimed = _claimed(items)
    coordinates = sorted({f"{entity.value}.{name}" for c in claimed for name in c})
    assert ctx.purpose is not None
    plan = ctx.planner.plan(ctx.application, ctx.purpose, coordinates, mode="CHECK")
    ctx.side_decisions.update({f"check:{c}": d for c, d in plan.decisions.items()})
    for coordinate in coordinates:
        if plan[coordinate].access is Access.DENIED:
            raise field_refused(plan[coordinate].reason or ErrorCode.GRANT_REQUIRED)
    refs = [ctx.catalog.by_coordinate[c] for c in coordinates]
    stored = await _stored(ctx, entity, refs, keys)
    anchor = ctx.catalog.anchor_of(entity).code
    outcomes = []
    for key, claims in zip(keys, claimed, strict=True):
        result = []
        for name, value in sorted(claims.items()):
            ref = ctx.catalog.by_coordinate[f"{entity.value}.{name}"]
            row = stored[ref.resource.code].get(key)
            if stored[anchor].get(key) is None:
                outcome = "NOT_FOUND"  # no such subject; a subject without this record simply does not match
            else:
                actual = None if row is None else row.get(ref.field.column)
                outcome = "MATCH" if actual is not None and normalize(actual) == normalize(value) else "MISMATCH"
            result.append((ref.coordinate, outcome))
        outcomes.append(result)
    _count(ctx, outcomes)
    return outcomes


def _count(ctx: RequestContext, outcomes: list[list[tuple[str, str]]]) -> None:
    """Outcome counts for the audit record, and subjects for the anomaly alarms."""
    for result in outcomes:
        for coordinate, outcome in result:
            ctx.check_outcomes.setdefault(coordinate, Counter())[outcome] += 1
    ctx.subjects_checked += len(outcomes)
    ctx.subjects_failed += sum(any(outcome != "MATCH" for _, outcome in result) for result in outcomes)


HOLDER = "holder"  # the claim naming a record's holder: an ID number or a credit code
MAX_RECORD_NUMBER = 64


def record_key(resource: Resource) -> Field | None:
    """The field a MANY resource's records are checked by (a licence's number): its first
    checkable field."""
    return next((f for f in resource.fields if f.checkable), None)


async def check_records(
    ctx: RequestContext, resource: Resource, items: list[tuple[str, Mapping[str, Any]]]
) -> list[list[tuple[str, str]]]:
    """Check records by number (e.g. a licence by its number): the claimed holder and other
    checkable fields, MATCH / MISMATCH, or NOT_FOUND when no record has that number."""
    if not 1 <= len(items) <= MAX_BATCH:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"a check takes 1 to {MAX_BATCH} subjects")
    lookup = record_key(resource)
    assert lookup is not None
    numbers = [normalize(number) for number, _ in items]
    if any(not 1 <= len(n) <= MAX_RECORD_NUMBER for n in numbers):
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`{lookup.name}` takes 1 to {MAX_RECORD_NUMBER} characters")
    refuse_repeated_subjects(ctx, numbers)
    claimed = _claimed(items)
    for claims in claimed:
        if HOLDER in claims:
            claims[HOLDER] = normalize_key(resource.entity, str(claims[HOLDER]))
            ctx.subjects.append(claims[HOLDER])  # whom the check asks about
    assert ctx.purpose is not None
    coordinates = sorted({resource.coordinate(lookup)} | {
        f"{resource.type_name}.{name}" for c in claimed for name in c if name != HOLDER
    })
    plan = ctx.planner.plan(ctx.application, ctx.purpose, coordinates, mode="CHECK")
    ctx.side_decisions.update({f"check:{c}": d for c, d in plan.decisions.items()})
    if any(HOLDER in c for c in claimed):
        # The holder is part of the record (its key column), not a field of its own: its claim is
        # governed, and audited, by the record's check decision.
        ctx.side_decisions[f"check:{resource.type_name}.{HOLDER}"] = plan[resource.coordinate(lookup)]
    for coordinate in coordinates:
        if plan[coordinate].access is Access.DENIED:
            raise field_refused(plan[coordinate].reason or ErrorCode.GRANT_REQUIRED)
    fields = {f.name: f for f in resource.fields}
    claimed_columns = [fields[c.split(".", 1)[1]].column for c in coordinates]
    grouped = await ctx.sources[resource.library].fetch_by(resource, lookup.column,
                                                           [resource.key_column, *claimed_columns], numbers)
    ctx.rows[resource.code] += sum(len(rows) for rows in grouped.values())
    outcomes = []
    for number, claims in zip(numbers, claimed, strict=True):
        rows = grouped.get(number, [])
        ctx.subjects.extend(dict.fromkeys(row[resource.key_column] for row in rows))  # the records' holders
        result = []
        for name, value in sorted(claims.items()):
            column = resource.key_column if name == HOLDER else fields[name].column
            if not rows:
                outcome = "NOT_FOUND"
            elif any(row.get(column) is not None and normalize(row[column]) == normalize(value) for row in rows):
                outcome = "MATCH"  # numbers are not unique across issuers: any record with this number
            else:
                outcome = "MISMATCH"
            result.append((f"{resource.type_name}.{name}", outcome))
        outcomes.append(result)
    _count(ctx, outcomes)
    return outcomes


def _claimed(items: list[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The claims of each subject; a subject without one is refused (it would dilute the
    anomaly alarms' failure rate)."""
    claimed = [{name: v for name, v in claims.items() if v is not None} for _, claims in items]
    for position, claims in enumerate(claimed):
        if not claims:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"subject {position + 1} claims no field; claim at least one")
    return claimed


def refuse_repeated_subjects(ctx: RequestContext, keys: list[str]) -> None:
    """One subject, one set of claims per request — across a batch and across aliased check
    fields: repeating a subject with other claimed values would turn a request into a guessing
    engine. Positions are named, never the key."""
    first: dict[str, int] = {}
    for position, key in enumerate(keys):
        if key in first:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                                 f"subjects {first[key] + 1} and {position + 1} are the same; check each subject once")
        if key in ctx.checked:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                                 f"subject {position + 1} is checked twice in this request; check each subject once")
        first[key] = position
    ctx.checked.update(keys)
    ctx.subjects.extend(keys)


async def _stored(
    ctx: RequestContext, entity: Entity, refs: list[FieldRef], keys: list[str]
) -> dict[str, dict[str, Row]]:
    """Rows by resource code and key: the claimed columns only, one query per resource."""
    anchor = ctx.catalog.anchor_of(entity)
    columns: dict[str, list[str]] = {anchor.code: []}
    resources = {anchor.code: anchor}
    for ref in refs:
        columns.setdefault(ref.resource.code, []).append(ref.field.column)
        resources[ref.resource.code] = ref.resource
    codes = list(columns)
    fetched = await asyncio.gather(*(
        ctx.sources[resources[c].library].fetch(resources[c], columns[c], keys) for c in codes
    ))
    result: dict[str, dict[str, Row]] = {}
    for code, grouped in zip(codes, fetched, strict=True):
        ctx.rows[code] += sum(len(v) for v in grouped.values())
        result[code] = {k: rows[0] for k, rows in grouped.items() if rows}
    return result
