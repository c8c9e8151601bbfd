"""The one decision point (BRIEF §3.3): a selection and a caller in, an access plan out.

Every path asks `Planner.plan` once per request, before any data is fetched: per field RAW,
MASKED(rule) or DENIED(reason). Decisions are compiled per (application, purpose, share
mode, day) on one policy version and cached there, so Casbin's `enforce` runs once per field
per cache key, never per field per request. Nothing outside `policies/` imports Casbin.
"""

from __future__ import annotations

import enum
import functools
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import casbin
from casbin import model as casbin_model

from gateway.errors import ErrorCode
from masking import InvalidMaskRule, KeyRing, MaskScope, compile_rule
from policies.grants import Grant, GrantStatus
from policies.mask_rules import rule_name
from policies.rules import ANY, PolicyLine, PolicySet, app_subject, conditional_coordinates
from policies.versions import load_model, restricts_shipped
from schema.catalog import FieldRef, ShareClass
from schema.types import fits_rule

log = logging.getLogger(__name__)


class Access(str, enum.Enum):
    RAW = "RAW"
    MASKED = "MASKED"
    DENIED = "DENIED"


Masker = Callable[[object], object]


@dataclass(frozen=True)
class Decision:
    """What one caller gets for one field, and why."""

    access: Access
    reason: ErrorCode | None = None  # None when RAW; why raw is withheld otherwise
    rule: str | None = None  # the mask rule when MASKED, canonical (`mobile`, `partial(head=2)`)
    source: str | None = None  # the policy line that allowed it: `catalog` or `grant:<id>`
    rule_source: str | None = None  # what chose the rule: `grant:<id>`, `rule:<n>`, `catalog`, `default:<sensitivity>`
    masker: Masker | None = field(default=None, compare=False, repr=False)  # the rule, compiled for this caller


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


class _Enforcer(casbin.Enforcer):
    """Casbin's enforcer, parsing its matcher once: the stock `enforce_ex` parses the matcher text
    into a new expression on every call (about 0.4 ms, most of the cost of a cold decision). The
    expression holds the role function of the first call, which stays right because a compiled
    enforcer's lines and groups are all added before its first decision and never change."""

    def __init__(self, model: casbin_model.Model) -> None:
        self._expressions: dict[str, Any] = {}
        super().__init__(model)

    def _get_expression(self, expr: str, functions: Any = None) -> Any:
        expression = self._expressions.get(expr)
        if expression is None:
            expression = self._expressions[expr] = casbin.Enforcer._get_expression(expr, functions)
        return expression


_ROLE_CALL = re.compile(r"\bg\s*\(")


@functools.lru_cache(maxsize=16)
def _narrowable(model_text: str) -> bool:
    """Whether a compiled enforcer may be given only the lines and groups that can match its
    (application, purpose, mode, day): true for the shipped model and every model that only adds
    conditions to its matcher (all a stored version may be, policies/versions.py), as long as the
    matcher asks the role function only as the shipped one does, `g(r.sub, p.sub)`. Then a line
    failing the shipped conjuncts on `act`, `pur` or the dates can never match, and no group but
    the application's own can be reached from it (unless an `eval()` runs a line's text as more
    matcher code); leaving them out changes no decision, and the first matching line Casbin names
    stays the same (the order is kept)."""
    if not restricts_shipped(model_text):
        return False
    matcher = load_model(model_text).model["m"]["m"].value
    return len(_ROLE_CALL.findall(matcher)) == 1 and "eval(" not in matcher


def _can_match(line: PolicyLine, mode: str, purpose: str, day: str) -> bool:
    """The shipped matcher's conjuncts on the share mode, the purpose and the validity period
    (strings compared as Casbin compares them)."""
    _, _, act, pur, _, valid_from, valid_until, _ = line
    return act == mode and pur in (ANY, purpose) and valid_from <= day <= valid_until


class _Compiled:
    """One (application, purpose, mode, day) on one policy version: a small enforcer holding
    only the lines that can apply to this application, and the decisions made so far. Used from
    one thread at a time (the event loop's; a dry run builds planners of its own)."""

    def __init__(self, policy: PolicySet, application: str, purpose: str, mode: str, day: date,
                 keys: KeyRing | None) -> None:
        self.policy, self.application, self.purpose, self.mode = policy, application, purpose, mode
        self.day, self.keys = day, keys
        self.enforcer = _Enforcer(load_model(policy.model_text))
        lines, groups = policy.lines_for(application), policy.groups
        if _narrowable(policy.model_text):
            today = day.isoformat()
            lines = [line for line in lines if _can_match(line, mode, purpose, today)]
            groups = policy.groups_of(application)
        if lines:
            self.enforcer.add_policies([list(line) for line in lines])
        if groups:
            self.enforcer.add_named_grouping_policies("g", [list(g) for g in groups])
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
        if not ref.field.mask_required:  # a field the catalog masks always is never served raw, whatever a line says
            allowed, line = self.enforcer.enforce_ex(*request, "RAW")
            if allowed:
                return Decision(Access.RAW, source=line[-1])
        allowed, line = self.enforcer.enforce_ex(*request, "MASKED")
        withheld = self._why_not_raw(ref)
        if allowed:
            # Masked because the catalog or a grant in force says so, or as a preview without grant.
            # A grant that masks the field outranks the catalog's preview: its rule applies.
            grant = self._masking_grant(ref)
            source = f"grant:{grant.id}" if grant else line[-1]
            required = source != "catalog" or ref.field.mask_required or withheld is ErrorCode.MASK_REQUIRED
            return self._masked(ref, ErrorCode.MASK_REQUIRED if required else withheld, source, grant)
        if withheld is ErrorCode.MASK_REQUIRED:  # a grant in force that does not cover this mode
            withheld = ErrorCode.GRANT_REQUIRED
        return Decision(Access.DENIED, withheld)

    def _masked(self, ref: FieldRef, reason: ErrorCode, source: str, grant: Grant | None) -> Decision:
        resolved = self.policy.mask_rules.resolve(ref, self.purpose, grant)
        try:
            if not fits_rule(ref.field, rule_name(resolved.rule)):
                raise InvalidMaskRule(f"{resolved.rule} does not fit {ref.coordinate}")
            masker = compile_rule(resolved.rule, MaskScope(self.application, ref.coordinate), self.keys)
        except InvalidMaskRule as exc:
            # A rule that cannot be honoured (no key, wrong type) serves nothing: fail closed.
            log.error("mask rule %s (%s) for %s cannot be applied: %s", resolved.rule, resolved.source, ref.coordinate, exc)
            return Decision(Access.DENIED, ErrorCode.MASK_REQUIRED)
        return Decision(Access.MASKED, reason, resolved.rule, source, resolved.source, masker)

    def resource_access(self, resource_code: str) -> Decision:
        """A list of a resource's records is served only if the caller may see at least one of
        its fields; otherwise even the records' existence is withheld, with the fields' reason."""
        resource = self.policy.catalog.resources[resource_code]
        decisions = [self.decide(resource.coordinate(f)) for f in resource.fields]
        if any(d.access is not Access.DENIED for d in decisions):
            return Decision(Access.RAW)
        reasons = [d.reason for d in decisions if d.reason is not ErrorCode.FIELD_NOT_SHARED]
        return Decision(Access.DENIED, reasons[0] if reasons else ErrorCode.FIELD_NOT_SHARED)

    def _grants_for(self, ref: FieldRef) -> list[Grant]:
        """This application's grants that cover the field in this share mode, any status."""
        conditional = conditional_coordinates(self.policy.catalog, ref.resource.code)
        return [
            g for g in self.policy.grants_by_application.get(self.application, ())
            if g.resource == ref.resource.code and self.mode in g.modes and g.covers(ref.coordinate, conditional)
        ]

    def _masking_grant(self, ref: FieldRef) -> Grant | None:
        """The grant in force for this purpose that serves the field masked, if any."""
        for g in self._grants_for(ref):
            if g.purpose == self.purpose and g.masks(ref.coordinate) and g.status_on(self.day) is GrantStatus.ACTIVE:
                return g
        return None

    def _why_not_raw(self, ref: FieldRef) -> ErrorCode:
        """The most specific reason, from this application's grants for the field."""
        grants = self._grants_for(ref)
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

    def __init__(self, policy: PolicySet, today: Callable[[], date] = today_in_china,
                 keys: KeyRing | None = None) -> None:
        self._policy = policy
        self._today = today
        self._keys = keys
        self._compiled: OrderedDict[tuple[str, str, str, str, date], _Compiled] = OrderedDict()

    @property
    def policy(self) -> PolicySet:
        return self._policy

    @property
    def policy_version(self) -> str:
        return self._policy.version

    def pinned(self) -> Planner:
        """A planner held to the version in force now, sharing this one's compiled decisions (their
        keys name the version): a request plans on one version from start to end."""
        pinned = Planner(self._policy, self._today, self._keys)
        pinned._compiled = self._compiled
        return pinned

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
            compiled = self._compiled[key] = _Compiled(policy, application, purpose, mode, day, self._keys)
            if len(self._compiled) > _CACHE_SIZE:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key)
        return compiled
