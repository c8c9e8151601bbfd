"""SQLAlchemy tables of a library, derived from its catalog resources.

Every resource's table has a surrogate `row_id` (the cursor of list pagination, so that a
cursor never carries a key or a value) and an index on its entity key column.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, Numeric, String, Table
from sqlalchemy.types import TypeEngine

from schema.catalog import Cardinality, Catalog, DataType, Resource

_SQL_TYPES: dict[DataType, type[TypeEngine[object]]] = {
    DataType.STRING: String,
    DataType.INTEGER: Integer,
    DataType.DECIMAL: Numeric,  # Numeric(18, 2) below
    DataType.DATE: Date,
    DataType.BOOLEAN: Boolean,
}

ROW_ID = "row_id"


def resource_table(resource: Resource, metadata: MetaData) -> Table:
    columns: dict[str, Column[object]] = {}
    columns[ROW_ID] = Column(ROW_ID, Integer, primary_key=True, autoincrement=True)
    columns[resource.key_column] = Column(resource.key_column, String(18), nullable=False)
    for f in resource.fields:
        if f.column in columns:
            continue
        sql_type = _SQL_TYPES[f.data_type]
        if sql_type is String:
            typed: TypeEngine[object] = String(f.length)
        elif sql_type is Numeric:
            typed = Numeric(18, 2)
        else:
            typed = sql_type()
        columns[f.column] = Column(f.column, typed)
    table = Table(resource.table, metadata, *columns.values())
    # ONE: a record per entity; MANY: many records per entity.
    unique = resource.cardinality is Cardinality.ONE
    Index(f"ix_{resource.table}_{resource.key_column}", table.c[resource.key_column], unique=unique)
    return table


def library_metadata(catalog: Catalog, library: str) -> tuple[MetaData, dict[str, Table]]:
    """The metadata of one library's database and its tables, by resource code."""
    metadata = MetaData()
    tables = {
        r.code: resource_table(r, metadata) for r in catalog.resources.values() if r.library == library
    }
    return metadata, tables
