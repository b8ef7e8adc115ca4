"""A recording fake Kubernetes API server, for running the real ``kubectl`` in tests.

No API server can be installed here, so this one (standard library ``http.server`` on 127.0.0.1,
a random port) answers what kubectl 1.32 asks for: the version; discovery, aggregated when
asked (as a 1.32 server answers) or the legacy documents (``/api``, ``/apis``, one per group
version); and the objects of an in-memory ``Cluster``, of every type in
``kube_resources.RESOURCES``: Deployments and StatefulSets with their history (ReplicaSets
carrying the ``deployment.kubernetes.io/revision`` annotation, ControllerRevisions with a
``revision`` field, both owned by their workload as kubectl checks), pods, namespaces, Services,
HPAs, PDBs, ServiceMonitors, PodMonitors, Argo Rollouts Rollouts, Flux HelmReleases and
Kustomizations, Argo CD Applications (builders, and the labels and annotations Helm, Flux and
Argo CD mark their objects with, in ``kube_objects``).

It serves GET (one object, or a list filtered by ``labelSelector`` and ``fieldSelector``, as
JSON or as the server's Table, or a watch that sends no event); validates and answers POST,
PUT, PATCH (JSON patch, merge patch, and enough of a strategic merge patch for ``rollout
undo``; none for a custom resource) and DELETE, and the ``scale`` subresource; answers the API
server's Status for NotFound, AlreadyExists, Conflict, Invalid and UnsupportedMediaType; and
answers ``kubectl exec`` over WebSocket with canned output. A ``Role`` says what the identity
may do: any other request is refused with the API server's 403 Forbidden, a dry run included,
and SelfSubjectAccessReviews (``kubectl auth can-i``) are answered from it. Every request is
recorded, with the name of the server that got it: a test gives each kubeconfig context its own
server and asserts which one kubectl talked to, and what it sent.

A write with ``dryRun=All`` is validated and answered as the real one, and not kept. A write
without it is kept, and a stand-in for the controllers finishes the rollout at once (new
generation observed, the matching ReplicaSet or ControllerRevision becomes the newest revision,
pods replaced), so a following GET or ``kubectl rollout status`` sees the result.

Not served: OpenAPI documents (so ``kubectl create`` and ``apply`` need ``--validate=false``),
server-side apply, exec over SPDY (kubectl's fallback when the WebSocket is refused), and
protobuf bodies but for SelfSubjectAccessReviews.
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

import kube_resources
from kube_objects import Owner
from kube_resources import (
    ACCESS_REVIEW,
    RESOURCE_BY_KIND,
    RESOURCE_BY_PLURAL,
    RESOURCES,
    ApiError,
    FieldError,
    Resource,
)

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
class Request:
    """One request as it reached a server."""

    server: str  # the name of the fake server (one per kubeconfig cluster)
    method: str
    path: str
    query: dict[str, list[str]]  # every value of each parameter (exec repeats `command`)
    body: Any  # the JSON body, parsed; None without one
    content_type: str = ""
    accept: str = ""  # the Accept header (a Table, aggregated discovery...)

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
    def is_access_review(self) -> bool:
        """A SelfSubjectAccessReview (``kubectl auth can-i``): a POST that asks a question and
        stores nothing.
        https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access
        """
        return self.resource == ACCESS_REVIEW.plural

    @property
    def mutating(self) -> bool:
        """Would change a stored object (an exec runs a command and an access review asks a
        question: neither changes an object)."""
        return self.method in MUTATING_METHODS and not self.is_exec and not self.is_access_review

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

    @property
    def subresource(self) -> str | None:
        """``scale``, ``exec``...: what follows the object's name in the path."""
        parts = _resource_parts(self.path)
        return parts[3] if parts else None


def _resource_parts(path: str) -> tuple[str | None, str, str | None, str | None] | None:
    """(namespace, plural, name, subresource) of an object path, None for other paths."""
    match = re.fullmatch(
        r"/(?:api/v1|apis/[^/]+/[^/]+)(?:/namespaces/([^/]+))?/([^/]+)(?:/([^/]+))?(?:/([^/]+))?",
        path,
    )
    if not match or match.group(2) not in RESOURCE_BY_PLURAL:
        return None
    if not path.startswith(RESOURCE_BY_PLURAL[match.group(2)].prefix + "/"):
        return None  # a known plural under another group version: not served
    namespace, plural, name, sub = match.groups()
    return namespace, plural, name, sub


# --- request bodies --------------------------------------------------------------------------
# kubectl sends JSON, but for the typed clients of built-in kinds (``kubectl auth can-i``'s
# SelfSubjectAccessReview) protobuf: the magic "k8s\0", then a runtime.Unknown message whose
# field 1 is the TypeMeta (apiVersion 1, kind 2) and field 2 the object's own message.
# https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding
# The fields of the SelfSubjectAccessReview (metadata 1, spec 2; spec.resourceAttributes 1,
# spec.nonResourceAttributes 2) and of its attributes:
# https://github.com/kubernetes/api/blob/release-1.32/authorization/v1/generated.proto
PROTOBUF = "application/vnd.kubernetes.protobuf"
_PROTOBUF_MAGIC = b"k8s\x00"
_RESOURCE_ATTRIBUTES = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
_NON_RESOURCE_ATTRIBUTES = ("path", "verb")


def _proto_fields(data: bytes) -> dict[int, list[bytes | int]]:
    """The fields of one protobuf message: varints as ints, length-delimited ones as bytes.
    https://protobuf.dev/programming-guides/encoding/"""

    def varint(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[at]
            value |= (byte & 0x7F) << shift
            at, shift = at + 1, shift + 7
            if byte < 0x80:
                return value, at

    fields: dict[int, list[bytes | int]] = {}
    at = 0
    while at < len(data):
        key, at = varint(at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, at = varint(at)
            fields.setdefault(number, []).append(value)
        elif wire_type == 2:
            length, at = varint(at)
            fields.setdefault(number, []).append(data[at : at + length])
            at += length
        else:
            raise ValueError(f"protobuf wire type {wire_type} is not read by this fake")
    return fields


def _proto_message(data: bytes, number: int) -> bytes:
    value = _proto_fields(data).get(number, [b""])[-1]
    assert isinstance(value, bytes)
    return value


def _proto_strings(data: bytes, names: tuple[str, ...]) -> Object:
    fields = _proto_fields(data)
    return {
        name: bytes(fields[i + 1][-1]).decode()  # type: ignore[arg-type]
        for i, name in enumerate(names)
        if i + 1 in fields
    }


def decode_body(raw: bytes, content_type: str) -> Any:
    """A request body as JSON would give it; None for an empty body or one this fake cannot
    read (a protobuf body of another kind than a SelfSubjectAccessReview)."""
    if not raw:
        return None
    if content_type != PROTOBUF:
        return json.loads(raw)
    if not raw.startswith(_PROTOBUF_MAGIC):
        return None
    unknown = raw[len(_PROTOBUF_MAGIC) :]
    type_meta = _proto_strings(_proto_message(unknown, 1), ("apiVersion", "kind"))
    if type_meta.get("kind") != ACCESS_REVIEW.kind:
        return None
    spec = _proto_message(_proto_message(unknown, 2), 2)
    decoded: Object = {}
    if 1 in _proto_fields(spec):
        decoded["resourceAttributes"] = _proto_strings(
            _proto_message(spec, 1), _RESOURCE_ATTRIBUTES
        )
    if 2 in _proto_fields(spec):
        decoded["nonResourceAttributes"] = _proto_strings(
            _proto_message(spec, 2), _NON_RESOURCE_ATTRIBUTES
        )
    return {**type_meta, "spec": decoded}


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


# --- who may do what ------------------------------------------------------------------------
# A request is authorised on its attributes: verb, API group, resource, subresource, namespace
# and name. A server dry run is authorised exactly like the real request.
# https://kubernetes.io/docs/reference/access-authn-authz/authorization/#review-your-request-attributes
# https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb
# https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run-authorization

READ_VERBS = ("get", "list", "watch")
_VERB_OF_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    """What a request (or an access review) asks to do."""

    verb: str
    group: str
    resource: str  # the plural
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def rule_resource(self) -> str:
        """``pods/exec``: how an RBAC rule names a subresource."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def request_attributes(request: Request) -> Attributes:
    """The attributes of a request for an object, as the API server derives them from the
    method. kubectl 1.32 execs over a WebSocket, an HTTP GET, which a 1.32 server authorises as
    ``get`` on ``pods/exec`` (SPDY's POST was ``create``; from 1.35 the WebSocket needs
    ``create`` too: the AuthorizePodWebsocketUpgradeCreatePermission feature gate), so a Role
    that lets someone exec grants both.
    https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates/
    """
    parts = _resource_parts(request.path)
    assert parts is not None, request.path
    namespace, plural, name, sub = parts
    if request.method == "GET":
        watching = request.param("watch") in ("true", "1")
        verb = "get" if name else "watch" if watching else "list"
    else:
        verb = _VERB_OF_METHOD[request.method]
        if verb == "delete" and name is None:
            verb = "deletecollection"
    group = RESOURCE_BY_PLURAL[plural].group
    return Attributes(verb, group, plural, sub or "", namespace or "", name or "")


@dataclass(frozen=True)
class Role:
    """What the identity behind a server's kubeconfig may do: a set of (verb, resource) pairs,
    a resource named by its plural, a subresource as ``pods/exec`` (as an RBAC rule names them;
    every plural here lives in one API group). ``allowed`` None: everything (the default).
    https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources
    """

    allowed: frozenset[tuple[str, str]] | None = None
    user: str = "system:serviceaccount:ops:runbook-drill"
    # The namespaces a RoleBinding grants it in (None: a ClusterRoleBinding, everywhere); a
    # request at the cluster's scope (a list of every namespace) is then refused.
    # https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding
    namespaces: frozenset[str] | None = None

    @classmethod
    def allowing(
        cls,
        *pairs: tuple[str, str],
        user: str | None = None,
        namespaces: frozenset[str] | None = None,
    ) -> Role:
        unknown = [r for _, r in pairs if r.split("/")[0] not in RESOURCE_BY_PLURAL]
        if unknown:
            raise ValueError(f"Role names resources this server does not serve: {unknown}")
        return cls(frozenset(pairs), user or cls.user, namespaces)

    @classmethod
    def read_only(cls, user: str | None = None, namespaces: frozenset[str] | None = None) -> Role:
        """get, list and watch on every type served (no subresource: no exec)."""
        pairs = [(v, r.plural) for r in RESOURCES if r is not ACCESS_REVIEW for v in READ_VERBS]
        return cls.allowing(*pairs, user=user, namespaces=namespaces)

    def plus(self, *pairs: tuple[str, str]) -> Role:
        pairs = (*(self.allowed or frozenset()), *pairs)
        return Role.allowing(*pairs, user=self.user, namespaces=self.namespaces)

    def allows(self, attributes: Attributes) -> bool:
        if self.namespaces is not None and attributes.namespace not in self.namespaces:
            return False
        if self.allowed is None:
            return True
        known = RESOURCE_BY_PLURAL.get(attributes.resource)
        if known is None or known.group != attributes.group:
            return False
        return (attributes.verb, attributes.rule_resource) in self.allowed

    def refusal(self, attributes: Attributes) -> str:
        """Why a request is refused, in the API server's words (its forbiddenMessage):
        https://github.com/kubernetes/kubernetes/blob/v1.32.4/staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go
        """
        where = (
            f'in the namespace "{attributes.namespace}"'
            if attributes.namespace
            else "at the cluster scope"
        )
        return (
            f'User "{self.user}" cannot {attributes.verb} resource "{attributes.rule_resource}" '
            f'in API group "{attributes.group}" {where}'
        )


def access_review(role: Role, review: Object) -> Object:
    """The answer to a SelfSubjectAccessReview: the same object with ``status.allowed``. An
    unknown resource is not allowed; a non-resource URL only when everything is allowed. The
    reason of an RBAC denial is empty (kubectl then prints just ``no``).
    https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/self-subject-access-review-v1/
    """
    spec = review.get("spec") or {}
    asked = spec.get("resourceAttributes")
    if asked is None:
        allowed = role.allowed is None
    else:
        attributes = Attributes(
            asked.get("verb", ""),
            asked.get("group", ""),
            asked.get("resource", ""),
            asked.get("subresource", ""),
            asked.get("namespace", ""),
            asked.get("name", ""),
        )
        allowed = role.allows(attributes)
    verdict: Object = {"allowed": allowed}
    if allowed:
        verdict["reason"] = f'RBAC: allowed by the fake role of User "{role.user}"'
    return {
        "kind": ACCESS_REVIEW.kind,
        "apiVersion": ACCESS_REVIEW.group_version,
        "metadata": {},
        "spec": spec,
        "status": verdict,
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
    log_output: str = "started\n"  # what every pod's log holds (`kubectl logs`)
    lock: threading.RLock = field(default_factory=threading.RLock)
    resource_version: int = 0
    empty_namespaces: set[str] = field(default_factory=set)  # namespaces with no object
    # How long after its delete a workload's pod comes back (the controller's delay; None: never)
    pod_recreate_delay: float | None = 0.0
    _uids: int = 0

    def put(self, obj: Object) -> Object:
        with self.lock:
            self._stamp(obj)
            metadata = obj["metadata"]
            plural = RESOURCE_BY_KIND[obj["kind"]].plural
            self.objects[(plural, metadata["namespace"], metadata["name"])] = obj
            return obj

    def _stamp(self, obj: Object, dry_run: bool = False) -> Object:
        """Fill in what the server sets on a new object (a dry-run create gets them too, but
        moves no resource version)."""
        metadata = obj["metadata"]
        self._uids += 1
        metadata.setdefault("uid", f"00000000-0000-0000-0000-{self._uids:012d}")
        metadata.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        metadata.setdefault("generation", 1)
        if dry_run:
            metadata["resourceVersion"] = str(self.resource_version)
        else:
            self._bump(obj)
        return obj

    def add(self, obj: Object, *owners: Owner) -> Object:
        """Store any object of a served type (see tests/kube_objects.py for builders), marked
        with its deployers' labels and annotations."""
        if obj.get("kind") not in RESOURCE_BY_KIND:
            raise ValueError(
                f"kind {obj.get('kind')!r} is not served: one of {sorted(RESOURCE_BY_KIND)}"
            )
        obj.setdefault("apiVersion", RESOURCE_BY_KIND[obj["kind"]].group_version)
        for owner in owners:
            owner.apply(obj)
        return self.put(obj)

    def _bump(self, obj: Object) -> None:
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)

    def get(self, plural: str, namespace: str, name: str) -> Object | None:
        if plural == "namespaces":
            return _namespace(name) if name in self.namespaces() else None
        return self.objects.get((plural, namespace, name))

    def namespaces(self) -> set[str]:
        """Every namespace an object lives in, and those added empty."""
        return {ns for (_, ns, _) in self.objects if ns} | self.empty_namespaces

    def items(self, plural: str, namespace: str | None, selector: str = "") -> list[Object]:
        """The objects of a type (in a namespace, or all), filtered by a label selector."""
        if plural == "namespaces":
            found = [_namespace(name) for name in sorted(self.namespaces())]
            return [o for o in found if matches_selector(o["metadata"]["labels"], selector)]
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

    def _add_workload(
        self, workload: Object, images: list[str], owners: tuple[Owner, ...]
    ) -> Object:
        """Store a workload with one revision per image; the last one runs."""
        labels = workload["spec"]["selector"]["matchLabels"]
        self.add(workload, *owners)
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
        owners: tuple[Owner, ...] = (),
    ) -> Object:
        spec = {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "RollingUpdate"},
            "progressDeadlineSeconds": 600,
        }
        return self._add_workload(_workload("Deployment", namespace, name, spec), images, owners)

    def add_statefulset(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        images: list[str],
        replicas: int = 2,
        update_strategy: str = "RollingUpdate",
        owners: tuple[Owner, ...] = (),
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
        return self._add_workload(_workload("StatefulSet", namespace, name, spec), images, owners)

    def add_rollout(self, rollout: Object, *owners: Owner) -> Object:
        """An Argo Rollouts Rollout (kube_objects.rollout) with its stable ReplicaSet and Running
        pods, owned as the Rollouts controller owns them (pods by the ReplicaSet).
        https://argo-rollouts.readthedocs.io/en/stable/architecture/"""
        self.add(rollout, *owners)
        template = comparable(rollout["spec"]["template"])
        hash_ = template_hash(template)
        template["metadata"]["labels"]["rollouts-pod-template-hash"] = hash_
        meta = rollout["metadata"]
        replica_set = self.put(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{meta['name']}-{hash_}",
                    "namespace": meta["namespace"],
                    "labels": template["metadata"]["labels"],
                    "ownerReferences": [_owner(rollout)],
                },
                "spec": {
                    "replicas": rollout["spec"]["replicas"],
                    "selector": {"matchLabels": template["metadata"]["labels"]},
                    "template": template,
                },
                "status": {"replicas": rollout["spec"]["replicas"]},
            }
        )
        rollout["status"].update(currentPodHash=hash_, stableRS=hash_)
        hash_label = ("rollouts-pod-template-hash", hash_)
        for index in range(rollout["spec"]["replicas"]):
            pod_name = f"{meta['name']}-{hash_[-5:]}-{index}"
            self.put(_pod(meta["namespace"], pod_name, template, hash_label, replica_set))
        return rollout

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
            # The controller moves currentRevision to the update revision at the end of a
            # RollingUpdate only (completeRollingUpdate); with OnDelete it stays where it was
            # (https://github.com/kubernetes/kubernetes/blob/master/pkg/controller/statefulset/stateful_set_utils.go,
            # https://github.com/kubernetes/kubernetes/issues/73492).
            done = updated == replicas and not on_delete
            status.update(
                currentRevision=revision if done else old,
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

    # What the server does for kubectl. Each write is validated and answered the same with
    # dryRun=All or without it; only a write without it is kept (and the controllers act).
    # https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run

    def stored(self, resource: Resource, namespace: str, name: str) -> Object:
        obj = self.get(resource.plural, namespace, name)
        if obj is None:
            raise kube_resources.not_found(resource, name)
        return obj

    def create(self, plural: str, namespace: str, body: Any, dry_run: bool) -> Object:
        resource = RESOURCE_BY_PLURAL[plural]
        with self.lock:
            obj = copy.deepcopy(body)
            _check_kind(resource, obj)
            metadata = obj.setdefault("metadata", {})
            if metadata.setdefault("namespace", namespace) != namespace:
                raise kube_resources.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            name = metadata.get("name")
            if not name:
                raise kube_resources.ApiError(
                    kube_resources.status(
                        422,
                        "Invalid",
                        f"{resource.kind} in version {resource.version!r} cannot be handled: "
                        "metadata.name: Required value: name or generateName is required",
                    )
                )
            if self.get(plural, namespace, name) is not None:
                raise kube_resources.already_exists(resource, name)
            validate(resource, obj)
            if dry_run:
                return self._stamp(obj, dry_run=True)
            self.put(obj)
            if plural in ("deployments", "statefulsets"):
                self._reconcile(obj)
            return obj

    def patch(
        self, plural: str, namespace: str, name: str, patch_type: str, body: Any, dry_run: bool
    ) -> Object:
        """Apply a patch of one of the types the resource accepts (a custom resource takes no
        strategic merge patch)."""
        resource = RESOURCE_BY_PLURAL[plural]
        with self.lock:
            stored = self.stored(resource, namespace, name)
            _check_patch_type(resource, patch_type)
            patched = _patched(stored, patch_type, body)
            return self._replace(resource, stored, patched, dry_run)

    def update(self, plural: str, namespace: str, name: str, body: Any, dry_run: bool) -> Object:
        """PUT: the whole object, refused when its resourceVersion is not the stored one."""
        resource = RESOURCE_BY_PLURAL[plural]
        with self.lock:
            stored = self.stored(resource, namespace, name)
            _check_kind(resource, body)
            _check_version(resource, stored, body)
            replaced = copy.deepcopy(body)
            replaced.setdefault("metadata", {})
            for key in ("uid", "creationTimestamp", "generation"):
                replaced["metadata"][key] = stored["metadata"][key]
            return self._replace(resource, stored, replaced, dry_run)

    def _replace(self, resource: Resource, stored: Object, new: Object, dry_run: bool) -> Object:
        new = copy.deepcopy(new)  # a patch's result shares what it left alone with the stored
        meta = stored["metadata"]
        for key in ("name", "namespace"):
            if new["metadata"].get(key) != meta[key]:
                raise kube_resources.bad_request(
                    f"the {key} of the object ({new['metadata'].get(key)}) does not match the "
                    f"{key} on the URL ({meta[key]})"
                )
        validate(resource, new)
        if new.get("spec") != stored.get("spec"):
            new["metadata"]["generation"] = meta["generation"] + 1
        new["metadata"]["resourceVersion"] = meta["resourceVersion"]
        if dry_run:
            return new
        self._bump(new)
        self.objects[(resource.plural, meta["namespace"], meta["name"])] = new
        if resource.plural in ("deployments", "statefulsets"):
            self._reconcile(new)
        return new

    def delete(self, plural: str, namespace: str, name: str, dry_run: bool) -> Object:
        """Delete an object unless it is a dry run; a deleted pod's workload recreates it."""
        resource = RESOURCE_BY_PLURAL[plural]
        with self.lock:
            obj = self.stored(resource, namespace, name)
            if dry_run:
                return obj
            del self.objects[(plural, namespace, name)]
            if plural == "pods":
                self._recreate_later(obj)
            return obj

    def _recreate_later(self, pod: Object) -> None:
        """Let the pod's workload re-create it, after ``pod_recreate_delay`` (None: never)."""
        if self.pod_recreate_delay is None:
            return
        if not self.pod_recreate_delay:
            self._reconcile_owners(pod)
            return

        def recreate() -> None:
            with self.lock:
                self._reconcile_owners(pod)

        timer = threading.Timer(self.pod_recreate_delay, recreate)
        timer.daemon = True
        timer.start()

    # The scale subresource: an autoscaling/v1 Scale read from and written to the object's
    # replicas. kubectl scale sends a merge patch of it (a PUT with --current-replicas or
    # --resource-version).
    # https://kubernetes.io/docs/reference/kubernetes-api/autoscaling/scale-v1/
    # https://github.com/kubernetes/kubectl/blob/release-1.32/pkg/scale/scale.go

    def scale(self, plural: str, namespace: str, name: str) -> Object:
        resource = RESOURCE_BY_PLURAL[plural]
        return _scale_of(resource, self.stored(resource, namespace, name))

    def rescale(
        self,
        plural: str,
        namespace: str,
        name: str,
        request: tuple[str, str, Any],
        dry_run: bool,
    ) -> Object:
        """``request``: (method, content type, body) of a PATCH or PUT of the Scale."""
        method, patch_type, body = request
        resource = RESOURCE_BY_PLURAL[plural]
        with self.lock:
            stored = self.stored(resource, namespace, name)
            current = _scale_of(resource, stored)
            if method == "PUT":
                _check_version(resource, current, body)
                wanted = body
            else:
                _check_patch_type(resource, patch_type, scale=True)
                wanted = _patched(current, patch_type, body)
            replicas = (wanted.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or replicas < 0:
                raise kube_resources.invalid(
                    "Scale",
                    "autoscaling",
                    name,
                    [FieldError("spec.replicas", replicas, "must be greater than or equal to 0")],
                )
            new = merge_patch(stored, {"spec": {"replicas": replicas}})
            return _scale_of(resource, self._replace(resource, stored, new, dry_run))

    def _reconcile_owners(self, pod: Object) -> None:
        """Let the workloads that select a pod react to its change."""
        namespace, labels = pod["metadata"]["namespace"], pod["metadata"]["labels"]
        for plural in ("deployments", "statefulsets"):
            for workload in self.items(plural, namespace):
                selector = workload["spec"]["selector"]["matchLabels"]
                if all(labels.get(k) == v for k, v in selector.items()):
                    self._reconcile(workload)


def _namespace(name: str) -> Object:
    """A Namespace, with the label the API server sets on every one.
    https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#automatic-labelling
    """
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/metadata.name": name},
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def _check_kind(resource: Resource, obj: Any) -> None:
    if not isinstance(obj, dict) or obj.get("kind") != resource.kind:
        kind = obj.get("kind") if isinstance(obj, dict) else None
        raise kube_resources.bad_request(
            f"the kind of the object ({kind}) does not match the resource ({resource.plural})"
        )


def _check_version(resource: Resource, stored: Object, body: Any) -> None:
    """Optimistic concurrency: a write naming a resourceVersion must name the stored one.
    https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions"""
    given = ((body or {}).get("metadata") or {}).get("resourceVersion")
    if given and given != stored["metadata"]["resourceVersion"]:
        raise kube_resources.conflict(
            resource,
            stored["metadata"]["name"],
            "the object has been modified; please apply your changes to the latest version "
            "and try again",
        )


def _check_patch_type(resource: Resource, patch_type: str, scale: bool = False) -> None:
    """The patch types a resource accepts: a custom resource takes no strategic merge patch
    (its scale subresource does), and this fake applies no server-side apply.
    https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#use-a-json-merge-patch-to-update-a-deployment
    https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#advanced-topics
    """
    accepted = list(PATCHERS)
    if resource.custom and not scale:
        accepted.remove("application/strategic-merge-patch+json")
    if patch_type not in accepted:
        raise kube_resources.unsupported_media_type(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(accepted)
        )


def _patched(target: Object, patch_type: str, body: Any) -> Object:
    """A patch applied, or a 400 naming why it cannot be (the fake's words)."""
    try:
        patched = PATCHERS[patch_type](target, body)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise kube_resources.bad_request(f"the patch cannot be applied: {error!r}") from error
    if not isinstance(patched, dict):
        raise kube_resources.bad_request("the patch does not leave an object")
    return patched


def _scale_of(resource: Resource, obj: Object) -> Object:
    """The Scale of an object. A Rollout's status replicas and selector are where its CRD's
    scale subresource reads them (.status.HPAReplicas, .status.selector)."""
    status = obj.get("status", {})
    if resource.plural == "rollouts":
        replicas, selector = status.get("HPAReplicas", 0), status.get("selector", "")
    else:
        match = obj["spec"]["selector"]["matchLabels"]
        replicas, selector = (
            status.get("replicas", 0),
            ",".join(f"{k}={v}" for k, v in match.items()),
        )
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        },
        "spec": {"replicas": obj["spec"].get("replicas", 1)},
        "status": {"replicas": replicas, "selector": selector},
    }


def validate(resource: Resource, obj: Object) -> None:
    """The API server's validation of the fields a runbook changes: a workload's replicas, an
    HPA's bounds. Answered as a 422 Invalid naming each field.
    https://github.com/kubernetes/kubernetes/blob/v1.32.4/pkg/apis/apps/validation/validation.go
    https://github.com/kubernetes/kubernetes/blob/v1.32.4/pkg/apis/autoscaling/validation/validation.go
    """
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    if resource.plural in ("deployments", "statefulsets", "replicasets"):
        replicas = spec.get("replicas", 1)
        if replicas < 0:
            errors.append(
                FieldError("spec.replicas", replicas, "must be greater than or equal to 0")
            )
    if resource.plural == "horizontalpodautoscalers":
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
        if low < 1:
            errors.append(FieldError("spec.minReplicas", low, "must be greater than or equal to 1"))
        if high < 1:
            errors.append(FieldError("spec.maxReplicas", high, "must be greater than 0"))
        if high < low:
            errors.append(
                FieldError(
                    "spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"
                )
            )
    if errors:
        name = obj["metadata"].get("name", "")
        raise kube_resources.invalid(resource.kind, resource.group, name, errors)


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


class FakeApiServer:
    """One fake API server on 127.0.0.1 (a random port) serving a Cluster; a context manager.

    ``requests`` lists what reached it, in order; ``name`` tells servers apart in the records.
    ``role``: what the identity of its kubeconfig may do (None: everything). It answers
    aggregated discovery when asked, as a 1.32 server does; ``aggregated_discovery=False``
    makes it a server that does not, so kubectl reads the legacy documents.
    """

    def __init__(
        self,
        name: str,
        cluster: Cluster,
        role: Role | None = None,
        aggregated_discovery: bool = True,
    ) -> None:
        self.name = name
        self.cluster = cluster
        self.role = role or Role()
        self.aggregated_discovery = aggregated_discovery
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
        try:
            body, unreadable = decode_body(raw, content_type), None
        except ValueError as error:
            body, unreadable = None, error
        request = Request(
            self.fake.name,
            self.command,
            url.path,
            query,
            body,
            content_type,
            self.headers.get("Accept") or "",
        )
        self.fake.requests.append(request)
        try:
            if unreadable is not None:
                raise kube_resources.bad_request(f"the request body is not JSON: {unreadable}")
            if request.resource is None:
                self._static(request)
            else:
                self._object(request)
        except ApiError as error:
            self._send(error.code, error.status)
        except Exception as error:  # a bug of this fake: answer it, as the server's 500 does
            message = f"Internal error occurred: {error!r}"
            self._send(500, kube_resources.status(500, "InternalError", message))
            raise

    def _send(self, code: int, body: Object, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _static(self, request: Request) -> None:
        """The version, the discovery documents, and the resource metrics of pods."""
        path = request.path
        metrics = re.fullmatch(
            kube_resources.POD_METRICS.prefix + r"/namespaces/([^/]+)/pods", path
        )
        if metrics and request.method == "GET":
            self._send(200, self._pod_metrics(metrics.group(1), request))
            return
        aggregated = self.fake.aggregated_discovery and kube_resources.wants_aggregated(
            request.accept
        )
        if path in ("/api", "/apis") and aggregated:
            document = kube_resources.aggregated_discovery(core=path == "/api")
            self._send(200, document, kube_resources.AGGREGATED_CONTENT_TYPE)
            return
        documents: dict[str, Object] = {
            "/version": SERVER_VERSION,
            "/api": kube_resources.api_versions(),
            "/apis": kube_resources.api_group_list(),
        }
        for group_version in kube_resources.group_versions():
            prefix = "/api/" if group_version == "v1" else "/apis/"
            documents[prefix + group_version] = kube_resources.api_resource_list(group_version)
        if path in documents:
            self._send(200, documents[path])
        else:
            # As the real server: no details, "the server could not find the requested resource".
            message = "the server could not find the requested resource"
            self._send(404, kube_resources.status(404, "NotFound", message))

    def _object(self, request: Request) -> None:
        parts = _resource_parts(request.path)
        assert parts is not None
        namespace, plural, name, sub = parts
        resource = RESOURCE_BY_PLURAL[plural]
        if resource is ACCESS_REVIEW:
            if request.method != "POST" or not isinstance(request.body, dict):
                raise _not_allowed(resource, request)
            self._send(201, access_review(self.fake.role, request.body))
            return
        if request.content_type == PROTOBUF and request.body is None:
            message = "this fake reads protobuf only for SelfSubjectAccessReviews; send JSON"
            raise kube_resources.unsupported_media_type(message)
        attributes = request_attributes(request)
        if not self.fake.role.allows(attributes):
            raise kube_resources.forbidden(resource, name, self.fake.role.refusal(attributes))
        if request.is_exec:
            self._exec(request)
        elif name is None:
            self._collection(request, resource, namespace)
        elif not resource.namespaced:
            if request.method != "GET" or sub is not None:
                raise _not_allowed(resource, request)
            self._one(request, resource, "", name)
        elif namespace is None:
            raise _not_allowed(resource, request)
        elif sub == "scale" and resource.subresource("scale"):
            self._scale(request, resource, namespace, name)
        elif sub == "log" and resource.subresource("log") and request.method == "GET":
            with self.fake.cluster.lock:
                self.fake.cluster.stored(resource, namespace, name)  # a 404 for no such pod
            self._send_text(200, self.fake.cluster.log_output)
        elif sub is not None:
            raise _not_allowed(resource, request)
        else:
            self._one(request, resource, namespace, name)

    def _pod_metrics(self, namespace: str, request: Request) -> Object:
        """Every selected pod's usage, as metrics-server answers ``kubectl top pods``: a fixed
        small usage per container.
        https://kubernetes.io/docs/tasks/debug/debug-cluster/resource-metrics-pipeline/#metrics-api
        """
        selector = request.param("labelSelector") or ""
        with self.fake.cluster.lock:
            pods = self.fake.cluster.items("pods", namespace, selector)
            items = [
                {
                    "metadata": {
                        "name": pod["metadata"]["name"],
                        "namespace": namespace,
                        "labels": pod["metadata"].get("labels", {}),
                        "creationTimestamp": "2026-01-01T00:00:00Z",
                    },
                    "timestamp": "2026-01-01T00:00:00Z",
                    "window": "30s",
                    "containers": [
                        {"name": c["name"], "usage": {"cpu": "10m", "memory": "32Mi"}}
                        for c in pod["spec"]["containers"]
                    ],
                }
                for pod in pods
            ]
        group_version = kube_resources.POD_METRICS.group_version
        return {
            "kind": "PodMetricsList",
            "apiVersion": group_version,
            "metadata": {},
            "items": items,
        }

    def _collection(self, request: Request, resource: Resource, namespace: str | None) -> None:
        cluster = self.fake.cluster
        if request.method == "GET" and request.param("watch") in ("true", "1"):
            self._watch(request)
        elif request.method == "GET":
            listed = self._list(resource, namespace, request)
            if kube_resources.wants_table(request.accept):
                version = listed["metadata"]["resourceVersion"]
                include = request.param("includeObject")
                listed = kube_resources.table(resource, listed["items"], version, include)
            self._send(200, listed)
        elif request.method == "POST" and namespace is not None:
            created = cluster.create(resource.plural, namespace, request.body, request.dry_run)
            self._send(201, created)
        else:
            raise _not_allowed(resource, request)

    def _one(self, request: Request, resource: Resource, namespace: str, name: str) -> None:
        cluster, plural, dry_run = self.fake.cluster, resource.plural, request.dry_run
        if request.method == "GET":
            with cluster.lock:
                obj = copy.deepcopy(cluster.stored(resource, namespace, name))
                version = str(cluster.resource_version)
            if kube_resources.wants_table(request.accept):
                include = request.param("includeObject")
                obj = kube_resources.table(resource, [obj], version, include)
        elif request.method == "PATCH":
            body, patch_type = request.body, request.content_type
            obj = cluster.patch(plural, namespace, name, patch_type, body, dry_run)
        elif request.method == "PUT":
            obj = cluster.update(plural, namespace, name, request.body, dry_run)
        elif request.method == "DELETE":
            obj = cluster.delete(plural, namespace, name, dry_run)
        else:
            raise _not_allowed(resource, request)
        self._send(200, obj)

    def _scale(self, request: Request, resource: Resource, namespace: str, name: str) -> None:
        cluster = self.fake.cluster
        if request.method == "GET":
            self._send(200, cluster.scale(resource.plural, namespace, name))
        elif request.method in ("PATCH", "PUT"):
            change = (request.method, request.content_type, request.body)
            scaled = cluster.rescale(resource.plural, namespace, name, change, request.dry_run)
            self._send(200, scaled)
        else:
            raise _not_allowed(resource, request)

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
            # kubectl falls back to SPDY (a POST) when the WebSocket upgrade fails.
            message = "this fake answers exec over WebSocket only"
            self._send(400, kube_resources.status(400, "BadRequest", message))
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


def _not_allowed(resource: Resource, request: Request) -> ApiError:
    """405, as NewMethodNotSupported words it."""
    message = f'{request.method} is not supported on resources of kind "{resource.qualified}"'
    details = {"group": resource.group, "kind": resource.plural}
    return ApiError(kube_resources.status(405, "MethodNotAllowed", message, details))


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
