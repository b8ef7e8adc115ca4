"""Step 5, answers: the template's answers (cookiecutter.json) from one workload's facts.

Each answer keeps its fact's source. A value that breaks the answer's rule (rules.py, the one
source of every rule) is not an answer: it is listed as not derived, with the rule. Facts the
template has no answer for (the autoscaler's bounds, the PDBs, the sibling workloads...) are
kept apart, under proposed names: written as comments, never given to cookiecutter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service_runbooks.discovery.facts import NO_HPA, WorkloadFacts
from service_runbooks.discovery.model import Fact, Facts, quoted
from service_runbooks.rules import RULES_BY_FIELD

# The template's `workload` value for each kind a runbook can serve (cookiecutter.json).
WORKLOAD_VALUES = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "Rollout": "argo-rollout",
}

# The answers discovery tries to derive, in the order written; each is a cookiecutter.json key.
DISCOVERED_ANSWERS = (
    "service_name",
    "workload_name",
    "owner",
    "system",
    "lifecycle",
    "namespace",
    "workload",
    "app_label_selector",
    "health_check",
    "health_check_path",
    "health_check_port",
    "health_check_scheme",
    "migration_tool",
    "metrics_selector",
    "pagerduty_service_id",
    "github_repo",
    "gitops",
    "gitops_app",
    "gitops_kind",
    "flux_namespace",
)
# Answers only some services or sources give (a chart's, a cluster's): written when derived,
# never listed as missing.
DEPLOYER_ANSWERS = ("helm_release", "chart_workload", "kube_context")
# Answers read from how the sources have the metrics scraped (scrapelabels.py): written when a
# monitor or scrape config shows them, listed as not derived only when what it shows cannot be
# told apart (two labels, a rewrite); without one, cookiecutter.json's default is asked.
MONITORING_ANSWERS = ("metrics_namespace_label", "rollouts_namespace_label")
# Answers naming an object a service may not have (its autoscaler): written when the sources
# hold it; without one nothing is written (the answer's empty default says there is none), and
# it is listed as not derived only when the sources hold what cannot be told (two autoscalers).
OBJECT_ANSWERS = ("hpa_name",)
# The health check's kinds as the answer's choices spell them (cookiecutter.json): an httpGet
# probe is in-cluster; a gRPC, exec or TCP probe leaves the readiness check (facts._probe_check).
HEALTH_DETAILS = {"health_check_path": "path", "health_check_port": "port"}


@dataclass
class ServiceAnswers:
    """One fleet entry: answers with sources, proposed answers apart, and what is missing."""

    answers: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    proposed: dict[str, Any] = field(default_factory=dict)
    proposed_sources: dict[str, str] = field(default_factory=dict)
    not_derived: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return self.answers.get("service_name")


def _same(name: str) -> Callable[[Facts], Fact | str]:
    def pick(facts: Facts) -> Fact | str:
        return facts.found.get(name) or facts.missing.get(name) or f"no {name} in the sources"

    return pick


def _service_name(facts: Facts) -> Fact | str:
    """The Backstage component's name when a catalog-info.yaml describes the workload, else the
    workload's own name as built."""
    return facts.found.get("component_name") or _same("workload_name")(facts)


def _namespace(facts: Facts) -> Fact | str:
    manifest = facts.found.get("namespace")
    catalog = facts.found.get("kubernetes_namespace")
    if manifest and catalog and manifest.value != catalog.value:
        return (
            f"the manifests say {quoted(manifest.value)} ({manifest.source}) but the catalog says "
            f"{quoted(catalog.value)} ({catalog.source})"
        )
    return manifest or catalog or facts.missing.get("namespace", "no namespace in the sources")


def _workload(facts: Facts) -> Fact | str:
    """``helm`` when a chart made the workload (a Helm release, or Argo CD rendering a chart:
    the ``chart_workload`` fact), else the workload's kind."""
    chart = facts.found.get("chart_workload")
    if chart is not None:
        return Fact("helm", chart.source)
    kind = facts.found["workload_kind"]
    return Fact(WORKLOAD_VALUES[kind.value], kind.source)


def _helm_only(name: str) -> Callable[[Facts], Fact | str | None]:
    """An answer of the helm workload only (rules.py's only_when): None for any other. Under
    Argo CD no Helm release exists (Argo CD renders the chart), so helm_release is None too."""

    def pick(facts: Facts) -> Fact | str | None:
        if "chart_workload" not in facts.found:
            return None
        gitops = facts.found.get("gitops")
        if name == "helm_release" and gitops is not None and gitops.value == "argocd":
            return None
        return _same(name)(facts)

    return pick


def _when_found(name: str) -> Callable[[Facts], Fact | str | None]:
    """An answer only some sources can give (the cluster's context): None when not found."""

    def pick(facts: Facts) -> Fact | str | None:
        return facts.found.get(name)

    return pick


def _when_shown(name: str) -> Callable[[Facts], Fact | str | None]:
    """An answer the sources show only sometimes: the fact, why it could not be told, or None
    when nothing in the sources shows it."""

    def pick(facts: Facts) -> Fact | str | None:
        return facts.found.get(name) or facts.missing.get(name)

    return pick


def _hpa_name(facts: Facts) -> Fact | str | None:
    """The HorizontalPodAutoscaler whose scaleTargetRef is the workload (facts._hpa); None
    when none is (the service has no autoscaler, as the empty answer says)."""
    hpa = facts.found.get("hpa")
    if hpa is not None:
        return Fact(hpa.value["name"], hpa.source)
    why = facts.missing.get("hpa")
    return None if why is None or why.startswith(NO_HPA) else why


def _metrics_selector(facts: Facts) -> Fact | str:
    job = facts.found.get("metrics_job")
    if job is None:
        return facts.missing.get("metrics_job", "no Prometheus job found")
    return Fact(f'job="{job.value}"', job.source)


def _health_check(facts: Facts) -> Fact | str:
    """The kind of the service's health check, read from its pods' probe."""
    health = facts.found.get("health_check")
    if health is None:
        return _same("health_check")(facts)
    return Fact(health.value["kind"], health.source)


def _health_detail(name: str) -> Callable[[Facts], Fact | str | None]:
    """A detail of an in-cluster health check (the probe's path, port or scheme): None, not
    listed as missing, with any other kind (rules.py's only_when)."""

    def pick(facts: Facts) -> Fact | str | None:
        health = facts.found.get("health_check")
        if health is None or health.value["kind"] != "in-cluster":
            return None
        value = health.value[HEALTH_DETAILS.get(name, "scheme")]
        return Fact(str(value), health.source)

    return pick


def _gitops_kind(facts: Facts) -> Fact | str | None:
    """The Flux object's kind, lowercase as the answer's choices spell it (kustomization,
    helmrelease); an answer of Flux only."""
    picked = _gitops_only("gitops_kind", ("flux",))(facts)
    if isinstance(picked, Fact):
        return Fact(str(picked.value).lower(), picked.source)
    return picked


def _gitops_only(name: str, tools: tuple[str, ...]) -> Callable[[Facts], Fact | str | None]:
    """An answer used only with some GitOps tools (rules.py's only_when): None, not listed as
    missing, when the tool derived is another; missing while the tool is."""

    def pick(facts: Facts) -> Fact | str | None:
        tool = facts.found.get("gitops")
        if tool is None:
            return f"used with gitops {' or '.join(tools)} only, and gitops is not derived"
        if tool.value not in tools:
            return None
        return _same(name)(facts)

    return pick


ANSWERS: dict[str, Callable[[Facts], Fact | str | None]] = {
    "service_name": _service_name,
    "workload_name": _same("workload_name"),
    "owner": _same("owner"),
    "system": _same("system"),
    "lifecycle": _same("lifecycle"),
    "namespace": _namespace,
    "workload": _workload,
    "app_label_selector": _same("selector"),
    "health_check": _health_check,
    "health_check_path": _health_detail("health_check_path"),
    "health_check_port": _health_detail("health_check_port"),
    "health_check_scheme": _health_detail("health_check_scheme"),
    "migration_tool": _same("migration_tool"),
    "metrics_selector": _metrics_selector,
    "pagerduty_service_id": _same("pagerduty_service_id"),
    "github_repo": _same("github_repo"),
    "gitops": _same("gitops"),
    "gitops_app": _gitops_only("gitops_app", ("argocd", "flux")),
    "gitops_kind": _gitops_kind,
    "flux_namespace": _gitops_only("flux_namespace", ("flux",)),
    "helm_release": _helm_only("helm_release"),
    "chart_workload": _helm_only("chart_workload"),
    "kube_context": _when_found("kube_context"),
    "hpa_name": _hpa_name,
    "metrics_namespace_label": _when_shown("metrics_namespace_label"),
    "rollouts_namespace_label": _when_shown("rollouts_namespace_label"),
}


def _proposed(facts: Facts) -> dict[str, Fact]:
    """Facts the template has no answer for, by proposed name (written as comments)."""
    found = facts.found
    proposed: dict[str, Fact] = {}
    hpa = found.get("hpa")
    if hpa is not None:
        proposed["hpa_min_replicas"] = Fact(str(hpa.value["min"]), hpa.source)
        proposed["hpa_max_replicas"] = Fact(str(hpa.value["max"]), hpa.source)
    for name in (
        "update_strategy",
        "services",
        "siblings",
        "gitops_reverts_by_hand_changes",
        "gitops_prunes",
        "gitops_parent",
        "helm_storage_namespace",
    ):
        if name in found:
            proposed[name] = found[name]
    if "helm_release" in found and "chart_workload" not in found:  # a Rollout from a chart
        proposed["helm_release"] = found["helm_release"]
    if "pdb" in found:
        proposed["pdb_names"] = Fact(
            [pdb["name"] for pdb in found["pdb"].value], found["pdb"].source
        )
    if "containers" in found:
        containers = found["containers"]
        proposed["containers"] = Fact([c["name"] for c in containers.value], containers.source)
    return proposed


def _refuse_narrowed(result: ServiceAnswers) -> None:
    """An answer that breaks a rule holding only with the others derived (``Rule.narrowings``:
    a Kustomization in front of a helm workload under Flux, say) is listed as not derived."""
    for name, value in list(result.answers.items()):
        rule = RULES_BY_FIELD[name]
        reason = rule.verdict(value, result.answers)
        if reason is not None:
            source = result.sources.pop(name)
            del result.answers[name]
            result.not_derived[name] = (
                f"{quoted(value)} from {source} {reason}. Rule: {rule.summary}"
            )


def answers_for(workload_facts: WorkloadFacts) -> ServiceAnswers:
    """The answers one workload's facts give, each checked against its rule."""
    facts = workload_facts.facts
    result = ServiceAnswers()
    for name in DISCOVERED_ANSWERS + DEPLOYER_ANSWERS + OBJECT_ANSWERS + MONITORING_ANSWERS:
        picked = ANSWERS[name](facts)
        if picked is None:
            continue
        if isinstance(picked, str):
            result.not_derived[name] = picked
            continue
        reason = RULES_BY_FIELD[name].check(picked.value)
        if reason is not None:
            rule = RULES_BY_FIELD[name]
            result.not_derived[name] = (
                f"{quoted(picked.value)} from {picked.source} {reason}. Rule: {rule.summary}"
            )
            continue
        result.answers[name] = picked.value
        result.sources[name] = picked.source
    _refuse_narrowed(result)
    for name, fact in _proposed(facts).items():
        result.proposed[name] = fact.value
        result.proposed_sources[name] = fact.source
    return result
