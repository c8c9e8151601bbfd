"""Cursor pagination. A cursor is the opaque, versioned surrogate row id, never a key or a
value, so paging can never be used to probe a field the caller does not see raw."""

from __future__ import annotations

import base64
import binascii

from gateway.errors import ErrorCode, RequestRefused

MAX_PAGE = 100
_PREFIX = "row:"


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digits = text[len(_PREFIX):]
        if text.startswith(_PREFIX) and digits.isdigit() and len(digits) <= 18:
            return int(digits)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise RequestRefused(ErrorCode.BAD_USER_INPUT, "`after` is not a cursor this gateway issued")


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_PAGE}")
    return first
