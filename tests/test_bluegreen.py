"""Blue-green Rollouts, not only canary (issue 20, item 20): the Argo Rollouts pages say how to
tell the strategy from the Rollout's spec, and give blue-green its own promotion, preview abort
and scaleDownDelaySeconds, as Argo Rollouts documents them
(https://argoproj.github.io/argo-rollouts/features/bluegreen/,
https://argoproj.github.io/argo-rollouts/features/rollback/)."""

from __future__ import annotations

import re

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, runbook

# The spec fields that tell the strategy: a Rollout has one of the two.
STRATEGY_FIELDS = (".spec.strategy.blueGreen", ".spec.strategy.canary")
# What a reader needs to run a blue-green Rollout, per page.
BLUE_GREEN_WORDS = {
    "deploy.md": ["Blue-green", "autoPromotionEnabled", "scaleDownDelaySeconds", "preview"],
    "rollback.md": ["blue-green", "autoPromotionEnabled", "scaleDownDelaySeconds"],
}


def strategy_command(page: str) -> bool:
    """A kubectl get rollout line that prints both strategy fields."""
    lines = [line for block in fenced_blocks(page, "bash") for line in block.splitlines()]
    return any(
        re.match(r"kubectl get rollout \S+ ", line) and all(f in line for f in STRATEGY_FIELDS)
        for line in lines
    )


def blue_green_problems(pages: dict[str, str]) -> list[str]:
    problems = []
    for name, words in BLUE_GREEN_WORDS.items():
        missing = [word for word in words if word not in pages[name]]
        if missing:
            problems.append(f"{name}: no {', '.join(missing)}")
        if not strategy_command(pages[name]):
            problems.append(f"{name}: no command that shows the strategy")
    return problems


ROLLOUTS = [c for c, a in COMBINATIONS_BY_ID.items() if a["workload"] == "argo-rollout"]
OTHERS = [c for c, a in COMBINATIONS_BY_ID.items() if a["workload"] != "argo-rollout"]


@pytest.mark.parametrize("combo", ROLLOUTS)
def test_rollouts_pages_cover_blue_green(render_combo, combo: str) -> None:
    service = render_combo(combo)
    pages = {name: runbook(service, name) for name in BLUE_GREEN_WORDS}
    assert blue_green_problems(pages) == []
    assert "blue-green" in runbook(service, "verification.md")


@pytest.mark.parametrize("combo", OTHERS)
def test_other_engines_have_no_rollout_strategy(render_combo, combo: str) -> None:
    """Negative control: the words belong to Argo Rollouts only."""
    service = render_combo(combo)
    for name in (*BLUE_GREEN_WORDS, "verification.md", "scaling.md"):
        page = runbook(service, name)
        assert "blue-green" not in page.lower() and "scaleDownDelaySeconds" not in page, name


def test_canary_only_pages_are_caught(render_combo) -> None:
    """Negative control: the pages as they were, canary only."""
    service = render_combo("argo-rollout-liquibase-none")
    deploy = runbook(service, "deploy.md")
    canary_only = deploy.split('=== "Blue-green"', 1)[0]
    canary_only = re.sub(r"^kubectl get rollout .*$", "", canary_only, flags=re.M)
    rollback = runbook(service, "rollback.md")
    old_rollback = re.sub(
        r"(?i)blue-green|scaleDownDelaySeconds|autoPromotionEnabled", "", rollback
    )
    problems = blue_green_problems({"deploy.md": canary_only, "rollback.md": old_rollback})
    assert "deploy.md: no command that shows the strategy" in problems
    assert any(p.startswith("rollback.md: no blue-green") for p in problems)
