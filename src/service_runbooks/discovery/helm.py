"""Step 2 for Helm charts: render a local chart as its deployer would, with ``helm template``.

A chart alone says nothing of the release it is installed as: the release name, the namespace
and the values come from whoever installs it. Discovery renders a chart only for a GitOps object
in the sources that names it, with that object's settings:

- an Argo CD Application whose ``spec.source.path`` is the chart's folder: release
  ``spec.source.helm.releaseName``, else the Application's name ("By default, the Helm release
  name is equal to the Application name": https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-release-name);
  namespace ``spec.destination.namespace``; values ``helm.valueFiles`` (relative to the chart's
  folder), then ``helm.values`` / ``helm.valuesObject``, later files winning as ``-f`` does
  (https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#values-files);
- a Flux HelmRelease whose ``spec.chart.spec.chart`` is a path in a GitRepository (taken to be
  the sources' repository): release ``spec.releaseName``, else ``[<targetNamespace>-]<name>``;
  namespace ``spec.targetNamespace``, else the HelmRelease's own; values ``spec.values``
  (https://fluxcd.io/flux/components/helm/helmreleases/#chart-template,
  https://fluxcd.io/flux/components/helm/helmreleases/#release-name,
  https://fluxcd.io/flux/components/helm/helmreleases/#target-namespace,
  https://fluxcd.io/flux/components/helm/helmreleases/#values).

``helm template RELEASE CHART -n NAMESPACE -f VALUES`` renders it
(https://helm.sh/docs/helm/helm_template/). Without ``helm`` on PATH, or for a chart no GitOps
object names, nothing is guessed: the chart is listed as not built and its workload is an
answer to give (``chart_workload``).
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service_runbooks.discovery.index import group_of
from service_runbooks.discovery.model import KubeObject, Limits, SourceProblem, quoted, relative

ARGO_APPLICATION = ("argoproj.io", "Application")
FLUX_HELM_RELEASE = ("helm.toolkit.fluxcd.io", "HelmRelease")
HELM_NOT_ON_PATH = (
    "helm is not on PATH, so the chart is not rendered (helm template); its workload is an "
    "answer to give (chart_workload, e.g. deployment/<name>), never guessed"
)


@dataclass(frozen=True)
class HelmInstall:
    """One chart as one GitOps object installs it: what ``helm template`` is given."""

    chart: Path
    release: str
    release_source: str
    namespace: str
    namespace_source: str
    deployer: KubeObject
    values: list[Mapping[str, Any]] = field(default_factory=list)
    value_files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _repo_path(base: Path, path: str) -> Path:
    """A GitOps path (relative to the repository's root, which discovery takes to be ``base``)."""
    return Path(os.path.realpath(base / posixpath.normpath(path.strip().lstrip("/") or ".")))


def flux_release_name(release: KubeObject) -> tuple[str, str]:
    """The Helm release a HelmRelease installs, and where that was read (Flux's default when
    ``spec.releaseName`` is absent: ``[<targetNamespace>-]<name>``)."""
    named = _text(release.get("spec", "releaseName"))
    if named:
        return named, release.cite("spec.releaseName")
    target = _text(release.get("spec", "targetNamespace"))
    name = f"{target}-{release.name}" if target else release.name
    rule = "<targetNamespace>-<name>" if target else "<name>"
    return name, f"{release.cite('spec.releaseName')} (absent: Flux's default {rule})"


def flux_target_namespace(release: KubeObject) -> tuple[str | None, str]:
    """Where a HelmRelease installs: ``spec.targetNamespace``, else its own namespace."""
    target = _text(release.get("spec", "targetNamespace"))
    if target:
        return target, release.cite("spec.targetNamespace")
    absent = "(absent: Flux's default, the HelmRelease's own namespace)"
    return release.namespace, f"{release.cite('spec.targetNamespace')} {absent}"


def flux_storage_namespace(release: KubeObject) -> tuple[str | None, str]:
    """Where Helm keeps the release's record: ``spec.storageNamespace``, else the HelmRelease's
    namespace (https://fluxcd.io/flux/components/helm/helmreleases/#storage-namespace)."""
    stored = _text(release.get("spec", "storageNamespace"))
    if stored:
        return stored, release.cite("spec.storageNamespace")
    absent = "(absent: Flux's default, the HelmRelease's own namespace)"
    return release.namespace, f"{release.cite('spec.storageNamespace')} {absent}"


def _flux_install(release: KubeObject, charts: dict[Path, Path], base: Path) -> HelmInstall | None:
    spec = release.get("spec", "chart", "spec")
    chart_path = _text(spec.get("chart")) if isinstance(spec, Mapping) else None
    source = spec.get("sourceRef") if isinstance(spec, Mapping) else None
    if chart_path is None or not isinstance(source, Mapping):
        return None
    if source.get("kind") != "GitRepository":
        return None  # a chart from a HelmRepository or OCI registry is not in the sources
    chart = charts.get(_repo_path(base, chart_path))
    if chart is None:
        return None
    name, name_source = flux_release_name(release)
    namespace, namespace_source = flux_target_namespace(release)
    values = release.get("spec", "values")
    problems = []
    if release.get("spec", "valuesFrom"):
        problems.append(f"{release.cite('spec.valuesFrom')} is read from the cluster, not applied")
    return HelmInstall(
        chart,
        name,
        name_source,
        namespace or "",
        namespace_source,
        release,
        [values] if isinstance(values, Mapping) else [],
        problems=problems,
    )


def _argo_values(helm: Mapping[str, Any], app: KubeObject, field_path: str) -> list[Any]:
    values: list[Any] = []
    raw = helm.get("values")
    if isinstance(raw, str) and raw.strip():
        values.append(raw)  # YAML text, written as it is
    structured = helm.get("valuesObject")
    if isinstance(structured, Mapping):
        values.append(structured)
    return values


def _argo_install(
    app: KubeObject, field_path: str, source: Mapping[str, Any], chart: Path
) -> HelmInstall:
    helm = source.get("helm") if isinstance(source.get("helm"), Mapping) else {}
    assert isinstance(helm, Mapping)
    named = _text(helm.get("releaseName"))
    if named:
        release, release_source = named, app.cite(f"{field_path}.helm.releaseName")
    else:
        release = app.name
        release_source = (
            f"{app.cite(f'{field_path}.helm.releaseName')} (absent: Argo CD's default, the "
            "Application's name)"
        )
    namespace = _text(app.get("spec", "destination", "namespace"))
    files = helm.get("valueFiles")
    value_files = [chart / name for name in files if isinstance(name, str)] if files else []
    problems = [
        f"{app.cite(f'{field_path}.helm.{key}')} is not applied"
        for key in ("parameters", "fileParameters")
        if helm.get(key)
    ]
    return HelmInstall(
        chart,
        release,
        release_source,
        namespace or "",
        app.cite("spec.destination.namespace"),
        app,
        _argo_values(helm, app, field_path),
        value_files,
        problems,
    )


def installs_of(
    deployers: list[KubeObject], charts: list[Path], base: Path
) -> dict[Path, list[HelmInstall]]:
    """Every chart's installs by the GitOps objects in the sources."""
    by_path = {Path(os.path.realpath(chart)): chart for chart in charts}
    found: dict[Path, list[HelmInstall]] = {chart: [] for chart in charts}
    for obj in deployers:
        kind = (group_of(obj.api_version), obj.kind)
        if kind == FLUX_HELM_RELEASE:
            install = _flux_install(obj, by_path, base)
            if install is not None:
                found[install.chart].append(install)
        elif kind == ARGO_APPLICATION:
            from service_runbooks.discovery.gitops import argo_sources

            for field_path, source in argo_sources(obj):
                path = _text(source.get("path"))
                chart = by_path.get(_repo_path(base, path)) if path else None
                if chart is not None:
                    found[chart].append(_argo_install(obj, field_path, source, chart))
    return found


@dataclass(frozen=True)
class Rendered:
    output: bytes | None
    problem: SourceProblem | None


def _values_file(folder: Path, index: int, values: Any) -> Path:
    path = folder / f"values-{index}.yaml"
    # JSON is YAML (https://yaml.org/spec/1.2.2/#12-yaml-history): no second serialiser needed
    text = values if isinstance(values, str) else json.dumps(values)
    path.write_text(text, encoding="utf-8")
    return path


def helm_template(install: HelmInstall, shown_as: str, limits: Limits, helm: str) -> Rendered:
    """``helm template RELEASE CHART -n NAMESPACE -f VALUES...``; its error, naming the chart."""
    with tempfile.TemporaryDirectory(prefix="service-runbooks-helm-") as folder:
        argv = [helm, "template", install.release, str(install.chart)]
        if install.namespace:
            argv += ["-n", install.namespace]
        for path in install.value_files:
            argv += ["-f", str(path)]
        for index, values in enumerate(install.values):
            argv += ["-f", str(_values_file(Path(folder), index, values))]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                timeout=limits.build_timeout_seconds,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            message = f"helm template did not finish in {limits.build_timeout_seconds:g} s"
            return Rendered(None, SourceProblem(shown_as, message))
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip()[:2000]
        message = f"helm template failed (exit {done.returncode}): {error}"
        return Rendered(None, SourceProblem(shown_as, message))
    if len(done.stdout) > limits.build_output_bytes:
        message = f"helm template printed more than {limits.build_output_bytes} bytes"
        return Rendered(None, SourceProblem(shown_as, message))
    return Rendered(done.stdout, None)


def helm_on_path() -> str | None:
    return shutil.which("helm")


def not_installed(chart: Path, base: Path) -> str:
    return (
        f"{relative(chart, base)}: a Helm chart no Argo CD Application or Flux HelmRelease in "
        "the sources installs, so its release, namespace and values are unknown and it is not "
        "rendered; give helm_release and chart_workload"
    )


def describe(install: HelmInstall) -> str:
    return (
        f"{install.deployer.ref} installs it as release {quoted(install.release)} in namespace "
        f"{quoted(install.namespace)}"
    )
