"""What the drill's tests share: one service per deployment engine rendered from a fleet file,
the fake cluster that matches them, the stub tools for what cannot run here, and the identity's
rights read from the service's own access/*.yaml.

The services (the answers ``discover --cluster`` derives from tests/cluster_services.py's
cluster, plus one Helm chart under Argo CD):

- ``search``: a plain Deployment (engine kubectl-rollout);
- ``checkout``: an Argo Rollouts Rollout under Argo CD (argo-rollouts), given an HPA here;
- ``payments-api``: a Helm release under a Flux HelmRelease with targetNamespace (helm);
- ``storefront``: a Helm chart rendered by Argo CD, no Helm release (argocd-helm).

Each has a HorizontalPodAutoscaler named after it, which its ``hpa_name`` names; ``UNSCALED`` is
``payments-api`` whose answers name none.

Only kubectl can run here: helm, flux, argocd, curl and the kubectl-argo-rollouts plugin are
tests/bats/stubs/stub, which says it is a stub when asked its version.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kube_objects as objects
import pytest
import yaml
from cluster_services import ARGO_NS, CONTEXT, IMAGES, fleet_cluster
from fleet_helpers import write_fleet
from kube_api import Cluster, Role
from kube_resources import RESOURCE_BY_PLURAL
from script_stubs import STUB

from service_runbooks.cli import main

# The engine each service exercises, by service name.
ENGINES = {
    "search": "kubectl-rollout",
    "checkout": "argo-rollouts",
    "payments-api": "helm",
    "storefront": "argocd-helm",
}
_COMMON = {"migration_tool": "django", "kube_context": CONTEXT}
SERVICES: list[dict[str, str]] = [
    {
        **_COMMON,
        "service_name": "search",
        "hpa_name": "search",
        "namespace": "search",
        "workload": "deployment",
        "app_label_selector": "app=search",
        "gitops": "none",
    },
    {
        **_COMMON,
        "service_name": "checkout",
        "hpa_name": "checkout",
        "namespace": "shop",
        "workload": "argo-rollout",
        "app_label_selector": "app=checkout",
        "gitops": "argocd",
        "gitops_app": "checkout",
    },
    {
        **_COMMON,
        "service_name": "payments-api",
        "hpa_name": "payments-api",
        "namespace": "payments",
        "workload": "helm",
        "app_label_selector": "app=payments-api",
        "gitops": "flux",
        "gitops_app": "payments-api",
        "flux_namespace": "flux-system",
        "helm_release": "payments-payments-api",
        "chart_workload": "deployment/payments-api",
    },
    {
        **_COMMON,
        "service_name": "storefront",
        "hpa_name": "storefront",
        "namespace": "store",
        "workload": "helm",
        "app_label_selector": "app=storefront",
        "gitops": "argocd",
        "gitops_app": "storefront",
        "chart_workload": "deployment/storefront",
    },
]
# payments-api as a service whose answers name no autoscaler (hpa_name left empty).
UNSCALED = {key: value for key, value in SERVICES[2].items() if key != "hpa_name"}
STUBBED = ("helm", "flux", "argocd", "curl", "kubectl-argo-rollouts")
# What a stubbed tool would run that changes something (none may ever be called).
CHANGING_STUB_CALLS = (
    ("helm", "rollback"),
    ("flux", "suspend"),
    ("flux", "resume"),
    ("flux", "reconcile"),
    ("argocd", "app", "set"),
    ("argocd", "app", "sync"),
    ("argocd", "app", "patch"),
    ("argocd", "app", "rollback"),
    ("kubectl-argo-rollouts", "undo"),
    ("kubectl-argo-rollouts", "abort"),
    ("kubectl-argo-rollouts", "promote"),
)


def drill_cluster() -> Cluster:
    """tests/cluster_services.py's cluster, with an HPA for the Rollout and the Argo CD chart."""
    cluster = fleet_cluster()
    cluster.add(objects.hpa("shop", "checkout", ("Rollout", "checkout"), 2, 8))
    labels = {"app": "storefront"}
    by_argo = objects.argocd_owner("storefront", "label")
    cluster.add_deployment("store", "storefront", labels, IMAGES, owners=(by_argo,))
    cluster.add(objects.hpa("store", "storefront", ("Deployment", "storefront"), 2, 6))
    cluster.add(objects.application("storefront", "store", self_heal=True))
    assert ARGO_NS  # the Applications live there (kube_objects.application)
    return cluster


def render_services(folder: Path, services: list[dict[str, str]] = SERVICES) -> Path:
    """The services (the four above unless given) rendered by ``service-runbooks render``; the
    output folder."""
    fleet = write_fleet(folder / "fleet.yaml", services)
    output = folder / "out"
    assert main(["render", str(fleet), "--output", str(output)]) == 0
    return output


def stub_tools(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stubbed tools first on PATH (kubectl stays the real one); their call log."""
    bin_dir = folder / "stub-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in STUBBED:
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(STUB)
    log = folder / "stub-calls.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STUB_LOG", str(log))
    return log


def stub_calls(log: Path) -> list[list[str]]:
    import shlex

    if not log.exists():
        return []
    return [shlex.split(line) for line in log.read_text().splitlines()]


def changing_stub_calls(log: Path) -> list[list[str]]:
    return [
        call
        for call in stub_calls(log)
        if any(tuple(call[: len(prefix)]) == prefix for prefix in CHANGING_STUB_CALLS)
    ]


def access_documents(service: Path, *files: str) -> list[dict[str, Any]]:
    """The objects of the service's access/*.yaml (the given files, or both)."""
    names = files or ("read-only-role.yaml", "drill-role.yaml")
    documents = []
    for name in names:
        text = (service / "access" / name).read_text(encoding="utf-8")
        documents += [doc for doc in yaml.safe_load_all(text) if doc]
    return documents


def role_from(documents: list[dict[str, Any]], drop: set[tuple[str, str]] = frozenset()) -> Role:
    """The fake server's Role for the rights the Roles and ClusterRoles grant (every binding
    names the drill's ServiceAccount: tests/test_drill.py checks it), less ``drop``; a
    resource the fake does not serve is left out (the fake refuses it anyway)."""
    pairs = set()
    for doc in documents:
        if doc["kind"] not in ("Role", "ClusterRole"):
            continue
        for rule in doc["rules"]:
            for resource in rule["resources"]:
                if resource.split("/")[0] not in RESOURCE_BY_PLURAL:
                    continue
                pairs |= {(verb, resource) for verb in rule["verbs"]}
    return Role.allowing(*sorted(pairs - set(drop)))
