"""``service-runbooks render`` (and ``update``): every service of a fleet file, in parallel.

1. Read and check the whole fleet file (``fleetfile``); any problem stops here.
2. A service whose fingerprint (answers + template inputs + engine) matches its manifest is
   unchanged: nothing is rendered or written (at most .cruft.json is re-stamped when only the
   template's commit moved, and the manifest records the entry's new ``sources:`` when only
   they changed: where an answer was read changes no rendered file, so it is no reason to
   render again).
3. The others are prepared in worker processes (cookiecutter renders the answers' defaults and
   the rules check the result); any problem stops here, still before anything is written.
4. Workers render and sync each service (``sync``); a summary says what happened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from service_runbooks.cruft_state import (
    CRUFT_FILE,
    MANIFEST,
    cruft_json,
    fingerprint,
    read_manifest,
    restamped,
    stamp_dict,
)
from service_runbooks.errors import FleetError, FleetProblem
from service_runbooks.fleet import lastrun, sync
from service_runbooks.fleet.progress import progress_bar
from service_runbooks.fleet.report import UNCHANGED, summary_line
from service_runbooks.fleet.shard import Shard, in_shard, select
from service_runbooks.fleet.workdir import (
    is_service_dir,
    links_in,
    links_refusal,
    locked,
    write_atomic,
    write_fleet_services,
)
from service_runbooks.template_source import (
    TEMPLATE_ROOT,
    Stamp,
    engine_id,
    git_stamp,
    tree_digest,
    uncommitted_warning,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from service_runbooks.fleetfile import Entry
    from service_runbooks.rules import Problem


@dataclass(frozen=True)
class Options:
    """How to render; the defaults are what the CLI does."""

    merge: bool = False
    jobs: int | None = None
    template: Path = TEMPLATE_ROOT
    template_url: str | None = None
    hooks_in_process: bool = True
    progress: bool | None = None
    prune: bool = False  # remove the folders of services no longer in the fleet file
    shard: Shard | None = None  # render only this shard's services (None: all)


@dataclass
class Summary:
    """The outcome of every service, in fleet order."""

    outcomes: list[sync.Outcome] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # retired: rendered, not in the fleet
    warnings: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(outcome.status in statuses for outcome in self.outcomes)

    @property
    def ok(self) -> bool:
        return self.count(sync.REFUSED, sync.FAILED) == 0

    def line(self) -> str:
        return summary_line([outcome.status for outcome in self.outcomes])

    def report(self, out: TextIO) -> None:
        for warning in self.warnings:
            print(f"warning: {warning}", file=out)
        for outcome in self.outcomes:
            if outcome.status in (UNCHANGED, sync.RENDERED, sync.UPDATED):
                continue
            print(f"{outcome.status:>9}  {outcome.name}: {outcome.detail}", file=out)
            for name in outcome.files:
                print(f"{'':>11}- {name}", file=out)
        if self.pruned:
            print(f"pruned: removed the folders of {', '.join(self.pruned)}", file=out)
        if self.orphans:
            print(
                f"retired: {len(self.orphans)} rendered service(s) are not in the fleet file "
                f"and were left alone: {', '.join(self.orphans)} (`build` no longer publishes "
                "them; --prune removes their folders)",
                file=out,
            )
        print(self.line(), file=out)


@dataclass(frozen=True)
class Pending:
    """A service that needs rendering."""

    entry: Entry
    fingerprint: str


def _plan(
    entries: Iterable[Entry], output: Path, tree: str, stamp: Stamp, fleet_dir: Path
) -> tuple[list[Pending], list[Entry], list[Entry], list[sync.Outcome]]:
    """Split entries into (to render, to re-stamp, unchanged, refused) by their manifests; a
    service folder holding a symbolic link is refused before anything reads through it. New
    sources alone are only recorded, unless they lie in the service's folder, before or now:
    then its drift check files change (fleet/service_drift.py), so it is rendered."""
    pending, restamp, unchanged, refused = [], [], [], []
    engine = engine_id()
    for entry in entries:
        links = links_in(output / entry.name)
        if links:
            refused.append(sync.Outcome(entry.name, sync.REFUSED, links_refusal(links)))
            continue
        expected = fingerprint(tree, entry.answers, engine)
        manifest = read_manifest(output / entry.name)
        if (
            manifest is None
            or manifest.fingerprint != expected
            or (
                manifest.sources != entry.sources
                and _own_sources_either(manifest.sources, entry, fleet_dir, output)
            )
        ):
            pending.append(Pending(entry, expected))
        elif manifest.stamp != stamp_dict(stamp) or manifest.sources != entry.sources:
            restamp.append(entry)
        else:
            unchanged.append(entry)
    return pending, restamp, unchanged, refused


def _own_sources_either(
    recorded: dict[str, str], entry: Entry, fleet_dir: Path, output: Path
) -> bool:
    from service_runbooks.fleet.service_drift import own_sources

    service = output / entry.name
    return bool(
        own_sources(recorded, fleet_dir, service) or own_sources(entry.sources, fleet_dir, service)
    )


def _restamp(service: Path, stamp: Stamp, sources: dict[str, str]) -> str:
    """Point .cruft.json at the template's current commit and record the entry's ``sources``
    (the rendered files are the same); what was done, for the summary."""
    manifest = read_manifest(service)
    assert manifest is not None
    done = []
    if manifest.stamp != stamp_dict(stamp):
        state = json.loads((service / CRUFT_FILE).read_text(encoding="utf-8"))
        write_atomic(service / CRUFT_FILE, cruft_json(restamped(state, stamp)))
        manifest.stamp = stamp_dict(stamp)
        done.append("re-stamped")
    if manifest.sources != sources:
        manifest.sources = dict(sources)
        done.append("sources recorded")
    write_atomic(service / MANIFEST, manifest.to_json())
    return ", ".join(done)


def _init_worker(template: Path, hooks_in_process: bool) -> None:
    """Set up a render worker: the speed patches, and in-process hooks when provably the same
    (the template's hook imports the rules module this process has: ``owns_rules``)."""
    import sys

    from service_runbooks import patches
    from service_runbooks.cookiecutter_render import owns_rules
    from service_runbooks.fleet.workers import die_with_parent

    die_with_parent()
    patches.install_jinja_memos(modules=True)
    patches.sniff_each_file_once()
    sys.path.insert(0, str(template))
    if hooks_in_process and owns_rules(template):
        patches.run_hooks_in_process()


def _executor(options: Options, count: int) -> Executor:
    from concurrent.futures import ProcessPoolExecutor

    workers = max(1, min(options.jobs or _cpu_count(), count))
    return ProcessPoolExecutor(
        max_workers=workers,
        initializer=_init_worker,
        initargs=(options.template, options.hooks_in_process),
    )


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _prepare_all(
    pool: Executor, pending: list[Pending], options: Options, output: Path, fleet: Path
) -> list[Any]:
    """Contexts of every pending service; FleetError when any rendered answer breaks a rule."""
    from service_runbooks import cookiecutter_render

    futures = [
        pool.submit(cookiecutter_render.prepare, options.template, item.entry.answers, output)
        for item in pending
    ]
    contexts, problems = [], []
    for item, future in zip(pending, futures, strict=True):
        context, rule_problems = future.result()
        contexts.append(context)
        problems += [
            FleetProblem(item.entry.where, p.field, _rendered_message(p, item.entry))
            for p in rule_problems
        ]
    if problems:
        raise FleetError(fleet, problems)
    return contexts


def _rendered_message(problem: Problem, entry: Entry) -> str:
    text = problem.explain()
    if problem.field not in entry.answers:
        text += " (this is the cookiecutter.json default, rendered for this service: set it)"
    return text


def _job(
    item: Pending,
    context: Any,
    tree: str,
    stamp: Stamp,
    options: Options,
    output: Path,
    staging: Path,
    fleet_dir: Path,
) -> sync.Job:
    from service_runbooks.fleet.service_drift import drift_files

    return sync.Job(
        name=item.entry.name,
        context=context,
        answers=item.entry.answers,
        sources=item.entry.sources,
        extra_files=drift_files(item.entry, fleet_dir, output / item.entry.name, stamp),
        fingerprint=item.fingerprint,
        template_tree=tree,
        stamp=stamp,
        template=options.template,
        output=output,
        staging=staging,
        merge=options.merge,
    )


def _run_jobs(
    pool: Executor, jobs: list[sync.Job], advance: Callable[[str], None]
) -> dict[str, sync.Outcome]:
    from concurrent.futures import as_completed

    futures = {pool.submit(sync.sync_service, job): job for job in jobs}
    outcomes = {}
    for future in as_completed(futures):
        job = futures[future]
        try:
            outcome = future.result()
        except Exception as error:  # a worker died or raised: report, do not hide
            outcome = sync.Outcome(job.name, sync.FAILED, f"{type(error).__name__}: {error}")
        outcomes[job.name] = outcome
        advance(job.name)
    return outcomes


def _orphans(output: Path, entries: list[Entry]) -> list[str]:
    names = {entry.name for entry in entries}
    return sorted(
        p.name
        for p in output.iterdir()
        if is_service_dir(p) and p.name not in names and (p / MANIFEST).is_file()
    )


def render_fleet(fleet: Path, output: Path, options: Options | None = None) -> Summary:
    """Render every service of ``fleet`` into ``output``; FleetError before writing anything.

    This is the full path; ``lastrun.unchanged`` answers the no-op case without it.
    """
    options = options or Options()
    output = output.absolute()
    stamp = git_stamp(options.template, options.template_url)
    inputs = lastrun.inputs(fleet, options.template, stamp, options.shard)
    summary = _render(fleet, output, options, stamp)
    if summary.ok:
        lastrun.remember(output, inputs, [outcome.name for outcome in summary.outcomes])
    return summary


def _render(fleet: Path, output: Path, options: Options, stamp: Stamp) -> Summary:
    from service_runbooks.fleetfile import load_fleet

    entries = load_fleet(fleet)  # the whole file is checked, whichever shard runs
    mine = select(options.shard, entries, lambda entry: entry.name)
    tree = tree_digest(options.template)
    fleet_dir = Path(os.path.realpath(fleet.absolute().parent))
    pending, restamp, unchanged, refused = _plan(mine, output, tree, stamp, fleet_dir)
    outcomes: dict[str, sync.Outcome] = {outcome.name: outcome for outcome in refused}
    with ExitStack() as stack:
        pool = stack.enter_context(_executor(options, len(pending))) if pending else None
        contexts = _prepare_all(pool, pending, options, output, fleet) if pool else []
        staging = stack.enter_context(locked(output))  # the first write
        lastrun.forget(output)
        write_fleet_services(output, [entry.name for entry in entries])
        if pool is not None:
            jobs = [
                _job(item, context, tree, stamp, options, output, staging, fleet_dir)
                for item, context in zip(pending, contexts, strict=True)
            ]
            with progress_bar(len(jobs), "rendering", options.progress) as advance:
                outcomes.update(_run_jobs(pool, jobs, advance))
        for entry in restamp:
            done = _restamp(output / entry.name, stamp, entry.sources)
            outcomes[entry.name] = sync.Outcome(entry.name, UNCHANGED, done)
    for entry in unchanged:
        outcomes[entry.name] = sync.Outcome(entry.name, UNCHANGED)
    warnings = uncommitted_warning(options.template) if pending else []
    # Retired means not in the whole fleet file; each is reported (and pruned) by its own shard.
    orphans = [name for name in _orphans(output, entries) if in_shard(options.shard, name)]
    summary = Summary([outcomes[e.name] for e in mine], orphans, warnings)
    if options.prune:
        summary.pruned = prune(output, summary.orphans)
        summary.orphans = [name for name in summary.orphans if name not in summary.pruned]
        summary.outcomes += [
            sync.Outcome(name, sync.REFUSED, f"not pruned: {reason}")
            for name, reason in unprunable(output, summary.orphans).items()
        ]
    return summary


def unprunable(output: Path, names: list[str]) -> dict[str, str]:
    """Why each retired service cannot be removed safely (a link, or work of a person)."""
    from service_runbooks.fleet.check import drift

    reasons = {}
    for name in names:
        folder = output / name
        links = links_in(folder)
        manifest = read_manifest(folder) if not links else None
        if links:
            reasons[name] = f"it {links_refusal(links)}"
        elif manifest is None:
            reasons[name] = "its manifest cannot be read"
        else:
            rendered = set(manifest.files) | {CRUFT_FILE, MANIFEST}
            added = [
                p.relative_to(folder).as_posix()
                for p in folder.rglob("*")
                if p.is_file() and p.relative_to(folder).as_posix() not in rendered
            ]
            changed = drift(folder, manifest) + [f"{rel} (added)" for rel in sorted(added)]
            if changed:
                reasons[name] = f"changed here since rendered: {', '.join(changed)}"
    return reasons


def prune(output: Path, retired: list[str]) -> list[str]:
    """Remove the folders of retired services that hold only what was rendered; their names."""
    import shutil

    keep = unprunable(output, retired)
    removed = [name for name in retired if name not in keep]
    for name in removed:
        shutil.rmtree(output / name)
    return removed
