"""The facts of a workload rendered from a chart: the GitOps object that installs it says the
release, its namespaces and who reverts changes made by hand.

A chart's objects (built.py's Helm step) keep in their origin the Argo CD Application or Flux
HelmRelease whose settings rendered them, so the link is known, not matched by path. Which
GitOps object in turn applies that one (a Flux Kustomization whose path holds the HelmRelease,
an app-of-apps Application, an ApplicationSet) is noted as ``gitops_parent``.
"""

from __future__ import annotations

import posixpath

from service_runbooks.discovery.deployers import _chart_workload
from service_runbooks.discovery.gitops import (
    ARGO_APPLICATION,
    FLUX_KUSTOMIZATION,
    GitOpsLink,
    argo_sources,
    gitops_facts,
    gitops_objects,
    kind_of,
    normal_path,
    under,
)
from service_runbooks.discovery.helm import (
    FLUX_HELM_RELEASE,
    flux_release_name,
    flux_storage_namespace,
    flux_target_namespace,
)
from service_runbooks.discovery.index import ObjectIndex
from service_runbooks.discovery.model import Facts, KubeObject

APPLICATION_SET = ("argoproj.io", "ApplicationSet")


def _deployer(workload: KubeObject, index: ObjectIndex) -> KubeObject | None:
    via = workload.origin.via
    return index.get(*via) if via is not None else None


def _folder_of(obj: KubeObject) -> str:
    """The folder a GitOps object was read from (its Kustomize root, or its file's folder)."""
    if obj.origin.built_by:
        return normal_path(obj.origin.file)
    return normal_path(posixpath.dirname(obj.origin.file) or ".")


def parents_of(obj: KubeObject, index: ObjectIndex) -> list[KubeObject]:
    """The GitOps objects whose path holds ``obj``'s folder: a Flux Kustomization in front of a
    HelmRelease, an Argo CD Application applying Applications (app of apps:
    https://argo-cd.readthedocs.io/en/stable/operator-manual/cluster-bootstrapping/), an
    ApplicationSet whose template's path does (https://argo-cd.readthedocs.io/en/stable/operator-manual/applicationset/)."""
    folder = _folder_of(obj)
    found = []
    for other in gitops_objects(index):
        if other is obj:
            continue
        if kind_of(other) == FLUX_KUSTOMIZATION:
            raw = other.get("spec", "path")
            if under(folder, normal_path(raw) if isinstance(raw, str) else "."):
                found.append(other)
        elif kind_of(other) == ARGO_APPLICATION:
            paths = [source.get("path") for _, source in argo_sources(other)]
            if any(isinstance(p, str) and normal_path(p) == folder for p in paths):
                found.append(other)
    return found


def note_parents(facts: Facts, obj: KubeObject, index: ObjectIndex) -> None:
    """``gitops_parent``: what applies ``obj`` (kind/namespace/name each), with where read; an
    ApplicationSet in the sources is named too, as what may generate the Application."""
    refs, sources = [], []
    for parent in parents_of(obj, index):
        refs.append(f"{parent.kind}/{parent.namespace or ''}/{parent.name}")
        path_field = "spec.path" if kind_of(parent) == FLUX_KUSTOMIZATION else "spec.source.path"
        sources.append(f"{parent.cite(path_field)} (applies {obj.origin.file})")
    if kind_of(obj) == ARGO_APPLICATION:
        for app_set in (o for o in gitops_objects(index) if kind_of(o) == APPLICATION_SET):
            refs.append(f"ApplicationSet/{app_set.namespace or ''}/{app_set.name}")
            sources.append(
                f"{app_set.cite('spec.template')} (an ApplicationSet in the sources; the "
                "Applications it generates exist only once its generators run)"
            )
    if refs:
        facts.add("gitops_parent", refs, "; ".join(sources))


def apply_helm_deployer(facts: Facts, workload: KubeObject, index: ObjectIndex) -> None:
    """The facts of a workload a chart made, from the object that rendered it."""
    deployer = _deployer(workload, index)
    if deployer is None:  # built.py renders only for an object in the index
        facts.lack("gitops", f"{workload.ref}: the object that rendered its chart is missing")
        return
    explicit_namespace = workload.get("metadata", "namespace") is not None
    if kind_of(deployer) == FLUX_HELM_RELEASE:
        _chart_workload(facts, workload, f"rendered for {deployer.ref}")
        link = GitOpsLink("flux", deployer, deployer.get("spec") or {}, "spec.chart.spec.chart")
        gitops_facts(facts, link)
        release, release_source = flux_release_name(deployer)
        facts.add("helm_release", release, release_source)
        stored, stored_source = flux_storage_namespace(deployer)
        if stored:
            facts.add("helm_storage_namespace", stored, stored_source)
        target, target_source = flux_target_namespace(deployer)
        if target and not explicit_namespace:
            facts.add("namespace", target, target_source)
    else:
        _chart_workload(facts, workload, f"rendered for {deployer.ref}")
        link = GitOpsLink("argocd", deployer, {}, "spec.source.path")
        gitops_facts(facts, link)
        if workload.namespace and not explicit_namespace:
            facts.add("namespace", workload.namespace, deployer.cite("spec.destination.namespace"))
    note_parents(facts, deployer, index)
