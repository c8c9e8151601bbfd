"""Generate the GraphQL schema from the catalog: no resolver is written per resource.

    Person / Enterprise         federated entities: the fields of every ONE resource keyed by them,
                                plus a list field per MANY resource (Person.licenses, ...)
    <Record types>              one per MANY resource (PersonLicense, ContributionRecord, ...)
    Query.person / enterprise   the entities by key
    Query.<listField>           one cursor-paginated list per resource, with `where` and `orderBy`
    Query.<listField>Groups     counts of its records grouped by fields (`groupBy`)
    Query.catalog               the catalog, with the caller's access per field
    Query.unmask                reverse `reversible` mask tokens under an explicit grant
    Query.check*                data check (数据核验): claimed values in, MATCH/MISMATCH/NOT_FOUND out
    Query.auditRecords          the audit trail, scoped to the caller (schema/audit_api.py)
    Query.shareApplications …   the application-and-approval workflow (schema/workflow_api.py)
    Query.policyVersions …      policy administration and explain (schema/policy_api.py)
    Mutation.*                  the workflow's steps; policy versions: create, activate, roll back

This module deliberately does not use `from __future__ import annotations`: strawberry reads
the annotations of the types and resolvers built here at run time.
"""

from typing import Annotated, Any, Optional

import strawberry

from resolvers import entities
from resolvers.listing import group_keys, list_query
from schema import audit_api, catalog_api, check_api, policy_api, unmask_api, workflow_api
from schema.catalog import Cardinality, Catalog, Entity, Resource
from schema.list_inputs import GroupCount, ListInputs, groups_field
from schema.types import python_type


def build_schema(catalog: Catalog, audit: Optional[audit_api.AuditAccess] = None,
                 workflow: Optional[workflow_api.WorkflowAccess] = None,
                 policy: Optional[policy_api.PolicyAccess] = None, coerced_checks: bool = True) -> strawberry.Schema:
    """`audit` reads the audit trail for `auditRecords` and `workflow` reaches the share
    applications (the running gateway's stores); without them the schema is the same, as
    `gateway schema print` shows it. `coerced_checks` resolves the data-check fields without
    strawberry's argument conversion (check_api.install_coerced_resolvers)."""
    builder = _Builder(catalog, audit)
    workflow_queries, workflow_mutations = workflow_api.fields(workflow)
    policy_queries, policy_mutations = policy_api.fields(policy)
    query = builder.query_type({**workflow_queries, **policy_queries})
    mutation = strawberry.type(type("Mutation", (), {**workflow_mutations, **policy_mutations}), name="Mutation")
    schema = strawberry.Schema(query=query, mutation=mutation, types=list(builder.types.values()))
    if coerced_checks:
        check_api.install_coerced_resolvers(schema._schema, catalog)
    return schema


class _Builder:
    def __init__(self, catalog: Catalog, audit: Optional[audit_api.AuditAccess] = None) -> None:
        self.catalog = catalog
        self.audit = audit
        self.types: dict[str, Any] = {}
        self.connections: dict[str, Any] = {}
        for resource in catalog.resources.values():
            if resource.cardinality is Cardinality.MANY:
                self.types[resource.type_name] = self._object_type(resource.type_name, [resource])
        for entity in Entity:
            self.types[entity.value] = self._object_type(entity.value, catalog.resources_of(entity.value), entity)

    def _object_type(self, name: str, resources: list[Resource], entity: Entity | None = None) -> Any:
        annotations: dict[str, Any] = {}
        namespace: dict[str, Any] = {}
        for resource in resources:
            for f in resource.fields:
                annotations[f.name] = Optional[python_type(f)]
                namespace[f.name] = strawberry.field(description=f"{f.title} ({resource.name}, {resource.code})")
        if entity is not None:
            for resource in self.catalog.many_resources_of(entity):
                record_type = self.types[resource.type_name]
                namespace[resource.entity_field or resource.table] = strawberry.field(
                    resolver=_nested_resolver(resource, record_type),
                    description=f"{resource.name} ({resource.code})",
                )
        namespace["__annotations__"] = annotations
        cls = type(name, (), namespace)
        description = entity.value if entity else resources[0].name
        return strawberry.type(cls, name=name, description=_describe(name, resources, description))

    def connection(self, type_name: str) -> Any:
        if type_name not in self.connections:
            node_type = self.types[type_name]
            edge = strawberry.type(
                type(f"{type_name}Edge", (), {"__annotations__": {"cursor": str, "node": Optional[node_type]}}),
                name=f"{type_name}Edge",
            )
            self.connections[type_name] = strawberry.type(
                type(f"{type_name}Connection", (), {"__annotations__": {"edges": list[edge], "page_info": PageInfo}}),
                name=f"{type_name}Connection",
            )
        return self.connections[type_name]

    def query_type(self, extra: dict[str, Any]) -> Any:
        namespace: dict[str, Any] = dict(extra)
        for entity in Entity:
            namespace[entity.value.lower()] = strawberry.field(
                resolver=_entity_resolver(entity, self.types[entity.value]),
                description=f"A {entity.value} by {entity.key_argument}, federated across libraries.",
            )
        for resource in sorted(self.catalog.resources.values(), key=lambda r: r.code):
            inputs = ListInputs(resource)
            namespace[resource.list_field] = strawberry.field(
                resolver=_list_resolver(resource, self.connection(resource.type_name), inputs),
                description=f"{resource.name} ({resource.code}), cursor-paginated; filters and sort keys only on "
                "fields you see raw.",
            )
            namespace[groups_field(resource)] = strawberry.field(
                resolver=_groups_resolver(resource, inputs),
                description=f"Counts of {resource.name} ({resource.code}) records grouped by fields you see raw, "
                "largest groups first.",
            )
        namespace["catalog"] = strawberry.field(resolver=catalog_api.resolve_catalog, description=catalog_api.DESCRIPTION)
        namespace.update(check_api.root_fields(self.catalog))
        namespace.update(check_api.record_fields(self.catalog))
        namespace["unmask"] = strawberry.field(resolver=unmask_api.resolve_unmask, description=unmask_api.DESCRIPTION)
        namespace.update(audit_api.root_fields(PageInfo, self.audit))
        return strawberry.type(type("Query", (), namespace), name="Query")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


def _describe(name: str, resources: list[Resource], fallback: str) -> str:
    sources = ", ".join(f"{r.name} {r.code}" for r in resources)
    return f"{fallback}. Fields from: {sources}." if sources else fallback


def _entity_resolver(entity: Entity, node_type: Any) -> Any:
    resolve = entities.entity_root(entity)
    key_type = Annotated[strawberry.ID, strawberry.argument(name=entity.key_argument)]

    async def resolver(info: strawberry.Info, key: key_type) -> Optional[node_type]:  # type: ignore[valid-type]
        return await resolve(info, key)

    return resolver


def _list_resolver(resource: Resource, connection_type: Any, inputs: ListInputs) -> Any:
    make = entities.entity_list if resource.cardinality is Cardinality.ONE else entities.record_list
    resolve = make(resource)
    where_type, order_type = inputs.where, inputs.order

    async def resolver(
        info: strawberry.Info,
        first: int = 20,
        after: Optional[str] = None,
        where: Optional[where_type] = None,  # type: ignore[valid-type]
        order_by: Optional[list[order_type]] = None,  # type: ignore[valid-type]
    ) -> connection_type:  # type: ignore[valid-type]
        return await resolve(info, first, after, list_query(resource, where, order_by))

    return resolver


def _groups_resolver(resource: Resource, inputs: ListInputs) -> Any:
    resolve = entities.group_counts(resource)
    where_type, field_enum = inputs.where, inputs.field_enum

    async def resolver(
        info: strawberry.Info,
        group_by: list[field_enum],  # type: ignore[valid-type]
        where: Optional[where_type] = None,  # type: ignore[valid-type]
        first: int = 100,
    ) -> list[GroupCount]:
        return await resolve(info, list_query(resource, where), group_keys(resource, group_by), first)

    return resolver


def _nested_resolver(resource: Resource, record_type: Any) -> Any:
    resolve = entities.nested_records(resource)

    async def resolver(root: Any, info: strawberry.Info) -> Optional[list[record_type]]:  # type: ignore[valid-type]
        return await resolve(root, info)

    return resolver


__all__ = ["build_schema"]
