"""The audit trail in GraphQL: `auditRecords`, scoped to the calling application (docs/audit-access.md).

An AUDITOR or PLATFORM_ADMIN application reads every record; any other application reads its
department's own use and every use of the resources its department provides (`audit.query.Scope`).
The scope comes from the application's role and department as the platform store holds them at
the time of the request, never from the request's arguments: a filter narrows, it cannot widen,
and a page's cursor and `hasNextPage` tell nothing of records outside the scope (audit/query.py).
Records are served whole, `body` included, so that every node verifies against the chain: a
provider sees the other fields a request read from other providers (docs/audit-access.md).
The request needs a token and a real-name operator, no purpose (gateway/graphql_view.py), and is
itself audited as operation `audit`, with the number of audit records it returned.

This module deliberately does not use `from __future__ import annotations`: strawberry reads
the annotations at run time.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Optional

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.query import MAX_PAGE, AuditReader, InvalidFilter, Scope, StoredRecord
from audit.query import AuditFilter as RecordFilter
from gateway.errors import ErrorCode, GatewayError
from resolvers.context import RequestContext
from store.repository import load_application

DESCRIPTION = (
    "The audit trail (日志审计), newest first, within what the calling application may see: every record for "
    "an AUDITOR or PLATFORM_ADMIN application, otherwise its department's own use and every use of the resources "
    f"its department provides. At most {MAX_PAGE} records a page; a page may hold fewer than `first` and still have "
    "a next page (the scan behind one page is bounded). Needs X-Operator, not X-Purpose."
)
CURSOR_PREFIX = "audit:"
ROWS_KEY = "audit_records"  # the audit record of a read counts the records it returned under this key


@dataclass(frozen=True)
class AuditAccess:
    """What the resolver needs: the reader of the audit store and the platform store (for the
    caller's role and department, read fresh on every request)."""

    reader: AuditReader
    store: AsyncEngine

    async def scope_of(self, application_id: str) -> Scope:
        application = await load_application(self.store, application_id)
        if application is None or not application.active:
            raise GatewayError(ErrorCode.FORBIDDEN, "This application may not read the audit trail.")
        return Scope.of_application(self.reader.catalog, application.role, application.department)


@strawberry.input(name="AuditFilter", description="Conditions on audit records; every condition given must hold.")
class AuditFilter:
    from_: Optional[str] = strawberry.field(
        name="from", default=None,
        description="From this ISO date (whole day) or datetime, inclusive; China Standard Time without an offset.")
    to: Optional[str] = strawberry.field(
        default=None, description="Up to this ISO date (whole day) or datetime, inclusive.")
    application: Optional[str] = strawberry.field(default=None, description="The calling application's id.")
    department: Optional[str] = strawberry.field(default=None, description="The calling application's department code.")
    operation: Optional[str] = strawberry.field(
        default=None, description="query, check, catalog, unmask, introspection, audit, alarm, policy.*, ...")
    outcome: Optional[str] = strawberry.field(default=None, description="SERVED, PARTIAL, REFUSED, FAILED, ALARM.")
    purpose: Optional[str] = strawberry.field(default=None, description="The declared purpose code.")
    coordinate: Optional[str] = strawberry.field(
        default=None, description="A field the request touched (Person.mobile), read, checked or unmasked.")
    resource: Optional[str] = strawberry.field(default=None, description="A resource code the request touched.")
    subject: Optional[str] = strawberry.field(
        default=None, description="A subject pseudonym (`gateway audit subject <key>` prints it).")


@strawberry.type(description="A key and a value, e.g. a coordinate and its access (RAW, MASKED, DENIED).")
class AuditEntry:
    key: str
    value: str


@strawberry.type(description="A key and a count, e.g. a resource code and the rows read from it.")
class AuditCount:
    key: str
    count: int


@strawberry.type(description="A field served masked: the rule and what chose it.")
class AuditMask:
    coordinate: str
    rule: str
    source: str


@strawberry.type(description="A field the request filtered, sorted or grouped on.")
class AuditUse:
    coordinate: str
    uses: list[str]


@strawberry.type(description="Data-check outcomes of one field (MATCH, MISMATCH, NOT_FOUND), or an alarm's window.")
class AuditCheck:
    coordinate: str
    counts: list[AuditCount]


@strawberry.type(name="AuditRecord", description="One audit record (日志) and its place in the hash chain.")
class AuditRecordNode:
    seq: int = strawberry.field(description="Sequence number in the chain.")
    hash: str = strawberry.field(description="The chain hash of this record over prevHash and body.")
    prev_hash: str
    body: str = strawberry.field(description="The record as stored (canonical JSON): what the hash covers.")
    request_id: str
    at: str = strawberry.field(description="When the request arrived, ISO 8601 UTC.")
    operation: str
    outcome: str
    code: Optional[str]
    application: Optional[str]
    department: Optional[str]
    operator: Optional[str]
    purpose: Optional[str]
    policy_version: Optional[str]
    fields: list[AuditEntry] = strawberry.field(
        description="Coordinate (or check:/unmask: label) → RAW, MASKED, DENIED; POLICY for a policy change "
                    "(webhook:DEPT for a department's webhook); export:* for what an audit export held.")
    denied: list[AuditEntry] = strawberry.field(description="Coordinate → the reason code it was denied with.")
    grants: list[str] = strawberry.field(description="The grants that served a field, by id.")
    masks: list[AuditMask]
    uses: list[AuditUse]
    scrubbed: list[AuditCount] = strawberry.field(description="Coordinate → free-text values with identifiers masked.")
    rows: list[AuditCount] = strawberry.field(description="Resource code → rows read.")
    checks: list[AuditCheck]
    subjects: list[str] = strawberry.field(description="Pseudonyms of the persons and enterprises looked up or checked.")
    client: Optional[str]
    latency_ms: float


@strawberry.type(description="What the calling application may read of the audit trail.")
class AuditScope:
    everything: bool
    department: Optional[str] = strawberry.field(description="The department whose slice is readable (null: every record).")
    provides: list[str] = strawberry.field(description="Codes of the resources whose every use is readable as provider.")
    description: str


def root_fields(page_info: Any, access: Optional[AuditAccess]) -> dict[str, Any]:
    """`auditRecords`, its connection built on the schema's PageInfo. Without `access` (the schema
    printed from the command line) the field exists and answers nothing."""
    edge = strawberry.type(
        type("AuditRecordEdge", (), {"__annotations__": {"cursor": str, "node": AuditRecordNode}}), name="AuditRecordEdge")
    connection = strawberry.type(
        type("AuditRecordConnection", (), {"__annotations__": {"edges": list[edge],  # type: ignore[valid-type]
                                                               "page_info": page_info,
                                                               "scope": AuditScope}}),
        name="AuditRecordConnection", description="A page of audit records, newest first.")

    async def resolver(info: strawberry.Info, filter: Optional[AuditFilter] = None, first: int = 50,
                       after: Optional[str] = None) -> connection:  # type: ignore[valid-type]
        if access is None:
            raise GatewayError(ErrorCode.INTERNAL_ERROR, "The audit trail is not readable here.")
        ctx: RequestContext = info.context
        if not 1 <= first <= MAX_PAGE:
            raise GatewayError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_PAGE}.")
        before = _decode_cursor(after) if after is not None else None
        scope = await access.scope_of(ctx.application)
        try:
            flt = _filter(filter)
        except InvalidFilter as exc:
            raise GatewayError(ErrorCode.BAD_USER_INPUT, f"Filter: {exc}.") from None
        page = await access.reader.page(scope, flt, first=first, before=before)
        ctx.rows[ROWS_KEY] += len(page.records)
        edges = [edge(cursor=_encode_cursor(r.seq), node=_node(r)) for r in page.records]
        info_ = page_info(has_next_page=page.has_next,
                          end_cursor=_encode_cursor(page.end_cursor) if page.end_cursor is not None else None)
        return connection(edges=edges, page_info=info_, scope=_scope(scope))  # type: ignore[no-any-return]

    return {"auditRecords": strawberry.field(resolver=resolver, description=DESCRIPTION)}


def _filter(given: Optional[AuditFilter]) -> RecordFilter:
    if given is None:
        return RecordFilter()
    return RecordFilter.parse(
        start=given.from_, end=given.to, application=given.application, department=given.department,
        operation=given.operation, outcome=given.outcome, purpose=given.purpose, coordinate=given.coordinate,
        resource=given.resource, subject=given.subject,
    )


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(CURSOR_PREFIX) and text[len(CURSOR_PREFIX):].isdigit():
            return int(text[len(CURSOR_PREFIX):])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise GatewayError(ErrorCode.BAD_USER_INPUT, "`after` is not a cursor of auditRecords; pass an endCursor back.")


def _node(stored: StoredRecord) -> AuditRecordNode:
    r = stored.record

    def entries(name: str) -> list[AuditEntry]:
        return [AuditEntry(key=k, value=str(v)) for k, v in sorted(_map(r, name).items())]

    def counts(value: Any) -> list[AuditCount]:
        return [AuditCount(key=k, count=int(v)) for k, v in sorted((value or {}).items()) if isinstance(v, int | float)]

    return AuditRecordNode(
        seq=stored.seq, hash=stored.hash, prev_hash=stored.prev_hash, body=stored.body,
        request_id=str(r.get("request_id", "")), at=str(r.get("at", "")), operation=str(r.get("operation", "")),
        outcome=str(r.get("outcome", "")), code=r.get("code"), application=r.get("application"),
        department=r.get("department"), operator=r.get("operator"), purpose=r.get("purpose"),
        policy_version=r.get("policy_version"), fields=entries("fields"), denied=entries("denied"),
        grants=[str(g) for g in r.get("grants") or ()],
        masks=[AuditMask(coordinate=k, rule=str(v.get("rule", "")), source=str(v.get("source", "")))
               for k, v in sorted(_map(r, "masks").items()) if isinstance(v, dict)],
        uses=[AuditUse(coordinate=k, uses=[str(u) for u in v]) for k, v in sorted(_map(r, "uses").items())
              if isinstance(v, list)],
        scrubbed=counts(_map(r, "scrubbed")), rows=counts(_map(r, "rows")),
        checks=[AuditCheck(coordinate=k, counts=counts(v)) for k, v in sorted(_map(r, "checks").items())
                if isinstance(v, dict)],
        subjects=[str(s) for s in r.get("subjects") or ()], client=r.get("client"),
        latency_ms=float(r.get("latency_ms") or 0.0),
    )


def _map(record: dict[str, Any], name: str) -> dict[str, Any]:
    value = record.get(name)
    return value if isinstance(value, dict) else {}


def _scope(scope: Scope) -> AuditScope:
    return AuditScope(everything=scope.everything, department=scope.department, provides=sorted(scope.resources),
                      description=scope.describe())


__all__ = ["DESCRIPTION", "AuditAccess", "root_fields"]
