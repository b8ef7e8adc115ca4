"""Generate the Backstage Software Template (template.yaml) from cookiecutter.json and the rules.

Run ``python -m service_runbooks.backstage`` to rewrite ``template.yaml``; ``--check`` exits 1
instead when the file is stale (a test runs it). ``--root DIR`` works on another copy of the
template (a folder holding cookiecutter.json and template.yaml).

What the form carries, field by field:

- the question of ``__prompts__`` as its title, the rule in words as its description;
- a choice list as ``enum`` (with the prompt's labels as ``enumNames``), a boolean as a checkbox;
- every other answer as a string with ``maxLength`` and a ``pattern`` built from the rule,
  anchored, with a look-ahead that refuses Jinja delimiters whatever the rule says (Backstage
  runs no cookiecutter hook, so the form is the only guard before cookiecutter evaluates
  answers as templates);
- a default that is the day of the render (``rules.TODAY``, cookiecutter's ``now`` tag) becomes
  a required date field without a default (JSON Schema has no "today"), shown as a date
  picker (``format: date``);
- a default that is itself a cookiecutter expression (``app={{ cookiecutter.service_name }}``)
  becomes an optional field, and the step computes the value with a Nunjucks expression
  (``parameters.app_label_selector or ('app=' + parameters.service_name)``): no value the step
  hands to cookiecutter ever holds a Jinja delimiter;
- a fact that decides which commands the pages give (``Rule.deciding``: the workload and its
  name, the namespace, GitOps and the Flux object's kind, the migration tool, the health check
  and its details) is required wherever it is used, with no default: the person chooses it, as
  a fleet entry and ``new --no-input`` must give it (a default would be a guess);
- a default that is one conditional expression over earlier answers (``helm_release``'s:
  ``{{ (... if cookiecutter.flux_namespace != cookiecutter.namespace else
  cookiecutter.gitops_app) if cookiecutter.gitops == 'flux' else cookiecutter.workload_name }}``)
  is translated token by token into
  the same Nunjucks expression (Nunjucks has Jinja's inline ``if``/``else``, ``~``, ``==``,
  ``!=``, ``and``, ``or``: https://mozilla.github.io/nunjucks/templating.html#if-expression),
  each answer it reads replaced by the value the step computes for that answer; when its value
  could be longer than the rule allows, the form requires the answer wherever it is used;
- the owner is required in the form: the catalog:register step registers catalog-info.yaml,
  which the template writes only with an owner (Backstage requires ``spec.owner``).

The ``fetch:cookiecutter`` step passes every answer, plus ``_jinja2_env_vars`` and
``_new_lines``, because the skeleton folder has no cookiecutter.json of its own. It does not pass
``_extensions``: the backend cannot import ``local_extensions.py``, which only the hook needs;
so the pages it writes keep each long command on one line (``phone_lines``, the breaker that
folds them for a phone, is one of those extensions): the same commands, only wider.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service_runbooks.errors import TemplateError
from service_runbooks.rules import (
    JINJA_DELIMITERS,
    RULES_BY_FIELD,
    TEMPLATE_ROOT,
    TODAY,
    Rule,
    prompt,
    questions,
)

TEMPLATE_FILE = "template.yaml"
# Relative to template.yaml: fetch:cookiecutter renders the fetched folder inside its own
# "{{cookiecutter and 'contents'}}" folder, so pointing at the skeleton itself puts the
# service's files at the top of the new repository.
SKELETON_URL = "./{{cookiecutter.service_name}}"
# cookiecutter settings the skeleton needs and Backstage would not know otherwise.
PASSED_SETTINGS = ("_jinja2_env_vars", "_new_lines")

TEMPLATE_NAME = "service-runbooks"
TEMPLATE_OWNER = "group:default/platform-team"
TEMPLATE_TAGS = ["runbooks", "techdocs", "cookiecutter"]
ALLOWED_HOSTS = ["github.com"]

# A look-ahead that fails when a Jinja delimiter appears anywhere in the value.
NO_JINJA = r"(?![\s\S]*(?:\{\{|\{%|\{#))"


@dataclass(frozen=True)
class Page:
    """One page of the form: a title, a line of help, the answers it asks for."""

    title: str
    description: str
    fields: tuple[str, ...]


PAGES: tuple[Page, ...] = (
    Page(
        "Service",
        "The service the runbooks are for, and who owns it in the catalog.",
        ("service_name", "description", "owner", "system", "lifecycle"),
    ),
    Page(
        "Kubernetes",
        "Where the service runs and how it is deployed: every command in the runbooks and "
        "scripts is written for these answers.",
        (
            "namespace",
            "staging_namespace",
            "kube_context",
            "workload",
            "workload_name",
            "chart_workload",
            "app_label_selector",
            "rollout_timeout",
        ),
    ),
    Page(
        "GitOps and database",
        "What deploys the service from Git, and how its database schema is migrated.",
        ("gitops", "gitops_kind", "gitops_app", "flux_namespace", "helm_release", "migration_tool"),
    ),
    Page(
        "On-call",
        "Where on-call engineers look and talk during an incident.",
        (
            "health_check",
            "health_url",
            "health_check_path",
            "health_check_port",
            "health_check_scheme",
            "incident_channel",
            "pagerduty_service_id",
            "dashboard_url",
            "github_repo",
        ),
    ),
    Page(
        "Review",
        "When the runbooks were last checked against the running service, and how often "
        "they must be.",
        ("reviewed_on", "review_every_days"),
    ),
    Page(
        "Alerts",
        "Prometheus alerts for the service, each linking to its runbook page in the TechDocs.",
        (
            "alerting",
            "backstage_url",
            "prometheus_release",
            "rollouts_namespace_label",
            "slo_alerts",
            "slo_target",
            "request_metric",
            "metrics_selector",
            "metrics_namespace_label",
            "error_matcher",
            "latency_metric",
            "latency_threshold",
            "kube_prometheus_rules",
        ),
    ),
)
# Answers the form requires though cookiecutter may leave them empty: catalog:register needs
# catalog-info.yaml, written only with an owner (Backstage requires spec.owner:
# https://backstage.io/docs/features/software-catalog/descriptor-format/#specowner-required).
REQUIRED_IN_FORM = ("owner",)
# Answers no page names (say, a new option in cookiecutter.json) go on this page.
MORE_OPTIONS = Page("More options", "Further options of the runbooks.", ())
REPOSITORY_PAGE = Page("Repository", "Where to publish the new runbooks repository.", ("repoUrl",))

_COOKIECUTTER_REFERENCE = re.compile(r"\{\{\s*cookiecutter\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Characters a literal in a generated expression may not hold: quotes and backslashes would need
# escaping, and braces, '%' and '#' could join a neighbour into a Jinja delimiter.
_UNSAFE_IN_LITERAL = set("'\\{}%#")
# A default that is one expression: {{ EXPR }}, and the tokens EXPR may hold (anything else is
# an error): references to earlier answers, plain quoted literals, Jinja's operators that
# Nunjucks shares, parentheses and spaces.
_ONE_EXPRESSION = re.compile(r"\{\{\s*(.+?)\s*\}\}")
_EXPRESSION_TOKEN = re.compile(
    r"(?P<field>cookiecutter\.[A-Za-z_][A-Za-z0-9_]*)|(?P<literal>'[-A-Za-z0-9_.]*')"
    r"|(?P<operator>~|==|!=|\(|\)|\b(?:if|else|and|or|not)\b)|(?P<space>\s+)"
)


def choice_labels(cookiecutter: Mapping[str, Any], field: str) -> list[str]:
    """The prompt's label of every choice of ``field`` (the choice itself when unlabelled)."""
    labels = cookiecutter.get("__prompts__", {}).get(field, {})
    labels = labels if isinstance(labels, dict) else {}
    return [str(labels.get(choice, choice)) for choice in cookiecutter[field]]


def form_pattern(rule: Rule, *, allow_empty: bool) -> str:
    """The rule's pattern for a JSON-schema ``pattern`` (JavaScript, ``u`` flag): anchored,
    refusing Jinja delimiters, and matching the empty string when the field may be left empty."""
    body = rule.pattern if rule.pattern is not None else r"[\s\S]*"
    return f"^{NO_JINJA}(?:{body}){'?' if allow_empty else ''}$"


def default_parts(default: str, fields: Sequence[str]) -> list[tuple[str, str]] | None:
    """A default such as ``app={{ cookiecutter.service_name }}`` as parts
    ``[("text", "app="), ("field", "service_name")]``; None when it holds no expression.

    Only plain references to other answers are supported: anything else cannot be computed
    safely in the step, so it is an error.
    """
    if not any(delimiter in default for delimiter in JINJA_DELIMITERS):
        return None
    parts: list[tuple[str, str]] = []
    position = 0
    for match in _COOKIECUTTER_REFERENCE.finditer(default):
        if match.start() > position:
            parts.append(("text", default[position : match.start()]))
        if match.group(1) not in fields:
            raise TemplateError(f"default {default!r} refers to an unknown answer")
        parts.append(("field", match.group(1)))
        position = match.end()
    if position < len(default):
        parts.append(("text", default[position:]))
    for kind, value in parts:
        if kind == "text" and set(value) & _UNSAFE_IN_LITERAL:
            raise TemplateError(
                f"default {default!r}: only references like {{{{ cookiecutter.x }}}} and plain "
                f"text without {''.join(sorted(_UNSAFE_IN_LITERAL))} can be computed in Backstage"
            )
    if any(a[0] == b[0] == "field" for a, b in itertools.pairwise(parts)):
        raise TemplateError(f"default {default!r}: two references must not be adjacent")
    return parts


def expression_tokens(default: str, fields: Sequence[str]) -> list[tuple[str, str]] | None:
    """A default such as ``{{ 'a' if cookiecutter.x == 'b' else cookiecutter.y }}`` as tokens
    (kind, text), kind one of field (its answer's name), literal, operator; None when the
    default is not one conditional expression. Refuses anything the grammar does not know."""
    match = _ONE_EXPRESSION.fullmatch(default)
    if match is None or not any(f" {word} " in f" {match.group(1)} " for word in ("if", "~")):
        return None
    tokens: list[tuple[str, str]] = []
    position = 0
    text = match.group(1)
    for token in _EXPRESSION_TOKEN.finditer(text):
        if token.start() != position:
            break
        position = token.end()
        kind = token.lastgroup or ""
        if kind == "field":
            name = token.group()[len("cookiecutter.") :]
            if name not in fields:
                raise TemplateError(f"default {default!r} refers to an unknown answer")
            tokens.append(("field", name))
        elif kind != "space":
            tokens.append((kind, token.group()))
    if position != len(text):
        raise TemplateError(
            f"default {default!r}: only references to answers, plain quoted literals, "
            "~ == != and or not if else and parentheses can be computed in Backstage"
        )
    return tokens


def _field_expression(cookiecutter: Mapping[str, Any], name: str) -> str:
    """The Nunjucks expression of the value the step hands cookiecutter for answer ``name``."""
    expression = form_field(cookiecutter, name).step_value.removeprefix("${{ ")
    expression = expression.removesuffix(" }}")
    return expression if expression == f"parameters.{name}" else f"({expression})"


def tokens_expression(cookiecutter: Mapping[str, Any], tokens: list[tuple[str, str]]) -> str:
    """The Nunjucks expression of a translated default: each answer read as the step has it."""
    words = [
        _field_expression(cookiecutter, text) if kind == "field" else text for kind, text in tokens
    ]
    return "(" + " ".join(words).replace("( ", "(").replace(" )", ")") + ")"


def tokens_max_length(tokens: list[tuple[str, str]]) -> int | None:
    """A bound on the length of the expression's value, or None when an answer it gives may
    be of any length. Answers and literals next to == or != are compared, never given. Without
    ~ each branch gives one token, so the longest one bounds it; with ~ they add up."""
    lengths: list[int] = []
    for index, (kind, text) in enumerate(tokens):
        neighbours = {t for _, t in tokens[max(index - 1, 0) : index + 2] if t != text}
        if kind not in ("literal", "field") or neighbours & {"==", "!="}:
            continue
        if kind == "literal":
            lengths.append(len(text) - 2)
            continue
        limit = _rule(text).max_length
        if limit is None:
            return None
        lengths.append(limit)
    concatenates = any(text == "~" for _, text in tokens)
    return sum(lengths) if concatenates else max(lengths, default=0)


def parts_expression(cookiecutter: Mapping[str, Any], parts: list[tuple[str, str]]) -> str:
    """The Nunjucks expression that joins ``parts`` (text as literals, each answer as the step
    has it: an answer with a computed default of its own is computed too)."""
    terms = [
        f"'{value}'" if kind == "text" else _field_expression(cookiecutter, value)
        for kind, value in parts
    ]
    return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"


def parts_shown(parts: list[tuple[str, str]]) -> str:
    """The computed default in words for the form, e.g. ``app=<service_name>``."""
    return "".join(value if kind == "text" else f"<{value}>" for kind, value in parts)


@dataclass(frozen=True)
class Field:
    """One answer as the form asks for it and as the step hands it to cookiecutter."""

    name: str
    schema: dict[str, Any]
    required: bool
    step_value: str
    # JSON-schema ``if``/``then`` clauses that make this field required in some cases.
    conditions: tuple[dict[str, Any], ...] = ()


def _rule(field: str) -> Rule:
    if field not in RULES_BY_FIELD:
        raise TemplateError(f"{field}: no rule in src/service_runbooks/rules.py")
    return RULES_BY_FIELD[field]


def _boolean_field(cookiecutter: Mapping[str, Any], field: str) -> Field:
    schema = {"title": prompt(field, cookiecutter), "type": "boolean"}
    schema["default"] = cookiecutter[field]
    return Field(field, schema, required=True, step_value=f"${{{{ parameters.{field} }}}}")


def _choice_field(cookiecutter: Mapping[str, Any], field: str) -> Field:
    choices = [str(choice) for choice in cookiecutter[field]]
    schema: dict[str, Any] = {
        "title": prompt(field, cookiecutter),
        "type": "string",
        "enum": choices,
        "enumNames": choice_labels(cookiecutter, field),
    }
    rule = RULES_BY_FIELD.get(field)
    if rule is None or not rule.deciding:  # a deciding fact is chosen, never defaulted
        schema["default"] = choices[0]
    return Field(field, schema, required=True, step_value=f"${{{{ parameters.{field} }}}}")


def _computed_default_conditions(
    field: str, rule: Rule, parts: list[tuple[str, str]]
) -> tuple[dict[str, Any], ...]:
    """Make ``field`` required whenever its computed default would be longer than its rule
    allows (e.g. a 60-character service name is too long for a Helm release)."""
    if rule.max_length is None:
        return ()
    text_length = sum(len(value) for kind, value in parts if kind == "text")
    conditions = []
    for kind, source in parts:
        if kind != "field":
            continue
        source_max = _rule(source).max_length
        limit = rule.max_length - text_length
        if source_max is None or source_max > limit:
            when: dict[str, Any] = {
                "properties": {source: {"type": "string", "minLength": limit + 1}},
                "required": [source],
            }
            conditions.append({"if": _and_used(when, rule), "then": {"required": [field]}})
    return tuple(conditions)


def _used_if(rule: Rule) -> dict[str, Any] | None:
    """The JSON-schema ``if`` that holds when ``rule``'s answer is used (``Rule.only_when``)."""
    if rule.only_when is None:
        return None
    # Every condition must hold: one "properties" entry each, all of them required.
    return {
        "properties": {other: {"enum": list(choices)} for other, choices in rule.only_when},
        "required": [other for other, _ in rule.only_when],
    }


def _and_used(when: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """``when``, and also: the answer is used."""
    used = _used_if(rule)
    if used is None:
        return when
    return {
        "properties": {**when["properties"], **used["properties"]},
        "required": when["required"] + used["required"],
    }


def _only_when_used(
    field: str, rule: Rule, schema: dict[str, Any], required: bool
) -> dict[str, Any]:
    """For a rule that holds only with one workload or GitOps mode (``Rule.only_when``): the
    field itself refuses only Jinja (moved out of ``schema``); the condition returned holds it
    to its rule, and requires it, when it is used."""
    checks = {key: schema.pop(key) for key in ("pattern", "maxLength") if key in schema}
    schema["pattern"] = f"^{NO_JINJA}[\\s\\S]*$"
    then: dict[str, Any] = {"properties": {field: checks}}
    if required:
        then["required"] = [field]
    return {"if": _used_if(rule), "then": then}


def _today_field(cookiecutter: Mapping[str, Any], field: str) -> Field:
    """A date whose cookiecutter default is the day of the render: the form cannot compute
    today, so the person picks the day. react-jsonschema-form shows a string of ``format:
    date`` as a date input (https://rjsf-team.github.io/react-jsonschema-form/docs/usage/widgets/),
    which gives YYYY-MM-DD; the pattern is still the rule."""
    rule = _rule(field)
    schema: dict[str, Any] = {
        "title": prompt(field, cookiecutter),
        "type": "string",
        "format": "date",
        "description": f"{rule.summary[0].upper()}{rule.summary[1:]}. Example: {rule.example}",
        "pattern": form_pattern(rule, allow_empty=False),
    }
    if rule.max_length is not None:
        schema["maxLength"] = rule.max_length
    return Field(field, schema, required=True, step_value=f"${{{{ parameters.{field} }}}}")


def _text_field(cookiecutter: Mapping[str, Any], field: str, fields: Sequence[str]) -> Field:
    rule = _rule(field)
    default = cookiecutter[field]
    if default == TODAY:
        return _today_field(cookiecutter, field)
    if rule.deciding:
        return _deciding_field(cookiecutter, field, rule)
    tokens = expression_tokens(default, fields)
    if tokens is not None:
        return _expression_field(cookiecutter, field, rule, tokens)
    parts = default_parts(default, fields)
    description = f"{rule.summary[0].upper()}{rule.summary[1:]}. Example: {rule.example}"
    schema: dict[str, Any] = {"title": prompt(field, cookiecutter), "type": "string"}
    if parts is not None:
        # Optional in the form; left empty, the step computes what cookiecutter would.
        shown = parts_shown(parts)
        schema["description"] = f"{description}. Leave empty for {shown}."
        schema["ui:placeholder"] = shown
        schema["pattern"] = form_pattern(rule, allow_empty=True)
        step = f"${{{{ parameters.{field} or {parts_expression(cookiecutter, parts)} }}}}"
        conditions = _computed_default_conditions(field, rule, parts)
        required = False
    else:
        required = rule.required or field in REQUIRED_IN_FORM
        schema["description"] = description + ("" if required else ". Optional.")
        schema["pattern"] = form_pattern(rule, allow_empty=not required)
        if default != "":
            schema["default"] = default
        # An optional answer left empty is absent from the form's data; cookiecutter still
        # needs the key.
        fallback = "" if required else " or ''"
        step = f"${{{{ parameters.{field}{fallback} }}}}"
        conditions = ()
    if rule.max_length is not None:
        schema["maxLength"] = rule.max_length
    if rule.only_when is not None:
        conditions += (_only_when_used(field, rule, schema, required),)
        if required:  # may be left empty when unused; cookiecutter still needs the key
            step = f"${{{{ parameters.{field} or '' }}}}"
            required = False
    conditions += _narrowing_conditions(field, rule)
    return Field(field, schema, required, step, conditions)


def _deciding_field(cookiecutter: Mapping[str, Any], field: str, rule: Rule) -> Field:
    """A fact that decides which commands the pages give (``Rule.deciding``): required where it
    is used, without a default, computed or not (a default would be a guess)."""
    description = f"{rule.summary[0].upper()}{rule.summary[1:]}. Example: {rule.example}"
    schema: dict[str, Any] = {
        "title": prompt(field, cookiecutter),
        "type": "string",
        "description": f"{description}. Required: it decides which commands the runbooks give.",
        "pattern": form_pattern(rule, allow_empty=False),
    }
    if rule.max_length is not None:
        schema["maxLength"] = rule.max_length
    if rule.only_when is None:
        return Field(field, schema, True, f"${{{{ parameters.{field} }}}}")
    # Unused, it may be left empty: the step then hands cookiecutter its own default for it
    # (computed as cookiecutter computes it), which no file uses.
    conditions = (_only_when_used(field, rule, schema, True), *_narrowing_conditions(field, rule))
    step = f"${{{{ parameters.{field} or {_default_expression(cookiecutter, field)} }}}}"
    return Field(field, schema, False, step, conditions)


def _default_expression(cookiecutter: Mapping[str, Any], field: str) -> str:
    """The Nunjucks expression of cookiecutter.json's default for ``field``: a conditional
    expression or text with answers in it as the step computes them, else the literal."""
    default = str(cookiecutter[field])
    fields = questions(cookiecutter)
    tokens = expression_tokens(default, fields)
    if tokens is not None:
        return tokens_expression(cookiecutter, tokens)
    parts = default_parts(default, fields)
    if parts is not None:
        return parts_expression(cookiecutter, parts)
    if set(default) & _UNSAFE_IN_LITERAL:
        raise TemplateError(f"{field}: default {default!r} cannot be a literal in the step")
    return f"'{default}'"


def _expression_field(
    cookiecutter: Mapping[str, Any], field: str, rule: Rule, tokens: list[tuple[str, str]]
) -> Field:
    """An answer whose default is one conditional expression: optional, and computed by the
    step as cookiecutter computes it; required where used when that could break its rule."""
    read = sorted({text for kind, text in tokens if kind == "field"})
    description = f"{rule.summary[0].upper()}{rule.summary[1:]}. Example: {rule.example}"
    schema: dict[str, Any] = {"title": prompt(field, cookiecutter), "type": "string"}
    longest = tokens_max_length(tokens)
    too_long = rule.max_length is not None and (longest is None or longest > rule.max_length)
    if too_long:
        schema["description"] = (
            f"{description}. Required where used: a default computed from {', '.join(read)} "
            "could break the rule."
        )
    else:
        schema["description"] = (
            f"{description}. Leave empty for the default from {', '.join(read)}."
        )
        schema["ui:placeholder"] = f"computed from {', '.join(read)}"
    schema["pattern"] = form_pattern(rule, allow_empty=not too_long)
    if rule.max_length is not None:
        schema["maxLength"] = rule.max_length
    step = f"${{{{ parameters.{field} or {tokens_expression(cookiecutter, tokens)} }}}}"
    conditions: tuple[dict[str, Any], ...] = ()
    if rule.only_when is not None:
        conditions += (_only_when_used(field, rule, schema, too_long),)
    conditions += _narrowing_conditions(field, rule)
    return Field(field, schema, too_long and rule.only_when is None, step, conditions)


def _narrowing_conditions(field: str, rule: Rule) -> tuple[dict[str, Any], ...]:
    """The rule's narrowings (``Rule.narrowings``) as if/then clauses: where their answers hold
    (and the answer is used), a given value must also match the stricter pattern."""
    return tuple(
        {
            "if": _and_used(
                {
                    "properties": {other: {"enum": list(c)} for other, c in narrowing.when},
                    "required": [other for other, _ in narrowing.when],
                },
                rule,
            ),
            "then": {"properties": {field: {"pattern": f"^(?:{narrowing.pattern})?$"}}},
        }
        for narrowing in rule.narrowings
    )


def form_field(cookiecutter: Mapping[str, Any], field: str) -> Field:
    """How the form asks for ``field`` and how the step passes it on."""
    default = cookiecutter[field]
    if isinstance(default, bool):
        return _boolean_field(cookiecutter, field)
    if isinstance(default, list):
        return _choice_field(cookiecutter, field)
    if isinstance(default, str):
        return _text_field(cookiecutter, field, questions(cookiecutter))
    raise TemplateError(f"{field}: a default of type {type(default).__name__} is not supported")


def _extra_ui(field: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Backstage's pickers for entity references, and focus on the first question."""
    if field == "service_name":
        return {**schema, "ui:autofocus": True}
    if field == "owner":
        return {
            **schema,
            "ui:field": "OwnerPicker",
            "ui:options": {"catalogFilter": {"kind": ["Group", "User"]}},
        }
    if field == "system":
        return {
            **schema,
            "ui:field": "EntityPicker",
            "ui:options": {"catalogFilter": {"kind": "System"}, "defaultKind": "System"},
        }
    return schema


def repository_field() -> Field:
    """Where publish:github creates the repository (never handed to cookiecutter)."""
    schema = {
        "title": "Repository location",
        "description": "The new repository for the runbooks, e.g. acme/payments-api-runbooks.",
        "type": "string",
        "pattern": f"^{NO_JINJA}[\\s\\S]+$",
        "maxLength": 500,
        "ui:field": "RepoUrlPicker",
        "ui:options": {"allowedHosts": ALLOWED_HOSTS},
    }
    return Field("repoUrl", schema, required=True, step_value="${{ parameters.repoUrl }}")


def pages(cookiecutter: Mapping[str, Any]) -> list[tuple[Page, list[Field]]]:
    """The form's pages with their fields; answers no page names go on "More options"."""
    fields = questions(cookiecutter)
    placed = [name for page in PAGES for name in page.fields]
    if unknown := sorted(set(placed) - set(fields)):
        raise TemplateError(f"PAGES name answers cookiecutter.json does not have: {unknown}")
    result = [(page, [form_field(cookiecutter, name) for name in page.fields]) for page in PAGES]
    if rest := [name for name in fields if name not in placed]:
        result.append((MORE_OPTIONS, [form_field(cookiecutter, name) for name in rest]))
    result.append((REPOSITORY_PAGE, [repository_field()]))
    return result


def page_schema(page: Page, fields: list[Field]) -> dict[str, Any]:
    """One page of ``spec.parameters``: a JSON schema over the answers it asks for."""
    schema: dict[str, Any] = {"title": page.title, "description": page.description}
    required = [field.name for field in fields if field.required]
    if required:
        schema["required"] = required
    schema["properties"] = {field.name: _extra_ui(field.name, field.schema) for field in fields}
    conditions = [condition for field in fields for condition in field.conditions]
    if len(conditions) == 1:
        schema.update(conditions[0])
    elif conditions:
        schema["allOf"] = conditions
    return schema


def step_values(cookiecutter: Mapping[str, Any], form: list[tuple[Page, list[Field]]]) -> dict:
    """The ``values`` of the fetch:cookiecutter step: every answer, then the settings."""
    by_name = {field.name: field for _, fields in form for field in fields}
    values: dict[str, Any] = {name: by_name[name].step_value for name in questions(cookiecutter)}
    for setting in PASSED_SETTINGS:
        if setting in cookiecutter:
            values[setting] = cookiecutter[setting]
    return values


def template(cookiecutter: Mapping[str, Any]) -> dict[str, Any]:
    """The whole Template entity."""
    form = pages(cookiecutter)
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {
            "name": TEMPLATE_NAME,
            "title": "Service runbooks",
            "description": (
                "Operational runbooks (TechDocs), safe helper scripts and a catalog entry for "
                "one service, with every command written for its tooling."
            ),
            "tags": TEMPLATE_TAGS,
        },
        "spec": {
            "owner": TEMPLATE_OWNER,
            "type": "service",
            "parameters": [page_schema(page, fields) for page, fields in form],
            "steps": [
                {
                    "id": "fetch",
                    "name": "Render the runbooks",
                    "action": "fetch:cookiecutter",
                    "input": {"url": SKELETON_URL, "values": step_values(cookiecutter, form)},
                },
                {
                    "id": "publish",
                    "name": "Publish to GitHub",
                    "action": "publish:github",
                    "input": {
                        "allowedHosts": ALLOWED_HOSTS,
                        "repoUrl": "${{ parameters.repoUrl }}",
                        "description": "Runbooks of ${{ parameters.service_name }}",
                        "defaultBranch": "main",
                    },
                },
                {
                    "id": "register",
                    "name": "Register in the catalog",
                    "action": "catalog:register",
                    "input": {
                        "repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}",
                        "catalogInfoPath": "/catalog-info.yaml",
                    },
                },
            ],
            "output": {
                "links": [
                    {"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"},
                    {
                        "title": "Open in catalog",
                        "icon": "catalog",
                        "entityRef": "${{ steps.register.output.entityRef }}",
                    },
                ]
            },
        },
    }


HEADER = (
    "# Backstage Software Template for service-runbooks. Generated from cookiecutter.json and\n"
    "# src/service_runbooks/rules.py by `python -m service_runbooks.backstage`: do not edit by\n"
    "# hand (a test fails when this file is stale).\n"
)


class _Dumper(yaml.SafeDumper):
    """Plain YAML for people: no anchors, no folded lines (patterns stay on one line), and
    strings with line breaks double-quoted so they read as written."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render(cookiecutter: Mapping[str, Any]) -> str:
    """template.yaml's text for this cookiecutter.json."""
    body = yaml.dump(
        template(cookiecutter),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        indent=2,
    )
    return HEADER + body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service_runbooks.backstage", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if template.yaml is stale")
    parser.add_argument("--root", type=Path, default=TEMPLATE_ROOT, help="the template's folder")
    args = parser.parse_args(argv)
    cookiecutter = json.loads((args.root / "cookiecutter.json").read_text(encoding="utf-8"))
    try:
        text = render(cookiecutter)
    except TemplateError as error:
        print(error.report(), file=sys.stderr)
        return error.exit_code
    target = args.root / TEMPLATE_FILE
    current = target.read_text(encoding="utf-8") if target.exists() else None
    if args.check:
        if current != text:
            print(
                f"{target} is out of date with cookiecutter.json; "
                "run: python -m service_runbooks.backstage",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != text:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
