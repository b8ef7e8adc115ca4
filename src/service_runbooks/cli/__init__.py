"""service-runbooks: render one service (new), or render, check, build and publish a fleet.

Exit status: 0 when everything succeeded, 1 when a service was refused or failed (or, for
``check``, is behind or drifted), 2 when the command line or the fleet file is wrong (then
nothing was written).

One module per command (as cruft's ``_commands`` package): each adds its own parser with its
options and sets ``run`` (and ``problems``, its options' checks) as the parser's defaults, so
the parser dispatches. Modules import their heavy dependencies inside ``run``: the no-op
``render`` must answer before YAML or cookiecutter is loaded.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from service_runbooks.cli import (
    build,
    check,
    discover,
    drill,
    index,
    new,
    options,
    render,
    update,
    workflow,
)
from service_runbooks.errors import EXIT_INVALID, ServiceRunbooksError

COMMANDS = (
    render,
    update,
    check,
    build,
    index,
    workflow,
    new,
    discover,
    drill,
)  # the order --help lists


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="service-runbooks", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        status = _run(argv)
        sys.stdout.flush()  # here, so a closed pipe is caught below, not at exit
    except BrokenPipeError:
        # The reader went away (``| head``): no traceback, no second error when Python flushes
        # standard output at exit, and the status a shell gives a program SIGPIPE ends
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    problems = options.folder_problems(args)
    problems += args.problems(args, problems) + options.jobs_problems(args)
    if problems:
        print("\n".join(f"ERROR: {problem}" for problem in problems), file=sys.stderr)
        return EXIT_INVALID
    try:
        status: int = args.run(args)
    except ServiceRunbooksError as error:
        print(error.report(), file=sys.stderr)
        return error.exit_code
    return status
