"""A ``check --drift`` run over what an earlier run read, unchanged: that run's result.

The result of the check is a function of what it reads: the fleet's entries, every file under
the recorded sources (discovery refuses to read or build anything outside them), the ``kubectl``
and ``helm`` that build them, each rendered service's pages, scripts and ``.cruft.json``, and
this code with the template's modules it runs. The run's key is the SHA-256 of all of them,
content and path, read each time (a link is hashed as its target's name, and as the file it
points to when it points to one). When an earlier run with the same key left its result in the
output folder's cache (filecache.py: versioned, checksummed), that result is the answer:
nothing is built (the builds are cached by their inputs), parsed (the pages' namings are cached
by their digests) or compared; a result that does not read back as exactly what ``encode``
writes is ignored, and the check runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import service_runbooks
from service_runbooks.discovery.drift import Difference, ServiceDrift
from service_runbooks.discovery.filecache import FileCache
from service_runbooks.fleetfile import Entry
from service_runbooks.template_source import TEMPLATE_ROOT, skeleton_dirs

KIND = "drift-result"
VERSION = 1
MAX_ENTRY_BYTES = 256 * 1024 * 1024
TOOLS = ("kubectl", "helm")  # what builds the sources (kustomize.py, helm.py)


class _Digest:
    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def text(self, *words: str) -> None:
        for word in words:
            self._hash.update(json.dumps(word).encode() + b"\0")

    def file(self, path: str) -> None:
        try:
            with open(path, "rb") as handle:
                self.content(hashlib.sha256(handle.read()).digest())
        except OSError as error:
            self.text(f"unreadable: {error.errno}")

    def content(self, content_digest: bytes) -> None:
        """A file's content, by its SHA-256."""
        self._hash.update(content_digest)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@functools.cache
def _code_digest() -> str:
    """This package's code, and the template's top files (the modules discovery renders)."""
    digest = _Digest()
    package = Path(service_runbooks.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.text(path.relative_to(package).as_posix())
        digest.file(str(path))
    for folder in skeleton_dirs(TEMPLATE_ROOT):
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            digest.text(path.name)
            digest.file(str(path))
    digest.file(str(TEMPLATE_ROOT / "cookiecutter.json"))
    return digest.hexdigest()


def _tools(digest: _Digest) -> None:
    for name in TOOLS:
        found = shutil.which(name)
        if found is None:
            digest.text(name, "absent")
            continue
        stat = os.stat(found)
        digest.text(name, os.path.realpath(found), str(stat.st_size), str(stat.st_mtime_ns))


def _tree(digest: _Digest, root: Path, ours: str) -> None:
    """Every name under ``root``, and every file's content; links as their target's name. The
    folder ``ours`` (the caches: no source) is left out."""
    if not root.is_dir():
        digest.text("file", str(root))
        digest.file(str(root))
        return
    for current, folders, names in os.walk(root, followlinks=False):
        folders[:] = sorted(f for f in folders if os.path.join(current, f) != ours)
        digest.text("folder", current)
        for name in sorted(names + [f for f in folders if os.path.islink(Path(current, f))]):
            path = os.path.join(current, name)
            if os.path.islink(path):
                digest.text("link", name, os.readlink(path))
                if os.path.isfile(path):
                    digest.file(path)
            else:
                digest.text("file", name)
                digest.file(path)


def run_key(
    entries: Iterable[Entry],
    base: Path,
    output: Path,
    sources: list[Path],
    caches: Path,
    pages: Mapping[str, Sequence[tuple[str, bytes]]],
) -> str:
    """The digest of everything a run over ``sources`` and ``output`` reads. ``pages``: each
    rendered service's pages and scripts (path shown, SHA-256 of the content) by its name, as
    read once for their commands (namingcache.py); a service not in it is not rendered."""
    entries = list(entries)
    ours = os.path.realpath(caches)
    digest = _Digest()
    digest.text(KIND, str(VERSION), _code_digest(), str(base), str(output.absolute()))
    _tools(digest)
    digest.text(json.dumps([[e.answers, e.sources] for e in entries], sort_keys=True))
    for source in sources:
        _tree(digest, source, ours)
    for entry in entries:
        read = pages.get(entry.name)  # read: rendered
        digest.text("service", entry.name, str(read is not None))
        if read is not None:
            digest.file(str(output / entry.name / ".cruft.json"))
            for shown, content_digest in read:
                digest.text(shown)
                digest.content(content_digest)
    return digest.hexdigest()


def encode(results: list[ServiceDrift]) -> bytes:
    return json.dumps(
        [
            {
                "name": result.name,
                "context": result.context,
                "against": result.against,
                "notes": result.notes,
                "differences": [
                    [d.answer, d.pages, d.cluster, d.source, d.against] for d in result.differences
                ],
            }
            for result in results
        ]
    ).encode()


def _strings(value: object, length: int | None = None) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(item, str) for item in value)
        and (length is None or len(value) == length)
    )


def _result(item: object) -> ServiceDrift | None:
    keys = {"name", "context", "against", "notes", "differences"}
    if not isinstance(item, dict) or set(item) != keys:
        return None
    if not all(isinstance(item[key], str) for key in ("name", "context", "against")):
        return None
    differences = item["differences"]
    if not _strings(item["notes"]) or not isinstance(differences, list):
        return None
    if not all(_strings(d, 5) for d in differences):
        return None
    return ServiceDrift(
        item["name"],
        item["context"],
        [Difference(*d) for d in differences],
        list(item["notes"]),
        item["against"],
    )


def decode(payload: bytes) -> list[ServiceDrift] | None:
    """The results an entry holds, or None when it is not exactly what ``encode`` writes."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    results = [_result(item) for item in data]
    return None if None in results else [r for r in results if r is not None]


def recall(cache: FileCache, key: str, names: list[str]) -> list[ServiceDrift] | None:
    """The result kept for ``key``, when it is intact and for exactly these services."""
    payload = cache.get(key, MAX_ENTRY_BYTES)
    results = decode(payload) if payload is not None else None
    if results is not None and [result.name for result in results] == names:
        return results
    if payload is not None:
        cache.ignored += 1
    return None


def keep(cache: FileCache, key: str, results: list[ServiceDrift]) -> None:
    cache.put(key, encode(results))
