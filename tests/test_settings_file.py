"""The data directory's settings file, gateway.env: beneath the environment, refused when it names no setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import Settings, SettingsError


def test_the_file_fills_in_what_the_environment_lacks(tmp_path: Path) -> None:
    (tmp_path / "gateway.env").write_text(
        "# the platform on a server\n\nGATEWAY_STORE_URL = postgresql+asyncpg://gw@db/platform\n"
        "GATEWAY_LIBRARY_CREDIT_URL='postgresql+asyncpg://gw@db/credit'\nGATEWAY_PORT=9000\n", encoding="utf-8")
    settings = Settings.from_env({"GATEWAY_PORT": "8100"}, data_dir=tmp_path)
    assert settings.store_url == "postgresql+asyncpg://gw@db/platform"
    assert settings.library_urls["credit"] == "postgresql+asyncpg://gw@db/credit"
    assert settings.library_urls["population"] == f"sqlite+aiosqlite:///{tmp_path.resolve()}/library_population.sqlite"
    assert settings.port == 8100  # the environment wins
    assert Settings.from_env({"GATEWAY_DATA_DIR": str(tmp_path)}).port == 9000  # read where GATEWAY_DATA_DIR points


@pytest.mark.parametrize("line, message", [
    ("GATEWAY_STORE_URLS=sqlite://", "line 2: GATEWAY_STORE_URLS is not a setting"),
    ("GATEWAY_DATA_DIR=/elsewhere", "line 2: GATEWAY_DATA_DIR is not a setting"),
    ("GATEWAY_PORT", "line 2: is not NAME=value"),
])
def test_a_line_that_names_no_setting_is_refused(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "gateway.env").write_text(f"GATEWAY_PORT=9000\n{line}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({}, data_dir=tmp_path)
