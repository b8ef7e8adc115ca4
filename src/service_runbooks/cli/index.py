"""``service-runbooks index``: the fleet's index from the indexes of ``build --shard`` runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from service_runbooks.cli import options
from service_runbooks.errors import EXIT_OK


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "index", help="merge the indexes of `build --shard` runs into the fleet's index"
    )
    parser.add_argument(
        "shards",
        type=Path,
        nargs="+",
        metavar="SHARD",
        help="a shard's services.json, or the site folder `build --shard` wrote it into",
    )
    parser.add_argument(
        "--site", type=Path, required=True, help="where the fleet's index.html goes"
    )
    options.today_option(parser)  # the merged index marks reviews overdue as of this day
    options.drill_reports(parser)
    parser.set_defaults(run=run, problems=problems)


def problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    return options.drill_reports_problems(args)


def run(args: argparse.Namespace) -> int:
    """ShardIndexError (exit 2, nothing written) when a shard's index cannot be merged."""
    from service_runbooks.fleet.shard_indexes import merge_indexes

    cards = merge_indexes(args.shards, args.site, options.today(args), options.last_drills(args))
    print(f"index: {len(cards)} services from {len(args.shards)} shard(s): {args.site}")
    return EXIT_OK
