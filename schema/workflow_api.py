"""The application-and-approval workflow in GraphQL (docs/workflow.md).

Queries: `shareApplications`, `shareApplication`, `workflowEvents`, `overdueCounts`.
Mutations: submit, resubmit, withdraw, renew (the consumer); forward, return, consolidate (the
platform); approve, refuse, and suspend, resume, revoke a grant (the provider's data officer).
They need a token and a real-name operator, no purpose. A request's mutations are one unit:
they commit together, after the request's audit record is durable, or not at all
(gateway/graphql_view.py, workflow/unit.py).

This module deliberately does not use `from __future__ import annotations`: strawberry reads
the annotations at run time.
"""

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import ErrorCode, GatewayError
from policies.grants import Grant
from resolvers.context import RequestContext
from schema.catalog import Catalog
from store import workflow as rows
from store.repository import load_application
from store.workflow import ApplicationFilter
from workflow import model
from workflow.model import Approval, Material, Request
from workflow.normative import normative_findings
from workflow.service import CST, Actor, Workflow, visible_departments

MAX_LIST = 500

ApplicationState = strawberry.enum(model.State, name="ShareApplicationState",
                                   description="Where a share application stands (docs/workflow.md).")
ApplicationKind = strawberry.enum(model.Kind, name="ShareApplicationKind")


@dataclass(frozen=True)
class WorkflowAccess:
    """What the resolvers need: the platform store (read fresh on every request) and the catalog."""

    store: AsyncEngine
    catalog: Catalog
    clock: Callable[[], datetime.datetime]

    def today(self) -> datetime.date:
        return self.clock().astimezone(CST).date()


@strawberry.type(description="A supporting material, by reference (a document number or an address).")
class MaterialRef:
    name: str
    reference: str


@strawberry.input(description="A supporting material the catalog entry requires (申请材料), by reference.")
class MaterialInput:
    name: str
    reference: str


@strawberry.input(description="What a consumer applies for (共享申请).")
class ShareApplicationInput:
    resource: str = strawberry.field(description="The resource code, e.g. 1-01-001-001/000001.")
    fields: list[str] = strawberry.field(
        description="Schema coordinates (Person.mobile); an empty list asks for every conditional field.")
    purpose: str = strawberry.field(description="The purpose code (使用用途) the data will be used for, and only for.")
    scenario: str = strawberry.field(description="The application scenario (应用场景): which business, for whom, why.")
    system_name: str = strawberry.field(description="The system that will use the data (应用系统).")
    modes: list[str] = strawberry.field(description="QUERY and/or CHECK.")
    valid_from: datetime.date
    valid_until: datetime.date
    materials: list[MaterialInput] = strawberry.field(default_factory=list)


@strawberry.input(description="What the provider approves; every part may narrow the request, none may widen it.")
class ApprovalInput:
    fields: Optional[list[str]] = strawberry.field(default=None, description="Default: the fields requested.")
    modes: Optional[list[str]] = strawberry.field(default=None, description="Default: the modes requested.")
    valid_from: Optional[datetime.date] = None
    valid_until: Optional[datetime.date] = None
    mask_fields: list[str] = strawberry.field(default_factory=list,
                                              description="Granted fields to serve masked only (要求脱敏).")
    note: str = ""


@strawberry.type(description="What a provider approved.")
class ApprovedTerms:
    fields: list[str]
    modes: list[str]
    valid_from: Optional[str]
    valid_until: Optional[str]
    mask_fields: list[str]
    note: str
    grants: list[str] = strawberry.field(description="A consolidated approval: the grants it fanned out to.")


@strawberry.type(name="ShareApplication", description="A share application (共享申请) and where it stands.")
class ShareApplicationNode:
    id: str
    kind: ApplicationKind  # type: ignore[valid-type]
    state: ApplicationState  # type: ignore[valid-type]
    version: int = strawberry.field(description="Pass it back with a decision: a stale version is a CONFLICT.")
    application: Optional[str]
    department: str
    provider: str
    resource: str
    fields: list[str]
    purpose: str
    scenario: str
    system_name: str
    modes: list[str]
    requested_from: datetime.date
    requested_until: datetime.date
    materials: list[MaterialRef]
    submitted_by: str
    submitted_on: datetime.date
    check_due: datetime.date = strawberry.field(description="The platform's normative check is due by this day.")
    forwarded_on: Optional[datetime.date]
    reply_due: Optional[datetime.date] = strawberry.field(description="The provider's answer is due by this day.")
    decided_on: Optional[datetime.date]
    due: Optional[datetime.date] = strawberry.field(description="The deadline of the step it waits for, if any.")
    overdue: Optional[str] = strawberry.field(
        description="CHECK or REPLY when that step is past its deadline (in Chinese working days); else null.")
    findings: list[str] = strawberry.field(
        description="What the normative check would return it for now; empty when it would pass.")
    reasons: list[str] = strawberry.field(description="Why it was returned or refused.")
    decision: Optional[ApprovedTerms]
    grant: Optional[str]
    renews: Optional[str]
    consolidated_into: Optional[str]
    consolidates: list[str]
    allowed_actions: list[str] = strawberry.field(description="The transitions its state allows now.")


@strawberry.type(name="GrantInfo", description="A grant (授权), as its provider changed it.")
class GrantNode:
    id: str
    application: str
    resource: str
    fields: list[str]
    purpose: str
    modes: list[str]
    valid_from: datetime.date
    valid_until: datetime.date
    status: str = strawberry.field(description="ACTIVE, SUSPENDED, REVOKED, or EXPIRED past validUntil.")
    mask_fields: list[str]


@strawberry.type(description="A notification: what happened to an application or a grant.")
class WorkflowEvent:
    seq: int
    at: str
    kind: str = strawberry.field(description="SUBMITTED, RETURNED, FORWARDED, APPROVED, REFUSED, WITHDRAWN, "
                                 "CONSOLIDATED, EXPIRING, OVERDUE, SUSPENDED, RESUMED, REVOKED.")
    share_application: Optional[str]
    grant: Optional[str]
    consumer: Optional[str]
    provider: Optional[str]
    actor: Optional[str]
    detail: str = strawberry.field(description="JSON: deadlines, reasons, the grant's end.")


@strawberry.type(description="Overdue applications of one responsible party and step.")
class OverdueCount:
    responsible: str = strawberry.field(description="The provider department's code, or PLATFORM for the check.")
    stage: str = strawberry.field(description="CHECK (the platform's normative check) or REPLY (the provider's).")
    count: int


def _node(a: model.ShareApplication, access: WorkflowAccess, purposes: Any) -> ShareApplicationNode:
    r, today = a.request, access.today()
    decision = a.decision or None
    return ShareApplicationNode(
        id=a.id, kind=a.kind, state=a.state, version=a.version, application=a.application, department=a.department,
        provider=a.provider, resource=r.resource, fields=list(r.fields), purpose=r.purpose, scenario=r.scenario,
        system_name=r.system_name, modes=list(r.modes), requested_from=r.valid_from, requested_until=r.valid_until,
        materials=[MaterialRef(name=m.name, reference=m.reference) for m in r.materials], submitted_by=a.submitted_by,
        submitted_on=a.submitted_on, check_due=a.check_due, forwarded_on=a.forwarded_on, reply_due=a.reply_due,
        decided_on=a.decided_on, due=a.due(), overdue=a.overdue_stage(today),
        findings=normative_findings(access.catalog, purposes, r, today) if a.state in (
            model.State.SUBMITTED, model.State.RETURNED) else [],
        reasons=list(a.reasons),
        decision=ApprovedTerms(
            fields=list(decision.get("fields", [])), modes=list(decision.get("modes", [])),
            valid_from=decision.get("validFrom"), valid_until=decision.get("validUntil"),
            mask_fields=list(decision.get("maskFields", [])), note=str(decision.get("note", "")),
            grants=list(decision.get("grants", []))) if decision else None,
        grant=a.grant_id, renews=a.renews, consolidated_into=a.parent, consolidates=list(a.children),
        allowed_actions=[action.value for action in a.allowed_actions()],
    )


def _grant_node(g: Grant, today: datetime.date) -> GrantNode:
    return GrantNode(id=g.id, application=g.application, resource=g.resource, fields=list(g.fields), purpose=g.purpose,
                     modes=list(g.modes), valid_from=g.valid_from, valid_until=g.valid_until,
                     status=g.status_on(today).value, mask_fields=list(g.mask_fields))


def _request(given: ShareApplicationInput) -> Request:
    return Request(resource=given.resource.strip(), fields=tuple(f.strip() for f in given.fields),
                   purpose=given.purpose.strip(), scenario=given.scenario, system_name=given.system_name,
                   modes=tuple(m.strip().upper() for m in given.modes), valid_from=given.valid_from,
                   valid_until=given.valid_until, materials=_materials(given.materials))


def _materials(given: list[MaterialInput]) -> tuple[Material, ...]:
    return tuple(Material(m.name.strip(), m.reference.strip()) for m in given)


def _approval(given: Optional[ApprovalInput]) -> Approval:
    if given is None:
        return Approval()
    return Approval(fields=tuple(given.fields) if given.fields is not None else None,
                    modes=tuple(m.upper() for m in given.modes) if given.modes is not None else None,
                    valid_from=given.valid_from, valid_until=given.valid_until,
                    mask_fields=tuple(given.mask_fields), note=given.note)


def fields(access: Optional[WorkflowAccess]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The query fields and the mutation fields. Without `access` (the schema printed from the
    command line) they exist and answer nothing."""

    def require() -> WorkflowAccess:
        if access is None:
            raise GatewayError(ErrorCode.INTERNAL_ERROR, "The workflow is not reachable here.")
        return access

    async def caller(info: strawberry.Info) -> tuple[WorkflowAccess, Any]:
        acc = require()
        ctx: RequestContext = info.context
        application = await load_application(acc.store, ctx.application)
        if application is None or not application.active:
            raise GatewayError(ErrorCode.FORBIDDEN, "This application may not use the workflow.")
        return acc, application

    async def flow(info: strawberry.Info) -> tuple[WorkflowAccess, Workflow]:
        acc, application = await caller(info)
        ctx: RequestContext = info.context
        return acc, await ctx.workflow_unit.workflow(Actor(application, ctx.operator or ""))

    def answer(acc: WorkflowAccess, wf: Workflow, application: model.ShareApplication) -> ShareApplicationNode:
        return _node(application, acc, wf.principals.purposes)

    async def share_applications(info: strawberry.Info, state: Optional[ApplicationState] = None,  # type: ignore[valid-type]
                                 resource: Optional[str] = None, overdue: Optional[bool] = None,
                                 first: int = 100) -> list[ShareApplicationNode]:
        acc, application = await caller(info)
        if not 1 <= first <= MAX_LIST:
            raise GatewayError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_LIST}.")
        departments, today = visible_departments(application), acc.today()
        if overdue:
            found = [a for a in await rows.overdue_applications(acc.store, today, departments)
                     if (state is None or a.state is state) and (resource is None or a.request.resource == resource)]
        else:
            flt = ApplicationFilter(departments=departments, state=state, resource=resource)
            found = await rows.list_applications(acc.store, flt, limit=first)
            if overdue is False:
                found = [a for a in found if a.overdue_stage(today) is None]
        found = found[:first]
        purposes = await _purposes(acc)
        return [_node(a, acc, purposes) for a in found]

    async def share_application(info: strawberry.Info, id: str) -> Optional[ShareApplicationNode]:
        acc, application = await caller(info)
        flt = ApplicationFilter(departments=visible_departments(application), ids=(id,))
        found = await rows.list_applications(acc.store, flt, limit=1)
        return _node(found[0], acc, await _purposes(acc)) if found else None

    async def workflow_events(info: strawberry.Info, after: int = 0, first: int = 100,
                              kind: Optional[str] = None) -> list[WorkflowEvent]:
        acc, application = await caller(info)
        if not 1 <= first <= MAX_LIST:
            raise GatewayError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_LIST}.")
        departments = visible_departments(application)
        department = None if departments is None else application.department
        events = await rows.load_events(acc.store, department, after=after, limit=first, kind=kind)
        return [WorkflowEvent(seq=e.seq, at=e.at, kind=e.event.kind, share_application=e.event.share_application,
                              grant=e.event.grant_id, consumer=e.event.consumer, provider=e.event.provider,
                              actor=e.event.actor, detail=json.dumps(e.event.detail or {}, ensure_ascii=False))
                for e in events]

    async def overdue_counts(info: strawberry.Info) -> list[OverdueCount]:
        acc, application = await caller(info)
        today, counts = acc.today(), {}
        for a in await rows.overdue_applications(acc.store, today, visible_departments(application)):
            stage = a.overdue_stage(today)
            key = ("PLATFORM" if stage == "CHECK" else a.provider, stage)
            counts[key] = counts.get(key, 0) + 1
        return [OverdueCount(responsible=k[0], stage=k[1], count=n) for k, n in sorted(counts.items())]

    queries = {
        "shareApplications": strawberry.field(resolver=share_applications, description=(
            "Share applications the caller may see, newest first: its department's own and those for the resources "
            "it provides (every one for the platform and auditors). `overdue: true` lists every late one, "
            "`overdue: false` the others.")),
        "shareApplication": strawberry.field(resolver=share_application, description="One share application by id."),
        "workflowEvents": strawberry.field(resolver=workflow_events, description=(
            "Notifications after `after` (a seq), oldest first: those concerning the caller's department as "
            "consumer or provider (every one for the platform and auditors).")),
        "overdueCounts": strawberry.field(resolver=overdue_counts, description=(
            "Overdue applications counted per responsible party and step (000 第三十八条: response times).")),
    }

    async def submit(info: strawberry.Info, input: ShareApplicationInput) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.submit(_request(input)))

    async def resubmit(info: strawberry.Info, id: str, input: Optional[ShareApplicationInput] = None,
                       version: Optional[int] = None) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.resubmit(id, _request(input) if input else None, version))

    async def withdraw(info: strawberry.Info, id: str, version: Optional[int] = None) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.withdraw(id, version))

    async def renew(info: strawberry.Info, grant: str, valid_until: datetime.date,
                    materials: list[MaterialInput], scenario: Optional[str] = None,
                    system_name: Optional[str] = None) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.renew(grant, valid_until, _materials(materials), scenario, system_name))

    async def forward(info: strawberry.Info, id: str, note: str = "", version: Optional[int] = None
                      ) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.forward(id, version, note))

    async def return_(info: strawberry.Info, id: str, reasons: list[str], version: Optional[int] = None
                      ) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.return_(id, reasons, version))

    async def consolidate(info: strawberry.Info, ids: list[str], scenario: str = "") -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.consolidate(ids, scenario))

    async def approve(info: strawberry.Info, id: str, approval: Optional[ApprovalInput] = None,
                      version: Optional[int] = None) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.approve(id, _approval(approval), version))

    async def refuse(info: strawberry.Info, id: str, reason: str, version: Optional[int] = None
                     ) -> ShareApplicationNode:
        acc, wf = await flow(info)
        return answer(acc, wf, await wf.refuse(id, reason, version))

    def grant_change(action: str) -> Any:
        async def change(info: strawberry.Info, id: str, reason: str = "") -> GrantNode:
            acc, wf = await flow(info)
            return _grant_node(await wf.set_grant_status(id, action, reason), acc.today())

        return change

    mutations = {
        "submitShareApplication": strawberry.mutation(resolver=submit, description=(
            "The consumer applies for conditional data; the platform's check is due in the configured working days.")),
        "resubmitShareApplication": strawberry.mutation(resolver=resubmit, description=(
            "The consumer resubmits a RETURNED application, changed (input) or as it is.")),
        "withdrawShareApplication": strawberry.mutation(resolver=withdraw, description="The consumer withdraws it."),
        "renewGrant": strawberry.mutation(resolver=renew, description=(
            "The consumer applies to renew one of its grants until `validUntil`: a RENEWAL application.")),
        "forwardShareApplication": strawberry.mutation(resolver=forward, description=(
            "The platform's normative check: forwarded to the provider if it passes, else RETURNED with the findings.")),
        "returnShareApplication": strawberry.mutation(resolver=return_, description=(
            "The platform returns it to the consumer with reasons.")),
        "consolidateShareApplications": strawberry.mutation(resolver=consolidate, description=(
            "The platform groups several departments' SUBMITTED applications for one resource and purpose into one "
            "application upward (整体授权); its decision is fanned out to them.")),
        "approveShareApplication": strawberry.mutation(resolver=approve, description=(
            "The provider approves, possibly narrowing fields, modes or period, or requiring masking: the grant is in "
            "force at once.")),
        "refuseShareApplication": strawberry.mutation(resolver=refuse, description=(
            "The provider refuses; the reason is mandatory.")),
        "suspendGrant": strawberry.mutation(resolver=grant_change("suspend"), description=(
            "The provider suspends a grant, at once; the reason is mandatory.")),
        "resumeGrant": strawberry.mutation(resolver=grant_change("resume"), description="The provider resumes a grant."),
        "revokeGrant": strawberry.mutation(resolver=grant_change("revoke"), description=(
            "The provider revokes a grant for good, at once; the reason is mandatory.")),
    }
    return queries, mutations


async def _purposes(access: WorkflowAccess) -> Any:
    from store.repository import load_principals

    return (await load_principals(access.store)).purposes


QUERY_FIELDS = frozenset({"shareApplications", "shareApplication", "workflowEvents", "overdueCounts"})
MUTATION_FIELDS = frozenset(fields(None)[1])
ROOT_FIELDS = QUERY_FIELDS | MUTATION_FIELDS
__all__ = ["MUTATION_FIELDS", "QUERY_FIELDS", "ROOT_FIELDS", "WorkflowAccess", "fields"]
