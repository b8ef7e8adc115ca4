"""Step 2, build: the objects the deployer would apply, from every collected source.

Kustomize roots are built with ``kubectl kustomize`` (kustomize.py); plain manifests are read as
they are. Local Helm charts come last: each is rendered with ``helm template`` once per Argo CD
Application or Flux HelmRelease installing it (helm.py), with its settings; a chart no object
installs, or any chart without ``helm`` on PATH, is listed in ``Built.not_built`` with the
reason, never guessed at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from service_runbooks.discovery.argokustomize import (
    ARGO_APPLICATION,
    overlays_of,
    temporary_folder,
    write_overlay,
)
from service_runbooks.discovery.collect import Collected
from service_runbooks.discovery.helm import (
    HELM_NOT_ON_PATH,
    HelmInstall,
    describe,
    helm_on_path,
    helm_template,
    installs_of,
    not_installed,
)
from service_runbooks.discovery.kustomize import (
    BuildCache,
    BuildResult,
    Plan,
    build_root,
    building,
    plan_builds,
)
from service_runbooks.discovery.model import (
    HELM,
    DiscoveryError,
    KubeObject,
    Limits,
    Origin,
    SourceProblem,
)
from service_runbooks.discovery.safefs import read_bytes
from service_runbooks.discovery.scrapelabels import prometheus_configs
from service_runbooks.discovery.yamlload import load_documents
from service_runbooks.errors import TooLarge, YamlProblem


@dataclass
class Built:
    """Every object built, the roots built (as shown), and what was left unbuilt and why."""

    objects: list[KubeObject] = field(default_factory=list)
    roots_built: list[str] = field(default_factory=list)
    roots_as_bases: list[str] = field(default_factory=list)
    not_built: list[str] = field(default_factory=list)
    # root as shown -> (its kustomization file as shown, the kustomization read)
    kustomizations: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    charts_rendered: list[str] = field(default_factory=list)
    helm_notes: list[str] = field(default_factory=list)


def objects_from_documents(
    documents: list[Any], origin: Origin, problems: list[SourceProblem], unpack: bool = True
) -> list[KubeObject]:
    """Kubernetes objects among YAML documents; a ``List`` is unpacked, non-objects skipped.

    A document is an object when it has string ``apiVersion`` and ``kind`` and a
    ``metadata.name`` (https://kubernetes.io/docs/concepts/overview/working-with-objects/#required-fields).
    """
    objects: list[KubeObject] = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        if unpack and document.get("kind") == "List" and isinstance(document.get("items"), list):
            # one level only: YAML aliases can make a List that holds itself
            objects += objects_from_documents(document["items"], origin, problems, unpack=False)
            continue
        api_version, kind = document.get("apiVersion"), document.get("kind")
        metadata = document.get("metadata")
        if not (isinstance(api_version, str) and isinstance(kind, str)):
            continue  # not a Kubernetes object (a values file, a workflow, ...)
        name = metadata.get("name") if isinstance(metadata, dict) else None
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name:
            continue  # generateName objects have no name to point a command at
        if namespace is not None and not isinstance(namespace, str):
            problems.append(
                SourceProblem(origin.file, f"{kind}/{name}: metadata.namespace is not text")
            )
            continue
        objects.append(KubeObject(api_version, kind, name, namespace or None, document, origin))
    return objects


def load_manifest_file(path: Path, shown_as: str, limits: Limits) -> list[KubeObject]:
    """The objects of one plain manifest file; DiscoveryError naming it when unreadable."""
    try:
        data = read_bytes(path, limits.bytes_per_file, shown_as)
        documents = load_documents(data, shown_as, limits)
    except (TooLarge, YamlProblem) as error:
        raise DiscoveryError([error.problem]) from None
    except OSError as error:
        raise DiscoveryError(
            [SourceProblem(shown_as, f"cannot be read ({error.strerror})")]
        ) from None
    problems: list[SourceProblem] = []
    objects = objects_from_documents(documents, Origin(shown_as), problems)
    if problems:
        raise DiscoveryError(problems)
    return objects + prometheus_configs(documents, Origin(shown_as))


def _plain(
    collected: Collected, limits: Limits, built: Built, problems: list[SourceProblem]
) -> None:
    for path in collected.manifest_files:
        try:
            built.objects += load_manifest_file(path, collected.shown(path), limits)
        except DiscoveryError as error:
            problems += error.problems


def _kustomize(
    collected: Collected,
    plan: Plan,
    results: Iterator[BuildResult],
    limits: Limits,
    built: Built,
    problems: list[SourceProblem],
) -> None:
    to_build = set(plan.to_build)
    for folder, root_plan in plan.roots.items():
        kustomization_file = collected.shown(root_plan.root.file)
        built.kustomizations[collected.shown(folder)] = (
            kustomization_file,
            root_plan.kustomization,
        )
        if folder not in to_build:
            built.roots_as_bases.append(collected.shown(folder))
    for result in results:
        shown_as = collected.shown(result.folder)
        if result.problem is not None:
            problems.append(result.problem)
            continue
        assert result.output is not None
        try:
            documents = load_documents(
                result.output, f"{shown_as} (kubectl kustomize output)", limits
            )
        except YamlProblem as error:
            problems.append(error.problem)
            continue
        built.objects += objects_from_documents(documents, Origin(shown_as, "kustomize"), problems)
        built.roots_built.append(shown_as)


def _argo_kustomize(
    collected: Collected, limits: Limits, built: Built, problems: list[SourceProblem]
) -> None:
    """Each Argo CD Application's kustomize settings applied to its root (argokustomize.py):
    the root's objects replaced by those of a generated overlay over it."""
    from service_runbooks.discovery.gitops import argo_sources
    from service_runbooks.discovery.index import group_of

    apps = [
        (obj, field_path, source)
        for obj in built.objects
        if (group_of(obj.api_version), obj.kind) == ARGO_APPLICATION
        for field_path, source in argo_sources(obj)
    ]
    roots = {collected.base / shown: shown for shown in built.kustomizations}
    roots = {Path(os.path.realpath(path)): shown for path, shown in roots.items()}
    overlays = overlays_of(apps, roots, collected.base) if apps else []
    if not overlays:
        return
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return  # the roots themselves named kubectl's absence
    for overlay in overlays:
        shown_as = roots[overlay.root]
        with temporary_folder() as folder:
            result = build_root(write_overlay(overlay, Path(folder)), shown_as, limits, kubectl)
        if result.problem is not None or result.output is None:
            if result.problem is not None:
                problems.append(result.problem)
            continue
        app = overlay.app
        origin = Origin(shown_as, "kustomize", via=(app.kind, app.namespace, app.name))
        documents = load_documents(
            result.output, f"{shown_as} (with {app.ref}'s kustomize)", limits
        )
        plain = Origin(shown_as, "kustomize")
        built.objects = [obj for obj in built.objects if obj.origin != plain]
        built.objects += objects_from_documents(documents, origin, problems)


def _helm(
    collected: Collected, limits: Limits, built: Built, problems: list[SourceProblem]
) -> None:
    """Each local chart rendered once per GitOps object installing it, with that object's
    release, namespace and values (helm.py); listed as not built, never guessed, without helm
    or without an object that says how it is installed."""
    if not collected.helm_charts:
        return
    installs = installs_of(built.objects, collected.helm_charts, collected.base)
    helm = helm_on_path()
    for chart, found in installs.items():
        shown_as = collected.shown(chart)
        if not found:
            built.not_built.append(not_installed(chart, collected.base))
            continue
        if helm is None:
            built.not_built += [f"{shown_as}: {describe(i)}; {HELM_NOT_ON_PATH}" for i in found]
            continue
        for install in found:
            _render(install, shown_as, limits, helm, built, problems)


def _render(
    install: HelmInstall,
    shown_as: str,
    limits: Limits,
    helm: str,
    built: Built,
    problems: list[SourceProblem],
) -> None:
    rendered = helm_template(install, shown_as, limits, helm)
    if rendered.problem is not None:
        problems.append(rendered.problem)
        return
    assert rendered.output is not None
    deployer = install.deployer
    origin = Origin(
        shown_as,
        HELM,
        install.release,
        (deployer.kind, deployer.namespace, deployer.name),
    )
    where = f"{shown_as} (helm template {install.release} output)"
    try:
        documents = load_documents(rendered.output, where, limits)
    except YamlProblem as error:
        problems.append(error.problem)
        return
    objects = objects_from_documents(documents, origin, problems)
    # `helm template -n` sets .Release.Namespace; an object the chart leaves without a
    # namespace is applied to the release's namespace (https://helm.sh/docs/helm/helm_template/,
    # --namespace), so it is read as in it.
    built.objects += [
        obj if obj.namespace or not install.namespace else replace(obj, namespace=install.namespace)
        for obj in objects
    ]
    built.charts_rendered.append(f"{shown_as} as {install.release} ({deployer.ref})")
    built.helm_notes += [f"{shown_as}: {problem}" for problem in install.problems]


def build(
    collected: Collected, limits: Limits | None = None, cache: BuildCache | None = None
) -> Built:
    """Every object of the collected sources; DiscoveryError listing every source that failed.
    Plain manifests and Kustomize roots first: they hold the GitOps objects that say how each
    chart is installed."""
    limits = limits or Limits()
    built = Built()
    problems: list[SourceProblem] = []
    plan = plan_builds(collected, limits)
    # The Kustomize builds run (kubectl, a process each) while the plain manifests are read,
    # and each build's output is read as it comes.
    with building(plan, collected, limits, cache) as results:
        _plain(collected, limits, built, problems)
        problems += plan.problems
        if not plan.problems:
            _kustomize(collected, plan, results, limits, built, problems)
    if not problems:
        _argo_kustomize(collected, limits, built, problems)
        _helm(collected, limits, built, problems)
    if problems:
        raise DiscoveryError(problems)
    return built
