"""What the helper-script tests share: the services they render, and stub tools on PATH.

The stubs (tests/bats/stubs/stub, linked as kubectl, helm, curl, argocd and flux) log each call
as one shell-quoted line and answer canned output; see that file for the switches.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

BATS_DIR = Path(__file__).resolve().parent / "bats"
STUB = BATS_DIR / "stubs" / "stub"
STUBBED_TOOLS = ("kubectl", "helm", "curl", "argocd", "flux")
CONTEXT = "prod-eu-west-1"

# A handful of services that together cover every workload kind (and Helm with and without a
# release), every migration tool, every GitOps tool, and a kube_context given or not.


# The health check the engine bats files expect (a URL checked with curl); verify.sh's other
# kinds are tested in test_verify_health.py.
HEALTH_URL = {"health_check": "url", "health_url": "https://api.example.com/health"}


def _combo(workload: str, migration_tool: str, gitops: str, context: str = "") -> dict[str, str]:
    answers = {"workload": workload, "migration_tool": migration_tool, "gitops": gitops}
    answers |= HEALTH_URL
    return {**answers, "kube_context": context} if context else answers


SCRIPT_COMBOS: list[dict[str, str]] = [
    _combo("deployment", "django", "none", CONTEXT),
    _combo("statefulset", "alembic", "flux"),
    _combo("argo-rollout", "golang-migrate", "argocd", CONTEXT),
    _combo("helm", "liquibase", "none", CONTEXT),
    _combo("helm", "prisma", "argocd", CONTEXT),  # no Helm release: Argo CD renders the chart
    # The HelmRelease stores its release where it deploys, so the Helm CLI may roll it back; with
    # the default flux-system the script refuses (tests/test_helm_incident.py).
    {**_combo("helm", "flyway", "flux"), "flux_namespace": "production"},
    _combo("statefulset", "rails", "none", CONTEXT),
    _combo("deployment", "none", "argocd"),
]


def script_combo_id(answers: dict[str, str]) -> str:
    context = "+context" if answers.get("kube_context") else ""
    flux_namespace = (
        f"+flux-ns-{answers['flux_namespace']}" if answers.get("flux_namespace") else ""
    )
    return (
        f"{answers['workload']}-{answers['migration_tool']}-{answers['gitops']}"
        f"{context}{flux_namespace}"
    )


def workload_kind(answers: dict[str, str]) -> str:
    """deployment/statefulset share kubectl rollout; Helm under Argo CD has no Helm release."""
    if answers["workload"] in ("deployment", "statefulset"):
        return "kubectl-rollout"
    if answers["workload"] == "helm" and answers["gitops"] == "argocd":
        return "helm-argocd"
    return answers["workload"]


def bats_files(answers: dict[str, str]) -> list[str]:
    files = ["safety.bats", f"{workload_kind(answers)}.bats"]
    if answers["migration_tool"] != "none":
        files.append("db-migrations.bats")
    return files


def answers_env(answers: dict[str, str]) -> dict[str, str]:
    """The answers the bats files read."""
    return {
        "WORKLOAD": answers["workload"],
        "GITOPS": answers["gitops"],
        "MIGRATION_TOOL": answers["migration_tool"],
        "KUBE_CONTEXT": answers.get("kube_context", ""),
        "FLUX_NAMESPACE": answers.get("flux_namespace", "flux-system"),
    }


class Stubs:
    """Stub tools first on PATH, logging to one file, for running a rendered service's scripts."""

    def __init__(self, folder: Path, current_context: str) -> None:
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True)
        for name in STUBBED_TOOLS:
            (self.bin / name).symlink_to(STUB)
        self.log = folder / "calls.log"
        self.env = {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "STUB_LOG": str(self.log),
            "STUB_CURRENT_CONTEXT": current_context,
        }

    def run(self, script: Path, *args: str, **switches: str) -> subprocess.CompletedProcess[str]:
        """Run a script with no terminal; switches are STUB_* variables (see the stub)."""
        return subprocess.run(
            [str(script), *args],
            env={**self.env, **switches},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self) -> list[list[str]]:
        """Every call so far, as argument lists."""
        if not self.log.exists():
            return []
        return [shlex.split(line) for line in self.log.read_text().splitlines()]
