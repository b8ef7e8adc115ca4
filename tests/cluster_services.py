"""A fake cluster holding one service per deployer, for ``discover --cluster`` and ``check
--drift --cluster``, and the real kubectl pointed at it.

Each service is built with tests/kube_objects.py's builders and marked as its deployer marks
what it manages (the labels and annotations cited there):

- ``payments-api``: a Deployment in ``payments`` installed by Helm under a Flux HelmRelease in
  ``flux-system`` with ``targetNamespace`` (so the release is ``payments-payments-api``, stored
  in ``flux-system``), with its HPA, PDB, Service and ServiceMonitor;
- ``ledger-db``: a StatefulSet with ``OnDelete`` in ``ledger``, tracked by Argo CD's annotation
  (Application ``ledger``, self-heal on, prune off), scraped by a PodMonitor;
- ``checkout``: an Argo Rollouts Rollout in ``shop`` with a readiness probe on a named port,
  tracked by Argo CD's instance label only (confirmed by its Application), scraped through a
  ServiceMonitor with ``jobLabel``;
- ``search``: a plain Deployment in ``search`` with an HPA, scraped by a ServiceMonitor in
  ``monitoring`` that selects the namespace;
- ``web``: a Deployment installed by plain ``helm install`` whose chart sets the instance label,
  and no Application of that name: Helm's, not Argo CD's;
- ``orders``: a Deployment applied by a Flux Kustomization, carrying the recommended instance
  label too (which is then not taken as Argo CD's).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import kube_api
import kube_objects as objects
import pytest
from kube_api import Cluster, FakeApiServer, Role

CONTEXT = "prod"
FLUX_NS, ARGO_NS = "flux-system", "argocd"
IMAGES = ["registry.example.com/app:1.0.0", "registry.example.com/app:1.1.0"]


def _payments(cluster: Cluster) -> None:
    ns, name, labels = "payments", "payments-api", {"app": "payments-api"}
    by_flux = objects.flux_helm_owner(name, FLUX_NS, f"{ns}-{name}", ns)
    cluster.add_deployment(ns, name, labels, IMAGES, owners=(by_flux,))
    cluster.add(objects.hpa(ns, name, ("Deployment", name), 3, 12), by_flux)
    cluster.add(objects.pdb(ns, name, labels, min_available=1), by_flux)
    cluster.add(objects.service(ns, name, labels, labels=labels), by_flux)
    cluster.add(objects.service_monitor(ns, name, labels), by_flux)
    cluster.add(objects.helm_release(FLUX_NS, name, "payments", target_namespace=ns))
    cluster.add(objects.helm_release_record(FLUX_NS, f"{ns}-{name}"))  # Flux stores it there


def _ledger(cluster: Cluster) -> None:
    ns, name, labels = "ledger", "ledger-db", {"app": "ledger-db"}
    by_argo = objects.argocd_owner("ledger", "annotation")
    cluster.add_statefulset(ns, name, labels, IMAGES, update_strategy="OnDelete", owners=(by_argo,))
    cluster.add(objects.pod_monitor(ns, name, labels), by_argo)
    cluster.add(objects.application("ledger", ns, self_heal=True, prune=False))


def _checkout(cluster: Cluster) -> None:
    ns, name, labels = "shop", "checkout", {"app": "checkout"}
    by_argo = objects.argocd_owner(name, "label")
    rollout = objects.rollout(ns, name, labels, IMAGES[0])
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    container["ports"] = [{"name": "http", "containerPort": 8080}]
    container["readinessProbe"] = {"httpGet": {"path": "/ready", "port": "http"}}
    cluster.add_rollout(rollout, by_argo)
    service_labels = {**labels, "team": "checkout-team"}
    cluster.add(objects.service(ns, name, labels, labels=service_labels), by_argo)
    cluster.add(objects.service_monitor(ns, name, labels, job_label="team"), by_argo)
    cluster.add(objects.application(name, ns, self_heal=False))


def _search(cluster: Cluster) -> None:
    ns, name, labels = "search", "search", {"app": "search"}
    cluster.add_deployment(ns, name, labels, IMAGES)
    cluster.add(objects.hpa(ns, name, ("Deployment", name), 2, 6))
    cluster.add(objects.service(ns, name, labels, labels=labels))
    monitor = objects.service_monitor("monitoring", name, labels)
    monitor["spec"]["namespaceSelector"] = {"matchNames": [ns]}
    cluster.add(monitor)


def _web(cluster: Cluster) -> None:
    ns, name, labels = "web", "web", {"app": "web"}
    chart_labels = objects.Owner(labels={objects.ARGOCD_INSTANCE_LABEL: name})
    owners = (objects.helm_owner(name, ns), chart_labels)
    cluster.add_deployment(ns, name, labels, IMAGES, owners=owners)
    cluster.add(objects.helm_release_record(ns, name, version=2))


def _orders(cluster: Cluster) -> None:
    ns, name, labels = "orders", "orders", {"app": "orders"}
    by_flux = objects.flux_kustomize_owner("apps", FLUX_NS)
    recommended = objects.Owner(labels={objects.ARGOCD_INSTANCE_LABEL: name})
    cluster.add_deployment(ns, name, labels, IMAGES, owners=(by_flux, recommended))
    cluster.add(objects.kustomization(FLUX_NS, "apps", "./apps"))


def fleet_cluster() -> Cluster:
    cluster = Cluster()
    for add in (_payments, _ledger, _checkout, _search, _web, _orders):
        add(cluster)
    return cluster


@dataclass
class Served:
    """A fake API server holding a cluster, and the kubeconfig that reaches it."""

    server: FakeApiServer
    kubeconfig: Path

    @property
    def cluster(self) -> Cluster:
        return self.server.cluster


@contextmanager
def served(
    home: Path, monkeypatch: pytest.MonkeyPatch, cluster: Cluster, role: Role | None = None
) -> Iterator[Served]:
    """The cluster behind context ``prod``, as the kubeconfig kubectl reads (HOME holds kubectl's
    discovery cache)."""
    home.mkdir(parents=True, exist_ok=True)
    with FakeApiServer(CONTEXT, cluster, role=role) as server:
        kubeconfig = kube_api.write_kubeconfig(home / "kubeconfig", {CONTEXT: server}, CONTEXT)
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setenv("HOME", str(home))
        yield Served(server, kubeconfig)
