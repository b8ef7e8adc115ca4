"""service-runbooks: render one service (new), or render, check, build and publish a fleet.

Exit status: 0 when everything succeeded, 1 when a service was refused or failed (or, for
``check``, is behind or drifted), 2 when the command line or the fleet file is wrong (then
nothing was written).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

from service_runbooks.fleet.shard import Shard, parse_shard

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _add_fleet_args(parser: argparse.ArgumentParser, output_required: bool = True) -> None:
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


def _shard_spec(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ValueError as error:  # argparse names the option: "argument --shard: ..."; exit 2
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_shard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard",
        type=_shard_spec,
        metavar="K/N",
        help="only the services of shard K of N (a stable hash of the service name; the "
        "fleet file is still read whole)",
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
        _add_shard(parser_)
        parser_.add_argument(
            "--prune",
            action="store_true",
            help="remove the folders of services no longer in the fleet file (retired), "
            "unless they hold changes made here",
        )

    check = commands.add_parser(
        "check", help="list services behind the fleet file or template, or edited by hand"
    )
    _add_fleet_args(check, output_required=False)  # --stale reads the fleet file alone
    _add_shard(check)
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
    _add_shard(build)
    build.add_argument(
        "--built-list",
        type=Path,
        metavar="FILE",
        help="write the names of the sites this run built (changed ones), one a line",
    )

    index = commands.add_parser(
        "index", help="merge the indexes of `build --shard` runs into the fleet's index"
    )
    index.add_argument(
        "shards",
        type=Path,
        nargs="+",
        metavar="SHARD",
        help="a shard's services.json, or the site folder `build --shard` wrote it into",
    )
    index.add_argument("--site", type=Path, required=True, help="where the fleet's index.html goes")
    _add_today(index)  # the merged index marks reviews overdue as of this day
    _add_workflow(commands)
    _add_new(commands)
    return parser


def _add_workflow(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    workflow = commands.add_parser(
        "workflow",
        help="write a GitHub Actions workflow that renders, builds and publishes the fleet in "
        "shards, then builds its index",
    )
    workflow.add_argument("fleet", type=Path, help="the fleet file, inside the repository")
    workflow.add_argument(
        "--shards", type=int, required=True, help="how many jobs share the fleet (1 to 256)"
    )
    workflow.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("."),
        help="the repository's folder (default: this one); the workflow goes into its "
        ".github/workflows/runbooks.yml",
    )
    workflow.add_argument(
        "--template-repo",
        help="OWNER/NAME of the GitHub repository the jobs install service-runbooks from "
        "(default: this template's origin remote)",
    )
    workflow.add_argument(
        "--template-ref",
        help="the commit, tag or branch of it to install (default: this template's commit)",
    )
    workflow.add_argument(
        "--services-dir",
        type=PurePosixPath,
        help="where in the repository the jobs render the services (default: build/services; "
        "name the folder you commit them in, if you do)",
    )


def _add_new(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    new = commands.add_parser(
        "new",
        help="render one service, asking only the questions that apply (checked as typed)",
        description="Render one service into OUTPUT/<service_name>. On a terminal, asks "
        "cookiecutter.json's questions that apply, each checked as it is typed; answers given "
        "as key=value or --answers are not asked. Without a terminal (or with --no-input) the "
        "other questions take their defaults, as with cookiecutter --no-input. Exit 2: bad "
        "answers (nothing written); 130: interrupted (nothing written).",
    )
    new.add_argument("pairs", nargs="*", metavar="key=value", help="answers, as cookiecutter's")
    new.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("."),
        help="where the service folder goes "
        "(default: the current folder); refused if OUTPUT/<service_name> exists",
    )
    new.add_argument(
        "--answers",
        dest="answers_file",
        metavar="FILE",
        type=Path,
        help="a YAML mapping of answers, shaped like one entry of a fleet file",
    )
    new.add_argument(
        "--no-input", action="store_true", help="ask nothing: unanswered questions take defaults"
    )
    new.add_argument(
        "--template-url", help="template location to record in .cruft.json, as render's"
    )


def _new(args: argparse.Namespace) -> int:
    from service_runbooks import wizard

    return wizard.main(
        wizard.Request(
            output=args.output,
            pairs=args.pairs,
            answers_file=args.answers_file,
            no_input=args.no_input,
            template_url=args.template_url,
        )
    )


def _render(args: argparse.Namespace, merge: bool) -> int:
    from service_runbooks.fleet import lastrun
    from service_runbooks.fleet.report import UNCHANGED, summary_line
    from service_runbooks.fleet.template import TEMPLATE_ROOT

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

    options = Options(
        merge=merge,
        jobs=args.jobs,
        template_url=args.template_url,
        hooks_in_process=not getattr(args, "hooks_subprocess", False),
        prune=args.prune,
        shard=args.shard,
    )
    summary = render_fleet(args.fleet, args.output, options)
    summary.report(sys.stdout)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _today(args: argparse.Namespace) -> date:
    return args.today or datetime.now(UTC).date()


def _check(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.check import check_fleet, report, report_stale, reviews

    if args.stale:
        late = report_stale(reviews(args.fleet, args.shard), _today(args), sys.stdout)
        return EXIT_FAILED if late else EXIT_OK

    statuses = check_fleet(
        args.fleet, args.output, template_url=args.template_url, shard=args.shard
    )
    report(statuses, sys.stdout)
    return EXIT_OK if all(status.ok for status in statuses) else EXIT_FAILED


def _build(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.build import BUILT, build_sites
    from service_runbooks.fleet.workdir import write_atomic

    summary = build_sites(
        args.services, args.site, jobs=args.jobs, shard=args.shard, today=_today(args)
    )
    summary.report(sys.stdout)
    if args.built_list is not None:
        built = [outcome.name for outcome in summary.outcomes if outcome.status == BUILT]
        args.built_list.absolute().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.built_list.absolute(), "".join(f"{name}\n" for name in built))
    return EXIT_OK if summary.ok else EXIT_FAILED


def _index(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.index import IndexInputError, merge_indexes

    try:
        cards = merge_indexes(args.shards, args.site, _today(args))
    except IndexInputError as error:
        print(f"ERROR: SHARD: {error}; nothing was written", file=sys.stderr)
        return EXIT_INVALID
    print(f"index: {len(cards)} services from {len(args.shards)} shard(s): {args.site}")
    return EXIT_OK


def _workflow(args: argparse.Namespace) -> int:
    from service_runbooks.fleet.fleetfile import load_fleet
    from service_runbooks.fleet.template import git_stamp
    from service_runbooks.fleet.workdir import write_atomic
    from service_runbooks.fleet.workflow import (
        WORKFLOW_FILE,
        Settings,
        WorkflowError,
        check_settings,
        repository_path,
        template_repo_default,
        workflow_text,
    )

    repo_name = args.template_repo or template_repo_default()
    ref = args.template_ref or git_stamp().commit
    try:
        check_settings(args.shards, repo_name, ref, args.services_dir)
        fleet = repository_path(args.fleet, args.output, "FLEET")
        settings = Settings(fleet, args.shards, repo_name, ref)
        if args.services_dir is not None:
            settings = replace(settings, services_dir=args.services_dir)
    except WorkflowError as error:
        print(f"ERROR: {error}; nothing was written", file=sys.stderr)
        return EXIT_INVALID
    load_fleet(args.fleet)  # a bad fleet file: FleetError, exit 2, before anything is written
    target = args.output / WORKFLOW_FILE
    text = workflow_text(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, text)
    print(f"wrote {target}: {args.shards} shard job(s) and the index job")
    return EXIT_OK


def _folder_problems(args: argparse.Namespace) -> list[str]:
    """Options naming a folder that is something else (a file, say): refused before any work."""
    options = {"--output": "output", "--site": "site", "SERVICES": "services"}
    problems = []
    for option, name in options.items():
        path = getattr(args, name, None)
        if isinstance(path, Path) and path.exists() and not path.is_dir():
            problems.append(f"{option}: {path} is not a folder")
    if args.command == "check" and args.output is None and not args.stale:
        problems.append(
            "--output: required (only check --stale, which reads the fleet file alone, "
            "goes without)"
        )
    if args.command == "build" and not args.services.is_dir() and not problems:
        problems.append(f"SERVICES: {args.services} is not a folder (`render` writes it)")
    built_list = getattr(args, "built_list", None)
    if built_list is not None and built_list.is_dir():
        problems.append(f"--built-list: {built_list} is a folder, not a file")
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
        if args.command == "index":
            return _index(args)
        if args.command == "workflow":
            return _workflow(args)
        if args.command == "new":
            return _new(args)
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
