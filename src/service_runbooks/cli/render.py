"""``service-runbooks render``: render every service of a fleet file (skips unchanged ones)."""

from __future__ import annotations

import argparse
import sys

from service_runbooks.cli import options
from service_runbooks.errors import EXIT_FAILED, EXIT_OK


def prune_and_shard(parser: argparse.ArgumentParser) -> None:
    """The options ``render`` shares with ``update``."""
    options.shard(parser)
    parser.add_argument(
        "--prune",
        action="store_true",
        help="remove the folders of services no longer in the fleet file (retired), "
        "unless they hold changes made here",
    )


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "render", help="render every service of a fleet file (skips unchanged ones)"
    )
    options.fleet_args(parser)
    options.jobs(parser)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="merge template changes into files edited by hand (cruft update) instead of "
        "refusing those services",
    )
    parser.add_argument(
        "--hooks-subprocess",
        action="store_true",
        help="run the template's hooks in a new interpreter per service, as cookiecutter does "
        "(slower; same result)",
    )
    prune_and_shard(parser)
    parser.set_defaults(run=run, problems=options.no_problems)


def run(args: argparse.Namespace) -> int:
    return render_fleet(args, merge=args.merge)


def render_fleet(args: argparse.Namespace, merge: bool) -> int:
    from service_runbooks.fleet import lastrun
    from service_runbooks.fleet.report import UNCHANGED, summary_line
    from service_runbooks.template_source import TEMPLATE_ROOT

    # The no-op case is answered before the renderer (and YAML, cookiecutter...) is loaded;
    # --prune always looks at the folder.
    names = None
    if not args.prune:
        names = lastrun.unchanged(
            args.fleet, args.output, TEMPLATE_ROOT, args.template_url, args.shard
        )
    if names is not None:
        print(summary_line([UNCHANGED] * len(names)))
        return EXIT_OK
    from service_runbooks.fleet.render import Options, render_fleet

    settings = Options(
        merge=merge,
        jobs=args.jobs,
        template_url=args.template_url,
        hooks_in_process=not getattr(args, "hooks_subprocess", False),
        prune=args.prune,
        shard=args.shard,
    )
    summary = render_fleet(args.fleet, args.output, settings)
    summary.report(sys.stdout)
    return EXIT_OK if summary.ok else EXIT_FAILED
