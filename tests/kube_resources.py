"""What the fake Kubernetes API server of tests/kube_api.py knows about each resource type.

One table, ``RESOURCES``, is the source of truth for every type the server serves: its group and
version, its kind, the short names and categories kubectl resolves (``hpa``, ``hr``, ``all``),
its subresources, whether it is a custom resource, and the columns the server prints it with
when kubectl asks for a Table. From it come the discovery documents (legacy and aggregated),
the Tables, and the Status objects of the errors the server answers (NotFound, Forbidden,
Invalid, ...), shaped as the real API server shapes them so that kubectl prints the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Object = dict[str, Any]

# The verbs discovery lists for a served type, as a real API server lists them for the built-in
# types and for custom resources.
# https://kubernetes.io/docs/reference/using-api/api-concepts/#api-verbs
VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# The server prints an age as text, for the built-in types and for a custom resource's `date`
# columns alike (apiextensions-apiserver's table convertor turns the timestamp into a duration:
# https://github.com/kubernetes/kubernetes/blob/v1.32.4/staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor/tableconvertor.go
# ); this fixed one keeps records and output the same from run to run.
AGE = "3d"


@dataclass(frozen=True)
class Column:
    """One column of a Table: the header, its type, and how a cell is read from an object.
    https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables
    """

    name: str
    type: str  # "string", "integer" or "date"
    cell: Callable[[Object], Any]
    priority: int = 0  # 1: only with -o wide


@dataclass(frozen=True)
class Subresource:
    """A subresource as discovery describes it (``deployments/scale``)."""

    name: str
    group_version: str
    kind: str
    verbs: tuple[str, ...]


# The scale subresource answers an autoscaling/v1 Scale for every type that has one, built-in
# or custom; kubectl's scale client finds its group, version and kind in discovery.
# https://kubernetes.io/docs/reference/kubernetes-api/autoscaling/scale-v1/
# https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#scale-subresource
SCALE = Subresource("scale", "autoscaling/v1", "Scale", ("get", "patch", "update"))
EXEC = Subresource("exec", "v1", "PodExecOptions", ("create", "get"))
# A pod's log (`kubectl logs`): a GET of pods/log, answered as text.
# https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-read-log-of-the-specified-pod
LOG = Subresource("log", "v1", "Pod", ("get",))


@dataclass(frozen=True)
class Resource:
    """One resource type the server knows: where it lives and how discovery describes it."""

    plural: str
    kind: str
    group_version: str  # "v1" for the core group
    short_names: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()  # after Name, which every Table starts with
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    custom: bool = False  # served from a CustomResourceDefinition
    namespaced: bool = True
    verbs: tuple[str, ...] = VERBS

    @property
    def group(self) -> str:
        return self.group_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.group_version.rpartition("/")[2]

    @property
    def qualified(self) -> str:
        """``deployments.apps`` (``pods`` in the core group): how errors name the type
        (schema.GroupResource.String())."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """``Deployment.apps``: how an Invalid error names the type (schema.GroupKind)."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def prefix(self) -> str:
        return "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"

    def path(self, namespace: str, name: str | None = None) -> str:
        path = f"{self.prefix}/namespaces/{namespace}/{self.plural}"
        return f"{path}/{name}" if name else path

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


# --- cells -----------------------------------------------------------------------------------


def _at(obj: Object, *path: str, default: Any = None) -> Any:
    node: Any = obj
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _condition(field: str) -> Callable[[Object], Any]:
    """``.status.conditions[?(@.type=="Ready")].<field>``, the Flux CRDs' printer columns."""

    def cell(obj: Object) -> Any:
        for condition in _at(obj, "status", "conditions", default=[]):
            if condition.get("type") == "Ready":
                return condition.get(field)
        return None

    return cell


def _path(*path: str) -> Callable[[Object], Any]:
    return lambda obj: _at(obj, *path)


def _age(_: Object) -> str:
    return AGE


def _containers(obj: Object) -> list[Object]:
    return _at(obj, "spec", "template", "spec", "containers", default=[])


def _selector_text(obj: Object) -> str:
    labels = _at(obj, "spec", "selector", "matchLabels", default=None)
    if labels is None:  # a Service's selector is the map itself
        labels = _at(obj, "spec", "selector", default={}) or {}
    return ",".join(f"{k}={v}" for k, v in labels.items()) or "<none>"


def _pod_ready(pod: Object) -> str:
    statuses = pod["status"].get("containerStatuses", [])
    running = pod["status"].get("phase") == "Running"
    ready = sum(c["ready"] for c in statuses) if running else 0
    return f"{ready}/{len(pod['spec']['containers'])}"


def _pod_restarts(pod: Object) -> int:
    return sum(c["restartCount"] for c in pod["status"].get("containerStatuses", []))


def _ports(service: Object) -> str:
    ports = _at(service, "spec", "ports", default=[])
    return ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _hpa_targets(hpa: Object) -> str:
    targets = []
    for metric in _at(hpa, "spec", "metrics", default=[]):
        resource = metric.get("resource", {})
        utilization = _at(resource, "target", "averageUtilization")
        if utilization is not None:
            targets.append(f"{resource['name']}: <unknown>/{utilization}%")
    return ", ".join(targets) or "<none>"


def _or_na(*path: str) -> Callable[[Object], str]:
    return lambda obj: str(_at(obj, *path, default="N/A"))


def _owner_text(obj: Object) -> str:
    for ref in obj["metadata"].get("ownerReferences", []):
        if ref.get("controller"):
            group = ref["apiVersion"].rpartition("/")[0]
            return f"{ref['kind'].lower()}.{group}/{ref['name']}" if group else ref["name"]
    return "<none>"


# The built-in types' columns are those of the API server's printers (kubectl get prints what
# the server sends): https://github.com/kubernetes/kubernetes/blob/v1.32.4/pkg/printers/internalversion/printers.go
# A custom resource's are its CRD's additionalPrinterColumns, Age (a date) when it has none:
# https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#additional-printer-columns
_WORKLOAD_WIDE = (
    Column("Containers", "string", lambda o: ",".join(c["name"] for c in _containers(o)), 1),
    Column("Images", "string", lambda o: ",".join(c["image"] for c in _containers(o)), 1),
)
_FLUX_COLUMNS = (
    Column("Age", "date", _age),
    Column("Ready", "string", _condition("status")),
    Column("Status", "string", _condition("message")),
)
_CRD_AGE = (Column("Age", "date", _age),)

RESOURCES = (
    Resource(
        "pods",
        "Pod",
        "v1",
        ("po",),
        (
            Column("Ready", "string", _pod_ready),
            Column("Status", "string", _path("status", "phase")),
            Column("Restarts", "integer", _pod_restarts),
            Column("Age", "string", _age),
        ),
        ("all",),
        (EXEC, LOG),
    ),
    Resource(
        "services",
        "Service",
        "v1",
        ("svc",),
        (
            Column("Type", "string", _path("spec", "type")),
            Column("Cluster-IP", "string", _path("spec", "clusterIP")),
            Column("External-IP", "string", lambda _: "<none>"),
            Column("Port(s)", "string", _ports),
            Column("Age", "string", _age),
            Column("Selector", "string", _selector_text, 1),
        ),
        ("all",),
    ),
    Resource(
        "deployments",
        "Deployment",
        "apps/v1",
        ("deploy",),
        (
            Column(
                "Ready",
                "string",
                lambda o: f"{_at(o, 'status', 'readyReplicas', default=0)}/{o['spec']['replicas']}",
            ),
            Column("Up-to-date", "integer", _path("status", "updatedReplicas")),
            Column("Available", "integer", _path("status", "availableReplicas")),
            Column("Age", "string", _age),
            *_WORKLOAD_WIDE,
            Column("Selector", "string", _selector_text, 1),
        ),
        ("all",),
        (SCALE,),
    ),
    Resource(
        "statefulsets",
        "StatefulSet",
        "apps/v1",
        ("sts",),
        (
            Column(
                "Ready",
                "string",
                lambda o: f"{_at(o, 'status', 'readyReplicas', default=0)}/{o['spec']['replicas']}",
            ),
            Column("Age", "string", _age),
            *_WORKLOAD_WIDE,
        ),
        ("all",),
        (SCALE,),
    ),
    Resource(
        "replicasets",
        "ReplicaSet",
        "apps/v1",
        ("rs",),
        (
            Column("Desired", "integer", _path("spec", "replicas")),
            Column("Current", "integer", lambda o: _at(o, "status", "replicas", default=0)),
            Column("Ready", "integer", lambda o: _at(o, "status", "readyReplicas", default=0)),
            Column("Age", "string", _age),
        ),
        ("all",),
        (SCALE,),
    ),
    Resource(
        "controllerrevisions",
        "ControllerRevision",
        "apps/v1",
        (),
        (
            Column("Controller", "string", _owner_text),
            Column("Revision", "integer", _path("revision")),
            Column("Age", "string", _age),
        ),
    ),
    Resource(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
        ("hpa",),
        (
            Column(
                "Reference",
                "string",
                lambda o: (
                    f"{o['spec']['scaleTargetRef']['kind']}/{o['spec']['scaleTargetRef']['name']}"
                ),
            ),
            Column("Targets", "string", _hpa_targets),
            Column("MinPods", "string", lambda o: str(o["spec"].get("minReplicas", 1))),
            Column("MaxPods", "integer", _path("spec", "maxReplicas")),
            Column("Replicas", "integer", lambda o: _at(o, "status", "currentReplicas", default=0)),
            Column("Age", "string", _age),
        ),
        ("all",),
    ),
    Resource(
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        "policy/v1",
        ("pdb",),
        (
            Column("Min Available", "string", _or_na("spec", "minAvailable")),
            Column("Max Unavailable", "string", _or_na("spec", "maxUnavailable")),
            Column(
                "Allowed Disruptions",
                "integer",
                lambda o: _at(o, "status", "disruptionsAllowed", default=0),
            ),
            Column("Age", "string", _age),
        ),
    ),
    # https://github.com/prometheus-operator/prometheus-operator/blob/main/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
    Resource(
        "servicemonitors",
        "ServiceMonitor",
        "monitoring.coreos.com/v1",
        ("smon",),
        _CRD_AGE,
        ("prometheus-operator",),
        custom=True,
    ),
    # https://github.com/prometheus-operator/prometheus-operator/blob/main/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml
    Resource(
        "podmonitors",
        "PodMonitor",
        "monitoring.coreos.com/v1",
        ("pmon",),
        _CRD_AGE,
        ("prometheus-operator",),
        custom=True,
    ),
    # https://github.com/argoproj/argo-rollouts/blob/master/manifests/crds/rollout-crd.yaml
    # (its scale subresource reads .spec.replicas, .status.HPAReplicas, .status.selector)
    Resource(
        "rollouts",
        "Rollout",
        "argoproj.io/v1alpha1",
        ("ro",),
        (
            Column("Desired", "integer", _path("spec", "replicas")),
            Column("Current", "integer", _path("status", "replicas")),
            Column("Up-to-date", "integer", _path("status", "updatedReplicas")),
            Column("Available", "integer", _path("status", "availableReplicas")),
            Column("Age", "date", _age),
        ),
        subresources=(SCALE,),
        custom=True,
    ),
    # https://github.com/argoproj/argo-cd/blob/master/manifests/crds/application-crd.yaml
    Resource(
        "applications",
        "Application",
        "argoproj.io/v1alpha1",
        ("app", "apps"),
        (
            Column("Sync Status", "string", _path("status", "sync", "status")),
            Column("Health Status", "string", _path("status", "health", "status")),
            Column("Revision", "string", _path("status", "sync", "revision"), 10),
            Column("Project", "string", _path("spec", "project"), 10),
        ),
        custom=True,
    ),
    # https://github.com/fluxcd/helm-controller/blob/main/config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml
    Resource(
        "helmreleases",
        "HelmRelease",
        "helm.toolkit.fluxcd.io/v2",
        ("hr",),
        _FLUX_COLUMNS,
        custom=True,
    ),
    # https://github.com/fluxcd/kustomize-controller/blob/main/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml
    Resource(
        "kustomizations",
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
        ("ks",),
        _FLUX_COLUMNS,
        custom=True,
    ),
    # Helm's release records (its default storage driver), read by `check --drift --cluster`.
    # https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/
    Resource(
        "secrets",
        "Secret",
        "v1",
        (),
        (
            Column("Type", "string", _path("type")),
            Column("Data", "integer", lambda o: len(o.get("data") or {})),
            Column("Age", "string", _age),
        ),
    ),
    # What the runbooks' diagnosis reads besides the workload: events (`kubectl events`, and
    # `kubectl describe`'s Events), claims, network policies.
    # https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/
    # https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/persistent-volume-claim-v1/
    # https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
    Resource("events", "Event", "v1", ("ev",)),
    Resource(
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        "v1",
        ("pvc",),
        (Column("Status", "string", _path("status", "phase")), Column("Age", "string", _age)),
    ),
    Resource("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1", ("netpol",)),
    # Cluster-scoped: kubectl cordon, uncordon and drain patch one.
    # https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/
    Resource("nodes", "Node", "v1", ("no",), namespaced=False),
    # Cluster-scoped; kubectl reads a namespace to tell "no such object" from "no such namespace".
    # https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/
    Resource(
        "namespaces",
        "Namespace",
        "v1",
        ("ns",),
        (Column("Status", "string", _path("status", "phase")), Column("Age", "string", _age)),
        namespaced=False,
    ),
    # A question, not an object: every authenticated user may ask it (the system:basic-user
    # ClusterRole), and nothing is stored.
    # https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access
    Resource(
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        "authorization.k8s.io/v1",
        namespaced=False,
        verbs=("create",),
    ),
)
RESOURCE_BY_PLURAL = {r.plural: r for r in RESOURCES}
RESOURCE_BY_KIND = {r.kind: r for r in RESOURCES}
ACCESS_REVIEW = RESOURCE_BY_PLURAL["selfsubjectaccessreviews"]
assert len(RESOURCE_BY_PLURAL) == len(RESOURCE_BY_KIND) == len(RESOURCES), "plural, kind unique"


# The resource metrics API (metrics-server's, `kubectl top`): pods again, in another group, so it
# is discovered but not stored (tests/kube_api.py answers it from the stored pods).
# https://kubernetes.io/docs/tasks/debug/debug-cluster/resource-metrics-pipeline/#metrics-api
POD_METRICS = Resource("pods", "PodMetrics", "metrics.k8s.io/v1beta1", verbs=("get", "list"))
DISCOVERED = (*RESOURCES, POD_METRICS)


def group_versions() -> list[str]:
    """The group versions served, in the order of RESOURCES (core first)."""
    return list(dict.fromkeys(r.group_version for r in DISCOVERED))


# --- discovery -------------------------------------------------------------------------------
# Legacy discovery: /api, /apis, then one APIResourceList per group version.
# https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api


def api_versions() -> Object:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def api_group_list() -> Object:
    groups = []
    for group_version in group_versions():
        group, _, version = group_version.rpartition("/")
        if group:
            entry = {"groupVersion": group_version, "version": version}
            groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(group_version: str) -> Object:
    resources: list[Object] = []
    for r in DISCOVERED:
        if r.group_version != group_version:
            continue
        resources.append(
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
                "shortNames": list(r.short_names),
                "categories": list(r.categories),
            }
        )
        for sub in r.subresources:
            group, _, version = sub.group_version.rpartition("/")
            resources.append(
                {
                    "name": f"{r.plural}/{sub.name}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "group": group,
                    "version": version,
                    "kind": sub.kind,
                    "verbs": list(sub.verbs),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


# Aggregated discovery (GA in 1.30): /api and /apis answer every group, version and resource at
# once when the client asks for it in Accept, as kubectl 1.32 does; the response's Content-Type
# says which form it is, and a client falls back to the legacy documents without it.
# https://kubernetes.io/docs/concepts/overview/kubernetes-api/#aggregated-discovery
# https://github.com/kubernetes/kubernetes/blob/v1.32.4/staging/src/k8s.io/client-go/discovery/discovery_client.go
AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """Whether an Accept header asks for aggregated discovery v2 (parameters in any order)."""
    for media_range in accept.split(","):
        base, *params = (part.strip() for part in media_range.split(";"))
        values = dict(p.split("=", 1) for p in params if "=" in p)
        wanted = {"g": "apidiscovery.k8s.io", "v": "v2", "as": "APIGroupDiscoveryList"}
        if base == "application/json" and all(values.get(k) == v for k, v in wanted.items()):
            return True
    return False


def _kind_of(group_version: str, kind: str) -> Object:
    group, _, version = group_version.rpartition("/")
    return {"group": group, "version": version, "kind": kind}


def _aggregated_resource(r: Resource) -> Object:
    return {
        "resource": r.plural,
        "responseKind": _kind_of(r.group_version, r.kind),
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.kind.lower(),
        "verbs": list(r.verbs),
        "shortNames": list(r.short_names),
        "categories": list(r.categories),
        "subresources": [
            {
                "subresource": s.name,
                "responseKind": _kind_of(s.group_version, s.kind),
                "verbs": list(s.verbs),
            }
            for s in r.subresources
        ],
    }


def aggregated_discovery(core: bool) -> Object:
    """The APIGroupDiscoveryList of /api (``core``) or /apis."""
    items = []
    for group_version in group_versions():
        group, _, version = group_version.rpartition("/")
        if bool(group) == core:
            continue
        resources = [
            _aggregated_resource(r) for r in DISCOVERED if r.group_version == group_version
        ]
        items.append(
            {
                "metadata": {"name": group},
                "versions": [{"version": version, "resources": resources, "freshness": "Current"}],
            }
        )
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": items}


# --- tables ----------------------------------------------------------------------------------


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def table(resource: Resource, objects: list[Object], version: str, include: str | None) -> Object:
    """Objects as the API server prints them for ``kubectl get`` (it asks for a Table; without
    one kubectl shows only NAME and AGE). ``include`` is the includeObject parameter: Metadata
    (the default) sends each row's metadata, Object the whole object, None nothing.
    https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables
    """
    columns = (Column("Name", "string", lambda o: o["metadata"]["name"]), *resource.columns)
    rows = []
    for obj in objects:
        row: Object = {"cells": [column.cell(obj) for column in columns]}
        if include == "Object":
            row["object"] = obj
        elif include in (None, "Metadata"):
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    definitions = [
        {"name": c.name, "type": c.type, "format": "name" if c.name == "Name" else ""}
        | ({"priority": c.priority} if c.priority else {})
        for c in columns
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version},
        "columnDefinitions": definitions,
        "rows": rows,
    }


# --- errors ----------------------------------------------------------------------------------
# The Status object of a failed request; kubectl prints "Error from server (<reason>): <message>".
# https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/
# The messages are those of k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewForbidden,
# NewInvalid, NewAlreadyExists, NewBadRequest):
# https://github.com/kubernetes/kubernetes/blob/v1.32.4/staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go


class ApiError(Exception):
    """A request the server refuses, with the Status it answers."""

    def __init__(self, status: Object) -> None:
        super().__init__(status["message"])
        self.status = status

    @property
    def code(self) -> int:
        return int(self.status["code"])


def status(code: int, reason: str, message: str, details: Object | None = None) -> Object:
    body: Object = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def _details(resource: Resource, name: str) -> Object:
    return {"name": name, "group": resource.group, "kind": resource.plural}


def not_found(resource: Resource, name: str) -> ApiError:
    message = f'{resource.qualified} "{name}" not found'
    return ApiError(status(404, "NotFound", message, _details(resource, name)))


def already_exists(resource: Resource, name: str) -> ApiError:
    message = f'{resource.qualified} "{name}" already exists'
    return ApiError(status(409, "AlreadyExists", message, _details(resource, name)))


def conflict(resource: Resource, name: str, why: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {resource.qualified} "{name}": {why}'
    return ApiError(status(409, "Conflict", message, _details(resource, name)))


def bad_request(message: str) -> ApiError:
    return ApiError(status(400, "BadRequest", message))


def unsupported_media_type(message: str) -> ApiError:
    return ApiError(status(415, "UnsupportedMediaType", message))


def forbidden(resource: Resource, name: str | None, why: str) -> ApiError:
    """``deployments.apps "x" is forbidden: User "u" cannot patch resource ...``; without a
    name (a list): ``pods is forbidden: ...``."""
    subject = f'{resource.qualified} "{name}"' if name else resource.qualified
    details = _details(resource, name or "")
    return ApiError(status(403, "Forbidden", f"{subject} is forbidden: {why}", details))


@dataclass(frozen=True)
class FieldError:
    """One field error of an Invalid answer (k8s.io/apimachinery/pkg/util/validation/field)."""

    field: str
    value: Any
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: Invalid value: {self.value}: {self.detail}"


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """422 Invalid: ``Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1: ...``
    (several errors are listed in brackets, comma-separated)."""
    qualified = f"{kind}.{group}" if group else kind
    listed = str(errors[0]) if len(errors) == 1 else f"[{', '.join(map(str, errors))}]"
    details = {
        "name": name,
        "group": group,
        "kind": kind,
        "causes": [
            {"reason": "FieldValueInvalid", "message": f"Invalid value: {e.value}: {e.detail}"}
            | {"field": e.field}
            for e in errors
        ],
    }
    message = f'{qualified} "{name}" is invalid: {listed}'
    return ApiError(status(422, "Invalid", message, details))
