"""JSON in and out of the GraphQL endpoint, with orjson: on a small request, reading the body and
writing the answer with the standard library was a measurable share of the gateway's own time
(bench/README.md, item 2). Same semantics as `json` where the gateway relies on them: UTF-8 out,
compact, and every malformed or absurdly nested body a ValueError."""

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
