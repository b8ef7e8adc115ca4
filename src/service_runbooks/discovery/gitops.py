"""GitOps objects in the sources: which one deploys a workload, and what it changes.

An Argo CD Application (https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/)
or a Flux Kustomization (https://fluxcd.io/flux/components/kustomize/kustomizations/) decides
whether a rollback sticks: with self-heal, a rollback done by hand is reverted. One deploys a
workload when its source path is the folder the workload was read from. GitOps paths are
relative to the repository's root, which discovery takes to be ``base`` (the folder the paths
are shown relative to: the fleet file's); a path that matches no source given links nothing.

Conservative by design: an object that changes the build (Argo CD's ``spec.source.kustomize``,
``helm`` or ``plugin``; Flux's name prefix, patches, components or post-build substitution)
makes every fact read from the manifests not derived, since discovery does not apply those
changes. Flux HelmReleases and Argo CD ApplicationSets are named, never linked: charts are not
rendered yet and an ApplicationSet's Applications exist only once its generators run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service_runbooks.discovery.index import ObjectIndex, group_of
from service_runbooks.discovery.model import Facts, KubeObject

ARGO_APPLICATION = ("argoproj.io", "Application")
FLUX_KUSTOMIZATION = ("kustomize.toolkit.fluxcd.io", "Kustomization")
# (API group, kind) of every object that deploys from Git.
GITOPS_KINDS = frozenset(
    {
        ARGO_APPLICATION,
        ("argoproj.io", "ApplicationSet"),
        FLUX_KUSTOMIZATION,
        ("helm.toolkit.fluxcd.io", "HelmRelease"),
    }
)
# Argo CD source settings that change what is built (spec.source.kustomize, .helm, .plugin; a
# directory's jsonnet, include and exclude):
# https://argo-cd.readthedocs.io/en/stable/user-guide/application-specification/
ARGO_BUILD_CHANGES = ("kustomize", "helm", "plugin")
ARGO_DIRECTORY_CHANGES = ("jsonnet", "include", "exclude")
# Flux Kustomization fields that change what is built
# (https://fluxcd.io/flux/components/kustomize/kustomizations/).
FLUX_BUILD_CHANGES = ("namePrefix", "nameSuffix", "patches", "components", "postBuild")
# Facts read from the built manifests, which a change to the build may make wrong.
MANIFEST_FACTS = (
    "workload_name",
    "namespace",
    "selector",
    "containers",
    "update_strategy",
    "hpa",
    "pdb",
    "health_check",
    "services",
    "metrics_job",
    "siblings",
)


@dataclass(frozen=True)
class GitOpsLink:
    """A GitOps object deploying the workload, from which of its sources."""

    tool: str  # the template's `gitops` value: argocd or flux
    obj: KubeObject
    source: Mapping[str, Any]
    path_field: str


def kind_of(obj: KubeObject) -> tuple[str, str]:
    return group_of(obj.api_version), obj.kind


def gitops_objects(index: ObjectIndex) -> list[KubeObject]:
    """The GitOps objects, in the order read (looked up by kind: asked once per workload)."""
    kinds = {kind for _, kind in GITOPS_KINDS}
    found = [obj for kind in kinds for obj in index.by_kind.get(kind, [])]
    ordered = sorted(found, key=lambda obj: index.position(obj))
    return [obj for obj in ordered if kind_of(obj) in GITOPS_KINDS]


def normal_path(path: str) -> str:
    """A GitOps path as a folder relative to the repository's root ("." for the root)."""
    return posixpath.normpath(path.strip().lstrip("/") or ".")


def deploy_folder(workload: KubeObject) -> str:
    """Where the workload was read: its Kustomize root, or its manifest file's folder."""
    if workload.origin.built_by:
        return normal_path(workload.origin.file)
    return normal_path(posixpath.dirname(workload.origin.file) or ".")


def under(folder: str, path: str) -> bool:
    return path == "." or folder == path or folder.startswith(path + "/")


def argo_sources(app: KubeObject) -> list[tuple[str, Mapping[str, Any]]]:
    """An Application's sources: spec.source, or each of spec.sources, with its field."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    single = app.get("spec", "source")
    if isinstance(single, Mapping):
        found.append(("spec.source", single))
    several = app.get("spec", "sources")
    for index, source in enumerate(several if isinstance(several, list) else []):
        if isinstance(source, Mapping):
            found.append((f"spec.sources[{index}]", source))
    return found


def _argo_deploys(source: Mapping[str, Any], folder: str, built: bool) -> bool:
    """A directory source applies the folder's manifests (and its subfolders' when
    ``directory.recurse``); a Kustomize source builds the folder's kustomization."""
    path = source.get("path")
    if not isinstance(path, str):
        return False
    path = normal_path(path)
    directory = source.get("directory")
    recurse = isinstance(directory, Mapping) and directory.get("recurse") is True
    return folder == path or (not built and recurse and under(folder, path))


def _flux_deploys(path: str, folder: str, kustomize_roots: set[str]) -> bool:
    """A Flux Kustomization builds the path's kustomization.yaml or, without one, generates
    one holding every manifest and kustomization found under the path."""
    if path in kustomize_roots:
        return folder == path
    return under(folder, path)


def links_for(
    workload: KubeObject, objects: list[KubeObject], kustomize_roots: set[str]
) -> list[GitOpsLink]:
    """Every Argo CD Application and Flux Kustomization whose path is the workload's folder."""
    folder, built = deploy_folder(workload), workload.origin.built_by is not None
    links = []
    for obj in objects:
        if kind_of(obj) == ARGO_APPLICATION:
            for field, source in argo_sources(obj):
                if _argo_deploys(source, folder, built):
                    links.append(GitOpsLink("argocd", obj, source, f"{field}.path"))
        elif kind_of(obj) == FLUX_KUSTOMIZATION:
            raw = obj.get("spec", "path")
            path = normal_path(raw) if isinstance(raw, str) else "."  # absent: the source's root
            if _flux_deploys(path, folder, kustomize_roots):
                links.append(GitOpsLink("flux", obj, obj.get("spec") or {}, "spec.path"))
    return links


def applied_by(link: GitOpsLink, workload: KubeObject) -> bool:
    """The workload was built with the link's own kustomize settings (argokustomize.py)."""
    obj = link.obj
    return workload.origin.via == (obj.kind, obj.namespace, obj.name)


def _build_changes(link: GitOpsLink, workload: KubeObject) -> list[str]:
    if link.tool == "argocd":
        changes = [name for name in ARGO_BUILD_CHANGES if link.source.get(name)]
        if applied_by(link, workload):
            changes.remove("kustomize")
        directory = link.source.get("directory")
        if isinstance(directory, Mapping):
            changes += [f"directory.{n}" for n in ARGO_DIRECTORY_CHANGES if directory.get(n)]
        prefix = link.path_field.rsplit(".", 1)[0]
        return [f"{prefix}.{name}" for name in changes]
    return [f"spec.{name}" for name in FLUX_BUILD_CHANGES if link.source.get(name)]


def _retract_manifest_facts(facts: Facts, link: GitOpsLink, changes: list[str]) -> None:
    reason = (
        f"{link.obj.ref} ({link.obj.origin.file}) changes the build ({', '.join(changes)}), "
        "which discovery does not apply; give it"
    )
    for name in MANIFEST_FACTS:
        facts.retract(name, reason)


def _namespace_from(facts: Facts, link: GitOpsLink, workload: KubeObject) -> None:
    """Flux's ``spec.targetNamespace`` sets the namespace of every object it applies; Argo CD's
    ``spec.destination.namespace`` only that of objects without one (the Application spec's
    destination.namespace: "only set for namespace-scoped resources that have not set a value
    for .metadata.namespace")."""
    obj = link.obj
    if link.tool == "flux":
        target = obj.get("spec", "targetNamespace")
        if isinstance(target, str) and target:
            facts.found.pop("namespace", None)
            facts.add("namespace", target, obj.cite("spec.targetNamespace"))
            # a PodMonitor's default job names its namespace, which this just changed
            facts.retract("metrics_job", f"{obj.ref} spec.targetNamespace moves the monitors")
        return
    prefix = link.path_field.rsplit(".", 1)[0]
    namespace = (
        link.source.get("kustomize", {}).get("namespace") if applied_by(link, workload) else None
    )
    if namespace and workload.namespace == namespace:
        facts.found.pop("namespace", None)
        facts.add("namespace", namespace, obj.cite(f"{prefix}.kustomize.namespace"))
        return
    destination = obj.get("spec", "destination", "namespace")
    if workload.namespace is None and isinstance(destination, str) and destination:
        facts.add("namespace", destination, obj.cite("spec.destination.namespace"))


def gitops_facts(facts: Facts, link: GitOpsLink, found_by: str | None = None) -> None:
    """The answers the engine table needs: the tool, the object, Flux's namespace; and
    whether a rollback done by hand is reverted (Argo CD's syncPolicy.automated.selfHeal:
    https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/; Flux reconciles every
    spec.interval, undoing changes made by hand; a HelmRelease's spec.suspend and spec.interval
    are a Kustomization's: https://fluxcd.io/flux/components/helm/helmreleases/#suspend).
    ``found_by``: where the link was read, when not the object's source path (a live object's
    ownership marks)."""
    obj = link.obj
    facts.add("gitops", link.tool, found_by or obj.cite(link.path_field))
    facts.add("gitops_app", obj.name, obj.cite("metadata.name"))
    if link.tool == "flux":
        facts.add("gitops_kind", obj.kind, obj.cite("kind"))
        if obj.namespace:
            facts.add("flux_namespace", obj.namespace, obj.cite("metadata.namespace"))
        else:
            facts.lack("flux_namespace", f"{obj.ref} has no metadata.namespace")
        if obj.get("spec", "suspend") is True:  # a suspended Kustomization is not reconciled
            facts.add("gitops_reverts_by_hand_changes", "false", obj.cite("spec.suspend"))
        else:
            facts.add("gitops_reverts_by_hand_changes", "true", obj.cite("spec.interval"))
        return
    automated = obj.get("spec", "syncPolicy", "automated")
    facts.add("gitops_kind", obj.kind, obj.cite("kind"))
    prune = isinstance(automated, Mapping) and automated.get("prune") is True
    prune_source = obj.cite("spec.syncPolicy.automated.prune")
    facts.add("gitops_prunes", "true" if prune else "false", prune_source)
    self_heal = isinstance(automated, Mapping) and automated.get("selfHeal") is True
    source = obj.cite("spec.syncPolicy.automated.selfHeal")
    facts.add(
        "gitops_reverts_by_hand_changes",
        "true" if self_heal else "false",
        source if self_heal else f"{source} (not true: Argo CD's default is no self-heal)",
    )


def _not_linked(objects: list[KubeObject], workload: KubeObject) -> str:
    if not objects:
        return (
            "no Argo CD Application or Flux Kustomization/HelmRelease in the sources; the "
            "service may still be deployed by GitOps from another repository, so give it"
        )
    named = ", ".join(f"{obj.ref} ({obj.origin.file})" for obj in objects)
    return (
        f"none of the GitOps objects in the sources deploys {deploy_folder(workload)!r} "
        f"(paths read from the repository root): {named}; give gitops and gitops_app"
    )


def apply_gitops(
    facts: Facts, workload: KubeObject, index: ObjectIndex, kustomize_roots: set[str]
) -> KubeObject | None:
    """The GitOps facts of one workload, and what its GitOps object changes in the others;
    the object deploying it, when one does."""
    objects = gitops_objects(index)
    links = links_for(workload, objects, kustomize_roots)
    if len(links) > 1:
        named = ", ".join(f"{link.obj.ref} ({link.obj.origin.file})" for link in links)
        facts.lack("gitops", f"more than one GitOps object deploys {workload.ref}: {named}")
        return None
    if not links:
        facts.lack("gitops", _not_linked(objects, workload))
        return None
    (link,) = links
    gitops_facts(facts, link)
    changes = _build_changes(link, workload)
    if changes:
        _retract_manifest_facts(facts, link, changes)
    else:
        _namespace_from(facts, link, workload)
    return link.obj
