"""A recording fake Kubernetes API server, for running the real ``kubectl`` in tests.

No API server can be installed here, so this one (standard library ``http.server`` on 127.0.0.1,
a random port) answers what kubectl asks for: the version, the legacy discovery documents
(``/api``, ``/apis``, ``/api/v1``, ``/apis/apps/v1``), and the objects of an in-memory
``Cluster``: Deployments and StatefulSets with their history (ReplicaSets carrying the
``deployment.kubernetes.io/revision`` annotation, ControllerRevisions with a ``revision`` field,
both owned by their workload as kubectl checks) and pods. It serves GET (one object, or a list
filtered by ``labelSelector`` and ``fieldSelector``, or a watch that sends no event), applies
PATCH (JSON patch, merge patch, and enough of a strategic merge patch for ``rollout undo``)
and DELETE, and answers ``kubectl exec`` over WebSocket with canned output. Every request is
recorded, with the name of the server that got it: a test gives each kubeconfig context its own
server and asserts which one kubectl talked to.

A write without ``dryRun=All`` is kept, and a stand-in for the controllers finishes the rollout
at once (new generation observed, the matching ReplicaSet or ControllerRevision becomes the
newest revision), so a following GET or ``kubectl rollout status`` sees the result.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Object = dict[str, Any]

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# kubectl rollout history/undo number a Deployment's ReplicaSets by this annotation, and a
# StatefulSet's ControllerRevisions by their `revision` field; both must be controlled by
# (have an owner reference to) the workload.
# https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-back-a-deployment
# https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/controller-revision-v1/
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
# kubectl 1.32 (the dispatcher on this machine picks its kubectl by the server's minor version).
SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"}


@dataclass(frozen=True)
class Resource:
    """One resource type the server knows: where it lives and how discovery describes it."""

    plural: str
    kind: str
    group_version: str  # "v1" for the core group
    short_names: tuple[str, ...] = ()


RESOURCES = (
    Resource("pods", "Pod", "v1", ("po",)),
    Resource("deployments", "Deployment", "apps/v1", ("deploy",)),
    Resource("statefulsets", "StatefulSet", "apps/v1", ("sts",)),
    Resource("replicasets", "ReplicaSet", "apps/v1", ("rs",)),
    Resource("controllerrevisions", "ControllerRevision", "apps/v1"),
)
RESOURCE_BY_PLURAL = {r.plural: r for r in RESOURCES}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Request:
    """One request as it reached a server."""

    server: str  # the name of the fake server (one per kubeconfig cluster)
    method: str
    path: str
    query: dict[str, list[str]]  # every value of each parameter (exec repeats `command`)
    body: Any  # the JSON body, parsed; None without one
    content_type: str = ""

    @property
    def dry_run(self) -> bool:
        """``dryRun=All`` in the query (patch, create), or in the DeleteOptions body (delete,
        as kubectl sends it). https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run
        """
        in_body = isinstance(self.body, dict) and self.body.get("dryRun") == ["All"]
        return self.param("dryRun") == "All" or in_body

    def param(self, key: str) -> str | None:
        """A query parameter's (last) value, None when it is absent."""
        values = self.query.get(key)
        return values[-1] if values else None

    @property
    def is_exec(self) -> bool:
        return self.path.endswith("/exec")

    @property
    def mutating(self) -> bool:
        """Would change a stored object (an exec runs a command, it changes no object)."""
        return self.method in MUTATING_METHODS and not self.is_exec

    @property
    def namespace(self) -> str | None:
        match = re.search(r"/namespaces/([^/]+)/", self.path)
        return match.group(1) if match else None

    @property
    def resource(self) -> str | None:
        """The resource type addressed (``deployments``), None for discovery."""
        parts = _resource_parts(self.path)
        return parts[1] if parts else None

    @property
    def name(self) -> str | None:
        parts = _resource_parts(self.path)
        return parts[2] if parts else None


def _resource_parts(path: str) -> tuple[str | None, str, str | None, str | None] | None:
    """(namespace, plural, name, subresource) of an object path, None for other paths."""
    match = re.fullmatch(
        r"/(?:api/v1|apis/[^/]+/[^/]+)(?:/namespaces/([^/]+))?/([^/]+)(?:/([^/]+))?(?:/([^/]+))?",
        path,
    )
    if not match or match.group(2) not in RESOURCE_BY_PLURAL:
        return None
    namespace, plural, name, sub = match.groups()
    return namespace, plural, name, sub


# --- label and field selectors ---------------------------------------------------------------
# https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
# https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/


def split_requirements(selector: str) -> list[str]:
    """Split on the commas that are not inside a set, ``in (a,b)``."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p for p in [*parts, current.strip()] if p]


def matches_selector(values: dict[str, str], selector: str) -> bool:
    """Whether a label (or field) map satisfies a selector string, as kubectl sends it."""
    for requirement in split_requirements(selector):
        if not _matches_requirement(values, requirement):
            return False
    return True


def _matches_requirement(values: dict[str, str], requirement: str) -> bool:
    set_based = re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", requirement)
    if set_based:
        key, operator, members = set_based.groups()
        inside = values.get(key) in {m.strip() for m in members.split(",")}
        return inside if operator == "in" else not inside
    equality = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", requirement)
    if equality:
        key, operator, value = (part.strip() for part in equality.groups())
        return (values.get(key) == value) == (operator != "!=")
    if requirement.startswith("!"):
        return requirement[1:] not in values
    return requirement in values


def object_fields(obj: Object) -> dict[str, str]:
    """The fields a field selector can name, flattened to dotted keys."""
    fields = {
        "metadata.name": obj["metadata"]["name"],
        "metadata.namespace": obj["metadata"].get("namespace", ""),
    }
    if obj["kind"] == "Pod":
        fields["status.phase"] = obj.get("status", {}).get("phase", "")
        fields["spec.nodeName"] = obj.get("spec", {}).get("nodeName", "")
    return fields


# --- patches ---------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any, strategic: bool = False) -> Any:
    """RFC 7386 JSON merge patch (``--type merge``): null removes a key, lists are replaced.

    ``strategic``: a strategic merge patch, reduced to what kubectl sends here: the same, but
    ``"$patch": "replace"`` replaces the whole map (ControllerRevision data, for ``rollout
    undo``). Lists are replaced, not merged by key: the tests' lists are single-item.
    https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if strategic and patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value, strategic)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    return merge_patch(target, patch, strategic=True)


def json_patch(target: Object, operations: list[Object]) -> Object:
    """RFC 6902 JSON patch: add, replace, remove (``rollout undo`` of a Deployment sends it)."""
    result = copy.deepcopy(target)
    for operation in operations:
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]
        ]
        node = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if operation["op"] in ("add", "replace"):
            node[last] = copy.deepcopy(operation["value"])
        elif operation["op"] == "remove":
            node.pop(last, None)
        else:
            raise ValueError(f"unsupported JSON patch op {operation['op']!r}")
    return result


PATCHERS = {
    "application/json-patch+json": json_patch,
    "application/merge-patch+json": merge_patch,
    "application/strategic-merge-patch+json": strategic_merge_patch,
}


# --- the objects -----------------------------------------------------------------------------


def template_hash(template: Object) -> str:
    """A stable hash of a pod template (not the controllers' own hash: only stability matters)."""
    canonical = json.dumps(normalized(template), sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()[:10]


def pod_template(labels: dict[str, str], image: str) -> Object:
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def normalized(value: Any) -> Any:
    """A JSON value without null, empty-map and empty-list members (kubectl sends Go's zero
    values, such as ``"creationTimestamp": null`` and ``"resources": {}``, that mean nothing)."""
    if isinstance(value, dict):
        pairs = ((k, normalized(v)) for k, v in value.items())
        return {k: v for k, v in pairs if v not in (None, {}, [])}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def comparable(template: Object) -> Object:
    """A pod template as kubectl compares them: normalized, without the label the Deployment
    controller adds (``pod-template-hash``)."""
    clean = normalized(template)
    clean.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
    return clean


def template_images(template: Object) -> list[str]:
    return [c["image"] for c in template["spec"]["containers"]]


@dataclass
class Cluster:
    """The objects of one fake cluster, keyed by (plural, namespace, name).

    Build it with ``add_deployment`` / ``add_statefulset`` (one revision per image, the last one
    running); ``patch`` and ``delete`` are what the server does for kubectl.
    """

    objects: dict[tuple[str, str, str], Object] = field(default_factory=dict)
    exec_output: str = ""  # what every `kubectl exec` prints on stdout
    lock: threading.RLock = field(default_factory=threading.RLock)
    resource_version: int = 0
    _uids: int = 0

    def put(self, obj: Object) -> Object:
        with self.lock:
            metadata = obj["metadata"]
            self._uids += 1
            metadata.setdefault("uid", f"00000000-0000-0000-0000-{self._uids:012d}")
            metadata.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            metadata.setdefault("generation", 1)
            self._bump(obj)
            plural = next(r.plural for r in RESOURCES if r.kind == obj["kind"])
            self.objects[(plural, metadata["namespace"], metadata["name"])] = obj
            return obj

    def _bump(self, obj: Object) -> None:
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)

    def get(self, plural: str, namespace: str, name: str) -> Object | None:
        return self.objects.get((plural, namespace, name))

    def items(self, plural: str, namespace: str | None, selector: str = "") -> list[Object]:
        """The objects of a type (in a namespace, or all), filtered by a label selector."""
        return [
            obj
            for (kind, ns, _), obj in sorted(self.objects.items())
            if kind == plural
            and namespace in (None, ns)
            and matches_selector(obj["metadata"].get("labels", {}), selector)
        ]

    # The workloads' history, as kubectl reads it: objects the workload controls, numbered.

    def revisions(self, plural: str, namespace: str, name: str) -> dict[int, Object]:
        """A workload's history by revision number: its ReplicaSets or ControllerRevisions."""
        owner = self.get(plural, namespace, name)
        assert owner is not None, f"no {plural}/{name} in {namespace}"
        kind = "replicasets" if plural == "deployments" else "controllerrevisions"
        uid = owner["metadata"]["uid"]
        history = {
            revision_number(obj): obj
            for obj in self.items(kind, namespace)
            if any(ref["uid"] == uid for ref in obj["metadata"].get("ownerReferences", []))
        }
        return dict(sorted(history.items()))

    def revision_template(self, plural: str, namespace: str, name: str, number: int) -> Object:
        """The pod template revision N holds (comparable form)."""
        return _history_template(self.revisions(plural, namespace, name)[number])

    def _add_revision(self, workload: Object, number: int) -> Object:
        """Record the workload's template as revision ``number``, as its controller does."""
        template = comparable(workload["spec"]["template"])
        hash_ = template_hash(template)
        meta = {
            "name": f"{workload['metadata']['name']}-{hash_}",
            "namespace": workload["metadata"]["namespace"],
            "ownerReferences": [_owner(workload)],
        }
        if workload["kind"] == "Deployment":
            template["metadata"]["labels"]["pod-template-hash"] = hash_
            return self.put(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        **meta,
                        "labels": template["metadata"]["labels"],
                        "annotations": {REVISION_ANNOTATION: str(number)},
                    },
                    "spec": {
                        "replicas": 0,
                        "selector": {"matchLabels": template["metadata"]["labels"]},
                        "template": template,
                    },
                }
            )
        # The StatefulSet controller stores the template as a patch that replaces it.
        labels = {**workload["spec"]["selector"]["matchLabels"]}
        return self.put(
            {
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {**meta, "labels": {**labels, "controller.kubernetes.io/hash": hash_}},
                "data": {"spec": {"template": {**template, "$patch": "replace"}}},
                "revision": number,
            }
        )

    def _add_workload(self, workload: Object, images: list[str]) -> Object:
        """Store a workload with one revision per image; the last one runs."""
        labels = workload["spec"]["selector"]["matchLabels"]
        self.put(workload)
        for number, image in enumerate(images, start=1):
            workload["spec"]["template"] = pod_template(labels, image)
            self._add_revision(workload, number)
        self._reconcile(workload)
        return workload

    def add_deployment(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        images: list[str],
        replicas: int = 2,
    ) -> Object:
        spec = {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "RollingUpdate"},
            "progressDeadlineSeconds": 600,
        }
        return self._add_workload(_workload("Deployment", namespace, name, spec), images)

    def add_statefulset(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        images: list[str],
        replicas: int = 2,
        update_strategy: str = "RollingUpdate",
    ) -> Object:
        """``update_strategy`` OnDelete: a new template replaces no pod until it is deleted
        (and ``kubectl rollout status`` refuses such a StatefulSet).
        https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#update-strategies
        """
        strategy: Object = {"type": update_strategy}
        if update_strategy == "RollingUpdate":
            strategy["rollingUpdate"] = {"partition": 0}  # the API server's default
        spec = {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": dict(labels)},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": strategy,
        }
        return self._add_workload(_workload("StatefulSet", namespace, name, spec), images)

    def set_pod_phase(self, namespace: str, name: str, phase: str) -> None:
        """Make a pod Pending, Failed, ... (its readiness follows)."""
        pod = self.get("pods", namespace, name)
        assert pod is not None, f"no pod {name} in {namespace}"
        pod["status"]["phase"] = phase
        pod["status"]["conditions"] = [{"type": "Ready", "status": str(phase == "Running")}]
        self._reconcile_owners(pod)

    # A stand-in for the controllers, run after every kept write.

    def _reconcile(self, workload: Object) -> None:
        """The workload's template becomes its newest revision (an older revision rolled back to
        is renumbered, a new template gets a new one, as the controllers do); its pods are
        replaced at once (but for a StatefulSet with OnDelete: only the missing ones are
        created), and its status says so."""
        meta = workload["metadata"]
        plural = "deployments" if workload["kind"] == "Deployment" else "statefulsets"
        history = self.revisions(plural, meta["namespace"], meta["name"])
        wanted = comparable(workload["spec"]["template"])
        newest = max(history, default=0)
        matching = [obj for obj in history.values() if _history_template(obj) == wanted]
        current = matching[0] if matching else self._add_revision(workload, newest + 1)
        if revision_number(current) < newest:
            _set_revision(current, newest + 1)
            self._bump(current)
        replicas = workload["spec"]["replicas"]
        if workload["kind"] == "Deployment":
            for rs in history.values():
                rs["spec"]["replicas"] = replicas if rs is current else 0
                rs["status"] = {"replicas": rs["spec"]["replicas"]}
            hash_label = ("pod-template-hash", current["metadata"]["labels"]["pod-template-hash"])
            pods = self._ensure_pods(workload, current, hash_label, replace=True)
            status = _replica_counts(replicas, replicas, pods)
            status["conditions"] = [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ]
        else:
            on_delete = workload["spec"]["updateStrategy"]["type"] == "OnDelete"
            revision = current["metadata"]["name"]
            pods = self._ensure_pods(
                workload, current, ("controller-revision-hash", revision), replace=not on_delete
            )
            updated = sum(
                p["metadata"]["labels"]["controller-revision-hash"] == revision for p in pods
            )
            old = workload.get("status", {}).get("currentRevision", revision)
            status = _replica_counts(replicas, updated, pods)
            status.update(
                currentRevision=revision if updated == replicas else old,
                updateRevision=revision,
                currentReplicas=replicas if updated == replicas else replicas - updated,
                collisionCount=0,
            )
        workload["status"] = {"observedGeneration": meta["generation"], **status}

    def _ensure_pods(
        self, workload: Object, revision: Object, hash_label: tuple[str, str], replace: bool
    ) -> list[Object]:
        """The workload's pods: those of another revision deleted when ``replace``, the missing
        ones created from ``revision``."""
        meta = workload["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        selector = ",".join(
            f"{k}={v}" for k, v in workload["spec"]["selector"]["matchLabels"].items()
        )
        key, value = hash_label
        for pod in self.items("pods", namespace, selector):
            if replace and pod["metadata"]["labels"].get(key) != value:
                del self.objects[("pods", namespace, pod["metadata"]["name"])]
        template = _history_template(revision)
        for index in range(workload["spec"]["replicas"]):
            stateful = workload["kind"] == "StatefulSet"
            pod_name = f"{name}-{index}" if stateful else f"{name}-{value[-5:]}-{index}"
            if self.get("pods", namespace, pod_name) is None:
                self.put(
                    _pod(
                        namespace,
                        pod_name,
                        template,
                        hash_label,
                        revision if not stateful else workload,
                    )
                )
        return self.items("pods", namespace, selector)

    # What the server does for kubectl.

    def patch(
        self, plural: str, namespace: str, name: str, patch_type: str, body: Any, dry_run: bool
    ) -> Object | None:
        """Apply a patch; keep it (and let the controllers act) unless it is a dry run."""
        with self.lock:
            stored = self.get(plural, namespace, name)
            if stored is None:
                return None
            patched = PATCHERS[patch_type](stored, body)
            if patched.get("spec") != stored.get("spec"):
                patched["metadata"]["generation"] = stored["metadata"]["generation"] + 1
            if dry_run:
                return patched
            self._bump(patched)
            self.objects[(plural, namespace, name)] = patched
            if plural in ("deployments", "statefulsets"):
                self._reconcile(patched)
            return patched

    def delete(self, plural: str, namespace: str, name: str, dry_run: bool) -> Object | None:
        """Delete an object unless it is a dry run; a deleted pod's workload recreates it."""
        with self.lock:
            obj = self.get(plural, namespace, name)
            if obj is None or dry_run:
                return obj
            del self.objects[(plural, namespace, name)]
            if plural == "pods":
                self._reconcile_owners(obj)
            return obj

    def _reconcile_owners(self, pod: Object) -> None:
        """Let the workloads that select a pod react to its change."""
        namespace, labels = pod["metadata"]["namespace"], pod["metadata"]["labels"]
        for plural in ("deployments", "statefulsets"):
            for workload in self.items(plural, namespace):
                selector = workload["spec"]["selector"]["matchLabels"]
                if all(labels.get(k) == v for k, v in selector.items()):
                    self._reconcile(workload)


def _workload(kind: str, namespace: str, name: str, spec: Object) -> Object:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": spec,
    }


def _pod(
    namespace: str, name: str, template: Object, hash_label: tuple[str, str], owner: Object
) -> Object:
    """A Running, ready pod from a template."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**template["metadata"]["labels"], hash_label[0]: hash_label[1]},
            "ownerReferences": [_owner(owner)],
        },
        "spec": copy.deepcopy(template["spec"]),
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c["image"],
                    "ready": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                }
                for c in template["spec"]["containers"]
            ],
        },
    }


def _replica_counts(replicas: int, updated: int, pods: list[Object]) -> Object:
    """The status counts ``kubectl rollout status`` compares (a Running pod is ready)."""
    ready = sum(pod["status"]["phase"] == "Running" for pod in pods)
    return {
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
    }


def _history_template(obj: Object) -> Object:
    """The pod template a ReplicaSet or ControllerRevision holds (comparable form)."""
    if obj["kind"] == "ReplicaSet":
        return comparable(obj["spec"]["template"])
    return comparable(strategic_merge_patch({}, obj["data"]["spec"]["template"]))


def _owner(obj: Object) -> Object:
    """An owner reference marking ``obj`` as the controller (kubectl follows these)."""
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def revision_number(obj: Object) -> int:
    if obj["kind"] == "ReplicaSet":
        return int(obj["metadata"]["annotations"][REVISION_ANNOTATION])
    return int(obj["revision"])


def _set_revision(obj: Object, number: int) -> None:
    if obj["kind"] == "ReplicaSet":
        obj["metadata"]["annotations"][REVISION_ANNOTATION] = str(number)
    else:
        obj["revision"] = number


# --- the server ------------------------------------------------------------------------------


def _discovery(group_version: str) -> Object:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": True,
                "kind": r.kind,
                "verbs": VERBS,
                "shortNames": list(r.short_names),
            }
            for r in RESOURCES
            if r.group_version == group_version
        ]
        + (
            [
                {
                    "name": "pods/exec",
                    "namespaced": True,
                    "kind": "PodExecOptions",
                    "verbs": ["create", "get"],
                }
            ]
            if group_version == "v1"
            else []
        ),
    }


def _status(code: int, reason: str, message: str) -> Object:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def pod_table(pods: Object) -> Object:
    """A pod list as the API server prints it for ``kubectl get pods`` (it asks for a Table;
    without one kubectl shows only NAME and AGE).
    https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables
    """
    columns = ("Name", "Ready", "Status", "Restarts", "Age")
    rows = []
    for pod in pods["items"]:
        statuses = pod["status"].get("containerStatuses", [])
        ready = sum(c["ready"] for c in statuses) if pod["status"]["phase"] == "Running" else 0
        cells = [
            pod["metadata"]["name"],
            f"{ready}/{len(pod['spec']['containers'])}",
            pod["status"]["phase"],
            sum(c["restartCount"] for c in statuses),
            "3d",  # a fixed age: the records and the output stay the same from run to run
        ]
        rows.append({"cells": cells, "object": pod})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": pods["metadata"]["resourceVersion"]},
        "columnDefinitions": [
            {"name": c, "type": "integer" if c == "Restarts" else "string", "format": ""}
            for c in columns
        ],
        "rows": rows,
    }


class FakeApiServer:
    """One fake API server on 127.0.0.1 (a random port) serving a Cluster; a context manager.

    ``requests`` lists what reached it, in order; ``name`` tells servers apart in the records.
    """

    def __init__(self, name: str, cluster: Cluster) -> None:
        self.name = name
        self.cluster = cluster
        self.requests: list[Request] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self.stopping = threading.Event()
        # A short poll interval: shutdown() waits for one poll.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def api_requests(self) -> list[Request]:
        """The requests for objects (not the version and discovery documents)."""
        return [r for r in self.requests if r.resource is not None]

    def contacts(self) -> list[Request]:
        """Every request but ``GET /version``: the kubectl on this machine is Google Cloud SDK's
        dispatcher, which asks the current context's server for its version to pick a kubectl
        binary, even for ``kubectl config current-context`` (seen with ``kubectl -v=8``)."""
        return [r for r in self.requests if r.path != "/version"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeApiServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the records are the log."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0]
        request = Request(
            self.fake.name,
            self.command,
            url.path,
            query,
            json.loads(raw) if raw else None,
            content_type,
        )
        self.fake.requests.append(request)
        if request.is_exec:
            self._exec(request)
        elif request.resource is not None:
            self._object(request)
        else:
            self._static(url.path)

    def _send(self, code: int, body: Object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _static(self, path: str) -> None:
        documents: dict[str, Object] = {
            "/version": SERVER_VERSION,
            "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
            "/apis": {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": "apps",
                        "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
                    }
                ],
            },
            "/api/v1": _discovery("v1"),
            "/apis/apps/v1": _discovery("apps/v1"),
        }
        if path in documents:
            self._send(200, documents[path])
        else:
            self._send(404, _status(404, "NotFound", f"the server could not find {path}"))

    def _object(self, request: Request) -> None:
        parts = _resource_parts(request.path)
        assert parts is not None
        namespace, plural, name, sub = parts
        cluster = self.fake.cluster
        resource = RESOURCE_BY_PLURAL[plural]
        if request.method == "GET" and name is None:
            if request.param("watch") in ("true", "1"):
                self._watch(request)
                return
            listed = self._list(resource, namespace, request)
            wants_table = "as=Table" in (self.headers.get("Accept") or "")
            self._send(200, pod_table(listed) if wants_table and plural == "pods" else listed)
            return
        not_found = _status(404, "NotFound", f'{plural} "{name}" not found')
        if namespace is None or name is None or sub is not None:
            self._send(405, _status(405, "MethodNotAllowed", f"{request.method} {request.path}"))
            return
        with cluster.lock:
            if request.method == "GET":
                obj = cluster.get(plural, namespace, name)
            elif request.method == "PATCH":
                obj = cluster.patch(
                    plural, namespace, name, request.content_type, request.body, request.dry_run
                )
            elif request.method == "DELETE":
                obj = cluster.delete(plural, namespace, name, request.dry_run)
            else:
                self._send(405, _status(405, "MethodNotAllowed", request.method))
                return
            if obj is None:
                self._send(404, not_found)
            else:
                self._send(200, obj)

    def _list(self, resource: Resource, namespace: str | None, request: Request) -> Object:
        cluster = self.fake.cluster
        labels, fields = request.param("labelSelector") or "", request.param("fieldSelector") or ""
        with cluster.lock:
            items = [
                copy.deepcopy(obj)
                for obj in cluster.items(resource.plural, namespace, labels)
                if matches_selector(object_fields(obj), fields)
            ]
            version = str(cluster.resource_version)
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.group_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }

    def _watch(self, request: Request) -> None:
        """A watch that reports no change: open until its timeout or the server stops (kubectl
        rollout status decides on the list it makes first)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        deadline = time.monotonic() + float(request.param("timeoutSeconds") or "30")
        while time.monotonic() < deadline and not self.fake.stopping.wait(0.1):
            pass
        with contextlib.suppress(OSError):  # kubectl has usually gone by then
            self.wfile.write(b"0\r\n\r\n")

    # kubectl exec speaks the Kubernetes remote-command protocol over WebSocket: each binary
    # message starts with its channel (1 stdout, 2 stderr, 3 the final status).
    # https://kubernetes.io/blog/2024/08/20/websockets-transition/
    # https://www.kubernetes.dev/resources/keps/4006/ (v5.channel.k8s.io)
    # https://www.rfc-editor.org/rfc/rfc6455 (the handshake and the frame format)
    _WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def _exec(self, request: Request) -> None:
        key = self.headers.get("Sec-WebSocket-Key")
        offered = [p.strip() for p in (self.headers.get("Sec-WebSocket-Protocol") or "").split(",")]
        protocol = next((p for p in offered if p in ("v5.channel.k8s.io", "v4.channel.k8s.io")), "")
        if not key or not protocol:
            self._send(
                400, _status(400, "BadRequest", "this fake answers exec over WebSocket only")
            )
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + self._WEBSOCKET_GUID).digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        self.wfile.flush()
        self._await_client_frame()
        output = self.fake.cluster.exec_output.encode()
        success = json.dumps({"metadata": {}, "status": "Success"}).encode()
        for message in (b"\x01" + output, b"\x03" + success):
            self.wfile.write(_frame(0x2, message))
        self.wfile.write(_frame(0x8, b"\x03\xe8"))  # close, 1000 normal
        self.wfile.flush()
        self.close_connection = True

    def _await_client_frame(self, timeout: float = 2.0) -> None:
        """Wait until kubectl sends its first frame (its stdin, or v5's close of stdin), which
        it does once its streams are set up. Output sent before then is dropped: kubectl
        printed "websocket.go:296] Unknown stream id 1, discarding message" and lost it, seen
        here under load (client-go's WebSocket executor, KEP-4006 above); a real command's
        output never comes that early. Without a frame in ``timeout`` it answers anyway."""
        self.connection.settimeout(timeout)
        try:
            self.rfile.read(1)
        except TimeoutError:
            pass
        finally:
            self.connection.settimeout(None)


def _frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final WebSocket frame (a server never masks)."""
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        return head + bytes([len(payload)]) + payload
    if len(payload) < 1 << 16:
        return head + bytes([126]) + len(payload).to_bytes(2, "big") + payload
    return head + bytes([127]) + len(payload).to_bytes(8, "big") + payload


def write_kubeconfig(path: Path, servers: dict[str, FakeApiServer], current: str) -> Path:
    """A kubeconfig with one context (and cluster, and user) per server; ``current`` is current.
    JSON is YAML, so kubectl reads it as it is."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": c, "cluster": {"server": s.url}} for c, s in servers.items()],
        "users": [{"name": c, "user": {"token": f"token-{c}"}} for c in servers],
        "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in servers],
        "current-context": current,
    }
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path
