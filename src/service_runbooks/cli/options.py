"""Options several commands share, and the checks of the folders they name."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from service_runbooks.fleet.shard import Shard, parse_shard

if TYPE_CHECKING:
    from service_runbooks.drill.report import LastDrill

# What ``add_subparsers`` returns: each command module adds its parser to it.
Commands = argparse._SubParsersAction  # argparse documents the object, not its class's name
Run = Callable[[argparse.Namespace], int]


def fleet_args(parser: argparse.ArgumentParser, output_required: bool = True) -> None:
    parser.add_argument("fleet", type=Path, help="the fleet file (YAML: defaults, services)")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        required=output_required,
        help="folder holding one folder per service",
    )
    parser.add_argument(
        "--template-url",
        help="template location to record in .cruft.json (default: this template's folder); "
        "cruft check and update clone it",
    )


def jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs", "-j", type=int, default=None, help="worker processes (default: one per core)"
    )


def _day(text: str) -> date:
    """A --today value: a real calendar date, YYYY-MM-DD."""
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a calendar date YYYY-MM-DD, e.g. 2026-11-02")


def today_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--today",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day review dates are judged on (default: today, UTC)",
    )


def today(args: argparse.Namespace) -> date:
    return args.today or datetime.now(UTC).date()


def _shard_spec(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ValueError as error:  # argparse names the option: "argument --shard: ..."; exit 2
        raise argparse.ArgumentTypeError(str(error)) from None


def shard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard",
        type=_shard_spec,
        metavar="K/N",
        help="only the services of shard K of N (a stable hash of the service name; the "
        "fleet file is still read whole)",
    )


def folder_problems(args: argparse.Namespace) -> list[str]:
    """Options naming a folder that is something else (a file, say): refused before any work."""
    options = {"--output": "output", "--site": "site", "SERVICES": "services"}
    problems = []
    for option, name in options.items():
        path = getattr(args, name, None)
        if isinstance(path, Path) and path.exists() and not path.is_dir():
            problems.append(f"{option}: {path} is not a folder")
    return problems


def jobs_problems(args: argparse.Namespace) -> list[str]:
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        return [f"--jobs: must be 1 or more, got {args.jobs}"]
    return []


def no_problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    """A command whose options need no check beyond the shared ones."""
    return []


def drill_reports(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--drill-reports",
        type=Path,
        metavar="DIR",
        help="a folder of `service-runbooks drill --report` files: the index shows each "
        "service's last drill (date, passed or failed, the failed steps)",
    )


def drill_reports_problems(args: argparse.Namespace) -> list[str]:
    folder = args.drill_reports
    if folder is not None and not folder.is_dir():
        return [f"--drill-reports: {folder} is not a folder (of drill --report files)"]
    return []


def last_drills(args: argparse.Namespace) -> dict[str, LastDrill] | None:
    """The last drill of each service in --drill-reports; None without the option."""
    if args.drill_reports is None:
        return None
    from service_runbooks.drill.report import read_last_drills

    return read_last_drills(args.drill_reports)
