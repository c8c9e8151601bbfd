"""Helpers shared by the tests: a client of the running gateway and error readers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from gateway.runtime import make_engine
from gateway.settings import Settings


class Gateway:
    """A client of the running app, with the demo's principals at hand."""

    def __init__(self, client: httpx.AsyncClient, credentials: dict[str, Any], state: dict[str, Any]) -> None:
        self.client = client
        self.credentials = credentials
        self.state = state  # the lifespan state: the runtime the requests see

    def application(self, app_id: str) -> dict[str, Any]:
        """A consuming application, or an administrative one (its `operators`: its one operator)."""
        for application in self.credentials["applications"]:
            if application["id"] == app_id:
                return dict(application)
        admin = next(a for a in self.credentials["admins"] if a["application"] == app_id)
        return {**admin, "id": app_id, "operators": [admin["operator"]]}

    def headers(self, app_id: str | None, purpose: str | None = None, operator: str | None = "default") -> dict[str, str]:
        headers: dict[str, str] = {}
        if app_id is not None:
            application = self.application(app_id)
            headers["Authorization"] = f"Bearer {application['token']}"
            if operator == "default":
                operator = application["operators"][0]
        if operator and operator != "default":
            headers["X-Operator"] = operator
        if purpose:
            headers["X-Purpose"] = purpose
        return headers

    async def query(self, query: str, app_id: str | None = "mz-assistance", purpose: str | None = "SOCIAL_ASSISTANCE_REVIEW",
                    variables: dict[str, Any] | None = None, operator: str | None = "default",
                    expect_status: int | None = None) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                          headers=self.headers(app_id, purpose, operator))
        if expect_status is not None:
            assert response.status_code == expect_status, response.text
        body: dict[str, Any] = response.json()
        return body

    @property
    def runtime(self) -> Any:
        return self.state["runtime"]

    @property
    def sample_id(self) -> str:
        return str(self.credentials["samples"]["idNumbers"][0])

    @property
    def sample_code(self) -> str:
        return str(self.credentials["samples"]["creditCodes"][0])


def codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


def errors_at(body: dict[str, Any], *path: object) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", []) if tuple(e.get("path") or ()) == path]


async def fetch(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of one SQL query on a store given by its URL, SQLite or PostgreSQL alike."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(statement), params)]
    finally:
        await engine.dispose()


async def change(url: str, statement: str, **params: Any) -> int:
    """Run one SQL statement that changes a store given by its URL, committed: the rows it changed."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            return (await conn.execute(text(statement), params)).rowcount
    finally:
        await engine.dispose()


# The command line, as a user runs it: `python -m gateway ... --data-dir DIR`.


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120)


def cli_succeeded(data_dir: Path, *args: str) -> str:
    result = cli(data_dir, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def cli_refused(data_dir: Path, *args: str) -> str:
    result = cli(data_dir, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("refused: ") or result.stderr.startswith("no "), result.stderr
    return result.stderr


def remove_library(data_dir: Path, code: str) -> None:
    """Take one library of a data directory away, whatever its store: its SQLite files deleted,
    or its PostgreSQL database dropped (GATEWAY_TEST_STORE=postgres)."""
    from sqlalchemy.engine import make_url

    from tests import postgres

    url = make_url(Settings.from_env({}, data_dir=data_dir).library_urls[code])
    if url.get_backend_name() == "sqlite":
        for path in Path(str(url.database)).parent.glob(f"{Path(str(url.database)).name}*"):
            path.unlink()
    else:
        postgres.Stores.drop([str(url.database)])


def unreachable_url(url: str, directory: Path) -> str:
    """A store URL of the same kind as `url` that cannot be opened: a SQLite file in a directory
    that does not exist, or the same PostgreSQL server's address at a port nothing listens on."""
    import socket

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"{parsed.drivername}:///{directory / 'no' / 'such' / 'dir.sqlite'}"
    with socket.socket() as bound:  # a port free a moment ago: nothing listens there
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
    return parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
