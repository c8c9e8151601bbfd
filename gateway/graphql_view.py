"""POST /graphql (and GET with a query: queries only): one request, start to finish.

    body → token → document (parsed, validated, measured, cached) → limits → operator → purpose
         → plan (once, before any fetch) → execute → masked paths → audit (committed) → answer

Every request, served or refused, leaves exactly one audit record. If that record cannot be
committed, no data leaves (AUDIT_UNAVAILABLE). A batch (a JSON array body) is a list of such
requests: each operation is limited, decided and audited on its own.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from inspect import isawaitable
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType, execute, get_operation_ast
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from audit import AuditRecord, AuditUnavailable
from audit.subjects import subject_pseudonyms
from gateway import json_codec
from gateway.alarms import Alarm
from gateway.errors import ErrorCode, GatewayError, RequestRefused
from gateway.identity import HTTP_WHITESPACE, Requirement, authenticate, identify
from gateway.json_codec import JSONAnswer
from gateway.limits import LimitExceeded
from gateway.metrics import Metrics
from gateway.query_limits import OperationShape, longest_string, too_complex
from gateway.runtime import Runtime
from policies.planner import Access, Planner
from resolvers.context import RequestContext
from resolvers.datasource import LibraryUnavailable
from resolvers.entities import probe_refusal
from schema.policy_api import ROOT_FIELDS as POLICY_ROOTS
from schema.selection import Selection
from schema.workflow_api import ROOT_FIELDS as WORKFLOW_ROOTS
from workflow.unit import WorkflowUnit

log = logging.getLogger(__name__)
Payload = dict[str, Any] | RequestRefused  # one operation of a request, or why it cannot be read
INTROSPECTION_ROOTS = {"__schema", "__type", "__typename"}
AUDIT_ROOTS = {"auditRecords"}  # reading the audit trail: audited as operation `audit`
OPERATOR_ROOTS = {"catalog", *AUDIT_ROOTS, *WORKFLOW_ROOTS, *POLICY_ROOTS}


class GraphQLView:
    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics

    async def __call__(self, request: Request) -> Response:
        if request.method == "GET" and not {"query", "extensions", "documentId"} & set(request.query_params):
            return self._ide()
        try:
            payloads, batched = await self._read(request)
        except RequestRefused as refused:  # still one audited answer, refused
            payloads, batched = [refused], False
        answers = [await self._answer_one(request, payload) for payload in payloads]
        if batched:  # each operation decided, limited and audited on its own; the batch itself is 200
            return JSONAnswer([body for _, body, _ in answers])
        status, body, headers = answers[0]
        return JSONAnswer(body, status_code=status, headers=headers)

    async def _answer_one(self, request: Request, payload: Payload) -> tuple[int, dict[str, Any], dict[str, str]]:
        unit = self.runtime.workflow_unit()  # a mutation's changes: committed only once audited
        try:
            return await self._answer(request, payload, unit)
        finally:
            await unit.rollback()  # whatever was not committed: a failure, a refusal, a cancelled request

    async def _answer(self, request: Request, payload: Payload,
                      unit: WorkflowUnit) -> tuple[int, dict[str, Any], dict[str, str]]:
        started = time.perf_counter()
        record = AuditRecord(
            request_id=uuid.uuid4().hex, at=datetime.now(UTC).isoformat(), operation="query", outcome="REFUSED",
            client=request.client.host if request.client else None,
        )
        headers: dict[str, str] = {}
        served = False
        try:
            status, body = await self._serve(request, payload, record, unit)
            served = True
        except RequestRefused as refused:
            record.outcome, record.code = "REFUSED", refused.code.value
            status, body = refused.http_status, {"errors": [refused.as_graphql()]}
            if isinstance(refused, LimitExceeded):
                headers["Retry-After"] = str(refused.retry_after)
        except Exception:
            log.exception("request %s failed", record.request_id)
            record.outcome, record.code = "FAILED", ErrorCode.INTERNAL_ERROR.value
            status, body = 500, {"errors": [_internal(record.request_id)]}
        if not served:
            record.changes = []  # nothing of a failed request is applied, nor claimed
        record.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        audited = False
        try:
            await self.runtime.audit.append(record)
            audited = True
        except AuditUnavailable:
            log.error("audit store unavailable; request %s answered without data", record.request_id)
            unavailable = GatewayError(ErrorCode.AUDIT_UNAVAILABLE,
                                       "The audit record could not be written, so no data is returned.")
            record.code = unavailable.code.value
            status, body = unavailable.http_status, {"errors": [unavailable.as_graphql()]}
        if audited and record.changes:
            status, body = await self._commit(unit, record, status, body)
        extensions = body.setdefault("extensions", {})
        extensions["requestId"] = record.request_id
        self.metrics.requests.labels(record.operation, record.outcome, record.code or "").inc()
        self.metrics.latency.labels(record.operation).observe(time.perf_counter() - started)
        return status, body, headers

    async def _commit(self, unit: WorkflowUnit, record: AuditRecord, status: int,
                      body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Commit a request's workflow changes once its audit record is durable. A committed change
        to grants is in force on this worker at once; a commit that fails is recorded as failed."""
        try:
            await unit.commit()
        except Exception:
            log.exception("request %s: the audited workflow changes could not be committed", record.request_id)
            try:
                await self.runtime.audit.append(record.rolled_back())
            except AuditUnavailable:
                log.error("request %s: the rollback of its audited changes could not be recorded", record.request_id)
            return 500, {"errors": [_internal(record.request_id)]}
        if unit.changes_policy:
            await self.runtime.refresh_policy(force=True)
            await self.runtime.announce_policy()  # the other workers reload at once (gateway/fanout.py)
        return status, body

    async def _serve(self, request: Request, payload: Payload, record: AuditRecord,
                     unit: WorkflowUnit) -> tuple[int, dict[str, Any]]:
        runtime = self.runtime
        query, variables, operation_name, longest_variable = self._operation(payload)
        headers = request.headers
        await runtime.refresh_policy()  # principals and grants of the newest policy revision
        runtime.require_current_policy()  # fail closed once the last good policy is too old
        # One revision for the whole request: the principals and the policy as they are now, taken
        # together (a reload swaps both without awaiting in between), whatever reloads meanwhile.
        principals, planner = runtime.principals, runtime.planner.pinned()
        application = authenticate(headers, principals)
        record.application, record.department = application.id, application.department
        record.operator = _claimed_operator(headers.get("x-operator"), runtime)  # who tried, even if refused
        parsed = runtime.documents.get(query)
        document = parsed.node
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, "Name the operation to run (operationName).")
        if request.method == "GET" and operation.operation is not OperationType.QUERY:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, "GET runs queries only; send mutations with POST.")
        shape = parsed.shapes[operation.name.value if operation.name else None]
        if shape.introspects and not runtime.settings.introspection:
            raise RequestRefused(ErrorCode.INTROSPECTION_DISABLED, "Introspection is switched off on this gateway; "
                                 "ask the platform for the schema (gateway schema print).")
        selection = Selection(runtime.graphql_schema, document, operation, variables)
        roots = selection.root_fields()
        requirement = _requirement(roots)
        cost = 0  # administrative reads (audit, workflow, policy) have their own page bounds and roles
        if requirement is Requirement.PURPOSE:
            cost = self._within_limits(shape, variables)
            self._bound_strings(max(shape.longest_string, longest_variable))
        record.operation = _operation_name(roots)
        caller = identify(headers, principals, requirement)
        record.department = caller.application.department
        record.operator = caller.operator.id if caller.operator else None
        record.purpose = caller.purpose
        record.policy_version = planner.policy_version
        coordinates = [c for c in selection.coordinates() if c in runtime.catalog.by_coordinate]
        plan = None
        if caller.purpose is not None:
            self._refuse_oracles(selection, planner, caller.application.id, caller.purpose, record)
        if cost:
            await runtime.limiter.take(caller.application.id, "cost", cost)
        for kind, subjects in selection.subject_counts(runtime.catalog).items():
            if subjects:  # before any library is touched; a refused take consumes nothing
                await runtime.limiter.take(caller.application.id, kind, subjects)  # type: ignore[arg-type]
        if coordinates and caller.purpose is not None:
            plan = planner.plan(caller.application.id, caller.purpose, coordinates)
            record.fields = {c: d.access.value for c, d in plan.decisions.items()}
            record.denied = {c: d.reason.value for c, d in plan.decisions.items()
                             if d.access is Access.DENIED and d.reason}
            record.masks = {c: {"rule": d.rule or "", "source": d.rule_source or ""}
                            for c, d in plan.decisions.items() if d.access is Access.MASKED}
        ctx = RequestContext(
            request_id=record.request_id, application=caller.application.id, purpose=caller.purpose,
            catalog=runtime.catalog, planner=planner, sources=runtime.sources, cursors=runtime.cursors,
            keys=runtime.keys, plan=plan, department_names=runtime.department_names,
            operator=caller.operator.id if caller.operator else None, workflow_unit=unit,
        )
        result = execute(runtime.graphql_schema, document, context_value=ctx, variable_values=variables,
                         operation_name=operation_name)
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        errors = [self._format(e, record.request_id) for e in result.errors or []]
        record.rows = dict(ctx.rows)
        record.scrubbed = dict(ctx.scrubbed)
        for label, decision in ctx.side_decisions.items():
            record.fields.setdefault(label, decision.access.value)
            if decision.access is Access.DENIED and decision.reason:
                record.denied[label] = decision.reason.value
        record.checks = {c: dict(counts) for c, counts in ctx.check_outcomes.items()}
        decisions = [*(plan.decisions.values() if plan else ()), *ctx.side_decisions.values()]
        record.grants = sorted({d.source.removeprefix("grant:") for d in decisions
                                if d.source and d.source.startswith("grant:")})
        record.subjects = subject_pseudonyms(runtime.subject_key, ctx.subjects)
        for alarm in runtime.check_monitor.observe(caller.application.id, ctx.subjects_checked, ctx.subjects_failed):
            await self._raise_alarm(alarm, record)
        if operation.operation is OperationType.MUTATION:
            result = self._all_or_nothing(result, unit, record)
            if record.changes:
                await unit.prepare()  # the notifications commit with the changes, or not at all
        served_nothing = not result.data or all(v is None for v in result.data.values())
        codes = [e["extensions"]["code"] for e in errors]
        if not errors:
            record.outcome = "SERVED"
        elif not served_nothing:
            record.outcome = "PARTIAL"
        else:
            record.outcome = "FAILED" if ErrorCode.INTERNAL_ERROR.value in codes else "REFUSED"
            record.code = codes[0]
        rules = {c: d.rule or "" for c, d in plan.decisions.items() if d.access is Access.MASKED} if plan else {}
        masked = selection.masked_paths(result.data, rules)
        self.metrics.masked_values.inc(len(masked))
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        body["extensions"] = {"policyVersion": planner.policy_version, "masked": masked, "maskRules": record.masks}
        if record.scrubbed:
            body["extensions"]["freeTextMasked"] = record.scrubbed
        return 200, body

    @staticmethod
    def _all_or_nothing(result: ExecutionResult, unit: WorkflowUnit, record: AuditRecord) -> ExecutionResult:
        """A request's mutations are one unit: if one failed, none is applied (the caller rolls
        back) and no data is returned; otherwise its changes go into the audit record."""
        if result.errors:
            return ExecutionResult(data=None, errors=result.errors)
        record.changes = unit.changes
        return result

    async def _raise_alarm(self, alarm: Alarm, cause: AuditRecord) -> None:
        """Log, count and audit an anomaly alarm (the provider and the auditors read it there)."""
        log.warning("data-check alarm: %s", alarm.describe())
        self.metrics.check_alarms.labels(alarm.application, alarm.reason).inc()
        record = AuditRecord(
            request_id=uuid.uuid4().hex, at=datetime.now(UTC).isoformat(), operation="alarm", outcome="ALARM",
            code=alarm.reason, application=alarm.application, department=cause.department, purpose=cause.purpose,
            policy_version=cause.policy_version,
            checks={"window": {"checked": alarm.checked, "failed": alarm.failed, "seconds": int(alarm.window_seconds)}},
        )
        try:
            await self.runtime.audit.append(record)
        except AuditUnavailable:
            log.error("audit store unavailable; alarm for %s not recorded", alarm.application)

    def _refuse_oracles(self, selection: Selection, planner: Planner, application: str, purpose: str,
                        record: AuditRecord) -> None:
        """Filters, sort keys and group keys on fields the caller does not see raw would let it
        probe the hidden values: the whole request is refused before anything runs."""
        uses = selection.argument_uses(self.runtime.catalog)
        if not uses:
            return
        record.uses = {c: sorted(u) for c, u in sorted(uses.items())}
        plan = planner.plan(application, purpose, uses)
        for coordinate, decision in sorted(plan.decisions.items()):
            refusal = probe_refusal(self.runtime.catalog, coordinate, decision)
            if refusal:
                raise RequestRefused(ErrorCode.FILTER_NOT_ALLOWED, refusal)

    def _within_limits(self, shape: OperationShape, variables: dict[str, Any] | None) -> int:
        """The operation's cost with these variables, refused when over the limit."""
        limit = self.runtime.settings.query_limits.cost
        cost = shape.cost(variables)
        if cost > limit:
            raise too_complex(f"The operation may return {cost} values (lists counted by their `first` or batch "
                              f"length); at most {limit} are allowed. Ask for smaller pages.")
        return cost

    def _bound_strings(self, longest: int) -> None:
        limit = self.runtime.settings.query_limits.string_chars
        if longest > limit:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"A string argument is longer than {limit} characters.")

    async def _read(self, request: Request) -> tuple[list[Payload], bool]:
        """The operations a request carries, and whether it is a batch (a JSON array body)."""
        if request.method == "GET":
            params = request.query_params
            payload: dict[str, Any] = {name: params[name] for name in ("query", "operationName", "documentId")
                                       if name in params}
            for name in ("variables", "extensions"):
                if params.get(name):
                    payload[name] = _json_object(params[name], name)
            return [payload], False
        limit = self.runtime.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"The request body is larger than {limit} bytes.")
        raw = bytearray()
        async for chunk in request.stream():
            raw.extend(chunk)
            if len(raw) > limit:
                raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"The request body is larger than {limit} bytes.")
        body = _json(raw.decode("utf-8", errors="replace"), "body")
        if not isinstance(body, list):
            return [_object(body, "body")], False
        most = self.runtime.settings.max_batch
        if not 1 <= len(body) <= most:
            raise RequestRefused(ErrorCode.QUERY_TOO_COMPLEX if body else ErrorCode.BAD_USER_INPUT,
                                 f"A batch holds 1 to {most} operations; this one holds {len(body)}.")
        return [_object(item, "batch item") if isinstance(item, dict) else
                RequestRefused(ErrorCode.BAD_USER_INPUT, "Each batch item must be a JSON object.") for item in body], True

    def _operation(self, payload: Payload) -> tuple[str, dict[str, Any] | None, str | None, int]:
        """The query text, variables and operation name of one payload (the registered text in
        persisted-query mode), and the length of the longest string in its variables."""
        if isinstance(payload, RequestRefused):
            raise payload
        query = payload.get("query")
        if query is not None and not isinstance(query, str):
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, "`query` must be a string.")
        if self.runtime.persisted is not None:
            query = self.runtime.persisted.resolve(query, payload)
        if not isinstance(query, str) or not query.strip():
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, "The body needs a `query` string.")
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, "`variables` must be a JSON object.")
        longest = longest_string(variables)  # also refuses NUL and variables nested beyond any input type
        name = payload.get("operationName")
        return query, variables, name if isinstance(name, str) else None, longest

    def _format(self, error: GraphQLError, request_id: str) -> dict[str, Any]:
        original = error.original_error
        if isinstance(original, GatewayError):
            code, message = original.code.value, original.message
        elif isinstance(original, LibraryUnavailable):
            code, message = ErrorCode.LIBRARY_UNAVAILABLE.value, "A library this field needs is unavailable."
        elif original is None or isinstance(original, GraphQLError):
            code = (error.extensions or {}).get("code") or ErrorCode.BAD_USER_INPUT.value
            message = error.message
        else:
            log.error("request %s: %s at %s", request_id, type(original).__name__, error.path, exc_info=original)
            return {**_internal(request_id), "path": error.path}
        formatted: dict[str, Any] = {"message": message, "extensions": {"code": code}}
        problems = getattr(original, "problems", None)
        if problems:  # every reason a policy version was refused, not only the first
            formatted["extensions"]["problems"] = list(problems)
        if error.path:
            formatted["path"] = error.path
        if error.locations:
            formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        return formatted

    def _ide(self) -> Response:
        if not self.runtime.settings.graphiql:
            error = GatewayError(ErrorCode.BAD_USER_INPUT, "GraphiQL is disabled; POST GraphQL requests to /graphql.")
            return JSONAnswer({"errors": [error.as_graphql()]}, status_code=400)
        from strawberry.http.ides import get_graphql_ide_html

        return HTMLResponse(get_graphql_ide_html(graphql_ide="graphiql"))


UNREGISTERED = "(unregistered)"


def _claimed_operator(header: str | None, runtime: Runtime) -> str | None:
    """The operator a request names, for its audit record even when it is refused later: a
    registered operator's id, or a marker — never the raw header, which could carry anything."""
    claimed = (header or "").strip(HTTP_WHITESPACE)
    if not claimed:
        return None
    return claimed if claimed in runtime.principals.operators else UNREGISTERED


def _requirement(roots: set[str]) -> Requirement:
    if roots <= INTROSPECTION_ROOTS:
        return Requirement.TOKEN
    if roots <= INTROSPECTION_ROOTS | OPERATOR_ROOTS:
        return Requirement.OPERATOR
    return Requirement.PURPOSE


def _operation_name(roots: set[str]) -> str:
    if roots <= INTROSPECTION_ROOTS:
        return "introspection"
    if roots <= INTROSPECTION_ROOTS | OPERATOR_ROOTS:
        if roots & WORKFLOW_ROOTS:
            return "workflow"
        if roots & POLICY_ROOTS:
            return "policy"
        return "audit" if roots & AUDIT_ROOTS else "catalog"
    data_roots = roots - INTROSPECTION_ROOTS
    if all(r.startswith("check") for r in data_roots):
        return "check"
    return "unmask" if data_roots == {"unmask"} else "query"


def _json(text: str, what: str) -> Any:
    try:
        return json_codec.loads(text)
    except ValueError:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"The {what} is not valid JSON.") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"The {what} must be a JSON object.")
    return value


def _json_object(text: str, what: str) -> dict[str, Any]:
    return _object(_json(text, what), what)


def _internal(request_id: str) -> dict[str, Any]:
    return {"message": f"Internal error; quote request id {request_id} to the operator.",
            "extensions": {"code": ErrorCode.INTERNAL_ERROR.value}}
