"""``service-runbooks build``: one TechDocs site per service, built in parallel, plus an index.

Each service's site is built on its own (``mkdocs build --strict`` through MkDocs' Python API,
with the service's own mkdocs.yml, so techdocs-core applies), into a staging folder, its pages
minified (minify.py), and swapped in only when the build succeeded. A digest of the service's
docs sources and the tools is kept per site, so an unchanged service is not rebuilt. Work and
output grow linearly with the number of services, unlike one site holding them all, where every
page carries the whole navigation.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sysconfig
import tempfile
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TextIO

from service_runbooks.drill.report import LastDrill
from service_runbooks.fleet import minify
from service_runbooks.fleet.index_page import INDEX_HTML, ROLLBACK_PAGE, read_card, write_index
from service_runbooks.fleet.progress import progress_bar
from service_runbooks.fleet.shard import Shard, in_shard
from service_runbooks.fleet.shared_assets import share_identical_files
from service_runbooks.fleet.techdocs_metadata import add_generate_fields, lacks_generate_fields
from service_runbooks.fleet.workdir import (
    MANIFEST,
    exclusive,
    is_service_dir,
    links_in,
    links_refusal,
    read_fleet_services,
    write_atomic,
)

STATE_DIR = ".service-runbooks"  # inside the site folder: digests and staging
BUILT, UNCHANGED, FAILED = "built", "unchanged", "failed"
TOOLS = ("mkdocs", "mkdocs-techdocs-core", "mkdocs-material", "minify-html")


@dataclass(frozen=True)
class BuildOutcome:
    name: str
    status: str
    detail: str = ""


@dataclass
class BuildSummary:
    outcomes: list[BuildOutcome] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    index: Path | None = None

    @property
    def ok(self) -> bool:
        return all(outcome.status != FAILED for outcome in self.outcomes)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    def report(self, out: TextIO) -> None:
        for warning in self.warnings:
            print(f"warning: {warning}", file=out)
        if self.retired:
            print(
                f"not published: {', '.join(self.retired)} (retired: no longer in the fleet "
                "file; `service-runbooks render --prune` removes their folders)",
                file=out,
            )
        for outcome in self.outcomes:
            if outcome.status == FAILED:
                print(f"   failed  {outcome.name}: {outcome.detail}", file=out)
        if self.removed:
            print(f"removed the sites of {', '.join(self.removed)} (no longer rendered)", file=out)
        print(
            f"{len(self.outcomes)} sites: {self.count(BUILT)} built, "
            f"{self.count(UNCHANGED)} unchanged, {self.count(FAILED)} failed; index: {self.index}",
            file=out,
        )


def _tools_digest() -> str:
    """The tools' versions, and the minifier's options: a change to either rebuilds every site."""
    tools = ",".join(f"{tool}={version(tool)}" for tool in TOOLS)
    return f"{tools};minify={sorted(minify.OPTIONS.items())}"


def source_digest(service: Path, tools: str) -> str:
    """A digest of everything a service's site is built from: mkdocs.yml, docs/, the tools."""
    digest = hashlib.sha256(tools.encode())
    files = [service / "mkdocs.yml"]
    docs = service / "docs"
    if docs.is_dir():
        files += sorted(p for p in docs.rglob("*") if p.is_file())
    for path in files:
        digest.update(path.relative_to(service).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def discover(services: Path) -> list[Path]:
    """Service folders with a mkdocs.yml, by name, and links in their place (to refuse them)."""
    return sorted(
        p
        for p in services.iterdir()
        if (p.is_symlink() and not p.name.startswith("."))
        or (is_service_dir(p) and (p / "mkdocs.yml").is_file())
    )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def mkdocs_build(config_file: Path, site_dir: Path) -> list[str]:
    """``mkdocs build --strict -f config_file -d site_dir``, its pages minified (minify.py); the
    warnings, raising on failure."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    collect = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collect)
    try:
        config = load_config(config_file=str(config_file), site_dir=str(site_dir), strict=True)
        config.plugins[minify.PLUGIN_NAME] = minify.MinifyPages()  # registers its events
        build(config)
    except BaseException as error:
        detail = "; ".join(collect.messages[-5:]) or str(error)
        raise RuntimeError(f"{error} {detail}".strip()) from None
    finally:
        logger.removeHandler(collect)
    return collect.messages


def _swap_in(built: Path, target: Path, trash: Path) -> None:
    """Replace ``target`` with ``built``: two renames, the old site removed afterwards."""
    old = None
    if target.exists():
        old = trash / f"{target.name}.{os.getpid()}"
        os.rename(target, old)
    os.rename(built, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_site(service: Path, site: Path, digest: str) -> BuildOutcome:
    """Build one service's site and swap it in (runs in a worker process)."""
    state = site / STATE_DIR
    scratch = Path(tempfile.mkdtemp(prefix=f"{service.name}.", dir=state / "staging"))
    try:
        mkdocs_build(service / "mkdocs.yml", scratch / "site")
        add_generate_fields(scratch / "site", etag=digest)  # what techdocs-cli generate adds
        _swap_in(scratch / "site", site / service.name, scratch)
        write_atomic(state / "digests" / f"{service.name}.sha256", digest + "\n")
        return BuildOutcome(service.name, BUILT)
    except Exception as error:
        return BuildOutcome(service.name, FAILED, str(error))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _init_worker() -> None:
    """Set up a build worker: its builds share compiled theme templates and the theme's file list.

    Every build of a run uses the same installed theme, so compiling its templates and listing
    its files once per worker instead of once per service changes nothing in the output
    (``patches``).
    """
    from service_runbooks import patches
    from service_runbooks.fleet.workers import die_with_parent

    die_with_parent()
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    patches.install_jinja_memos()
    installed = [Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")]
    patches.list_installed_templates_once(installed)
    patches.skip_dot_paths_for_theme_files()
    patches.one_emoji_index_per_worker()


def _stored_digest(site: Path, name: str) -> str | None:
    try:
        return (site / STATE_DIR / "digests" / f"{name}.sha256").read_text().strip()
    except OSError:
        return None


def _remove_stale(site: Path, names: set[str], shard: Shard | None = None) -> list[str]:
    """Sites built earlier for services that are gone (only what this command built, and only
    of ``shard``'s services: another shard's sites are not ours to remove)."""
    removed = []
    digests = site / STATE_DIR / "digests"
    for stored in sorted(digests.glob("*.sha256")):
        name = stored.name.removesuffix(".sha256")
        if name not in names and in_shard(shard, name):
            shutil.rmtree(site / name, ignore_errors=True)
            stored.unlink()
            removed.append(name)
    return removed


def build_sites(
    services: Path,
    site: Path,
    jobs: int | None = None,
    progress: bool | None = None,
    shard: Shard | None = None,
    today: date | None = None,
    drills: Mapping[str, LastDrill] | None = None,
) -> BuildSummary:
    """Build the sites whose sources changed, then the index of every service (of ``shard``'s
    services only, with a shard: ``service-runbooks index`` merges the shards' indexes); the
    index marks reviews overdue on ``today``, UTC's today by default, and shows each service's
    last drill from ``drills`` (``--drill-reports``)."""
    services, site = services.absolute(), site.absolute()
    site.mkdir(parents=True, exist_ok=True)
    state = site / STATE_DIR
    state.mkdir(exist_ok=True)
    # One build of a site folder at a time: a second would empty the first's staging folder,
    # and both would link and clean the shared store.
    with exclusive(state / "build.lock", site):
        return _build_locked(services, site, state, jobs, progress, shard, today, drills)


def _build_locked(
    services: Path,
    site: Path,
    state: Path,
    jobs: int | None,
    progress: bool | None,
    shard: Shard | None,
    today: date | None,
    drills: Mapping[str, LastDrill] | None = None,
) -> BuildSummary:
    shutil.rmtree(state / "staging", ignore_errors=True)
    (state / "staging").mkdir(parents=True)
    (state / "digests").mkdir(exist_ok=True)
    found = [f for f in discover(services) if in_shard(shard, f.name)]
    in_fleet = read_fleet_services(services)
    retired = [
        f.name
        for f in found
        if in_fleet is not None and f.name not in in_fleet and (f / MANIFEST).is_file()
    ]
    linked = {f.name: links_in(f) for f in found}
    linked = {name: links for name, links in linked.items() if links}
    folders = [f for f in found if f.name not in retired and f.name not in linked]
    tools = _tools_digest()
    digests = {folder.name: source_digest(folder, tools) for folder in folders}
    todo = [
        f
        for f in folders
        if digests[f.name] != _stored_digest(site, f.name)
        or not (site / f.name).is_dir()
        or lacks_generate_fields(site / f.name)  # built before build added them
    ]
    outcomes = {f.name: BuildOutcome(f.name, UNCHANGED) for f in folders if f not in todo}
    if todo:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        with (
            ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool,
            progress_bar(len(todo), "building sites", progress) as advance,
        ):
            futures = [pool.submit(build_site, f, site, digests[f.name]) for f in todo]
            for future in as_completed(futures):
                outcome = future.result()
                outcomes[outcome.name] = outcome
                advance(outcome.name)
    for name, links in linked.items():  # its last site, if any, stays (as for a failed build)
        outcomes[name] = BuildOutcome(name, FAILED, f"not built: it {links_refusal(links)}")
    shown = [f for f in found if f.name not in retired]
    summary = BuildSummary([outcomes[f.name] for f in shown], retired=retired)
    summary.removed = _remove_stale(site, set(digests) | set(linked), shard)
    shutil.rmtree(state / "staging", ignore_errors=True)
    summary.warnings += share_identical_files(site, [f.name for f in shown], state).warnings
    cards = []
    for folder in shown:
        built = site / folder.name
        has_rollback = (built / ROLLBACK_PAGE / "index.html").is_file()
        card, odd = read_card(folder, (built / "index.html").is_file(), has_rollback)
        cards.append(card)
        summary.warnings += [f"{folder.name}: {warning}; its card is bare" for warning in odd]
    write_index(site, cards, today or datetime.now(UTC).date(), drills)
    summary.index = site / INDEX_HTML
    return summary
