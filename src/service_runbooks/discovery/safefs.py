"""Reading sources nobody here wrote: no link followed out of them, sizes bounded.

A source is a folder or file the user named. Everything under it is untrusted: a symbolic link
may point anywhere (``/etc/shadow``, a device, a loop), a file may be huge. The walk never
descends into a linked folder, follows a linked file only when its target lies inside the same
source, skips hidden folders and dependency trees, and stops at ``Limits.files_walked``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from service_runbooks.discovery.model import Limits, SourceProblem, relative
from service_runbooks.errors import TooLarge

# Folders that hold other projects' files (dependencies, caches, VCS data), never the service's.
SKIPPED_FOLDERS = frozenset({"node_modules", "vendor", "venv", "__pycache__", "site-packages"})


@dataclass
class Walk:
    """Every regular file and folder under the sources, and the links left alone."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    links_not_followed: list[tuple[Path, str]] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``'s real location (links resolved) is ``root`` or below it."""
    real = Path(os.path.realpath(path))
    return real == root or root in real.parents


def _link_target_allowed(path: Path, root: Path) -> str | None:
    """Why a linked file is not followed, or None when its target is a file inside ``root``."""
    if not inside(path, root):
        return "a link to outside the source; not followed"
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return f"a link that cannot be followed ({error.strerror})"
    return None if stat.S_ISREG(mode) else "a link to something that is not a file; not followed"


def _skip_folder(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_FOLDERS


def _walk_one(source: Path, limits: Limits, walk: Walk, shown_as: str, base: Path) -> None:
    root = Path(os.path.realpath(source))
    if root.is_file():
        walk.files.append(root)
        return

    def unreadable(error: OSError) -> None:
        where = relative(Path(error.filename), base) if error.filename else shown_as
        walk.problems.append(SourceProblem(where, f"cannot be read ({error.strerror})"))

    for folder, subfolders, names in os.walk(root, onerror=unreadable, followlinks=False):
        here = Path(folder)
        walk.folders.append(here)
        kept = []
        for name in sorted(subfolders):
            if (here / name).is_symlink():
                walk.links_not_followed.append((here / name, "a linked folder; not followed"))
            elif not _skip_folder(name):
                kept.append(name)
        subfolders[:] = kept
        for name in sorted(names):
            path = here / name
            if path.is_symlink():
                reason = _link_target_allowed(path, root)
                if reason is not None:
                    walk.links_not_followed.append((path, reason))
                    continue
            elif not path.is_file():
                continue  # sockets, pipes, devices: never read
            walk.files.append(path)
            if len(walk.files) > limits.files_walked:
                message = f"holds more than {limits.files_walked} files; name a smaller folder"
                walk.problems.append(SourceProblem(shown_as, message))
                return


def walk_sources(sources: list[Path], limits: Limits, base: Path) -> Walk:
    """Walk every source; a source that does not exist is a problem naming it."""
    walk = Walk()
    for source in sources:
        shown_as = relative(Path(os.path.abspath(source)), base)
        if not source.exists():
            walk.problems.append(SourceProblem(shown_as, "does not exist"))
            continue
        _walk_one(source, limits, walk, shown_as, base)
    return walk


def read_bytes(path: Path, limit: int, shown_as: str) -> bytes:
    """At most ``limit`` bytes of ``path``; SourceProblem-carrying OSError when larger."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(SourceProblem(shown_as, f"is larger than {limit} bytes; not read"))
    return data


def head(path: Path, limit: int) -> bytes:
    """The first ``limit`` bytes of ``path`` (enough to recognise a file), b"" if unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except OSError:
        return b""
