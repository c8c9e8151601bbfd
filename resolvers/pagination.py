"""Cursor pagination. A cursor is the position of the last row served (its sort values and
surrogate row id), sealed with AES-GCM under a platform key and bound to the application and
the exact query (resource, filters, sort keys). The caller can neither read nor forge one, nor
carry it to another query or application, so paging can never probe a value."""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import ErrorCode, RequestRefused
from resolvers.listing import ListQuery, dumps, restore_position

MAX_PAGE = 100
MAX_CURSOR = 512  # characters; a sealed position of three sort keys fits comfortably
_VERSION = b"c1"
_NONCE = 12


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encode(self, application: str, query: ListQuery, position: list[Any]) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, dumps(position), _bound(application, query))
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode().rstrip("=")

    def decode(self, application: str, query: ListQuery, cursor: str | None) -> list[Any] | None:
        """The position after which to continue; None for the first page."""
        if cursor is None:
            return None
        position = self._open(application, query, cursor)
        if position is None:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                                 "`after` is not a cursor this gateway issued to you for this query")
        return position

    def _open(self, application: str, query: ListQuery, cursor: str) -> list[Any] | None:
        if len(cursor) > MAX_CURSOR:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            if not raw.startswith(_VERSION):
                return None
            body = raw[len(_VERSION):]
            plain = self._aead.decrypt(body[:_NONCE], body[_NONCE:], _bound(application, query))
            return restore_position(query, json.loads(plain))
        except (binascii.Error, ValueError, InvalidTag):
            return None


def _bound(application: str, query: ListQuery) -> bytes:
    return _VERSION + application.encode() + b"\x1f" + query.fingerprint()


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_PAGE}")
    return first
