"""The scaling page's mitigations (issue 20, item 13): under GitOps every change made by hand
(`kubectl scale`, `kubectl patch hpa`) comes after the pause of the GitOps tool in its section,
or the tool reverts it within seconds; a StatefulSet is warned about before it is scaled, since
more pods of a datastore do not spread its load. Each check has a negative control."""

from __future__ import annotations

import re

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, pages_of, runbook

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


# ---- the autoscaler the answers name (hpa_name), or none ----
HPA_PLACEHOLDER = "${HPA:?}"
# A name offered for the reader's $HPA ("HPA=payments-api"): a guess the answers did not give.
GUESSED_HPA = re.compile(r"\bHPA=[a-z0-9]")


def autoscaler_problems(service_pages: dict[str, str], answers: dict[str, str]) -> list[str]:
    """What the pages get wrong about the service's autoscaler: with ``hpa_name``, every HPA
    command names it (no reader variable left); without, the scaling page says the answers name
    none and shows the namespace's list to check, and no page guesses a name."""
    problems = []
    namespace = answers.get("namespace", "production")
    hpa_name = answers.get("hpa_name", "")
    for name, text in service_pages.items():
        if GUESSED_HPA.search(text):
            problems.append(f"{name}: guesses a name for HPA")
        if hpa_name and HPA_PLACEHOLDER in text:
            problems.append(f"{name}: asks the reader for HPA though the answers name {hpa_name}")
        patches = [line for line in text.splitlines() if "kubectl patch hpa " in line]
        if hpa_name and any(f"kubectl patch hpa {hpa_name} " not in line for line in patches):
            problems.append(f"{name}: a patch does not name {hpa_name}")
    scaling = service_pages["runbooks/scaling.md"]
    if not hpa_name:
        if "The service's answers name no autoscaler" not in scaling:
            problems.append("scaling.md: does not say the answers name no autoscaler")
        if not re.search(rf"^kubectl get hpa -n {namespace}\b", scaling, flags=re.MULTILINE):
            problems.append("scaling.md: shows no way to check for an autoscaler")
    elif f"HorizontalPodAutoscaler `{hpa_name}`" not in scaling:
        problems.append(f"scaling.md: does not name the autoscaler {hpa_name}")
    return problems


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_the_pages_name_the_answers_autoscaler_or_say_there_is_none(
    render_combo, combo: str
) -> None:
    answers = COMBINATIONS_BY_ID[combo]
    assert autoscaler_problems(pages_of(render_combo(combo)), answers) == []


def test_a_guessed_or_unnamed_autoscaler_is_caught(render_combo) -> None:
    """Negative controls: the page as it was (the reader's $HPA with a guessed example name)
    beside a given hpa_name, and a page without hpa_name that offers a name."""
    named = "deployment-django-argocd+opts"
    pages = pages_of(render_combo(named))
    hpa_name = COMBINATIONS_BY_ID[named]["hpa_name"]
    before = {
        name: text.replace(f"kubectl patch hpa {hpa_name} ", 'kubectl patch hpa "${HPA:?}" ')
        for name, text in pages.items()
    }
    assert any(
        "asks the reader for HPA" in p
        for p in autoscaler_problems(before, COMBINATIONS_BY_ID[named])
    )
    unnamed = "deployment-none-none"
    pages = pages_of(render_combo(unnamed))
    pages["runbooks/scaling.md"] += "\n# e.g. HPA=payments-api MAX_REPLICAS=20\n"
    assert autoscaler_problems(pages, COMBINATIONS_BY_ID[unnamed]) == [
        "runbooks/scaling.md: guesses a name for HPA"
    ]
