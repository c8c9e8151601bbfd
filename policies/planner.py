"""The one decision point (BRIEF §3.3): a selection and a caller in, an access plan out.

Every path asks `Planner.plan` once per request, before any data is fetched: per field RAW,
MASKED(rule) or DENIED(reason). Decisions are compiled per (application, purpose, share
mode, day) on one policy version and cached there, so Casbin's `enforce` runs once per field
per cache key, never per field per request. Nothing outside `policies/` imports Casbin.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import casbin
from casbin import model as casbin_model

from gateway.errors import ErrorCode
from policies.grants import Grant, GrantStatus
from policies.rules import PolicySet, app_subject, conditional_coordinates
from schema.catalog import FieldRef, ShareClass


class Access(str, enum.Enum):
    RAW = "RAW"
    MASKED = "MASKED"
    DENIED = "DENIED"


@dataclass(frozen=True)
class Decision:
    """What one caller gets for one field, and why."""

    access: Access
    reason: ErrorCode | None = None  # None when RAW; why raw is withheld otherwise
    rule: str | None = None  # the mask rule when MASKED
    source: str | None = None  # the policy line that allowed it: `catalog` or `grant:<id>`


@dataclass(frozen=True)
class AccessPlan:
    """The decisions for one request, on one policy version."""

    policy_version: str
    decisions: dict[str, Decision]

    def __getitem__(self, coordinate: str) -> Decision:
        return self.decisions[coordinate]

    def allowed(self) -> dict[str, Decision]:
        return {c: d for c, d in self.decisions.items() if d.access is not Access.DENIED}


DENY_UNKNOWN = Decision(Access.DENIED, ErrorCode.FIELD_NOT_SHARED)
_CACHE_SIZE = 4096


class _Compiled:
    """One (application, purpose, mode, day) on one policy version: a small enforcer holding
    only the lines that can apply to this application, and the decisions made so far."""

    def __init__(self, policy: PolicySet, application: str, purpose: str, mode: str, day: date) -> None:
        self.policy, self.application, self.purpose, self.mode = policy, application, purpose, mode
        self.day = day
        model = casbin_model.Model()
        model.load_model_from_text(policy.model_text)
        self.enforcer = casbin.Enforcer(model)
        lines = policy.lines_for(application)
        if lines:
            self.enforcer.add_policies([list(line) for line in lines])
        if policy.groups:
            self.enforcer.add_named_grouping_policies("g", [list(g) for g in policy.groups])
        self.decisions: dict[str, Decision] = {}

    def decide(self, coordinate: str) -> Decision:
        decision = self.decisions.get(coordinate)
        if decision is None:
            decision = self.decisions[coordinate] = self._decide(coordinate)
        return decision

    def _decide(self, coordinate: str) -> Decision:
        ref = self.policy.catalog.by_coordinate.get(coordinate)
        if ref is None or ref.field.share_class is ShareClass.NOT_SHARED:
            # Never served, raw or masked, under any purpose: the catalog is the truth,
            # whatever a policy line may say (BRIEF §2; 000 第十九条).
            return DENY_UNKNOWN
        request = [app_subject(self.application), coordinate, self.mode, self.purpose, self.day.isoformat()]
        allowed, line = self.enforcer.enforce_ex(*request, "RAW")
        if allowed:
            return Decision(Access.RAW, source=line[-1])
        allowed, line = self.enforcer.enforce_ex(*request, "MASKED")
        withheld = self._why_not_raw(ref)
        if allowed:
            # Masked because the catalog or a grant in force says so, or as a preview without grant.
            required = line[-1] != "catalog" or ref.field.mask_required or withheld is ErrorCode.MASK_REQUIRED
            reason = ErrorCode.MASK_REQUIRED if required else withheld
            return Decision(Access.MASKED, reason, ref.field.mask_rule, line[-1])
        if withheld is ErrorCode.MASK_REQUIRED:  # a grant in force that does not cover this mode
            withheld = ErrorCode.GRANT_REQUIRED
        return Decision(Access.DENIED, withheld)

    def resource_access(self, resource_code: str) -> Decision:
        """A list of a resource's records is served only if the caller may see at least one of
        its fields; otherwise even the records' existence is withheld, with the fields' reason."""
        resource = self.policy.catalog.resources[resource_code]
        decisions = [self.decide(resource.coordinate(f)) for f in resource.fields]
        if any(d.access is not Access.DENIED for d in decisions):
            return Decision(Access.RAW)
        reasons = [d.reason for d in decisions if d.reason is not ErrorCode.FIELD_NOT_SHARED]
        return Decision(Access.DENIED, reasons[0] if reasons else ErrorCode.FIELD_NOT_SHARED)

    def _why_not_raw(self, ref: FieldRef) -> ErrorCode:
        """The most specific reason, from this application's grants for the field."""
        conditional = conditional_coordinates(self.policy.catalog, ref.resource.code)
        grants: list[Grant] = [
            g for g in self.policy.grants_by_application.get(self.application, ())
            if g.resource == ref.resource.code and self.mode in g.modes and g.covers(ref.coordinate, conditional)
        ]
        for_purpose = [g.status_on(self.day) for g in grants if g.purpose == self.purpose]
        if GrantStatus.ACTIVE in for_purpose:  # in force, yet not raw: the grant requires masking
            return ErrorCode.MASK_REQUIRED
        if GrantStatus.SUSPENDED in for_purpose or GrantStatus.REVOKED in for_purpose:
            return ErrorCode.GRANT_SUSPENDED
        if GrantStatus.EXPIRED in for_purpose:
            return ErrorCode.GRANT_EXPIRED
        if any(g.purpose != self.purpose and g.status_on(self.day) is GrantStatus.ACTIVE for g in grants):
            return ErrorCode.PURPOSE_NOT_GRANTED
        return ErrorCode.GRANT_REQUIRED


CHINA_STANDARD_TIME = timezone(timedelta(hours=8))


def today_in_china() -> date:
    """Grant periods are days in China Standard Time (UTC+8, no daylight saving), wherever the host runs."""
    return datetime.now(CHINA_STANDARD_TIME).date()


class Planner:
    """Plans requests against the current policy version; `replace` swaps versions atomically."""

    def __init__(self, policy: PolicySet, today: Callable[[], date] = today_in_china) -> None:
        self._policy = policy
        self._today = today
        self._compiled: OrderedDict[tuple[str, str, str, str, date], _Compiled] = OrderedDict()

    @property
    def policy(self) -> PolicySet:
        return self._policy

    @property
    def policy_version(self) -> str:
        return self._policy.version

    def replace(self, policy: PolicySet) -> None:
        if policy.version != self._policy.version:
            self._policy = policy
            self._compiled.clear()

    def plan(self, application: str, purpose: str, coordinates: Iterable[str], mode: str = "QUERY") -> AccessPlan:
        compiled = self._compile(application, purpose, mode)
        return AccessPlan(compiled.policy.version, {c: compiled.decide(c) for c in coordinates})

    def explain(self, application: str, purpose: str, coordinate: str, mode: str = "QUERY") -> Decision:
        return self._compile(application, purpose, mode).decide(coordinate)

    def plan_resource(self, application: str, purpose: str, resource_code: str, mode: str = "QUERY") -> Decision:
        return self._compile(application, purpose, mode).resource_access(resource_code)

    def _compile(self, application: str, purpose: str, mode: str) -> _Compiled:
        policy, day = self._policy, self._today()
        key = (policy.version, application, purpose, mode, day)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(policy, application, purpose, mode, day)
            if len(self._compiled) > _CACHE_SIZE:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key)
        return compiled
