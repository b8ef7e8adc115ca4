"""The emergency steps of a StatefulSet and a Deployment, on the rendered pages of the matrix.

- StatefulSet: a page that lists the pods' revisions to delete the stuck ones also shows the
  revision the StatefulSet wants (``.status.updateRevision``) and each pod's owner, in the same
  code block: after an undo the wanted revision is an OLDER one, so "the newest" picks the wrong
  pods. Partition advice comes with its command.
- Deployment: ``kubectl rollout undo`` refuses a paused Deployment, so the undo on the home page's
  box and on the rollback page comes after the check of ``.spec.paused`` and the resume.

Each check is a function over a page's text, shown failing on the text the pages had before
(negative controls).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matrix import COMBINATIONS, combo_id
from runbook_pages import one_line

PAGES = ("docs/index.md", "docs/runbooks/rollback.md")
STATEFULSETS = [c for c in COMBINATIONS if c["workload"] == "statefulset"]
DEPLOYMENTS = [c for c in COMBINATIONS if c["workload"] == "deployment"]

# The home page's StatefulSet step and the rollback page's partition advice before the fix.
OLD_STUCK_POD_BOX = """```bash
# Still waiting? Delete the stuck pod of the bad revision; it comes back from the restored one
kubectl get pods -l app=payments-api -n production -L controller-revision-hash
# POD=...: the pod whose CONTROLLER-REVISION-HASH is not the newest
kubectl delete pod "${POD:?}" -n production
```
"""
OLD_PARTITION_ADVICE = """\
- `rollingUpdate.partition` above 0: only pods with an ordinal at or above it are rolled
  back, and `rollout status` reports done once those are. Set it to 0 for the rollback.

```bash
# The update strategy and partition
kubectl get statefulset payments-api -n production -o 'jsonpath={.spec.updateStrategy.type}'
```
"""
OLD_DEPLOYMENT_BOX = """```bash
# Roll back to the previous revision (run it once: a second undo goes back to the bad one)
kubectl rollout undo deployment/payments-api -n production
```
"""


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of a page (indented inside an admonition or not)."""
    return [m.group(1) for m in re.finditer(r"(?ms)^ *```[a-z]*\n(.*?)^ *```", text)]


def revision_problems(text: str) -> list[str]:
    problems = []
    for block in code_blocks(text):
        if "controller-revision-hash" not in block.lower():
            continue
        if "kubectl delete pod" in block and ".status.updateRevision" not in block:
            problems.append(
                f"lists revisions to delete pods without .status.updateRevision:\n{block}"
            )
        if "kubectl delete pod" in block and "OWNER" not in block:
            problems.append(f"lists pods to delete without their owner:\n{block}")
        if re.search(r"is not the newest\b", block):
            problems.append(
                f"says 'not the newest' (after an undo the wanted one is older):\n{block}"
            )
    return problems


def partition_problems(text: str) -> list[str]:
    if "Set it to 0" not in text:
        return []
    command = re.search(r'kubectl patch statefulset \S+ .*"partition":0', one_line(text))
    return [] if command else ["partition advice without its kubectl patch command"]


def paused_problems(text: str) -> list[str]:
    """The first undo must come after the paused check and the resume."""
    undo = text.find("kubectl rollout undo deployment/")
    if undo < 0:
        return []
    before = text[:undo]
    missing = [w for w in ("jsonpath={.spec.paused}", "kubectl rollout resume") if w not in before]
    return [f"undo without {w!r} before it" for w in missing]


@pytest.mark.parametrize("answers", STATEFULSETS, ids=combo_id)
def test_statefulset_stuck_pod_steps_show_the_wanted_revision(render, answers) -> None:
    service: Path = render(answers)
    for page in PAGES:
        text = (service / page).read_text(encoding="utf-8")
        assert "controller-revision-hash" in text.lower(), page
        assert revision_problems(text) == [], page
        assert partition_problems(text) == [], page
        if page.endswith("rollback.md") and answers["gitops"] != "none":
            assert "the partition is in Git" in text, page


@pytest.mark.parametrize("answers", DEPLOYMENTS, ids=combo_id)
def test_deployment_undo_comes_after_the_paused_check(render, answers) -> None:
    service: Path = render(answers)
    for page in PAGES:
        text = (service / page).read_text(encoding="utf-8")
        assert "kubectl rollout undo deployment/" in text, page
        assert paused_problems(text) == [], page


@pytest.mark.parametrize("answers", STATEFULSETS[:1], ids=combo_id)
def test_a_statefulset_has_no_pause_step(render, answers) -> None:
    # StatefulSets have no spec.paused: the negative side of the Deployment's check.
    service: Path = render(answers)
    for page in PAGES:
        assert ".spec.paused" not in (service / page).read_text(encoding="utf-8"), page


def test_negative_controls_the_old_text_fails_each_check() -> None:
    assert len(revision_problems(OLD_STUCK_POD_BOX)) == 3
    assert partition_problems(OLD_PARTITION_ADVICE) != []
    assert len(paused_problems(OLD_DEPLOYMENT_BOX)) == 2


# --- the break-glass access check on the on-call page ---------------------------------------------

WORKLOAD_RESOURCE = {
    "deployment": "deployments.apps",
    "statefulset": "statefulsets.apps",
    "argo-rollout": "rollouts.argoproj.io",
}
# Today's "Before Your Shift" check, before the fix: it only reads.
OLD_ACCESS_CHECK = """```bash
# A quick check that your access works
kubectl get pods -l app=payments-api -n production
kubectl rollout history deployment/payments-api -n production
```
"""


def access_problems(text: str, answers: dict[str, str]) -> list[str]:
    """What the on-call page's access check leaves out, for a service with these answers."""
    lines = [line.strip() for line in text.splitlines()]
    can_i = [line for line in lines if line.startswith("kubectl auth can-i ")]
    wanted = [
        "kubectl auth can-i delete pods ",
        "kubectl auth can-i create pods --subresource=exec ",
        "kubectl auth can-i get pods --subresource=exec ",
    ]
    resource = WORKLOAD_RESOURCE.get(answers["workload"])
    if resource:
        wanted += [f"kubectl auth can-i patch {resource} -n ", "--subresource=scale"]
    if answers["gitops"] == "flux":
        wanted.append(".toolkit.fluxcd.io -n flux-system")
    problems = [f"no access check with {w!r}" for w in wanted if not any(w in x for x in can_i)]
    problems += [f"'pods/exec' names a pod called exec: {x}" for x in can_i if "pods/exec" in x]
    if answers["gitops"] == "argocd" and not any(
        x.startswith("argocd account can-i sync applications") for x in lines
    ):
        problems.append("no argocd account can-i sync line")
    if "1.31 or newer" not in text:
        problems.append("no minimum kubectl version")
    return problems


@pytest.mark.parametrize("answers", COMBINATIONS, ids=combo_id)
def test_on_call_page_checks_every_right_the_procedures_need(render, answers) -> None:
    text = (render(answers) / "docs/runbooks/on-call.md").read_text(encoding="utf-8")
    assert access_problems(one_line(text), answers) == []


def test_negative_control_a_read_only_access_check_fails() -> None:
    answers = {"workload": "deployment", "gitops": "argocd"}
    problems = access_problems(OLD_ACCESS_CHECK, answers)
    assert len(problems) == 7, problems
    doctored = "kubectl auth can-i create pods/exec -n production\n1.31 or newer"
    assert any("names a pod called exec" in p for p in access_problems(doctored, answers))
