"""``service-runbooks new``: render one service, asking only the questions that apply."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from service_runbooks.cli import options


def register(commands: options.Commands) -> None:
    parser = commands.add_parser(
        "new",
        help="render one service, asking only the questions that apply (checked as typed)",
        description="Render one service into OUTPUT/<service_name>. On a terminal, asks "
        "cookiecutter.json's questions that apply, each checked as it is typed; answers given "
        "as key=value or --answers are not asked. With --from, the answers discovered in the "
        "service's deployment sources are shown with where each was read and offered as "
        "defaults. Without a terminal (or with --no-input) the other questions take their "
        "defaults, as with cookiecutter --no-input, but the facts that decide which commands "
        "a page gives (workload, namespace, gitops, migration_tool...) must be given or "
        "discovered. Exit 2: bad answers, or a source that cannot be read (nothing written); "
        "130: interrupted (nothing written).",
    )
    parser.add_argument("pairs", nargs="*", metavar="key=value", help="answers, as cookiecutter's")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("."),
        help="where the service folder goes "
        "(default: the current folder); refused if OUTPUT/<service_name> exists",
    )
    parser.add_argument(
        "--answers",
        dest="answers_file",
        metavar="FILE",
        type=Path,
        help="a YAML mapping of answers, shaped like one entry of a fleet file",
    )
    parser.add_argument(
        "--no-input", action="store_true", help="ask nothing: unanswered questions take defaults"
    )
    parser.add_argument(
        "--template-url", help="template location to record in .cruft.json, as render's"
    )
    parser.add_argument(
        "--from",
        dest="from_sources",
        metavar="SOURCE",
        type=Path,
        nargs="+",
        default=[],
        help="discover answers first from these deployment sources (as `discover` reads them); "
        "each derived answer is offered as the default, with where it was read",
    )
    parser.add_argument(
        "--workload",
        metavar="NAME",
        help="with --from: the discovered workload this service is for (its name as built, "
        "Kind/name, or its service_name), when the sources hold several",
    )
    parser.set_defaults(run=run, problems=problems)


def problems(args: argparse.Namespace, found: list[str]) -> list[str]:
    if args.workload is not None and not args.from_sources:
        return ["--workload: only with --from (it picks one of the workloads discovered)"]
    return []


def split_from(sources: list[Path]) -> tuple[list[Path], list[str]]:
    """``--from``'s values, and the answers among them.

    ``--from`` takes one or more values (argparse's ``nargs="+"``), so ``new --from deploy/
    alerting=false`` hands it the answer too. A value ``NAME=VALUE`` whose NAME is an answer of
    cookiecutter.json and that names no file is that answer, as it would be before ``--from``.
    """
    from service_runbooks.rules import RULES_BY_FIELD

    paths, pairs = [], []
    for source in sources:
        name, equals, _ = str(source).partition("=")
        if equals and name in RULES_BY_FIELD and not os.path.lexists(source):
            pairs.append(str(source))
        else:
            paths.append(source)
    return paths, pairs


def run(args: argparse.Namespace) -> int:
    from service_runbooks import wizard

    from_sources, pairs = split_from(args.from_sources)
    return wizard.main(
        wizard.Request(
            output=args.output,
            pairs=[*args.pairs, *pairs],
            answers_file=args.answers_file,
            no_input=args.no_input,
            template_url=args.template_url,
            from_sources=from_sources,
            workload=args.workload,
        )
    )
