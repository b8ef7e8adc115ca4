"""What a rendered service records about itself: a manifest of file digests and .cruft.json.

The manifest (``.service-runbooks.json``) holds the digest of every file exactly as rendered,
the answers, a fingerprint of answers plus template, and the fleet entry's ``sources:`` (where
each answer was read; not an answer, so not in the fingerprint: it changes no rendered file).
A file whose digest differs from the manifest was changed by a person; a service whose
fingerprint matches needs no work at all. Both metadata files are written last and atomically,
so they only ever describe a complete render.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from service_runbooks.template_source import Stamp

MANIFEST = ".service-runbooks.json"  # in each service folder: what was rendered
CRUFT_FILE = ".cruft.json"  # in each service folder, for cruft
METADATA = frozenset({MANIFEST, CRUFT_FILE})
FORMAT = 1
# Context keys cookiecutter adds that describe one run (paths of that run), not the service.
RUN_KEYS = ("_template", "_output_dir", "_repo_dir", "_checkout")


def file_digest(path: Path) -> str | None:
    """sha256 of a file's bytes, marked 'x:' when executable; None when there is no file."""
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    prefix = "x:" if mode & 0o111 else ""
    return prefix + hashlib.sha256(data).hexdigest()


def tree_digests(root: Path) -> dict[str, str]:
    """Digest of every file under ``root`` except our metadata, keyed by relative POSIX path."""
    digests = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if rel in METADATA:
                continue
            digest = file_digest(path)
            if digest is not None:
                digests[rel] = digest
    return dict(sorted(digests.items()))


def answers_digest(answers: Mapping[str, str]) -> str:
    """A digest of the answers as given (defaults merged), independent of key order."""
    text = json.dumps(dict(answers), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(template_tree: str, answers: Mapping[str, str], engine: str) -> str:
    """Same fingerprint, same output: template inputs, answers, and the rendering engine."""
    parts = f"{FORMAT}\0{engine}\0{template_tree}\0{answers_digest(answers)}"
    return hashlib.sha256(parts.encode("utf-8")).hexdigest()


@dataclass
class Manifest:
    """What one render wrote."""

    fingerprint: str
    template_tree: str
    answers: dict[str, str]
    stamp: dict[str, str | None]
    files: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT
    # Answer name -> where it was read (the fleet entry's ``sources:``), for the checks that
    # compare the answers with the deployment later. A manifest written before it has none.
    sources: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def read_manifest(service_dir: Path) -> Manifest | None:
    """The manifest of a rendered service, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((service_dir / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None


def cruft_state(
    context: Mapping[str, Any], stamp: Stamp, previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The .cruft.json content `cruft create` would write for this render.

    Keys a person added to the ``previous`` state, and its ``skip`` list, are kept.
    """
    answers = {k: v for k, v in context["cookiecutter"].items() if k not in RUN_KEYS}
    answers["_template"] = stamp.template
    answers["_commit"] = stamp.commit
    return {
        **(previous or {}),
        "template": stamp.template,
        "commit": stamp.commit,
        "checkout": stamp.checkout,
        "context": {"cookiecutter": answers},
        "directory": None,
        "skip": skip_list(previous),
    }


def read_cruft_state(service_dir: Path) -> dict[str, Any] | None:
    """A service's .cruft.json, or None when there is none (or it is not a JSON object)."""
    try:
        state = json.loads((service_dir / CRUFT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def skip_list(state: Mapping[str, Any] | None) -> list[str]:
    """cruft's ``skip``: paths (or glob patterns with '*') that updates leave alone."""
    skip = (state or {}).get("skip")
    return [item for item in skip if isinstance(item, str)] if isinstance(skip, list) else []


def is_skipped(rel: str, skip: list[str]) -> bool:
    """Whether ``rel`` is in cruft's ``skip``: a path, a folder holding it, or a glob pattern
    (cruft/_commands/utils/generate.py: '*' makes it a pattern; fnmatch's '*' also spans
    folders, so this skips at least what cruft skips)."""
    for item in skip:
        if "*" in item:
            if fnmatch.fnmatchcase(rel, item):
                return True
        elif rel == item.strip("/") or rel.startswith(item.strip("/") + "/"):
            return True
    return False


def restamped(state: dict[str, Any], stamp: Stamp) -> dict[str, Any]:
    """``state`` pointing at another template location or commit, answers unchanged."""
    answers = dict(state["context"]["cookiecutter"])
    answers["_template"] = stamp.template
    answers["_commit"] = stamp.commit
    return {**state, **stamp_dict(stamp), "context": {"cookiecutter": answers}}


def stamp_dict(stamp: Stamp) -> dict[str, str | None]:
    """template, commit and checkout, as .cruft.json and the manifest name them."""
    return dict(stamp._asdict())


def cruft_json(state: Mapping[str, Any]) -> str:
    """Formatted the way cruft writes it, so cruft's own rewrites produce small diffs."""
    return json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": ")) + "\n"
