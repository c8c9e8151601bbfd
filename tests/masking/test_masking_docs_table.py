"""docs/masking.md lists every rule exactly as the registry defines it."""

from __future__ import annotations

from pathlib import Path

from masking import RULES
from masking.docs import rule_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "masking.md"


def test_docs_hold_the_generated_rule_table() -> None:
    """If this fails, paste the output of `python -m masking.docs` over the table in docs/masking.md."""
    assert rule_table() in DOC.read_text(encoding="utf-8")


def test_table_names_every_rule_and_parameter() -> None:
    table = rule_table()
    for name, strategy in RULES.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}`"))
        for param in strategy.params:
            assert f"`{param.name}` = " in row
        assert ("(keyed)" in row) is strategy.keyed
