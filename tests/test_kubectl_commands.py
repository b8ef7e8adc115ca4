"""Every built-in kubectl command in every rendered page is accepted by the real kubectl's
argument parser (run against an unreachable API server), and the checker itself tells a usage
error from a connection error. kubectl must be installed: a missing binary fails, never skips."""

from __future__ import annotations

import pytest
from kubectl_check import (
    READER_VARIABLES,
    Call,
    is_builtin,
    kubectl_calls,
    kubectl_verdicts,
)
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, pages_of
from tools import tool


def page_calls(pages: dict[str, str]) -> dict[str, list[Call]]:
    return {page: kubectl_calls(fenced_blocks(text, "bash")) for page, text in pages.items()}


def test_kubectl_accepts_every_command_on_every_page(render_combo) -> None:
    """One batch over the whole matrix, so each distinct command runs once."""
    calls = {combo: page_calls(pages_of(render_combo(combo))) for combo in COMBINATIONS_BY_ID}
    builtin = {
        combo: [c.args for page in pages.values() for c in page if is_builtin(c.args)]
        for combo, pages in calls.items()
    }
    for combo, args in builtin.items():
        assert len(args) >= 30, f"{combo}: too few kubectl commands: is the extraction broken?"
    results = kubectl_verdicts(tool("kubectl"), [a for args in builtin.values() for a in args])
    rejected = sorted(
        {
            f"{combo} {page} (block {c.block}): kubectl {' '.join(c.args)}\n"
            f"  {results[c.args].output}"
            for combo, pages in calls.items()
            for page, page_list in pages.items()
            for c in page_list
            if is_builtin(c.args) and not results[c.args].accepted
        }
    )
    assert not rejected, "\n".join(rejected)
    for args in results:
        if args[:2] == ("rollout", "status") or args[:1] == ("wait",):
            assert any(a.startswith("--timeout=") for a in args), f"unbounded: {args}"


# The matrix gives every Helm chart a Deployment; a chart's StatefulSet gets pages of its own
# (its OnDelete wait, its forced rollback).
CHART_STATEFULSET = {
    "workload": "helm",
    "chart_workload": "statefulset/payments-db",
    "gitops": "none",
}


def test_kubectl_accepts_the_commands_of_a_charts_statefulset(render) -> None:
    calls = page_calls(pages_of(render(CHART_STATEFULSET)))
    args = [c.args for page in calls.values() for c in page if is_builtin(c.args)]
    assert ("wait", "statefulset/payments-db") in {a[:2] for a in args}
    results = kubectl_verdicts(tool("kubectl"), args)
    rejected = sorted(
        f"kubectl {' '.join(a)}: {r.output}" for a, r in results.items() if not r.accepted
    )
    assert not rejected, "\n".join(rejected)


BAD_COMMANDS = [
    ("rollout", "undo", "deployment/x", "--bogus"),  # unknown flag
    ("rollout", "frobnicate", "deployment/x"),  # unknown subcommand
    ("rollout", "status", "deployment/x", "--timeout=5"),  # a duration without its unit
    ("scale", "deployment/x", "--replicas=three"),  # not a number
    ("rollout", "undo"),  # no resource
    ("get", "events", "--for", "deployment/x"),  # --for belongs to `kubectl events`
]
GOOD_COMMANDS = [
    ("rollout", "undo", "deployment/x", "-n", "production", "--context", "prod-eu-west-1"),
    ("rollout", "status", "statefulset/x", "-n", "production", "--timeout=5m"),
    ("exec", "-it", "x-0", "-n", "production", "--", "sh", "-c", "echo --bogus"),
]


def test_checker_rejects_usage_errors_and_accepts_valid_commands() -> None:
    results = kubectl_verdicts(tool("kubectl"), BAD_COMMANDS + GOOD_COMMANDS)
    for args in BAD_COMMANDS:
        assert not results[args].accepted, f"a usage error passed: {args}"
    for args in GOOD_COMMANDS:
        assert results[args].accepted, f"{args}: {results[args].output}"


def test_extraction_follows_the_shell() -> None:
    block = "\n".join(
        [
            "# a comment: kubectl get nothing",
            "POD=$(kubectl get pods -l app=x -n p -o jsonpath='{.items[0].metadata.name}')",
            'kubectl exec -it "$POD" -n p -- sh -c \'migrate -database "$DATABASE_URL" version\'',
            "kubectl logs -l app=x -n p \\",
            "  --since=15m | grep -iE 'error|timeout'",
            'kubectl scale "${WORKLOAD:?}" -n p --replicas="${REPLICAS:?}"',
            "kubectl argo rollouts status x -n p --timeout 5m",
            "helm status x -n p",
        ]
    )
    calls = kubectl_calls(["echo unrelated", block])
    assert [c.args for c in calls] == [
        ("get", "pods", "-l", "app=x", "-n", "p", "-o", "jsonpath={.items[0].metadata.name}"),
        (
            "exec",
            "-it",
            "dummy-0",
            "-n",
            "p",
            "--",
            "sh",
            "-c",
            'migrate -database "$DATABASE_URL" version',
        ),
        ("logs", "-l", "app=x", "-n", "p", "--since=15m"),
        (
            "scale",
            READER_VARIABLES["WORKLOAD"],
            "-n",
            "p",
            f"--replicas={READER_VARIABLES['REPLICAS']}",
        ),
        ("argo", "rollouts", "status", "x", "-n", "p", "--timeout", "5m"),
    ]
    assert {c.block for c in calls} == {1}
    assert [is_builtin(c.args) for c in calls] == [True, True, True, True, False]


def test_extraction_refuses_a_variable_nobody_sets() -> None:
    with pytest.raises(AssertionError, match="UNSET_THING"):
        kubectl_calls(['kubectl get pod "$UNSET_THING"'])
