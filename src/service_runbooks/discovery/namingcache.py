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
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from service_runbooks import commands
from service_runbooks.discovery import objectcheck
from service_runbooks.discovery.filecache import FileCache
from service_runbooks.discovery.objectcheck import Named, Naming, command_files, naming_of

KIND = "command-objects"
VERSION = 1
MAX_ENTRY_BYTES = 16 * 1024 * 1024  # far above a service's list (about 20 kB)
BATCH = 64  # services whose pages are held at once (about 150 kB each)


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


def _read(service: Path) -> list[tuple[str, bytes]]:
    """Each page's and script's path shown and content, read once."""
    files = []
    for path, shown in command_files(service):
        with open(path, "rb") as handle:
            files.append((shown, handle.read()))
    return files


def _cached(cache: FileCache | None, key: str) -> Naming | None:
    if cache is None:
        return None
    payload = cache.get(key, MAX_ENTRY_BYTES)
    naming = decode(payload) if payload is not None else None
    if naming is None and payload is not None:
        cache.ignored += 1
    return naming


def _parsed(files: list[tuple[str, bytes]], namespace: str) -> Naming:
    """What the files' commands name; a pure function, run in a worker process."""
    parsed = [
        (shown, command)
        for shown, content in files
        for command in objectcheck.object_commands_in(shown, content.decode("utf-8"))
    ]
    return naming_of(parsed, namespace)


def service_naming(service: Path, namespace: str, cache: FileCache | None) -> Naming:
    """What the service's pages and scripts name: from the cache when they are unchanged."""
    return service_namings([(service, namespace)], cache)[0]


def _worker() -> None:
    from service_runbooks.fleet.workers import die_with_parent

    die_with_parent()


def service_namings(
    services: list[tuple[Path, str]], cache: FileCache | None, workers: int | None = None
) -> list[Naming]:
    """``service_naming`` of each (service, namespace), in the order given. The services not in
    the cache are parsed in worker processes (one per core, as fleet builds run), BATCH at a
    time so the pages held in memory stay bounded; the cache is read and written here only."""
    namings: list[Naming | None] = []
    missing: list[tuple[int, str, list[tuple[str, bytes]], str]] = []
    for service, namespace in services:
        files = _read(service)
        key = _key(namespace, files)
        naming = _cached(cache, key)
        if naming is None:
            missing.append((len(namings), key, files, namespace))
        namings.append(naming)
    count = max(1, min(workers or os.cpu_count() or 1, len(missing)))
    if count == 1:
        _keep(missing, (_parsed(f, ns) for _, _, f, ns in missing), namings, cache)
    else:
        with ProcessPoolExecutor(max_workers=count, initializer=_worker) as pool:
            for start in range(0, len(missing), BATCH):
                batch = missing[start : start + BATCH]
                parsed = pool.map(_parsed, [m[2] for m in batch], [m[3] for m in batch])
                _keep(batch, parsed, namings, cache)
                for item in batch:
                    item[2].clear()  # the batch's pages are parsed: let them go
    done = [naming for naming in namings if naming is not None]
    assert len(done) == len(namings), "every service is read from the cache or parsed"
    return done


def _keep(
    batch: list[tuple[int, str, list[tuple[str, bytes]], str]],
    parsed: Iterable[Naming],
    namings: list[Naming | None],
    cache: FileCache | None,
) -> None:
    for (position, key, _, _), naming in zip(batch, parsed, strict=True):
        namings[position] = naming
        if cache is not None:
            cache.put(key, encode(naming))


def naming_cache(folder: Path) -> FileCache:
    return FileCache(folder, KIND, VERSION, ".json")
