"""Parsed and validated documents, cached by query text, so a repeated query costs a dict
lookup. Validation rules are built once here (BRIEF: limits built once)."""

from __future__ import annotations

from collections import OrderedDict

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate

from gateway.errors import ErrorCode, RequestRefused

MAX_QUERY_CHARS = 20_000
MAX_TOKENS = 2_000


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, size: int = 1024) -> None:
        self.schema = schema
        self.size = size
        self._cache: OrderedDict[str, DocumentNode | RequestRefused] = OrderedDict()

    def get(self, query: str) -> DocumentNode:
        cached = self._cache.get(query)
        if cached is None:
            cached = self._cache[query] = self._load(query)
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        if isinstance(cached, RequestRefused):
            raise cached
        return cached

    def _load(self, query: str) -> DocumentNode | RequestRefused:
        if len(query) > MAX_QUERY_CHARS:
            return RequestRefused(ErrorCode.QUERY_TOO_COMPLEX, f"The query is longer than {MAX_QUERY_CHARS} characters.")
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            return RequestRefused(ErrorCode.BAD_USER_INPUT, f"The query does not parse: {exc.message}")
        errors = validate(self.schema, document)
        if errors:
            return RequestRefused(ErrorCode.BAD_USER_INPUT, "; ".join(e.message for e in errors[:5]))
        return document
