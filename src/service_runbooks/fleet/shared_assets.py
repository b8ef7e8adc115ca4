"""One copy on disk of each file that several services' sites hold identically: hard links.

Every service's TechDocs site carries MkDocs Material's assets (the JavaScript bundle and its
source map, the search worker, lunr's languages, the stylesheets: about 2.6 MB of a 3.4 MB
site). After a build, each regular file of every site not shared yet (built in that run, or
before sharing existed) is hashed and hard-linked to the one copy kept in the site folder's
store, ``.service-runbooks/shared/``, named by its SHA-256 and permission bits. Every service
folder stays a complete site of its own, which ``techdocs-cli publish`` uploads alone (object
storage receives copies), while the disk holds each distinct file once (``du`` counts a
hard-linked file once: https://www.gnu.org/software/coreutils/manual/html_node/du-invocation.html).

Why this cannot corrupt a site:

- Identical only: a file is linked to a stored copy only when their SHA-256 digests and
  permission bits match, and the stored copy is hashed again before its first use in a run (it
  could have been edited in place through any of its names).
- Never written in place: a file is replaced by a link under a new name then ``os.replace``
  (an atomic rename: readers see the old file or the identical new one). The build writes each
  site into a fresh staging folder and swaps it in with renames, and plain ``mkdocs build``
  empties its site_dir before writing (``utils.clean_directory``), so a rebuild makes new files
  and only unlinks the old site's names: other sites' links keep their content. ``mkdocs build
  --dirty`` into a fleet site would write into shared files: the fleet build never uses it.
- Symbolic links are never followed: folders are walked without following links, entries are
  ``lstat``-ed and only regular files are touched; a store that is a link is refused.
- Links the file system refuses (EXDEV across devices, EPERM where hard links are not
  supported or not allowed, EMLINK at the link limit; see link(2),
  https://man7.org/linux/man-pages/man2/link.2.html) leave the file as the copy MkDocs wrote.

Stored copies that no site links to any more (a rebuilt or removed service's old pages, an
older theme's assets) are removed at the end of each run.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

STORE = "shared"  # inside the build's state folder
MARKER = "index.html"  # every site has one; linked last, so a linked one means "all done"
# A link being put in place (see _replace_with_link); one left by a killed run is removed.
# MkDocs writes no dot file into a site: it leaves '.*' out of the docs and the theme's files
# (mkdocs 1.6.1, structure/files.py: _default_exclude, Files.add_files_from_theme).
TEMPORARY = re.compile(r"\..+\.[0-9a-f]{8}\.link")
# link(2) errors that mean "no hard link here": the file keeps its own copy.
LINK_REFUSED = {errno.EXDEV, errno.EPERM, errno.EMLINK}


@dataclass
class Sharing:
    """What a run did: files now sharing a stored copy, first copies, copies kept."""

    linked: int = 0
    stored: int = 0
    kept: int = 0
    collected: int = 0
    warnings: list[str] = field(default_factory=list)


def share_identical_files(site: Path, names: Iterable[str], state: Path) -> Sharing:
    """Hard-link the identical files of the sites ``site/<name>`` to one copy each.

    Only sites not shared yet are read (those just built, or built before sharing existed).

    ``state`` is the build's state folder inside ``site``; the store lives there, on the same
    file system as the sites (hard links cannot cross devices).
    """
    sharing = Sharing()
    store = state / STORE
    if store.is_symlink() or (store.exists() and not store.is_dir()):
        sharing.warnings.append(f"{store} is not a folder; sites keep their own copies")
        return sharing
    store.mkdir(parents=True, exist_ok=True)
    verified: set[str] = set()
    for name in names:
        top = site / name
        if top.is_symlink() or not top.is_dir() or _already_shared(top):
            continue
        marker = top / MARKER
        for path in sorted(_regular_files(top), key=lambda path: path == marker):
            _share(path, store, verified, sharing)
    sharing.collected = _collect_unlinked(store)
    if sharing.kept:
        sharing.warnings.append(
            f"{sharing.kept} file(s) keep their own copy: the file system refused a hard link"
        )
    return sharing


def _already_shared(top: Path) -> bool:
    """Whether a site went through this whole: its marker, handled last, is a stored copy.

    A site MkDocs just wrote has only files of one link each; so has a site built before this
    module existed, which is shared on the next run even though it is not rebuilt.
    """
    try:
        info = os.lstat(top / MARKER)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_nlink > 1


def _regular_files(top: Path) -> Iterable[Path]:
    """Regular files under ``top``, never through a symbolic link (file or folder)."""
    for dirpath, _dirnames, filenames in os.walk(top, followlinks=False):
        for filename in filenames:
            path = Path(dirpath, filename)
            if TEMPORARY.fullmatch(filename):
                path.unlink()
            elif stat.S_ISREG(os.lstat(path).st_mode):
                yield path


def file_digest(path: Path) -> str:
    with open(path, "rb", opener=_no_follow) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _share(path: Path, store: Path, verified: set[str], sharing: Sharing) -> None:
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    digest = file_digest(path)
    stored = store / f"{digest}.{mode:o}"
    try:
        os.link(path, stored, follow_symlinks=False)  # the first copy of these bytes
        sharing.stored += 1
        verified.add(stored.name)
        return
    except FileExistsError:
        pass
    except OSError as error:
        if error.errno not in LINK_REFUSED:
            raise
        sharing.kept += 1
        return
    if stored.name not in verified and not _holds(stored, digest, mode):
        _replace_with_link(path, stored)  # edited in place since: this file becomes the copy
        sharing.stored += 1
    elif not os.path.samestat(os.lstat(path), os.lstat(stored)):
        _link_to_stored(path, stored, sharing)
    verified.add(stored.name)


def _link_to_stored(path: Path, stored: Path, sharing: Sharing) -> None:
    try:
        _replace_with_link(stored, path)
        sharing.linked += 1
    except OSError as error:
        if error.errno not in LINK_REFUSED:
            raise
        sharing.kept += 1
        if error.errno == errno.EMLINK:  # the copy is at the link limit: later sites use this one
            _replace_with_link(path, stored)


def _holds(stored: Path, digest: str, mode: int) -> bool:
    """Whether the stored copy is a regular file with exactly these bytes and permissions."""
    info = os.lstat(stored)
    if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != mode:
        return False
    return file_digest(stored) == digest


def _replace_with_link(source: Path, target: Path) -> None:
    """Make ``target`` a hard link to ``source``, atomically (a new name, then a rename)."""
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.link")  # TEMPORARY
    os.link(source, temporary, follow_symlinks=False)
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _collect_unlinked(store: Path) -> int:
    """Remove stored copies no site links to (link count 1), and leftovers of a killed run."""
    removed = 0
    with os.scandir(store) as entries:
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                continue  # not ours: the store only ever holds files
            if entry.name.startswith(".") or not stat.S_ISREG(info.st_mode) or info.st_nlink == 1:
                os.unlink(entry.path)  # a symbolic link is removed, never followed
                removed += 1
    return removed
