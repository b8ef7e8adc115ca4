"""``service-runbooks check``: which services are behind the fleet file or the template, and
which were changed by hand since they were rendered. Reads only; exits non-zero on any.

``check --stale`` answers another question, from the fleet file alone (the source of truth of
review dates): which services' reviews are overdue. It depends on the day, so plain ``check``
(say, on every pull request) never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TextIO

from service_runbooks.cruft_state import (
    Manifest,
    answers_digest,
    fingerprint,
    is_skipped,
    read_cruft_state,
    read_manifest,
    skip_list,
    stamp_dict,
    tree_digests,
)
from service_runbooks.fleet.shard import Shard, in_shard, select
from service_runbooks.fleet.workdir import MANIFEST, is_service_dir, links_in, links_refusal
from service_runbooks.fleetfile import Entry, load_fleet
from service_runbooks.rules import default_answer, review_due, review_state
from service_runbooks.template_source import (
    TEMPLATE_ROOT,
    Stamp,
    engine_id,
    git_stamp,
    tree_digest,
)


@dataclass
class Status:
    """One service's standing: empty lists mean up to date."""

    name: str
    behind: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    refused: str = ""  # why `render` would refuse it as it stands (a symbolic link)
    retired: bool = False  # rendered here, but no longer in the fleet file

    @property
    def ok(self) -> bool:
        return not (self.behind or self.drifted or self.refused or self.retired)


def drift(service: Path, manifest: Manifest) -> list[str]:
    """Rendered files that were edited or deleted since (files people added, and files in
    cruft's ``skip``, are not drift)."""
    current = tree_digests(service)
    skip = skip_list(read_cruft_state(service))
    changed = []
    for rel, digest in manifest.files.items():
        if is_skipped(rel, skip):
            continue
        if rel not in current:
            changed.append(f"{rel} (deleted)")
        elif current[rel] != digest:
            changed.append(f"{rel} (edited)")
    return changed


def _behind(manifest: Manifest, entry: Entry, tree: str, engine: str, stamp: Stamp) -> list[str]:
    reasons = []
    if manifest.template_tree != tree:
        reasons.append("the template changed since it was rendered")
    if answers_digest(manifest.answers) != answers_digest(entry.answers):
        changed = sorted(
            key
            for key in set(manifest.answers) | set(entry.answers)
            if manifest.answers.get(key) != entry.answers.get(key)
        )
        reasons.append(f"its answers changed in the fleet file ({', '.join(changed)})")
    if not reasons and manifest.fingerprint != fingerprint(tree, entry.answers, engine):
        reasons.append("it was rendered by another version of the renderer")
    if not reasons and manifest.stamp != stamp_dict(stamp):
        reasons.append(
            f"the template moved to commit {str(stamp.commit)[:12]} (same files; "
            "`render` re-stamps .cruft.json)"
        )
    if not reasons and manifest.sources != entry.sources:
        reasons.append(
            "its sources: changed in the fleet file (same files; `render` records them in "
            f"{MANIFEST})"
        )
    return reasons


def service_status(entry: Entry, output: Path, tree: str, engine: str, stamp: Stamp) -> Status:
    service = output / entry.name
    status = Status(entry.name)
    links = links_in(service)
    if links:  # what render says of it; nothing is read through a link
        status.refused = links_refusal(links)
        return status
    manifest = read_manifest(service)
    if manifest is None:
        status.behind.append(
            "not rendered yet" if not service.exists() else "not rendered by service-runbooks"
        )
        return status
    status.behind += _behind(manifest, entry, tree, engine, stamp)
    status.drifted += drift(service, manifest)
    return status


def check_fleet(
    fleet: Path,
    output: Path,
    template: Path = TEMPLATE_ROOT,
    template_url: str | None = None,
    shard: Shard | None = None,
) -> list[Status]:
    """The standing of every service in ``fleet`` (or in its ``shard``); FleetError when the
    file itself is bad. Retired means not in the whole file, reported by the name's shard."""
    entries = load_fleet(fleet)
    tree, engine = tree_digest(template), engine_id()
    stamp = git_stamp(template, template_url)
    mine = select(shard, entries, lambda entry: entry.name)
    statuses = [service_status(entry, output, tree, engine, stamp) for entry in mine]
    gone = [name for name in retired(output, entries) if in_shard(shard, name)]
    return statuses + [Status(name, retired=True) for name in gone]


def retired(output: Path, entries: list[Entry]) -> list[str]:
    """Services rendered into ``output`` that the fleet file no longer names."""
    if not output.is_dir():
        return []
    names = {entry.name for entry in entries}
    return sorted(
        p.name
        for p in output.iterdir()
        if is_service_dir(p) and p.name not in names and (p / MANIFEST).is_file()
    )


def report(statuses: list[Status], out: TextIO) -> None:
    for status in statuses:
        if status.refused:
            print(f"  refused  {status.name}: {status.refused}", file=out)
        if status.retired:
            print(
                f"  retired  {status.name}: no longer in the fleet file (`build` does not "
                "publish it; `render --prune` removes its folder)",
                file=out,
            )
        for reason in status.behind:
            print(f"   behind  {status.name}: {reason}", file=out)
        if status.drifted:
            print(f"  drifted  {status.name}: changed here since rendered:", file=out)
            for name in status.drifted:
                print(f"           - {name}", file=out)
    behind = sum(bool(s.behind) for s in statuses)
    drifted = sum(bool(s.drifted) for s in statuses)
    current = sum(s.ok for s in statuses)
    refused = sum(bool(s.refused) for s in statuses)
    retired_ = sum(s.retired for s in statuses)
    line = f"{len(statuses)} services: {current} up to date, {behind} behind, {drifted} drifted"
    line += f", {refused} refused" if refused else ""
    print(line + (f", {retired_} retired" if retired_ else ""), file=out)


@dataclass(frozen=True)
class Review:
    """One service's review dates, as the fleet file records them."""

    name: str
    reviewed_on: date
    every_days: str
    due: date

    def state(self, today: date) -> str:
        """ "overdue", "ahead" (dated after today) or "in time" (rules.review_state)."""
        return review_state(self.reviewed_on, self.due, today)


def reviews(fleet: Path, shard: Shard | None = None) -> list[Review]:
    """Every service's review dates (or its ``shard``'s services'); FleetError when the file is
    bad (an invalid date too): the file is read and checked whole, as for every shard."""
    return [
        Review(
            entry.name,
            date.fromisoformat(entry.answers["reviewed_on"]),
            entry.answers.get("review_every_days", str(default_answer("review_every_days"))),
            review_due(entry.answers),
        )
        for entry in select(shard, load_fleet(fleet), lambda entry: entry.name)
    ]


def report_stale(found: list[Review], today: date, out: TextIO) -> bool:
    """Print the overdue reviews and those dated ahead, then a count; True when there is any."""
    late = [review for review in found if review.state(today) == "overdue"]
    ahead = [review for review in found if review.state(today) == "ahead"]
    for review in sorted(late, key=lambda r: (r.due, r.name)):
        print(
            f"  overdue  {review.name}: review due {review.due.isoformat()}, "
            f"{(today - review.due).days} day(s) ago (reviewed_on {review.reviewed_on.isoformat()}"
            f", every {review.every_days} days)",
            file=out,
        )
    for review in ahead:
        print(
            f"    ahead  {review.name}: reviewed_on {review.reviewed_on.isoformat()} is later than "
            f"today ({today.isoformat()}) in every time zone; a typo?",
            file=out,
        )
    in_time = len(found) - len(late) - len(ahead)
    line = f"{len(found)} services as of {today.isoformat()}: {len(late)} overdue"
    line += f", {len(ahead)} dated after today" if ahead else ""
    print(f"{line}, {in_time} reviewed in time", file=out)
    return bool(late or ahead)
