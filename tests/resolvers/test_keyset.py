"""Keyset pagination with nulls: paging through any order, ascending or descending, with nulls
lowest, serves every row exactly once and in the order of one unpaged query."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from resolvers.listing import ListQuery, SortKey, after_clause, after_ranges, order_columns, position_of
from schema.catalog import DataType, Field, ShareClass

metadata = MetaData()
TABLE = Table("t", metadata, Column("row_id", Integer, primary_key=True), Column("a", Integer), Column("b", String))
FIELDS = {name: Field(name, name, DataType.INTEGER if name == "a" else DataType.STRING, ShareClass.UNCONDITIONAL, name)
          for name in ("a", "b")}
ENGINE = create_engine("sqlite://")
metadata.create_all(ENGINE)

rows_strategy = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.one_of(st.none(), st.sampled_from("xyz"))),
                         max_size=25)
order_strategy = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans()), min_size=1, max_size=2,
                          unique_by=lambda key: key[0])


@settings(max_examples=150, deadline=None)
@given(rows_strategy, order_strategy, st.integers(1, 7), st.booleans())
def test_pages_cover_every_row_once_in_order(rows: list[tuple[Any, Any]], order: list[tuple[str, bool]], size: int,
                                             ranged: bool) -> None:
    """Through `after_clause`, and through `after_ranges` read one after the other as
    LibrarySource.page reads them."""
    query = ListQuery(None, (), tuple(SortKey(FIELDS[name], descending) for name, descending in order))  # type: ignore[arg-type]
    row_id = TABLE.c.row_id
    with ENGINE.begin() as conn:
        conn.execute(TABLE.delete())
        if rows:
            conn.execute(insert(TABLE), [{"row_id": i + 1, "a": a, "b": b} for i, (a, b) in enumerate(rows)])
        everything = [dict(r._mapping) for r in conn.execute(select(TABLE).order_by(*order_columns(TABLE, query, row_id)))]
        paged: list[dict[str, Any]] = []
        position = None
        while True:
            statement = select(TABLE).order_by(*order_columns(TABLE, query, row_id))
            if position is None:
                conditions = [None]
            elif ranged:
                conditions = after_ranges(TABLE, query, row_id, position)
            else:
                conditions = [after_clause(TABLE, query, row_id, position)]
            page: list[dict[str, Any]] = []
            for condition in conditions:
                if len(page) < size:
                    bounded = statement if condition is None else statement.where(condition)
                    page += [dict(r._mapping) for r in conn.execute(bounded.limit(size - len(page)))]
            paged += page
            if len(page) < size:
                break
            position = position_of(page[-1], query)
    assert paged == everything
    assert len({r["row_id"] for r in paged}) == len(rows)
    # The unpaged order is the documented one: nulls lowest, then the row id.
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for name, descending in order:
            value = row[name]
            rank = (0, 0) if value is None else (1, value if name == "a" else ord(value))
            parts.append(tuple(-x for x in rank) if descending else rank)
        return (*parts, row["row_id"])
    assert everything == sorted(everything, key=key)


def test_each_range_after_a_position_seeks_the_first_sort_key() -> None:
    """A page deep in a long list must not scan the index from its top: every condition of
    `after_ranges` bounds the first sort key, so SQLite searches the index instead."""
    engine = create_engine("sqlite://")
    indexed = MetaData()
    table = Table("t", indexed, Column("row_id", Integer, primary_key=True), Column("a", Integer), Column("b", String))
    indexed.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_a_asc ON t (a, row_id)")
        conn.exec_driver_sql("CREATE INDEX ix_a_desc ON t (a DESC, row_id)")
        conn.execute(insert(table), [{"row_id": i, "a": i % 97 or None, "b": "x"} for i in range(1, 2001)])
        for descending in (False, True):
            query = ListQuery(None, (), (SortKey(FIELDS["a"], descending),))  # type: ignore[arg-type]
            for condition in after_ranges(table, query, table.c.row_id, [50, 1000]):
                statement = select(table).where(condition).order_by(*order_columns(table, query, table.c.row_id))
                sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
                plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
                assert "SEARCH t USING INDEX" in plan, (descending, plan)
