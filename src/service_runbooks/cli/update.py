"""``service-runbooks update``: ``render --merge``, bringing services up to date."""

from __future__ import annotations

import argparse

from service_runbooks.cli import options, render


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "update", help="bring services up to date, merging into local edits (render --merge)"
    )
    options.fleet_args(parser)
    options.jobs(parser)
    render.prune_and_shard(parser)
    parser.set_defaults(run=run, problems=options.no_problems)


def run(args: argparse.Namespace) -> int:
    return render.render_fleet(args, merge=True)
