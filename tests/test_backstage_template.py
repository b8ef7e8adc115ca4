"""template.yaml: generated from cookiecutter.json and the rules, accepted by Backstage's Template
validator, rendered by npm's nunjucks configured as Backstage's scaffolder configures it
(tests/node/render-template.mjs) into the answers cookiecutter would compute, and unable to hand
cookiecutter a template to evaluate."""

from __future__ import annotations

import copy
import itertools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from backstage_helpers import (
    ABSENT,
    REPO_URL,
    TEMPLATE_PATH,
    TYPED_BY_HAND,
    RenderError,
    fetch_input,
    fetch_step,
    form_defaults,
    form_properties,
    load_template,
    nunjucks,
    validate_entities,
)
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from matrix import COOKIECUTTER_JSON, ROOT

from service_runbooks import backstage
from service_runbooks.rules import JINJA_DELIMITERS, RULES_BY_FIELD, TODAY, has_jinja

TEMPLATE = load_template()
PROPERTIES = form_properties(TEMPLATE)
ANSWERS = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]


def generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service_runbooks.backstage", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_template_yaml_is_current() -> None:
    assert backstage.main(["--check"]) == 0, "run: python -m service_runbooks.backstage"


def test_the_check_fails_when_cookiecutter_json_changes(tmp_path: Path) -> None:
    shutil.copy(ROOT / "cookiecutter.json", tmp_path)
    shutil.copy(TEMPLATE_PATH, tmp_path)
    assert generator("--check", "--root", str(tmp_path)).returncode == 0
    changed = json.loads((tmp_path / "cookiecutter.json").read_text(encoding="utf-8"))
    changed["staging_namespace"] = "stage"
    changed["gitops"].append("spinnaker")
    changed["publish_techdocs"] = True  # a new boolean answer
    changed["__prompts__"]["publish_techdocs"] = "Publish the runbooks to TechDocs storage?"
    (tmp_path / "cookiecutter.json").write_text(json.dumps(changed), encoding="utf-8")

    stale = generator("--check", "--root", str(tmp_path))
    assert stale.returncode == 1
    assert "out of date" in stale.stderr
    assert generator("--root", str(tmp_path)).returncode == 0
    assert generator("--check", "--root", str(tmp_path)).returncode == 0

    regenerated = load_template(tmp_path / "template.yaml")
    fields = form_properties(regenerated)
    assert fields["staging_namespace"]["default"] == "stage"
    assert fields["gitops"]["enum"] == ["none", "argocd", "flux", "spinnaker"]
    assert fields["publish_techdocs"] == {
        "title": "Publish the runbooks to TechDocs storage?",
        "type": "boolean",
        "default": True,
    }
    [more] = [p for p in regenerated["spec"]["parameters"] if "publish_techdocs" in p["properties"]]
    assert more["title"] == "More options" and more["required"] == ["publish_techdocs"]
    values = fetch_step(regenerated)["input"]["values"]
    assert values["publish_techdocs"] == "${{ parameters.publish_techdocs }}"
    parameters = {**form_defaults(regenerated), "publish_techdocs": False}
    assert fetch_input(regenerated, parameters)["values"]["publish_techdocs"] is False


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("runbook_owner", "someone", "no rule"),
        ("helm_release", "{{ cookiecutter.service_name | lower }}", "only references"),
        ("helm_release", "{{ cookiecutter.nope }}", "unknown answer"),
        ("gitops_app", "{{ cookiecutter.service_name }}{{ cookiecutter.owner }}", "adjacent"),
    ],
)
def test_the_generator_refuses_what_it_cannot_carry_into_backstage(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    changed = {**COOKIECUTTER_JSON, key: value}
    (tmp_path / "cookiecutter.json").write_text(json.dumps(changed), encoding="utf-8")
    result = generator("--root", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "template.yaml").exists()


def test_backstage_accepts_the_template_entity(tmp_path: Path) -> None:
    broken = yaml.safe_load(TEMPLATE_PATH.read_text(encoding="utf-8"))
    del broken["spec"]["steps"]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    good, bad = validate_entities([TEMPLATE_PATH, tmp_path / "broken.yaml"])
    assert good["valid"], good["message"]
    assert good["ref"] == "template:default/service-runbooks"
    assert not bad["valid"]
    assert "steps" in bad["message"]


def test_the_form_asks_what_cookiecutter_asks() -> None:
    """Same answers, questions, defaults and choices; owner and system use Backstage pickers."""
    assert sorted(PROPERTIES) == sorted([*ANSWERS, "repoUrl"])
    prompts = COOKIECUTTER_JSON["__prompts__"]
    for field in ANSWERS:
        schema, default, rule = (
            PROPERTIES[field],
            COOKIECUTTER_JSON[field],
            RULES_BY_FIELD.get(field),
        )
        prompt = prompts[field]
        assert schema["title"] == (prompt["__prompt__"] if isinstance(prompt, dict) else prompt)
        if rule is not None and rule.deciding:  # chosen where used, never a default (a guess)
            assert "default" not in schema and "ui:placeholder" not in schema, field
            assert schema.get("enum", default) == default, field
            required = next(p for p in TEMPLATE["spec"]["parameters"] if field in p["properties"])
            used_only_some_times = rule.only_when is not None
            assert (field in required.get("required", [])) != used_only_some_times, field
        elif isinstance(default, bool):
            assert schema["type"] == "boolean" and schema["default"] is default
        elif isinstance(default, list):
            assert schema["enum"] == default and schema["default"] == default[0]
            assert schema["enumNames"] == [prompt[choice] for choice in default]
        elif default == TODAY:  # the form cannot compute today: a date picker, no default
            assert "default" not in schema and schema["format"] == "date"
            pages = TEMPLATE["spec"]["parameters"]
            assert field in next(p for p in pages if field in p["properties"])["required"]
        elif has_jinja(default):
            assert "default" not in schema
            # A reference shows as <answer>; a conditional default names the answers it reads,
            # or, when its value could break the rule, the form requires it where used.
            shown = re.sub(r"\{\{ cookiecutter\.(\w+) \}\}", r"<\1>", default)
            placeholder = schema.get("ui:placeholder", "")
            assert placeholder in shown or placeholder.startswith("computed from "), field
            assert placeholder or "Required where used" in schema["description"], field
        else:
            assert schema.get("default", "") == default
            if rule.only_when is None:  # else checked only where used (test_backstage_form)
                assert schema["maxLength"] == rule.max_length
            assert rule.summary[1:] in schema["description"]
    assert PROPERTIES["owner"]["ui:field"] == "OwnerPicker"
    assert PROPERTIES["system"]["ui:field"] == "EntityPicker"
    assert PROPERTIES["system"]["ui:options"]["catalogFilter"] == {"kind": "System"}
    assert PROPERTIES["repoUrl"]["ui:field"] == "RepoUrlPicker"


def test_steps_fetch_publish_register_and_link_to_the_results() -> None:
    steps = TEMPLATE["spec"]["steps"]
    assert [s["action"] for s in steps] == [
        "fetch:cookiecutter",
        "publish:github",
        "catalog:register",
    ]
    fetch, publish, register = steps
    assert fetch["input"]["url"] == "./{{cookiecutter.service_name}}"
    assert (ROOT / "{{cookiecutter.service_name}}").is_dir()
    assert publish["input"]["repoUrl"] == "${{ parameters.repoUrl }}"
    assert register["input"] == {
        "repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}",
        "catalogInfoPath": "/catalog-info.yaml",
    }
    links = TEMPLATE["spec"]["output"]["links"]
    assert {"url": "${{ steps.publish.output.remoteUrl }}", "title": "Repository"} in links
    assert any(link.get("entityRef") == "${{ steps.register.output.entityRef }}" for link in links)


def test_the_fetch_step_passes_every_answer_and_the_settings_but_not_extensions() -> None:
    values = fetch_step(TEMPLATE)["input"]["values"]
    assert list(values) == [*ANSWERS, "_jinja2_env_vars", "_new_lines"]
    assert values["_jinja2_env_vars"] == COOKIECUTTER_JSON["_jinja2_env_vars"]
    assert values["_new_lines"] == COOKIECUTTER_JSON["_new_lines"]
    assert "_extensions" in COOKIECUTTER_JSON and "_extensions" not in values
    assert "extensions" not in fetch_step(TEMPLATE)["input"]


GIVEN = [
    {},
    {"service_name": "orders-api"},
    {"service_name": "orders-api", "helm_release": "orders"},
]


def computed_answers_that_differ(template: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(answer, Backstage's value, cookiecutter's) wherever the fetch step, rendered for the
    form's defaults plus each of GIVEN, disagrees with cookiecutter's rendering of its json."""
    differ = []
    for given in GIVEN:
        # What the person types for a field without a form default (the review date) is an
        # answer cookiecutter gets too; the repository is not.
        typed = {k: v for k, v in TYPED_BY_HAND.items() if k != "repoUrl"}
        context = generate_context(
            str(ROOT / "cookiecutter.json"), extra_context={**typed, **given}
        )
        expected = prompt_for_config(context, no_input=True)
        computed = fetch_input(template, {**form_defaults(template), **given})["values"]
        for key in sorted(k for k in {*computed, *expected} if not k.startswith("_")):
            if computed.get(key, ABSENT) != expected.get(key, ABSENT):
                differ.append((key, computed.get(key, ABSENT), expected.get(key, ABSENT)))
    return differ


def test_the_step_computes_the_answers_cookiecutter_would() -> None:
    """Backstage's computed defaults equal cookiecutter's own rendering of cookiecutter.json."""
    assert computed_answers_that_differ(TEMPLATE) == []


@pytest.mark.parametrize(
    ("answer", "doctored"),
    [
        ("helm_release", "${{ parameters.service_name }}"),
        ("chart_workload", "${{ parameters.chart_workload or parameters.service_name }}"),
        (
            "metrics_selector",
            "${{ parameters.metrics_selector or 'job=' + parameters.service_name }}",
        ),
        ("system", "${{ parameters.system }}"),
    ],
)
def test_a_doctored_expression_computes_another_answer(answer: str, doctored: str) -> None:
    """Negative control: an expression that drops an answer, computes another default, or yields
    undefined where cookiecutter has '' is caught."""
    template = copy.deepcopy(TEMPLATE)
    fetch_step(template)["input"]["values"][answer] = doctored
    assert {key for key, _, _ in computed_answers_that_differ(template)} == {answer}


def test_a_lone_expression_keeps_its_type_and_undefined_drops_the_key() -> None:
    """NunjucksWorkflowRunner dumps a string that is one expression and parses it back, so
    booleans and numbers stay what they are; undefined (and '' from other strings) drop the key."""
    parameters = {"flag": False, "count": 3, "name": "x", "empty": ""}
    value = {
        "flag": "${{ parameters.flag }}",
        "count": "${{ parameters.count }}",
        "name": "${{ parameters.name }}",
        "missing": "${{ parameters.missing }}",
        "empty_or_empty": "${{ parameters.empty or '' }}",
        "two_missing": "${{ parameters.missing }}${{ parameters.missing }}",
        "in_a_list": ["${{ parameters.missing }}", "${{ parameters.flag }}"],
        "plain": "\n",
    }
    rendered = nunjucks().render(value, parameters).checked()
    assert rendered == {
        "flag": False,
        "count": 3,
        "name": "x",
        "empty_or_empty": "",
        "in_a_list": [None, False],  # undefined leaves a hole in a list: JSON's null
        "plain": "\n",
    }


def test_or_is_javascripts_or_and_text_around_expressions_is_kept() -> None:
    parameters = {"name": "api", "empty": "", "flag": True}
    cases = {
        "${{ parameters.empty or parameters.name }}": "api",
        "${{ parameters.missing or 'x' }}": "x",
        "${{ parameters.name or 'x' }}": "api",
        "${{ parameters.empty or ('app=' + parameters.name) }}": "app=api",
        "Runbooks of ${{ parameters.name }}": "Runbooks of api",
        "on: ${{ parameters.flag }}": "on: true",
        "${{ parameters.missing }} ": " ",
        # Only ${{ opens an expression: cookiecutter's own {{ }} is text to Backstage.
        "./{{cookiecutter.service_name}}": "./{{cookiecutter.service_name}}",
    }
    rendered = nunjucks().render_many([(text, parameters) for text in cases])
    assert {text: r.checked() for text, r in zip(cases, rendered, strict=True)} == cases


def test_a_string_backstage_cannot_render_is_kept_raw_and_reported() -> None:
    """Backstage logs the error and passes the raw text on; the tests' renderer reports it, and
    fetch_input refuses it (negative control of the check every other test relies on)."""
    text = "${{ parameters.name | nosuchfilter }}"
    rendered = nunjucks().render({"a": text}, {"name": "x"})
    assert rendered.value == {"a": text}
    assert any("filter not found: nosuchfilter" in error for error in rendered.errors)
    template = copy.deepcopy(TEMPLATE)
    fetch_step(template)["input"]["values"]["owner"] = text
    with pytest.raises(RenderError, match="nosuchfilter"):
        fetch_input(template, form_defaults(template))


def test_the_scaffolder_filters_parse_the_repository_the_form_gives() -> None:
    """parseRepoUrl and projectSlug (Backstage's default filters, what publish:github applies
    to repoUrl) read the RepoUrlPicker value the tests use; a host without an integration fails."""
    rendered = nunjucks().render_many(
        [
            ("${{ parameters.repoUrl | parseRepoUrl }}", {"repoUrl": REPO_URL}),
            ("${{ parameters.repoUrl | projectSlug }}", {"repoUrl": REPO_URL}),
            (
                "${{ parameters.owner | parseEntityRef({'defaultKind': 'group'}) }}",
                form_defaults(TEMPLATE),
            ),
            ("${{ parameters.repoUrl | parseRepoUrl }}", {"repoUrl": "example.org?owner=a&repo=b"}),
        ]
    )
    assert rendered[0].checked() == {
        "host": "github.com",
        "owner": "acme",
        "repo": "payments-api-runbooks",
    }
    assert rendered[0].value["host"] in PROPERTIES["repoUrl"]["ui:options"]["allowedHosts"]
    assert rendered[1].checked() == "acme/payments-api-runbooks"
    assert rendered[2].checked() == {
        "kind": "group",
        "namespace": "default",
        "name": "team-payments",
    }
    assert any("No matching integration" in error for error in rendered[3].errors)


def test_the_task_renders_every_step_and_the_links() -> None:
    """The whole task as the runner renders it: each step sees the earlier steps' outputs."""
    outputs = {
        "publish": {
            "remoteUrl": "https://github.com/acme/payments-api-runbooks",
            "repoContentsUrl": "https://github.com/acme/payments-api-runbooks/blob/main/",
        },
        "register": {"entityRef": "component:default/payments-api"},
    }
    run = nunjucks().run_task(TEMPLATE, form_defaults(TEMPLATE), outputs)
    assert run.errors == ()
    assert run.inputs["fetch"] == fetch_input(TEMPLATE, form_defaults(TEMPLATE))
    assert run.inputs["publish"] == {
        "allowedHosts": ["github.com"],
        "repoUrl": REPO_URL,
        "description": "Runbooks of payments-api",
        "defaultBranch": "main",
    }
    assert run.inputs["register"] == {
        "repoContentsUrl": outputs["publish"]["repoContentsUrl"],
        "catalogInfoPath": "/catalog-info.yaml",
    }
    assert run.output == {
        "links": [
            {"title": "Repository", "url": outputs["publish"]["remoteUrl"]},
            {
                "title": "Open in catalog",
                "icon": "catalog",
                "entityRef": "component:default/payments-api",
            },
        ]
    }


def test_a_step_sees_no_later_step_and_unmodelled_step_keys_are_refused() -> None:
    """Negative controls of the task renderer: a doctored register step that reads its own
    output gets undefined (the key drops), and `if`, which the script does not model, fails."""
    template = copy.deepcopy(TEMPLATE)
    register = template["spec"]["steps"][2]
    register["input"]["repoContentsUrl"] = "${{ steps.register.output.entityRef }}"
    outputs = {"register": {"entityRef": "component:default/payments-api"}}
    run = nunjucks().run_task(template, form_defaults(template), outputs)
    assert run.inputs["register"] == {"catalogInfoPath": "/catalog-info.yaml"}
    register["if"] = "${{ parameters.alerting }}"
    with pytest.raises(AssertionError, match="'if' is not modelled"):
        nunjucks().run_task(template, form_defaults(template), outputs)


def _strings(value: Any, skip: frozenset[str] = frozenset()) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in skip for s in _strings(v, skip)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item, skip)]
    return []


def test_no_default_or_help_text_holds_a_jinja_delimiter() -> None:
    texts = _strings(TEMPLATE["spec"]["parameters"], skip=frozenset({"pattern"}))
    assert texts and not [text for text in texts if has_jinja(text)]


# The nunjucks node types (nunjucks' parse tree, from render-template.mjs) the proof below knows.
# An inline if's value is its body or its else; its condition (comparisons, and, not) only
# chooses, so nothing of it reaches the value, but its references must still be form answers.
# '~' (Concat) joins as '+' does.
ANALYSED = {
    "Symbol",
    "LookupVal",
    "Literal",
    "Or",
    "Add",
    "Concat",
    "Group",
    "InlineIf",
    "Compare",
    "And",
    "Not",
}
COMPARISONS = {"==", "!="}
JOINS = {"Add", "Concat"}


def ref_path(node: dict[str, Any]) -> tuple[str, ...] | None:
    """``a.b.c`` as ("a", "b", "c"); None for anything else."""
    if node["type"] == "Symbol":
        return (node["value"],)
    if node["type"] == "LookupVal" and node["val"]["type"] == "Literal":
        base = ref_path(node["target"])
        return None if base is None else (*base, str(node["val"]["value"]))
    return None


def subexpressions(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``node`` and every node inside it, a reference counting as one node."""
    if node["type"] not in ANALYSED or (node["type"] == "LookupVal" and ref_path(node) is None):
        raise RenderError(f"nunjucks node {node['type']} is not analysed here")
    yield node
    if node["type"] in ("Or", "And", *JOINS):
        yield from subexpressions(node["left"])
        yield from subexpressions(node["right"])
    elif node["type"] == "Group":
        for child in node["children"]:
            yield from subexpressions(child)
    elif node["type"] == "InlineIf":
        for branch in ("cond", "body", "else_"):
            yield from subexpressions(node[branch])
    elif node["type"] == "Not":
        yield from subexpressions(node["target"])
    elif node["type"] == "Compare":
        yield from subexpressions(node["expr"])
        for op in node["ops"]:
            if op["type"] not in COMPARISONS:
                raise RenderError(f"nunjucks comparison {op['type']} is not analysed here")
            yield from subexpressions(op["expr"])


def operands(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The operands of a ``+`` or ``~`` chain, in order."""
    if node["type"] not in JOINS:
        return [node]
    return operands(node["left"]) + operands(node["right"])


def delimiter_risks(template: dict[str, Any]) -> list[str]:
    """Why an expression of the steps could put a Jinja delimiter into a value (empty: none can).

    Every value an expression yields is a choice of its operands, each a form answer (whose
    pattern refuses delimiters: test_backstage_form.py) or a literal; joined by '+', a delimiter
    could still straddle two operands, unless every literal is free of '{', '%' and '#' and no
    two answers are joined directly. Text outside expressions holds no delimiter either, except
    the url of the skeleton folder, which cookiecutter renders as a file name."""
    risks: list[str] = []
    properties = form_properties(template)
    earlier_steps: set[str] = set()
    answers_used: set[str] = set()
    for step in template["spec"]["steps"]:
        texts = _strings(step["input"])
        for text, tree in zip(texts, nunjucks().parse_many(texts), strict=True):
            for output in tree["children"]:
                if output["type"] != "Output":
                    risks.append(f"{text!r}: a nunjucks {output['type']} tag")
                    continue
                for node in output["children"]:
                    if node["type"] == "TemplateData":
                        if has_jinja(node["value"]) and text != backstage.SKELETON_URL:
                            risks.append(f"{text!r}: a delimiter outside expressions")
                        continue
                    try:
                        parts = list(subexpressions(node))
                    except RenderError as error:
                        risks.append(f"{text!r}: {error}")
                        continue
                    for part in parts:
                        if part["type"] == "Literal" and set(str(part["value"])) & set("{}%#"):
                            risks.append(f"{text!r}: literal {part['value']!r}")
                        if part["type"] in JOINS:
                            kinds = [o["type"] == "Literal" for o in operands(part)]
                            if any(not a and not b for a, b in itertools.pairwise(kinds)):
                                risks.append(f"{text!r}: two answers joined by '+'")
                        path = ref_path(part)
                        if path is None:
                            continue
                        if path[0] == "parameters" and len(path) == 2 and path[1] in properties:
                            answers_used.add(path[1])
                        elif (
                            path[0] != "steps"
                            or path[1] not in earlier_steps
                            or step["action"] == "fetch:cookiecutter"
                        ):
                            risks.append(f"{text!r}: {'.'.join(path)} is no form answer")
        earlier_steps.add(step["id"])
    for name in sorted(answers_used):
        schema = properties[name]
        if not (
            "enum" in schema
            or schema["type"] == "boolean"
            or schema["pattern"].startswith(f"^{backstage.NO_JINJA}")
        ):
            risks.append(f"answer {name} may hold a delimiter")
    return risks


def test_no_step_expression_can_put_a_jinja_delimiter_into_a_value() -> None:
    assert delimiter_risks(TEMPLATE) == []
    assert JINJA_DELIMITERS == ("{{", "{%", "{#")


@pytest.mark.parametrize(
    ("answer", "doctored", "risk"),
    [
        ("owner", "${{ parameters.owner + parameters.system }}", "two answers joined"),
        (
            "owner",
            "${{ (parameters.owner or '') + (parameters.system or '') }}",
            "two answers joined",
        ),
        ("system", "${{ parameters.system or '{' }}", "literal '{'"),
        ("system", "{% if parameters.system %}x{% endif %}", "nunjucks If tag"),
        ("system", "{{ parameters.system }}", "outside expressions"),
        ("system", "${{ parameters.system | lower }}", "Filter is not analysed"),
        ("system", "${{ parameters['sys' + 'tem'] }}", "LookupVal is not analysed"),
        ("system", "${{ steps.publish.output.remoteUrl }}", "is no form answer"),
        ("system", "${{ parameters.nope }}", "is no form answer"),
    ],
)
def test_a_doctored_expression_that_could_carry_a_delimiter_is_caught(
    answer: str, doctored: str, risk: str
) -> None:
    template = copy.deepcopy(TEMPLATE)
    fetch_step(template)["input"]["values"][answer] = doctored
    risks = delimiter_risks(template)
    assert risks and all(doctored in r for r in risks), risks
    assert any(risk in r for r in risks), risks


def test_an_answer_without_the_no_jinja_pattern_is_caught() -> None:
    template = copy.deepcopy(TEMPLATE)
    [page] = [p for p in template["spec"]["parameters"] if "system" in p["properties"]]
    page["properties"]["system"]["pattern"] = "^.*$"
    assert delimiter_risks(template) == ["answer system may hold a delimiter"]


def test_brace_heavy_answers_stay_plain_in_every_value() -> None:
    """Answers full of lone braces (free text allows them) give values without a delimiter."""
    parameters = {**form_defaults(TEMPLATE), "description": "a { b } % c # {"}
    values = fetch_input(TEMPLATE, parameters)["values"]
    assert values["description"] == "a { b } % c # {"
    assert not [key for key, value in values.items() if has_jinja(value)]
