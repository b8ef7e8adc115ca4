"""The output folder's housekeeping: our file names, one run at a time, a staging area beside
the services, and writes that are all or nothing."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MANIFEST = ".service-runbooks.json"  # in each service folder (see state)
CRUFT_FILE = ".cruft.json"  # in each service folder, for cruft
LOCK_FILE = ".service-runbooks.lock"
STAGING_DIR = ".service-runbooks-staging"


class Busy(Exception):
    """Another run holds the output folder."""


@contextmanager
def locked(output: Path) -> Iterator[Path]:
    """Hold the output folder's lock; yields the (emptied) staging folder beside the services.

    A staging folder left by a killed run is only partial renders, never anything a service
    folder points to, so it is removed here.
    """
    import shutil

    output.mkdir(parents=True, exist_ok=True)
    fd = os.open(output / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise Busy(f"another service-runbooks run is using {output}") from error
        staging = output / STAGING_DIR
        shutil.rmtree(staging, ignore_errors=True)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        os.close(fd)


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
