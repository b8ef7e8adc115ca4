"""Read a fleet file (``defaults:`` plus ``services:``) and check every entry before any render.

Everything that can be checked without rendering is checked here, for all entries at once:
the file's shape, unknown keys (cookiecutter would drop them silently), values that are not
strings, values holding Jinja delimiters (cookiecutter would evaluate them as code), and every
given answer against its rule. Answers that come from cookiecutter.json defaults are checked
after cookiecutter renders them (``cookiecutter_render.prepare``), still before anything is written.

The facts that decide which commands a page gives (``Rule.deciding``: the workload and its
name, the namespace, the GitOps layer and the Flux object's kind, the migration tool, the health
check and its details) must be given, in the entry or in ``defaults:``: cookiecutter.json's
default for one of them is a guess, so an entry without it is refused, naming each. So must the
review date (its default is the day of the render). When every entry lacks the same one, it is
said once, pointing at ``defaults:`` (or, for the workload's own name, ``Rule.per_service``, at
each entry).

Messages are for a person who reads them once: each problem with a key names the line of that
key (in ``defaults:`` too), a mistyped key gets one suggestion (the list of every answer only
when none is close), and a value YAML read as a comment (``channel: #inc``) is said to be one.

An entry may say where its answers were read (``sources:``, answer name -> one string, as
``service-runbooks discover`` writes it). It is not an answer: it never reaches cookiecutter,
and ``render`` keeps it in the service's manifest (``cruft_state.Manifest.sources``).
"""

from __future__ import annotations

import difflib
import re
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
NULL_TAG = "tag:yaml.org,2002:null"


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


def _top_level(root: yaml.Node | None, name: str) -> yaml.Node | None:
    """The value node of the top-level key ``name``, or None."""
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == name:
            return value
    return None


def _service_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    """The items of the top-level ``services`` list, as YAML nodes."""
    services = _top_level(root, "services")
    return list(services.value) if isinstance(services, yaml.SequenceNode) else []


@dataclass(frozen=True)
class KeyPlace:
    """Where one key of a mapping of answers is written: its line (1-based), and the text YAML
    read as a comment where its value should be (``channel: #inc`` is ``channel:`` with no
    value: an unquoted ``#`` after a space starts a comment, https://yaml.org/spec/1.2.2/#66-comments)."""

    line: int
    comment: str | None = None


# ": #inc" after a key: the value YAML read as a comment (the key's value is then null).
_COMMENT_AS_VALUE = re.compile(r"\s*:[ \t]+(#.*?)\s*$")


def _key_places(node: yaml.Node | None, text_lines: list[str]) -> dict[str, KeyPlace]:
    """The place of each key written in a mapping (not merged in by ``<<``); the keys of its
    ``sources:`` as ``sources.NAME``."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    places: dict[str, KeyPlace] = {}
    for key, value in node.value:
        if key.tag == MERGE_TAG or not isinstance(key, yaml.ScalarNode):
            continue
        comment = None
        if isinstance(value, yaml.ScalarNode) and value.tag == NULL_TAG and not value.value:
            after_key = text_lines[key.end_mark.line][key.end_mark.column :]
            found = _COMMENT_AS_VALUE.match(after_key)
            comment = found.group(1) if found else None
        places[key.value] = KeyPlace(key.start_mark.line + 1, comment)
        if key.value == SOURCES_KEY:
            nested = _key_places(value, text_lines)
            places.update({f"{SOURCES_KEY}.{name}": place for name, place in nested.items()})
    return places


@dataclass(frozen=True)
class Lines:
    """Where the parts of a fleet file are written (1-based lines), for its messages: each
    entry's first line and its keys' places; the ``defaults:`` key's line and its keys'; the
    document's own keys (an answers file of ``new --answers`` is one entry)."""

    entries: list[int] = field(default_factory=list)
    entry_keys: list[dict[str, KeyPlace]] = field(default_factory=list)
    defaults: int | None = None
    defaults_keys: dict[str, KeyPlace] = field(default_factory=dict)
    top_keys: dict[str, KeyPlace] = field(default_factory=dict)

    def entry(self, index: int) -> int | None:
        return self.entries[index] if index < len(self.entries) else None

    def keys_of(self, index: int) -> dict[str, KeyPlace]:
        return self.entry_keys[index] if index < len(self.entry_keys) else {}


def _lines(root: yaml.Node | None, text: str) -> Lines:
    text_lines = text.splitlines() or [""]
    nodes = _service_nodes(root)
    defaults_line = None
    if isinstance(root, yaml.MappingNode):
        defaults_line = next(
            (key.start_mark.line + 1 for key, _ in root.value if key.value == "defaults"), None
        )
    return Lines(
        entries=[node.start_mark.line + 1 for node in nodes],
        entry_keys=[_key_places(node, text_lines) for node in nodes],
        defaults=defaults_line,
        defaults_keys=_key_places(_top_level(root, "defaults"), text_lines),
        top_keys=_key_places(root, text_lines),
    )


def _where(nodes: list[yaml.Node], mark: Any) -> str:
    """The entry holding ``mark`` (a position in the file), or "file"."""
    line = getattr(mark, "line", None)
    for index, node in enumerate(nodes):
        if line is not None and node.start_mark.line <= line <= node.end_mark.line:
            return entry_label(index, node.start_mark.line + 1)
    return "file"


def parse(text: str) -> tuple[Any, Lines]:
    """The YAML document and where its parts are written; ParseError when it cannot be read."""
    loader = _StrictLoader(text)
    nodes: list[yaml.Node] = []
    try:
        root = loader.get_single_node()
        nodes = _service_nodes(root)
        # Before constructing: PyYAML's constructor flattens merge keys (<<) into the mapping
        # nodes themselves, and a merged key would read as written on the anchor's line.
        lines = _lines(root, text)
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
    return data, lines


def _did_you_mean(key: object) -> str:
    """ " (did you mean 'owner'?)" for a near-miss of an answer's name; else every name, for a
    key that resembles none (a suggestion is enough to fix a typo, the list is noise beside it)."""
    close = difflib.get_close_matches(key, RULES_BY_FIELD, n=1) if isinstance(key, str) else []
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (no answer has a similar name; the answers: {', '.join(RULES_BY_FIELD)})"


def _unknown_key(key: object) -> str:
    return f"unknown key{_did_you_mean(key)}; cookiecutter would ignore it silently"


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


@dataclass(frozen=True)
class Scope:
    """A mapping of answers in a file, as messages name it: its label, its first line, and
    where each of its keys is written (a problem with a key names the key's own line)."""

    label: str
    line: int | None = None
    keys: Mapping[str, KeyPlace] = field(default_factory=dict)

    def place(self, key: object) -> KeyPlace | None:
        return self.keys.get(key) if isinstance(key, str) else None

    def at(self, key: object = None) -> str:
        """The label with the key's line (the mapping's when the key has none: merged in)."""
        place = self.place(key)
        line = place.line if place is not None else self.line
        return self.label if line is None else f"{self.label} (line {line})"


def _comment_as_value(key: str, comment: str) -> str:
    """An empty value whose text YAML read as a comment: say so, and how to write it (the value
    meant ends where a second comment would start: ``#inc  # ours`` means ``#inc``)."""
    meant = comment.split(" #")[0].split("\t#")[0].rstrip()
    fix = f'write it quoted: {key}: "{meant}"' if '"' not in meant else "quote it"
    return (
        f"is empty (null): YAML read {shown(comment, 60)} as a comment (an unquoted # after "
        f"a space starts one), so the key has no value; {fix}"
    )


def answer_problems(
    where: str | Scope, answers: Mapping[Any, Any], context: Mapping[Any, Any] | None = None
) -> list[FleetProblem]:
    """Unknown keys, wrong types, Jinja, and rule violations among the answers given here."""
    scope = where if isinstance(where, Scope) else Scope(where)
    context = answers if context is None else context
    problems = []
    for key, value in answers.items():
        rule = RULES_BY_FIELD.get(key) if isinstance(key, str) else None
        message = _unknown_key(key) if rule is None else answer_problem(rule, value, context)
        place = scope.place(key)
        # "#inc" reads as a value that lost its quotes; "# text" as a comment someone meant.
        meant_as_value = place is not None and re.match(r"#\S", place.comment or "")
        if message is not None and value is None and place is not None and meant_as_value:
            message = _comment_as_value(str(key), place.comment or "")
        if message is not None:
            problems.append(FleetProblem(scope.at(key), _key_name(key), message))
    return problems


def _check_defaults(defaults: object, scope: Scope) -> tuple[dict[str, str], list[FleetProblem]]:
    if defaults is None:
        return {}, []
    if not isinstance(defaults, dict):
        return {}, [FleetProblem(scope.at(), None, "must be a mapping of answers")]
    problems = answer_problems(scope, {k: v for k, v in defaults.items() if k != SOURCES_KEY})
    if SOURCES_KEY in defaults:
        problems.append(
            FleetProblem(
                scope.at(SOURCES_KEY),
                SOURCES_KEY,
                "belongs to each entry (where that service's answers were read), not to defaults",
            )
        )
    if "service_name" in defaults:
        problems.append(
            FleetProblem(
                scope.at("service_name"), "service_name", "cannot be a default; name each service"
            )
        )
    return dict(defaults), problems


def must_give_missing(answers: Mapping[Any, Any]) -> list[str]:
    """The answers a fleet file must give that ``answers`` lack: the deciding facts
    (``missing_deciding``), then those whose default is the day of the render."""
    clock = [name for name in defaults_from_the_clock() if name not in answers]
    return missing_deciding(answers) + clock


ONCE_FOR_ALL = "no entry gives it: give it once here, in defaults: (or in each entry)"


def clock_problem(where: str, name: str, once_for_all: bool = False) -> FleetProblem:
    """An answer whose cookiecutter.json default is the day of the render, not given.

    The fleet file is its source of truth: left to cookiecutter, the date would be the day of
    whichever render ran last (a template change re-renders, an unchanged service is skipped).
    """
    lead = (
        ONCE_FOR_ALL
        if once_for_all
        else "is required in a fleet file (in the entry or in defaults)"
    )
    rule = RULES_BY_FIELD[name]
    return FleetProblem(
        where,
        name,
        f"{lead}. Its default is the day of the render, which would change on its own. Rule: "
        f'{rule.summary}. Example: {name}: "{rule.example}"',
    )


def must_give_problem(where: str, name: str, once_for_all: bool = False) -> FleetProblem:
    """The refusal of one answer a fleet file must give (``must_give_missing``), not given."""
    if name in defaults_from_the_clock():
        return clock_problem(where, name, once_for_all)
    return deciding_problem(where, name, once_for_all)


def source_problems(where: str | Scope, sources: object) -> list[FleetProblem]:
    """An entry's ``sources:``: a mapping of known answer names to one non-empty string each."""
    scope = where if isinstance(where, Scope) else Scope(where)
    if not isinstance(sources, dict):
        return [
            FleetProblem(
                scope.at(SOURCES_KEY),
                SOURCES_KEY,
                f"{_wrong_type(sources).split(';')[0]}; it must be a mapping of answer names to "
                f"where each was read, e.g. namespace: {SOURCE_EXAMPLE}",
            )
        ]
    problems = []
    for name, source in sources.items():
        key = f"{SOURCES_KEY}.{_key_name(name)}"
        at = scope.at(f"{SOURCES_KEY}.{name}" if isinstance(name, str) else SOURCES_KEY)
        if not isinstance(name, str) or name not in RULES_BY_FIELD:
            message = (
                f"is not an answer's name{_did_you_mean(name)}; sources: maps answer names to "
                "where each was read"
            )
            problems.append(FleetProblem(at, key, message))
        elif not isinstance(source, str):
            kind = _wrong_type(source).split(";")[0]
            message = f"{kind}; a source is one string, e.g. {SOURCE_EXAMPLE}"
            problems.append(FleetProblem(at, key, message))
        elif not source.strip():
            problems.append(FleetProblem(at, key, f"is empty; say where {name} was read"))
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
        lead = ONCE_FOR_ALL
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
    lines: Lines,
    item: object,
    defaults: dict[str, str],
    seen: dict[str, str],
    said_once: frozenset[str] = frozenset(),
) -> tuple[Entry | None, list[FleetProblem]]:
    """One entry's problems; ``said_once`` are answers every entry lacks, reported once for the
    whole file (``_lacked_by_all``), not here."""
    line = lines.entry(index)
    if not isinstance(item, dict):
        return None, [FleetProblem(entry_label(index, line), None, "must be a mapping of answers")]
    scope = Scope(entry_label(index, None, item.get("service_name")), line, lines.keys_of(index))
    where = scope.at()
    item, sources = split_sources(item)
    problems = answer_problems(scope, item, {**defaults, **item})
    if sources is not None:
        problems += source_problems(scope, sources)
    problems += [
        must_give_problem(where, name)
        for name in must_give_missing({**defaults, **item})
        if name not in said_once
    ]
    name = item.get("service_name")
    if name is None:
        problems.append(FleetProblem(where, "service_name", "is required in every entry"))
    elif isinstance(name, str) and name in seen:
        problems.append(
            FleetProblem(
                scope.at("service_name"),
                "service_name",
                f"{shown(name)} is already used by {seen[name]}",
            )
        )
    if isinstance(name, str):
        seen.setdefault(name, where)
    if problems:
        return None, problems
    checked = sources if isinstance(sources, dict) else {}  # source_problems refused the rest
    return Entry(index, line, {**defaults, **item}, dict(checked)), []


def _lacked_by_all(services: list[Any], defaults: dict[str, str]) -> list[str]:
    """The answers a fleet must give (``must_give_missing``) that no entry of a fleet of several
    gives (nor its defaults)."""
    merged = [{**defaults, **split_sources(item)[0]} for item in services if isinstance(item, dict)]
    if len(merged) < 2:
        return []
    lacked = [set(must_give_missing(answers)) for answers in merged]
    return [name for name in must_give_missing(merged[0]) if all(name in s for s in lacked)]


def check_fleet(data: object, lines: Lines) -> tuple[list[Entry], list[FleetProblem]]:
    """The entries and every problem found in a parsed fleet file."""
    if not isinstance(data, dict):
        return [], [FleetProblem("file", None, "must be a mapping with 'defaults' and 'services'")]
    problems = [
        FleetProblem("file", str(key), f"unknown top-level key; expected {TOP_LEVEL_KEYS}")
        for key in data
        if key not in TOP_LEVEL_KEYS
    ]
    defaults_scope = Scope("defaults", lines.defaults, lines.defaults_keys)
    defaults, default_problems = _check_defaults(data.get("defaults"), defaults_scope)
    problems += default_problems
    services = data.get("services")
    if not isinstance(services, list) or not services:
        problems.append(FleetProblem("file", "services", "must be a non-empty list of services"))
        return [], problems
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    said_once = _lacked_by_all(services, defaults)
    problems += [
        must_give_problem(defaults_scope.at(), name, once_for_all=True) for name in said_once
    ]
    for index, item in enumerate(services):
        entry, entry_problems = _check_entry(
            index, lines, item, defaults, seen, frozenset(said_once)
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
