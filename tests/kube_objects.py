"""Objects for the fake clusters of tests/kube_api.py, and the marks their deployers leave on them.

Each builder returns one object as its API would hold it (spec and a settled status), ready for
``Cluster.add``. The ``Owner``s are the labels and annotations Helm, Flux and Argo CD write on
the objects they manage, each from the tool's own documentation or source (cited beside it), so
that a test can build a cluster whose objects say who deployed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kube_resources import RESOURCE_BY_KIND

Object = dict[str, Any]


def meta(namespace: str, name: str, labels: dict[str, str] | None = None) -> Object:
    return {"name": name, "namespace": namespace, "labels": dict(labels or {})}


def _ready(message: str, ready: bool) -> list[Object]:
    """The Ready condition the Flux controllers report (kstatus).
    https://fluxcd.io/flux/components/helm/helmreleases/#conditions"""
    return [
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "ReconciliationSucceeded" if ready else "ReconciliationFailed",
            "message": message,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ]


# --- the deployers' marks --------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Labels and annotations a deployer writes on what it manages. ``argocd_app``: Argo CD's
    tracking annotation, whose value names the object itself, is computed when applied."""

    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    argocd_app: str = ""

    def apply(self, obj: Object) -> Object:
        metadata = obj["metadata"]
        metadata.setdefault("labels", {}).update(self.labels)
        annotations = dict(self.annotations)
        if self.argocd_app:
            annotations[ARGOCD_TRACKING_ANNOTATION] = argocd_tracking_id(self.argocd_app, obj)
        if annotations:
            metadata.setdefault("annotations", {}).update(annotations)
        return obj


# Helm 3 marks what a release owns, and refuses to adopt an object without these.
# https://github.com/helm/helm/blob/main/pkg/action/validate.go
# https://helm.sh/docs/chart_best_practices/labels/#standard-labels
HELM_MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
HELM_RELEASE_NAME = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


def helm_owner(release: str, namespace: str) -> Owner:
    """An object installed by ``helm install RELEASE -n NAMESPACE``."""
    return Owner(
        labels=dict([HELM_MANAGED_BY]),
        annotations={HELM_RELEASE_NAME: release, HELM_RELEASE_NAMESPACE: namespace},
    )


# Flux's controllers label what they apply with the name and namespace of the Flux object;
# the helm-controller installs through Helm, so its objects also carry Helm's marks.
# https://fluxcd.io/flux/components/helm/helmreleases/ (post-renderer origin labels:
# https://github.com/fluxcd/helm-controller/blob/main/internal/postrender/common_renderer.go)
# https://fluxcd.io/flux/components/kustomize/kustomizations/#garbage-collection
FLUX_HELM_GROUP = "helm.toolkit.fluxcd.io"
FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"


def flux_helm_owner(
    helmrelease: str, namespace: str, release: str, release_namespace: str
) -> Owner:
    """An object of HelmRelease ``namespace/helmrelease``, installed as Helm release
    ``release_namespace/release``."""
    helm = helm_owner(release, release_namespace)
    labels = {
        **helm.labels,
        f"{FLUX_HELM_GROUP}/name": helmrelease,
        f"{FLUX_HELM_GROUP}/namespace": namespace,
    }
    return Owner(labels=labels, annotations=helm.annotations)


def flux_kustomize_owner(kustomization: str, namespace: str) -> Owner:
    return Owner(
        labels={
            f"{FLUX_KUSTOMIZE_GROUP}/name": kustomization,
            f"{FLUX_KUSTOMIZE_GROUP}/namespace": namespace,
        }
    )


# Argo CD tracks what an Application owns by a label (app.kubernetes.io/instance: APP, the
# default before Argo CD 3.0), an annotation (argocd.argoproj.io/tracking-id:
# APP:GROUP/KIND:NAMESPACE/NAME, the default since 3.0), or both.
# https://argo-cd.readthedocs.io/en/stable/user-guide/resource_tracking/
ARGOCD_INSTANCE_LABEL = "app.kubernetes.io/instance"
ARGOCD_TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"


def argocd_tracking_id(app: str, obj: Object) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    metadata = obj["metadata"]
    return f"{app}:{group}/{obj['kind']}:{metadata['namespace']}/{metadata['name']}"


def argocd_owner(app: str, method: str = "annotation") -> Owner:
    """``method``: annotation, label or annotation+label (Argo CD's trackingMethod values)."""
    if method not in ("annotation", "label", "annotation+label"):
        raise ValueError(f"Argo CD tracking method {method!r}: annotation, label, annotation+label")
    labels = {ARGOCD_INSTANCE_LABEL: app} if "label" in method else {}
    return Owner(labels=labels, argocd_app=app if "annotation" in method else "")


# --- objects ---------------------------------------------------------------------------------


def _typed(kind: str, metadata: Object, spec: Object, status: Object | None = None) -> Object:
    obj = {"apiVersion": RESOURCE_BY_KIND[kind].group_version, "kind": kind, "metadata": metadata}
    obj["spec"] = spec
    if status is not None:
        obj["status"] = status
    return obj


def hpa(
    namespace: str,
    name: str,
    target: tuple[str, str],
    min_replicas: int = 2,
    max_replicas: int = 10,
    cpu_utilization: int = 80,
    labels: dict[str, str] | None = None,
) -> Object:
    """An autoscaling/v2 HorizontalPodAutoscaler of ``target`` (kind, name), on CPU.
    https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/
    """
    kind, target_name = target
    group = RESOURCE_BY_KIND[kind].group_version
    spec = {
        "scaleTargetRef": {"apiVersion": group, "kind": kind, "name": target_name},
        "minReplicas": min_replicas,
        "maxReplicas": max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": cpu_utilization},
                },
            }
        ],
    }
    status = {"currentReplicas": min_replicas, "desiredReplicas": min_replicas}
    return _typed("HorizontalPodAutoscaler", meta(namespace, name, labels), spec, status)


def pdb(
    namespace: str,
    name: str,
    match_labels: dict[str, str],
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
) -> Object:
    """A policy/v1 PodDisruptionBudget (one of minAvailable, maxUnavailable).
    https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/pod-disruption-budget-v1/
    """
    spec: Object = {"selector": {"matchLabels": dict(match_labels)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    status = {"disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 2}
    return _typed("PodDisruptionBudget", meta(namespace, name), spec, status)


def service(
    namespace: str,
    name: str,
    selector: dict[str, str],
    ports: tuple[tuple[str, int, int], ...] = (("http", 80, 8080),),
    labels: dict[str, str] | None = None,
) -> Object:
    """A ClusterIP Service; ``ports``: (name, port, targetPort).
    https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/"""
    spec = {
        "type": "ClusterIP",
        "clusterIP": "10.96.0.10",
        "selector": dict(selector),
        "ports": [
            {"name": n, "port": port, "targetPort": target, "protocol": "TCP"}
            for n, port, target in ports
        ],
    }
    return _typed("Service", meta(namespace, name, labels), spec, {"loadBalancer": {}})


def service_monitor(
    namespace: str,
    name: str,
    match_labels: dict[str, str],
    port: str = "http",
    job_label: str | None = None,
    labels: dict[str, str] | None = None,
) -> Object:
    """A ServiceMonitor scraping the Services its selector matches. Prometheus's ``job`` label is
    the Service's name, or the value of its label ``jobLabel`` names.
    https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitorSpec
    """
    spec: Object = {
        "selector": {"matchLabels": dict(match_labels)},
        "endpoints": [{"port": port, "path": "/metrics", "interval": "30s"}],
    }
    if job_label:
        spec["jobLabel"] = job_label
    return _typed("ServiceMonitor", meta(namespace, name, labels), spec)


def pod_monitor(
    namespace: str,
    name: str,
    match_labels: dict[str, str],
    port: str = "http",
    job_label: str | None = None,
) -> Object:
    """A PodMonitor; ``job`` is ``NAMESPACE/NAME`` of the PodMonitor unless ``jobLabel``.
    https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PodMonitorSpec
    """
    spec: Object = {
        "selector": {"matchLabels": dict(match_labels)},
        "podMetricsEndpoints": [{"port": port, "path": "/metrics"}],
    }
    if job_label:
        spec["jobLabel"] = job_label
    return _typed("PodMonitor", meta(namespace, name), spec)


def rollout(
    namespace: str,
    name: str,
    match_labels: dict[str, str],
    image: str,
    replicas: int = 2,
    strategy: str = "canary",
) -> Object:
    """An Argo Rollouts Rollout, healthy, with a canary (or blueGreen) strategy.
    https://argo-rollouts.readthedocs.io/en/stable/features/specification/"""
    strategies = {
        "canary": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
        "blueGreen": {"blueGreen": {"activeService": name, "previewService": f"{name}-preview"}},
    }
    if strategy not in strategies:
        raise ValueError(f"Rollout strategy {strategy!r}: one of {sorted(strategies)}")
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(match_labels)},
        "template": {
            "metadata": {"labels": dict(match_labels)},
            "spec": {"containers": [{"name": "app", "image": image}]},
        },
        "strategy": strategies[strategy],
    }
    status = {
        "phase": "Healthy",
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "HPAReplicas": replicas,
        "selector": ",".join(f"{k}={v}" for k, v in match_labels.items()),
        "observedGeneration": "1",
    }
    return _typed("Rollout", meta(namespace, name), spec, status)


def helm_release(
    namespace: str,
    name: str,
    chart: str,
    version: str = "1.0.0",
    release_name: str | None = None,
    target_namespace: str | None = None,
    storage_namespace: str | None = None,
    ready: bool = True,
) -> Object:
    """A Flux HelmRelease (helm.toolkit.fluxcd.io/v2). Without ``releaseName`` Flux names the
    release ``[TARGET_NAMESPACE-]NAME``, installs it in the target namespace (else the
    HelmRelease's own), and keeps Helm's record of it in ``storageNamespace``, else in the
    HelmRelease's own namespace (not the target's).
    https://fluxcd.io/flux/components/helm/helmreleases/#release-name
    https://fluxcd.io/flux/components/helm/helmreleases/#storage-namespace
    https://github.com/fluxcd/helm-controller/blob/main/api/v2/helmrelease_types.go
    (GetReleaseName, GetReleaseNamespace, GetStorageNamespace)
    """
    spec: Object = {
        "interval": "10m",
        "chart": {
            "spec": {
                "chart": chart,
                "version": version,
                "sourceRef": {"kind": "HelmRepository", "name": chart},
            }
        },
    }
    if release_name:
        spec["releaseName"] = release_name
    if target_namespace:
        spec["targetNamespace"] = target_namespace
    if storage_namespace:
        spec["storageNamespace"] = storage_namespace
    effective = release_name or (f"{target_namespace}-{name}" if target_namespace else name)
    installed_in = target_namespace or namespace
    stored_in = storage_namespace or namespace
    message = f"Helm install succeeded for release {installed_in}/{effective}.v1"
    status = {
        "conditions": _ready(message, ready),
        "storageNamespace": stored_in,
        "history": [
            {
                "name": effective,
                "namespace": installed_in,
                "version": 1,
                "chartName": chart,
                "chartVersion": version,
                "status": "deployed",
            }
        ],
    }
    return _typed("HelmRelease", meta(namespace, name), spec, status)


def kustomization(
    namespace: str,
    name: str,
    path: str,
    source: str = "flux-system",
    target_namespace: str | None = None,
    prune: bool = True,
    ready: bool = True,
) -> Object:
    """A Flux Kustomization (kustomize.toolkit.fluxcd.io/v1).
    https://fluxcd.io/flux/components/kustomize/kustomizations/"""
    spec: Object = {
        "interval": "10m",
        "path": path,
        "prune": prune,
        "sourceRef": {"kind": "GitRepository", "name": source},
    }
    if target_namespace:
        spec["targetNamespace"] = target_namespace
    status = {"conditions": _ready("Applied revision: main@sha1:0123abcd", ready)}
    return _typed("Kustomization", meta(namespace, name), spec, status)


def application(
    name: str,
    destination_namespace: str,
    repo: str = "https://git.example.com/deploy.git",
    path: str = ".",
    namespace: str = "argocd",
    self_heal: bool = True,
    prune: bool = True,
    sync: str = "Synced",
    health: str = "Healthy",
) -> Object:
    """An Argo CD Application, automated sync with self-heal and prune as given.
    https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/
    https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#applications"""
    spec = {
        "project": "default",
        "source": {"repoURL": repo, "path": path, "targetRevision": "HEAD"},
        "destination": {
            "server": "https://kubernetes.default.svc",
            "namespace": destination_namespace,
        },
        "syncPolicy": {"automated": {"prune": prune, "selfHeal": self_heal}},
    }
    status = {
        "sync": {"status": sync, "revision": "0123abcd"},
        "health": {"status": health},
    }
    return _typed("Application", meta(namespace, name), spec, status)


def helm_release_record(namespace: str, release: str, version: int = 1) -> Object:
    """The Secret Helm 3 keeps a release's revision in (its default storage driver): named
    ``sh.helm.release.v1.RELEASE.vVERSION``, labelled owner=helm, name, status and version; its
    data (the release, gzipped) is left out here.
    https://helm.sh/docs/topics/advanced/#storage-backends
    https://github.com/helm/helm/blob/main/pkg/storage/driver/secrets.go"""
    labels = {"owner": "helm", "name": release, "status": "deployed", "version": str(version)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(namespace, f"sh.helm.release.v1.{release}.v{version}", labels),
        "type": "helm.sh/release.v1",
        "data": {},
    }
