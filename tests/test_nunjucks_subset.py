"""The small ${{ }} evaluator the Backstage tests use: Backstage's rules, its limits, and agreement
with Jinja2 (the language Nunjucks copies) on every expression template.yaml holds."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment, StrictUndefined
from matrix import ROOT
from nunjucks_subset import (
    UNDEFINED,
    Concat,
    Literal,
    Or,
    Ref,
    Unsupported,
    expressions,
    parse_expression,
    refs,
    render_input,
    render_string,
)

TEMPLATE = yaml.safe_load((ROOT / "template.yaml").read_text(encoding="utf-8"))
STEPS = TEMPLATE["spec"]["steps"]
FIELDS = [name for page in TEMPLATE["spec"]["parameters"] for name in page["properties"]]


def test_parses_the_subset() -> None:
    assert parse_expression(" parameters.a or ('app=' + parameters.b) ") == Or(
        Ref(("parameters", "a")), Concat((Literal("app="), Ref(("parameters", "b"))))
    )


@pytest.mark.parametrize(
    "source",
    [
        "parameters.a | dump",
        "parameters.a == 'x'",
        "parameters['a']",
        "'it\\'s'",
        "parameters.a and parameters.b",
        "(parameters.a",
        "parameters.a parameters.b",
        "",
    ],
)
def test_refuses_anything_outside_the_subset(source: str) -> None:
    with pytest.raises(Unsupported):
        parse_expression(source)


@pytest.mark.parametrize("text", ["{% if x %}y{% endif %}", "a {# comment #}", "${{ a"])
def test_refuses_nunjucks_tags_in_text(text: str) -> None:
    with pytest.raises(Unsupported):
        render_string(text, {})


def test_a_lone_expression_keeps_its_type_and_undefined_drops_the_key() -> None:
    context = {"parameters": {"flag": False, "name": "x", "empty": ""}}
    assert render_string("${{ parameters.flag }}", context) is False
    assert render_string("${{ parameters.missing }}", context) is UNDEFINED
    assert render_input(
        {"a": "${{ parameters.missing }}", "b": "${{ parameters.name }}"}, context
    ) == {"b": "x"}
    assert render_input({"a": "${{ parameters.empty or '' }}"}, context) == {"a": ""}


def test_or_is_javascripts_or_and_text_around_expressions_is_kept() -> None:
    context = {"parameters": {"name": "api", "empty": "", "flag": True}}
    assert render_string("${{ parameters.empty or parameters.name }}", context) == "api"
    assert render_string("${{ parameters.missing or 'x' }}", context) == "x"
    assert render_string("${{ parameters.name or 'x' }}", context) == "api"
    assert render_string("Runbooks of ${{ parameters.name }}", context) == "Runbooks of api"
    assert render_string("on: ${{ parameters.flag }}", context) == "on: true"
    assert render_string("${{ parameters.missing }} ", context) == " "
    assert render_string("./{{cookiecutter.service_name}}", context) == (
        "./{{cookiecutter.service_name}}"
    )
    with pytest.raises(Unsupported):
        render_string("${{ 'a' + parameters.flag }}", context)


def template_strings() -> list[str]:
    """Every string of template.yaml's steps and output that holds an expression."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str) and "${{" in value:
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(STEPS)
    walk(TEMPLATE["spec"]["output"])
    return found


JINJA = Environment(
    variable_start_string="${{", variable_end_string="}}", undefined=StrictUndefined
)


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {name: st.sampled_from(["", "a", "payments-api", "x y"]) for name in FIELDS}
    ),
    st.sampled_from(["", "https://github.com/acme/x"]),
)
def test_agrees_with_jinja2_on_every_expression_of_template_yaml(
    parameters: dict[str, str], output: str
) -> None:
    """Jinja2 and Nunjucks agree on literals, references, `or` and `+` over defined strings."""
    context = {
        "parameters": parameters,
        "steps": {
            step["id"]: {
                "output": {"remoteUrl": output, "repoContentsUrl": output, "entityRef": output}
            }
            for step in STEPS
        },
    }
    for text in template_strings():
        expected = JINJA.from_string(text).render(context)
        ours = render_string(text, context)
        assert (ours if ours is not UNDEFINED else "") == expected, text


def test_every_expression_of_template_yaml_is_in_the_subset() -> None:
    found = [e for text in template_strings() for e in expressions(text)]
    assert found, "template.yaml has no expressions?"
    assert {path[0] for e in found for path in refs(e)} <= {"parameters", "steps"}
