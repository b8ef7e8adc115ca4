"""template.yaml: generated from cookiecutter.json and the rules, accepted by Backstage's Template
validator, and unable to hand cookiecutter a template to evaluate."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from backstage_helpers import (
    TEMPLATE_PATH,
    TYPED_BY_HAND,
    fetch_input,
    fetch_step,
    form_defaults,
    form_properties,
    load_template,
)
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from matrix import COOKIECUTTER_JSON, ROOT
from nunjucks_subset import Literal, concats, expressions, literals, parse_template, refs
from test_catalog import validate_entities

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
    changed["namespace"] = "prod"
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
    assert fields["namespace"]["default"] == "prod"
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
        if isinstance(default, bool):
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
            assert schema["ui:placeholder"] in default.replace(
                "{{ cookiecutter.service_name }}", "<service_name>"
            )
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


@pytest.mark.parametrize(
    "given",
    [{}, {"service_name": "orders-api"}, {"service_name": "orders-api", "helm_release": "orders"}],
)
def test_the_step_computes_the_answers_cookiecutter_would(given: dict[str, str]) -> None:
    """Backstage's computed defaults equal cookiecutter's own rendering of cookiecutter.json."""
    typed = {k: v for k, v in TYPED_BY_HAND.items() if k != "repoUrl"}  # no cookiecutter answer
    context = generate_context(str(ROOT / "cookiecutter.json"), extra_context={**typed, **given})
    expected = prompt_for_config(context, no_input=True)
    computed = fetch_input(TEMPLATE, {**form_defaults(TEMPLATE), **given})["values"]
    assert {k: v for k, v in computed.items() if not k.startswith("_")} == {
        k: v for k, v in expected.items() if not k.startswith("_")
    }


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


def test_no_step_expression_can_put_a_jinja_delimiter_into_a_value() -> None:
    """Every value an expression yields is a choice of its operands, each a form answer (whose
    pattern refuses delimiters: test_backstage_form.py) or a literal; joined by '+', a delimiter
    could still straddle two operands, unless every literal is free of '{', '%' and '#' and no
    two answers are joined directly. Text outside expressions holds no delimiter either, except
    the url of the skeleton folder, which cookiecutter renders as a file name."""
    spec = TEMPLATE["spec"]
    earlier_steps: set[str] = set()
    for step in spec["steps"]:
        for text in _strings(step["input"]):
            outside = [part for part in parse_template(text) if isinstance(part, str)]
            if text != backstage.SKELETON_URL:
                assert not any(has_jinja(part) for part in outside), text
        for expression in expressions(step["input"]):
            for literal in literals(expression):
                assert not set(literal) & set("{}%#"), literal
            for chain in concats(expression):
                kinds = [isinstance(operand, Literal) for operand in chain.operands]
                assert not any(not a and not b for a, b in itertools.pairwise(kinds)), expression
            for path in refs(expression):
                if path[0] == "parameters":
                    assert len(path) == 2 and path[1] in PROPERTIES, path
                else:
                    assert step["action"] != "fetch:cookiecutter", path
                    assert path[0] == "steps" and path[1] in earlier_steps, path
        earlier_steps.add(step["id"])
    for name in {p[1] for e in expressions(spec["steps"]) for p in refs(e) if p[0] == "parameters"}:
        schema = PROPERTIES[name]
        assert (
            "enum" in schema
            or schema["type"] == "boolean"
            or (schema["pattern"].startswith(f"^{backstage.NO_JINJA}"))
        ), name
    assert JINJA_DELIMITERS == ("{{", "{%", "{#")


def test_brace_heavy_answers_stay_plain_in_every_value() -> None:
    """Answers full of lone braces (free text allows them) give values without a delimiter."""
    parameters = {**form_defaults(TEMPLATE), "description": "a { b } % c # {"}
    values = fetch_input(TEMPLATE, parameters)["values"]
    assert values["description"] == "a { b } % c # {"
    assert not [key for key, value in values.items() if has_jinja(value)]
