"""Discovery: a service's answers read from its deployment sources, each with its source.

Steps, each usable alone (the tests hold them apart):

1. ``collect(sources, base)`` -> ``Collected``: Kustomize roots, plain manifests,
   catalog-info.yaml, Helm charts (listed), the migration tool's markers;
2. ``build(collected)`` -> ``Built``: the objects, Kustomize roots built with ``kubectl kustomize``
   in parallel and cached by their inputs' digest, an Argo CD Application's kustomize settings
   applied over its root (argokustomize.py), local Helm charts rendered with ``helm template``
   for the Application or Flux HelmRelease installing them (helm.py);
3. ``index_objects(objects)`` -> ``ObjectIndex``; ``relations_for(index, workload)`` ->
   ``Relations`` (HPA, PDB, Services, ServiceMonitors, PodMonitors, siblings);
4. ``derive_facts(index, components, migration, kustomizations)`` -> ``[WorkloadFacts]``
   (GitOps: the Argo CD Application or Flux Kustomization deploying each workload, gitops.py;
   a chart's workload from the object that rendered it, helmlinks.py);
5. ``answers_for(workload_facts)`` -> ``ServiceAnswers``; ``fleet_text(services)`` -> the fleet
   file's text.

``discover_cluster`` (cluster.py) reads the same objects from a running cluster with ``kubectl
get`` and runs steps 3 to 5 on them.

``check --drift`` re-runs them on each fleet entry's recorded sources (filedrift.py) and checks
the rendered commands' objects and selector against what was built (objectcheck.py).

``discover(sources, base)`` runs them all and returns a ``Discovery``. Every problem with a
source raises ``DiscoveryError`` naming it (``.problems``), never a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from service_runbooks.discovery.answers import DISCOVERED_ANSWERS, ServiceAnswers, answers_for
from service_runbooks.discovery.build import Built, build
from service_runbooks.discovery.catalog import Component, read_components
from service_runbooks.discovery.collect import Collected, collect
from service_runbooks.discovery.facts import WorkloadFacts, derive_facts
from service_runbooks.discovery.fleetwrite import fleet_text
from service_runbooks.discovery.index import ObjectIndex, Relations, index_objects, relations_for
from service_runbooks.discovery.kustomize import BuildCache
from service_runbooks.discovery.model import (
    DiscoveryError,
    Fact,
    Facts,
    KubeObject,
    Limits,
    Origin,
    SourceProblem,
)
from service_runbooks.discovery.pages import helm_as_the_pages_print
from service_runbooks.template_source import TEMPLATE_ROOT

__all__ = [
    "DISCOVERED_ANSWERS",
    "BuildCache",
    "Built",
    "Collected",
    "Component",
    "Discovery",
    "DiscoveryError",
    "Fact",
    "Facts",
    "KubeObject",
    "Limits",
    "ObjectIndex",
    "Origin",
    "Relations",
    "ServiceAnswers",
    "SourceProblem",
    "WorkloadFacts",
    "answers_for",
    "build",
    "collect",
    "derive_facts",
    "discover",
    "fleet_text",
    "index_objects",
    "read_components",
    "relations_for",
]


@dataclass
class Discovery:
    """What ``discover`` found: one ServiceAnswers per workload, and what it read and left."""

    services: list[ServiceAnswers]
    workloads: list[WorkloadFacts]
    sources: list[str]
    roots_built: list[str] = field(default_factory=list)
    roots_as_bases: list[str] = field(default_factory=list)
    not_built: list[str] = field(default_factory=list)
    links_not_followed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    index: ObjectIndex | None = None  # every object built, for checks beyond the answers

    def header(self) -> list[str]:
        """The fleet file's opening comment: what was read, built and left alone."""
        lines = [f"Written by service-runbooks discover from: {', '.join(self.sources)}"]
        if self.roots_built:
            lines.append(f"Kustomize roots built: {', '.join(self.roots_built)}")
        lines += [f"Not built: {item}" for item in self.not_built]
        lines += [f"Not read: {item}" for item in self.links_not_followed]
        lines += self.notes
        return lines

    def fleet_text(self, proposed_as_answers: bool = False) -> str:
        return fleet_text(self.services, self.header(), proposed_as_answers)

    def not_derived_lines(self) -> list[str]:
        """For standard error: each service's answers not derived, with the reason."""
        return [
            f"{service.name or '(no name)'}: {answer}: {reason}"
            for service in self.services
            for answer, reason in service.not_derived.items()
        ]


def duplicate_names(services: list[ServiceAnswers]) -> list[str]:
    seen: dict[str, int] = {}
    for service in services:
        if service.name:
            seen[service.name] = seen.get(service.name, 0) + 1
    return [
        f"service_name {name!r} is derived for {count} workloads; name each entry apart"
        for name, count in seen.items()
        if count > 1
    ]


def discover(
    sources: list[Path],
    base: Path | None = None,
    limits: Limits | None = None,
    cache: BuildCache | None = None,
) -> Discovery:
    """Every step over ``sources``; paths in sources are shown relative to ``base`` (the fleet
    file's folder; the current folder by default)."""
    limits = limits or Limits()
    base = Path(os.path.realpath(base or Path.cwd()))
    collected: Collected = collect(sources, base, limits)
    built = build(collected, limits, cache)
    components = read_components(collected, limits)
    index = index_objects(built.objects)
    workloads = derive_facts(index, components, collected.migration, built.kustomizations)
    services = [answers_for(workload) for workload in workloads]
    for service in services:
        helm_as_the_pages_print(TEMPLATE_ROOT, service)
    notes = duplicate_names(services) + built.helm_notes
    notes += [f"Helm chart rendered: {chart}" for chart in built.charts_rendered]
    if not workloads:
        notes.append("no Deployment, StatefulSet or Argo Rollouts Rollout found in the sources")
    return Discovery(
        services,
        workloads,
        collected.sources,
        built.roots_built,
        built.roots_as_bases,
        built.not_built,
        collected.links_not_followed,
        notes,
        index,
    )
