"""Cross-library fields are batched per library: never one query per entity (no N+1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from gateway.documents import DocumentCache
from gateway.query_limits import QueryLimits
from tests.support import Gateway


@contextmanager
def count_queries(gateway: Gateway) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    listeners = []
    for code, source in gateway.runtime.sources.items():
        def listener(*_args: Any, code: str = code) -> None:
            counts[code] += 1

        engine = source.executing_engine
        event.listen(engine, "before_cursor_execute", listener)
        listeners.append((engine, listener))
    try:
        yield counts
    finally:
        for engine, listener in listeners:
            event.remove(engine, "before_cursor_execute", listener)


async def test_a_page_of_100_persons_costs_one_query_per_library(gateway: Gateway) -> None:
    query = '''{ populationRecords(first: 100) { edges { node {
        name maritalStatus insuranceStatus dishonestDebtor licenses { licenseType } } } } }'''
    with count_queries(gateway) as counts:
        body = await gateway.query(query)
    assert "errors" not in body
    assert len(body["data"]["populationRecords"]["edges"]) == 100
    assert counts == {"population": 1, "social_security": 1, "credit": 1, "license": 1}


async def test_100_aliased_persons_cost_one_query_per_library(gateway: Gateway) -> None:
    """Where a deployment raises the alias and root-field limits (GATEWAY_MAX_ALIASES, ..._ROOT_FIELDS),
    aliases still batch into one query per library."""
    gateway.runtime.documents = DocumentCache(gateway.runtime.graphql_schema, QueryLimits(aliases=100, root_fields=100))
    page = await gateway.query("{ populationRecords(first: 100) { edges { node { idNumber } } } }")
    ids = [e["node"]["idNumber"] for e in page["data"]["populationRecords"]["edges"]]
    selections = " ".join(f'p{i}: person(idNumber: "{key}") {{ name insuranceStatus dishonestDebtor }}'
                          for i, key in enumerate(ids))
    with count_queries(gateway) as counts:
        body = await gateway.query("{ %s }" % selections)
    assert "errors" not in body and all(body["data"][f"p{i}"]["name"] for i in range(len(ids)))
    assert counts == {"population": 1, "social_security": 1, "credit": 1}


async def test_only_allowed_columns_are_read(gateway: Gateway) -> None:
    statements: list[str] = []
    engine = gateway.runtime.sources["population"].executing_engine

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        await gateway.query('{ person(idNumber: "%s") { name maritalStatus religion } }' % gateway.sample_id,
                            app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    assert "name" in statements[0]
    assert "marital_status" not in statements[0] and "religion" not in statements[0]
