"""The README's variable reference is generated from the rules; a stale copy fails here."""

from __future__ import annotations

from service_runbooks.reference import README, variables_table, with_table
from service_runbooks.rules import RULES


def test_readme_variable_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, "run: python -m service_runbooks.reference"


def test_table_lists_every_variable_with_its_rule() -> None:
    table = variables_table()
    for rule in RULES:
        assert f"| `{rule.field}` |" in table
        assert (rule.example in table) or all(c in table for c in rule.choices)
