"""Step 3, index and resolve: objects by kind, namespace and name, and what points at what.

Selector semantics are Kubernetes' own
(https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors):
``matchLabels`` and ``matchExpressions`` are ANDed; an expression's operator is In, NotIn,
Exists or DoesNotExist. Each consumer says what an empty or absent selector means (below).
Objects without a namespace are applied into whatever namespace the deployer's context names,
so they are taken to share that one unknown namespace with each other, and no other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service_runbooks.discovery.model import KubeObject, Origin

# Kinds a runbook can serve, with the API group each is read from.
WORKLOAD_KINDS = {"Deployment": "apps", "StatefulSet": "apps", "Rollout": "argoproj.io"}
# Other pod owners, named as siblings on the pages (datastores, caches, jobs).
SIBLING_KINDS = frozenset({*WORKLOAD_KINDS, "DaemonSet", "CronJob", "Job"})


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def is_workload(obj: KubeObject) -> bool:
    return WORKLOAD_KINDS.get(obj.kind) == group_of(obj.api_version)


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key, operator = str(expression.get("key")), expression.get("operator")
    values = expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False  # an operator Kubernetes does not know selects nothing


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector (matchLabels + matchExpressions) selects ``labels``.

    An empty selector ({}) matches everything, as the LabelSelector type says; callers for which
    an empty or absent selector means "nothing" (a Service) check that first.
    """
    if not isinstance(selector, Mapping):
        return False
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        return False
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    return all(isinstance(e, Mapping) and _expression_matches(e, labels) for e in expressions)


def pod_labels(workload: KubeObject) -> dict[str, Any]:
    labels = workload.get("spec", "template", "metadata", "labels")
    return dict(labels) if isinstance(labels, Mapping) else {}


@dataclass
class ObjectIndex:
    """Objects by (kind, namespace, name), and by kind."""

    objects: list[KubeObject]
    by_key: dict[tuple[str, str | None, str], KubeObject] = field(default_factory=dict)
    by_kind: dict[str, list[KubeObject]] = field(default_factory=dict)
    _workloads: list[KubeObject] | None = field(default=None, repr=False)
    _positions: dict[int, int] = field(default_factory=dict, repr=False)
    # By kind and deployment (``deployment_of``), then by namespace too: each workload's
    # relations are looked up there, not in the whole fleet's objects.
    _by_deployment: dict[tuple[str, Origin | None], list[KubeObject]] = field(
        default_factory=dict, repr=False
    )
    _by_namespace: dict[tuple[str, Origin | None, str | None], list[KubeObject]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        self._positions = {id(obj): number for number, obj in enumerate(self.objects)}
        for obj in self.objects:
            self.by_key.setdefault((obj.kind, obj.namespace, obj.name), obj)
            self.by_kind.setdefault(obj.kind, []).append(obj)
            deployment = deployment_of(obj)
            self._by_deployment.setdefault((obj.kind, deployment), []).append(obj)
            self._by_namespace.setdefault((obj.kind, deployment, obj.namespace), []).append(obj)

    def position(self, obj: KubeObject) -> int:
        """Where ``obj`` is in the order the objects were read."""
        return self._positions[id(obj)]

    def get(self, kind: str, namespace: str | None, name: str) -> KubeObject | None:
        return self.by_key.get((kind, namespace, name))

    def kind(
        self, kind: str, seen_from: KubeObject, *, any_namespace: bool = False
    ) -> list[KubeObject]:
        """Objects of ``kind`` deployed with ``seen_from``: in its namespace (unless
        ``any_namespace``), and from the same build (see ``same_deployment``), in the order read."""
        deployment = deployment_of(seen_from)
        if any_namespace:
            return list(self._by_deployment.get((kind, deployment), []))
        return list(self._by_namespace.get((kind, deployment, seen_from.namespace), []))

    def workloads(self) -> list[KubeObject]:
        """Every workload, computed once (each workload's facts ask for them)."""
        if self._workloads is None:
            self._workloads = [obj for obj in self.objects if is_workload(obj)]
        return self._workloads


def deployment_of(obj: KubeObject) -> Origin | None:
    """What an object is applied with: its build (a Kustomize root's, a chart's, a cluster's
    read), or None for every plain manifest alike."""
    return obj.origin if obj.origin.built_by is not None else None


def same_deployment(a: KubeObject, b: KubeObject) -> bool:
    """Whether two objects are applied together: built by the same Kustomize root, or both from
    plain manifests. Two overlays (staging, production) never see each other's objects."""
    return deployment_of(a) == deployment_of(b)


def index_objects(objects: list[KubeObject]) -> ObjectIndex:
    return ObjectIndex(list(objects))


@dataclass
class ServiceMonitorTarget:
    """A ServiceMonitor whose Service selects the workload's pods, and that Service."""

    monitor: KubeObject
    service: KubeObject


@dataclass
class Relations:
    """The objects that point at one workload."""

    workload: KubeObject
    hpas: list[KubeObject] = field(default_factory=list)
    pdbs: list[KubeObject] = field(default_factory=list)
    services: list[KubeObject] = field(default_factory=list)
    service_monitors: list[ServiceMonitorTarget] = field(default_factory=list)
    pod_monitors: list[KubeObject] = field(default_factory=list)
    siblings: list[KubeObject] = field(default_factory=list)


def hpas_for(index: ObjectIndex, workload: KubeObject) -> list[KubeObject]:
    """HPAs whose ``spec.scaleTargetRef`` (kind, name; same namespace) is the workload
    (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/)."""
    found = []
    for hpa in index.kind("HorizontalPodAutoscaler", workload):
        target = hpa.get("spec", "scaleTargetRef") or {}
        if (
            isinstance(target, Mapping)
            and target.get("kind") == workload.kind
            and target.get("name") == workload.name
        ):
            found.append(hpa)
    return found


def pdbs_for(index: ObjectIndex, workload: KubeObject) -> list[KubeObject]:
    """PDBs selecting the workload's pods. In policy/v1 a null selector selects no pods and an
    empty one every pod of the namespace
    (https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/pod-disruption-budget-v1/)."""
    labels = pod_labels(workload)
    return [
        pdb
        for pdb in index.kind("PodDisruptionBudget", workload)
        if pdb.get("spec", "selector") is not None
        and selector_matches(pdb.get("spec", "selector"), labels)
    ]


def services_for(index: ObjectIndex, workload: KubeObject) -> list[KubeObject]:
    """Services whose ``spec.selector`` (a plain map, every pair must match) selects the pods; an
    empty or absent selector selects none (its endpoints are managed elsewhere:
    https://kubernetes.io/docs/concepts/services-networking/service/#services-without-selectors)."""
    labels = pod_labels(workload)
    found = []
    for service in index.kind("Service", workload):
        selector = service.get("spec", "selector")
        if (
            isinstance(selector, Mapping)
            and selector
            and selector_matches({"matchLabels": selector}, labels)
        ):
            found.append(service)
    return found


def _namespaces_selected(monitor: KubeObject, namespace: str | None) -> bool:
    """A monitor's ``namespaceSelector``: ``any: true`` is every namespace, ``matchNames`` those
    listed, and neither the monitor's own namespace
    (https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.NamespaceSelector)."""
    selector = monitor.get("spec", "namespaceSelector") or {}
    if not isinstance(selector, Mapping):
        return False
    if selector.get("any") is True:
        return True
    names = selector.get("matchNames") or []
    if names:
        return namespace in names
    return namespace == monitor.namespace


def service_monitors_for(
    index: ObjectIndex, workload: KubeObject, services: list[KubeObject]
) -> list[ServiceMonitorTarget]:
    """ServiceMonitors selecting one of the Services (labels of the Service, namespaces)."""
    found = []
    for monitor in index.kind("ServiceMonitor", workload, any_namespace=True):
        for service in services:
            labels = service.get("metadata", "labels") or {}
            if _namespaces_selected(monitor, service.namespace) and selector_matches(
                monitor.get("spec", "selector") or {}, labels if isinstance(labels, Mapping) else {}
            ):
                found.append(ServiceMonitorTarget(monitor, service))
    return found


def pod_monitors_for(index: ObjectIndex, workload: KubeObject) -> list[KubeObject]:
    labels = pod_labels(workload)
    return [
        monitor
        for monitor in index.kind("PodMonitor", workload, any_namespace=True)
        if _namespaces_selected(monitor, workload.namespace)
        and selector_matches(monitor.get("spec", "selector") or {}, labels)
    ]


# Labels that say which application an object belongs to
# (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
APPLICATION_LABELS = ("app.kubernetes.io/part-of", "app.kubernetes.io/instance")


def _application_labels(obj: KubeObject) -> dict[str, Any]:
    """The application labels of an object and of the pods it makes (a CronJob's job template)."""
    found: dict[str, Any] = {}
    for path in (
        ("metadata", "labels"),
        ("spec", "template", "metadata", "labels"),
        ("spec", "jobTemplate", "spec", "template", "metadata", "labels"),
    ):
        labels = obj.get(*path)
        if isinstance(labels, Mapping):
            found.update({key: labels[key] for key in APPLICATION_LABELS if key in labels})
    return found


def _shares_an_application_label(labels: dict[str, Any], other: KubeObject) -> bool:
    """Whether ``other`` has one of the application ``labels`` (a workload's, read once)."""
    if not labels:
        return False
    other_labels = _application_labels(other)
    return any(labels[key] == other_labels.get(key) for key in labels)


def siblings_of(index: ObjectIndex, workload: KubeObject) -> list[KubeObject]:
    """Other pod owners of the same application: same namespace, and a shared part-of or
    instance label, or built by the same Kustomize root."""
    same_build = workload.origin.built_by == "kustomize"
    labels = _application_labels(workload)
    return [
        other
        for other in same_namespace_pod_owners(index, workload)
        if other is not workload
        and (
            _shares_an_application_label(labels, other)
            or (same_build and other.origin == workload.origin)
        )
    ]


def same_namespace_pod_owners(index: ObjectIndex, workload: KubeObject) -> list[KubeObject]:
    """Every pod owner (``SIBLING_KINDS``) deployed with the workload in its namespace, the
    workload too, in the order read."""
    found = [obj for kind in SIBLING_KINDS for obj in index.kind(kind, workload)]
    return sorted(found, key=index.position)


def relations_for(index: ObjectIndex, workload: KubeObject) -> Relations:
    services = services_for(index, workload)
    return Relations(
        workload,
        hpas=hpas_for(index, workload),
        pdbs=pdbs_for(index, workload),
        services=services,
        service_monitors=service_monitors_for(index, workload, services),
        pod_monitors=pod_monitors_for(index, workload),
        siblings=siblings_of(index, workload),
    )
