"""Bring one service's folder to a new render without losing anything a person wrote.

The new render is made in a staging folder beside the output (same file system), then:

* a service that does not exist yet appears with one ``rename`` of the whole folder;
* an existing one is updated file by file with ``os.replace`` (each file is the old one or the
  new one, never a part), and its manifest is replaced last: until then the previous manifest
  still describes the previous render, so a killed run is simply completed by the next one.

Per file, with the manifest as the base, the folder as ours and the new render as theirs (a
3-way merge at file level): ours == base takes theirs; theirs == base keeps ours (a person's
edit of a file the template did not change); ours == theirs needs nothing. Anything else is a
conflict: the service is refused with the list, or merged by ``cruft update`` when asked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service_runbooks.cruft_state import (
    CRUFT_FILE,
    MANIFEST,
    Manifest,
    cruft_json,
    cruft_state,
    file_digest,
    is_skipped,
    read_cruft_state,
    read_manifest,
    skip_list,
    stamp_dict,
    tree_digests,
)
from service_runbooks.errors import RenderError
from service_runbooks.fleet.report import FAILED, MERGED, REFUSED, RENDERED, UPDATED
from service_runbooks.fleet.workdir import links_in, links_refusal
from service_runbooks.template_source import Stamp

CONFLICT_MARKER = "<<<<<<< "


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to render one service."""

    name: str
    context: Mapping[str, Any]
    answers: Mapping[str, str]
    fingerprint: str
    template_tree: str
    stamp: Stamp
    template: Path
    output: Path
    staging: Path
    merge: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)  # the entry's, for the manifest
    # Files the CLI adds to the rendered ones (path in the folder -> text): the drift check of
    # a service whose sources lie in its own folder (fleet/service_drift.py).
    extra_files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What happened to one service."""

    name: str
    status: str
    detail: str = ""
    files: tuple[str, ...] = ()


@dataclass
class Plan:
    """File-level actions that take a service folder from its last render to the new one."""

    write: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # described, for people
    conflicting: list[str] = field(default_factory=list)  # the same, as paths
    skipped: list[str] = field(default_factory=list)  # in cruft's skip: left as they are


def _describe(ours: str | None, base: str | None) -> str:
    if ours is None:
        return "deleted since rendered"
    if base is None:
        return "not rendered by service-runbooks"
    return "edited since rendered"


def plan_update(
    target: Path, base: Mapping[str, str], theirs: Mapping[str, str], skip: Sequence[str] = ()
) -> Plan:
    """Compare the folder (ours) with the last render (base) and the new one (theirs); files in
    cruft's ``skip`` are left alone."""
    plan = Plan()
    for rel in sorted(set(base) | set(theirs)):
        if is_skipped(rel, list(skip)):
            plan.skipped.append(rel)
            continue
        ours, old, new = file_digest(target / rel), base.get(rel), theirs.get(rel)
        if ours == new:
            continue
        if ours == old:
            (plan.delete if new is None else plan.write).append(rel)
        elif new != old:
            plan.conflicts.append(f"{rel} ({_describe(ours, old)})")
            plan.conflicting.append(rel)
    return plan


def recorded_files(plan: Plan, base: Mapping[str, str], theirs: dict[str, str]) -> dict[str, str]:
    """The manifest's files: the new render's, but a skipped file keeps its last record."""
    files = {rel: digest for rel, digest in theirs.items() if rel not in plan.skipped}
    files |= {rel: base[rel] for rel in plan.skipped if rel in base}
    return dict(sorted(files.items()))


def _manifest(job: Job, files: dict[str, str]) -> Manifest:
    return Manifest(
        fingerprint=job.fingerprint,
        template_tree=job.template_tree,
        answers=dict(job.answers),
        stamp=stamp_dict(job.stamp),
        files=files,
        sources=dict(job.sources),
    )


def _write_metadata(
    folder: Path, job: Job, files: dict[str, str], previous: dict[str, Any] | None = None
) -> None:
    state = cruft_state(job.context, job.stamp, previous)
    (folder / CRUFT_FILE).write_text(cruft_json(state), "utf-8")
    (folder / MANIFEST).write_text(_manifest(job, files).to_json(), "utf-8")


def _remove_empty_parents(path: Path, root: Path) -> None:
    parent = path.parent
    while parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def apply_plan(plan: Plan, staged: Path, target: Path) -> None:
    """Move the new files in, delete the dropped ones, then swap in the metadata, manifest last."""
    for rel in plan.write:
        destination = target / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged / rel, destination)
    for rel in plan.delete:
        (target / rel).unlink(missing_ok=True)
        _remove_empty_parents(target / rel, target)
    os.replace(staged / CRUFT_FILE, target / CRUFT_FILE)
    os.replace(staged / MANIFEST, target / MANIFEST)


def conflicts_left(target: Path, files: Mapping[str, str]) -> list[str]:
    """Files a merge left with conflict markers, and cruft's ``*.rej`` leftovers."""
    left = [p.relative_to(target).as_posix() for p in sorted(target.rglob("*.rej"))]
    for rel in files:
        try:
            text = (target / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if any(line.startswith(CONFLICT_MARKER) for line in text.splitlines()):
            left.append(rel)
    return left


def lost_sides(
    target: Path, ours: Mapping[str, str | None], base: Mapping[str, str], theirs: Mapping[str, str]
) -> list[str]:
    """Conflicting files a merge settled by dropping one side (no markers, no ``.rej``): the
    file as it was here, where the template changed it too, or the template's version where
    this file had been changed here (a file made by hand where the template now adds one)."""
    lost = []
    for rel, before in ours.items():
        after, new = file_digest(target / rel), theirs.get(rel)
        if after == before and new is not None and new != before:
            lost.append(f"{rel} (the template's version was not merged in)")
        elif after == new and before not in (None, base.get(rel), new):
            lost.append(f"{rel} (the change made here was dropped)")
    return lost


def merge(
    job: Job, target: Path, staged: Path, files: dict[str, str], plan: Plan, base: dict[str, str]
) -> Outcome:
    """Let ``cruft update`` merge the template's changes into the edited files."""
    from service_runbooks import cookiecutter_render

    if job.stamp.commit is None or not (target / CRUFT_FILE).is_file():
        return Outcome(
            job.name,
            REFUSED,
            "cannot merge: needs a .cruft.json from an earlier render and a template in git",
        )
    answers = {k: v for k, v in job.context["cookiecutter"].items() if not k.startswith("_")}
    ours = {rel: file_digest(target / rel) for rel in plan.conflicting}
    ok, log = cookiecutter_render.cruft_update(target, job.stamp.commit, answers)
    if not ok:
        return Outcome(job.name, REFUSED, f"cruft update did not apply: {log.strip()}")
    os.replace(staged / CRUFT_FILE, target / CRUFT_FILE)
    # Not the template's, so cruft update leaves them alone: written here, unless edited here.
    for relative in (rel for rel in job.extra_files if rel in plan.write):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged / relative, target / relative)
    os.replace(staged / MANIFEST, target / MANIFEST)
    left = conflicts_left(target, files) + lost_sides(target, ours, base, files)
    if left:
        return Outcome(job.name, FAILED, "merged with conflicts to resolve by hand", tuple(left))
    return Outcome(job.name, MERGED, "template changes merged into local edits")


def _add_files(staged: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = staged / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def sync_service(job: Job) -> Outcome:
    """Render ``job`` and bring its folder up to date (runs in a worker process)."""
    from service_runbooks import cookiecutter_render

    links = links_in(job.output / job.name)  # checked again right before writing
    if links:
        return Outcome(job.name, REFUSED, links_refusal(links))
    job.staging.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{job.name}.", dir=job.staging))
    try:
        try:
            staged = cookiecutter_render.render(job.template, job.context, scratch)
        except RenderError as error:
            return Outcome(job.name, FAILED, str(error))
        _add_files(staged, job.extra_files)
        rendered = tree_digests(staged)
        target = job.output / job.name
        if not target.exists():
            _write_metadata(staged, job, rendered)
            os.rename(staged, target)
            return Outcome(job.name, RENDERED)
        previous, state = read_manifest(target), read_cruft_state(target)
        base = previous.files if previous else {}
        plan = plan_update(target, base, rendered, skip_list(state))
        files = recorded_files(plan, base, rendered)
        _write_metadata(staged, job, files, state)
        if plan.conflicts:
            if job.merge:
                return merge(job, target, staged, files, plan, base)
            return Outcome(
                job.name,
                REFUSED,
                "files changed here since they were rendered would be overwritten "
                "(merge them with `service-runbooks update` or --merge, or revert them)",
                tuple(plan.conflicts),
            )
        apply_plan(plan, staged, target)
        return Outcome(job.name, UPDATED, files=tuple(plan.write + plan.delete))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
