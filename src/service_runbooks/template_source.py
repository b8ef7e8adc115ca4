"""The template being rendered: what its output depends on, and which commit it is."""

from __future__ import annotations

import hashlib
import subprocess
from collections import namedtuple
from pathlib import Path

# The template this package ships with (rules.TEMPLATE_ROOT, without importing the rules).
TEMPLATE_ROOT = Path(__file__).resolve().parents[2]

# Files and folders of the template root that can change what a service gets: the answers, the
# Jinja extension, the hooks, cookiecutter's shared templates folder, and the rules the hook
# imports. The skeleton folder (the one named with {{cookiecutter...}}) is found by name.
RENDER_INPUTS = (
    "cookiecutter.json",
    "local_extensions.py",
    "hooks",
    "templates",
    "src/service_runbooks/rules.py",
)


def skeleton_dirs(root: Path) -> list[Path]:
    """The folder(s) cookiecutter renders: top-level folders whose name is a template."""
    return sorted(
        p for p in root.iterdir() if p.is_dir() and "cookiecutter" in p.name and "{{" in p.name
    )


def _files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def input_files(root: Path) -> list[Path]:
    """Every file whose content or mode can change a rendered service, in a stable order."""
    paths = [root / name for name in RENDER_INPUTS] + skeleton_dirs(root)
    return sorted({f for p in paths for f in _files_under(p)})


def tree_digest(root: Path = TEMPLATE_ROOT) -> str:
    """A digest of the template's render inputs: names, executable bits and contents."""
    digest = hashlib.sha256()
    for path in input_files(root):
        executable = path.stat().st_mode & 0o111
        digest.update(path.relative_to(root).as_posix().encode("utf-8"))
        digest.update(b"\0x\0" if executable else b"\0-\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class Stamp(namedtuple("Stamp", ["template", "commit", "checkout"])):
    """Where a rendered service came from, as cruft records it in .cruft.json.

    ``template``: the path or URL cruft clones; ``commit``: the template's commit (None when it
    is not a git checkout); ``checkout``: the branch cruft follows (None: the default HEAD).
    A plain named tuple: the no-op path does not import ``typing``.
    """

    __slots__ = ()


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout if result.returncode == 0 else None


def git_stamp(root: Path = TEMPLATE_ROOT, template_url: str | None = None) -> Stamp:
    """The template's HEAD commit and branch; ``template_url`` is recorded instead of the path."""
    found = (_git(root, "rev-parse", "HEAD", "--abbrev-ref", "HEAD") or "").split()
    commit, branch = found if len(found) == 2 else (None, None)
    checkout = branch if branch != "HEAD" else None  # HEAD: detached, no branch to follow
    return Stamp(template=template_url or str(root), commit=commit, checkout=checkout)


def uncommitted_inputs(root: Path = TEMPLATE_ROOT) -> list[str]:
    """Render inputs that differ from the commit: cruft would render the commit, not these."""
    names = [*RENDER_INPUTS, *(p.name for p in skeleton_dirs(root))]
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *names)
    return [line[3:] for line in (status or "").splitlines()]


def engine_id() -> str:
    """The renderer's identity, part of every fingerprint (without importing cookiecutter).

    Read from the installed distribution's folder name, which is quicker than
    importlib.metadata on the no-op path where every millisecond shows.
    """
    from importlib.util import find_spec

    spec = find_spec("cookiecutter")
    if spec is not None and spec.origin is not None:
        packages = Path(spec.origin).parent.parent
        found = sorted(packages.glob("cookiecutter-*.dist-info"))
        if len(found) == 1:
            return found[0].name.removesuffix(".dist-info")
    from importlib.metadata import version

    return f"cookiecutter-{version('cookiecutter')}"


def uncommitted_warning(template: Path) -> list[str]:
    """cruft renders the template's commit: say so when the working tree differs from it."""
    changed = uncommitted_inputs(template)
    if not changed:
        return []
    shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
    return [
        f"the template has uncommitted changes ({shown}); .cruft.json records the last commit, "
        "which is what cruft check and cruft update compare with"
    ]
