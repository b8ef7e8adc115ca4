"""``check --drift`` from files: each service's answers against its sources as they are now.

A fleet entry written by ``discover`` keeps, in ``sources:``, where each answer was read
("<file or Kustomize root or chart>: <Kind>/<name> <field>"). The gate re-runs discovery over
those paths (each Kustomize root with the bases and components it builds on; relative to the
fleet file's folder, as discover wrote them), once for the whole fleet, finds each entry's
workload again (same file or root and kind; the same name first), and lists every answer whose
value the sources no longer give, as ``drift.py`` lists a cluster's: the answer, what the pages
say, what the sources say now, where.

For each rendered service it also checks what the commands of its pages and scripts act on
(objectcheck.py): every object they name is built by the manifests, and its selector selects its
workload's pods and no other's. Kustomize builds are cached under the output folder by their
inputs' digest, and what each service's commands name by its pages' digest (namingcache.py),
so a second run over unchanged sources and pages builds and parses nothing. Nothing else is
written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from service_runbooks.cruft_state import read_cruft_state
from service_runbooks.discovery import Discovery, discover, driftmemo
from service_runbooks.discovery.answers import ServiceAnswers
from service_runbooks.discovery.collect import KUSTOMIZATION_FILES
from service_runbooks.discovery.drift import NO_AUTOSCALER, Difference, ServiceDrift
from service_runbooks.discovery.facts import WorkloadFacts
from service_runbooks.discovery.filecache import FileCache
from service_runbooks.discovery.index import ObjectIndex
from service_runbooks.discovery.kustomize import BuildCache, _folder_entries
from service_runbooks.discovery.model import Limits
from service_runbooks.discovery.namingcache import naming_cache, reading
from service_runbooks.discovery.objectcheck import Named, Naming, check_named, selector_problems
from service_runbooks.discovery.safefs import read_bytes
from service_runbooks.discovery.yamlload import load_mapping
from service_runbooks.errors import TooLarge, YamlProblem
from service_runbooks.fleetfile import Entry

AGAINST = "the sources now say"
# Where the caches live in the output folder (a dot folder: not a service's): the Kustomize
# builds, and what each service's commands name (namingcache.py).
CACHE_FOLDER = ".service-runbooks-cache/builds"
NAMING_CACHE_FOLDER = ".service-runbooks-cache/commands"
RUNS_CACHE_FOLDER = ".service-runbooks-cache/runs"  # whole results (driftmemo.py)
# "<where>: <Kind>/<name> <field>", where <where> may end in how it was built.
_BUILT_BY = r"(?: \((?:kubectl kustomize[^)]*|helm template [^)]*)\))?"
_CITATION = re.compile(rf"^(?P<where>.+?){_BUILT_BY}: ")
_OBJECT = re.compile(rf"^(?P<where>.+?){_BUILT_BY}: (?P<kind>[A-Za-z]+)/(?P<name>\S+) ")
_LOOKED_UNDER = "no migration marker found under "


def cited_paths(source: str) -> list[str]:
    """The paths one ``sources:`` string names, as written (relative to the fleet file)."""
    if source.startswith(_LOOKED_UNDER):
        return [part.strip() for part in source[len(_LOOKED_UNDER) :].split(",") if part.strip()]
    paths = []
    for part in source.split("; "):
        match = _CITATION.match(part)
        if match:
            paths.append(match.group("where"))
    return paths


def rebased(source: str, rebase: Callable[[str], str | None]) -> str | None:
    """One ``sources:`` string with each path it names replaced by ``rebase(path)``; None when
    ``rebase`` gives None for one of them (or the string names none)."""
    if source.startswith(_LOOKED_UNDER):
        paths = [rebase(path) for path in cited_paths(source)]
        if not paths or None in paths:
            return None
        return _LOOKED_UNDER + ", ".join(str(path) for path in paths)
    parts = []
    for part in source.split("; "):
        match = _CITATION.match(part)
        where = rebase(match.group("where")) if match else None
        if match is None or where is None:
            return None
        parts.append(where + part[match.end("where") :])
    return "; ".join(parts)


def _kustomize_closure(folder: Path, seen: set[Path], limits: Limits) -> None:
    """The folder and every local folder its kustomization builds on."""
    if folder in seen or not folder.is_dir():
        return
    seen.add(folder)
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            try:
                data = load_mapping(
                    read_bytes(folder / name, limits.bytes_per_file, name), name, limits
                )
            except (YamlProblem, TooLarge, OSError):
                return  # discovery names the problem when it reads the root itself
            for _, value in _folder_entries(data):
                if isinstance(value, str) and "://" not in value:
                    _kustomize_closure(Path(os.path.realpath(folder / value)), seen, limits)
            return


def recorded_sources(entries: Iterable[Entry], base: Path, limits: Limits) -> list[Path]:
    """Every path the entries' ``sources:`` name that exists, with each Kustomize root's bases;
    a path inside another given folder is left out (it is read with it)."""
    found: set[Path] = set()
    for entry in entries:
        for source in entry.sources.values():
            for path in cited_paths(source):
                target = Path(os.path.realpath(base / path))
                if target.is_dir():
                    _kustomize_closure(target, found, limits)
                elif target.exists():
                    found.add(target)
    folders = {path for path in found if path.is_dir()}
    return sorted(path for path in found if not any(parent in folders for parent in path.parents))


def _object_of(entry: Entry) -> tuple[str, str, str] | None:
    """(where, kind, name) of the workload the entry's selector or kind was read from."""
    for answer in ("app_label_selector", "workload", "chart_workload", "service_name"):
        match = _OBJECT.match(entry.sources.get(answer, ""))
        if match:
            return match.group("where"), match.group("kind"), match.group("name")
    return None


def _object_key(service: ServiceAnswers) -> tuple[str, str, str] | None:
    for answer in ("app_label_selector", "workload", "chart_workload", "service_name"):
        match = _OBJECT.match(service.sources.get(answer, ""))
        if match:
            return match.group("where"), match.group("kind"), match.group("name")
    return None


Pair = tuple[WorkloadFacts, ServiceAnswers]


@dataclass
class Found:
    """The workloads discovered now, by where and kind they were read (looked up per entry)."""

    pairs: list[Pair]
    by_place: dict[tuple[str, str], list[Pair]]
    by_name: dict[str, list[Pair]]

    @classmethod
    def of(cls, pairs: list[Pair]) -> Found:
        by_place: dict[tuple[str, str], list[Pair]] = {}
        by_name: dict[str, list[Pair]] = {}
        for pair in pairs:
            key = _object_key(pair[1])
            if key is not None:
                by_place.setdefault((key[0], key[1]), []).append(pair)
            by_name.setdefault(pair[1].name or "", []).append(pair)
        return cls(pairs, by_place, by_name)


def match_entry(entry: Entry, found: Found) -> Pair | None:
    """The workload the entry was written for: read from the same file, root or chart, of the
    same kind; by name when several are, else the only one (a renamed workload)."""
    named = found.by_name.get(entry.name, [])
    fallback = named[0] if len(named) == 1 else None
    recorded = _object_of(entry)
    if recorded is None:
        return fallback
    where, kind, name = recorded
    same_place = found.by_place.get((where, kind), [])
    by_name = [pair for pair in same_place if pair[0].workload.name == name]
    if by_name:
        return by_name[0]
    if len(same_place) == 1:
        return same_place[0]
    return fallback


def _pairs(selector: str) -> set[str]:
    return {pair.strip() for pair in selector.split(",") if pair.strip()}


def compare_answers(entry: Entry, now: ServiceAnswers) -> list[Difference]:
    """Each answer the entry read from the sources that they no longer give."""
    differences = []
    for name, source in entry.sources.items():
        if name not in entry.answers:
            continue
        value = str(entry.answers[name])
        current = now.answers.get(name, now.proposed.get(name))
        where = now.sources.get(name) or now.proposed_sources.get(name) or source
        if current is None:
            reason = now.not_derived.get(name, "not derived any more")
            differences.append(Difference(name, value, f"nothing: {reason}", source, AGAINST))
        elif name == "app_label_selector" and _pairs(str(current)) == _pairs(value):
            continue
        elif str(current) != value:
            differences.append(Difference(name, value, repr(current), where, AGAINST))
    return differences + _autoscaler_added(entry, now)


def _autoscaler_added(entry: Entry, now: ServiceAnswers) -> list[Difference]:
    """An autoscaler the sources now give for a workload whose entry read none: the pages say
    the service has none (the scaling page patches none and scales the workload by hand, which
    the autoscaler undoes: it sets the replica count itself,
    https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#how-does-a-horizontalpodautoscaler-work),
    so it is drift too, though the entry never read it."""
    live = now.answers.get("hpa_name")
    if "hpa_name" in entry.sources or live is None:
        return []
    given = str(entry.answers.get("hpa_name") or "")
    if str(live) == given:
        return []
    where = now.sources.get("hpa_name", "")
    return [Difference("hpa_name", given or NO_AUTOSCALER, repr(live), where, AGAINST)]


@dataclass
class FileDrift:
    """The whole fleet's result, and what discovery read."""

    results: list[ServiceDrift]
    found: Discovery | None  # None when an unchanged run's result was recalled (driftmemo.py)


def _rendered_answers(output: Path, entry: Entry) -> dict[str, object]:
    """The answers the service's pages were rendered with (its .cruft.json), else the fleet's."""
    state = read_cruft_state(output / entry.name) or {}
    rendered = state.get("context", {}).get("cookiecutter") if isinstance(state, dict) else None
    if isinstance(rendered, dict):
        return rendered
    return dict(entry.answers)


def _namespace(output: Path, entry: Entry) -> str:
    return str(_rendered_answers(output, entry).get("namespace", ""))


def _object_differences(
    entry: Entry, output: Path, pair: Pair, found: Discovery, naming: Naming | None
) -> tuple[list[Difference], list[str]]:
    """``naming``: what the rendered service's commands name, None when it is not rendered."""
    if naming is None:
        return [], ["not rendered: its commands are not checked"]
    answers = _rendered_answers(output, entry)
    index = found.index or ObjectIndex([])
    gitops_given = "gitops_app" in entry.sources or "gitops" in entry.sources
    report = check_named(naming, index, gitops_given)
    differences = [
        Difference(
            "objects",
            f"{named.kind}/{named.name}",
            f"no {named.kind} {named.name!r} in namespace {named.namespace!r} in the manifests",
            named.where,
            AGAINST,
        )
        for named in _unique(report.missing)
    ]
    notes = [f"{report.found} object(s) its commands name are in the manifests"]
    if report.placeholders:
        notes.append(f"{len(_unique(report.placeholders))} object(s) named by the reader")
    if report.created:
        names = sorted({named.name for named in report.created})
        notes.append(f"created by the runbook itself: {', '.join(names)}")
    if report.gitops_not_given:
        names = sorted({f"{n.kind}/{n.name}" for n in report.gitops_not_given})
        notes.append(f"GitOps objects from sources not given: {', '.join(names)}")
    selector = str(answers.get("app_label_selector", ""))
    for problem, where in selector_problems(selector, pair[0].workload, index):
        differences.append(Difference("app_label_selector", selector, problem, where, AGAINST))
    return differences, notes


def _unique(items: list[Named]) -> list[Named]:
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for item in items:
        key = (item.kind, item.namespace, item.name)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def file_drift(
    entries: list[Entry], fleet: Path, output: Path, limits: Limits | None = None
) -> FileDrift:
    """Every entry's differences from its recorded sources; DiscoveryError when they cannot be
    read (a source gone is named there)."""
    limits = limits or Limits()
    base = Path(os.path.realpath(fleet.absolute().parent))
    recorded = [entry for entry in entries if entry.sources]
    sources = recorded_sources(recorded, base, limits)
    if not sources:
        none = ["its entry has no sources: (not written by discover); not checked"]
        results = [ServiceDrift(e.name, "(none)", notes=none, against="sources") for e in entries]
        return FileDrift(results, Discovery([], [], []))
    runs = FileCache(output / RUNS_CACHE_FOLDER, driftmemo.KIND, driftmemo.VERSION, ".json")
    caches = output / CACHE_FOLDER.split("/", 1)[0]
    rendered = [entry for entry in entries if (output / entry.name).is_dir()]
    jobs = [(output / entry.name, _namespace(output, entry)) for entry in rendered]
    # Each page is read once, in workers: its digest makes the run key, and what it names is
    # kept. Discovery runs here meanwhile (the builds are cached): a run recalled below wastes
    # it, one that is not (a page or source changed: the gate's usual case) waits less.
    with reading(jobs, naming_cache(output / NAMING_CACHE_FOLDER)) as read_pages:
        found = discover(sources, base, limits, BuildCache(output / CACHE_FOLDER))
        pages = dict(zip((entry.name for entry in rendered), read_pages(), strict=True))
    digests = {name: read.digests for name, read in pages.items()}
    key = driftmemo.run_key(entries, base, output, sources, caches, digests)
    kept = driftmemo.recall(runs, key, [entry.name for entry in entries])
    if kept is not None:
        return FileDrift(kept, None)
    pairs = Found.of(list(zip(found.workloads, found.services, strict=True)))
    shown = ", ".join(found.sources)
    # by the entry's position, not its name: each entry is checked as it is
    matched = [match_entry(entry, pairs) if entry.sources else None for entry in entries]
    results = []
    for position, entry in enumerate(entries):
        result = ServiceDrift(entry.name, shown, against="sources")
        if not entry.sources:
            result.notes.append("its entry has no sources: (not written by discover); not checked")
            results.append(result)
            continue
        pair = matched[position]
        if pair is None:
            workload = _object_of(entry)
            what = f"{workload[1]}/{workload[2]} in {workload[0]}" if workload else entry.name
            result.differences.append(
                Difference("workload", what, "no such workload now", shown, AGAINST)
            )
            results.append(result)
            continue
        result.differences += compare_answers(entry, pair[1])
        read = pages.get(entry.name)
        naming = read.naming if read is not None else None
        differences, notes = _object_differences(entry, output, pair, found, naming)
        result.differences += differences
        result.notes += notes
        results.append(result)
    driftmemo.keep(runs, key, results)
    return FileDrift(results, found)
