"""Policy administration in GraphQL (docs/policies.md): versions of the Casbin model and the
administrators' lines, their reports (validation, policy tests, dry run), activation and
rollback, and `explain` — for policy administrators, and for a consumer about its own decisions
(so a denied developer knows what to apply for). Token and operator, no purpose; the mutations
commit only after the request's audit record, like the workflow's (workflow/unit.py).

This module deliberately does not use `from __future__ import annotations`: strawberry reads
the annotations at run time.
"""

from dataclasses import dataclass
from typing import Any, Optional

import strawberry

from gateway.errors import ErrorCode, GatewayError
from masking import KeyRing
from policies.administration import PolicyAdministration
from policies.rules import AdminLines, PolicySet
from policies.versions import Draft, diff, format_lines
from resolvers.context import RequestContext
from schema.catalog import Catalog
from store.policy import StoredVersion
from store.repository import load_application
from workflow.service import now


@dataclass(frozen=True)
class PolicyAccess:
    catalog: Catalog
    keys: Optional[KeyRing]


@strawberry.type(description="A policy version: the Casbin model, the administrators' lines, the policy tests.")
class PolicyVersion:
    id: int
    state: str = strawberry.field(description="DRAFT, ACTIVE (in force) or RETIRED.")
    model: str = strawberry.field(description="Casbin model.conf text.")
    lines: str = strawberry.field(description="The administrators' lines, Casbin policy CSV (p and g rows).")
    tests: str = strawberry.field(description="Expected decisions (TOML [[expect]] tables) it must pass to activate.")
    note: str
    created_by: str
    created_at: str
    activated_at: Optional[str]
    retired_at: Optional[str]


@strawberry.type(description="One decision that activating a version changes.")
class DecisionChange:
    application: str
    purpose: str
    field: str
    mode: str
    before: str
    after: str
    gains: bool


@strawberry.type(description="What activating a version would do.")
class PolicyReport:
    version: int
    activatable: bool
    problems: list[str] = strawberry.field(description="Validation: why it may not become the policy.")
    failures: list[str] = strawberry.field(description="Its policy tests that fail.")
    changes: list[DecisionChange] = strawberry.field(description="The dry run: who gains or loses which field.")


@strawberry.type(description="The policy in force, in Casbin's formats.")
class PolicyExport:
    version: Optional[int] = strawberry.field(description="The stored version in force (null: the shipped model).")
    policy_version: str = strawberry.field(description="The content hash that responses and audit records name.")
    model: str
    csv: str = strawberry.field(description="Every line: the catalog's, the grants' and the administrators'.")


@strawberry.type(description="Why one application gets what it gets for one field under one purpose.")
class Explanation:
    application: str
    purpose: str
    field: str
    mode: str
    access: str = strawberry.field(description="RAW, MASKED or DENIED.")
    reason: Optional[str] = strawberry.field(description="The code: why raw is withheld, or why it is denied.")
    decided_by: Optional[str] = strawberry.field(
        description="The policy line that allowed it: `catalog`, `grant:<id>` or an administrator's `ref`.")
    rule: Optional[str] = strawberry.field(description="The mask rule, when MASKED.")
    rule_source: Optional[str] = strawberry.field(description="What chose the rule.")
    share_class: str = strawberry.field(description="The catalog's setting: UNCONDITIONAL, CONDITIONAL, NOT_SHARED.")
    resource: str = strawberry.field(description="The resource to apply for (submitShareApplication), if denied.")
    grants: list[str] = strawberry.field(description="The application's grants on the field, any status, by id.")
    policy_version: str


def _version_node(v: StoredVersion) -> PolicyVersion:
    return PolicyVersion(id=v.id, state=v.state, model=v.draft.model, lines=v.draft.lines, tests=v.draft.tests,
                         note=v.note, created_by=v.created_by, created_at=v.created_at, activated_at=v.activated_at,
                         retired_at=v.retired_at)


def fields(access: Optional[PolicyAccess]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The query fields and the mutation fields; without `access` (the schema printed from the
    command line) they exist and answer nothing."""

    async def desk(info: strawberry.Info) -> PolicyAdministration:
        if access is None:
            raise GatewayError(ErrorCode.INTERNAL_ERROR, "Policy administration is not reachable here.")
        ctx: RequestContext = info.context
        unit = ctx.workflow_unit
        application = await load_application(unit.engine, ctx.application)
        if application is None or not application.active:
            raise GatewayError(ErrorCode.FORBIDDEN, "This application may not administer the policy.")
        return PolicyAdministration(await unit.connection(), access.catalog, application, ctx.operator or "", now(),
                                    keys=access.keys)

    def settle(info: strawberry.Info, admin: PolicyAdministration) -> None:
        info.context.workflow_unit.record(admin.changes, policy=True)

    async def policy_versions(info: strawberry.Info) -> list[PolicyVersion]:
        return [_version_node(v) for v in await (await desk(info)).versions()]

    async def policy_version(info: strawberry.Info, id: int) -> PolicyVersion:
        return _version_node(await (await desk(info)).version(id))

    async def policy_report(info: strawberry.Info, id: int) -> PolicyReport:
        report = await (await desk(info)).report(id)
        return PolicyReport(version=id, activatable=report.activatable, problems=report.problems,
                            failures=report.failures, changes=[
                                DecisionChange(application=c.application, purpose=c.purpose, field=c.field, mode=c.mode,
                                               before=c.before, after=c.after, gains=c.gains) for c in report.changes])

    async def policy_diff(info: strawberry.Info, older: int, newer: int) -> str:
        admin = await desk(info)
        old, new = await admin.version(older), await admin.version(newer)
        return diff(old.draft, new.draft, f"v{older}", f"v{newer}")

    async def policy_export(info: strawberry.Info) -> PolicyExport:
        return export(await (await desk(info)).in_force())

    async def explain(info: strawberry.Info, purpose: str, field: str, application: Optional[str] = None,
                      mode: str = "QUERY") -> Explanation:
        admin = await desk(info)
        subject, d, policy = await admin.explain(application, purpose, field, mode.upper())
        ref = policy.catalog.by_coordinate[field]
        grants = [g.id for g in policy.grants_by_application.get(subject, ())
                  if g.resource == ref.resource.code and (not g.fields or field in g.fields)]
        return Explanation(
            application=subject, purpose=purpose, field=field, mode=mode.upper(), access=d.access.value,
            reason=d.reason.value if d.reason else None, decided_by=d.source, rule=d.rule, rule_source=d.rule_source,
            share_class=ref.field.share_class.value, resource=ref.resource.code, grants=grants,
            policy_version=policy.version)

    queries = {
        "policyVersions": strawberry.field(resolver=policy_versions, description="Every policy version, newest first."),
        "policyVersion": strawberry.field(resolver=policy_version, description="One policy version."),
        "policyReport": strawberry.field(resolver=policy_report, description=(
            "What activating a version would do: validation problems, failing policy tests, and the dry run "
            "(which applications gain or lose which fields under which purposes).")),
        "policyDiff": strawberry.field(resolver=policy_diff, description="Two versions' model, lines and tests, as a "
                                       "unified diff."),
        "policyExport": strawberry.field(resolver=policy_export, description="The policy in force, in Casbin's "
                                         "model.conf and CSV formats."),
        "explain": strawberry.field(resolver=explain, description=(
            "Why an application gets what it gets for a field under a purpose: the decision, and the line, grant or "
            "catalog setting that decided it. A consumer explains its own application (omit `application`).")),
    }

    async def create(info: strawberry.Info, model: str, lines: str, note: str, tests: str = "") -> PolicyVersion:
        admin = await desk(info)
        created = await admin.create(Draft(model, lines, tests), note)
        settle(info, admin)
        return _version_node(created)

    async def activate(info: strawberry.Info, id: int) -> PolicyVersion:
        admin = await desk(info)
        activated = await admin.activate(id)
        settle(info, admin)
        return _version_node(activated)

    async def rollback(info: strawberry.Info) -> PolicyVersion:
        admin = await desk(info)
        restored = await admin.rollback()
        settle(info, admin)
        return _version_node(restored)

    mutations = {
        "createPolicyVersion": strawberry.mutation(resolver=create, description=(
            "Store a new policy version (DRAFT), validated first: one with a problem is refused (POLICY_INVALID). "
            "Lines the catalog and the grants generate are dropped, so an export re-imports.")),
        "activatePolicyVersion": strawberry.mutation(resolver=activate, description=(
            "Put a version in force on every worker: it must validate and pass its policy tests.")),
        "rollbackPolicy": strawberry.mutation(resolver=rollback, description=(
            "Put back the version in force before the active one.")),
    }
    return queries, mutations


def export(policy: PolicySet) -> PolicyExport:
    """The policy in Casbin's formats: every line, generated or an administrator's."""
    lines = [line for subject_lines in policy.lines_by_subject.values() for line in subject_lines]
    return PolicyExport(version=policy.stored_version, policy_version=policy.version, model=policy.model_text,
                        csv=format_lines(AdminLines(tuple(sorted(lines)), policy.groups)))


QUERY_FIELDS = frozenset(fields(None)[0])
MUTATION_FIELDS = frozenset(fields(None)[1])
ROOT_FIELDS = QUERY_FIELDS | MUTATION_FIELDS
__all__ = ["ROOT_FIELDS", "PolicyAccess", "export", "fields"]
