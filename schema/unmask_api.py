"""Authorized unmasking: the platform reverses `reversible` tokens for a caller that holds an
explicit grant to read the field raw under the declared purpose (docs/masking.md).

A token is bound to the application it was issued to and to its field, so it cannot be
carried to another consumer or another field. Every call is audited like a read.
"""

from typing import Optional

import strawberry

from resolvers.unmasking import MAX_TOKENS, unmask_tokens

DESCRIPTION = (
    "Reverse `reversible` mask tokens of one field (e.g. Person.mobile) issued to your application. "
    "Needs a grant in force that lets you read the field raw under the declared purpose (X-Purpose); "
    f"at most {MAX_TOKENS} tokens a call. Answers in token order."
)


async def resolve_unmask(info: strawberry.Info, field: str, tokens: list[str]) -> list[Optional[str]]:
    return await unmask_tokens(info.context, field, tokens)
