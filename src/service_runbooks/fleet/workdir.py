"""The output folder's housekeeping: our file names, one run at a time, a staging area beside
the services, and writes that are all or nothing."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A service folder's own files (cruft_state owns them), beside the output folder's names below.
from service_runbooks.cruft_state import CRUFT_FILE as CRUFT_FILE
from service_runbooks.cruft_state import MANIFEST as MANIFEST
from service_runbooks.errors import Busy

LOCK_FILE = ".service-runbooks.lock"
STAGING_DIR = ".service-runbooks-staging"
# The services of the fleet file, as the last render read it: `build` publishes only these.
FLEET_SERVICES = ".service-runbooks-services.json"


@contextmanager
def exclusive(lock_file: Path, what: Path) -> Iterator[None]:
    """Hold ``lock_file``'s lock (flock: released by the kernel when the process dies, so a
    killed run never leaves a stale lock); Busy when another run holds it."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise Busy(f"another service-runbooks run is using {what}") from error
        yield
    finally:
        os.close(fd)


@contextmanager
def locked(output: Path) -> Iterator[Path]:
    """Hold the output folder's lock; yields the (emptied) staging folder beside the services.

    A staging folder left by a killed run is only partial renders, never anything a service
    folder points to, so it is removed here.
    """

    output.mkdir(parents=True, exist_ok=True)
    with exclusive(output / LOCK_FILE, output):
        staging = output / STAGING_DIR
        _remove(staging)
        try:
            yield staging
        finally:
            _remove(staging)


def _remove(path: Path) -> None:
    """Remove a folder of ours; a link in its place is removed, never followed."""
    import shutil

    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def links_in(service: Path) -> list[str]:
    """Symbolic links at or under a service folder, as ``name -> target``, without following any.

    service-runbooks never reads or writes through a link in the output: a linked folder or file
    could point anywhere (another service, a home folder), so a service holding one is refused.
    """
    if service.is_symlink():
        return [f"{service.name} -> {os.readlink(service)}"]
    found = []
    for dirpath, dirnames, filenames in os.walk(service):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                found.append(f"{path.relative_to(service).as_posix()} -> {os.readlink(path)}")
    return sorted(found)


def links_refusal(links: list[str]) -> str:
    return (
        "holds symbolic links, which service-runbooks never follows (they could point outside "
        f"the output): {', '.join(links)}; replace them with real files or folders"
    )


def is_service_dir(path: Path) -> bool:
    """Service folders are the visible sub-folders of the output folder."""
    return path.is_dir() and not path.name.startswith(".")


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never a part.

    Atomic against the process being killed (the point here); not fsync'ed against power loss.
    """
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_fleet_services(output: Path, names: list[str]) -> None:
    import json

    write_atomic(output / FLEET_SERVICES, json.dumps({"services": names}, indent=1) + "\n")


def read_fleet_services(output: Path) -> set[str] | None:
    """The fleet's services as the last render saw them; None when no render wrote the list."""
    import json

    try:
        names = json.loads((output / FLEET_SERVICES).read_text(encoding="utf-8"))["services"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {name for name in names if isinstance(name, str)} if isinstance(names, list) else None
