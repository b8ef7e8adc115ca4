"""Step 2 for Kustomize: which roots to build, checks before building, the build and its cache.

Built with the real ``kubectl kustomize DIR`` so namespace, namePrefix, labels, patches and
components apply as they do for the deployer
(https://kubernetes.io/docs/tasks/manage-kubernetes-objects/kustomization/).
Kustomize itself refuses files outside a root (its default load restrictor,
``--load-restrictor='LoadRestrictionsRootOnly'`` in ``kubectl kustomize --help``:
https://kubernetes.io/docs/reference/kubectl/generated/kubectl_kustomize/), and runs Helm and
plugins only with ``--enable-helm`` and ``--enable-alpha-plugins``, both off by default. But a
root may name other kustomizations (bases, components) anywhere, and remote URLs, which it would
clone or fetch: every such entry must be inside the given sources, checked here first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service_runbooks.discovery.collect import Collected, KustomizeRoot
from service_runbooks.discovery.filecache import FileCache
from service_runbooks.discovery.model import (
    DiscoveryError,
    Limits,
    SourceProblem,
    quoted,
    relative,
)
from service_runbooks.discovery.safefs import inside, read_bytes
from service_runbooks.discovery.yamlload import load_mapping
from service_runbooks.errors import TooLarge, YamlProblem

# The kustomization fields that name other kustomizations (folders): `resources` (files or
# folders), `components`, and the deprecated `bases`
# (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/resource/,
# https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/components/,
# https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/bases/).
# `generators`, `transformers` and `validators` take the same entries, or inline configs
# (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/, "The Kustomization
# File"). Kustomize treats an entry that is not a local path as a remote repository and clones
# it, so each must exist inside the given sources.
FOLDER_FIELDS = ("resources", "components", "bases", "generators", "transformers", "validators")
# Fields whose values kustomize loads as files: besides local files it fetches http(s) URLs
# (`kubectl kustomize` of a patch path http://... connects to it), so none may be remote. Lists
# of paths, then lists of mappings with path-like keys, then single mappings.
PATH_LIST_FIELDS = ("crds", "configurations", "patchesStrategicMerge")
PATH_ITEM_FIELDS = {
    "patches": ("path",),
    "patchesJson6902": ("path",),
    "replacements": ("path",),
    "configMapGenerator": ("files", "envs", "env"),
    "secretGenerator": ("files", "envs", "env"),
}
PATH_MAPPING_FIELDS = {"openapi": ("path",)}
# A remote location: a URL, or git's own forms
# (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/resource/), also after
# a generator's "key=" (configMapGenerator files: [key=path]).
_REMOTE = re.compile(r"^\s*([^=\s]+=)?\s*([a-z][a-z0-9+.-]*://|git@|git::)", re.IGNORECASE)


@dataclass(frozen=True)
class RootPlan:
    """One Kustomize root: its kustomization, and the folders (bases, components) it builds on."""

    root: KustomizeRoot
    kustomization: dict[str, Any]
    uses: tuple[Path, ...]


@dataclass
class Plan:
    """Which roots to build: those no other given root builds on."""

    roots: dict[Path, RootPlan] = field(default_factory=dict)
    to_build: list[Path] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _folder_entries(kustomization: dict[str, Any]) -> Iterable[tuple[str, object]]:
    for name in FOLDER_FIELDS:
        values = kustomization.get(name) or []
        for value in values if isinstance(values, list) else [values]:
            yield name, value


def _path_entries(kustomization: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """Every value kustomize loads as a file, with its field, as written."""
    for name in PATH_LIST_FIELDS:
        for value in _strings(kustomization.get(name)):
            yield name, value
    for name, keys in PATH_ITEM_FIELDS.items():
        items = kustomization.get(name)
        for index, item in enumerate(items if isinstance(items, list) else []):
            for key in keys if isinstance(item, dict) else ():
                for value in _strings(item.get(key)):
                    yield f"{name}[{index}].{key}", value
    for name, keys in PATH_MAPPING_FIELDS.items():
        mapping = kustomization.get(name)
        if not isinstance(mapping, dict):
            continue
        for key in keys:
            for value in _strings(mapping.get(key)):
                yield f"{name}.{key}", value


def _read_kustomization(
    root: KustomizeRoot, collected: Collected, limits: Limits
) -> dict[str, Any] | SourceProblem:
    shown_as = collected.shown(root.file)
    try:
        return load_mapping(
            read_bytes(root.file, limits.bytes_per_file, shown_as), shown_as, limits
        )
    except (YamlProblem, TooLarge) as error:
        return error.problem
    except OSError as error:
        return SourceProblem(shown_as, f"cannot be read ({error.strerror})")


def _source_roots(collected: Collected) -> list[Path]:
    """The given sources' folders (a file given stands for its folder)."""
    roots = [Path(os.path.realpath(collected.base / source)) for source in collected.sources]
    return [root.parent if root.is_file() else root for root in roots]


def _check_entry(
    root: KustomizeRoot, field_name: str, value: object, collected: Collected
) -> tuple[Path | None, SourceProblem | None]:
    """The folder an entry names (None for a file), or the problem with it."""
    where = f"{collected.shown(root.file)}: {field_name}"
    if isinstance(value, str) and "\n" in value:
        return None, None  # an inline generator or transformer config, not a path
    if not isinstance(value, str):
        return None, SourceProblem(where, f"entry {quoted(value)} is not a path")
    if _REMOTE.match(value):
        return None, SourceProblem(where, _remote(value))
    target = Path(os.path.realpath(root.folder / value))
    if not any(inside(target, source) for source in _source_roots(collected)):
        message = f"{quoted(value)} is outside the sources given; not built"
        return None, SourceProblem(where, message)
    if not target.exists():
        message = (
            f"{quoted(value)} is not in the sources (kustomize would try it as a remote "
            "repository); not built"
        )
        return None, SourceProblem(where, message)
    return (target if target.is_dir() else None), None


def _remote(value: str) -> str:
    return f"{quoted(value)} is remote; discovery reads only the sources given, not built"


def _remote_paths(
    root: KustomizeRoot, kustomization: dict[str, Any], collected: Collected
) -> list[SourceProblem]:
    return [
        SourceProblem(f"{collected.shown(root.file)}: {field_name}", _remote(value))
        for field_name, value in _path_entries(kustomization)
        if _REMOTE.match(value)
    ]


def plan_builds(collected: Collected, limits: Limits | None = None) -> Plan:
    """Read every root's kustomization, check its folder entries, and pick the roots to build."""
    limits = limits or Limits()
    plan = Plan()
    for root in collected.kustomize_roots:
        kustomization = _read_kustomization(root, collected, limits)
        if isinstance(kustomization, SourceProblem):
            plan.problems.append(kustomization)
            continue
        uses = []
        plan.problems += _remote_paths(root, kustomization, collected)
        for field_name, value in _folder_entries(kustomization):
            folder, problem = _check_entry(root, field_name, value, collected)
            if problem is not None:
                plan.problems.append(problem)
            elif folder is not None:
                uses.append(folder)
        plan.roots[root.folder] = RootPlan(root, kustomization, tuple(uses))
    used = {folder for root_plan in plan.roots.values() for folder in root_plan.uses}
    plan.to_build = [folder for folder in plan.roots if folder not in used]
    return plan


def closure(plan: Plan, folder: Path) -> list[Path]:
    """The root and every given root it builds on, transitively (cycles visited once)."""
    seen: list[Path] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        root_plan = plan.roots.get(current)
        if root_plan is not None:
            pending.extend(root_plan.uses)
    return seen


def _kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        message = "kubectl is not on PATH; Kustomize roots are built with `kubectl kustomize`"
        raise DiscoveryError([SourceProblem("kubectl", message)])
    return path


def input_digest(folders: list[Path], kubectl: str) -> str:
    """SHA-256 of every file under the folders a build reads, and of the kubectl that builds."""
    digest = hashlib.sha256()
    stat = os.stat(kubectl)
    digest.update(f"{os.path.realpath(kubectl)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    for folder in sorted(set(folders)):
        for current, subfolders, names in os.walk(folder, followlinks=False):
            subfolders.sort()
            for name in sorted(names):
                path = Path(current) / name
                digest.update(str(path).encode() + b"\0")
                try:
                    with open(path, "rb") as handle:
                        digest.update(hashlib.sha256(handle.read()).digest())
                except OSError:
                    digest.update(b"unreadable")
    return digest.hexdigest()


class BuildCache:
    """Builds by input digest: in memory, and in ``folder`` when given (across runs; each entry
    checked as filecache.py says, a damaged one built again)."""

    KIND = "kustomize-build"
    VERSION = 1

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: dict[str, bytes] = {}
        self._disk = FileCache(folder, self.KIND, self.VERSION, ".yaml") if folder else None

    @property
    def ignored(self) -> int:
        """Entries on disk found damaged or foreign (each built again)."""
        return self._disk.ignored if self._disk is not None else 0

    def get(self, digest: str, max_bytes: int) -> bytes | None:
        if digest in self._memory:
            return self._memory[digest]
        return self._disk.get(digest, max_bytes) if self._disk is not None else None

    def put(self, digest: str, output: bytes) -> None:
        self._memory[digest] = output
        if self._disk is not None:
            self._disk.put(digest, output)


@dataclass(frozen=True)
class BuildResult:
    """One root's build: its output, or the tool's error."""

    folder: Path
    output: bytes | None
    problem: SourceProblem | None
    cached: bool = False


def _tool_error(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    # kubectl prefixes its klog header ("E1207 ... run.go:72] "); the message is what follows.
    text = re.sub(r"^[EWI]\d{4} [^\]]*\] ", "", text)
    return text[:2000]


def build_root(folder: Path, shown_as: str, limits: Limits, kubectl: str) -> BuildResult:
    """``kubectl kustomize FOLDER``; its error, naming the root, when the build fails."""
    try:
        done = subprocess.run(
            [kubectl, "kustomize", str(folder)],
            capture_output=True,
            timeout=limits.build_timeout_seconds,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        message = f"kubectl kustomize did not finish in {limits.build_timeout_seconds:g} s"
        return BuildResult(folder, None, SourceProblem(shown_as, message))
    if done.returncode != 0:
        message = f"kubectl kustomize failed (exit {done.returncode}): {_tool_error(done.stderr)}"
        return BuildResult(folder, None, SourceProblem(shown_as, message))
    if len(done.stdout) > limits.build_output_bytes:
        message = f"kubectl kustomize printed more than {limits.build_output_bytes} bytes"
        return BuildResult(folder, None, SourceProblem(shown_as, message))
    return BuildResult(folder, done.stdout, None)


@contextlib.contextmanager
def building(
    plan: Plan,
    collected: Collected,
    limits: Limits | None = None,
    cache: BuildCache | None = None,
    workers: int | None = None,
) -> Iterator[Iterator[BuildResult]]:
    """Start building every root of ``plan.to_build`` in parallel, each at most once per input
    digest, and hand back their results in plan order as they come: the caller reads other
    sources meanwhile (none when the plan has problems: they are reported, nothing is built).
    Leaving the block early cancels the builds not started."""
    if plan.problems or not plan.to_build:
        yield iter([])
        return
    limits = limits or Limits()
    cache = cache if cache is not None else BuildCache()
    kubectl = _kubectl()

    def one(folder: Path) -> BuildResult:
        digest = input_digest(closure(plan, folder), kubectl)
        output = cache.get(digest, limits.build_output_bytes)
        if output is not None:
            return BuildResult(folder, output, None, cached=True)
        result = build_root(folder, relative(folder, collected.base), limits, kubectl)
        if result.output is not None:
            cache.put(digest, result.output)
        return result

    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2)
    try:
        yield pool.map(one, plan.to_build)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def build_all(
    plan: Plan,
    collected: Collected,
    limits: Limits | None = None,
    cache: BuildCache | None = None,
    workers: int | None = None,
) -> list[BuildResult]:
    """Build every root of ``plan.to_build`` in parallel, each at most once per input digest."""
    with building(plan, collected, limits, cache, workers) as results:
        return list(results)
