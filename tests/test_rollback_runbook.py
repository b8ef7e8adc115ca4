"""docs/runbooks/rollback.md over the option matrix: every seed section in order, the exact
commands for the service's tooling, and nothing for tools it does not use."""

from __future__ import annotations

import re
import subprocess

import pytest
from matrix import COMBINATIONS_BY_ID, ROOT
from oracle import Service
from runbook_expectations import GARBLED, MIGRATION_COMMANDS, MIGRATION_LIMITS, TOOL_WORDS
from runbook_pages import FENCE, LEFTOVER_TEMPLATE, fenced_blocks, runbook


def headings(markdown: str) -> list[str]:
    """Heading lines with their level, outside code blocks (a '# comment' is not a heading)."""
    return re.findall(r"^#{1,3} .+$", FENCE.sub("", markdown), flags=re.MULTILINE)


SEED = (ROOT / "tests" / "fixtures" / "seed-rollback.md").read_text(encoding="utf-8")
SEED_HEADINGS = headings(SEED)
SEED_CHECKLIST = re.findall(r"^- \[ \] .+$", SEED, flags=re.MULTILINE)


def expected_commands(answers: dict[str, str]) -> list[str]:
    """What a correct rollback page must show: the oracle's operations for this service."""
    return Service(answers).rollback_page()


# Single steps that undo one migration, not a release (issue 10, item 13): never on a page.
ONE_STEP = ["downgrade -1", "STEP=1", "down 1", "--count=1", "db:rollback"]


def rollback_page(render_combo, combo: str) -> str:
    return runbook(render_combo(combo), "rollback.md")


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_every_seed_section_survives_in_order(render_combo, combo: str) -> None:
    page = rollback_page(render_combo, combo)
    # Issue 25: the quick rollback comes right under the title, the seed's other sections in
    # their order after it.
    quick = "## Quick Rollback (Emergency)"
    title, *rest = SEED_HEADINGS
    expected = [title, quick, *(h for h in rest if h != quick)]
    if COMBINATIONS_BY_ID[combo]["migration_tool"] == "none":
        expected.remove("## Database Rollback")
    assert [h for h in headings(page) if h in SEED_HEADINGS] == expected
    for item in SEED_CHECKLIST:
        assert item in page
    assert "Initiating Rollback" in page and "Rollback Complete" in page


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_commands_match_the_tooling(render_combo, combo: str) -> None:
    answers = COMBINATIONS_BY_ID[combo]
    page = rollback_page(render_combo, combo)
    for command in expected_commands(answers):
        assert command in page, f"missing: {command}"
    for line in page.splitlines():
        if "rollout status" in line and "kubectl" in line:
            assert "--timeout" in line, f"an unbounded wait: {line}"
    assert "rollouts history" not in page, "Argo Rollouts has no history command"


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_no_tool_the_service_does_not_use(render_combo, combo: str) -> None:
    answers = COMBINATIONS_BY_ID[combo]
    page = rollback_page(render_combo, combo)
    used = {answers["workload"], answers["gitops"]}
    for tool, word in TOOL_WORDS.items():
        if tool not in used:
            assert not word.search(page), f"{tool} mentioned for {combo}"
    tool = answers["migration_tool"]
    for other, commands in MIGRATION_COMMANDS.items():
        if other != tool:
            for command in commands:
                assert command not in page, f"{other} command on a {tool} page"
    if tool == "none":
        assert "migration" not in page.lower()


WITH_DATABASE = [
    c for c, answers in COMBINATIONS_BY_ID.items() if answers["migration_tool"] != "none"
]


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_database_section_uses_the_migration_tool(render_combo, combo: str) -> None:
    tool = COMBINATIONS_BY_ID[combo]["migration_tool"]
    page = rollback_page(render_combo, combo)
    database = page.split("## Database Rollback", 1)[1].split("\n## ", 1)[0]
    for command in MIGRATION_COMMANDS[tool]:
        assert command in database
    assert "data loss" in database
    if tool in MIGRATION_LIMITS:
        assert MIGRATION_LIMITS[tool] in database
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", database, flags=re.DOTALL))
    for step in ONE_STEP:
        assert step not in commands, f"one step is not a release: {step}"


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_database_rollback_comes_before_the_application_rollback(render_combo, combo: str) -> None:
    """The down code is only in the bad release's image: the schema goes first, from its pod."""
    page = rollback_page(render_combo, combo)
    database = page.split("## Database Rollback", 1)[1].split("\n## ", 1)[0]
    assert "**before** the application rollback" in database
    assert "Roll back the application first" not in page
    assert "database.md#when-the-bad-releases-pods-are-gone" in database
    assert ".items[0]" not in database, "any pod is not the bad release's pod"
    if COMBINATIONS_BY_ID[combo]["migration_tool"] != "prisma":
        assert "--field-selector=status.phase=Running" in database
        assert database.index("# Roll back") < database.index("Then roll the application back")


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_page_is_clean_and_its_shell_blocks_parse(render_combo, combo: str) -> None:
    page = rollback_page(render_combo, combo)
    assert not LEFTOVER_TEMPLATE.search(page)
    assert not GARBLED.search(page)
    assert "🔴" in page and "🟢" in page
    blocks = fenced_blocks(page, "bash")
    assert blocks
    for block in blocks:
        result = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
        assert result.returncode == 0, f"{result.stderr}\n{block}"


def test_the_garbled_pattern_finds_the_seeds_broken_emoji() -> None:
    assert len(GARBLED.findall(SEED)) >= 3


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_the_schema_is_undone_before_the_application(render_combo, combo: str) -> None:
    """The down migration lives only in the bad release's image: the page says to undo the
    schema before the quick rollback and before Step 3, not after the application rollback."""
    page = rollback_page(render_combo, combo)
    quick = page.split("## Quick Rollback (Emergency)", 1)[1].split("```bash", 1)[0]
    assert "undo them\n    **first**, from a pod of the bad release" in quick
    step3 = page.split("### Step 3: Execute Rollback", 1)[1].split("```bash", 1)[0]
    assert "[Database Rollback](#database-rollback)" in step3 and "before this step" in step3
