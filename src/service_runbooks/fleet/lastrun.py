"""The inputs of the last run that completed without a refusal, so an unchanged fleet costs
one look: no YAML parsing, no validation, no rendering.

The record holds a digest of the fleet file, of this package's code, of the template's
render inputs, the renderer's version and the template's commit, plus the file-system identity
(inode, size, mtime) of every service's manifest as that run left it. When all of these are
the same, the previous run's verdict (every entry valid, every service up to date) still holds,
because it was computed from exactly these inputs. Any difference, or any doubt, means the
normal path. Every other run deletes the record before it writes anything.

The shard (``--shard K/N``) is one of the inputs: a record vouches only for the services of the
run that wrote it, so a run of another shard (or of the whole fleet) in the same folder never
takes it for its own; it takes the normal path and writes its own record.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from service_runbooks.fleet.workdir import MANIFEST, write_atomic
from service_runbooks.template_source import Stamp, engine_id, git_stamp, tree_digest

if TYPE_CHECKING:
    from service_runbooks.fleet.shard import Shard

RECORD = ".service-runbooks-fleet.json"
_CODE = Path(__file__).parent  # this package: how fleets are checked and rendered
# How a fleet file is checked (the verdict this record vouches for) lives beside the package.
_FLEET_FILE_CHECKS = _CODE.parent / "fleetfile.py"


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _code_digest() -> str:
    """Our own code (rules.py is among the template's inputs): new code, full path once."""
    digest = hashlib.sha256()
    for path in [*sorted(_CODE.glob("*.py")), _FLEET_FILE_CHECKS]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def inputs(
    fleet: Path, template: Path, stamp: Stamp, shard: Shard | None = None
) -> dict[str, object] | None:
    """Everything the last run's verdict depends on, besides the service folders."""
    try:
        fleet_digest = _file_digest(fleet)
    except OSError:
        return None  # the normal path explains what is wrong with the file
    return {
        "fleet": fleet_digest,
        "code": _code_digest(),
        "template_tree": tree_digest(template),
        "engine": engine_id(),
        "stamp": [stamp.template, stamp.commit, stamp.checkout],
        "shard": str(shard) if shard else None,
    }


def _identity(manifest: Path) -> list[int] | None:
    try:
        info = manifest.stat()
    except OSError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def unchanged_services(output: Path, current: dict[str, object] | None) -> list[str] | None:
    """The services of the last run, in fleet order, if nothing changed since; else None."""
    if current is None:
        return None
    try:
        record = json.loads((output / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("inputs") != current:
        return None
    services = record.get("services")
    if not isinstance(services, dict):
        return None
    for name, identity in services.items():
        if _identity(output / name / MANIFEST) != identity:
            return None
    return list(services)


def forget(output: Path) -> None:
    """Drop the record: this run may change what it describes."""
    (output / RECORD).unlink(missing_ok=True)


def remember(output: Path, current: dict[str, object] | None, names: list[str]) -> None:
    """Record a run that left every service up to date."""
    if current is None:
        return
    services = {name: _identity(output / name / MANIFEST) for name in names}
    if any(identity is None for identity in services.values()):
        return
    text = json.dumps({"inputs": current, "services": services}, indent=1) + "\n"
    write_atomic(output / RECORD, text)


def unchanged(
    fleet: Path,
    output: Path,
    template: Path,
    template_url: str | None = None,
    shard: Shard | None = None,
) -> list[str] | None:
    """The no-op answer: the fleet's (or shard's) services when nothing changed since the last
    run, or None."""
    stamp = git_stamp(template, template_url)
    return unchanged_services(output.absolute(), inputs(fleet, template, stamp, shard))
