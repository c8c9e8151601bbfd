"""A serving process freezes what start-up built and collects young objects less often; an app
embedded in another process leaves that process's collector alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.collector import THRESHOLDS
from gateway.settings import Settings


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def test_serving_freezes_the_started_heap(settings: Settings, restored_collector: None) -> None:
    gc.unfreeze()
    async with LifespanManager(create_app(settings, serving=True)) as manager:
        runtime = manager._state["runtime"]
        assert gc.get_freeze_count() > 10_000  # the catalog, schema, policy and mask tables
        assert gc.get_threshold() == THRESHOLDS
        assert all(tracked is not runtime for tracked in gc.get_objects())  # out of the collector's walk


async def test_an_embedded_app_leaves_the_collector_alone(settings: Settings, restored_collector: None) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    async with LifespanManager(create_app(settings)):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before
