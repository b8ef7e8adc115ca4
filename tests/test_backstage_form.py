"""The Backstage form refuses exactly what the hook refuses, checked by Backstage's own validators.

Backstage runs no cookiecutter hook, so the form's JSON schemas are the only guard: the server
checks every new task against them (the `jsonschema` package) and the browser checks as you type
(ajv 8); both compile patterns with JavaScript's `u` flag. tests/node/form-check.mjs runs both.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from backstage_helpers import (
    FormChecker,
    fetch_input,
    form_defaults,
    form_properties,
    load_template,
)
from drawn import examples
from hostile_inputs import BAD_ANSWERS
from hypothesis import strategies as st

from service_runbooks.backstage import REQUIRED_IN_FORM
from service_runbooks.rules import RULES_BY_FIELD, Rule, has_jinja, validate

TEMPLATE = load_template()
PROPERTIES = form_properties(TEMPLATE)
BASE = form_defaults(TEMPLATE)
REQUIRED = {name for page in TEMPLATE["spec"]["parameters"] for name in page.get("required", [])}
TEXT_FIELDS = [
    name
    for name, schema in PROPERTIES.items()
    if name in RULES_BY_FIELD and schema["type"] == "string"
]
STRING_FIELDS = [name for name, schema in PROPERTIES.items() if schema["type"] == "string"]
# Fields left empty in the form whose value the step computes from other answers.
COMPUTED = [name for name, schema in PROPERTIES.items() if "ui:placeholder" in schema]
# Answers under which every rule applies (a Helm release is used only with the helm workload,
# a GitOps app only with GitOps, a Flux namespace only with Flux: ``Rule.only_when``).
EVERY_RULE_USED = {"workload": "helm", "gitops": "flux"}
# Answers a rule needs where it is used, typed in (the form requires a Helm release with the
# helm workload; the health check's answers are used with their own kind, see used_for()).
FILLED = {
    **{
        field: RULES_BY_FIELD[field].example
        for field in ("helm_release", "health_url", "health_check_path", "health_check_port")
    },
    "gitops_kind": "helmrelease",  # the kind a helm workload under Flux needs
}
# The defaults with every rule used (typed() adds the computed fields).
USED = {**BASE, **EVERY_RULE_USED, **FILLED}
CONDITIONAL = [rule.field for rule in RULES_BY_FIELD.values() if rule.only_when is not None]
# Required where used, and every rule is used with typed().
REQUIRED |= {f for f in CONDITIONAL if RULES_BY_FIELD[f].required and f not in COMPUTED}


@functools.cache
def typed() -> dict[str, object]:
    """The defaults with the computed fields typed in, so that each field is judged on its own.
    Computed on first use, not at import: rendering runs Node, and collecting needs no Node."""
    return {**USED, **{name: fetch_input(TEMPLATE, USED)["values"][name] for name in COMPUTED}}


def used_for(field: str) -> dict[str, object]:
    """typed(), with every condition of ``field``'s rule met: no one workload uses every rule (a
    Rollouts label is an argo-rollout answer, a chart's workload a helm one)."""
    rule = RULES_BY_FIELD.get(field)
    met = {other: choices[0] for other, choices in (rule.only_when or ())} if rule else {}
    return {**typed(), **met}


@pytest.fixture(scope="module")
def form() -> Iterator[FormChecker]:
    checker = FormChecker()
    yield checker
    checker.close()


def form_accepts(form: FormChecker, field: str, value: str | None) -> bool:
    """Whether both validators accept the default answers with ``field`` set (None: left empty)."""
    values = without(field)
    if value is not None:
        values[field] = value
    verdict = form.check(values)
    assert verdict.server == verdict.browser, (field, value, verdict.errors)
    return verdict.server


def hook_accepts(field: str, value: str) -> bool:
    """The hook's verdict on ``value`` where its rule applies (as with ``typed()``), with the
    narrowings the answers around it bring (a helm workload under Flux: a HelmRelease)."""
    return RULES_BY_FIELD[field].verdict(value, used_for(field)) is None


def hook_accepts_in(answers: dict[str, object]) -> bool:
    return validate({**answers, "publish_techdocs": True}) == []


def test_every_pattern_compiles_with_the_u_flag_and_the_defaults_pass(form: FormChecker) -> None:
    assert form.summary["patternErrors"] == []
    verdict = form.check(BASE)
    assert verdict.server and verdict.browser, verdict.errors


# Characters where Python and JavaScript regular expressions, or YAML, tend to differ.
SPECIAL = (
    "{}%#\t\n\r \x00\x07\x1f\x7f\x85\xa0\u1680\u2028\u2029\u202f\u3000\ufeff\ufffe\uffff"
    "\u0430é中🔴-_.:/@=,?&'\"\\$`;!()[]*+~"
)
# Lone surrogates are left out (codec="utf-8"): the description rule accepts them although no
# UTF-8 file can hold one, and the server's jsonschema counts a lone low surrogate as no
# character at all, so the two sides may disagree there (reported; the rule is the core's).
TEXT = st.text(
    st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8")), min_size=1, max_size=24
)


def _splice(parts: tuple[str, int, str]) -> str:
    valid, at, noise = parts
    at %= len(valid) + 1
    return valid[:at] + noise + valid[at:]


def candidates(rule: Rule) -> st.SearchStrategy[str]:
    """Strings near the rule's border: valid ones, valid ones with noise spliced in, noise."""
    options = [TEXT]
    if rule.choices:
        options.append(st.sampled_from(rule.choices))
        options.append(st.sampled_from(rule.choices).map(str.upper))
    if rule.pattern is not None:
        valid = st.from_regex(rule.pattern, fullmatch=True)
        options += [valid, st.tuples(valid, st.integers(0, 999), TEXT).map(_splice)]
    return st.one_of(options).filter(bool)


def agreement(form: FormChecker, field: str, values: list[str]) -> list[tuple[str, bool, bool]]:
    """(value, form, hook) for every value on which the form and the hook disagree, shortest
    first; also fails when the server and the browser disagree."""
    batch = [{**without(field), field: value} for value in values]
    verdicts = form.check_many(batch)
    split = [value for value, v in zip(values, verdicts, strict=True) if v.server != v.browser]
    assert split == [], f"server and browser disagree on {split[:5]!r}"
    wrong = [
        (value, verdict.server, hook_accepts(field, value))
        for value, verdict in zip(values, verdicts, strict=True)
        if verdict.server != hook_accepts(field, value)
    ]
    return sorted(wrong, key=lambda item: len(item[0]))


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_form_accepts_exactly_what_the_hook_accepts(form: FormChecker, field: str) -> None:
    values = examples(candidates(RULES_BY_FIELD[field]), 100)
    assert any(hook_accepts(field, v) for v in values) and not all(
        hook_accepts(field, v) for v in values
    ), "the examples should land on both sides of the rule"
    assert agreement(form, field, values)[:5] == []


LENGTHS = [
    ("service_name", "a" * 63),
    ("service_name", "a" * 64),
    ("description", "x" * 300),
    ("description", "x" * 301),
    ("description", "🔴" * 300),  # 600 UTF-16 units: limits count characters on both sides
    ("description", "🔴" * 301),
    ("owner", "group:" + "a" * 130 + "/" + "b" * 63),
    ("owner", "group:" + "a" * 131 + "/" + "b" * 63),
    ("helm_release", "r" * 53),
    ("helm_release", "r" * 54),
    ("kube_context", "c" * 253),
    ("kube_context", "c" * 254),
    ("incident_channel", "#" + "i" * 80),
    ("incident_channel", "#" + "i" * 81),
    ("rollout_timeout", "9999s"),
    ("rollout_timeout", "10000s"),
    ("description", "ends with a newline\n"),  # JavaScript's $ is not Python's $
    ("service_name", "payments-api\n"),
]


@pytest.mark.parametrize(("field", "value"), LENGTHS, ids=[f"{f}-{len(v)}" for f, v in LENGTHS])
def test_limits_agree_at_the_border(form: FormChecker, field: str, value: str) -> None:
    assert agreement(form, field, [value]) == []


@pytest.mark.parametrize(
    ("field", "value", "why"), BAD_ANSWERS, ids=[f"{f}-{w}" for f, _, w in BAD_ANSWERS]
)
def test_the_core_tests_hostile_inputs_are_refused_by_form_and_hook(
    form: FormChecker, field: str, value: str, why: str
) -> None:
    assert not hook_accepts(field, value)
    assert not form_accepts(form, field, value)


PAYLOADS = [
    "{{ 7 * 7 }}",
    '{{ cycler.__init__.__globals__.os.popen("id").read() }}',
    "{% raw %}x{% endraw %}",
    "{%- if true -%}x{%- endif -%}",
    "{# comment #}",
    "{{x}}",
    "{%x",
    "{#",
    "${{ parameters.owner }}",
]


def _variants(example: str, payload: str) -> list[str]:
    middle = len(example) // 2
    return [
        payload,
        example + payload,
        payload + example,
        example[:middle] + payload + example[middle:],
    ]


def without(field: str) -> dict[str, object]:
    return {key: item for key, item in used_for(field).items() if key != field}


@pytest.mark.parametrize("field", STRING_FIELDS)
def test_template_injection_is_refused_in_every_string_field(form: FormChecker, field: str) -> None:
    rule = RULES_BY_FIELD.get(field)
    example = rule.example if rule else "github.com?owner=acme&repo=x"
    values = [value for payload in PAYLOADS for value in _variants(example, payload)]
    verdicts = form.check_many([{**without(field), field: value} for value in values])
    accepted = [v for v, verdict in zip(values, verdicts, strict=True) if verdict.server]
    accepted += [v for v, verdict in zip(values, verdicts, strict=True) if verdict.browser]
    assert accepted == []
    if rule is not None:
        assert not [value for value in values if hook_accepts(field, value)]


def test_empty_answers_mean_what_they_mean_to_cookiecutter(form: FormChecker) -> None:
    """Left empty (absent, or given as ''): refused when required, allowed when optional, and
    computed when cookiecutter's default is an expression."""
    around = {field: without(field) for field in TEXT_FIELDS}
    absent = form.check_many([around[field] for field in TEXT_FIELDS])
    empty = form.check_many([{**around[field], field: ""} for field in TEXT_FIELDS])
    for field, gone, blank in zip(TEXT_FIELDS, absent, empty, strict=True):
        assert gone.server == gone.browser == blank.server == blank.browser, field
        assert gone.server == (field not in REQUIRED), field
        rule = RULES_BY_FIELD[field]
        optional = not rule.required and field not in REQUIRED_IN_FORM
        assert gone.server == (optional or field in COMPUTED), field


def test_computed_answers_pass_the_hook_or_the_form_asks_for_them(form: FormChecker) -> None:
    """With the computed fields left empty, the form accepts a service name exactly when the
    values the step computes pass the hook (a 54-character name is too long for a Helm release,
    so then the form requires one, as the hook would)."""
    names = examples(st.from_regex(RULES_BY_FIELD["service_name"].pattern, fullmatch=True), 150)
    names += ["a" * 53, "a" * 54, "a" * 63]
    empty = {key: value for key, value in USED.items() if key not in COMPUTED}
    batch = [{**empty, "service_name": name} for name in names]
    verdicts = form.check_many(batch + [{**p, "helm_release": "payments"} for p in batch])
    assert all(v.server == v.browser for v in verdicts)
    for parameters, verdict in zip(batch, verdicts, strict=False):
        values = fetch_input(TEMPLATE, parameters)["values"]
        assert not any(has_jinja(values[field]) for field in COMPUTED)
        computed_ok = all(hook_accepts(field, values[field]) for field in COMPUTED)
        assert verdict.server == computed_ok == hook_accepts_in(values), parameters["service_name"]
    assert all(v.server for v in verdicts[len(batch) :]), "a given Helm release is enough"
    assert {len(name) > 53 for name in names} == {True, False}


@pytest.mark.parametrize("workload", ["deployment", "statefulset", "argo-rollout"])
def test_a_63_character_name_needs_no_helm_release_without_helm(
    form: FormChecker, workload: str
) -> None:
    """Issue 11 item 11: the unused Helm release's rule is not applied to its computed value."""
    empty = {key: value for key, value in BASE.items() if key not in COMPUTED}
    parameters = {**empty, "service_name": "a" * 63, "workload": workload}
    verdict = form.check(parameters)
    assert verdict.server and verdict.browser, verdict.errors
    assert hook_accepts_in(fetch_input(TEMPLATE, parameters)["values"])
    # Negative control: with the helm workload the same name needs a release name.
    assert not form.check({**parameters, "workload": "helm"}).server


# Each condition of each conditional answer: unmet alone, the answer is unused. Only text answers
# are compared: a yes/no answer is a checkbox (always a boolean, never text to hold to a rule),
# and a choice keeps its list in the form even where unused (its default is one of them, so
# nothing is refused that a person could mean).
CONDITIONS = [
    (field, other, choices)
    for field in CONDITIONAL
    if not RULES_BY_FIELD[field].boolean and not RULES_BY_FIELD[field].choices
    for other, choices in RULES_BY_FIELD[field].only_when or ()
]


@pytest.mark.parametrize(("field", "other", "choices"), CONDITIONS)
def test_an_unused_answer_is_held_only_to_no_jinja_by_form_and_hook(
    form: FormChecker, field: str, other: str, choices: tuple[object, ...]
) -> None:
    unused = next(c for c in RULES_BY_FIELD[other].choices or (True, False) if c not in choices)
    values = ["", "Not Valid!", "x" * 400, "{{ 7 * 7 }}"]
    batch = [{**typed(), other: unused, field: value} for value in values]
    verdicts = form.check_many(batch)
    for answers, verdict in zip(batch, verdicts, strict=True):
        assert verdict.server == verdict.browser == hook_accepts_in(answers), answers[field]
    assert [v.server for v in verdicts] == [True, True, True, False]


DECIDING_FIELDS = sorted(field for field, rule in RULES_BY_FIELD.items() if rule.deciding)


@pytest.mark.parametrize("field", DECIDING_FIELDS)
def test_a_deciding_fact_is_required_where_it_is_used(form: FormChecker, field: str) -> None:
    """Each fact that decides which commands the pages give is the person's choice: left out
    where it is used, the form refuses (it has no default to fall back on); given, it passes;
    where it is unused (another workload, GitOps tool or health check), it is not asked for."""
    used = used_for(field)
    assert not form_accepts(form, field, None), "a deciding fact left out was accepted"
    assert form_accepts(form, field, str(used[field]))  # negative control: given
    rule = RULES_BY_FIELD[field]
    for other, choices in rule.only_when or ():
        unused = next(c for c in RULES_BY_FIELD[other].choices if c not in choices)
        verdict = form.check({**without(field), other: unused})
        assert verdict.server and verdict.browser, (field, other, verdict.errors)
