"""Data check (数据核验) in GraphQL: claimed values in, MATCH / MISMATCH / NOT_FOUND out.

Claims are generated from the catalog: every `checkable` field of an entity's ONE resources
becomes an optional String input named like the entity's field. The stored value never
leaves (000 第二十七条: raw data does not leave the platform).
"""

import enum
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Annotated, Any, Optional

import strawberry
from graphql import GraphQLResolveInfo, GraphQLSchema

from resolvers import checks
from schema.catalog import Cardinality, Catalog, Entity, Resource

MAX_BATCH = checks.MAX_BATCH
# Runs a check: the request context and (key, claims) pairs in, outcomes per subject out.
Run = Callable[[Any, list[tuple[str, Mapping[str, Any]]]], Awaitable[list[list[tuple[str, str]]]]]


@strawberry.enum(description="The answer for one claimed field; never the stored value.")
class CheckOutcome(enum.Enum):
    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    NOT_FOUND = "NOT_FOUND"


@strawberry.type
class FieldCheck:
    field: str = strawberry.field(description="The claimed field's schema coordinate, e.g. Person.name.")
    outcome: CheckOutcome


@strawberry.type
class CheckResult:
    results: list[FieldCheck]


def _claims_type(catalog: Catalog, entity: Entity) -> Any:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for resource in catalog.resources_of(entity.value):
        if resource.cardinality is not Cardinality.ONE:
            continue
        for f in resource.fields:
            if f.checkable and f.column != resource.key_column:
                annotations[f.name] = Optional[str]
                namespace[f.name] = strawberry.field(default=None, description=f"Claimed {f.title}.")
    namespace["__annotations__"] = annotations
    name = f"{entity.value}Claims"
    return strawberry.input(type(name, (), namespace), name=name,
                            description=f"Claimed values of a {entity.value}; dates as YYYY-MM-DD, booleans as true/false.")


def _claims(claims: Any) -> dict[str, Any]:
    """The claimed values of an input object, shallow (strawberry.asdict deep-copies)."""
    return dict(vars(claims))


def _result(outcomes: list[tuple[str, str]]) -> CheckResult:
    return CheckResult(results=[FieldCheck(field=c, outcome=CheckOutcome(o)) for c, o in outcomes])


def root_fields(catalog: Catalog) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for entity in Entity:
        claims_type = _claims_type(catalog, entity)
        key_type = Annotated[strawberry.ID, strawberry.argument(name=entity.key_argument)]
        item_namespace = {
            "__annotations__": {"key": strawberry.ID, "claims": claims_type},
            "key": strawberry.field(name=entity.key_argument),
        }
        item_type = strawberry.input(type(f"{entity.value}CheckInput", (), item_namespace),
                                     name=f"{entity.value}CheckInput")
        fields[f"check{entity.value}"] = strawberry.field(
            resolver=_single(partial(_run_entity, entity), key_type, claims_type),
            description=f"Check claimed values of one {entity.value}: MATCH, MISMATCH or NOT_FOUND per field.",
        )
        fields[f"check{entity.value}s"] = strawberry.field(
            resolver=_batch(partial(_run_entity, entity), item_type),
            description=f"Check up to {MAX_BATCH} {entity.value}s at once; results in input order.",
        )
    return fields


def record_fields(catalog: Catalog) -> dict[str, Any]:
    """`check<Record>(<number>:, claims:)` and its batch for each MANY resource with a checkable
    field, e.g. checkPersonLicense(licenseNumber:, claims: {holder:, validUntil:})."""
    fields: dict[str, Any] = {}
    for resource in catalog.resources.values():
        lookup = checks.record_key(resource)
        if resource.cardinality is not Cardinality.MANY or lookup is None:
            continue
        name = resource.type_name
        annotations: dict[str, Any] = {checks.HOLDER: Optional[strawberry.ID]}
        namespace: dict[str, Any] = {checks.HOLDER: strawberry.field(
            default=None, description=f"Claimed holder: the {resource.entity.value}'s {resource.entity.key_argument}.")}
        for f in resource.fields:
            if f.checkable and f is not lookup:
                annotations[f.name] = Optional[str]
                namespace[f.name] = strawberry.field(default=None, description=f"Claimed {f.title}.")
        namespace["__annotations__"] = annotations
        claims_type = strawberry.input(type(f"{name}Claims", (), namespace), name=f"{name}Claims",
                                       description=f"Claimed values of a {resource.name} record.")
        number_type = Annotated[str, strawberry.argument(name=lookup.name)]
        item_type = strawberry.input(type(f"{name}CheckInput", (), {
            "__annotations__": {"key": str, "claims": claims_type}, "key": strawberry.field(name=lookup.name),
        }), name=f"{name}CheckInput")
        fields[f"check{name}"] = strawberry.field(
            resolver=_single(partial(_run_records, resource), number_type, claims_type),
            description=f"Check a {resource.name} record by {lookup.title}: MATCH, MISMATCH or NOT_FOUND per claim.",
        )
        fields[f"check{name}s"] = strawberry.field(
            resolver=_batch(partial(_run_records, resource), item_type),
            description=f"Check up to {MAX_BATCH} {resource.name} records at once; results in input order.",
        )
    return fields


def _single(run: Run, key_type: Any, claims_type: Any) -> Any:
    async def resolver(info: strawberry.Info, key: key_type, claims: claims_type) -> CheckResult:  # type: ignore[valid-type]
        [outcomes] = await run(info.context, [(key, _claims(claims))])
        return _result(outcomes)

    return resolver


def _batch(run: Run, item_type: Any) -> Any:
    async def resolver(info: strawberry.Info, items: list[item_type]) -> list[CheckResult]:  # type: ignore[valid-type]
        return [_result(o) for o in await run(info.context, [(item.key, _claims(item.claims)) for item in items])]

    return resolver



def install_coerced_resolvers(schema: GraphQLSchema, catalog: Catalog) -> None:
    """Resolve the check fields on graphql-core's coerced arguments (plain dicts), skipping
    strawberry's conversion of every input object into a Python object: for a 1,000-subject
    batch that conversion took about half the request (bench/README.md). The fields' types, and
    so the schema, stay strawberry's; its resolvers above remain the reference path."""
    fields = schema.query_type.fields  # type: ignore[union-attr]
    for entity in Entity:
        run = partial(_run_entity, entity)
        fields[f"check{entity.value}"].resolve = _coerced_single(run, entity.key_argument)
        fields[f"check{entity.value}s"].resolve = _coerced_batch(run, entity.key_argument)
    for resource in catalog.resources.values():
        lookup = checks.record_key(resource)
        if resource.cardinality is Cardinality.MANY and lookup is not None:
            run = partial(_run_records, resource)
            fields[f"check{resource.type_name}"].resolve = _coerced_single(run, lookup.name)
            fields[f"check{resource.type_name}s"].resolve = _coerced_batch(run, lookup.name)


async def _run_entity(entity: Entity, ctx: Any, pairs: list[tuple[str, Mapping[str, Any]]]) -> list[list[tuple[str, str]]]:
    return await checks.check(ctx, entity, pairs)


async def _run_records(resource: Resource, ctx: Any,
                       pairs: list[tuple[str, Mapping[str, Any]]]) -> list[list[tuple[str, str]]]:
    return await checks.check_records(ctx, resource, pairs)


def _coerced_single(run: Run, key: str) -> Callable[..., Awaitable[CheckResult]]:
    async def resolve(_root: Any, info: GraphQLResolveInfo, claims: dict[str, Any], **subject: str) -> CheckResult:
        [outcomes] = await run(info.context, [(subject[key], claims)])
        return _result(outcomes)

    return resolve


def _coerced_batch(run: Run, key: str) -> Callable[..., Awaitable[list[CheckResult]]]:
    async def resolve(_root: Any, info: GraphQLResolveInfo, items: list[dict[str, Any]]) -> list[CheckResult]:
        return [_result(o) for o in await run(info.context, [(item[key], item["claims"]) for item in items])]

    return resolve
