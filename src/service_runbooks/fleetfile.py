"""Read a fleet file (``defaults:`` plus ``services:``) and check every entry before any render.

Everything that can be checked without rendering is checked here, for all entries at once:
the file's shape, unknown keys (cookiecutter would drop them silently), values that are not
strings, values holding Jinja delimiters (cookiecutter would evaluate them as code), and every
given answer against its rule. Answers that come from cookiecutter.json defaults are checked
after cookiecutter renders them (``cookiecutter_render.prepare``), still before anything is written.

The facts that decide which commands a page gives (``Rule.deciding``: the workload and its
name, the namespace, the GitOps layer and the Flux object's kind, the migration tool, the health
check and its details) must be given, in the entry or in ``defaults:``: cookiecutter.json's
default for one of them is a guess, so an entry without it is refused, naming each. When every
entry lacks the same one, it is said once, pointing at ``defaults:`` (or, for the workload's own
name, ``Rule.per_service``, at each entry).

An entry may say where its answers were read (``sources:``, answer name -> one string, as
``service-runbooks discover`` writes it). It is not an answer: it never reaches cookiecutter,
and ``render`` keeps it in the service's manifest (``cruft_state.Manifest.sources``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from service_runbooks import rules
from service_runbooks.errors import FleetError, FleetProblem, ParseError
from service_runbooks.rules import (
    RULES_BY_FIELD,
    Rule,
    default_answer,
    defaults_from_the_clock,
    has_jinja,
    missing_deciding,
    shown,
)

try:  # the C parser is much faster on large fleets; same results
    # Typed Any: the base is chosen at run time, which a static base class cannot say.
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

TOP_LEVEL_KEYS = ("defaults", "services")
# An entry's key that is not an answer: where its answers were read (never given to cookiecutter).
SOURCES_KEY = "sources"
SOURCE_EXAMPLE = '"deploy/overlays/prod/kustomization.yaml: namespace"'


@dataclass(frozen=True)
class Entry:
    """One service of the fleet: its answers with the defaults merged in, and their sources."""

    index: int
    line: int | None
    answers: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.answers["service_name"]

    @property
    def where(self) -> str:
        return entry_label(self.index, self.line, self.answers.get("service_name"))


def entry_label(index: int, line: int | None, name: object = None) -> str:
    label = f"services[{index}]"
    if isinstance(name, str) and name:
        label += f" {shown(name)}"
    if line is not None:
        label += f" (line {line})"
    return label


MERGE_TAG = "tag:yaml.org,2002:merge"


TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _StrictLoader(_BaseLoader):
    """A safe loader that refuses duplicate keys instead of keeping the last one silently.

    Merge keys (``<<: *defaults``, https://yaml.org/type/merge.html) work as in PyYAML's safe
    loader: the keys written in the mapping win over merged ones, which is not a duplicate.
    A key that is a list or mapping (``? [a, b]``) is refused by name, with its line.
    An unquoted date (``reviewed_on: 2026-11-02``) stays the text written: every answer is a
    string, and YAML 1.1 would make it a date object (https://yaml.org/type/timestamp.html).
    """

    # PyYAML keeps implicit resolvers per first character, in a class attribute shared with its
    # parents (https://pyyaml.org/wiki/PyYAMLDocumentation, add_implicit_resolver): copied
    # here without the timestamp one, so only this loader changes.
    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP_TAG]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "found a key that is a list or mapping; keys must be plain names",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {shown(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _service_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    """The items of the top-level ``services`` list, as YAML nodes."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "services" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _where(nodes: list[yaml.Node], mark: Any) -> str:
    """The entry holding ``mark`` (a position in the file), or "file"."""
    line = getattr(mark, "line", None)
    for index, node in enumerate(nodes):
        if line is not None and node.start_mark.line <= line <= node.end_mark.line:
            return entry_label(index, node.start_mark.line + 1)
    return "file"


def parse(text: str) -> tuple[Any, list[int]]:
    """The YAML document and the line of each service entry; ParseError when it cannot be read."""
    loader = _StrictLoader(text)
    nodes: list[yaml.Node] = []
    try:
        root = loader.get_single_node()
        nodes = _service_nodes(root)
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        where = _where(nodes, getattr(error, "problem_mark", None))
        # The loader reads a string, which PyYAML calls "<unicode string>": say only the line.
        message = str(error).replace('"<unicode string>", ', "")
        raise ParseError(where, f"is not valid YAML: {message}") from None
    except RecursionError:
        raise ParseError("file", "is nested too deeply to be a fleet file") from None
    finally:
        loader.dispose()
    return data, [node.start_mark.line + 1 for node in nodes]


def _did_you_mean(key: object) -> str:
    if isinstance(key, str):
        close = difflib.get_close_matches(key, RULES_BY_FIELD, n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""
    return ""


def _unknown_key(key: object) -> str:
    hint = _did_you_mean(key)
    return (
        f"unknown key{hint}; cookiecutter would ignore it silently. "
        f"Known keys: {', '.join(RULES_BY_FIELD)}"
    )


def _wrong_type(value: object) -> str:
    """Names the type; shows a scalar, never formats a list or mapping (it may be an alias bomb)."""
    kind = type(value).__name__
    article = "an" if kind[0] in "aeiou" else "a"
    if value is None:
        described = "empty (null)"
    elif isinstance(value, (list, dict)):
        described = f"{article} {kind}"
    else:
        described = f"{article} {kind} ({shown(value)})"
    return f"is {described}; this answer must be a string: quote it"


def _jinja(value: str) -> str:
    return (
        f"{shown(value)} contains Jinja delimiters ({{{{, {{% or {{#); cookiecutter would "
        "evaluate it as a template (code), so it is refused"
    )


def answer_problem(
    rule: Rule, value: object, context: Mapping[Any, Any] | None = None
) -> str | None:
    """What is wrong with one answer given in the fleet file, or None: ``rules.answer_problem``'s
    verdict, in a fleet file's words.

    A text answer must be a YAML string (``yes``, ``5`` or an empty value are not): the message
    says to quote it; a yes/no rule (``boolean``) takes YAML's true/false. ``context`` (the
    answers around it) decides whether a rule used by one workload or GitOps mode applies.
    """
    problem = rules.answer_problem(rule.field, value, context)
    if problem is None:
        return None
    if not rule.boolean and not isinstance(value, str):
        return _wrong_type(value)
    if not rule.boolean and has_jinja(value):
        return _jinja(value)
    return problem.explain()


def _key_name(key: object) -> str:
    return key if isinstance(key, str) and len(key) <= 40 else shown(key, 40)


def answer_problems(
    where: str, answers: Mapping[Any, Any], context: Mapping[Any, Any] | None = None
) -> list[FleetProblem]:
    """Unknown keys, wrong types, Jinja, and rule violations among the answers given here."""
    context = answers if context is None else context
    problems = []
    for key, value in answers.items():
        rule = RULES_BY_FIELD.get(key) if isinstance(key, str) else None
        message = _unknown_key(key) if rule is None else answer_problem(rule, value, context)
        if message is not None:
            problems.append(FleetProblem(where, _key_name(key), message))
    return problems


def _check_defaults(defaults: object) -> tuple[dict[str, str], list[FleetProblem]]:
    if defaults is None:
        return {}, []
    if not isinstance(defaults, dict):
        return {}, [FleetProblem("defaults", None, "must be a mapping of answers")]
    problems = answer_problems("defaults", {k: v for k, v in defaults.items() if k != SOURCES_KEY})
    if SOURCES_KEY in defaults:
        problems.append(
            FleetProblem(
                "defaults",
                SOURCES_KEY,
                "belongs to each entry (where that service's answers were read), not to defaults",
            )
        )
    if "service_name" in defaults:
        problems.append(
            FleetProblem("defaults", "service_name", "cannot be a default; name each service")
        )
    return dict(defaults), problems


def _clock_answers_missing(where: str, answers: Mapping[Any, Any]) -> list[FleetProblem]:
    """Answers whose cookiecutter.json default is the day of the render, not given here.

    The fleet file is their source of truth: left to cookiecutter, the date would be the day of
    whichever render ran last (a template change re-renders, an unchanged service is skipped).
    """
    return [
        FleetProblem(
            where,
            field,
            "is required in a fleet file (in the entry or in defaults): its default is the day "
            "of the render, which would change on its own. Rule: "
            f"{RULES_BY_FIELD[field].summary}. Example: {field}: "
            f'"{RULES_BY_FIELD[field].example}"',
        )
        for field in defaults_from_the_clock()
        if field not in answers
    ]


def source_problems(where: str, sources: object) -> list[FleetProblem]:
    """An entry's ``sources:``: a mapping of known answer names to one non-empty string each."""
    if not isinstance(sources, dict):
        return [
            FleetProblem(
                where,
                SOURCES_KEY,
                f"{_wrong_type(sources).split(';')[0]}; it must be a mapping of answer names to "
                f"where each was read, e.g. namespace: {SOURCE_EXAMPLE}",
            )
        ]
    problems = []
    for name, source in sources.items():
        key = f"{SOURCES_KEY}.{_key_name(name)}"
        if not isinstance(name, str) or name not in RULES_BY_FIELD:
            message = (
                f"is not an answer's name{_did_you_mean(name)}; sources: maps answer names to "
                f"where each was read. Known answers: {', '.join(RULES_BY_FIELD)}"
            )
            problems.append(FleetProblem(where, key, message))
        elif not isinstance(source, str):
            kind = _wrong_type(source).split(";")[0]
            message = f"{kind}; a source is one string, e.g. {SOURCE_EXAMPLE}"
            problems.append(FleetProblem(where, key, message))
        elif not source.strip():
            problems.append(FleetProblem(where, key, f"is empty; say where {name} was read"))
    return problems


def split_sources(item: Mapping[Any, Any]) -> tuple[dict[Any, Any], object]:
    """An entry's answers, and its ``sources:`` (None when it has none)."""
    return {k: v for k, v in item.items() if k != SOURCES_KEY}, item.get(SOURCES_KEY)


def deciding_problem(
    where: str, name: str, once_for_all: bool = False, give_it: str = "in the entry or in defaults:"
) -> FleetProblem:
    """A deciding answer (``Rule.deciding``) not given: its default would be a guess. The one
    wording of this refusal, for the fleet file and for ``new``."""
    rule = RULES_BY_FIELD[name]
    if not once_for_all:
        lead = f"is not given ({give_it})"
    elif rule.per_service:  # one value in defaults: would name the same object for every service
        lead = "no entry gives it: give it in each entry (it names that service's own object)"
    else:
        lead = "no entry gives it: give it once here, in defaults: (or in each entry)"
    default = default_answer(name)
    guess = (
        f"cookiecutter.json's default ({shown(default)}) would be a guess"
        if default != ""
        else "cookiecutter.json leaves it empty"
    )
    return FleetProblem(
        where,
        name,
        f"{lead}. It decides which commands the pages give, so {guess}. Rule: {rule.summary}. "
        f'Example: {name}: "{rule.example}". service-runbooks discover SOURCE... derives it '
        "from the service's deployment sources",
    )


def _check_entry(
    index: int,
    line: int | None,
    item: object,
    defaults: dict[str, str],
    seen: dict[str, str],
    said_once: frozenset[str] = frozenset(),
) -> tuple[Entry | None, list[FleetProblem]]:
    """One entry's problems; ``said_once`` are deciding answers every entry lacks, reported
    once for the whole file (``_lacked_by_all``), not here."""
    if not isinstance(item, dict):
        return None, [FleetProblem(entry_label(index, line), None, "must be a mapping of answers")]
    where = entry_label(index, line, item.get("service_name"))
    item, sources = split_sources(item)
    problems = answer_problems(where, item, {**defaults, **item})
    if sources is not None:
        problems += source_problems(where, sources)
    problems += _clock_answers_missing(where, {**defaults, **item})
    problems += [
        deciding_problem(where, name)
        for name in missing_deciding({**defaults, **item})
        if name not in said_once
    ]
    name = item.get("service_name")
    if name is None:
        problems.append(FleetProblem(where, "service_name", "is required in every entry"))
    elif isinstance(name, str) and name in seen:
        problems.append(
            FleetProblem(where, "service_name", f"{shown(name)} is already used by {seen[name]}")
        )
    if isinstance(name, str):
        seen.setdefault(name, where)
    if problems:
        return None, problems
    checked = sources if isinstance(sources, dict) else {}  # source_problems refused the rest
    return Entry(index, line, {**defaults, **item}, dict(checked)), []


def _lacked_by_all(services: list[Any], defaults: dict[str, str]) -> list[str]:
    """The deciding answers that no entry of a fleet of several gives (nor its defaults)."""
    merged = [{**defaults, **split_sources(item)[0]} for item in services if isinstance(item, dict)]
    if len(merged) < 2:
        return []
    lacked = [set(missing_deciding(answers)) for answers in merged]
    return [name for name in missing_deciding(merged[0]) if all(name in s for s in lacked)]


def check_fleet(data: object, lines: list[int]) -> tuple[list[Entry], list[FleetProblem]]:
    """The entries and every problem found in a parsed fleet file."""
    if not isinstance(data, dict):
        return [], [FleetProblem("file", None, "must be a mapping with 'defaults' and 'services'")]
    problems = [
        FleetProblem("file", str(key), f"unknown top-level key; expected {TOP_LEVEL_KEYS}")
        for key in data
        if key not in TOP_LEVEL_KEYS
    ]
    defaults, default_problems = _check_defaults(data.get("defaults"))
    problems += default_problems
    services = data.get("services")
    if not isinstance(services, list) or not services:
        problems.append(FleetProblem("file", "services", "must be a non-empty list of services"))
        return [], problems
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    said_once = _lacked_by_all(services, defaults)
    problems += [deciding_problem("defaults", name, once_for_all=True) for name in said_once]
    for index, item in enumerate(services):
        line = lines[index] if index < len(lines) else None
        entry, entry_problems = _check_entry(
            index, line, item, defaults, seen, frozenset(said_once)
        )
        problems += entry_problems
        if entry is not None:
            entries.append(entry)
    return entries, problems


def load_fleet(path: Path) -> list[Entry]:
    """Every entry of the fleet file, or FleetError listing every problem in it."""
    try:
        data, lines = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        problem = FleetProblem("file", None, f"cannot be read as UTF-8 text: {error}")
        raise FleetError(path, [problem]) from None
    except ParseError as error:
        raise FleetError(path, [FleetProblem(error.where, None, str(error))]) from None
    entries, problems = check_fleet(data, lines)
    if problems:
        raise FleetError(path, problems)
    return entries
