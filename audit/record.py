"""The audit record: who, which application, which purpose, which fields (raw, masked or
denied), how many rows, what outcome, when (000 第三十六条, 003 第二十四条). It never holds a
data value: subject keys are kept only as keyed pseudonyms."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class AuditRecord:
    request_id: str
    at: str  # ISO 8601, UTC
    operation: str  # query / catalog / check / introspection / refused
    outcome: str  # SERVED / PARTIAL / REFUSED / FAILED
    code: str | None = None  # the request-level error code, when refused
    application: str | None = None
    department: str | None = None
    operator: str | None = None
    purpose: str | None = None
    policy_version: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # coordinate → RAW / MASKED / DENIED
    denied: dict[str, str] = field(default_factory=dict)  # coordinate → reason code
    grants: list[str] = field(default_factory=list)  # the grants that served a field (授权), by id
    masks: dict[str, dict[str, str]] = field(default_factory=dict)  # coordinate → {rule, source} when MASKED
    uses: dict[str, list[str]] = field(default_factory=dict)  # coordinate → filter / sort / group
    scrubbed: dict[str, int] = field(default_factory=dict)  # coordinate → free-text values with identifiers masked
    rows: dict[str, int] = field(default_factory=dict)  # resource code → rows read
    checks: dict[str, dict[str, int]] = field(default_factory=dict)  # coordinate → outcome → count
    # Keys of the persons and enterprises looked up or checked, as keyed pseudonyms (never the key):
    # an auditor holding the platform key can tell whether a given person was asked about.
    subjects: list[str] = field(default_factory=list)
    # Workflow steps taken (workflow.service.Change.as_audit): action, application, states, grant.
    changes: list[dict[str, str]] = field(default_factory=list)
    client: str | None = None
    latency_ms: float = 0.0

    @classmethod
    def administrative(cls, operation: str, operator: str | None, **fields: Any) -> AuditRecord:
        """The record of an administrative operation (a policy change, an export, a retention run):
        a fresh request id, now, served."""
        return cls(request_id=uuid.uuid4().hex, at=datetime.now(UTC).isoformat(), operation=operation,
                   outcome="SERVED", operator=operator, **fields)

    def rolled_back(self) -> AuditRecord:
        """The record of this request's changes failing to commit after this record was written:
        same request, FAILED, each change marked rolled back."""
        return AuditRecord(
            request_id=self.request_id, at=datetime.now(UTC).isoformat(), operation=self.operation, outcome="FAILED",
            code="INTERNAL_ERROR", application=self.application, department=self.department, operator=self.operator,
            client=self.client, changes=[{**change, "rolledBack": "true"} for change in self.changes])

    def canonical(self) -> bytes:
        """The bytes the hash chain covers: sorted keys, no whitespace."""
        # vars, not asdict: the fields are plain JSON values already, and asdict deep-copies them.
        return json.dumps(vars(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
