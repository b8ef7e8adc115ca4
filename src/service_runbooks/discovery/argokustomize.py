"""An Argo CD Application's ``spec.source.kustomize`` settings, applied as Argo CD applies them.

Argo CD sets ``namePrefix``, ``nameSuffix``, ``namespace``, ``commonLabels``,
``commonAnnotations`` and ``images`` on the kustomization it builds
(https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/). Discovery builds the same with a
generated overlay holding those fields over the Application's root (``resources: [<root>]``,
given relative: kustomize refuses an absolute root), which applies them to every object the root
builds, as the fields do in the root itself
(https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/). Any other setting
(patches, replicas, components, a version) is not applied: the Application's facts are then not
derived (gitops.py), as before.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service_runbooks.discovery.model import KubeObject

ARGO_APPLICATION = ("argoproj.io", "Application")
APPLIED = frozenset(
    {"namePrefix", "nameSuffix", "namespace", "commonLabels", "commonAnnotations", "images"}
)


@dataclass(frozen=True)
class Overlay:
    """One Application's settings over one Kustomize root."""

    app: KubeObject
    field_path: str  # spec.source or spec.sources[i]
    root: Path
    settings: Mapping[str, Any]


def overlays_of(
    apps: list[tuple[KubeObject, str, Mapping[str, Any]]], roots: dict[Path, str], base: Path
) -> list[Overlay]:
    """The Applications whose kustomize settings discovery can apply, over a root given."""
    found = []
    for app, field_path, source in apps:
        settings, path = source.get("kustomize"), source.get("path")
        if not isinstance(settings, Mapping) or not settings or not isinstance(path, str):
            continue
        if set(settings) - APPLIED:
            continue
        root = Path(os.path.realpath(base / path.strip().lstrip("/")))
        if root in roots:
            found.append(Overlay(app, field_path, root, settings))
    return found


def write_overlay(overlay: Overlay, folder: Path) -> Path:
    """The generated kustomization, in ``folder``."""
    data: dict[str, Any] = {"resources": [os.path.relpath(overlay.root, folder)]}
    data.update({key: overlay.settings[key] for key in sorted(overlay.settings)})
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def temporary_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="service-runbooks-argocd-kustomize-")
