"""The catalog in GraphQL: what exists, who provides it, and what the caller gets.

`access` and `reason` come from the same planner that serves data, so the catalog can never
promise what a query would refuse (BRIEF §4).
"""

from typing import Optional

import strawberry

from policies.planner import Access as AccessEnum
from policies.planner import Decision
from resolvers.context import RequestContext
from schema.catalog import Field, OpenClass, Resource, Sensitivity, ShareClass, ShareMode

DESCRIPTION = (
    "The data-resource catalog (政务数据资源目录). `access` and `reason` are for the calling "
    "application under the declared X-Purpose (null without one)."
)

ShareClassEnum = strawberry.enum(ShareClass, name="ShareClass")
ShareModeEnum = strawberry.enum(ShareMode, name="ShareMode")
OpenClassEnum = strawberry.enum(OpenClass, name="OpenClass")
SensitivityEnum = strawberry.enum(Sensitivity, name="Sensitivity")
Access = strawberry.enum(AccessEnum, name="Access")


@strawberry.type(description="信息项: one field of a resource.")
class CatalogField:
    name: str
    title: str
    coordinate: str = strawberry.field(description="The GraphQL schema coordinate, e.g. Person.mobile.")
    data_type: str
    length: Optional[int]
    share_class: ShareClassEnum  # type: ignore[valid-type]
    sensitivity: SensitivityEnum  # type: ignore[valid-type]
    mask_rule: Optional[str]
    mask_required: bool
    legal_basis: Optional[str]
    access: Optional[Access] = strawberry.field(  # type: ignore[valid-type]
        description="RAW, MASKED or DENIED for the calling application under the declared purpose."
    )
    reason: Optional[str] = strawberry.field(
        description="Null when RAW; the error code when DENIED; why raw is withheld when MASKED."
    )


@strawberry.type(description="信息资源: one catalog entry.")
class CatalogResource:
    code: str = strawberry.field(description="资源代码: 类-项-目-细目/顺序码.")
    name: str
    library: str
    library_name: str
    provider: str = strawberry.field(description="The providing department's code.")
    provider_name: str
    summary: str
    format: str
    update_cycle: str
    share_class: ShareClassEnum  # type: ignore[valid-type]
    share_conditions: str
    share_modes: list[ShareModeEnum]  # type: ignore[valid-type]
    open_class: OpenClassEnum  # type: ignore[valid-type]
    published_on: str
    related: list[str]
    legal_basis: Optional[str]
    fields: list[CatalogField]


@strawberry.type(description="政务数据资源目录.")
class Catalog:
    resources: list[CatalogResource]


def resolve_catalog(info: strawberry.Info) -> Catalog:
    ctx: RequestContext = info.context
    decisions: dict[str, Decision] = {}
    if ctx.purpose is not None:
        decisions = ctx.planner.plan(ctx.application, ctx.purpose, ctx.catalog.by_coordinate).decisions
    names = ctx.department_names
    resources = [
        _resource(r, ctx.catalog.libraries[r.library].name, names.get(r.provider, r.provider), decisions)
        for r in sorted(ctx.catalog.resources.values(), key=lambda r: r.code)
    ]
    return Catalog(resources=resources)


def _resource(r: Resource, library_name: str, provider_name: str, decisions: dict[str, Decision]) -> CatalogResource:
    return CatalogResource(
        code=r.code, name=r.name, library=r.library, library_name=library_name, provider=r.provider,
        provider_name=provider_name, summary=r.summary, format=r.format, update_cycle=r.update_cycle,
        share_class=r.share_class, share_conditions=r.share_conditions, share_modes=list(r.share_modes),
        open_class=r.open_class, published_on=r.published_on.isoformat(), related=list(r.related),
        legal_basis=r.legal_basis, fields=[_field(r, f, decisions.get(r.coordinate(f))) for f in r.fields],
    )


def _field(r: Resource, f: Field, decision: Decision | None) -> CatalogField:
    return CatalogField(
        name=f.name, title=f.title, coordinate=r.coordinate(f), data_type=f.data_type.value, length=f.length,
        share_class=f.share_class, sensitivity=f.sensitivity, mask_rule=f.mask_rule, mask_required=f.mask_required,
        legal_basis=f.legal_basis,
        access=decision.access if decision else None,
        reason=decision.reason.value if decision and decision.reason else None,
    )
