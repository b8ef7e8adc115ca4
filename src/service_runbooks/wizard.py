"""``service-runbooks new``: ask for one service's answers, check each as it is typed, render it.

The questions, prompts and choices are cookiecutter.json's (its keys and ``__prompts__``), asked
with cookiecutter's own prompt functions (rich). A question is asked only when its answer is
used (``Rule.only_when``: the Helm release only for Helm, the alert answers only with alerting),
with its default rendered from the answers before it exactly as cookiecutter renders it. Each
answer is held to its rule as it is typed, and asked again until it passes, so no typed answer
carrying Jinja delimiters ever reaches cookiecutter.

Answers can also be given as ``key=value`` and ``--answers FILE`` (one fleet entry's YAML); they
are checked as ``render`` checks a fleet entry, every problem at once (exit 2, nothing written).
Without a terminal on stdin (or with ``--no-input``) the questions not answered that way take
their defaults, as ``cookiecutter --no-input`` does.

The service is rendered as the fleet renders it (``cookiecutter_render.prepare`` and
``cookiecutter_render.render``), so it is byte for byte what ``cookiecutter --no-input`` writes
for the same answers, plus the ``.cruft.json`` that ``render`` writes
(``cruft_state.cruft_state``). It is rendered in a folder beside its destination and appears
with one rename: a refusal, a failure or Ctrl-C leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_runbooks.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    FleetProblem,
    ParseError,
    Refused,
    RenderError,
)
from service_runbooks.rules import (
    COOKIECUTTER_JSON,
    RULES_BY_FIELD,
    Problem,
    answer_problem,
    questions,
)

COMMAND_LINE = "command line"
STAGING_PREFIX = ".service-runbooks-new."


@dataclass(frozen=True)
class Request:
    """What ``service-runbooks new`` was asked for."""

    output: Path
    pairs: Sequence[str] = ()  # key=value
    answers_file: Path | None = None
    no_input: bool = False
    template_url: str | None = None


def is_yes_no(field: str) -> bool:
    return isinstance(COOKIECUTTER_JSON.get(field), bool)


# ---- answers given up front: key=value and --answers FILE ----


def parse_pairs(pairs: Sequence[str]) -> tuple[dict[str, object], list[FleetProblem]]:
    """``key=value`` arguments as answers. A yes/no answer is converted as cookiecutter's CLI
    converts it (``YesNoPrompt``: true/false, yes/no, 1/0, ...), else left for its rule.

    https://cookiecutter.readthedocs.io/en/stable/advanced/boolean_variables.html; the
    conversion is cookiecutter 2.7's ``generate.apply_overwrites_to_context``.
    """
    from cookiecutter.prompt import YesNoPrompt
    from rich.prompt import InvalidResponse

    answers: dict[str, object] = {}
    problems = []
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            problems.append(FleetProblem(COMMAND_LINE, None, f"{pair!r} is not key=value"))
            continue
        answers[key] = value
        if is_yes_no(key):
            try:
                answers[key] = YesNoPrompt().process_response(value)
            except InvalidResponse:
                del answers[key]  # reported here, in command-line words, not again by its rule
                yes_no = "/".join(YesNoPrompt.yes_choices + YesNoPrompt.no_choices)
                problems.append(
                    FleetProblem(COMMAND_LINE, key, f"{value!r} is not a yes/no answer ({yes_no})")
                )
    return answers, problems


def load_answers_file(path: Path) -> tuple[dict[str, object], list[FleetProblem]]:
    """A YAML mapping of answers (one fleet entry), read by the fleet file's strict loader."""
    from service_runbooks.fleetfile import parse

    where = str(path)
    try:
        data, _lines = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return {}, [FleetProblem(where, None, f"cannot be read as UTF-8 text: {error}")]
    except ParseError as error:
        return {}, [FleetProblem(where, None, str(error))]
    if not isinstance(data, dict):
        return {}, [FleetProblem(where, None, "must be a mapping of answers, as one fleet entry")]
    return data, []


@dataclass(frozen=True)
class Given:
    """The answers given before any question: from ``--answers FILE``, then the command line."""

    from_file: Mapping[str, object]
    from_line: Mapping[str, object]
    file_name: str = ""

    @property
    def answers(self) -> dict[str, object]:
        return {**self.from_file, **self.from_line}  # the command line wins

    def problems(self, known: Mapping[str, object]) -> list[FleetProblem]:
        """Each given answer checked as ``render`` checks a fleet entry, among ``known`` (the
        answers so far: a given one may only be used once a later answer is chosen)."""
        from service_runbooks.fleetfile import answer_problems

        context = {**known, **self.answers}
        # A file's answer that the command line replaces is never used: only the line's counts.
        from_file = {k: v for k, v in self.from_file.items() if k not in self.from_line}
        problems = answer_problems(self.file_name, from_file, context)
        return problems + answer_problems(COMMAND_LINE, self.from_line, context)


def given_answers(request: Request) -> Given:
    """The answers from the file, then the command line (which wins); Refused on any problem
    (``Given.problems``)."""
    from_file: dict[str, object] = {}
    problems: list[FleetProblem] = []
    if request.answers_file is not None:
        from_file, problems = load_answers_file(request.answers_file)
    from_line, line_problems = parse_pairs(request.pairs)
    given = Given(from_file, from_line, str(request.answers_file or ""))
    problems += line_problems + given.problems({})
    if problems:
        raise Refused(problems)
    return given


# ---- asking ----


def folder_problem(output: Path, name: object) -> str | None:
    """Why ``output/name`` cannot receive a new service (it exists, even as a dangling link)."""
    if isinstance(name, str) and os.path.lexists(output / name):
        return f"{output / name} already exists; nothing is written over it"
    return None


def applies(field: str, known: Mapping[str, object]) -> bool:
    rule = RULES_BY_FIELD.get(field)
    return rule is None or rule.applies(known)


class Asker:
    """Asks cookiecutter's questions that apply, in order, each until its answer is valid."""

    def __init__(self, context: Mapping[str, Any], given: Given, output: Path):
        from cookiecutter.utils import create_env_with_context
        from rich.console import Console

        self.raw: Mapping[str, Any] = context["cookiecutter"]
        self.prompts: Mapping[str, Any] = self.raw.get("__prompts__", {})
        self.env = create_env_with_context(dict(context))
        self.given = given.answers
        self.given_problems = given.problems  # given answers, checked among the answers so far
        self.output = output
        self.console = Console(stderr=True, highlight=False)

    def default(self, field: str, known: dict[str, object]) -> Any:
        """The default cookiecutter offers, rendered from the answers before it."""
        from cookiecutter.prompt import render_variable

        raw = self.raw[field]
        if isinstance(raw, list):
            return [render_variable(self.env, option, known) for option in raw]
        return render_variable(self.env, raw, known)

    def ask_all(self) -> dict[str, object]:
        """The given answers plus every answer typed (or accepted) for a question that applies."""
        known: dict[str, object] = {}  # every answer so far, as cookiecutter holds them
        answers = dict(self.given)
        fields = questions()
        for index, field in enumerate(fields):
            if field in self.given:
                known[field] = self.given[field]
                continue
            default = self.default(field, known)
            if not applies(field, known):
                known[field] = default[0] if isinstance(default, list) else default
                continue
            asked = sum(f not in self.given for f in fields[:index] if applies(f, known))
            left = [f for f in fields[index:] if f not in self.given and applies(f, known)]
            prefix = f"  [dim][{asked + 1}/{asked + len(left)}][/] "
            known[field] = answers[field] = self.ask(field, default, prefix, known)
            # A given answer this one puts to use (workload=helm: helm_release counts now) is
            # checked at once, not after the questions left.
            if problems := self.given_problems(known):
                raise Refused(problems)
        return answers

    def read(self, field: str, default: Any, prefix: str) -> Any:
        # cookiecutter's own prompts, with __prompts__' questions and choice labels:
        # https://cookiecutter.readthedocs.io/en/stable/advanced/human_readable_prompts.html
        from cookiecutter.prompt import read_user_choice, read_user_variable, read_user_yes_no

        if isinstance(default, list):
            return read_user_choice(field, default, self.prompts, prefix)
        if isinstance(default, bool):
            return read_user_yes_no(field, default, self.prompts, prefix)
        return read_user_variable(field, default, self.prompts, prefix)

    def ask(self, field: str, default: Any, prefix: str, known: Mapping[str, object]) -> Any:
        from rich.markup import escape

        while True:
            value = self.read(field, default, prefix)
            problem = answer_problem(field, value, known)  # among the answers before it
            message = problem.explain() if problem is not None else None
            if message is None and field == "service_name":
                message = folder_problem(self.output, value)
            if message is None:
                return value
            self.console.print(f"[red]  {escape(field)}: {escape(message)}[/]")


# ---- rendering ----


def rendered_problems(problems: list[Problem], answers: Mapping[str, object]) -> list[FleetProblem]:
    """The rules' verdict on the rendered answers, defaults included, as ``render`` words it."""
    found = []
    for problem in problems:
        text = problem.explain()
        if problem.rule is not None and problem.field not in answers:
            text += " (this is the cookiecutter.json default, rendered: set it)"
        found.append(FleetProblem("answers", problem.field, text))
    return found


def _made_folders(output: Path) -> list[Path]:
    """Create ``output`` and its missing parents; the ones created, innermost first."""
    missing = [p for p in (output, *output.parents) if not os.path.lexists(p)]
    output.mkdir(parents=True, exist_ok=True)
    return missing


def write_service(context: Mapping[str, Any], output: Path, stamp: Any) -> Path:
    """Render into a folder beside the destination, add .cruft.json, rename it into place."""
    from service_runbooks import cookiecutter_render
    from service_runbooks.cruft_state import CRUFT_FILE, cruft_json, cruft_state
    from service_runbooks.template_source import TEMPLATE_ROOT

    target = output / context["cookiecutter"]["service_name"]
    made = _made_folders(output)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=output))
    done = False
    try:
        project = cookiecutter_render.render(TEMPLATE_ROOT, context, staging)
        (project / CRUFT_FILE).write_text(cruft_json(cruft_state(context, stamp)), "utf-8")
        if os.path.lexists(target):  # appeared while rendering
            raise RenderError(folder_problem(output, target.name) or str(target))
        os.rename(project, target)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in made if not done else ():
            with suppress(OSError):
                folder.rmdir()
    return target


def new_service(request: Request) -> Path:
    """Ask (or take) the answers, check them all, render the service; its folder.

    Refused when an answer or the output folder cannot be used (nothing written).
    """
    from service_runbooks import cookiecutter_render
    from service_runbooks.template_source import TEMPLATE_ROOT, git_stamp

    output = request.output.absolute()
    given = given_answers(request)
    if problem := folder_problem(output, given.answers.get("service_name")):
        raise Refused([FleetProblem("output", "service_name", problem)])
    interactive = not request.no_input and sys.stdin.isatty()
    answers: Mapping[str, object] = given.answers
    if interactive:
        from cookiecutter.generate import generate_context

        context = generate_context(context_file=str(TEMPLATE_ROOT / "cookiecutter.json"))
        with cookiecutter_render.template_on_path(TEMPLATE_ROOT):
            answers = Asker(context, given, output).ask_all()
    rendered, problems = cookiecutter_render.prepare(TEMPLATE_ROOT, answers, output)
    if rendered is None or problems:
        raise Refused(rendered_problems(problems, answers))
    name = rendered["cookiecutter"]["service_name"]
    if problem := folder_problem(output, name):
        raise Refused([FleetProblem("output", "service_name", problem)])
    from service_runbooks.template_source import uncommitted_warning

    for warning in uncommitted_warning(TEMPLATE_ROOT):
        print(f"warning: {warning}", file=sys.stderr)
    return write_service(rendered, output, git_stamp(TEMPLATE_ROOT, request.template_url))


def main(request: Request) -> int:
    """Run ``new``; the exit status. Ctrl-C (or the end of input) leaves nothing behind."""
    try:
        target = new_service(request)
    except Refused as error:
        print(error.report(), file=sys.stderr)
        return error.exit_code
    except RenderError as error:
        print(
            f"ERROR: cookiecutter could not render the service; nothing was written.\n{error}",
            file=sys.stderr,
        )
        return error.exit_code
    except KeyboardInterrupt:
        print("\nAborted: nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EOFError:
        print("\nAborted at the end of input: nothing was written.", file=sys.stderr)
        return EXIT_FAILED
    except OSError as error:  # the output folder cannot be made or written (a file, no access)
        print(f"ERROR: {error}; nothing was written.", file=sys.stderr)
        return EXIT_FAILED
    print(f"Rendered {target}")
    return EXIT_OK
