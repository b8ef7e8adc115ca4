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
their defaults, as ``cookiecutter --no-input`` does, except the facts that decide which commands
a page gives (``Rule.deciding``): each must be given (or discovered), else ``new`` refuses,
naming it, before anything is written.

``--from SOURCE...`` runs discovery first (``service_runbooks.discovery``): the answers it
derives for the workload (picked with ``--workload NAME``, or asked when the sources hold
several) are shown as one block, each with where it was read, and taken with one Enter ("Take
these?"; ``edit`` asks them too, each with its derived value as the default); only the
questions that apply and were not derived are asked. A derived answer is still held to its rule
among the answers before it, and asked when it fails. An answer given as ``key=value`` or in
``--answers`` wins over a derived one.

The service is rendered as the fleet renders it (``cookiecutter_render.prepare`` and
``cookiecutter_render.render``), so it is byte for byte what ``cookiecutter --no-input`` writes
for the same answers, plus the ``.cruft.json`` that ``render`` writes
(``cruft_state.cruft_state``). It is rendered in a folder beside its destination and appears
with one rename: a refusal, a failure or Ctrl-C leaves nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    KindNames,
    Problem,
    answer_problem,
    missing_deciding,
    prompt,
    questions,
)

if TYPE_CHECKING:
    from service_runbooks.discovery import ServiceAnswers, WorkloadFacts
    from service_runbooks.fleetfile import Scope

    Found = tuple[WorkloadFacts, ServiceAnswers]  # a discovered workload and its answers

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
    from_sources: Sequence[Path] = ()  # --from: discovery's sources
    workload: str | None = None  # --workload: which discovered workload, by name


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


def load_answers_file(path: Path) -> tuple[dict[str, object], list[FleetProblem], Scope]:
    """A YAML mapping of answers (one fleet entry), read by the fleet file's strict loader, and
    where each of its keys is written (for messages).

    Its ``sources:`` (where each answer was read, as a fleet entry's) is checked as the fleet
    checks it, and not an answer: cookiecutter never gets it."""
    from service_runbooks.fleetfile import Scope, parse, source_problems, split_sources

    where = Scope(str(path))
    try:
        data, lines = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return (
            {},
            [FleetProblem(where.label, None, f"cannot be read as UTF-8 text: {error}")],
            where,
        )
    except ParseError as error:
        return {}, [FleetProblem(where.label, None, str(error))], where
    if not isinstance(data, dict):
        refusal = "must be a mapping of answers, as one fleet entry"
        return {}, [FleetProblem(where.label, None, refusal)], where
    where = Scope(str(path), keys=lines.top_keys)
    answers, sources = split_sources(data)
    return answers, [] if sources is None else source_problems(where, sources), where


@dataclass(frozen=True)
class Given:
    """The answers given before any question: from ``--answers FILE``, then the command line."""

    from_file: Mapping[str, object]
    from_line: Mapping[str, object]
    file_name: str | Scope = ""  # the answers file, with where each key is written

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
    file_scope: str | Scope = ""
    if request.answers_file is not None:
        from_file, problems, file_scope = load_answers_file(request.answers_file)
    from_line, line_problems = parse_pairs(request.pairs)
    given = Given(from_file, from_line, file_scope)
    problems += line_problems + given.problems({})
    if problems:
        raise Refused(problems)
    return given


# ---- answers discovered from the deployment's sources: --from ----


@dataclass(frozen=True)
class Derived:
    """The answers discovery derived for the chosen workload, each with where it was read."""

    answers: Mapping[str, str]
    sources: Mapping[str, str]
    not_derived: Mapping[str, str]


NO_DERIVED = Derived({}, {}, {})


def _labels(workloads: Sequence[Found]) -> list[str]:
    """How a discovered workload is named to a person: Kind/name, its namespace, the service."""
    labels = []
    for facts, service in workloads:
        where = f" in {facts.workload.namespace}" if facts.workload.namespace else ""
        labels.append(f"{facts.workload.ref}{where} (service_name {service.name or '?'})")
    return labels


def _matches(name: str, facts: WorkloadFacts, service: ServiceAnswers) -> bool:
    return name in (facts.workload.name, facts.workload.ref, service.name)


def pick_workload(request: Request, interactive: bool) -> Derived:
    """Discovery over ``--from``, and the one workload the service is for: the only one found,
    the one ``--workload`` names, or (on a terminal) the one the person picks."""
    from service_runbooks.discovery import discover

    found = discover([Path(source) for source in request.from_sources])
    every = list(zip(found.workloads, found.services, strict=True))
    where = "--from " + " ".join(str(source) for source in request.from_sources)
    if not every:
        message = "no Deployment, StatefulSet or Argo Rollouts Rollout found in the sources"
        raise Refused([FleetProblem(where, None, message)])
    pairs = every
    if request.workload is not None:
        pairs = [(f, s) for f, s in every if _matches(request.workload, f, s)]
        if not pairs:
            message = (
                f"no discovered workload is named {request.workload!r}; found: "
                f"{'; '.join(_labels(every))}"
            )
            raise Refused([FleetProblem("--workload", None, message)])
    if len(pairs) > 1 and not interactive:
        message = (
            f"the sources hold {len(pairs)} workloads: {'; '.join(_labels(pairs))}. "
            "Pick one with --workload NAME"
        )
        raise Refused([FleetProblem(where, None, message)])
    chosen = pairs[0][1] if len(pairs) == 1 else _ask_workload(pairs)[1]
    return Derived(dict(chosen.answers), dict(chosen.sources), dict(chosen.not_derived))


PICK = "workload to document"


def _ask_workload(pairs: list[Found]) -> Found:
    """The workload a person picks among several (cookiecutter's choice prompt)."""
    from cookiecutter.prompt import read_user_choice

    labels = _labels(pairs)
    question = "The sources hold several workloads: which one is this service?"
    label = read_user_choice(PICK, labels, {PICK: question})
    return pairs[labels.index(label)]


def show_derived(derived: Derived, given: Mapping[str, object]) -> None:
    """What discovery derived (each answer, its value and where it was read) and what it could
    not, on standard error, before any question. A derived answer that a given one replaces is
    said to be replaced."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False)
    if derived.answers:
        console.print("Derived from the sources:")
    for name, value in derived.answers.items():
        source = escape(derived.sources[name])
        replaced = " [dim](replaced by the answer given)[/]" if name in given else ""
        console.print(f"  {escape(name)}: {escape(value)}  [dim]<- {source}[/]{replaced}")
    if derived.not_derived:
        console.print("Not derived (asked, or given as key=value):")
    for name, why in derived.not_derived.items():
        console.print(f"  {escape(name)}: [dim]{escape(why)}[/]")


def deciding_refusal(answers: Mapping[str, object]) -> list[FleetProblem]:
    """The deciding answers (``Rule.deciding``) neither given nor derived, each named."""
    from service_runbooks.fleetfile import deciding_problem

    return [
        deciding_problem("answers", name, give_it="as key=value, in --answers FILE or by --from")
        for name in missing_deciding(answers)
    ]


# ---- asking ----


def folder_problem(output: Path, name: object) -> str | None:
    """Why ``output/name`` cannot receive a new service (it exists, even as a dangling link)."""
    if isinstance(name, str) and os.path.lexists(output / name):
        return f"{output / name} already exists; nothing is written over it"
    return None


def applies(field: str, known: Mapping[str, object]) -> bool:
    rule = RULES_BY_FIELD.get(field)
    return rule is None or rule.applies(known)


def kind_names(template: Path) -> KindNames:
    """How the tools name what the answers choose, for the prompts specific to earlier answers
    (``rules.SpecificPrompt``), each from where it is named: a workload's kind and a GitOps
    layer's tool from the template's engine table (``engines.jinja``'s ``workloads`` titles and
    ``gitops_layers`` labels), the GitOps objects' kinds and a chart's workload kinds from
    discovery's (``deployers.py``)."""
    from service_runbooks.cookiecutter_render import template_module
    from service_runbooks.discovery.deployers import (
        APPLICATION,
        CHART_WORKLOAD_KINDS,
        HELM_RELEASE,
        KUSTOMIZATION,
    )
    from service_runbooks.discovery.pages import ENGINES_MODULE

    engines = template_module(template, ENGINES_MODULE, {})
    return KindNames(
        workloads={answer: str(entry["title"]) for answer, entry in engines.workloads.items()},
        gitops_tools={
            answer: str(layer["label"]) for answer, layer in engines.gitops_layers.items()
        },
        # The kind of each (group, kind, resource) record of an object a GitOps answer deploys with.
        gitops_kinds={
            "argocd": (APPLICATION[1],),
            "flux": (KUSTOMIZATION[1], HELM_RELEASE[1]),
        },
        chart_workloads=CHART_WORKLOAD_KINDS,
    )


def choice_labels(field: str, options: list[str], prompts: Mapping[str, Any]) -> dict[str, str]:
    """Each option's label in ``__prompts__`` (the option itself when it has none), as
    cookiecutter shows them (https://cookiecutter.readthedocs.io/en/stable/advanced/human_readable_prompts.html)."""
    labels = prompts.get(field)
    return {
        option: str(labels.get(option, option)) if isinstance(labels, dict) else option
        for option in options
    }


def resolve_choice(
    typed: str, options: Sequence[str], labels: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """(the option ``typed`` names, None) or (None, the option it nearly names, or None).

    A number from 1, the option or its label in any case name one; an option it begins (``prod``)
    or resembles (``deploymnet``) is only offered: the person confirms it."""
    import difflib

    text = typed.strip()
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1], None
    by_name = {option.lower(): option for option in options}
    by_name.update({label.lower(): option for option, label in labels.items()})
    if text.lower() in by_name:
        return by_name[text.lower()], None
    starting = {by_name[n] for n in by_name if text and n.startswith(text.lower())}
    if len(starting) == 1:
        return None, starting.pop()
    close = difflib.get_close_matches(text.lower(), list(by_name), n=1)
    return None, (by_name[close[0]] if close else None)


# A GitHub repository pasted as its address, for an answer written org/repo.
_GITHUB_URL = re.compile(
    r"(?:https?://(?:www\.)?github\.com/|git@github\.com:)(?P<repo>[^/\s]+/[^/\s#?]+?)"
    r"(?:\.git)?/?(?:[#?].*)?"
)


def _near_miss_candidates(value: str) -> Iterator[str]:
    """What a person probably meant by a refused answer, most likely first: the usual slips
    (spaces around it, a trailing /, a GitHub address for org/repo, capitals, a % sign, a
    Slack channel without its #)."""
    text = value.strip()
    if not text:
        return
    yield text
    yield text.rstrip("/")
    if found := _GITHUB_URL.fullmatch(text):
        yield found["repo"]
    yield text.lower()
    yield text.rstrip("%").rstrip()
    if not text.startswith("#"):
        yield f"#{text}"


def near_miss(value: object, problem: Callable[[str], str | None]) -> str | None:
    """The first likely meaning of a refused answer that its rule accepts (``problem`` says
    none), or None: the rules stay the one judge, this only guesses what to offer."""
    if not isinstance(value, str):
        return None
    for candidate in _near_miss_candidates(value):
        if candidate != value and problem(candidate) is None:
            return candidate
    return None


# The replies to "Take these derived answers?" (Enter is yes).
TAKE = ("", "y", "yes")
EDIT = ("n", "no", "e", "edit")


class Asker:
    """Asks cookiecutter's questions that apply, in order, each until its answer is valid."""

    def __init__(
        self,
        context: Mapping[str, Any],
        given: Given,
        output: Path,
        derived: Derived = NO_DERIVED,
    ):
        from cookiecutter.utils import create_env_with_context
        from rich.console import Console

        from service_runbooks.template_source import TEMPLATE_ROOT

        self.raw: Mapping[str, Any] = context["cookiecutter"]
        self.prompts: Mapping[str, Any] = self.raw.get("__prompts__", {})
        self.env = create_env_with_context(dict(context))
        self.given = given.answers
        self.given_problems = given.problems  # given answers, checked among the answers so far
        self.output = output
        self.derived = derived
        self.console = Console(stderr=True, highlight=False)
        self.names = kind_names(TEMPLATE_ROOT)

    def question(self, field: str, known: Mapping[str, object]) -> str:
        """The question for ``field`` as rich shows it: specific to the answers ``known`` so
        far (``Name of the StatefulSet in the cluster``), else cookiecutter.json's own."""
        from rich.markup import escape

        return escape(prompt(field, self.raw, known, self.names))

    def default(self, field: str, known: dict[str, object]) -> Any:
        """The default cookiecutter offers, rendered from the answers before it."""
        from cookiecutter.prompt import render_variable

        raw = self.raw[field]
        if isinstance(raw, list):
            options = [render_variable(self.env, option, known) for option in raw]
            derived = self.derived.answers.get(field)
            # The derived choice first: a choice prompt's default is its first option.
            return sorted(options, key=lambda option: option != derived)
        if field in self.derived.answers:
            return self.derived.answers[field]
        return render_variable(self.env, raw, known)

    def ask_all(self) -> dict[str, object]:
        """The given answers plus every answer typed (or accepted) for a question that applies."""
        from rich.markup import escape

        known: dict[str, object] = {}  # every answer so far, as cookiecutter holds them
        answers = dict(self.given)
        taken = self.take_derived()
        asked = 0
        for field in questions():
            if field in self.given:
                known[field] = self.given[field]
                continue
            default = self.default(field, known)
            if not applies(field, known):
                known[field] = default[0] if isinstance(default, list) else default
                continue
            if taken and field in self.derived.answers:
                value = self.derived.answers[field]
                message = self.problem(field, value, known)
                if message is None:
                    known[field] = answers[field] = value
                    continue
                # Held to its rule among the answers before it, as a typed one: asked.
                self.console.print(f"[red]  {escape(field)} (derived): {escape(message)}[/]")
            asked += 1
            # The question's number and no total: how many questions are left depends on the
            # answers still to come (a Helm chart adds two, no alerts removes ten), and a total
            # that moves reads as a miscount.
            prefix = f"  [dim][{asked}][/] "
            if field in self.derived.sources:
                source = self.derived.sources[field]
                self.console.print(f"  [dim]{escape(field)} read from {escape(source)}[/]")
            known[field] = answers[field] = self.ask(field, default, prefix, known)
            # A given answer this one puts to use (workload=helm: helm_release counts now) is
            # checked at once, not after the questions left.
            if problems := self.given_problems(known):
                raise Refused(problems)
        return answers

    def take_derived(self) -> bool:
        """Whether the derived answers (shown as a block before, ``show_derived``) are taken
        as they are: Enter or yes takes them all; no or edit asks them too, each with its
        derived value as the default. False when none is left to take (all given)."""
        from rich.markup import escape
        from rich.prompt import Prompt

        if not set(self.derived.answers) - set(self.given):
            return False
        while True:
            typed = Prompt.ask(
                escape(
                    "Take these derived answers? [Y/n/edit] (Enter takes them all; n or edit "
                    "asks each, its derived value as the default)"
                ),
                default="y",
                show_default=False,
            )
            reply = str(typed).strip().lower()
            if reply in TAKE:
                return True
            if reply in EDIT:
                return False
            self.console.print(f"[red]  {escape(repr(typed))}: answer y, n or edit[/]")

    def read(self, field: str, default: Any, prefix: str, known: Mapping[str, object]) -> Any:
        # cookiecutter's own prompts, each given its question as __prompts__ gives them
        # (https://cookiecutter.readthedocs.io/en/stable/advanced/human_readable_prompts.html),
        # the one specific to the answers so far where its rule has one.
        from cookiecutter.prompt import read_user_variable, read_user_yes_no

        if isinstance(default, list):
            return self.read_choice(field, default, prefix, known)
        question = {field: self.question(field, known)}
        if isinstance(default, bool):
            return read_user_yes_no(field, default, question, prefix)
        return read_user_variable(field, default, question, prefix)

    def read_choice(
        self, field: str, options: list[str], prefix: str, known: Mapping[str, object]
    ) -> str:
        """One of ``options``, typed as its number or its name (or its label): cookiecutter's
        choice prompt, which takes numbers only, with names too; a near miss (``prod``,
        ``Production``) is offered as the default, taken with Enter."""
        from rich.markup import escape
        from rich.prompt import Prompt

        labels = choice_labels(field, options, self.prompts)
        lines = [f"{prefix}{self.question(field, known)}"]
        lines += [
            f"    [bold magenta]{i}[/] - [bold]{escape(labels[option])}[/]"
            + (f" [dim]({escape(option)})[/]" if labels[option] != option else "")
            for i, option in enumerate(options, 1)
        ]
        offered = options[0]
        while True:
            question = "\n".join([*lines, "    Choose a number or a name"])
            typed = Prompt.ask(question, default=offered)
            chosen, near = resolve_choice(str(typed), options, labels)
            if chosen is not None:
                return chosen
            hint = f"; did you mean {near!r}? Enter takes it" if near else ""
            self.console.print(
                f"[red]  {escape(field)}: {escape(repr(typed))} is not one of the choices "
                f"(1-{len(options)} or {escape(', '.join(options))}){escape(hint)}[/]"
            )
            offered = near or options[0]

    def problem(self, field: str, value: object, known: Mapping[str, object]) -> str | None:
        """What is wrong with a typed answer among the answers before it, or None."""
        problem = answer_problem(field, value, known)
        message = problem.explain() if problem is not None else None
        if message is None and field == "service_name":
            message = folder_problem(self.output, value)
        return message

    def ask(self, field: str, default: Any, prefix: str, known: Mapping[str, object]) -> Any:
        """The answer, asked until it is valid; a near miss of a valid answer (``inc-orders``
        for ``#inc-orders``) is offered as the next default, which Enter takes."""
        from rich.markup import escape

        offered = default
        while True:
            value = self.read(field, offered, prefix, known)
            message = self.problem(field, value, known)
            if message is None:
                return value
            fix = near_miss(value, lambda candidate: self.problem(field, candidate, known))
            if fix is not None:
                message += f". Did you mean {fix!r}? Enter takes it"
            self.console.print(f"[red]  {escape(field)}: {escape(message)}[/]")
            offered = default if fix is None else fix


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
    derived = NO_DERIVED
    if request.from_sources:
        derived = pick_workload(request, interactive)
        show_derived(derived, given.answers)
    answers: Mapping[str, object] = {**derived.answers, **given.answers}
    if interactive:
        from cookiecutter.generate import generate_context

        context = generate_context(context_file=str(TEMPLATE_ROOT / "cookiecutter.json"))
        with cookiecutter_render.template_on_path(TEMPLATE_ROOT):
            answers = Asker(context, given, output, derived).ask_all()
    # Checked with the rendered answers, so that every problem is said at once.
    missing = deciding_refusal(answers)
    rendered, problems = cookiecutter_render.prepare(TEMPLATE_ROOT, answers, output)
    if rendered is None or problems or missing:
        raise Refused(missing + rendered_problems(problems, answers))
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
    saved = save_answers(target)
    print(f"Rendered {target}")
    print(next_steps(target, saved))
    return EXIT_OK


ANSWERS_SUFFIX = ".answers.yaml"


def save_answers(target: Path) -> tuple[Path, bool]:
    """The service's answers as ``new --answers`` and a fleet entry take them, in
    ``<folder>.answers.yaml`` beside its folder: every answer its pages use, from the
    ``.cruft.json`` just written (cookiecutter's rendered answers). An existing file is left as
    it is. (its path, whether it was written)."""
    import yaml

    from service_runbooks.cruft_state import read_cruft_state

    path = target.with_name(target.name + ANSWERS_SUFFIX)
    state = read_cruft_state(target) or {}
    rendered = state.get("context", {}).get("cookiecutter", {})
    answers = {f: rendered[f] for f in questions() if f in rendered and applies(f, rendered)}
    if os.path.lexists(path):
        return path, False
    text = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text(text, encoding="utf-8")
    return path, True


def next_steps(target: Path, saved: tuple[Path, bool]) -> str:
    """What to do with the new service, on standard output after "Rendered"."""
    answers, written = saved
    kept = "saved in" if written else "not saved: a file is already at"
    return "\n".join(
        [
            "Next steps:",
            # mkdocs serve with the TechDocs plugin the site is built with (docs/what-you-get.md,
            # "What a service gets").
            f"  1. Preview the runbooks: mkdocs serve -f {target / 'mkdocs.yml'}"
            " (with mkdocs-techdocs-core installed)",
            # Backstage: a component is added by registering the URL of its catalog-info.yaml
            # (https://backstage.io/docs/getting-started/register-a-component).
            f"  2. Register it in Backstage: push {target.name}/ to its repository, then "
            f"register the URL of {target.name}/catalog-info.yaml (Create, Register Existing "
            "Component); the runbooks appear under the component's Docs tab",
            f"  3. Answers {kept} {answers}: run again with service-runbooks new --answers "
            f"{answers}, or add them as one entry under services: of a fleet file for "
            "service-runbooks render",
        ]
    )
