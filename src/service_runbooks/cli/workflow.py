"""``service-runbooks workflow``: a GitHub Actions workflow that renders, builds and publishes
the fleet in shards, then builds its index."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path, PurePosixPath

from service_runbooks.cli import options
from service_runbooks.errors import EXIT_OK


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "workflow",
        help="write a GitHub Actions workflow that renders, builds and publishes the fleet in "
        "shards, then builds its index",
    )
    parser.add_argument("fleet", type=Path, help="the fleet file, inside the repository")
    parser.add_argument(
        "--shards", type=int, required=True, help="how many jobs share the fleet (1 to 256)"
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("."),
        help="the repository's folder (default: this one); the workflow goes into its "
        ".github/workflows/runbooks.yml",
    )
    parser.add_argument(
        "--template-repo",
        help="OWNER/NAME of the GitHub repository the jobs install service-runbooks from "
        "(default: this template's origin remote)",
    )
    parser.add_argument(
        "--template-ref",
        help="the commit, tag or branch of it to install (default: this template's commit)",
    )
    parser.add_argument(
        "--services-dir",
        type=PurePosixPath,
        help="where in the repository the jobs render the services (default: build/services; "
        "name the folder you commit them in, if you do)",
    )
    parser.set_defaults(run=run, problems=options.no_problems)


def run(args: argparse.Namespace) -> int:
    """WorkflowError (exit 2) on a bad option, FleetError (exit 2) on a bad fleet file: both
    before anything is written."""
    from service_runbooks.fleet.workdir import write_atomic
    from service_runbooks.fleet.workflow import (
        WORKFLOW_FILE,
        Settings,
        check_settings,
        repository_path,
        template_repo_default,
        workflow_text,
    )
    from service_runbooks.fleetfile import load_fleet
    from service_runbooks.template_source import git_stamp

    repo_name, ref = check_settings(
        args.shards,
        args.template_repo or template_repo_default(),
        args.template_ref or git_stamp().commit,
        args.services_dir,
    )
    fleet = repository_path(args.fleet, args.output, "FLEET")
    settings = Settings(fleet, args.shards, repo_name, ref)
    if args.services_dir is not None:
        settings = replace(settings, services_dir=args.services_dir)
    load_fleet(args.fleet)
    target = args.output / WORKFLOW_FILE
    text = workflow_text(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, text)
    print(f"wrote {target}: {args.shards} shard job(s) and the index job")
    return EXIT_OK
