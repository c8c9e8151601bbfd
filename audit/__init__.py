"""The audit trail: one record per request, committed before the answer leaves, hash-chained,
signed at checkpoints kept in another database (audit.checkpoints), archived under retention
(audit.archive)."""

from audit.record import AuditRecord
from audit.store import AuditConfigError, AuditStore, AuditUnavailable, VerifyReport

__all__ = ["AuditConfigError", "AuditRecord", "AuditStore", "AuditUnavailable", "VerifyReport"]
