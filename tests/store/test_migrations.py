"""The migrations build exactly the tables store/tables.py declares: no drift between the two."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.migrate import upgrade
from store.tables import metadata


def test_the_migrated_store_matches_the_declared_tables(tmp_path: Path) -> None:
    path = tmp_path / "platform.sqlite"
    upgrade(f"sqlite+aiosqlite:///{path}")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
