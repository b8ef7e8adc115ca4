"""The output folder's housekeeping: one run at a time, and a staging area beside the services."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
