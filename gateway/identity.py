"""Who is calling: the application (bearer token), the real-name operator (X-Operator, 实名,
003 第二十四条) and the declared purpose (X-Purpose, 使用用途, 000 第二十二条).

Checks run in the contract's order: token, then operator, then purpose; the first that
fails gives the code. What a request needs depends on what it asks for (`Requirement`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.errors import ErrorCode, RequestRefused
from policies.roles import may
from store.repository import Application, Operator, Principals, token_digest

# The optional whitespace HTTP allows around a field value (RFC 9110 §5.6.3): str.strip() would
# also remove no-break spaces and other Unicode whitespace, making "CODE\xa0" a valid purpose.
HTTP_WHITESPACE = " \t"


class Requirement(enum.IntEnum):
    """What a request must carry, by what it selects."""

    TOKEN = 1  # introspection only: the schema is not data
    OPERATOR = 2  # the catalog
    PURPOSE = 3  # data and data checks


@dataclass(frozen=True)
class Caller:
    application: Application
    operator: Operator | None
    purpose: str | None


def identify(headers: Mapping[str, str], principals: Principals, requirement: Requirement) -> Caller:
    application = authenticate(headers, principals)
    operator_id = (headers.get("x-operator") or "").strip(HTTP_WHITESPACE)
    purpose = (headers.get("x-purpose") or "").strip(HTTP_WHITESPACE) or None
    operator = None
    if requirement >= Requirement.OPERATOR or operator_id:
        if not operator_id:
            raise RequestRefused(ErrorCode.OPERATOR_REQUIRED,
                                 "Name the real-name operator acting through this application in X-Operator.")
        operator = principals.operators.get(operator_id)
        if operator is None or not operator.active or operator.department != application.department:
            raise RequestRefused(ErrorCode.UNAUTHENTICATED,
                                 "X-Operator is not an operator registered to this application's department.")
    if requirement >= Requirement.PURPOSE and purpose is None:
        raise RequestRefused(ErrorCode.PURPOSE_REQUIRED,
                             "Declare the purpose of use (使用用途) in X-Purpose; see the catalog for codes.")
    if purpose is not None and purpose not in principals.purposes:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, "X-Purpose is not a known purpose code.")
    if requirement >= Requirement.PURPOSE and not may(application.role, "data.read"):
        raise RequestRefused(ErrorCode.FORBIDDEN, "Administrative applications do not read data; query through "
                             "one of your department's business applications.")
    return Caller(application, operator, purpose)


def authenticate(headers: Mapping[str, str], principals: Principals) -> Application:
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip(HTTP_WHITESPACE):
        raise RequestRefused(ErrorCode.UNAUTHENTICATED, "Send the application's token as `Authorization: Bearer <token>`.")
    application = principals.applications_by_token.get(token_digest(token.strip(HTTP_WHITESPACE)))
    if application is None or not application.active:
        raise RequestRefused(ErrorCode.UNAUTHENTICATED, "The bearer token is not valid.")
    return application
