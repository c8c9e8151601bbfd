"""Reversing `reversible` mask tokens under an explicit grant (schema.unmask_api)."""

from __future__ import annotations

from gateway.errors import ErrorCode, RequestRefused, field_refused
from masking import MaskScope, UnmaskError, unmask
from policies.planner import Access
from resolvers.context import RequestContext

MAX_TOKENS = 100


async def unmask_tokens(ctx: RequestContext, coordinate: str, tokens: list[str]) -> list[str | None]:
    ref = ctx.catalog.by_coordinate.get(coordinate)
    if ref is None:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`{coordinate[:100]}` is not a field of the catalog")
    if not 1 <= len(tokens) <= MAX_TOKENS:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`tokens` takes 1 to {MAX_TOKENS} tokens")
    decision = ctx.planner.explain(ctx.application, ctx.purpose or "", coordinate)
    ctx.side_decisions[f"unmask:{coordinate}"] = decision
    if decision.access is Access.RAW and not (decision.source or "").startswith("grant:"):
        raise RequestRefused(ErrorCode.FORBIDDEN, f"`{coordinate}` is served raw to you by the catalog: read it; "
                             "unmasking reverses tokens under an explicit grant only")
    if decision.access is not Access.RAW or ctx.keys is None:
        raise field_refused(decision.reason or ErrorCode.GRANT_REQUIRED)
    scope = MaskScope(ctx.application, coordinate)
    try:
        values = [unmask(token, scope, ctx.keys) for token in tokens]
    except UnmaskError:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                             "A token is not one this gateway issued to your application for this field.") from None
    ctx.rows[ref.resource.code] += len(values)
    return list(values)
