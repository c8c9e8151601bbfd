"""Workers starting together on a new PostgreSQL audit database create its tables once, without
failing on each other (audit/schema_lock.py)."""

from __future__ import annotations

import asyncio

import pytest

from audit import AuditStore
from audit.checkpoints import CheckpointStore
from gateway.runtime import make_engine
from tests.postgres import temporary_databases

pytestmark = pytest.mark.postgres


def test_four_workers_create_the_audit_and_checkpoint_tables_at_once() -> None:
    with temporary_databases("race", ["audit", "checkpoints"]) as urls:

        async def start_four() -> set[str]:
            audits = [AuditStore(make_engine(urls["audit"])) for _ in range(4)]
            checkpoints = [CheckpointStore(make_engine(urls["checkpoints"])) for _ in range(4)]
            try:
                await asyncio.gather(*(s.create() for s in audits), *(c.create() for c in checkpoints))
                return {s.chain for s in audits}
            finally:
                for store in audits:
                    await store.engine.dispose()
                for checkpoint in checkpoints:
                    await checkpoint.close()

        assert len(asyncio.run(start_four())) == 1  # one chain, whoever created it
