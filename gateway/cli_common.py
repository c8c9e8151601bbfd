"""What every `gateway` command shares: the data directory option and the settings it implies."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from gateway.settings import Settings

T = TypeVar("T")

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


def run_administrative(step: Coroutine[Any, Any, T]) -> T:
    """Run one audited administrative step (gateway/admin.py); a refusal, or an audit store that
    cannot record the step, exits 1 with the reason (nothing was changed or shown)."""
    from audit import AuditUnavailable
    from gateway.admin import WorkflowRefused

    try:
        return asyncio.run(step)
    except WorkflowRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        raise typer.Exit(code=1) from None
    except AuditUnavailable:
        print("failed: the audit record could not be written, so nothing was changed or shown", file=sys.stderr)
        raise typer.Exit(code=1) from None
