"""The scaling page's mitigations (issue 20, item 13): under GitOps every change made by hand
(`kubectl scale`, `kubectl patch hpa`) comes after the pause of the GitOps tool in its section,
or the tool reverts it within seconds; a StatefulSet is warned about before it is scaled, since
more pods of a datastore do not spread its load. Each check has a negative control."""

from __future__ import annotations

import re

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, runbook

PAUSE = re.compile(r"^(flux suspend |argocd app set \S+ --sync-policy none)")
HAND_CHANGE = re.compile(r"^kubectl (scale|patch hpa) ")
DATASTORE = "A StatefulSet that is a database or another datastore"


def subsections(page: str) -> dict[str, str]:
    """The page's '### ' sections by heading (code blocks hold no '### ' line at their start)."""
    parts = re.split(r"^### (.+)$", page, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def unpaused_changes(page: str) -> list[str]:
    """Hand changes shown in a section before any pause of the GitOps tool there."""
    problems = []
    for heading, text in subsections(page).items():
        paused = False
        for line in (line for block in fenced_blocks(text, "bash") for line in block.splitlines()):
            paused = paused or bool(PAUSE.match(line))
            if HAND_CHANGE.match(line) and not paused:
                problems.append(f"{heading}: {line}")
    return problems


GITOPS = [c for c, a in COMBINATIONS_BY_ID.items() if a["gitops"] != "none"]
NO_GITOPS = [c for c, a in COMBINATIONS_BY_ID.items() if a["gitops"] == "none"]


@pytest.mark.parametrize("combo", GITOPS)
def test_hand_changes_come_after_the_pause(render_combo, combo: str) -> None:
    page = runbook(render_combo(combo), "scaling.md")
    lines = [line for block in fenced_blocks(page, "bash") for line in block.splitlines()]
    assert any(HAND_CHANGE.match(line) for line in lines)
    assert unpaused_changes(page) == []


@pytest.mark.parametrize("combo", NO_GITOPS)
def test_without_gitops_there_is_nothing_to_pause(render_combo, combo: str) -> None:
    page = runbook(render_combo(combo), "scaling.md")
    lines = [line for block in fenced_blocks(page, "bash") for line in block.splitlines()]
    assert not any(PAUSE.match(line) for line in lines)


def test_a_patch_without_the_pause_is_caught(render_combo) -> None:
    """Negative control: today's Autoscaler section, which patched the HPA with no pause."""
    page = runbook(render_combo("statefulset-prisma-argocd+opts"), "scaling.md")
    head, autoscaler = page.split("### Autoscaler", 1)
    today = head + "### Autoscaler" + re.sub(r"^ *argocd app set .*$", "", autoscaler, flags=re.M)
    problems = unpaused_changes(today)
    assert len(problems) == 2 and all(
        p.startswith("Autoscaler: kubectl patch hpa") for p in problems
    )


def datastore_warning_first(page: str) -> bool:
    scale = re.search(r"^ *kubectl scale ", page, flags=re.MULTILINE)
    return DATASTORE in page and scale is not None and page.index(DATASTORE) < scale.start()


@pytest.mark.parametrize(
    "combo", [c for c, a in COMBINATIONS_BY_ID.items() if a["workload"] == "statefulset"]
)
def test_a_statefulset_is_warned_about_before_it_is_scaled(render_combo, combo: str) -> None:
    assert datastore_warning_first(runbook(render_combo(combo), "scaling.md"))


def test_other_workloads_get_no_datastore_warning(render_combo) -> None:
    """Negative control: a Deployment's page, and a StatefulSet's page as it was."""
    assert DATASTORE not in runbook(render_combo("deployment-prisma-none"), "scaling.md")
    page = runbook(render_combo("statefulset-rails-none"), "scaling.md")
    assert not datastore_warning_first(page.replace(DATASTORE, "A note"))
