"""``service-runbooks discover``: a fleet file from a service's deployment sources.

A thin layer over ``service_runbooks.discovery``: it reads the sources, writes the fleet file
(standard output, or ``--output FLEET``) and says on standard error what was not derived. The
paths in each entry's ``sources:`` are relative to the fleet file's folder (the current folder
for standard output), so they stay true wherever the file is read from.

Discovery never writes a fact it did not read. What a fleet file must give that no manifest
holds (``reviewed_on``: the day a person last reviewed the runbooks) and the deciding answers it
could not derive (``Rule.deciding``: ``gitops`` when no GitOps object is in the sources, say)
are listed at the top of the file, with a commented ``defaults:`` block to fill in, and on
standard error: ``render`` refuses the file, naming each, until they are given.

With ``--cluster`` the answers are read from the live objects instead (``kubectl get -o json``
only, cli/discover_cluster.py), through the same pipeline, and the positionals are workload NAMEs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from service_runbooks.cli import discover_cluster, options
from service_runbooks.errors import EXIT_OK, NothingDiscovered, WrittenMeanwhile

if TYPE_CHECKING:
    from service_runbooks.discovery import Discovery, ServiceAnswers
    from service_runbooks.rules import Rule

# Why each answer a fleet file must give but no deployment source holds is left to a person.
NEVER_DERIVED = {
    "reviewed_on": "the day a person last reviewed the runbooks against the running service; "
    "discovery never sets it",
}


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "discover",
        help="write a fleet file from a service's deployment sources (manifests, Kustomize, "
        "catalog-info.yaml, migration files)",
        description="Read deployment sources (plain manifests, Kustomize folders built with "
        "kubectl kustomize, catalog-info.yaml, the application's migration files) and write a "
        "fleet file: one entry per Deployment, StatefulSet or Argo Rollouts Rollout, with the "
        "answers derived and where each was read (sources:). The answers not derived are "
        "listed on standard error and as comments. With --cluster, the same from the live "
        "objects of a cluster (kubectl get only; it never changes anything). Exit 2: a source "
        "or the cluster cannot be read, no workload was found, or --output exists (nothing "
        "written).",
    )
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE|NAME",
        help="a folder or file of manifests, a Kustomize folder, a catalog-info.yaml, or the "
        "application's repository; with --cluster, the names of the workloads to read "
        "(default: every workload)",
    )
    parser.add_argument(
        "--output",
        "-o",
        dest="fleet_out",
        type=Path,
        metavar="FLEET",
        help="write the fleet file here (default: standard output); its sources: are "
        "relative to its folder",
    )
    parser.add_argument(
        "--force", action="store_true", help="with --output: replace an existing file"
    )
    parser.add_argument(
        "--build-cache",
        type=Path,
        metavar="DIR",
        help="keep each Kustomize build here by its inputs' digest, and reuse it (`check "
        "--drift` keeps its own in OUTPUT/.service-runbooks-cache/builds: give that folder to "
        "share the builds)",
    )
    discover_cluster.register_cluster_options(parser)
    parser.set_defaults(run=run, problems=problems)


def problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    """Sources are needed without --cluster; the cluster's options only with it; --output must
    be a file that does not exist yet (unless --force), in a folder that does."""
    mode = _mode_problems(args)
    fleet: Path | None = args.fleet_out
    if mode:
        return mode
    if fleet is None:
        return ["--force: only with --output"] if args.force else []
    if fleet.is_dir():
        return [f"--output: {fleet} is a folder; name the fleet file to write"]
    if os.path.lexists(fleet) and not args.force:
        return [f"--output: {fleet} already exists; nothing is written over it (--force does)"]
    if not fleet.absolute().parent.is_dir():
        return [f"--output: the folder {fleet.absolute().parent} does not exist"]
    return []


def _mode_problems(args: argparse.Namespace) -> list[str]:
    if args.cluster and args.build_cache:
        return ["--build-cache: only without --cluster (a cluster's objects are not built)"]
    if args.cluster:
        return []
    if not args.sources:
        return ["SOURCE: give at least one folder or file to read (or --cluster)"]
    cluster_only = {"--context": args.context, "--namespace": args.namespace}
    cluster_only["--argocd-namespace"] = args.argocd_namespace
    return [f"{flag}: only with --cluster" for flag, value in cluster_only.items() if value]


def _lacking(service: ServiceAnswers) -> list[str]:
    """The answers render requires that this discovered entry does not give."""
    from service_runbooks.rules import defaults_from_the_clock, missing_deciding

    clock = [name for name in defaults_from_the_clock() if name not in service.answers]
    return missing_deciding(service.answers) + clock


def still_to_give(services: Sequence[ServiceAnswers]) -> dict[str, list[str]]:
    """Each answer render requires and discovery did not derive -> the entries lacking it."""
    lacking: dict[str, list[str]] = {}
    for service in services:
        for name in _lacking(service):
            lacking.setdefault(name, []).append(service.name or "(no name)")
    return lacking


def _why(name: str, services: Sequence[ServiceAnswers]) -> str:
    """Why ``name`` was not derived: the fixed reason, else the first entry's own reason."""
    if name in NEVER_DERIVED:
        return NEVER_DERIVED[name]
    reasons = [s.not_derived[name] for s in services if name in s.not_derived]
    return reasons[0] if len(set(reasons)) == 1 else "not derived; each entry says why"


def gap_lines(found: Discovery) -> list[str]:
    """What render still needs, one line per answer: which entries lack it, and why."""
    lacking = still_to_give(found.services)
    lines = []
    for name, names in lacking.items():
        who = "every entry" if len(names) == len(found.services) else ", ".join(names)
        lines.append(f"{name} ({who}): {_why(name, found.services)}")
    return lines


def _hint(rule: Rule) -> str:
    """What to write: a choice's values, else the rule's example."""
    if rule.choices:
        return "one of: " + ", ".join(rule.choices)
    return f"e.g. {rule.example}"


def with_gaps(found: Discovery) -> str:
    """The fleet file: discovery's text with, before ``services:``, what is still to give and a
    commented ``defaults:`` block for the answers every entry lacks."""
    from service_runbooks.rules import RULES_BY_FIELD

    lines = found.fleet_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("services:"))
    gaps = gap_lines(found)
    block: list[str] = []
    if gaps:
        block.append("# Still to give: `service-runbooks render` refuses this file until then.")
        block += [f"#   {_comment(line)}" for line in gaps]
        every = [
            name
            for name, names in still_to_give(found.services).items()
            if len(names) == len(found.services)
        ]
        if every:  # left empty: uncommented as it is, render refuses it by the rule it names
            block.append("# defaults:")
            block += [f'#   {name}: ""  # {_hint(RULES_BY_FIELD[name])}' for name in every]
    return "\n".join(lines[:at] + block + lines[at:]) + "\n"


def _comment(text: str) -> str:
    """One line of comment text: control characters and non-ASCII escaped, never a newline."""
    return json.dumps(text, ensure_ascii=True)[1:-1]


def _write(fleet: Path, text: str, force: bool) -> None:
    """Write the whole file at once; without ``force``, never over a file that appeared since
    the options were checked (a hard link fails when the name exists, where a rename would
    replace it: https://man7.org/linux/man-pages/man2/link.2.html, EEXIST)."""
    from service_runbooks.fleet.workdir import write_atomic

    if force:
        write_atomic(fleet, text)
        return
    staged = fleet.with_name(f".{fleet.name}.discover.tmp")
    write_atomic(staged, text)
    try:
        os.link(staged, fleet)
    except FileExistsError:
        raise WrittenMeanwhile(str(fleet)) from None
    finally:
        staged.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    """DiscoveryError (exit 2) names every source that cannot be read; nothing is written."""
    from service_runbooks.discovery import BuildCache, discover

    fleet: Path | None = args.fleet_out
    base = fleet.absolute().parent if fleet is not None else Path.cwd()
    if args.cluster:
        found = discover_cluster.discover(args)
    else:
        cache = BuildCache(args.build_cache) if args.build_cache else None
        found = discover([Path(source) for source in args.sources], base=base, cache=cache)
    if not found.services:
        raise NothingDiscovered(", ".join(found.sources))
    text = with_gaps(found)
    if fleet is None:
        sys.stdout.write(text)
    else:
        _write(fleet, text, args.force)
    report = [f"Discovered {len(found.services)} service(s)" + (f" into {fleet}" if fleet else "")]
    if not_derived := found.not_derived_lines():
        report += ["Not derived (give these by hand where they apply):"]
        report += [f"  {line}" for line in not_derived]
    if gaps := gap_lines(found):
        report += ["Still to give (`service-runbooks render` refuses the file until then):"]
        report += [f"  {line}" for line in gaps]
    print("\n".join(report), file=sys.stderr)
    return EXIT_OK
