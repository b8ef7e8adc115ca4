"""Steps that are safe to reach twice (issue 20, items 4 and 5): an undo run a second time goes
back to the bad version, and an Argo CD sync policy recorded a second time (after the pause) is
the paused one. So the scripts never advise running the undo again, the pages send a reader who
ran the emergency box past the undo, and the policy record keeps the first file.

Each check is a function run on the rendered service (it must pass) and on a doctored copy that
holds today's text (it must fail: the negative control)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, runbook
from script_stubs import Stubs

CONTEXT = "kind-dev"
ROLLOUT = {"workload": "argo-rollout", "migration_tool": "none", "gitops": "none"}
# The promote the engine table gives (engines.jinja `promote_full`), as the script pins it.
PROMOTE = f"kubectl argo rollouts promote payments-api -n production --context {CONTEXT} --full"
# What rollback.sh printed before the fix: run the script again, which undoes again.
OLD_ADVICE = (
    '    info "An undo runs every canary step and analysis again; if it stopped at a pause step,"\n'
    '    info "run again with --promote-full to skip them (when the team accepts that)."\n'
)


def rerun_advice_problems(output: str) -> list[str]:
    """What is wrong with the advice after a timed-out wait: it must name the promote alone,
    never the script's --promote-full (a second run undoes again, to the bad revision)."""
    problems = []
    if PROMOTE not in output:
        problems.append("the promote command is not given")
    if "--promote-full" in output:
        problems.append("advises the script's --promote-full, which runs the undo again")
    return problems


def timed_out_rollback(script: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    stubs = Stubs(tmp_path / "stubs", CONTEXT)
    return stubs.run(script, "--yes", STUB_STATUS_RC="1")


def test_a_timed_out_wait_advises_the_promote_alone(render, tmp_path: Path) -> None:
    done = timed_out_rollback(render(ROLLOUT) / "scripts" / "rollback.sh", tmp_path)
    assert done.returncode == 4, done.stderr
    assert rerun_advice_problems(done.stderr) == []
    assert "Do not run this script again" in done.stderr


def test_the_old_advice_is_caught(render, tmp_path: Path) -> None:
    """Negative control: the script with today's advice fails the same check."""
    service = render(ROLLOUT)
    script = (service / "scripts" / "rollback.sh").read_text(encoding="utf-8")
    block = re.compile(r"    if \[\[ \$PROMOTE_FULL -eq 0 \]\]; then\n.*?\n    fi\n", re.DOTALL)
    doctored, count = block.subn(lambda _: OLD_ADVICE, script)
    assert count == 1
    copy = tmp_path / "service"
    subprocess.run(["cp", "-r", str(service), str(copy)], check=True)
    (copy / "scripts" / "rollback.sh").write_text(doctored, encoding="utf-8")
    done = timed_out_rollback(copy / "scripts" / "rollback.sh", tmp_path)
    assert done.returncode == 4
    assert "the promote command is not given" in rerun_advice_problems(done.stderr)


def test_a_healthy_rollback_gives_no_promote_advice(render, tmp_path: Path) -> None:
    stubs = Stubs(tmp_path / "stubs", CONTEXT)
    done = stubs.run(render(ROLLOUT) / "scripts" / "rollback.sh", "--yes")
    assert done.returncode == 0, done.stderr
    assert "promote" not in done.stderr


def test_after_promote_full_the_timeout_gives_no_promote_advice(render, tmp_path: Path) -> None:
    stubs = Stubs(tmp_path / "stubs", CONTEXT)
    script = render(ROLLOUT) / "scripts" / "rollback.sh"
    done = stubs.run(script, "--promote-full", "--yes", STUB_STATUS_RC="1")
    assert done.returncode == 4
    assert "promote it" not in done.stderr


# ---- item 5: the Argo CD sync policy is recorded once ----

ARGOCD = {"workload": "deployment", "migration_tool": "none", "gitops": "argocd"}
POLICY_FILE = "payments-api.sync-policy.json"
# Before the fix: the record overwrote the file every time.
OLD_RECORD = (
    "argocd app get payments-api -o json | jq '{spec: {syncPolicy: .spec.syncPolicy}}'"
    f" > {POLICY_FILE}"
)


def record_twice(record: str, folder: Path, stubs: Stubs) -> tuple[dict, str]:
    """Run a record command as a reader would: first while automated sync is on, then again
    after the pause (the stub's application then has no automated policy). Returns the file's
    policy and what the second run printed."""
    folder.mkdir()
    for paused in ("0", "1"):
        done = subprocess.run(
            ["bash", "-c", record],
            cwd=folder,
            env={**stubs.env, "STUB_GITOPS_PAUSED": paused},
            capture_output=True,
            text=True,
            check=False,
        )
    policy = json.loads((folder / POLICY_FILE).read_text(encoding="utf-8"))
    return policy, done.stdout + done.stderr


def record_problems(record: str, folder: Path, stubs: Stubs) -> list[str]:
    policy, said = record_twice(record, folder, stubs)
    problems = []
    if not policy["spec"]["syncPolicy"].get("automated"):
        problems.append("the second record overwrote the automated policy")
    if "kept" not in said:
        problems.append("the second record does not say it kept the file")
    return problems


def record_lines(markdown: str) -> list[str]:
    return [
        line
        for block in fenced_blocks(markdown, "bash")
        for line in block.splitlines()
        if f"> {POLICY_FILE}" in line
    ]


def script_record(service: Path, stubs: Stubs) -> str:
    """The record command rollback.sh tells the reader to run."""
    done = stubs.run(service / "scripts" / "rollback.sh", "--dry-run")
    found = re.search(r"Record its sync policy(?: \([^)]*\))?:\s+(.+)", done.stderr)
    assert found, done.stderr
    return found[1]


def test_the_script_advises_a_record_that_keeps_the_first_policy(render, tmp_path: Path) -> None:
    stubs = Stubs(tmp_path / "stubs", CONTEXT)
    record = script_record(render(ARGOCD), stubs)
    assert record_problems(record, tmp_path / "run", stubs) == []


def test_an_overwriting_record_is_caught(tmp_path: Path) -> None:
    """Negative control: today's record, run twice, saves the paused policy."""
    stubs = Stubs(tmp_path / "stubs", CONTEXT)
    problems = record_problems(OLD_RECORD, tmp_path / "run", stubs)
    assert "the second record overwrote the automated policy" in problems


ARGOCD_COMBOS = [c for c, a in COMBINATIONS_BY_ID.items() if a["gitops"] == "argocd"]


@pytest.mark.parametrize("combo", ARGOCD_COMBOS)
def test_every_page_record_keeps_the_first_policy(render_combo, combo: str, tmp_path) -> None:
    service = render_combo(combo)
    stubs = Stubs(tmp_path / "stubs", CONTEXT)
    pages = {
        "index.md": (service / "docs" / "index.md").read_text(encoding="utf-8"),
        **{name: runbook(service, name) for name in ("rollback.md", "incident-response.md")},
        "scaling.md": runbook(service, "scaling.md"),
    }
    records = [(name, line) for name, text in pages.items() for line in record_lines(text)]
    assert {name for name, _ in records} == set(pages)
    for index, (name, line) in enumerate(records):
        assert record_problems(line, tmp_path / f"run{index}", stubs) == [], name


# ---- item 5: after the emergency box, the reader skips the undo ----

STEP_4 = "rollback.md#step-4-monitor-rollback"


def second_undo_problems(index: str, incident: str, rollback: str) -> list[str]:
    """The emergency box (home page, incident response) must send the reader past Step 3's undo,
    and Step 3 must say to skip it when the box ran."""
    problems = []
    for name, text in (("index.md", index), ("incident-response.md", incident)):
        if STEP_4 not in text or "from Step 1" in text:
            problems.append(f"{name}: the box leads back to Step 3's undo")
    step3 = rollback.split("### Step 3: Execute Rollback", 1)[1].split("```bash", 1)[0]
    if "Skip this step if you ran the emergency rollback" not in step3:
        problems.append("rollback.md: Step 3 does not say to skip the undo already run")
    return problems


def entry_pages(service: Path) -> tuple[str, str, str]:
    return (
        (service / "docs" / "index.md").read_text(encoding="utf-8"),
        runbook(service, "incident-response.md"),
        runbook(service, "rollback.md"),
    )


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_the_emergency_box_leads_past_the_undo(render_combo, combo: str) -> None:
    assert second_undo_problems(*entry_pages(render_combo(combo))) == []


def test_the_old_from_step_1_is_caught(render_combo) -> None:
    """Negative control: today's sentences and a Step 3 without the skip note."""
    index, incident, rollback = entry_pages(render_combo("deployment-liquibase-argocd"))
    old_index = re.sub(
        r"Then go on with .*?\(skip it: a second undo goes back to the bad version\)\. ",
        "Then follow [Rollback](runbooks/rollback.md) from Step 1, ",
        index,
        flags=re.DOTALL,
    )
    old_rollback = rollback.replace("Skip this step if you ran the emergency rollback", "Note")
    assert old_index != index and old_rollback != rollback
    problems = second_undo_problems(old_index, incident, old_rollback)
    assert "index.md: the box leads back to Step 3's undo" in problems
    assert "rollback.md: Step 3 does not say to skip the undo already run" in problems
