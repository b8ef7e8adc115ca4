"""Bad answers are refused by the real hook: non-zero exit, a message naming the field and its
rule, and nothing left on disk. Free text round-trips through YAML and never reaches a script."""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from hostile_inputs import BAD_ANSWERS, HOSTILE_DESCRIPTION
from matrix import ROOT
from tools import cookiecutter_config, tool

from service_runbooks.rules import RULES_BY_FIELD


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A cookiecutter config that keeps replay files out of the home folder."""
    return cookiecutter_config(tmp_path)


def refuse(answers: dict[str, str], output: Path, config_file: Path, capfd) -> str:
    """Render with cookiecutter and assert the hook refused; return what it printed."""
    output.mkdir()
    with pytest.raises(FailedHookException) as refused:
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context=answers,
            output_dir=str(output),
            config_file=str(config_file),
        )
    assert list(output.iterdir()) == [], "a refused render left files behind"
    return f"{refused.value}\n{capfd.readouterr().err}"


def where_used(field: str) -> dict[str, str]:
    """Answers under which ``field`` is used, so its rule applies (``Rule.only_when``)."""
    return {other: choices[0] for other, choices in RULES_BY_FIELD[field].only_when or ()}


@pytest.mark.parametrize(
    ("field", "value", "why"), BAD_ANSWERS, ids=[f"{f}-{w}" for f, _, w in BAD_ANSWERS]
)
def test_bad_answer_is_refused_naming_field_and_rule(
    field: str, value: str, why: str, tmp_path: Path, config_file: Path, capfd
) -> None:
    err = refuse({**where_used(field), field: value}, tmp_path / "out", config_file, capfd)
    assert f"  - {field}: " in err
    assert "Rule: " in err or "Jinja template" in err
    assert "nothing was generated" in err


def test_every_problem_is_reported_at_once(tmp_path: Path, config_file: Path, capfd) -> None:
    answers = {"owner": "bad owner", "namespace": "Bad", "health_url": "nope", "github_repo": "x"}
    err = refuse({**answers, "health_check": "url"}, tmp_path / "out", config_file, capfd)
    for field in answers:
        assert f"  - {field}: " in err
    assert "4 invalid answer(s)" in err


@pytest.mark.parametrize(("field", "value"), [("workload", "daemonset"), ("gitops", "spinnaker")])
def test_a_value_outside_the_choices_is_refused(
    field: str, value: str, tmp_path: Path, config_file: Path
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(ValueError, match=field):
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context={field: value},
            output_dir=str(output),
            config_file=str(config_file),
        )
    assert list(output.iterdir()) == []


def test_a_jinja_answer_is_refused_even_when_it_renders_to_a_valid_value(
    tmp_path: Path, config_file: Path, capfd
) -> None:
    # "{{ 'team-' ~ 'x' }}" renders to "team-x", a valid owner: only the hook's look at the
    # answer as given catches it.
    err = refuse({"owner": "{{ 'team-' ~ 'x' }}"}, tmp_path / "out", config_file, capfd)
    assert "owner: was given as a Jinja template" in err


def test_free_text_round_trips_through_yaml(render) -> None:
    # (That it never reaches a script: tests/test_scripts.py.)
    service = render({"description": HOSTILE_DESCRIPTION, "owner": "team-payments"})
    catalog = yaml.safe_load((service / "catalog-info.yaml").read_text(encoding="utf-8"))
    assert catalog["metadata"]["description"] == HOSTILE_DESCRIPTION
    mkdocs = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    # Stored for the HTML attribute the theme writes it into (tests/test_hostile_text.py).
    assert html.unescape(mkdocs["site_description"]) == HOSTILE_DESCRIPTION
    assert '"' not in mkdocs["site_description"]


def run_cookiecutter_cli(
    cwd: Path, config_file: Path, output: str, *answers: str
) -> subprocess.CompletedProcess[str]:
    """The real cookiecutter command line, as a user runs it."""
    options = ["--no-input", "--config-file", str(config_file), "-o", output]
    return subprocess.run(
        [tool("cookiecutter"), *options, str(ROOT), *answers],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


# Issue 11 items 4 and 12: names cookiecutter would turn into folders before the hook runs.
FOLDER_NAMES = [
    ("a/b", "is not valid"),
    ("../escape/x", "is not valid"),
    ("ABS/deep/x", "is not valid"),  # ABS: an absolute folder outside the output
    ("{# c #}", "was given as a Jinja template"),
    ("a" * 300, "is 300 characters long"),
]


@pytest.mark.parametrize(
    ("name", "reason"), FOLDER_NAMES, ids=["slash", "dotdot", "abs", "comment", "300"]
)
def test_the_cookiecutter_cli_refuses_a_folder_name_before_creating_anything(
    tmp_path: Path, config_file: Path, name: str, reason: str
) -> None:
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    name = name.replace("ABS", str(tmp_path / "abs"))
    before = files_under(tmp_path)
    result = run_cookiecutter_cli(work, config_file, "out", f"service_name={name}")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "  - service_name: " in result.stdout and reason in result.stdout
    assert "nothing was generated" in result.stdout
    after = [f for f in files_under(tmp_path) if not f.startswith("replay")]
    assert after == [f for f in before if not f.startswith("replay")]


def test_the_cookiecutter_cli_refuses_an_output_that_is_a_file(
    tmp_path: Path, config_file: Path
) -> None:
    (tmp_path / "afile").write_text("mine\n")
    result = run_cookiecutter_cli(tmp_path, config_file, "afile")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "--output-dir:" in result.stdout and "is not a folder" in result.stdout
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_a_valid_answer_still_renders_with_the_cli(tmp_path: Path, config_file: Path) -> None:
    """Negative control for the refusals above: same command, a good name."""
    result = run_cookiecutter_cli(tmp_path, config_file, "out", "service_name=ok-name")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "ok-name" / "mkdocs.yml").is_file()


def test_chart_workload_is_checked_for_every_helm_service(
    tmp_path: Path, config_file: Path
) -> None:
    """Pages and scripts read chart_workload (a StatefulSet's forced rollback), so it is checked
    with or without alerts (rules.py, only_when); another workload does not read it."""
    helm = ("service_name=orders", "workload=helm", "alerting=false")
    refused = run_cookiecutter_cli(tmp_path, config_file, "odd", *helm, "chart_workload=x")
    assert refused.returncode != 0 and "chart_workload:" in refused.stdout + refused.stderr
    # Negative control: a Deployment service neither checks nor reads it.
    other = ("service_name=orders", "workload=deployment", "chart_workload=x")
    unused = run_cookiecutter_cli(tmp_path, config_file, "other", *other)
    assert unused.returncode == 0, unused.stdout + unused.stderr
