"""The emergency box pasted as it is (issue 25): for each engine and GitOps mode of the matrix,
the home page's box (the same block as the rollback page's quick rollback) is taken as a reader
copies it, the code block's text, checked by ``bash -n`` and run under ``set -eu`` against the
recording stubs (``tests/script_stubs.py``) with only the variables the block's first lines ask
the reader to set (``# NAME=...: what to put there``): nothing else may be unset, and every tool
it calls must answer. The box's later block (a StatefulSet's stuck pods, picked from what its
lookups print) runs the same way with the variables it names. Negative controls: a block using a
variable no first line asks for fails, and so does a variable asked for only further down.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from matrix import COMBINATIONS
from oracle import Service
from script_stubs import Stubs

# A reader's variable, asked for in a comment: "# NAME=...: what to put there and where to find it".
ASKED = re.compile(r"^# ([A-Z][A-Z0-9_]*)=\.\.\.", re.MULTILINE)
FENCED_BASH = re.compile(r"(?ms)^( *)```bash\n(.*?)^\1```")


def one_per_engine_and_gitops() -> dict[str, dict[str, str]]:
    """The first matrix combination of each (engine, GitOps mode) pair."""
    chosen: dict[str, dict[str, str]] = {}
    for answers in COMBINATIONS:
        key = f"{Service(answers).engine}-{answers['gitops']}"
        chosen.setdefault(key, answers)
    return chosen


CASES = one_per_engine_and_gitops()


def box_blocks(index: str) -> list[str]:
    """The bash blocks of the home page's emergency box, as a reader copies them (dedented)."""
    box = index.split('!!! danger "In an emergency"', 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(code) for _, code in FENCED_BASH.findall(box)]


def first_box_block(service: Path) -> str:
    """The first bash block of a rendered service's emergency box."""
    return box_blocks((service / "docs" / "index.md").read_text(encoding="utf-8"))[0]


def quick_rollback_blocks(rollback: str) -> list[str]:
    section = rollback.split("## Quick Rollback (Emergency)", 1)[1].split("\n## ", 1)[0]
    return [code for indent, code in FENCED_BASH.findall(section) if not indent]


def asked_first(block: str) -> list[str]:
    """The variables the block's leading comment lines ask for, before its first command."""
    leading = []
    for line in block.splitlines():
        if line.strip() and not line.startswith("#"):
            break
        leading.append(line)
    return ASKED.findall("\n".join(leading))


def paste_problems(block: str, asked: list[str], stubs: Stubs, folder: Path) -> list[str]:
    """What goes wrong when the block runs with only the asked variables set."""
    syntax = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
    if syntax.returncode != 0:
        return [f"bash -n: {syntax.stderr.strip()}"]
    reader = {name: f"reader-{name.lower()}" for name in asked}
    run = subprocess.run(
        ["bash", "-c", f"set -eu -o pipefail\n{block}"],
        env={**stubs.env, **reader},
        cwd=folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if run.returncode != 0:
        return [f"exit {run.returncode}: {run.stderr.strip()}"]
    return []


def stubs_for(answers: dict[str, str], folder: Path) -> Stubs:
    return Stubs(folder, answers.get("kube_context", ""))


@pytest.mark.parametrize("case", list(CASES))
def test_the_emergency_box_pastes_as_it_is(render, case: str, tmp_path: Path) -> None:
    answers = CASES[case]
    service = render(answers)
    index = (service / "docs" / "index.md").read_text(encoding="utf-8")
    rollback = (service / "docs" / "runbooks" / "rollback.md").read_text(encoding="utf-8")
    blocks = box_blocks(index)
    assert blocks and blocks == quick_rollback_blocks(rollback)  # one box, on both pages
    first, *later = blocks
    stubs = stubs_for(answers, tmp_path)
    assert ASKED.findall(first) == asked_first(first), "a variable asked for below the top"
    assert paste_problems(first, asked_first(first), stubs, tmp_path) == []
    assert stubs.calls(), "the box ran no command"
    for block in later:
        assert paste_problems(block, ASKED.findall(block), stubs, tmp_path) == []


def test_a_box_with_a_variable_not_asked_for_fails(render, tmp_path: Path) -> None:
    """Negative controls: a variable nobody asks for, and one asked for below the top (the
    Helm box before issue 25, whose reader set WORKLOAD halfway down)."""
    answers = CASES["kubectl-rollout-none"]
    block = first_box_block(render(answers))
    stubs = stubs_for(answers, tmp_path)
    unset = block.replace("kubectl rollout undo", 'kubectl rollout undo "${WORKLOAD}"', 1)
    assert unset != block
    problems = paste_problems(unset, asked_first(unset), stubs, tmp_path)
    assert len(problems) == 1 and "WORKLOAD: unbound variable" in problems[0]
    old_helm = (
        "# Roll back to the previous revision\n"
        "helm rollback payments-api -n production --wait --timeout 5m\n"
        "# WORKLOAD=...: one of the Deployments/StatefulSets listed\n"
        'kubectl rollout status "${WORKLOAD:?}" -n production --timeout=5m\n'
    )
    assert ASKED.findall(old_helm) != asked_first(old_helm)
    assert paste_problems(old_helm, asked_first(old_helm), stubs, tmp_path) != []


# --- a Deployment: resumed first only when paused -------------------------------------------------

DEPLOYMENT_CASES = {case: a for case, a in CASES.items() if a["workload"] == "deployment"}
# The box before it read the pause: the resume ran whatever the state, and kubectl refuses to
# resume a Deployment that is not paused (exit 1), so the pasted box stopped there under set -e
# and, pasted line by line, printed an error mid-incident.
UNCONDITIONAL_RESUME = """\
kubectl get deployment payments-api -n production -o 'jsonpath={.spec.paused}'
kubectl rollout resume deployment/payments-api -n production
kubectl rollout undo deployment/payments-api -n production
"""


def deployment_changes(block: str, paused: bool, folder: Path, context: str) -> list[str]:
    """The changing rollout calls the block makes (resume, undo), in order, or its problems."""
    stubs = Stubs(folder, context)
    stubs.env["STUB_PAUSED"] = "true" if paused else ""
    problems = paste_problems(block, asked_first(block), stubs, folder)
    calls = [call[2] for call in stubs.calls() if call[:2] == ["kubectl", "rollout"]]
    return problems or [verb for verb in calls if verb in ("resume", "undo")]


@pytest.mark.parametrize("case", list(DEPLOYMENT_CASES))
@pytest.mark.parametrize("paused", [True, False], ids=["paused", "not-paused"])
def test_the_deployment_box_resumes_only_a_paused_deployment(
    render, case: str, paused: bool, tmp_path: Path
) -> None:
    answers = DEPLOYMENT_CASES[case]
    first = first_box_block(render(answers))
    changes = deployment_changes(first, paused, tmp_path, answers.get("kube_context", ""))
    assert changes == (["resume", "undo"] if paused else ["undo"])


def test_an_unconditional_resume_fails_on_a_deployment_not_paused(tmp_path: Path) -> None:
    """Negative control: the old box stops at the resume of a Deployment that is not paused."""
    changes = deployment_changes(UNCONDITIONAL_RESUME, False, tmp_path, "")
    assert len(changes) == 1 and "is not paused" in changes[0]


# --- an Argo Rollouts Rollout: abort, undo or both, by the state it is in -------------------------

ARGO_CASES = {case: answers for case, answers in CASES.items() if case.startswith("argo-rollouts-")}
# What the box must change in each state (the stub's Rollout: stable revision 3; while updating,
# its spec asks for revision 4): in progress, abort and put the stable revision back in the spec
# (a bare undo takes the revision before the newest, which after an earlier aborted update is not
# the stable one); completed, nothing to abort, and undo to the previous revision. Never a promote
# past the analysis: the team decides that.
EXPECTED_ROLLOUT_CHANGES = {
    "updating": [["abort"], ["undo", "--to-revision=3"]],
    "completed": [["undo"]],
}
STATE_SWITCHES = {"updating": {"STUB_ROLLOUT_UPDATING": "1"}, "completed": {}}
# The box before it read the state: abort, undo and promote --full, whatever the state.
ABORT_UNDO_PROMOTE = """\
kubectl argo rollouts abort checkout -n production
kubectl argo rollouts get rollout checkout -n production
kubectl argo rollouts undo checkout -n production
kubectl argo rollouts promote checkout -n production --full
kubectl argo rollouts status checkout -n production --timeout 5m
"""


def rollout_changes(calls: list[list[str]]) -> list[list[str]]:
    """The plugin's changing calls, each as its verb and any --to-revision."""
    return [
        [call[3], *(word for word in call if word.startswith("--to-revision="))]
        for call in calls
        if call[1:3] == ["argo", "rollouts"] and call[3] in ("abort", "undo", "promote")
    ]


def changes_in_state(block: str, state: str, folder: Path, context: str) -> list[list[str]]:
    stubs = Stubs(folder, context)
    stubs.env.update(STATE_SWITCHES[state])
    assert paste_problems(block, asked_first(block), stubs, folder) == []
    return rollout_changes(stubs.calls())


@pytest.mark.parametrize("case", list(ARGO_CASES))
@pytest.mark.parametrize("state", list(EXPECTED_ROLLOUT_CHANGES))
def test_the_argo_rollouts_box_does_what_the_rollouts_state_needs(
    render, case: str, state: str, tmp_path: Path
) -> None:
    answers = ARGO_CASES[case]
    first = first_box_block(render(answers))
    changes = changes_in_state(first, state, tmp_path, answers.get("kube_context", ""))
    assert changes == EXPECTED_ROLLOUT_CHANGES[state]


def test_abort_then_a_bare_undo_and_a_promote_fail_the_state_check(tmp_path: Path) -> None:
    """Negative control: the box that ran every step whatever the state undoes to the revision
    before the newest during an update, and promotes past the analysis in both states."""
    for state, expected in EXPECTED_ROLLOUT_CHANGES.items():
        changes = changes_in_state(ABORT_UNDO_PROMOTE, state, tmp_path / state, "")
        assert changes != expected
        assert ["promote"] in changes
