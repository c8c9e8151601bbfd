"""The audit trail: one record per request, committed before the answer leaves, hash-chained."""

from audit.record import AuditRecord
from audit.store import AuditStore, AuditUnavailable, VerifyReport

__all__ = ["AuditRecord", "AuditStore", "AuditUnavailable", "VerifyReport"]
