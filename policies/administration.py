"""Policy administration on one open transaction of the platform store: create a version,
report what activating it would do, activate it, roll back, explain a decision.

Like the workflow (workflow/service.py), it changes rows and lists its changes; it never
commits. Its caller audits the changes and then commits, so no policy takes effect unaudited.
Who may do what is decided by Casbin (policies/roles.py):

    policy.read          versions, reports, diffs, the effective policy
    policy.write         create a version (validated first)
    policy.activate      activate one (it must validate and pass its policy tests), roll back
    policy.explain.own   explain the caller's own decisions (a consumer: what to apply for)
    policy.explain.any   explain any application's decisions
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import ErrorCode, GatewayError
from masking import KeyRing
from policies.planner import Decision, Planner
from policies.roles import may
from policies.rules import PolicySet
from policies.versions import Draft, Known, PolicyError, Report, Scope, affected, dry_run, parse_tests, run_tests
from policies.versions import validate as validate_draft
from schema.catalog import Catalog
from store import policy as versions
from store.policy import StoredVersion, load_policy_set
from store.repository import Application, Principals, load_principals

MAX_NOTE = 1000  # characters


class PolicyRefused(GatewayError):
    """A policy operation refused; `problems` lists every reason."""

    def __init__(self, code: ErrorCode, message: str, problems: list[str] | None = None) -> None:
        super().__init__(code, message)
        self.problems = problems or []


def known(principals: Principals) -> Known:
    applications = principals.applications_by_token.values()
    return Known(frozenset(a.id for a in applications), frozenset(principals.departments),
                 frozenset(principals.purposes), consumers=frozenset(a.id for a in applications if a.role == "CONSUMER"))


def digest(draft: Draft) -> str:
    """What the audit record names a version's content by: its three texts, hashed."""
    h = hashlib.sha256()
    for text in (draft.model, draft.lines, draft.tests):
        h.update(hashlib.sha256(text.encode()).digest())
    return h.hexdigest()


def decider(policy: PolicySet, keys: KeyRing | None) -> Any:
    """(application, purpose, field, mode) → (access, reason) under `policy`."""
    planner = Planner(policy, keys=keys)

    def decide(application: str, purpose: str, coordinate: str, mode: str) -> tuple[str, str | None]:
        d = planner.explain(application, purpose, coordinate, mode)
        return d.access.value, d.reason.value if d.reason else None

    return decide


@dataclass
class PolicyAdministration:
    conn: AsyncConnection
    catalog: Catalog
    application: Application  # who acts (its role decides what it may do)
    operator: str
    at: datetime
    keys: KeyRing | None = None
    changes: list[dict[str, str]] = field(default_factory=list)

    async def versions(self) -> list[StoredVersion]:
        self._require("policy.read")
        return await versions.list_versions(self.conn)

    async def version(self, version_id: int) -> StoredVersion:
        self._require("policy.read")
        return await self._load(version_id)

    async def in_force(self) -> PolicySet:
        """The whole policy in force: the version's model and lines, and the generated lines."""
        self._require("policy.read")
        return await load_policy_set(self.conn, self.catalog)

    async def create(self, draft: Draft, note: str) -> StoredVersion:
        """Store a new version, validated first: one with a problem is refused, and nothing is stored."""
        self._require("policy.write")
        principals = await load_principals(self.conn)
        generated = {f"g, app:{a}, dept:{d}" for a, d in principals.application_departments().items()}
        draft = Draft(draft.model, _admin_only(draft.lines, generated), draft.tests)  # an exported policy re-imports
        problems = validate_draft(draft, self.catalog, known(principals))
        if problems:
            raise PolicyRefused(ErrorCode.POLICY_INVALID, f"The policy version is not valid: {problems[0]}", problems)
        note = note.strip()
        if len(note) > MAX_NOTE or "\x00" in note:
            raise PolicyRefused(ErrorCode.BAD_USER_INPUT, f"A note is at most {MAX_NOTE} characters, without NUL.")
        version_id = await versions.create_version(self.conn, draft, note, self.operator, self.at.isoformat())
        self.changes.append({"action": "policy.create", "policyVersion": str(version_id), "digest": digest(draft)})
        return await self._load(version_id)

    async def report(self, version_id: int) -> Report:
        """What activating the version would do: its problems, its failing policy tests, and who
        gains or loses which field under which purpose (a dry run against the version in force)."""
        self._require("policy.read")
        return await self._report(await self._load(version_id))

    async def activate(self, version_id: int) -> StoredVersion:
        self._require("policy.activate")
        candidate = await self._load(version_id)
        if candidate.state == "ACTIVE":
            raise PolicyRefused(ErrorCode.INVALID_TRANSITION, f"Version {version_id} is in force already.")
        report = await self._report(candidate)
        if not report.activatable:
            reasons = report.problems + report.failures
            raise PolicyRefused(ErrorCode.POLICY_INVALID, f"Version {version_id} cannot be activated: {reasons[0]}",
                                reasons)
        before = report.active
        try:
            await versions.activate(self.conn, version_id, self.at.isoformat(), expected=before.id if before else None)
        except versions.StaleActivation:
            raise PolicyRefused(ErrorCode.CONFLICT, "Another version was activated meanwhile; check this one against "
                                "the policy in force now.") from None
        gains = [c for c in report.changes if c.gains]
        self.changes.append({
            "action": "policy.activate", "policyVersion": str(version_id), "digest": digest(candidate.draft),
            "from": str(before.id) if before else "shipped", "gains": str(len(gains)),
            "losses": str(len(report.changes) - len(gains)),
            # what was opened, by whom (the losses follow from the version, and are fewer to worry about)
            "gained": "; ".join(f"{c.application} {c.purpose} {c.field} {c.mode} {c.after}" for c in gains[:200]),
        })
        return await self._load(version_id)

    async def rollback(self) -> StoredVersion:
        """Put back the version in force before the active one (it must still validate and pass its tests)."""
        self._require("policy.activate")
        previous = await versions.previous_version(self.conn)
        if previous is None:
            raise PolicyRefused(ErrorCode.INVALID_TRANSITION, "No version was in force before this one.")
        restored = await self.activate(previous.id)
        self.changes[-1]["action"] = "policy.rollback"
        return restored

    async def explain(self, application: str | None, purpose: str, coordinate: str, mode: str = "QUERY"
                      ) -> tuple[str, Decision, PolicySet]:
        """The decision for one field, with the line, grant or catalog setting that made it."""
        subject = application or self.application.id
        own = subject == self.application.id
        if not (may(self.application.role, "policy.explain.any") or (own and may(self.application.role, "policy.explain.own"))):
            raise PolicyRefused(ErrorCode.FORBIDDEN, "You may explain your own application's decisions only.")
        principals = await load_principals(self.conn)
        if subject not in known(principals).applications:
            raise PolicyRefused(ErrorCode.BAD_USER_INPUT, f"There is no application {subject}.")
        if purpose not in principals.purposes:
            raise PolicyRefused(ErrorCode.BAD_USER_INPUT, f"{purpose} is not a registered purpose code.")
        if coordinate not in self.catalog.by_coordinate:
            raise PolicyRefused(ErrorCode.BAD_USER_INPUT, f"{coordinate} is not a field of the catalog.")
        if mode not in ("QUERY", "CHECK"):
            raise PolicyRefused(ErrorCode.BAD_USER_INPUT, "The mode is QUERY or CHECK.")
        policy = await load_policy_set(self.conn, self.catalog)
        return subject, Planner(policy, keys=self.keys).explain(subject, purpose, coordinate, mode), policy

    async def _report(self, candidate: StoredVersion) -> Report:
        principals = await load_principals(self.conn)
        problems = validate_draft(candidate.draft, self.catalog, known(principals))
        active = await versions.active_version(self.conn)
        if problems:
            return Report(problems=problems, active=active)
        proposed = await load_policy_set(self.conn, self.catalog, candidate)
        current = await load_policy_set(self.conn, self.catalog)
        # Casbin is synchronous and a dry run over a changed model takes seconds: off the event loop.
        report = await asyncio.to_thread(_evaluate, candidate, principals, current, proposed, self.keys)
        return replace(report, active=active)

    async def _load(self, version_id: int) -> StoredVersion:
        found = await versions.load_version(self.conn, version_id)
        if found is None:
            raise PolicyRefused(ErrorCode.BAD_USER_INPUT, f"There is no policy version {version_id}.")
        return found

    def _require(self, operation: str) -> None:
        if not may(self.application.role, operation):
            raise PolicyRefused(ErrorCode.FORBIDDEN, f"Your application's role ({self.application.role}) may not "
                                f"run {operation} (policies/admin_policy.csv).")


def _admin_only(text: str, generated_groups: set[str]) -> str:
    """The administrators' lines of a policy CSV: the catalog's and the grants' lines and each
    application's department, which an export holds too, are generated, so they are dropped on import."""
    kept = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if cells and cells[0] == "p" and (cells[-1] == "catalog" or cells[-1].startswith("grant:")):
            continue
        if ", ".join(cells) in generated_groups:
            continue
        kept.append(line)
    return "\n".join(kept) + ("\n" if kept else "")


def _evaluate(candidate: StoredVersion, principals: Principals, current: PolicySet, proposed: PolicySet,
              keys: KeyRing | None) -> Report:
    """The version's policy tests and the dry run against the policy in force (in a thread)."""
    try:
        after = decider(proposed, keys)
        failures = run_tests(parse_tests(candidate.draft.tests), after)
        applications = tuple(sorted(known(principals).applications))
        scope = Scope(applications, tuple(sorted(principals.purposes)), tuple(sorted(proposed.catalog.by_coordinate)),
                      pairs=affected(current, proposed, applications))
        changes = dry_run(scope, decider(current, keys), after)
    except PolicyError as exc:
        return Report(problems=exc.problems)
    except Exception as exc:  # a model that parses yet fails on a request (a matcher naming nothing)
        return Report(problems=[f"the model fails on a request: {type(exc).__name__}"])
    return Report(failures=failures, changes=changes)
