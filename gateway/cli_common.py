"""What every `gateway` command shares: the data directory option and the settings it implies."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from gateway.settings import Settings

DataDir = Annotated[
    Optional[Path], typer.Option("--data-dir", help="Data directory (default: $GATEWAY_DATA_DIR or ./gateway-data).")
]


def _settings(data_dir: Path | None, host: str | None = None, port: int | None = None) -> Settings:
    from gateway.settings import SettingsError

    try:
        settings = Settings.from_env(data_dir=data_dir)
    except SettingsError as exc:  # refused at start-up, saying which setting and why
        print(f"gateway: {exc}", file=sys.stderr)
        raise typer.Exit(code=2) from None
    if host is not None or port is not None:
        from dataclasses import replace

        settings = replace(settings, host=host or settings.host, port=port or settings.port)
    return settings
