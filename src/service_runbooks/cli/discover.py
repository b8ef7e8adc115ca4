"""``service-runbooks discover``: the answers of a fleet file, read from what is deployed.

This module holds the cluster mode only (``--cluster``, cli/discover_cluster.py); discovery from
files shares the parser.
"""

from __future__ import annotations

import argparse

from service_runbooks.cli import discover_cluster, options


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "discover", help="write a fleet file from the workloads running in a cluster"
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="only the workloads of these names (default: every workload)",
    )
    discover_cluster.register_cluster_options(parser)
    parser.set_defaults(run=discover_cluster.run_cluster, problems=problems)


def problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    if not args.cluster:
        return ["--cluster: required (discovery from files is not in this build)"]
    return []
