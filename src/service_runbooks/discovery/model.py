"""The data discovery passes from step to step: limits, problems, objects, facts.

Each step of discovery takes and returns these dataclasses only, so tests can hold the steps
apart (sources in -> objects out; objects in -> facts out; facts in -> answers out).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service_runbooks.errors import DiscoveryError, SourceProblem
from service_runbooks.rules import shown

__all__ = ["DiscoveryError", "SourceProblem"]


@dataclass(frozen=True)
class Limits:
    """How much discovery reads of sources it does not trust."""

    bytes_per_file: int = 4 * 1024 * 1024
    documents_per_file: int = 2_000
    files_walked: int = 50_000
    build_output_bytes: int = 64 * 1024 * 1024
    build_timeout_seconds: float = 120.0
    marker_bytes: int = 64 * 1024  # how much of a file is read to recognise a Liquibase changelog


LIVE = "cluster"  # Origin.built_by of an object read from a cluster with `kubectl get`
HELM = "helm"  # Origin.built_by of an object rendered from a chart with `helm template`


@dataclass(frozen=True)
class Origin:
    """Where an object came from, for its facts' sources.

    ``file`` is a plain manifest file, or the Kustomize root whose build printed the object,
    each as the path shown to the user (relative to the base discovery was given).
    """

    file: str
    built_by: str | None = None  # "kustomize" for `kubectl kustomize` output, LIVE for a cluster's
    # For `helm template` output (built_by HELM): the release rendered, and the GitOps object
    # whose settings it was rendered with, as (kind, namespace, name).
    release: str | None = None
    via: tuple[str, str | None, str] | None = None

    @property
    def live(self) -> bool:
        """Read from a running cluster (``file`` is then ``cluster <context>``)."""
        return self.built_by == LIVE

    def cite(self, obj: KubeObject, field_path: str) -> str:
        if self.live:  # a live object is named by its namespace too: kubectl needs both
            return f"{self.file}: {obj.kind}/{obj.namespace}/{obj.name} {field_path}"
        if self.built_by == HELM:
            where = f"{self.file} (helm template {self.release})"
        elif self.built_by == "kustomize" and self.via is not None:
            kind, _, name = self.via
            where = f"{self.file} (kubectl kustomize, with {kind}/{name} kustomize settings)"
        elif self.built_by == "kustomize":
            where = f"{self.file} (kubectl kustomize)"
        else:
            where = self.file
        return f"{where}: {obj.ref} {field_path}"


@dataclass(frozen=True)
class KubeObject:
    """One Kubernetes object as built: kind, name, namespace (None when the manifest has none)."""

    api_version: str
    kind: str
    name: str
    namespace: str | None
    body: dict[str, Any]
    origin: Origin

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def cite(self, field_path: str) -> str:
        return self.origin.cite(self, field_path)

    def get(self, *path: str) -> Any:
        """The value at ``path`` under the object, or None when any step is missing."""
        value: Any = self.body
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value


@dataclass(frozen=True)
class Fact:
    """One derived value and where it was read, as one string."""

    value: Any
    source: str


@dataclass
class Facts:
    """Facts derived for one workload, and why each missing one could not be derived."""

    found: dict[str, Fact] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: Any, source: str) -> None:
        self.found[name] = Fact(value, source)
        self.missing.pop(name, None)

    def lack(self, name: str, reason: str) -> None:
        if name not in self.found:
            self.missing[name] = reason

    def retract(self, name: str, reason: str) -> None:
        """A fact found that another source shows may be wrong: not derived, with why."""
        if self.found.pop(name, None) is not None:
            self.missing[name] = reason


def scalar(value: object) -> str | int | None:
    """``value`` when it is text or a whole number, else None.

    Only these are kept from untrusted manifests: a list or mapping may be a YAML alias bomb
    that expands to billions of items once formatted (str(), json.dumps).
    """
    if isinstance(value, bool):
        return None
    return value if isinstance(value, (str, int)) else None


def relative(path: Path, base: Path) -> str:
    """``path`` as shown to the user: relative to ``base`` (with ``..`` when outside it)."""
    return Path(os.path.relpath(path, base)).as_posix()


def quoted(value: object) -> str:
    """A value from an untrusted source, shortened and quoted for a message."""
    return shown(value)
