"""The GitOps seam (issue 22): which objects in the sources deploy from Git, noted, not read yet.

An Argo CD Application or ApplicationSet (https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/)
or a Flux Kustomization or HelmRelease (https://fluxcd.io/flux/components/kustomize/kustomizations/,
https://fluxcd.io/flux/components/helm/helmreleases/) decides whether a rollback sticks: with
self-heal, a rollback done by hand is reverted. Until these objects are read, ``gitops`` is never
derived: the reason names the objects found, so the user gives the answer knowing they exist.
"""

from __future__ import annotations

from service_runbooks.discovery.index import ObjectIndex, group_of
from service_runbooks.discovery.model import KubeObject

# (API group, kind) of the objects that deploy from Git.
GITOPS_KINDS = frozenset(
    {
        ("argoproj.io", "Application"),
        ("argoproj.io", "ApplicationSet"),
        ("kustomize.toolkit.fluxcd.io", "Kustomization"),
        ("helm.toolkit.fluxcd.io", "HelmRelease"),
    }
)


def gitops_objects(index: ObjectIndex) -> list[KubeObject]:
    return [obj for obj in index.objects if (group_of(obj.api_version), obj.kind) in GITOPS_KINDS]


def gitops_reason(index: ObjectIndex) -> str:
    """Why ``gitops`` is not derived: the objects found, or that none is in the sources."""
    found = gitops_objects(index)
    if not found:
        return (
            "no Argo CD Application or Flux Kustomization/HelmRelease in the sources; the "
            "service may still be deployed by GitOps from another repository, so give it"
        )
    named = ", ".join(f"{obj.ref} ({obj.origin.file})" for obj in found)
    return f"GitOps objects in the sources are not read yet: {named}; give gitops and gitops_app"
