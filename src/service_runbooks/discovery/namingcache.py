"""What each rendered service's commands name, kept between ``check --drift`` runs.

Parsing every page and script of a fleet is most of a drift check (1,000 services: over a
minute on two cores), and a service's pages change only when it is rendered anew. So what they
name (``objectcheck.Naming``) is kept in the output folder's cache (filecache.py), keyed by the
SHA-256 of the parser's own code, the namespace the commands default to, and each page's and
script's path and content: a change to any of them is a new key, and the pages are parsed again.
An entry read back is checked field by field; one that does not hold what this code writes is
ignored and parsed again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from service_runbooks import commands
from service_runbooks.discovery import objectcheck
from service_runbooks.discovery.filecache import FileCache
from service_runbooks.discovery.objectcheck import Named, Naming, command_files, naming_of

KIND = "command-objects"
VERSION = 1
MAX_ENTRY_BYTES = 16 * 1024 * 1024  # far above a service's list (about 20 kB)


@functools.cache
def _code_digest() -> bytes:
    """The parser's and the object check's own source: a new version parses anew."""
    digest = hashlib.sha256()
    for module in (commands, objectcheck):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.digest()


def _key(namespace: str, files: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256(_code_digest())
    digest.update(json.dumps(namespace).encode() + b"\0")
    for shown, content in files:
        digest.update(json.dumps(shown).encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def encode(naming: Naming) -> bytes:
    named = [[n.kind, n.namespace, n.name, n.where] for n in naming.named]
    return json.dumps({"named": named, "created": sorted(naming.created)}).encode()


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def decode(payload: bytes) -> Naming | None:
    """The naming an entry holds, or None when it is not exactly what ``encode`` writes."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) != {"named", "created"}:
        return None
    named, created = data["named"], data["created"]
    if not isinstance(named, list) or not _strings(created):
        return None
    if not all(_strings(item) and len(item) == 4 for item in named):
        return None
    return Naming(tuple(Named(*item) for item in named), frozenset(created))


def service_naming(service: Path, namespace: str, cache: FileCache | None) -> Naming:
    """What the service's pages and scripts name: from the cache when they are unchanged."""
    files = []
    for path, shown in command_files(service):
        with open(path, "rb") as handle:
            files.append((shown, handle.read()))
    key = _key(namespace, files)
    if cache is not None:
        payload = cache.get(key, MAX_ENTRY_BYTES)
        naming = decode(payload) if payload is not None else None
        if naming is not None:
            return naming
        if payload is not None:
            cache.ignored += 1
    parsed = [
        (shown, command)
        for shown, content in files
        for command in objectcheck.object_commands_in(shown, content.decode("utf-8"))
    ]
    naming = naming_of(parsed, namespace)
    if cache is not None:
        cache.put(key, encode(naming))
    return naming


def naming_cache(folder: Path) -> FileCache:
    return FileCache(folder, KIND, VERSION, ".json")
