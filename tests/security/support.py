"""Helpers of the attack suite: the hostile callers, the raw values they must never see (read
straight from the libraries), and the hygiene every answer must show, whatever it refuses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from tests.support import Gateway, change, codes, fetch

Caller = Mapping[str, str]
LICENSING: Caller = {"app_id": "scjg-licensing", "purpose": "ADMINISTRATIVE_BASIS"}  # no grant at all
ASSISTANCE: Caller = {"app_id": "mz-assistance", "purpose": "SOCIAL_ASSISTANCE_REVIEW"}  # grants in force
OFF_PURPOSE: Caller = {"app_id": "mz-assistance", "purpose": "WORK_REFERENCE"}  # the same grants, another purpose
EXPIRED: Caller = {"app_id": "rs-employment", "purpose": "BUSINESS_COLLABORATION"}  # its one grant has lapsed
SUSPENDED: Caller = {"app_id": "fg-credit", "purpose": "MARKET_SUPERVISION"}  # its one grant is suspended
AUDITOR: Caller = {"app_id": "sj-auditor"}  # reads the whole audit trail, no purpose

# Traces of the code or of the SQL behind it; driver names are compared in lower case.
CODE_MARKERS = ("Traceback", 'File "', '.py"', "SELECT ", "FROM ", "[SQL:", "OperationalError", "ProgrammingError",
                "IntegrityError", "DataError")
DRIVER_MARKERS = ("sqlalchemy", "sqlite", "asyncpg", "psycopg")
OPAQUE_KEYS = frozenset({"cursor", "endCursor", "requestId", "policyVersion"})  # random tokens, no value in them
TOO_BIG = {"QUERY_TOO_COMPLEX", "BAD_USER_INPUT"}  # either names an oversized request (docs/errors.md)

POPULATION_SECRETS = ("id_number", "mobile", "address", "birth_date", "marital_status", "religion", "email",
                      "home_phone")


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def codes(self) -> set[str]:
        return codes(self.body)

    @property
    def data(self) -> Any:
        return self.body.get("data")

    def masked(self) -> dict[tuple[Any, ...], str]:
        return {tuple(m["path"]): m["rule"] for m in self.body.get("extensions", {}).get("masked", [])}


class Attacker:
    """Sends one attack at a time; every answer is checked before the test reads it: never a
    server error, never a trace of the code, the SQL or the data directory, never a secret."""

    def __init__(self, gateway: Gateway, secrets: Iterable[str] = ()) -> None:
        self.gateway = gateway
        self.secrets = set(secrets)

    def headers(self, caller: Caller, override: Mapping[str, str | bytes] | None = None) -> dict[str, Any]:
        headers: dict[str, Any] = self.gateway.headers(caller["app_id"], caller.get("purpose"),
                                                       caller.get("operator", "default"))
        headers.update(override or {})
        return headers

    async def ask(self, query: str, variables: Mapping[str, Any] | None = None, caller: Caller = LICENSING,
                  headers: Mapping[str, str | bytes] | None = None) -> Answer:
        response = await self.gateway.client.post(
            "/graphql", json={"query": query, "variables": dict(variables or {})}, headers=self.headers(caller, headers))
        return self.read(response)

    async def post(self, content: bytes | AsyncIterator[bytes], caller: Caller = LICENSING,
                   headers: Mapping[str, str | bytes] | None = None) -> Answer:
        """A hand-made body: bytes as given (JSON or not), or streamed without a Content-Length."""
        override = {"Content-Type": "application/json", **(headers or {})}
        response = await self.gateway.client.post("/graphql", content=content, headers=self.headers(caller, override))
        return self.read(response)

    async def get(self, params: Mapping[str, str], caller: Caller = LICENSING) -> Answer:
        response = await self.gateway.client.get("/graphql", params=dict(params), headers=self.headers(caller))
        return self.read(response)

    def read(self, response: httpx.Response) -> Answer:
        assert response.status_code < 500, response.text[:2000]
        body = response.json()
        assert "INTERNAL_ERROR" not in codes(body), body
        assert_clean(body, self.secrets, str(self.gateway.runtime.settings.data_dir))
        return Answer(response.status_code, body)

    async def still_serving(self) -> None:
        """After an attack the gateway answers an ordinary request as before."""
        answer = await self.ask('query($id: ID!) { person(idNumber: $id) { name gender } }',
                                {"id": self.gateway.sample_id})
        assert answer.status == 200 and "errors" not in answer.body, answer.body
        assert answer.data["person"]["name"]


@contextmanager
def attack(label: object) -> Iterator[None]:
    """Names the attack in the message of an assertion that fails inside a loop of attacks."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{label!r}: {exc}") from exc


def strings(node: Any, skip: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every key and string value of a JSON document, but those under the keys in `skip`."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key)
            if key not in skip:
                yield from strings(value, skip)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item, skip)
    elif node is not None:
        yield str(node)


def assert_clean(body: Mapping[str, Any], secrets: Iterable[str], data_dir: str) -> None:
    text = "\n".join(strings(body))
    traces = [m for m in CODE_MARKERS if m in text] + [m for m in DRIVER_MARKERS if m in text.lower()]
    assert not traces, f"the answer shows {traces}: {text[:2000]}"
    assert data_dir not in text, "the answer names the data directory"
    values = "\n".join(strings(body, OPAQUE_KEYS))
    leaked = sorted(s for s in secrets if s in values)
    assert not leaked, f"raw values in the answer: {leaked}"


def assert_refused(answer: Answer, code: str | set[str], status: int = 400) -> None:
    """A request-level refusal: one error with the code (or one of the codes), its HTTP status,
    and no data at all."""
    assert answer.status == status, answer.body
    [error] = answer.body["errors"]
    assert error["extensions"]["code"] in ({code} if isinstance(code, str) else code), answer.body
    assert answer.data is None, answer.body


def assert_bad_argument(answer: Answer, allowed: frozenset[str] | set[str] = frozenset({"BAD_USER_INPUT"})) -> None:
    """An argument refused (BAD_USER_INPUT, or one of `allowed`): the whole request (400), or the
    field that took it (200, `null` where it would have been; docs/errors.md) — nothing served."""
    assert len(answer.codes) == 1 and answer.codes <= allowed, answer.body
    assert answer.status in (200, 400), answer.body
    assert not answer.data or all(value is None for value in answer.data.values()), answer.body


# Raw values, read straight from a library: what a refused or masked answer must never hold.


def secret_form(value: Any) -> str | None:
    """How a raw value would show in a leak: numbers by their integer part (a leak shows at
    least that), everything else as text; too short to tell apart from other text: None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        digits = str(int(value))
        return digits if len(digits) >= 5 else None
    text = str(value)
    return text if len(text) >= 2 else None


async def raw_values(gateway: Gateway, library: str, table: str, key_column: str, keys: Iterable[str],
                     columns: Iterable[str]) -> set[str]:
    url = gateway.runtime.settings.library_urls[library]
    found: set[str] = set()
    for key in keys:
        rows = await fetch(url, f"SELECT {', '.join(columns)} FROM {table} WHERE {key_column} = :key", key=key)
        found |= {form for row in rows for form in map(secret_form, row) if form}
    return found


async def person_secrets(gateway: Gateway, ids: Iterable[str], columns: Iterable[str] = POPULATION_SECRETS) -> set[str]:
    return await raw_values(gateway, "population", "person_basic", "id_number", ids, columns)


async def believer(gateway: Gateway) -> str:
    """A person whose religion (不予共享) is a word, not 无: a leak of it can be told apart."""
    [(id_number,)] = await fetch(gateway.runtime.settings.library_urls["population"],
                                 "SELECT id_number FROM person_basic WHERE religion <> '无' "
                                 "AND marital_status IS NOT NULL ORDER BY row_id LIMIT 1")
    return str(id_number)


async def every_population_secret(gateway: Gateway) -> set[str]:
    """Every person's ID number and mobile: a caller without a grant must never see one raw."""
    rows = await fetch(gateway.runtime.settings.library_urls["population"], "SELECT id_number, mobile FROM person_basic")
    return {form for row in rows for form in map(secret_form, row) if form}


LIBRARY_TABLES = {
    "population": ("person_basic",),
    "legal_entity": ("enterprise_registration", "enterprise_annual_report"),
    "license": ("person_license", "enterprise_license"),
    "credit": ("enterprise_credit_rating", "administrative_penalty", "person_dishonesty"),
    "social_security": ("social_insurance", "contribution_record"),
}
PLATFORM_TABLES = ("applications", "operators", "grants", "purposes", "policy_state")


async def row_counts(gateway: Gateway) -> dict[str, int]:
    """Rows of every library table and of the platform's principals and grants."""
    settings = gateway.runtime.settings
    stores = [(settings.library_urls[library], tables) for library, tables in LIBRARY_TABLES.items()]
    counts: dict[str, int] = {}
    for url, tables in [*stores, (settings.store_url, PLATFORM_TABLES)]:
        for table in tables:
            [(count,)] = await fetch(url, f"SELECT COUNT(*) FROM {table}")
            counts[table] = int(count)
    return counts


async def change_policy(gateway: Gateway, statement: str, **params: Any) -> None:
    """Change the platform store behind the gateway's back, as an administrator's tool would,
    bump the policy revision and reload: the change is in force from the next request."""
    url = gateway.runtime.settings.store_url
    assert await change(url, statement, **params) >= 1, statement
    await change(url, "UPDATE policy_state SET revision = revision + 1")
    await gateway.runtime.refresh_policy(force=True)


def nested_json(depth: int, kind: str) -> str:
    """`depth` nested JSON lists or objects, written by hand (json.dumps would recurse)."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


def body_of(query: str, variables_json: str = "{}") -> bytes:
    return ('{"query": %s, "variables": %s}' % (json.dumps(query), variables_json)).encode()
