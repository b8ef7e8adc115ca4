"""``service-runbooks drill``: run every read-only step of each service's runbook pages and
scripts against its cluster, and ask whether the identity may do every change they need.

It never changes anything: read-only commands (as the template's command table marks them),
``kubectl auth can-i`` questions, and with ``--server-dry-run`` kubectl's changing steps as
server dry runs (``--dry-run=server``), which the API server validates and authorises like the
real request and does not keep.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service_runbooks.cli import options
from service_runbooks.errors import EXIT_FAILED, EXIT_OK


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "drill",
        help="run each service's read-only runbook steps against its cluster; ask can-i for "
        "the changing ones (changes nothing)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "target",
        type=Path,
        metavar="SERVICE_DIR|FLEET",
        help="a rendered service folder, a folder of them (what `render` wrote), or a fleet "
        "file (with --output)",
    )
    parser.add_argument(
        "--output", "-o", type=Path, help="with a fleet file: the folder `render` wrote"
    )
    parser.add_argument(
        "--context",
        help="the kubeconfig context to drill (default: each service's kube_context, else the "
        "current context, read once)",
    )
    parser.add_argument(
        "--report", type=Path, metavar="FILE", help="write the JSON report of every step here"
    )
    parser.add_argument(
        "--server-dry-run",
        action="store_true",
        help="also send kubectl's changing steps with --dry-run=server (needs an identity "
        "holding those verbs: the service's access/drill-role.yaml, held to dry runs by its "
        "ValidatingAdmissionPolicy)",
    )
    parser.set_defaults(run=run, problems=problems)


def problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    mine = []
    if args.report is not None and args.report.is_dir():
        mine.append(f"--report: {args.report} is a folder, not a file")
    if args.output is not None and not args.target.is_file():
        mine.append("--output: only with a fleet file as SERVICE_DIR|FLEET")
    return mine


def run(args: argparse.Namespace) -> int:
    """Exit 1 when a step failed; the summary on stdout, the report in --report."""
    from service_runbooks.drill import drill_service, service_folders
    from service_runbooks.drill.report import report_json, summary_lines
    from service_runbooks.fleet.workdir import write_atomic

    drills = []
    for service in service_folders(args.target, args.output):
        drill = drill_service(service, args.context, args.server_dry_run)
        drills.append(drill)
        for line in summary_lines(drill):
            print(line, file=sys.stdout)
    if args.report is not None:
        args.report.absolute().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.report.absolute(), report_json(drills))
    return EXIT_FAILED if any(not drill.passed for drill in drills) else EXIT_OK
