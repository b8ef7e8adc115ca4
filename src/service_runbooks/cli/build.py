"""``service-runbooks build``: each service's TechDocs site (changed ones only) and an index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service_runbooks.cli import options
from service_runbooks.errors import EXIT_FAILED, EXIT_OK


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "build", help="build each service's TechDocs site (changed ones only) and an index"
    )
    parser.add_argument("services", type=Path, help="the folder `render` wrote into")
    parser.add_argument("--site", type=Path, required=True, help="where the sites go")
    options.jobs(parser)
    options.today_option(parser)  # the index marks reviews overdue as of this day
    options.shard(parser)
    options.drill_reports(parser)
    parser.add_argument(
        "--built-list",
        type=Path,
        metavar="FILE",
        help="write the names of the sites this run built (changed ones), one a line",
    )
    parser.set_defaults(run=run, problems=problems)


def problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    mine = []
    if not args.services.is_dir() and not found:
        mine.append(f"SERVICES: {args.services} is not a folder (`render` writes it)")
    mine += options.drill_reports_problems(args)
    if args.built_list is not None and args.built_list.is_dir():
        mine.append(f"--built-list: {args.built_list} is a folder, not a file")
    return mine


def run(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.build import BUILT, build_sites
    from service_runbooks.fleet.workdir import write_atomic

    summary = build_sites(
        args.services,
        args.site,
        jobs=args.jobs,
        shard=args.shard,
        today=options.today(args),
        drills=options.last_drills(args),
    )
    summary.report(sys.stdout)
    if args.built_list is not None:
        built = [outcome.name for outcome in summary.outcomes if outcome.status == BUILT]
        args.built_list.absolute().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.built_list.absolute(), "".join(f"{name}\n" for name in built))
    return EXIT_OK if summary.ok else EXIT_FAILED
