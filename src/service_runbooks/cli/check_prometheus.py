"""``service-runbooks check --prometheus URL``: each rendered service's rules against the series
that Prometheus has (fleet/prometheus_check.py).

``register_prometheus_options(parser)`` adds the option to ``check``, ``prometheus_problems(args)``
checks it with the others, ``run_prometheus(args)`` runs it.
"""

from __future__ import annotations

import argparse
import sys

from service_runbooks.errors import EXIT_FAILED, EXIT_OK


def register_prometheus_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("prometheus: the series the alerts read")
    group.add_argument(
        "--prometheus",
        metavar="URL",
        help="instead: ask the Prometheus at URL (http:// or https://, its HTTP API) whether "
        "every series each rendered alert and recording rule reads exists for its service; "
        "name the rule, the metric and the part (metric name, job, namespace label, error "
        "label) that matches nothing",
    )


def prometheus_problems(args: argparse.Namespace) -> list[str]:
    if args.prometheus is None:
        return []
    if args.drift or args.stale:
        return ["--prometheus, --drift, --stale: one question at a time"]
    if args.output is None:
        return ["--output: required with --prometheus (the rendered services' rules are read)"]
    return []


def run_prometheus(args: argparse.Namespace) -> int:
    """Every selector that finds nothing on stdout, by service; exit 1 when one must exist."""
    from service_runbooks.fleet.prometheus_check import Prometheus, check_service, report
    from service_runbooks.fleet.shard import select
    from service_runbooks.fleetfile import load_fleet

    prometheus = Prometheus(args.prometheus)
    entries = select(args.shard, load_fleet(args.fleet), lambda entry: entry.name)
    results = [check_service(prometheus, e.name, args.output / e.name) for e in entries]
    report(results, args.prometheus, sys.stdout)
    return EXIT_FAILED if any(result.failed for result in results) else EXIT_OK
