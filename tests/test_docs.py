"""Docs are part of the product: every error code, setting and mask rule is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ErrorCode
from gateway.settings import SETTINGS
from masking import rule_names

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_is_documented(code: ErrorCode) -> None:
    assert f"`{code.value}`" in (DOCS / "errors.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("variable", list(SETTINGS))
def test_every_setting_is_documented(variable: str) -> None:
    assert f"`{variable}`" in (DOCS / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", rule_names())
def test_every_mask_rule_is_documented(rule: str) -> None:
    assert f"`{rule}`" in (DOCS / "masking.md").read_text(encoding="utf-8")


def test_regulations_map_exists_and_cites_tests() -> None:
    text = (DOCS / "regulations.md").read_text(encoding="utf-8")
    assert "第十九条" in text and "tests/" in text
