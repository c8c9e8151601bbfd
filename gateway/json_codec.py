"""JSON in and out of the GraphQL endpoint, with orjson: on a small request, reading the body and
writing the answer with the standard library was a measurable share of the gateway's own time
(bench/README.md, item 2). As `json` where the gateway relies on it: UTF-8 out, compact, and every
malformed or absurdly nested body a ValueError. Unlike `json`, an integer beyond 64 bits is read
as a float (gateway/query_limits.py `longest_string` refuses one in the variables)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


def loads(text: str | bytes) -> Any:
    """Raises ValueError (orjson.JSONDecodeError) for anything that is not one JSON document,
    including NaN literals and nesting deeper than 1,024."""
    return orjson.loads(text)


class JSONAnswer(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
