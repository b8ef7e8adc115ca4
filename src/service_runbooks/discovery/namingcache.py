"""What each rendered service's commands name, kept between ``check --drift`` runs.

Parsing every page and script of a fleet is most of a drift check (1,000 services: about 7
CPU seconds), and a service's pages change only when it is rendered anew. So what they
name (``objectcheck.Naming``) is kept in the output folder's cache (filecache.py), keyed by the
SHA-256 of the parser's own code, the namespace the commands default to, and each page's and
script's path and content: a change to any of them is a new key, and the pages are parsed again.
An entry read back is checked field by field; one that does not hold what this code writes is
ignored and parsed again.

Each service is read once, in a worker process: its files are hashed (the digests also make
``check --drift``'s run key, driftmemo.py), looked up, parsed when missing and kept, while the
calling process runs discovery. Entries are written atomically (filecache.py), so workers never
see each other's half-written files.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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


def _key(namespace: str, digests: Iterable[tuple[str, bytes]]) -> str:
    """The entry's key from each file's path shown and content's SHA-256."""
    digest = hashlib.sha256(_code_digest())
    digest.update(json.dumps(namespace).encode() + b"\0")
    for shown, content_digest in digests:
        digest.update(json.dumps(shown).encode() + b"\0")
        digest.update(content_digest)
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
    """What the files' commands name; a pure function of them."""
    parsed = [
        (shown, command)
        for shown, content in files
        for command in objectcheck.object_commands_in(shown, content.decode("utf-8"))
    ]
    return naming_of(parsed, namespace)


@dataclass(frozen=True)
class ServiceRead:
    """One rendered service's pages and scripts, read once: what their commands name, and
    each file's path shown with the SHA-256 of its content (``check --drift``'s run key is
    made of them, so no page is read twice)."""

    naming: Naming
    digests: tuple[tuple[str, bytes], ...]
    ignored: int = 0  # cache entries found damaged or foreign


def read_service(service: str, namespace: str, cache_folder: str | None) -> ServiceRead:
    """Read one service: its naming from the cache when its files are unchanged, else parsed
    and kept. Runs in a worker process (its arguments and result cross a pipe)."""
    files = _read(Path(service))
    digests = tuple((shown, hashlib.sha256(content).digest()) for shown, content in files)
    key = _key(namespace, digests)
    cache = naming_cache(Path(cache_folder)) if cache_folder is not None else None
    naming = _cached(cache, key)
    if naming is None:
        naming = _parsed(files, namespace)
        if cache is not None:
            cache.put(key, encode(naming))
    return ServiceRead(naming, digests, cache.ignored if cache is not None else 0)


def _worker() -> None:
    from service_runbooks.fleet.workers import die_with_parent

    die_with_parent()


@contextlib.contextmanager
def reading(
    services: list[tuple[Path, str]], cache: FileCache | None, workers: int | None = None
) -> Iterator[Callable[[], list[ServiceRead]]]:
    """Start ``read_service`` of each (service, namespace) in worker processes (one per core,
    as fleet builds run) and hand back the function that waits for them, in the order given:
    the caller works on meanwhile. Leaving the block early cancels what has not started."""
    folder = str(cache.folder) if cache is not None else None
    count = max(1, min(workers or os.cpu_count() or 1, len(services)))

    def counted(read: list[ServiceRead]) -> list[ServiceRead]:
        if cache is not None:
            cache.ignored += sum(item.ignored for item in read)
        return read

    if count == 1:
        yield lambda: counted([read_service(str(s), ns, folder) for s, ns in services])
        return
    pool = ProcessPoolExecutor(max_workers=count, initializer=_worker)
    try:
        # A few chunks per worker: few round trips, and the work stays spread to the end.
        chunk = max(1, len(services) // (count * 8))
        names = [str(service) for service, _ in services]
        spaces = [namespace for _, namespace in services]
        results = pool.map(read_service, names, spaces, [folder] * len(names), chunksize=chunk)
        yield lambda: counted(list(results))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def service_namings(
    services: list[tuple[Path, str]], cache: FileCache | None, workers: int | None = None
) -> list[Naming]:
    """What each (service, namespace)'s pages and scripts name, in the order given."""
    with reading(services, cache, workers) as read:
        return [item.naming for item in read()]


def service_naming(service: Path, namespace: str, cache: FileCache | None) -> Naming:
    """What the service's pages and scripts name: from the cache when they are unchanged."""
    return service_namings([(service, namespace)], cache)[0]


def naming_cache(folder: Path) -> FileCache:
    return FileCache(folder, KIND, VERSION, ".json")
