"""Step 4, facts: the label that holds the namespace in the series the alerts read, as the
sources have them scraped.

- The service's own metrics (``metrics_namespace_label``): a ServiceMonitor or PodMonitor
  endpoint starts with the Prometheus Operator's ``namespace`` target label, then applies its
  ``relabelings`` and ``metricRelabelings``, which can copy it to another label
  (``kubernetes_namespace``), overwrite or drop it; a plain Prometheus scrape config (a
  ``prometheus.yml``, or a ConfigMap holding one) has no namespace label unless its
  ``relabel_configs`` copy ``__meta_kubernetes_namespace`` into one.
- The Argo Rollouts controller's metrics (``rollouts_namespace_label``): they carry the Rollout's
  namespace in their own ``namespace`` label, which a ServiceMonitor's ``namespace`` target label
  renames to ``exported_namespace`` unless the endpoint has ``honorLabels: true``.

Sources, each checked:
- https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.Endpoint and
  #monitoring.coreos.com/v1.PodMetricsEndpoint: ``honorLabels``, ``relabelings`` (applied to
  the target before scraping), ``metricRelabelings`` (to the samples before ingestion); the
  operator's generated job sets ``namespace`` from ``__meta_kubernetes_namespace`` before the
  endpoint's own relabelings (pkg/prometheus/promcfg.go in prometheus-operator/prometheus-operator).
- https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config:
  ``honor_labels`` false (the default) renames a scraped label that conflicts with a target
  label to ``exported_<label>``; #relabel_config: ``action`` defaults to ``replace``, ``regex``
  to ``(.*)``, ``replacement`` to ``$1``; #kubernetes_sd_config: ``__meta_kubernetes_namespace``
  and ``__meta_kubernetes_<role>_annotation_<name>`` (the annotation's name with every
  character that is not a letter, digit or ``_`` made ``_``), dropped after relabeling.
- The Argo Rollouts controller's metrics carry ``namespace`` (https://argoproj.github.io/argo-rollouts/features/controller-metrics/);
  its pods and metrics Service are labelled ``app: argo-rollouts`` (argoproj/argo-rollouts
  manifests/base/argo-rollouts-metrics-service.yaml) or ``app.kubernetes.io/name:
  argo-rollouts`` (argoproj/argo-helm
  charts/argo-rollouts/templates/controller/servicemonitor.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from service_runbooks.discovery.index import ObjectIndex, Relations
from service_runbooks.discovery.model import Facts, KubeObject, Limits, Origin, quoted
from service_runbooks.discovery.yamlload import load_documents
from service_runbooks.errors import YamlProblem

NAMESPACE_META = "__meta_kubernetes_namespace"
OPERATOR_NAMESPACE_LABEL = "namespace"  # the target label the operator's jobs set
EXPORTED_NAMESPACE_LABEL = "exported_namespace"  # a scraped namespace beside it, honor_labels off
# A plain Prometheus configuration file read from the sources, indexed as this pseudo kind (no
# Kubernetes object has it); a ConfigMap's prometheus.yml is read from the ConfigMap.
PROMETHEUS_CONFIG = "PrometheusConfig"
CONFIG_MAP_KEYS = ("prometheus.yml", "prometheus.yaml")
ROLLOUTS_CONTROLLER_LABELS = frozenset({"argo-rollouts", "argo-rollouts-metrics"})
IDENTITY_REGEX = (None, "(.*)", "(.+)")
IDENTITY_REPLACEMENT = (None, "$1", "${1}")


@dataclass(frozen=True)
class RelabelKeys:
    """The keys of a relabeling: the operator's camelCase or Prometheus's snake_case."""

    sources: str
    target: str


OPERATOR_KEYS = RelabelKeys("sourceLabels", "targetLabel")
PROMETHEUS_KEYS = RelabelKeys("source_labels", "target_label")


def _full_match(regex: object, label: str) -> bool:
    """Prometheus anchors a relabeling's regex at both ends. An unquoted ``regex: true`` is a
    YAML boolean to PyYAML but a string to Prometheus, which reads the field as text."""
    if isinstance(regex, bool):
        regex = str(regex).lower()
    if not isinstance(regex, str):
        return False
    try:
        return re.fullmatch(regex, label) is not None
    except re.error:
        return False


def follow_namespace(
    holders: set[str], rules: Iterable[Any], keys: RelabelKeys
) -> tuple[set[str], str | None]:
    """The labels holding the namespace after ``rules``, starting from ``holders``; and why it
    cannot be told (a rule that rewrites a holder in a way not followed here), or None."""
    held = set(holders)
    for rule in rules:
        if not isinstance(rule, Mapping):
            continue
        action = str(rule.get("action") or "replace").lower()
        sources, target = rule.get(keys.sources), rule.get(keys.target)
        if action == "replace" and isinstance(target, str):
            copies = (
                isinstance(sources, list)
                and len(sources) == 1
                and sources[0] in held
                and rule.get("regex") in IDENTITY_REGEX
                and rule.get("replacement") in IDENTITY_REPLACEMENT
            )
            if copies:
                held.add(target)
            elif target in held:
                return held, f"a relabeling writes {quoted(target)} from something else"
        elif action == "labeldrop":
            held = {label for label in held if not _full_match(rule.get("regex"), label)}
        elif action == "labelkeep":
            held = {label for label in held if _full_match(rule.get("regex"), label)}
    return held, None


def _two_stages(
    start: set[str], target_rules: object, metric_rules: object, keys: RelabelKeys
) -> tuple[set[str], str | None]:
    """The labels holding the namespace after the target relabelings, then the metric ones;
    the ``__meta_`` labels are gone by the metric stage (dropped after target relabeling)."""
    held, problem = follow_namespace(start, _rules(target_rules), keys)
    if problem is not None:
        return held, problem
    return follow_namespace(held - {NAMESPACE_META}, _rules(metric_rules), keys)


def _rules(rules: object) -> list[Any]:
    return rules if isinstance(rules, list) else []


def _pick(held: set[str]) -> str | None:
    """The label the team keeps the namespace in: one it copied it to (``kubernetes_namespace``)
    over the operator's ``namespace`` left beside it; None when none, or two copies."""
    kept = held - {NAMESPACE_META}
    renamed = kept - {OPERATOR_NAMESPACE_LABEL}
    if len(renamed) == 1:
        return renamed.pop()
    if not renamed and kept:
        return OPERATOR_NAMESPACE_LABEL
    return None


Found = tuple[str, str] | str  # (label, source), or why it cannot be told


def _monitor_endpoints(monitor: KubeObject) -> tuple[str, list[Mapping[str, Any]]]:
    field = "endpoints" if monitor.kind == "ServiceMonitor" else "podMetricsEndpoints"
    endpoints = monitor.get("spec", field)
    found = [e for e in endpoints if isinstance(e, Mapping)] if isinstance(endpoints, list) else []
    return field, found


def _monitor_label(monitor: KubeObject) -> Found:
    """The namespace label of the series one ServiceMonitor or PodMonitor scrapes. (With
    ``honorLabels: true`` a ``namespace`` label the service exposes itself would win over the
    target's; a service's own request metrics carry none, so it is not read here.)"""
    field, endpoints = _monitor_endpoints(monitor)
    labels: dict[str, str] = {}
    for number, endpoint in enumerate(endpoints):
        start = {OPERATOR_NAMESPACE_LABEL, NAMESPACE_META}
        held, problem = _two_stages(
            start, endpoint.get("relabelings"), endpoint.get("metricRelabelings"), OPERATOR_KEYS
        )
        label = _pick(held)
        if problem is not None or label is None:
            return f"{monitor.ref} {field}[{number}]: {problem or 'no label keeps the namespace'}"
        touched = "relabelings" in endpoint or "metricRelabelings" in endpoint
        how = (
            f"{field}[{number}] relabelings"
            if touched
            else f"{field}[{number}] (no relabeling: the operator's namespace label)"
        )
        labels[label] = monitor.cite(how)
    if len(labels) > 1:
        return f"{monitor.ref}'s endpoints keep the namespace in {', '.join(sorted(labels))}"
    if not labels:
        return f"{monitor.ref} has no {field}"
    return next(iter(labels.items()))


def _annotated(obj: KubeObject, *path: str) -> bool:
    annotations = obj.get(*path, "annotations")
    return isinstance(annotations, Mapping) and annotations.get("prometheus.io/scrape") == "true"


def _kept_role(job: Mapping[str, Any]) -> str | None:
    """The kind (service or pod) whose ``prometheus.io/scrape`` annotation the job keeps
    targets by (the classic kubernetes-service-endpoints and kubernetes-pods jobs), or None."""
    for rule in job.get("relabel_configs") or []:
        if not isinstance(rule, Mapping) or str(rule.get("action")).lower() != "keep":
            continue
        sources = rule.get("source_labels")
        for kind in ("service", "pod"):
            annotation = f"__meta_kubernetes_{kind}_annotation_prometheus_io_scrape"
            if sources == [annotation] and _full_match(rule.get("regex"), "true"):
                return kind
    return None


def _scrapes(job: Mapping[str, Any], relations: Relations) -> bool:
    """Whether a plain scrape job keeps the workload's pods or one of its Services."""
    role = _kept_role(job)
    if role == "service":
        return any(_annotated(service, "metadata") for service in relations.services)
    if role == "pod":
        return _annotated(relations.workload, "spec", "template", "metadata")
    return False


def _config_labels(config: ScrapeConfig, relations: Relations) -> list[Found]:
    found: list[Found] = []
    jobs = config.body.get("scrape_configs")
    for number, job in enumerate(jobs if isinstance(jobs, list) else []):
        if not isinstance(job, Mapping) or not _scrapes(job, relations):
            continue
        held, problem = _two_stages(
            {NAMESPACE_META},
            job.get("relabel_configs"),
            job.get("metric_relabel_configs"),
            PROMETHEUS_KEYS,
        )
        label = _pick(held)
        name = quoted(job.get("job_name"))
        if problem is not None or label is None:
            why = problem or "no relabeling copies __meta_kubernetes_namespace into a label"
            found.append(f"{config.where} job {name}: {why}")
        else:
            found.append((label, f"{config.where} scrape_configs[{number}] (job {name})"))
    return found


def apply_metrics_namespace_label(relations: Relations, index: ObjectIndex, facts: Facts) -> None:
    """``metrics_namespace_label`` from every monitor and scrape job that scrapes the pods;
    not derived when none does, or when they disagree."""
    found: list[Found] = [_monitor_label(target.monitor) for target in relations.service_monitors]
    found += [_monitor_label(monitor) for monitor in relations.pod_monitors]
    for config in _config_maps(index):
        found += _config_labels(config, relations)
    refusals = [item for item in found if isinstance(item, str)]
    labels = {item[0]: item[1] for item in found if isinstance(item, tuple)}
    if refusals:
        facts.lack("metrics_namespace_label", "; ".join(refusals))
    elif len(labels) > 1:
        facts.lack(
            "metrics_namespace_label",
            "the pods are scraped with the namespace in different labels: "
            + ", ".join(f"{label} ({source})" for label, source in labels.items()),
        )
    elif labels:
        label, source = next(iter(labels.items()))
        facts.add("metrics_namespace_label", label, source)


def _controller_monitors(index: ObjectIndex) -> list[KubeObject]:
    """ServiceMonitors and PodMonitors selecting the Argo Rollouts controller, by the labels
    its manifests and chart give it."""
    found = []
    for kind in ("ServiceMonitor", "PodMonitor"):
        for monitor in index.by_kind.get(kind, []):
            labels = monitor.get("spec", "selector", "matchLabels")
            if isinstance(labels, Mapping) and ROLLOUTS_CONTROLLER_LABELS & {
                value for value in labels.values() if isinstance(value, str)
            }:
                found.append(monitor)
    return found


def apply_rollouts_namespace_label(workload: KubeObject, index: ObjectIndex, facts: Facts) -> None:
    """``rollouts_namespace_label`` for a Rollout, from the controller's monitor in the sources:
    ``namespace`` when every endpoint honours the scraped labels, ``exported_namespace`` when
    none does."""
    if workload.kind != "Rollout":
        return
    found: dict[str, str] = {}
    for monitor in _controller_monitors(index):
        field, endpoints = _monitor_endpoints(monitor)
        for number, endpoint in enumerate(endpoints):
            honored = endpoint.get("honorLabels") is True
            label = OPERATOR_NAMESPACE_LABEL if honored else EXPORTED_NAMESPACE_LABEL
            why = "honorLabels: true" if honored else "honorLabels absent or false"
            found.setdefault(label, monitor.cite(f"{field}[{number}].honorLabels ({why})"))
    if len(found) > 1:
        facts.lack(
            "rollouts_namespace_label",
            "the Argo Rollouts controller is scraped both with and without honorLabels: "
            + "; ".join(found.values()),
        )
    elif found:
        label, source = next(iter(found.items()))
        facts.add("rollouts_namespace_label", label, source)


def prometheus_configs(documents: Sequence[Any], origin: Origin) -> list[KubeObject]:
    """The Prometheus configurations among a plain file's documents (a mapping with
    ``scrape_configs`` and no ``kind``), as PROMETHEUS_CONFIG objects for the index."""
    return [
        KubeObject("v1", PROMETHEUS_CONFIG, "the Prometheus configuration", None, document, origin)
        for document in documents
        if isinstance(document, dict)
        and "kind" not in document
        and isinstance(document.get("scrape_configs"), list)
    ]


@dataclass(frozen=True)
class ScrapeConfig:
    """One Prometheus configuration and how a source names it."""

    body: Mapping[str, Any]
    where: str  # file: object, for sources


def _config_maps(index: ObjectIndex) -> Iterator[ScrapeConfig]:
    """The Prometheus configurations the sources hold: files, and ConfigMaps' prometheus.yml."""
    for config in index.by_kind.get(PROMETHEUS_CONFIG, []):
        yield ScrapeConfig(config.body, f"{config.origin.file}: {config.name}")
    for config_map in index.by_kind.get("ConfigMap", []):
        data = config_map.get("data")
        for key in CONFIG_MAP_KEYS:
            text = data.get(key) if isinstance(data, Mapping) else None
            body = _load_config(text) if isinstance(text, str) else None
            if body is not None:
                yield ScrapeConfig(body, config_map.cite(f"data[{key!r}]"))


@lru_cache(maxsize=64)
def _load_config(text: str) -> dict[str, Any] | None:
    """A ConfigMap's prometheus.yml, read with discovery's safe loader and limits; None when it
    is not a configuration with scrape_configs (it is then not read as one)."""
    try:
        documents = load_documents(text.encode("utf-8"), "ConfigMap data", Limits())
    except YamlProblem:
        return None
    body = documents[0] if len(documents) == 1 else None
    return body if isinstance(body, dict) and isinstance(body.get("scrape_configs"), list) else None
