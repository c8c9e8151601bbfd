"""The project's top-level packages are generic names (docs/architecture.md): each must resolve
to this project, never to another distribution installed in the same environment."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["gateway", "schema", "resolvers", "policies", "masking", "store", "audit", "libraries", "demo"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_to_this_project(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == ROOT / name


def test_casbin_is_imported_only_by_policies() -> None:
    offenders = [
        str(path.relative_to(ROOT)) for path in ROOT.glob("*/**/*.py")
        if path.parts[len(ROOT.parts)] not in {"policies", "tests", ".venv", "venv"}
        and any(line.lstrip().startswith(("import casbin", "from casbin")) for line in path.read_text().splitlines())
    ]
    assert offenders == []
