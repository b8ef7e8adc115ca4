"""Step 4, facts: for each workload a runbook can serve, what its manifests say, with sources.

Every fact is a value and the one string saying where it was read (file, object, field). A fact
the manifests do not hold is recorded with the reason, never filled with a default that could be
wrong for this service (a namespace is never taken to be ``default``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service_runbooks.discovery.catalog import Component, component_for
from service_runbooks.discovery.deployers import ARGOCD_NAMESPACE, apply_deployers
from service_runbooks.discovery.gitops import apply_gitops
from service_runbooks.discovery.helmlinks import apply_helm_deployer, note_parents
from service_runbooks.discovery.index import (
    ObjectIndex,
    Relations,
    pod_labels,
    relations_for,
)
from service_runbooks.discovery.migrations import MigrationFinding
from service_runbooks.discovery.model import HELM, Facts, KubeObject, quoted, scalar
from service_runbooks.discovery.scrapelabels import (
    apply_metrics_namespace_label,
    apply_rollouts_namespace_label,
)


@dataclass
class WorkloadFacts:
    """One workload's facts, the Component that describes it, and its relations."""

    workload: KubeObject
    facts: Facts
    component: Component | None = None
    relations: Relations | None = None
    notes: list[str] = field(default_factory=list)


def _identity(obj: KubeObject, facts: Facts) -> None:
    facts.add("workload_kind", obj.kind, obj.cite("kind"))
    # The name as built: a Kustomize namePrefix/nameSuffix is already in it
    # (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/nameprefix/).
    facts.add("workload_name", obj.name, obj.cite("metadata.name"))


def _namespace(
    obj: KubeObject, facts: Facts, kustomizations: Mapping[str, tuple[str, Any]]
) -> None:
    """The namespace as built; cited to the kustomization's ``namespace:`` when it set it
    (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/namespace/)."""
    if obj.namespace is None:
        facts.lack(
            "namespace",
            f"{obj.ref} has no metadata.namespace and no kustomization sets namespace:; kubectl "
            "would apply it to the current context's namespace, which is not guessed",
        )
        return
    root = kustomizations.get(obj.origin.file) if obj.origin.built_by else None
    if (
        root is not None
        and isinstance(root[1], Mapping)
        and root[1].get("namespace") == obj.namespace
    ):
        facts.add("namespace", obj.namespace, f"{root[0]}: namespace")
        return
    facts.add("namespace", obj.namespace, obj.cite("metadata.namespace"))


def _selector(obj: KubeObject, facts: Facts) -> None:
    """``spec.selector.matchLabels`` as ``k=v,k2=v2``: the labels the workload owns its pods by,
    not its own metadata.labels, which may select nothing."""
    selector = obj.get("spec", "selector")
    if not isinstance(selector, Mapping):
        facts.lack("selector", f"{obj.ref} has no spec.selector")
        return
    if selector.get("matchExpressions"):
        facts.lack(
            "selector",
            f"{obj.ref} spec.selector uses matchExpressions, which an equality selector "
            "(k=v,k2=v2) cannot express",
        )
        return
    labels = selector.get("matchLabels")
    if not isinstance(labels, Mapping) or not labels:
        facts.lack("selector", f"{obj.ref} spec.selector has no matchLabels")
        return
    if not all(isinstance(key, str) and isinstance(value, str) for key, value in labels.items()):
        facts.lack(
            "selector", f"{obj.ref} spec.selector.matchLabels holds a value that is not text"
        )
        return
    rendered = ",".join(f"{key}={value}" for key, value in labels.items())
    facts.add("selector", rendered, obj.cite("spec.selector.matchLabels"))


def _containers(obj: KubeObject) -> list[Mapping[str, Any]]:
    containers = obj.get("spec", "template", "spec", "containers")
    return [c for c in containers if isinstance(c, Mapping)] if isinstance(containers, list) else []


def _container_facts(obj: KubeObject, facts: Facts) -> None:
    found = [
        {"name": c["name"], "image": image if isinstance(image := c.get("image"), str) else None}
        for c in _containers(obj)
        if isinstance(c.get("name"), str)
    ]
    if found:
        facts.add("containers", found, obj.cite("spec.template.spec.containers"))
    else:
        facts.lack("containers", f"{obj.ref} has no spec.template.spec.containers")


def _update_strategy(obj: KubeObject, facts: Facts) -> None:
    """Deployment ``spec.strategy.type`` and StatefulSet ``spec.updateStrategy`` default to
    RollingUpdate (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#strategy,
    https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#update-strategies);
    a Rollout has ``spec.strategy.canary`` or ``.blueGreen``
    (https://argoproj.github.io/argo-rollouts/features/specification/)."""
    if obj.kind == "Rollout":
        strategy = obj.get("spec", "strategy") or {}
        kinds = [
            name
            for name in ("canary", "blueGreen")
            if isinstance(strategy, Mapping) and name in strategy
        ]
        if len(kinds) == 1:
            facts.add("update_strategy", kinds[0], obj.cite(f"spec.strategy.{kinds[0]}"))
        else:
            facts.lack(
                "update_strategy", f"{obj.ref} spec.strategy names neither canary nor blueGreen"
            )
        return
    path = ("spec", "updateStrategy") if obj.kind == "StatefulSet" else ("spec", "strategy")
    field_path = ".".join(path)
    strategy = obj.get(*path)
    kind = strategy.get("type") if isinstance(strategy, Mapping) else None
    if kind is None:
        facts.add(
            "update_strategy",
            "RollingUpdate",
            f"{obj.cite(field_path)} (absent: Kubernetes' default)",
        )
        return
    if not isinstance(kind, str):
        facts.lack("update_strategy", f"{obj.ref} {field_path}.type is not text")
        return
    value = kind
    partition = obj.get(*path, "rollingUpdate", "partition")
    if kind == "RollingUpdate" and isinstance(partition, int) and partition > 0:
        value += f" partition={partition}"
        field_path += ".rollingUpdate.partition"
    else:
        field_path += ".type"
    facts.add("update_strategy", value, obj.cite(field_path))


# Why the "hpa" fact is missing when no autoscaler targets the workload, which is no gap: the
# service has none (answers.py then writes no hpa_name; its empty default says so).
NO_HPA = "no HorizontalPodAutoscaler has scaleTargetRef"


def _hpa(relations: Relations, facts: Facts) -> None:
    """minReplicas defaults to 1 (autoscaling/v2 HorizontalPodAutoscalerSpec:
    https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/)."""
    if len(relations.hpas) > 1:
        names = ", ".join(hpa.ref for hpa in relations.hpas)
        facts.lack(
            "hpa",
            f"more than one HorizontalPodAutoscaler targets {relations.workload.ref}: {names}",
        )
        return
    if not relations.hpas:
        facts.lack("hpa", f"{NO_HPA} {relations.workload.ref}")
        return
    hpa = relations.hpas[0]
    minimum, maximum = hpa.get("spec", "minReplicas"), scalar(hpa.get("spec", "maxReplicas"))
    if not isinstance(maximum, int) or (
        minimum is not None and not isinstance(scalar(minimum), int)
    ):
        facts.lack("hpa", f"{hpa.ref} spec.minReplicas or spec.maxReplicas is not a number")
        return
    value = {"name": hpa.name, "min": minimum if isinstance(minimum, int) else 1, "max": maximum}
    facts.add("hpa", value, hpa.cite("spec.scaleTargetRef"))


def _pdb(relations: Relations, facts: Facts) -> None:
    if not relations.pdbs:
        facts.lack("pdb", f"no PodDisruptionBudget selects the pods of {relations.workload.ref}")
        return
    value = [
        {
            key: scalar(pdb.get("spec", key))
            for key in ("minAvailable", "maxUnavailable")
            if scalar(pdb.get("spec", key)) is not None
        }
        | {"name": pdb.name}
        for pdb in relations.pdbs
    ]
    facts.add("pdb", value, "; ".join(pdb.cite("spec.selector") for pdb in relations.pdbs))


def _services(relations: Relations, facts: Facts) -> None:
    if not relations.services:
        facts.lack("services", f"no Service selects the pods of {relations.workload.ref}")
        return
    facts.add(
        "services",
        [service.name for service in relations.services],
        "; ".join(service.cite("spec.selector") for service in relations.services),
    )


def _named_port(container: Mapping[str, Any], port: str | int | None) -> str | int | None:
    """A probe's named port as the container's port number (numbers are kept)."""
    if not isinstance(port, str):
        return port
    ports = container.get("ports")
    for declared in ports if isinstance(ports, list) else []:
        if isinstance(declared, Mapping) and declared.get("name") == port:
            number = scalar(declared.get("containerPort"))
            return number if isinstance(number, int) else port
    return port


def _probe_check(
    container: Mapping[str, Any], probe_name: str, probe: Mapping[str, Any]
) -> dict[str, Any] | None:
    """An httpGet probe is an in-cluster HTTP check (path, port, scheme: HTTP unless given); a
    gRPC, exec or TCP probe leaves the pods' Ready condition as the check
    (https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/,
    https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#probe).
    None when an httpGet probe lacks a path or port as text or number."""
    http = probe.get("httpGet")
    if isinstance(http, Mapping):
        path, port = scalar(http.get("path")), scalar(http.get("port"))
        scheme = scalar(http.get("scheme")) or "HTTP"
        if not isinstance(path, str) or port is None or not isinstance(scheme, str):
            return None
        return {
            "kind": "in-cluster",
            "path": path,
            "port": _named_port(container, port),
            "scheme": scheme,
            "probe": probe_name,
            "container": scalar(container.get("name")),
        }
    handler = next((name for name in ("grpc", "exec", "tcpSocket") if name in probe), "unknown")
    return {
        "kind": "readiness",
        "probe": probe_name,
        "handler": handler,
        "container": scalar(container.get("name")),
    }


def _health_check(obj: KubeObject, facts: Facts) -> None:
    """The readiness probe (it gates traffic), else the liveness probe, of one container; two
    containers with different probes is reported, not chosen."""
    for probe_name in ("readinessProbe", "livenessProbe"):
        found = [
            (index, container, container[probe_name])
            for index, container in enumerate(_containers(obj))
            if isinstance(container.get(probe_name), Mapping)
        ]
        if len(found) > 1:
            names = ", ".join(quoted(container.get("name")) for _, container, _ in found)
            facts.lack(
                "health_check",
                f"{obj.ref}: containers {names} each have a {probe_name}; which one is the "
                "service's is not guessed",
            )
            return
        if found:
            index, container, probe = found[0]
            field_path = f"spec.template.spec.containers[{index}].{probe_name}"
            check = _probe_check(container, probe_name, probe)
            if check is None:
                facts.lack("health_check", f"{obj.ref} {field_path}.httpGet has no path or port")
            else:
                facts.add("health_check", check, obj.cite(field_path))
            return
    facts.lack("health_check", f"{obj.ref} has no readinessProbe or livenessProbe")


def _relabels_job(monitor: KubeObject, endpoints_field: str) -> bool:
    for endpoint in monitor.get("spec", endpoints_field) or []:
        for relabel in (endpoint.get("relabelings") or []) if isinstance(endpoint, Mapping) else []:
            if isinstance(relabel, Mapping) and relabel.get("targetLabel") == "job":
                return True
    return False


def _service_monitor_jobs(relations: Relations) -> list[tuple[str, str] | str]:
    """A ServiceMonitor's targets get ``job`` = the Service's name, unless ``spec.jobLabel``
    names a label the Service has: then that label's value
    (https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitorSpec,
    field jobLabel)."""
    jobs: list[tuple[str, str] | str] = []
    for target in relations.service_monitors:
        monitor, service = target.monitor, target.service
        if _relabels_job(monitor, "endpoints"):
            jobs.append(f"{monitor.ref} rewrites job in its relabelings")
            continue
        job_label = monitor.get("spec", "jobLabel")
        labels = service.get("metadata", "labels") or {}
        value = (
            labels.get(job_label)
            if isinstance(job_label, str) and isinstance(labels, Mapping)
            else None
        )
        if isinstance(value, str) and value:
            label_field = f"metadata.labels[{job_label!r}]"
            source = f"{service.cite(label_field)} (named by {monitor.ref} spec.jobLabel)"
            jobs.append((value, source))
        else:
            jobs.append(
                (
                    service.name,
                    f"{monitor.cite('spec.selector')} selects Service/{service.name}: "
                    "job is the Service's name",
                )
            )
    return jobs


def _pod_monitor_jobs(relations: Relations) -> list[tuple[str, str] | str]:
    """A PodMonitor's job is the pods' ``spec.jobLabel`` label, else ``<namespace>/<name>`` of the
    PodMonitor (https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PodMonitorSpec,
    field jobLabel; pkg/apis/monitoring/v1/podmonitor_types.go)."""
    jobs: list[tuple[str, str] | str] = []
    labels = pod_labels(relations.workload)
    for monitor in relations.pod_monitors:
        if _relabels_job(monitor, "podMetricsEndpoints"):
            jobs.append(f"{monitor.ref} rewrites job in its relabelings")
            continue
        job_label = monitor.get("spec", "jobLabel")
        value = labels.get(job_label) if isinstance(job_label, str) else None
        if isinstance(value, str) and value:
            source = relations.workload.cite(f"spec.template.metadata.labels[{job_label!r}]")
            jobs.append((value, f"{source} (named by {monitor.ref} spec.jobLabel)"))
        elif monitor.namespace is None:
            jobs.append(
                f"{monitor.ref} has no namespace, and its job is <namespace>/{monitor.name}"
            )
        else:
            jobs.append(
                (
                    f"{monitor.namespace}/{monitor.name}",
                    f"{monitor.cite('metadata')}: job is <namespace>/<name> of the PodMonitor",
                )
            )
    return jobs


def _metrics_job(relations: Relations, facts: Facts) -> None:
    found = _service_monitor_jobs(relations) + _pod_monitor_jobs(relations)
    refusals = [item for item in found if isinstance(item, str)]
    jobs = {item[0]: item[1] for item in found if isinstance(item, tuple)}
    if refusals:
        facts.lack("metrics_job", "; ".join(refusals))
    elif len(jobs) > 1:
        facts.lack(
            "metrics_job",
            "more than one Prometheus job scrapes the pods: " + ", ".join(map(repr, jobs)),
        )
    elif jobs:
        job, source = next(iter(jobs.items()))
        facts.add("metrics_job", job, source)
    else:
        facts.lack(
            "metrics_job",
            f"no ServiceMonitor or PodMonitor in the sources scrapes {relations.workload.ref}",
        )


def _siblings(relations: Relations, facts: Facts) -> None:
    if relations.siblings:
        facts.add(
            "siblings",
            [sibling.ref for sibling in relations.siblings],
            "; ".join(sibling.cite("metadata") for sibling in relations.siblings),
        )


def _catalog(component: Component | None, facts: Facts) -> None:
    if component is None:
        return
    for name, fact in component.facts.items():
        facts.add(name, fact.value, fact.source)


def facts_for(
    workload: KubeObject,
    index: ObjectIndex,
    components: Sequence[Component] = (),
    migration: MigrationFinding | None = None,
    kustomizations: Mapping[str, tuple[str, Any]] | None = None,
    argocd_namespace: str = ARGOCD_NAMESPACE,
) -> WorkloadFacts:
    """Every fact about one workload, from the index, the catalog and the migration markers.
    A live workload's deployers are read from their marks (deployers.py), a file's from the
    GitOps objects' source paths (gitops.py)."""
    facts = Facts()
    relations = relations_for(index, workload)
    _identity(workload, facts)
    _namespace(workload, facts, kustomizations or {})
    _selector(workload, facts)
    _container_facts(workload, facts)
    _update_strategy(workload, facts)
    _hpa(relations, facts)
    _pdb(relations, facts)
    _health_check(workload, facts)
    _services(relations, facts)
    _metrics_job(relations, facts)
    apply_metrics_namespace_label(relations, index, facts)
    apply_rollouts_namespace_label(workload, index, facts)
    _siblings(relations, facts)
    if workload.origin.live:
        apply_deployers(facts, workload, index, argocd_namespace)
    elif workload.origin.built_by == HELM:
        apply_helm_deployer(facts, workload, index)
    else:
        deployer = apply_gitops(facts, workload, index, set(kustomizations or {}))
        if deployer is not None:
            note_parents(facts, deployer, index)
    component = component_for(list(components), workload, index.workloads())
    _catalog(component, facts)
    if migration is not None:
        if migration.fact is not None:
            facts.add("migration_tool", migration.fact.value, migration.fact.source)
        else:
            facts.lack("migration_tool", migration.problem or "not found")
    return WorkloadFacts(workload, facts, component, relations)


def derive_facts(
    index: ObjectIndex,
    components: Sequence[Component] = (),
    migration: MigrationFinding | None = None,
    kustomizations: Mapping[str, tuple[str, Any]] | None = None,
    argocd_namespace: str = ARGOCD_NAMESPACE,
) -> list[WorkloadFacts]:
    """Facts for every workload a runbook can serve (Deployment, StatefulSet, Rollout)."""
    return [
        facts_for(workload, index, components, migration, kustomizations, argocd_namespace)
        for workload in index.workloads()
    ]
