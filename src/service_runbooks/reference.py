"""The variable reference and the validation rules (README and project site), generated from
cookiecutter.json and the rules.

Run ``python -m service_runbooks.reference`` to rewrite the table in README.md; a test fails when
the README's copy is stale.
"""

from __future__ import annotations

import json
import re
import sys

from service_runbooks.rules import (
    RULES,
    TEMPLATE_ROOT,
    TODAY,
    Rule,
    default_answer,
    prompt,
)

START, END = "<!-- variables:start -->", "<!-- variables:end -->"
README = TEMPLATE_ROOT / "README.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def variables_table() -> str:
    """A Markdown table: variable, question, default, and the rule its answer must follow."""
    rows = ["| Variable | Question | Default | Rule |", "|---|---|---|---|"]
    for rule in RULES:
        shown = default_answer(rule.field)
        if isinstance(shown, bool):
            shown = json.dumps(shown)  # as written in cookiecutter.json: true / false
        default_cell = f"`{shown}`" if shown else "(empty)"
        if shown == TODAY:  # no date to show: say what it becomes, and where it does not
            default_cell = "today (UTC, cookiecutter's `now` tag); a fleet file must give it"
        if rule.boolean:
            rule_cell = f"{rule.summary}: `true` or `false`"
        elif rule.choices:
            rule_cell = "one of " + ", ".join(f"`{choice}`" for choice in rule.choices)
        else:
            rule_cell = rule.summary + ("" if rule.required else " (optional)")
            rule_cell += f". Example: `{rule.example}`"
        cells = [f"`{rule.field}`", prompt(rule.field), default_cell, rule_cell]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows)


def _rule_facts(rule: Rule) -> list[str]:
    """The checks one rule makes, one line each, in the order the hook makes them."""
    if rule.boolean:
        return ["`true` or `false` (a JSON boolean; the cookiecutter CLI also takes yes/no)"]
    facts = ["required" if rule.required else "optional: empty means none"]
    if rule.choices:
        facts.append("one of " + ", ".join(f"`{choice}`" for choice in rule.choices))
        return facts
    if rule.max_length is not None:
        facts.append(f"at most {rule.max_length} characters")
    facts.append("no Jinja delimiters (`{{`, `{%`, `{#`)")
    if rule.pattern is not None:
        facts.append(f"matches, as a whole, `{rule.pattern}`")
    facts.append(f"example: `{rule.example}`")
    return facts


def rules_reference() -> str:
    """Every rule in full, for the project site: its summary, then each check it makes."""
    sections = []
    for rule in RULES:
        lines = [f"### `{rule.field}`", "", rule.summary[0].upper() + rule.summary[1:] + ".", ""]
        lines += [f"- {fact}" for fact in _rule_facts(rule)]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def with_table(text: str) -> str:
    """``text`` with the part between the markers replaced by the current table."""
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), flags=re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"markers {START} ... {END} not found")
    return pattern.sub(lambda _: f"{START}\n{variables_table()}\n{END}", text)


def main() -> int:
    README.write_text(with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
