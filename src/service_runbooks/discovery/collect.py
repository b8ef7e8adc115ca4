"""Step 1, collect: what each given source holds, before anything is built or parsed.

Recognised: Kustomize roots (a folder with a kustomization file), plain manifest files, Backstage
``catalog-info.yaml`` files, Helm charts (a folder with ``Chart.yaml``: listed for the Helm step,
not rendered yet) and the application repository's migration markers. Files under a Kustomize
root or a chart belong to it and are not read as plain manifests (they would count twice).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from service_runbooks.discovery.migrations import MigrationFinding, find_migration_tool
from service_runbooks.discovery.model import DiscoveryError, Limits, relative
from service_runbooks.discovery.safefs import walk_sources

# The file names `kustomize build` accepts as a root's kustomization, in the order it tries
# them (https://github.com/kubernetes-sigs/kustomize/blob/master/api/konfig/general.go,
# RecognizedKustomizationFileNames).
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CATALOG_FILE = "catalog-info.yaml"
# A Helm chart is a folder holding Chart.yaml (https://helm.sh/docs/topics/charts/).
HELM_CHART_FILE = "Chart.yaml"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class KustomizeRoot:
    """A folder `kubectl kustomize` can build, and its kustomization file."""

    folder: Path
    file: Path


@dataclass
class Collected:
    """What the sources hold, each path absolute (links resolved)."""

    base: Path
    sources: list[str]
    kustomize_roots: list[KustomizeRoot] = field(default_factory=list)
    manifest_files: list[Path] = field(default_factory=list)
    catalog_files: list[Path] = field(default_factory=list)
    helm_charts: list[Path] = field(default_factory=list)
    migration: MigrationFinding | None = None
    links_not_followed: list[str] = field(default_factory=list)

    def shown(self, path: Path) -> str:
        return relative(path, self.base)


def _kustomization_in(folder_files: dict[Path, set[str]], folder: Path) -> Path | None:
    names = folder_files.get(folder, set())
    for name in KUSTOMIZATION_FILES:
        if name in names:
            return folder / name
    return None


def _owned_by(path: Path, owners: set[Path]) -> bool:
    """Whether a folder above ``path`` is one of ``owners`` (a set: looked up per parent, so
    a repository of thousands of roots is not walked once per file)."""
    return any(parent in owners for parent in path.parents)


def collect(sources: list[Path], base: Path, limits: Limits | None = None) -> Collected:
    """Walk ``sources`` and sort what they hold; DiscoveryError-worthy problems are raised."""
    limits = limits or Limits()
    base = Path(os.path.realpath(base))
    walk = walk_sources(sources, limits, base)
    if walk.problems:
        raise DiscoveryError(walk.problems)
    shown_sources = [relative(Path(os.path.realpath(source)), base) for source in sources]
    collected = Collected(base, shown_sources)
    folder_files: dict[Path, set[str]] = {}
    for path in walk.files:
        folder_files.setdefault(path.parent, set()).add(path.name)
    for folder in sorted(folder_files):
        file = _kustomization_in(folder_files, folder)
        if file is not None:
            collected.kustomize_roots.append(KustomizeRoot(folder, file))
        if HELM_CHART_FILE in folder_files[folder]:
            collected.helm_charts.append(folder)
    owners = {root.folder for root in collected.kustomize_roots} | set(collected.helm_charts)
    for path in walk.files:
        if path.name == CATALOG_FILE:
            collected.catalog_files.append(path)
        elif path.suffix in YAML_SUFFIXES and not _owned_by(path, owners):
            collected.manifest_files.append(path)
    collected.migration = find_migration_tool(walk.files, walk.folders, shown_sources, base, limits)
    collected.links_not_followed = [
        f"{relative(path, base)}: {reason}" for path, reason in walk.links_not_followed
    ]
    return collected
