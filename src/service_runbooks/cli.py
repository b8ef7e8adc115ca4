"""``service-runbooks``: render, check, update and build the runbooks of a whole fleet.

Exit status: 0 when everything succeeded, 1 when a service was refused or failed (or, for
``check``, is behind or drifted), 2 when the command line or the fleet file is wrong (then
nothing was written).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _add_fleet_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("fleet", type=Path, help="the fleet file (YAML: defaults, services)")
    parser.add_argument(
        "--output", "-o", type=Path, required=True, help="folder holding one folder per service"
    )
    parser.add_argument(
        "--template-url",
        help="template location to record in .cruft.json (default: this template's folder); "
        "cruft check and update clone it",
    )


def _add_jobs(parser: argparse.ArgumentParser) -> None:
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


def _add_today(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--today",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day review dates are judged on (default: today, UTC)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="service-runbooks", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser(
        "render", help="render every service of a fleet file (skips unchanged ones)"
    )
    _add_fleet_args(render)
    _add_jobs(render)
    render.add_argument(
        "--merge",
        action="store_true",
        help="merge template changes into files edited by hand (cruft update) instead of "
        "refusing those services",
    )
    render.add_argument(
        "--hooks-subprocess",
        action="store_true",
        help="run the template's hooks in a new interpreter per service, as cookiecutter does "
        "(slower; same result)",
    )

    update = commands.add_parser(
        "update", help="bring services up to date, merging into local edits (render --merge)"
    )
    _add_fleet_args(update)
    _add_jobs(update)
    for parser_ in (render, update):
        parser_.add_argument(
            "--prune",
            action="store_true",
            help="remove the folders of services no longer in the fleet file (retired), "
            "unless they hold changes made here",
        )

    check = commands.add_parser(
        "check", help="list services behind the fleet file or template, or edited by hand"
    )
    _add_fleet_args(check)
    check.add_argument(
        "--stale",
        action="store_true",
        help="instead: list the services whose review is overdue (reviewed_on plus "
        "review_every_days, from the fleet file), or dated after today",
    )
    _add_today(check)

    build = commands.add_parser(
        "build", help="build each service's TechDocs site (changed ones only) and an index"
    )
    build.add_argument("services", type=Path, help="the folder `render` wrote into")
    build.add_argument("--site", type=Path, required=True, help="where the sites go")
    _add_jobs(build)
    _add_today(build)  # the index marks reviews overdue as of this day
    return parser


def _render(args: argparse.Namespace, merge: bool) -> int:
    from service_runbooks.fleet import lastrun
    from service_runbooks.fleet.report import UNCHANGED, summary_line
    from service_runbooks.fleet.template import TEMPLATE_ROOT

    # The no-op case is answered before the renderer (and YAML, cookiecutter...) is loaded;
    # --prune always looks at the folder.
    names = None
    if not args.prune:
        names = lastrun.unchanged(args.fleet, args.output, TEMPLATE_ROOT, args.template_url)
    if names is not None:
        print(summary_line([UNCHANGED] * len(names)))
        return EXIT_OK
    from service_runbooks.fleet.render import Options, render_fleet

    options = Options(
        merge=merge,
        jobs=args.jobs,
        template_url=args.template_url,
        hooks_in_process=not getattr(args, "hooks_subprocess", False),
        prune=args.prune,
    )
    summary = render_fleet(args.fleet, args.output, options)
    summary.report(sys.stdout)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _today(args: argparse.Namespace) -> date:
    return args.today or datetime.now(UTC).date()


def _check(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.check import check_fleet, report, report_stale, reviews

    if args.stale:
        late = report_stale(reviews(args.fleet), _today(args), sys.stdout)
        return EXIT_FAILED if late else EXIT_OK

    statuses = check_fleet(args.fleet, args.output, template_url=args.template_url)
    report(statuses, sys.stdout)
    return EXIT_OK if all(status.ok for status in statuses) else EXIT_FAILED


def _build(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.build import build_sites

    summary = build_sites(args.services, args.site, jobs=args.jobs, today=_today(args))
    summary.report(sys.stdout)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _folder_problems(args: argparse.Namespace) -> list[str]:
    """Options naming a folder that is something else (a file, say): refused before any work."""
    options = {"--output": "output", "--site": "site", "SERVICES": "services"}
    problems = []
    for option, name in options.items():
        path = getattr(args, name, None)
        if isinstance(path, Path) and path.exists() and not path.is_dir():
            problems.append(f"{option}: {path} is not a folder")
    if args.command == "build" and not args.services.is_dir() and not problems:
        problems.append(f"SERVICES: {args.services} is not a folder (`render` writes it)")
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        problems.append(f"--jobs: must be 1 or more, got {args.jobs}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if problems := _folder_problems(args):
        print("\n".join(f"ERROR: {problem}" for problem in problems), file=sys.stderr)
        return EXIT_INVALID
    try:
        if args.command == "render":
            return _render(args, merge=args.merge)
        if args.command == "update":
            return _render(args, merge=True)
        if args.command == "check":
            return _check(args)
        return _build(args)
    except Exception as error:
        # Imported here, not above: the no-op render must not pay for them.
        from service_runbooks.fleet.problems import FleetError
        from service_runbooks.fleet.workdir import Busy

        if isinstance(error, FleetError):
            print(error, file=sys.stderr)
            return EXIT_INVALID
        if isinstance(error, Busy):
            print(f"ERROR: {error}", file=sys.stderr)
            return EXIT_FAILED
        raise


if __name__ == "__main__":
    sys.exit(main())
