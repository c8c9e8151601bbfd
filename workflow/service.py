"""The workflow's operations, on one open transaction of the platform store.

`Workflow` changes rows and queues notifications; it never commits. Its caller audits the
changes it made (`Workflow.changes`) and only then commits, so that no step of the workflow
happens without its audit record (审计先于变更). Each operation checks the caller's role,
the state machine (workflow.model), and that nobody else moved the application meanwhile.

    consumer (CONSUMER)          submit, resubmit, withdraw, renew
    platform (PLATFORM_ADMIN)    forward (after the normative check), return, consolidate
    provider (PROVIDER_ADMIN     approve, refuse; suspend, resume, revoke its grants
    of the resource's provider)

The roles' operations are decided by Casbin (policies/roles.py, policies/admin_policy.csv); the
scope within a role (its own applications, its own resources) is decided here.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import ErrorCode
from policies.grants import Grant, GrantStatus
from policies.roles import may
from schema.catalog import Catalog, Resource, ShareClass
from store import repository
from store import workflow as rows
from store.repository import Application, Principals
from store.workflow import Event
from workflow.calendar import CalendarNotCovered, WorkingCalendar
from workflow.model import (
    Action,
    Approval,
    Kind,
    Material,
    Request,
    ShareApplication,
    State,
    WorkflowError,
    next_state,
)
from workflow.normative import normative_findings

CST = timezone(timedelta(hours=8), "CST")
LIMITS = {"scenario": 2000, "system name": 100, "material": 200, "reason": 1000}  # characters
MAX_FIELDS = 200  # deadlines run on China Standard Time dates
EVENTS = {"suspend": "SUSPENDED", "resume": "RESUMED", "revoke": "REVOKED"}  # a grant's change → its notification


def now() -> datetime:
    return datetime.now(CST)


@dataclass(frozen=True)
class Deadlines:
    check_days: int = 3
    reply_days: int = 5
    expiry_notice_days: int = 7

    @classmethod
    def of(cls, settings: Any) -> Deadlines:
        """From the gateway's settings (GATEWAY_WORKFLOW_*)."""
        return cls(settings.workflow_check_days, settings.workflow_reply_days, settings.workflow_expiry_notice_days)


@dataclass(frozen=True)
class Actor:
    """Who acts: the calling application (its role and department) and the real-name operator."""

    application: Application
    operator: str

    @property
    def role(self) -> str:
        return self.application.role

    @property
    def department(self) -> str:
        return self.application.department


@dataclass(frozen=True)
class Change:
    """One step taken, as the audit record names it."""

    action: str
    share_application: str | None
    state_from: str | None
    state_to: str | None
    resource: str
    consumer: str
    provider: str
    grant: str | None = None

    def as_audit(self) -> dict[str, Any]:
        """`consumer` and `provider` put the record in both departments' audit scope (audit.query.Scope)."""
        return {k: v for k, v in {"action": self.action, "shareApplication": self.share_application,
                                  "from": self.state_from, "to": self.state_to, "resource": self.resource,
                                  "consumer": self.consumer, "provider": self.provider,
                                  "grant": self.grant}.items() if v is not None}


def visible_departments(application: Application) -> frozenset[str] | None:
    """Whose applications a caller may read: every one for the platform and auditors, else those
    its department applied for or provides."""
    return None if may(application.role, "workflow.read.all") else frozenset({application.department})


@dataclass
class Workflow:
    conn: AsyncConnection
    catalog: Catalog
    principals: Principals
    calendar: WorkingCalendar
    deadlines: Deadlines
    actor: Actor
    at: datetime = field(default_factory=now)
    changes: list[Change] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.at.astimezone(CST).date()

    # The consumer's steps.

    async def submit(self, request: Request, *, kind: Kind = Kind.NEW, renews: str | None = None) -> ShareApplication:
        self._require(may(self.actor.role, "workflow.submit"), "Only a consuming application applies for data, for itself.")
        resource = self._admissible(request)
        application_id = f"SA-{self.today:%Y%m%d}-{secrets.token_hex(3).upper()}"
        values = {
            **request.as_row(), "id": application_id, "kind": kind.value, "application": self.actor.application.id,
            "department": self.actor.department, "provider": resource.provider, "state": State.SUBMITTED.value,
            "version": 1, "submitted_by": self.actor.operator, "submitted_on": self.today,
            "check_due": self._due(self.deadlines.check_days), "reasons": [], "renews": renews,
            "updated_at": self.at.isoformat(),
        }
        await rows.insert_application(self.conn, values)
        created = await self._load(application_id)
        self._record(Action.SUBMIT.value, created, None, State.SUBMITTED, "SUBMITTED",
                     detail={"checkDue": created.check_due.isoformat(), "kind": kind.value})
        return created

    async def resubmit(self, application_id: str, request: Request | None, version: int | None) -> ShareApplication:
        current = await self._load(application_id, version)
        self._require_own(current, "workflow.resubmit")
        request = request or current.request
        self._admissible(request)
        if request.resource != current.request.resource:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, "A resubmission keeps its resource; apply anew for another.")
        return await self._move(current, Action.RESUBMIT, "SUBMITTED", {
            **request.as_row(), "submitted_on": self.today, "check_due": self._due(self.deadlines.check_days),
            "reasons": []})

    async def withdraw(self, application_id: str, version: int | None) -> ShareApplication:
        current = await self._load(application_id, version)
        self._require_own(current, "workflow.withdraw")
        return await self._move(current, Action.WITHDRAW, "WITHDRAWN", {})

    async def renew(self, grant_id: str, valid_until: date, materials: Sequence[Material], scenario: str | None,
                    system_name: str | None) -> ShareApplication:
        row = await rows.grant_row(self.conn, grant_id)
        if row is None or row.application != self.actor.application.id:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"There is no grant {grant_id} of this application.")
        if row.status == GrantStatus.REVOKED.value:
            raise WorkflowError(ErrorCode.INVALID_TRANSITION, "A revoked grant cannot be renewed; apply anew.")
        origin = await rows.load_application(self.conn, row.share_application) if row.share_application else None
        request = Request(
            resource=row.resource, fields=tuple(row.fields), purpose=row.purpose,
            scenario=scenario if scenario is not None else (origin.request.scenario if origin else row.scenario),
            system_name=system_name or (origin.request.system_name if origin else self.actor.application.name),
            modes=tuple(row.modes), valid_from=max(self.today, row.valid_until + timedelta(days=1)),
            valid_until=valid_until, materials=tuple(materials),
        )
        return await self.submit(request, kind=Kind.RENEWAL, renews=grant_id)

    # The platform's steps.

    async def forward(self, application_id: str, version: int | None, note: str = "") -> ShareApplication:
        """Run the normative check: forward to the provider, or return with the findings."""
        self._require(may(self.actor.role, "workflow.forward"), "Only the platform checks and forwards applications.")
        current = await self._load(application_id, version)
        next_state(current.state, Action.FORWARD)
        findings = normative_findings(self.catalog, self.principals.purposes, current.request, self.today)
        if findings:
            return await self._move(current, Action.RETURN, "RETURNED", {"reasons": findings},
                                    detail={"reasons": findings, "automatic": True})
        reply_due = self._due(self.deadlines.reply_days)
        return await self._move(current, Action.FORWARD, "FORWARDED", {
            "forwarded_on": self.today, "reply_due": reply_due, "reasons": [note] if note.strip() else []},
            detail={"replyDue": reply_due.isoformat()})

    async def return_(self, application_id: str, reasons: Sequence[str], version: int | None) -> ShareApplication:
        self._require(may(self.actor.role, "workflow.return"), "Only the platform returns applications.")
        reasons = _reasons(reasons, "Returning an application needs at least one reason.")
        current = await self._load(application_id, version)
        return await self._move(current, Action.RETURN, "RETURNED", {"reasons": reasons}, detail={"reasons": reasons})

    async def consolidate(self, application_ids: Sequence[str], scenario: str = "") -> ShareApplication:
        """Group several departments' applications for the same resource and purpose into one
        application upward (整体授权, 南昌 第十六条); its decision is fanned out to them."""
        self._require(may(self.actor.role, "workflow.consolidate"), "Only the platform consolidates applications.")
        ids = list(dict.fromkeys(application_ids))
        if len(ids) < 2:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, "Consolidate at least two applications.")
        members = [await self._load(i) for i in ids]
        if len({m.department for m in members}) < len(members):
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, "Consolidate applications of different departments, one "
                                "each (整体授权 groups departments).")
        first = members[0].request
        for member in members:
            next_state(member.state, Action.CONSOLIDATE)
            if (member.request.resource, member.request.purpose) != (first.resource, first.purpose):
                raise WorkflowError(ErrorCode.BAD_USER_INPUT, "Consolidated applications share one resource and "
                                    "one purpose; consolidate each group on its own.")
            findings = normative_findings(self.catalog, self.principals.purposes, member.request, self.today)
            if findings:
                raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"{member.id} does not pass the normative check "
                                    f"({findings[0]}); return it instead.")
        fields = () if any(not m.request.fields for m in members) else tuple(
            sorted({f for m in members for f in m.request.fields}))
        request = Request(
            resource=first.resource, fields=fields, purpose=first.purpose,
            scenario=scenario.strip() or "；".join(f"{m.department}: {m.request.scenario}" for m in members),
            system_name="；".join(sorted({m.request.system_name for m in members})),
            modes=tuple(sorted({mode for m in members for mode in m.request.modes})),
            valid_from=min(m.request.valid_from for m in members), valid_until=max(m.request.valid_until for m in members),
            materials=tuple({(x.name, x.reference): x for m in members for x in m.request.materials}.values()),
        )
        parent_id = f"SA-{self.today:%Y%m%d}-{secrets.token_hex(3).upper()}"
        await rows.insert_application(self.conn, {
            **request.as_row(), "id": parent_id, "kind": Kind.CONSOLIDATED.value, "application": None,
            "department": self.actor.department, "provider": members[0].provider, "state": State.FORWARDED.value,
            "version": 1, "submitted_by": self.actor.operator, "submitted_on": self.today, "check_due": self.today,
            "forwarded_on": self.today, "reply_due": self._due(self.deadlines.reply_days), "reasons": [],
            "updated_at": self.at.isoformat(),
        })
        for member in members:
            await self._move(member, Action.CONSOLIDATE, "CONSOLIDATED", {"parent": parent_id},
                             detail={"consolidatedInto": parent_id})
        parent = await self._load(parent_id)
        # Between the platform and the provider: a member department never hears of the others.
        self._record(Action.FORWARD.value, parent, None, State.FORWARDED, "FORWARDED",
                     detail={"consolidates": ids, "replyDue": parent.reply_due.isoformat() if parent.reply_due else None})
        return parent

    # The provider's steps.

    async def approve(self, application_id: str, approval: Approval, version: int | None) -> ShareApplication:
        current = await self._decidable(application_id, version, Action.APPROVE)
        if current.kind is Kind.CONSOLIDATED:
            return await self._approve_consolidated(current, approval)
        terms = self._terms(current.request, approval)
        if current.renews is not None:
            terms = await self._as_renewed(current.renews, terms)
        grant = await self._grant(current, terms)
        return await self._move(current, Action.APPROVE, "APPROVED", {
            "decided_on": self.today, "decision": _decision(terms, approval.note), "grant_id": grant.id},
            grant=grant.id, detail={"grant": grant.id, "validUntil": grant.valid_until.isoformat()})

    async def refuse(self, application_id: str, reason: str, version: int | None) -> ShareApplication:
        reasons = _reasons([reason], "A refusal must give its reason (不予共享的理由).")
        current = await self._decidable(application_id, version, Action.REFUSE)
        for child in await self._children(current):
            await self._move(child, Action.REFUSE, "REFUSED", {"decided_on": self.today, "reasons": reasons},
                             detail={"reasons": reasons, "consolidatedIn": current.id})
        return await self._move(current, Action.REFUSE, "REFUSED", {"decided_on": self.today, "reasons": reasons},
                                detail={"reasons": reasons})

    async def set_grant_status(self, grant_id: str, action: str, reason: str) -> Grant:
        """suspend, resume or revoke a grant of the provider's own resources; in force at once."""
        moves = {"suspend": ("ACTIVE", GrantStatus.SUSPENDED), "resume": ("SUSPENDED", GrantStatus.ACTIVE),
                 "revoke": (None, GrantStatus.REVOKED)}  # action → (the status it needs, the status it gives)
        row = await rows.grant_row(self.conn, grant_id)
        resource = self.catalog.resources.get(row.resource) if row is not None else None
        if row is None or resource is None or not self._provides(resource.provider, "grant.change"):
            # Only its provider hears of a grant here: to anyone else it does not exist.
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"There is no grant {grant_id} of your department's "
                                "resources (only a PROVIDER_ADMIN application of the provider changes a grant).")
        if action != "resume":
            reason = _reasons([reason], f"To {action} a grant, give the reason.")[0]
        _bounded("reason", [reason])
        expected, status = moves[action]
        allowed = (row.status == expected) if expected else row.status in ("ACTIVE", "SUSPENDED")
        if not allowed:
            raise WorkflowError(ErrorCode.INVALID_TRANSITION, f"A grant that is {row.status} cannot be {EVENTS[action].lower()}.")
        if not await rows.set_grant_status_if(self.conn, grant_id, row.status, status.value):
            raise WorkflowError(ErrorCode.CONFLICT, f"Grant {grant_id} was changed meanwhile; read it again.")
        await repository.bump_policy_revision(self.conn)
        consumer = self._department_of(row.application)
        kind = EVENTS[action]
        self.changes.append(Change(f"grant.{action}", row.share_application, row.status, status.value, row.resource,
                                   consumer, resource.provider, grant_id))
        self.events.append(Event(kind, row.share_application, grant_id, consumer, resource.provider,
                                 self.actor.operator, {"reason": reason} if reason else {}))
        loaded = [g for g in await repository.load_grants(self.conn) if g.id == grant_id]
        return loaded[0]

    # Helpers.

    def _admissible(self, request: Request) -> Resource:
        """What must hold for an application to be stored at all (the rest is the normative check's)."""
        resource = self.catalog.resources.get(request.resource)
        if resource is None:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"There is no resource {request.resource} in the catalog.")
        if request.purpose not in self.principals.purposes:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"{request.purpose} is not a registered purpose code.")
        unknown = [m for m in request.modes if m not in ("QUERY", "CHECK")]
        if unknown:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"Share modes are QUERY and CHECK, not {unknown[0]}.")
        _bounded("scenario", [request.scenario])
        _bounded("system name", [request.system_name])
        _bounded("material", [text for m in request.materials for text in (m.name, m.reference)])
        if len(request.fields) > MAX_FIELDS or len(request.materials) > MAX_FIELDS:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"At most {MAX_FIELDS} fields and materials.")
        return resource

    def _terms(self, request: Request, approval: Approval) -> Grant:
        """The grant's terms: the request, narrowed by the approval and never widened."""
        resource = self.catalog.resources[request.resource]
        conditional = {resource.coordinate(f) for f in resource.fields if f.share_class is ShareClass.CONDITIONAL}
        requested = set(request.fields) or conditional
        if approval.fields is not None and not approval.fields:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, "Approve at least one field (or refuse the application).")
        # Spelled out, never empty: a grant made here covers what was decided today, not whatever
        # becomes conditional later.
        fields = tuple(sorted(set(approval.fields) if approval.fields is not None else requested))
        wider = sorted(set(fields) - requested)
        if wider:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"An approval may narrow the request, not widen it: "
                                f"{wider[0]} was not requested.")
        modes = tuple(approval.modes) if approval.modes is not None else request.modes
        if not modes or set(modes) - set(request.modes):
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, "Approve some of the requested share modes, and no other.")
        start = approval.valid_from or max(request.valid_from, self.today)
        until = approval.valid_until or request.valid_until
        if start < request.valid_from or until > request.valid_until or until < start or until < self.today:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, "The approved period must lie within the requested one "
                                f"({request.valid_from} to {request.valid_until}) and not be over.")
        masked = set(approval.mask_fields) - set(fields)
        if masked:
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"{sorted(masked)[0]} is masked but not granted.")
        return Grant(id="", application="", resource=request.resource, fields=fields, purpose=request.purpose,
                     modes=modes, valid_from=start, valid_until=until, status=GrantStatus.ACTIVE,
                     mask_fields=tuple(sorted(approval.mask_fields)))

    async def _grant(self, application: ShareApplication, terms: Grant) -> Grant:
        assert application.application is not None
        grant = replace(terms, id=f"G-{application.id}", application=application.application)
        await repository.insert_grant(self.conn, grant, scenario=application.request.scenario,
                                      share_application=application.id)
        return grant

    async def _approve_consolidated(self, parent: ShareApplication, approval: Approval) -> ShareApplication:
        """Fan the decision out: each grouped application gets a grant on what it asked for and
        the approval covers; one the approval does not cover at all is refused, with that reason."""
        terms = self._terms(parent.request, approval)
        granted: list[str] = []
        for child in await self._children(parent):
            try:
                child_terms = self._terms(child.request, _within(child.request, terms, approval))
            except WorkflowError as exc:
                await self._move(child, Action.REFUSE, "REFUSED", {"decided_on": self.today, "reasons": [exc.message]},
                                 detail={"reasons": [exc.message], "consolidatedIn": parent.id})
                continue
            grant = await self._grant(child, child_terms)
            granted.append(grant.id)
            await self._move(child, Action.APPROVE, "APPROVED", {
                "decided_on": self.today, "decision": _decision(child_terms, approval.note), "grant_id": grant.id},
                grant=grant.id, detail={"grant": grant.id, "consolidatedIn": parent.id})
        return await self._move(parent, Action.APPROVE, "APPROVED", {
            "decided_on": self.today, "decision": _decision(terms, approval.note) | {"grants": granted}},
            detail={"grants": granted})

    async def _decidable(self, application_id: str, version: int | None, action: Action) -> ShareApplication:
        """An application its provider may decide now: forwarded, or consolidated by the platform
        (then decided as a whole, never one member at a time)."""
        current = await self._load(application_id, version)
        self._require_provider(current.provider, f"workflow.{action.value}")
        if current.parent is not None:
            raise WorkflowError(ErrorCode.INVALID_TRANSITION, f"{current.id} is decided through the consolidated "
                                f"application {current.parent}; decide that one.")
        next_state(current.state, action)
        return current

    async def _as_renewed(self, grant_id: str, terms: Grant) -> Grant:
        """A renewal keeps the masking its provider required of the grant it renews, and is void
        once that grant was revoked."""
        old = await rows.grant_row(self.conn, grant_id)
        if old is None or old.status == GrantStatus.REVOKED.value:
            raise WorkflowError(ErrorCode.INVALID_TRANSITION, f"The grant {grant_id} this renews was revoked: refuse "
                                "the renewal; the consumer applies anew.")
        kept = [f for f in old.mask_fields or () if f in terms.fields]
        rules = {f: r for f, r in (old.mask_rules or {}).items() if f in terms.fields}
        return replace(terms, mask_fields=tuple(sorted({*terms.mask_fields, *kept})), mask_rules=rules)

    async def _children(self, parent: ShareApplication) -> list[ShareApplication]:
        return [await self._load(child) for child in parent.children]

    async def _load(self, application_id: str, version: int | None = None) -> ShareApplication:
        found = await rows.load_application(self.conn, application_id)
        if found is None or not self._may_read(found):
            raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"There is no share application {application_id}.")
        if version is not None and version != found.version:
            raise WorkflowError(ErrorCode.CONFLICT, f"{application_id} changed since you read it (version {version}, "
                                f"now {found.version}, {found.state.value}); read it again and decide on what it is now.")
        return found

    def _may_read(self, application: ShareApplication) -> bool:
        departments = visible_departments(self.actor.application)
        return departments is None or bool({application.department, application.provider} & departments)

    async def _move(self, current: ShareApplication, action: Action, event: str, values: dict[str, Any],
                    grant: str | None = None, detail: dict[str, Any] | None = None) -> ShareApplication:
        target = next_state(current.state, action)
        if not await rows.transition(self.conn, current.id, current.version,
                                     {**values, "state": target.value, "updated_at": self.at.isoformat()}):
            raise WorkflowError(ErrorCode.CONFLICT, f"{current.id} was changed by someone else meanwhile; read it "
                                "again and decide on what it is now.")
        moved = await self._load(current.id)
        self._record(action.value, moved, current.state, target, event, grant=grant, detail=detail)
        return moved

    def _record(self, action: str, application: ShareApplication, source: State | None, target: State, event: str,
                grant: str | None = None, detail: dict[str, Any] | None = None) -> None:
        self.changes.append(Change(action, application.id, source.value if source else None, target.value,
                                   application.request.resource, application.department, application.provider, grant))
        self.events.append(Event(event, application.id, grant, application.department, application.provider,
                                 self.actor.operator, detail or {}))

    def _due(self, working_days: int) -> date:
        try:
            return self.calendar.add_working_days(self.today, working_days)
        except CalendarNotCovered as exc:
            raise WorkflowError(ErrorCode.CALENDAR_NOT_COVERED, str(exc)) from None

    def _department_of(self, application_id: str) -> str:
        for application in self.principals.applications_by_token.values():
            if application.id == application_id:
                return application.department
        return ""

    def _require(self, allowed: bool, message: str) -> None:
        if not allowed:
            raise WorkflowError(ErrorCode.FORBIDDEN, message)

    def _require_own(self, application: ShareApplication, operation: str) -> None:
        self._require(may(self.actor.role, operation) and application.application == self.actor.application.id,
                      "Only the application that applied may change or withdraw its application.")

    def _provides(self, provider: str, operation: str) -> bool:
        return may(self.actor.role, operation) and self.actor.department == provider

    def _require_provider(self, provider: str, operation: str) -> None:
        self._require(self._provides(provider, operation),
                      f"Only the provider's data officer (数据专员, a PROVIDER_ADMIN application of {provider}) decides.")


def _within(request: Request, terms: Grant, approval: Approval) -> Approval:
    """The consolidated approval as it applies to one grouped application."""
    asked = set(request.fields)
    fields = tuple(sorted(set(terms.fields) & asked)) if terms.fields and asked else (terms.fields or request.fields)
    if terms.fields and asked and not fields:
        raise WorkflowError(ErrorCode.BAD_USER_INPUT, "The consolidated approval covers none of the fields asked for.")
    modes = tuple(m for m in request.modes if m in terms.modes)
    if not modes:
        raise WorkflowError(ErrorCode.BAD_USER_INPUT, "The consolidated approval covers none of the modes asked for.")
    start, until = max(request.valid_from, terms.valid_from), min(request.valid_until, terms.valid_until)
    return Approval(fields=fields, modes=modes, valid_from=start, valid_until=until,
                    mask_fields=tuple(f for f in approval.mask_fields if not fields or f in fields), note=approval.note)


def _decision(terms: Grant, note: str) -> dict[str, Any]:
    return {"fields": list(terms.fields), "modes": list(terms.modes), "validFrom": terms.valid_from.isoformat(),
            "validUntil": terms.valid_until.isoformat(), "maskFields": list(terms.mask_fields), "note": note}


def _reasons(reasons: Sequence[str], message: str) -> list[str]:
    cleaned = [r.strip() for r in reasons if r and r.strip()]
    if not cleaned:
        raise WorkflowError(ErrorCode.BAD_USER_INPUT, message)
    _bounded("reason", cleaned)
    return cleaned


def _bounded(what: str, texts: Sequence[str]) -> None:
    limit = LIMITS[what]
    if any(len(t) > limit for t in texts):
        raise WorkflowError(ErrorCode.BAD_USER_INPUT, f"A {what} is at most {limit} characters.")
