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
from schema.catalog import Entity, FieldRef

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
    refuse_repeated_subjects(keys)
    ctx.subjects.extend(keys)
    claimed = [{name: v for name, v in claims.items() if v is not None} for _, claims in items]
    coordinates = sorted({f"{entity.value}.{name}" for c in claimed for name in c})
    if not coordinates:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, "claim at least one field")
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
            if stored[anchor].get(key) is None or row is None:
                outcome = "NOT_FOUND"
            else:
                actual = row.get(ref.field.column)
                outcome = "MATCH" if actual is not None and normalize(actual) == normalize(value) else "MISMATCH"
            result.append((ref.coordinate, outcome))
        outcomes.append(result)
    for result in outcomes:
        for coordinate, outcome in result:
            ctx.check_outcomes.setdefault(coordinate, Counter())[outcome] += 1
    ctx.subjects_checked += len(outcomes)
    ctx.subjects_failed += sum(any(outcome != "MATCH" for _, outcome in result) for result in outcomes)
    return outcomes


def refuse_repeated_subjects(keys: list[str]) -> None:
    """One subject, one set of claims per call: repeating a subject with other claimed values
    would turn a batch into a guessing engine. Positions are named, never the key."""
    first: dict[str, int] = {}
    for position, key in enumerate(keys):
        if key in first:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                                 f"subjects {first[key] + 1} and {position + 1} are the same; check each subject once")
        first[key] = position


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
