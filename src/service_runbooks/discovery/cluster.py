"""Discovery from a running cluster: the live objects, read with ``kubectl get -o json`` only.

The objects go through the same steps as the ones built from files (index, facts, answers,
fleet text), as ``KubeObject``s whose origin is ``cluster <context>`` (model.LIVE), so a fact
means the same whichever way it was read; only who deploys a workload is read differently, from
the marks its deployers wrote on it (deployers.py), since a live object has no source path.

Reads, never writes: a few ``kubectl get`` calls, each a GET (list, or one object by name), with
``--context`` always given, so a change of the kubeconfig's current context mid-run cannot move
it to another cluster:

1. the workload side, in ``--namespace`` or every namespace: the built-in types in one call,
   each custom resource type in its own (a cluster without Argo Rollouts or the Prometheus
   Operator has no such type, which is noted, not an error);
2. the GitOps objects the workloads' marks name, by name in their own namespaces
   (``--ignore-not-found``: a missing one is reported on the workload's facts).

kubectl missing, an unknown context, an API server that cannot be reached, and a refused list
(Forbidden) stop discovery with one ``ClusterError`` naming the context and the type.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from service_runbooks.discovery import Discovery, duplicate_names
from service_runbooks.discovery.answers import ServiceAnswers, answers_for
from service_runbooks.discovery.deployers import (
    APPLICATION,
    ARGOCD_NAMESPACE,
    HELM_RELEASE,
    KUSTOMIZATION,
    Named,
    named_by,
)
from service_runbooks.discovery.facts import WorkloadFacts, derive_facts
from service_runbooks.discovery.index import index_objects, is_workload
from service_runbooks.discovery.model import LIVE, KubeObject, Origin
from service_runbooks.discovery.pages import helm_as_the_pages_print
from service_runbooks.errors import ClusterError
from service_runbooks.template_source import TEMPLATE_ROOT

# Types as kubectl is given them, fully qualified (a short name may resolve to another group's).
# The built-in types every cluster serves, read in one call:
BUILT_IN_TYPES = (
    "deployments.apps",
    "statefulsets.apps",
    "horizontalpodautoscalers.autoscaling",
    "poddisruptionbudgets.policy",
    "services",
)
# Custom resources (Argo Rollouts, the Prometheus Operator), each in its own call.
CUSTOM_TYPES = (
    "rollouts.argoproj.io",
    "servicemonitors.monitoring.coreos.com",
    "podmonitors.monitoring.coreos.com",
)
GITOPS_TYPES = {kind[:2]: kind[2] for kind in (HELM_RELEASE, KUSTOMIZATION, APPLICATION)}
# What kubectl prints when the server serves no such type (a CRD not installed).
_NOT_SERVED = re.compile(r"the server doesn't have a resource type")
# kubectl's words for a refused request (the server's Status, "<type> is forbidden: ..."), a
# server out of reach and a context the kubeconfig does not have.
_FORBIDDEN = re.compile(r"\(Forbidden\): ((\S+) is forbidden: .*|.*)")
_UNREACHABLE = re.compile(
    r"Unable to connect to the server|The connection to the server .* was refused|"
    r"connection refused|no such host|i/o timeout|dial tcp|TLS handshake timeout|"
    r"the server is currently unable"
)
_NO_CONTEXT = re.compile(
    r'context "[^"]*" does not exist|no context exists with the name|'
    r"context was not found for specified context"
)


# One `kubectl get`: the types, the namespace (None: every one), the names (none: a list).
Call = tuple[str, str | None, tuple[str, ...]]


@dataclass(frozen=True)
class ClusterSource:
    """Where and what to read: the context (None: the kubeconfig's current one), one namespace
    or all (None), and the workloads' names (empty: every workload)."""

    context: str | None = None
    namespace: str | None = None
    names: tuple[str, ...] = ()
    argocd_namespace: str = ARGOCD_NAMESPACE
    timeout_seconds: float = 60.0


@dataclass
class Read:
    """The objects read, and what was not (types the cluster does not serve)."""

    objects: list[KubeObject] = field(default_factory=list)
    not_served: list[str] = field(default_factory=list)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


class Kubectl:
    """``kubectl --context CONTEXT get ... -o json``, and nothing else."""

    def __init__(self, source: ClusterSource) -> None:
        found = shutil.which("kubectl")
        if found is None:
            raise ClusterError(
                source.context,
                "kubectl",
                "kubectl is not on PATH; the cluster is read with kubectl get",
            )
        self.executable = found
        self.timeout = source.timeout_seconds
        self.context = source.context or self._current_context()

    def _run(self, args: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.executable, *args],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ClusterError(
                getattr(self, "context", None),
                what,
                f"kubectl gave no answer in {self.timeout:g} s (the API server may be unreachable)",
            ) from None

    def _current_context(self) -> str:
        """The kubeconfig's current context, read once and then named on every call."""
        result = self._run(["config", "current-context"], "the current context")
        context = result.stdout.strip()
        if result.returncode != 0 or not context:
            raise ClusterError(
                None,
                "the current context",
                f"{_last_line(result.stderr)}; name one with --context",
            )
        return context

    def get(
        self,
        types: str,
        namespace: str | None,
        names: Sequence[str] = (),
        selector: str | None = None,
    ) -> list[Any] | None:
        """The objects of ``types`` (a list in ``namespace``, or every namespace, filtered by
        the label ``selector``; or ``names`` in it), as JSON; None when the server serves no
        such type."""
        where = ["-n", namespace] if namespace else ["--all-namespaces"]
        args = ["--context", self.context, "get", types, *names, *where, "-o", "json"]
        if selector:
            args += ["-l", selector]
        if names:
            args.append("--ignore-not-found")
        result = self._run(args, types)
        if result.returncode != 0:
            if _NOT_SERVED.search(result.stderr):
                return None
            raise self._error(types, namespace, result.stderr)
        if not result.stdout.strip():
            return []  # --ignore-not-found, and nothing found
        try:
            document = json.loads(result.stdout)
        except ValueError as error:
            raise ClusterError(self.context, types, f"kubectl printed no JSON: {error}") from None
        items = document.get("items") if isinstance(document, dict) else None
        return items if isinstance(items, list) else [document]

    def _error(self, types: str, namespace: str | None, stderr: str) -> ClusterError:
        where = f"in namespace {namespace}" if namespace else "in every namespace"
        if forbidden := _FORBIDDEN.search(stderr):
            refused = forbidden[2] or types  # the type the server names, of those asked
            message = f"reading it {where} was refused (Forbidden): {forbidden[1]}"
            if namespace is None:
                message += "; --namespace reads one namespace"
            return ClusterError(self.context, refused, message, forbidden=True)
        if _NO_CONTEXT.search(stderr):
            return ClusterError(self.context, "--context", "the kubeconfig has no such context")
        if _UNREACHABLE.search(stderr):
            message = f"cannot be reached: {_last_line(stderr)}"
            return ClusterError(self.context, "the API server", message)
        return ClusterError(self.context, types, f"kubectl get failed: {_last_line(stderr)}")


def _objects(items: Iterable[Any], origin: Origin) -> list[KubeObject]:
    found = []
    for item in items:
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
            continue
        namespace = metadata.get("namespace")
        found.append(
            KubeObject(
                str(item.get("apiVersion", "")),
                str(item.get("kind", "")),
                metadata["name"],
                namespace if isinstance(namespace, str) else None,
                item,
                origin,
            )
        )
    return found


def _read_types(kubectl: Kubectl, calls: list[Call]) -> Read:
    """Each call (types, namespace, names) at once, two at a time (kubectl is a process)."""
    origin = Origin(f"cluster {kubectl.context}", LIVE)
    read = Read()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda call: kubectl.get(*call), calls))
    for (types, _, _), items in zip(calls, results, strict=True):
        if items is None:
            read.not_served.append(types)
        else:
            read.objects += _objects(items, origin)
    return read


def _gitops_calls(workloads: list[KubeObject], argocd_namespace: str) -> list[Call]:
    """One ``get TYPE NAME...`` per type and namespace the workloads' marks name."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for workload in workloads:
        for named in named_by(workload, argocd_namespace):
            if isinstance(named, Named):
                key = (GITOPS_TYPES[named.kind[:2]], named.namespace)
                wanted.setdefault(key, set()).add(named.name)
    return [(types, ns, tuple(sorted(names))) for (types, ns), names in sorted(wanted.items())]


def read_cluster(source: ClusterSource) -> tuple[Kubectl, Read]:
    """Every object discovery needs from the cluster (steps 1 and 2 above)."""
    kubectl = Kubectl(source)
    calls: list[Call] = [(",".join(BUILT_IN_TYPES), source.namespace, ())]
    calls += [(custom, source.namespace, ()) for custom in CUSTOM_TYPES]
    read = _read_types(kubectl, calls)
    workloads = [obj for obj in read.objects if is_workload(obj)]
    if source.names:
        workloads = [obj for obj in workloads if obj.name in source.names]
    gitops = _read_types(kubectl, _gitops_calls(workloads, source.argocd_namespace))
    read.objects += gitops.objects
    read.not_served += gitops.not_served
    return kubectl, read


def _selected(workloads: list[WorkloadFacts], names: tuple[str, ...]) -> list[WorkloadFacts]:
    return [facts for facts in workloads if not names or facts.workload.name in names]


@dataclass
class Live:
    """A cluster's workloads, each with its facts and answers, and what was read."""

    kubectl: Kubectl
    read: Read
    workloads: list[WorkloadFacts]
    services: list[ServiceAnswers]


def live_workloads(source: ClusterSource) -> Live:
    """Steps 3 to 5 of discovery over the objects read from the cluster."""
    kubectl, read = read_cluster(source)
    workloads = _selected(
        derive_facts(index_objects(read.objects), argocd_namespace=source.argocd_namespace),
        source.names,
    )
    context_source = f"kubectl --context {kubectl.context}"
    if not source.context:
        context_source = "kubectl config current-context"
    for workload in workloads:
        workload.facts.add("kube_context", kubectl.context, context_source)
    services = [answers_for(workload) for workload in workloads]
    for service in services:
        helm_as_the_pages_print(TEMPLATE_ROOT, service)
    return Live(kubectl, read, workloads, services)


def discover_cluster(source: ClusterSource) -> Discovery:
    """The cluster's workloads as a ``Discovery``: the same steps as ``discover`` from files."""
    live = live_workloads(source)
    kubectl, read, workloads, services = live.kubectl, live.read, live.workloads, live.services
    shown = f"cluster {kubectl.context}" + (
        f" (namespace {source.namespace})" if source.namespace else " (every namespace)"
    )
    notes = duplicate_names(services)
    notes += [f"Not served by the cluster (not installed): {types}" for types in read.not_served]
    if source.namespace:
        notes.append(
            f"ServiceMonitors and PodMonitors were read in namespace {source.namespace} only; "
            "one in another namespace selecting these Services is not seen"
        )
    found = {facts.workload.name for facts in workloads}
    notes += [f"no workload named {n!r} in {shown}" for n in source.names if n not in found]
    if not workloads:
        notes.append(f"no Deployment, StatefulSet or Argo Rollouts Rollout found in {shown}")
    return Discovery(services, workloads, [shown], notes=notes)
