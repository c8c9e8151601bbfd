"""The share application (共享申请) and its state machine.

    SUBMITTED ──forward──▶ FORWARDED ──approve──▶ APPROVED   (a grant, in force at once)
        │  ▲                    │
        │  └──resubmit── RETURNED   └──refuse───▶ REFUSED    (a reason is mandatory)
        ├──return──────▶ RETURNED
        ├──consolidate─▶ CONSOLIDATED ──(the consolidated application decided)──▶ APPROVED / REFUSED
        └──withdraw────▶ WITHDRAWN   (also from RETURNED and FORWARDED)

Every transition is named; any other is refused (INVALID_TRANSITION). A grant made by an
approval is then suspended, resumed or revoked by its provider (policies.grants.GrantStatus).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gateway.errors import ErrorCode, GatewayError


class State(str, enum.Enum):
    SUBMITTED = "SUBMITTED"  # waiting for the platform's normative check (规范性审核)
    RETURNED = "RETURNED"  # returned to the consumer with reasons (退回)
    FORWARDED = "FORWARDED"  # checked and forwarded to the provider (转交)
    CONSOLIDATED = "CONSOLIDATED"  # part of a consolidated application (整体授权)
    APPROVED = "APPROVED"
    REFUSED = "REFUSED"
    WITHDRAWN = "WITHDRAWN"


class Kind(str, enum.Enum):
    NEW = "NEW"
    RENEWAL = "RENEWAL"  # to renew a grant
    CONSOLIDATED = "CONSOLIDATED"  # the platform's application upward for several departments


class Action(str, enum.Enum):
    SUBMIT = "submit"
    FORWARD = "forward"
    RETURN = "return"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    CONSOLIDATE = "consolidate"
    APPROVE = "approve"
    REFUSE = "refuse"

    @property
    def participle(self) -> str:
        return PARTICIPLES[self]


PARTICIPLES = {
    Action.SUBMIT: "submitted", Action.FORWARD: "forwarded", Action.RETURN: "returned", Action.RESUBMIT: "resubmitted",
    Action.WITHDRAW: "withdrawn", Action.CONSOLIDATE: "consolidated", Action.APPROVE: "approved",
    Action.REFUSE: "refused",
}


TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.SUBMITTED, Action.FORWARD): State.FORWARDED,
    (State.SUBMITTED, Action.RETURN): State.RETURNED,
    (State.SUBMITTED, Action.CONSOLIDATE): State.CONSOLIDATED,
    (State.SUBMITTED, Action.WITHDRAW): State.WITHDRAWN,
    (State.RETURNED, Action.RESUBMIT): State.SUBMITTED,
    (State.RETURNED, Action.WITHDRAW): State.WITHDRAWN,
    (State.FORWARDED, Action.APPROVE): State.APPROVED,
    (State.FORWARDED, Action.REFUSE): State.REFUSED,
    (State.FORWARDED, Action.WITHDRAW): State.WITHDRAWN,
    # A consolidated application's decision is fanned out to the applications it groups.
    (State.CONSOLIDATED, Action.APPROVE): State.APPROVED,
    (State.CONSOLIDATED, Action.REFUSE): State.REFUSED,
}
FINAL = frozenset({State.APPROVED, State.REFUSED, State.WITHDRAWN})


FANNED_OUT = frozenset({(State.CONSOLIDATED, Action.APPROVE), (State.CONSOLIDATED, Action.REFUSE)})


def allowed_actions(state: State) -> list[Action]:
    """What may be asked of an application now (a consolidated member is decided through its group)."""
    return [action for (source, action) in TRANSITIONS if source is state and (source, action) not in FANNED_OUT]


def next_state(state: State, action: Action) -> State:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = ", ".join(a.value for a in allowed_actions(state)) or "none: the application is closed"
        raise WorkflowError(ErrorCode.INVALID_TRANSITION,
                            f"An application that is {state.value} cannot be {action.participle} "
                            f"(allowed now: {allowed}).") from None


class WorkflowError(GatewayError):
    """A workflow operation refused; the message says why and what to do instead."""


@dataclass(frozen=True)
class Material:
    """A supporting material the catalog entry requires (申请材料), by reference: a document
    number or an address in the department's document system. Files are not uploaded here."""

    name: str
    reference: str


@dataclass(frozen=True)
class Request:
    """What a consumer asks for: the share application's content."""

    resource: str
    fields: tuple[str, ...]  # schema coordinates; empty: every conditional field of the resource
    purpose: str
    scenario: str  # 应用场景
    system_name: str  # the system that will use the data (应用系统)
    modes: tuple[str, ...]
    valid_from: date
    valid_until: date
    materials: tuple[Material, ...] = ()

    def as_row(self) -> dict[str, Any]:
        return {
            "resource": self.resource, "fields": list(self.fields), "purpose": self.purpose, "scenario": self.scenario,
            "system_name": self.system_name, "modes": list(self.modes), "requested_from": self.valid_from,
            "requested_until": self.valid_until,
            "materials": [{"name": m.name, "reference": m.reference} for m in self.materials],
        }


@dataclass(frozen=True)
class Approval:
    """What a provider approves; every part may narrow the request, none may widen it. None
    keeps what was requested."""

    fields: tuple[str, ...] | None = None
    modes: tuple[str, ...] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    mask_fields: tuple[str, ...] = ()  # granted fields served masked only
    note: str = ""


@dataclass(frozen=True)
class ShareApplication:
    id: str
    kind: Kind
    application: str | None  # the consuming application; None for a consolidated one
    department: str
    provider: str
    request: Request
    state: State
    version: int
    submitted_by: str
    submitted_on: date
    check_due: date
    forwarded_on: date | None
    reply_due: date | None
    decided_on: date | None
    decision: dict[str, Any] | None
    reasons: tuple[str, ...]
    grant_id: str | None
    renews: str | None
    parent: str | None
    updated_at: str
    children: tuple[str, ...] = field(default=())  # CONSOLIDATED: the applications it groups

    def overdue_stage(self, today: date) -> str | None:
        """CHECK when the platform's normative check is late, REPLY when the provider's answer is."""
        if self.state is State.SUBMITTED and today > self.check_due:
            return "CHECK"
        if self.state is State.FORWARDED and self.reply_due is not None and today > self.reply_due:
            return "REPLY"
        return None

    def allowed_actions(self) -> list[Action]:
        """What may be asked of it now: its state's transitions, less withdrawal of a consolidated
        application (the platform's, on behalf of departments that withdraw their own)."""
        return [a for a in allowed_actions(self.state) if not (self.kind is Kind.CONSOLIDATED and a is Action.WITHDRAW)]

    def due(self) -> date | None:
        if self.state is State.SUBMITTED:
            return self.check_due
        if self.state is State.FORWARDED:
            return self.reply_due
        return None
