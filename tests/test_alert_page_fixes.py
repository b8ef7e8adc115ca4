"""What the alert pages tell an on-call engineer to run, where an earlier text was wrong
(issue 24 item 8): a change made by hand under GitOps pauses the GitOps tool first (the oracle's
pause, then its resume), a Helm page names the chart's workload, the volume pages check the
StorageClass and warn about a StatefulSet's claim templates, the crash-loop page reads the
alert's container, and an aborted Rollout's page says the stable version serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from oracle import Service
from runbook_pages import one_line

ALERTS = Path("docs") / "alerts"
# The steps that change the cluster by hand: the HPA's maximum, or the replica count.
CHANGED_BY_HAND = {
    "hpamaxedout.md": "kubectl patch hpa",
    "latencyhigh.md": "kubectl patch hpa",
    "containeroomkilled.md": "kubectl scale",
}


def page(service: Path, name: str) -> str:
    """An alert page with each command on one line (a phone's line breaks joined)."""
    return one_line((service / ALERTS / name).read_text(encoding="utf-8"))


def commands_in_order(text: str) -> list[str]:
    """The page's command lines, in the order they appear."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def pauses_before_change(text: str, change: str, pause: list[str]) -> bool:
    """Every command of the oracle's pause comes before the change, and the resume after it."""
    lines = commands_in_order(text)
    at = next((i for i, line in enumerate(lines) if line.startswith(change)), None)
    if at is None:
        return False
    *stop, resume = pause
    # A step may sit inside a guard (the sync policy recorded only once): contained in a line.
    before = lines[:at]
    return all(any(step in line for line in before) for step in stop) and resume in lines[at:]


def answers(workload: str, gitops: str) -> dict[str, str]:
    return {"workload": workload, "gitops": gitops, "migration_tool": "none"}


@pytest.mark.parametrize(
    ("workload", "gitops"), [("deployment", "argocd"), ("deployment", "flux"), ("helm", "flux")]
)
def test_a_change_by_hand_pauses_gitops_first(render, workload: str, gitops: str) -> None:
    service = render(answers(workload, gitops))
    pause = Service(answers(workload, gitops)).gitops_pause()
    for name, change in CHANGED_BY_HAND.items():
        assert pauses_before_change(page(service, name), change, pause), name


def test_the_pause_check_fails_without_a_pause() -> None:
    """Negative control: a page that patches the HPA with no pause before it."""
    pause = Service(answers("deployment", "flux")).gitops_pause()
    text = '```bash\nkubectl patch hpa "${HPA:?}" -n production\n```\n'
    assert not pauses_before_change(text, "kubectl patch hpa", pause)


def test_without_gitops_a_page_has_no_pause(render) -> None:
    service = render(answers("deployment", "none"))
    for name in CHANGED_BY_HAND:
        assert not re.search(r"argocd app|flux (suspend|resume)", page(service, name)), name


@pytest.mark.parametrize("chart_workload", ["deployment/orders-api", "statefulset/orders-db"])
def test_a_helm_page_names_the_charts_workload(render, chart_workload: str) -> None:
    service = render({**answers("helm", "none"), "chart_workload": chart_workload})
    for path in (service / ALERTS).glob("*.md"):
        assert "${WORKLOAD:?}" not in path.read_text(encoding="utf-8"), path.name
    scale = [line for line in commands_in_order(page(service, "containeroomkilled.md"))]
    assert f"kubectl scale {chart_workload} -n production --replicas=" in "\n".join(scale)


@pytest.mark.parametrize("workload", ["deployment", "statefulset"])
def test_the_volume_pages_check_the_storage_class(render, workload: str) -> None:
    service = render(answers(workload, "none"))
    for name in ("volumealmostfull.md", "volumefillingup.md"):
        text = page(service, name)
        lines = commands_in_order(text)
        expands = (
            "kubectl get storageclass \"${STORAGECLASS:?}\" -o jsonpath='{.allowVolumeExpansion}'"
        )
        assert expands in lines, name
        assert lines.index(expands) < next(
            i for i, line in enumerate(lines) if line.startswith("kubectl patch pvc")
        )
        # A StatefulSet's claim templates cannot change: a new replica's claim stays small.
        assert ("`volumeClaimTemplates` keep the old size" in text) == (workload == "statefulset")


def test_the_crash_loop_page_reads_the_alerts_container(render) -> None:
    text = page(render(answers("deployment", "none")), "podcrashlooping.md")
    previous = [line for line in commands_in_order(text) if "--previous" in line]
    assert previous and all('-c "${CONTAINER:?}"' in line for line in previous)
    assert "[ContainerOOMKilled](containeroomkilled.md)" in text


def test_an_aborted_rollout_serves_the_stable_version(render) -> None:
    text = page(render(answers("argo-rollout", "none")), "rolloutstuck.md")
    impact = text.split("## Impact", 1)[1].split("## Diagnosis", 1)[0]
    assert "stable version serves all the traffic" in impact
    assert "Two versions run side by side" not in impact
