"""Small ones (issue 20, item 16): every example a script's --help gives runs; deploy.md asks for
the Liquibase tag once; an alert page's diagnosis does not run the same command twice. Each
check is a function, with a negative control on today's text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, runbook
from script_stubs import SCRIPT_COMBOS, Stubs, script_combo_id

CONTEXT = "kind-dev"
EXIT_USAGE = 2


def examples(help_text: str) -> list[list[str]]:
    """The argument lists of the example lines under 'Examples:' (up to the first blank line)."""
    block = help_text.split("\nExamples:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[1:] for line in block.splitlines() if line.strip()]


def failing_examples(service: Path, stubs: Stubs) -> list[str]:
    """Every example of every script, run against the stubs as a dry run (nothing changes):
    the ones that exit with a usage error."""
    failing = []
    for script in sorted((service / "scripts").glob("*.sh")):
        shown = stubs.run(script, "--help")
        assert shown.returncode == 0, shown.stderr
        for args in examples(shown.stdout):
            dry = args if "--dry-run" in args else [*args, "--dry-run"]
            done = stubs.run(script, *dry)
            if done.returncode == EXIT_USAGE:
                failing.append(f"{script.name} {' '.join(args)}: {done.stderr.strip()}")
    return failing


@pytest.mark.parametrize("answers", SCRIPT_COMBOS, ids=script_combo_id)
def test_every_help_example_runs(render, answers: dict[str, str], tmp_path: Path) -> None:
    stubs = Stubs(tmp_path / "stubs", answers.get("kube_context") or CONTEXT)
    assert failing_examples(render(answers), stubs) == []


def test_an_example_the_script_refuses_is_caught(render, tmp_path: Path) -> None:
    """Negative control: the Argo CD rollback.sh with today's --namespace example."""
    answers = {"workload": "helm", "migration_tool": "none", "gitops": "argocd"}
    copy = tmp_path / "service"
    shutil.copytree(render(answers), copy)
    script = copy / "scripts" / "rollback.sh"
    text = script.read_text(encoding="utf-8")
    doctored = text.replace(
        "Examples:\n", "Examples:\n  ${0##*/} --namespace $STAGING_NAMESPACE --yes\n", 1
    )
    script.write_text(doctored, encoding="utf-8")
    failing = failing_examples(copy, Stubs(tmp_path / "stubs", CONTEXT))
    assert len(failing) == 1
    assert failing[0].startswith("rollback.sh --namespace staging --yes: error: --namespace")


# ---- deploy.md: the Liquibase tag, once ----

LIQUIBASE = [c for c, a in COMBINATIONS_BY_ID.items() if a["migration_tool"] == "liquibase"]


def tag_steps(deploy: str) -> int:
    """How many checklist lines ask for the tag."""
    return sum("liquibase tag" in line for line in deploy.splitlines() if "- [ ]" in line)


@pytest.mark.parametrize("combo", LIQUIBASE)
def test_deploy_asks_for_the_liquibase_tag_once(render_combo, combo: str) -> None:
    assert tag_steps(runbook(render_combo(combo), "deploy.md")) == 1


def test_a_second_tag_step_is_caught(render_combo) -> None:
    """Negative control: today's second checklist line."""
    deploy = runbook(render_combo(LIQUIBASE[0]), "deploy.md")
    today = deploy.replace(
        "\n- [ ] You know the current version",
        "\n- [ ] The database is tagged before the migration runs (`liquibase tag --tag=RELEASE`)"
        ", so `liquibase rollback --tag=RELEASE` can undo everything the release changed."
        "\n- [ ] You know the current version",
        1,
    )
    assert tag_steps(today) == 2


# ---- alert pages: no command twice in one diagnosis ----


def repeated_diagnosis_blocks(page: str) -> list[str]:
    """Code blocks of the page's Diagnosis section that an earlier one there already holds."""
    diagnosis = page.split("\n## Diagnosis\n", 1)[1].split("\n## ", 1)[0]
    seen: set[str] = set()
    repeated = []
    for block in fenced_blocks(diagnosis, "bash"):
        if block in seen:
            repeated.append(block.strip())
        seen.add(block)
    return repeated


def alert_pages(service: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8") for p in (service / "docs" / "alerts").glob("*.md")
    }


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_no_alert_diagnosis_runs_a_command_twice(render_combo, combo: str) -> None:
    for name, page in alert_pages(render_combo(combo)).items():
        assert repeated_diagnosis_blocks(page) == [], name


def test_a_repeated_diagnosis_command_is_caught(render_combo) -> None:
    """Negative control: the Rollouts page with today's second `get rollout` step."""
    page = alert_pages(render_combo("argo-rollout-liquibase-none"))["rolloutstuck.md"]
    diagnosis = page.split("\n## Diagnosis\n", 1)[1].split("\n## ", 1)[0]
    blocks = fenced_blocks(diagnosis, "bash")
    status = next(b for b in blocks if b.startswith("kubectl argo rollouts get rollout"))
    today = page.replace("\n## Diagnosis\n", f"\n## Diagnosis\n\n```bash\n{status}```\n", 1)
    assert repeated_diagnosis_blocks(today) == [status.strip()]
