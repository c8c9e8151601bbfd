"""Fixtures that build a real, small demo (SQLite files in a temporary directory) once per
session, and an HTTP client that talks to the real ASGI application."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from demo.build import build_demo
from gateway.app import create_app
from gateway.settings import Settings
from tests.support import Gateway

PERSONS = 300


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    asyncio.run(build_demo(Settings.from_env({}, data_dir=directory), persons=PERSONS, seed=7))
    return directory


@pytest.fixture
def data_dir(built_demo: Path, tmp_path: Path) -> Path:
    """A private copy of the built demo, so a test may change grants or break a store."""
    target = tmp_path / "data"
    shutil.copytree(built_demo, target)
    return target


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings.from_env({"GATEWAY_POLICY_REFRESH_SECONDS": "0"}, data_dir=data_dir)


@pytest.fixture
def credentials(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "demo-credentials.json").read_text(encoding="utf-8"))


@pytest.fixture
async def gateway(settings: Settings, credentials: dict[str, Any]) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, credentials, manager._state)
