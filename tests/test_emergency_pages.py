"""The emergency entry points and the checks after a rollback (issue 20, items 12 and 23).

Item 12: the home page's emergency box and incident response's "When to Roll Back" ask, before
the first undo, whether the release changed the schema, as the rollback page does: the down
migrations are only in the bad release's image. Item 23: "verify the error rate is decreasing"
comes with the query: the service's recorded error ratio when it has alerts, a placeholder and
the dashboard when it has none. Each check is a function, run on the rendered pages and on
today's text (a doctored copy) as its negative control."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, runbook, section

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
    sections = emergency_sections(render_combo("deployment-prisma-none"))
    today = {
        name: text.replace(SCHEMA_QUESTION, "").replace(SCHEMA_LINK, "")
        for name, text in sections.items()
    }
    assert schema_first_problems(today) == [
        "index.md: no schema question before the undo",
        "incident-response.md: no schema question before the undo",
    ]


# ---- item 23: the error rate, with its query ----

QUERY_API = "/api/v1/query"
RECORD = re.compile(r"query=(service:request_errors:ratio_rate5m)\{([^}]*)\}")


def step_code(page: str, start: str, end: str) -> str:
    """The shell code of a page between two headings."""
    text = page.split(start, 1)[1].split(end, 1)[0]
    return "\n".join(fenced_blocks(text, "bash"))


def error_query_problems(code: str, recorded: set[str]) -> list[str]:
    """The step queries Prometheus for the error ratio: the service's recorded one when the
    render records it (the name in its rules file, with the service's labels), else the
    reader's expression."""
    if QUERY_API not in code:
        return ["no error-rate query"]
    found = RECORD.search(code)
    if recorded:
        if not found or found[1] not in recorded:
            return ["the query does not read the recorded error ratio"]
        if found[2] != 'service="payments-api",namespace="production"':
            return [f"the query reads other labels: {found[2]}"]
    elif found or "${ERROR_RATIO_QUERY:?}" not in code:
        return ["without alerts, the query must be the reader's expression"]
    return []


def recorded_rules(service: Path) -> set[str]:
    rules = service / "monitoring" / "alerts.yaml"
    if not rules.exists():
        return set()
    return set(re.findall(r"^\s*- record: (\S+)$", rules.read_text(encoding="utf-8"), re.M))


def error_steps(service: Path) -> dict[str, str]:
    return {
        "rollback.md": step_code(
            runbook(service, "rollback.md"), "### Step 5: Verify", "### Step 6"
        ),
        "verification.md": step_code(
            runbook(service, "verification.md"), "### 6. The Error Rate", "\n## "
        ),
    }


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_the_error_rate_step_queries_the_recorded_ratio(render_combo, combo: str) -> None:
    service = render_combo(combo)
    recorded = recorded_rules(service)
    assert "service:request_errors:ratio_rate5m" in recorded
    for name, code in error_steps(service).items():
        assert error_query_problems(code, recorded) == [], name


def test_without_alerts_the_reader_gives_the_expression(render) -> None:
    """Negative control: a service without alerts records nothing; its query is the reader's."""
    service = render({**COMBINATIONS_BY_ID["deployment-prisma-none"], "alerting": False})
    recorded = recorded_rules(service)
    assert recorded == set()
    for name, code in error_steps(service).items():
        assert "service:request_errors" not in code, name
        assert error_query_problems(code, recorded) == [], name


def test_a_step_without_the_query_is_caught(render_combo) -> None:
    """Negative control: today's Step 5, a comment with no query."""
    service = render_combo("deployment-prisma-none")
    code = error_steps(service)["rollback.md"]
    today = "\n".join(line for line in code.splitlines() if QUERY_API not in line)
    assert error_query_problems(today, recorded_rules(service)) == ["no error-rate query"]
    wrong = code.replace("ratio_rate5m", "ratio_rate7m")
    problems = error_query_problems(wrong, recorded_rules(service))
    assert problems == ["the query does not read the recorded error ratio"]
