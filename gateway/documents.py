"""Parsed and validated documents, cached by query text with the shape of each operation
(gateway/query_limits.py), so a repeated query costs a dict lookup: its validation and its
depth, alias, root-field and field-count limits are never walked again (BRIEF: limits built
once; the stock per-request limiters would defeat this cache). A refused document is cached
as its refusal."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate

from gateway.errors import ErrorCode, RequestRefused
from gateway.query_limits import OperationShape, QueryLimits, measure, too_complex

MAX_QUERY_CHARS = 20_000
MAX_TOKENS = 2_000
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass(frozen=True)
class Document:
    node: DocumentNode
    shapes: dict[str | None, OperationShape]  # by operation name


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, limits: QueryLimits | None = None, suggestions: bool = True,
                 size: int = 1024) -> None:
        self.schema = schema
        self.limits = limits or QueryLimits()
        self.suggestions = suggestions  # off with introspection: a suggestion names schema fields
        self.size = size
        self._cache: OrderedDict[str, Document | RequestRefused] = OrderedDict()

    def get(self, query: str) -> Document:
        cached = self._cache.get(query)
        if cached is None:
            cached = self._cache[query] = self._load(query)
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        if isinstance(cached, RequestRefused):
            # A fresh exception each time: re-raising the cached instance would chain every
            # request's traceback onto it, keeping their frames alive (a leak the soak found).
            raise RequestRefused(cached.code, cached.message)
        return cached

    def _load(self, query: str) -> Document | RequestRefused:
        if len(query) > MAX_QUERY_CHARS:
            return too_complex(f"The query is longer than {MAX_QUERY_CHARS} characters.")
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            if "tokens. Parsing aborted" in exc.message:
                return too_complex(f"The query has more than {MAX_TOKENS} tokens.")
            return RequestRefused(ErrorCode.BAD_USER_INPUT, f"The query does not parse: {exc.message}")
        errors = validate(self.schema, document)
        if errors:
            return RequestRefused(ErrorCode.BAD_USER_INPUT, "; ".join(self._message(e) for e in errors[:5]))
        shapes = measure(self.schema, document, self.limits)
        for shape in shapes.values():
            refusal = shape.refusal(self.limits)
            if refusal is not None:
                return refusal
        return Document(document, shapes)

    def _message(self, error: GraphQLError) -> str:
        return error.message if self.suggestions else _SUGGESTION.sub("", error.message)
