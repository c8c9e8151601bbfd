"""One error vocabulary: the stable `extensions.code` values and the exceptions that carry them.

    GatewayError                  base: a code, a message safe to show, an HTTP status
    ├── RequestRefused            the whole request is refused before anything runs
    └── FieldRefused              one field is refused; the rest of the answer is served

Codes are part of the external contract (BRIEF §4): add codes, never rename one. Every code
is documented in docs/errors.md; a test fails if one is missing there.
"""

from __future__ import annotations

import enum
from typing import Any

from graphql import GraphQLError


class ErrorCode(str, enum.Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    OPERATOR_REQUIRED = "OPERATOR_REQUIRED"
    PURPOSE_REQUIRED = "PURPOSE_REQUIRED"
    FORBIDDEN = "FORBIDDEN"
    FIELD_NOT_SHARED = "FIELD_NOT_SHARED"
    GRANT_REQUIRED = "GRANT_REQUIRED"
    PURPOSE_NOT_GRANTED = "PURPOSE_NOT_GRANTED"
    GRANT_EXPIRED = "GRANT_EXPIRED"
    GRANT_SUSPENDED = "GRANT_SUSPENDED"
    MASK_REQUIRED = "MASK_REQUIRED"
    FILTER_NOT_ALLOWED = "FILTER_NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    LIBRARY_UNAVAILABLE = "LIBRARY_UNAVAILABLE"
    AUDIT_UNAVAILABLE = "AUDIT_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CONFLICT = "CONFLICT"
    CALENDAR_NOT_COVERED = "CALENDAR_NOT_COVERED"
    POLICY_INVALID = "POLICY_INVALID"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    POLICY_UNAVAILABLE = "POLICY_UNAVAILABLE"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.OPERATOR_REQUIRED: 400,
    ErrorCode.PURPOSE_REQUIRED: 400,
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.QUERY_TOO_COMPLEX: 400,
    ErrorCode.FILTER_NOT_ALLOWED: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.AUDIT_UNAVAILABLE: 503,
    ErrorCode.LIBRARY_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.CALENDAR_NOT_COVERED: 503,
    ErrorCode.POLICY_INVALID: 400,
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: 400,
    ErrorCode.INTROSPECTION_DISABLED: 403,
    ErrorCode.POLICY_UNAVAILABLE: 503,
}


class GatewayError(Exception):
    """An error whose message is safe to show to the caller."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 200)

    def as_graphql(self, **extensions: Any) -> dict[str, Any]:
        return {"message": self.message, "extensions": {"code": self.code.value, **extensions}}


class RequestRefused(GatewayError):
    """Refuses a whole request before any library is reached."""


class FieldRefused(GraphQLError):
    """One field refused at its path; graphql-core places it at the field's path."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message, extensions={"code": code.value})
        self.code = code


FIELD_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.FIELD_NOT_SHARED: "This field is not shared (不予共享) under any purpose.",
    ErrorCode.GRANT_REQUIRED: "This field is conditional (有条件共享): apply for a grant to read it.",
    ErrorCode.PURPOSE_NOT_GRANTED: "Your grant for this field does not cover the declared purpose (X-Purpose).",
    ErrorCode.GRANT_EXPIRED: "Your grant for this field has expired: apply to renew it.",
    ErrorCode.GRANT_SUSPENDED: "Your grant for this field is suspended or revoked by its provider.",
    ErrorCode.LIBRARY_UNAVAILABLE: "The library that holds this field is unavailable; try again later.",
}


def field_refused(code: ErrorCode) -> FieldRefused:
    return FieldRefused(code, FIELD_MESSAGES.get(code, "This field is not available to you."))
