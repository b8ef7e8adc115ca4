"""``service-runbooks check``: services behind the fleet file or template, edited by hand, or
(``--stale``) due for review, or (``--drift --cluster``: cli/check_drift.py) contradicted by the
live objects, or (``--prometheus``: cli/check_prometheus.py) reading series Prometheus does not
have."""

from __future__ import annotations

import argparse
import sys

from service_runbooks.cli import check_drift, check_prometheus, options
from service_runbooks.errors import EXIT_FAILED, EXIT_OK


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "check", help="list services behind the fleet file or template, or edited by hand"
    )
    options.fleet_args(parser, output_required=False)  # --stale reads the fleet file alone
    options.shard(parser)
    parser.add_argument(
        "--stale",
        action="store_true",
        help="instead: list the services whose review is overdue (reviewed_on plus "
        "review_every_days, from the fleet file), or dated after today",
    )
    options.today_option(parser)
    check_drift.register_drift_options(parser)
    check_prometheus.register_prometheus_options(parser)
    parser.set_defaults(run=run, problems=problems)


def problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    if check_prometheus.prometheus_problems(args):
        return check_prometheus.prometheus_problems(args)
    if check_drift.drift_problems(args):
        return check_drift.drift_problems(args)
    if args.output is None and not args.stale:
        return [
            "--output: required (only check --stale, which reads the fleet file alone, "
            "goes without)"
        ]
    return []


def run(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.check import check_fleet, report, report_stale, reviews

    if args.prometheus is not None:
        return check_prometheus.run_prometheus(args)
    if args.drift:
        return check_drift.run_drift(args)
    if args.stale:
        late = report_stale(reviews(args.fleet, args.shard), options.today(args), sys.stdout)
        return EXIT_FAILED if late else EXIT_OK

    statuses = check_fleet(
        args.fleet, args.output, template_url=args.template_url, shard=args.shard
    )
    report(statuses, sys.stdout)
    return EXIT_OK if all(status.ok for status in statuses) else EXIT_FAILED
