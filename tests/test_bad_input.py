"""Bad answers are refused by the real hook: non-zero exit, a message naming the field and its
rule, and nothing left on disk. Free text round-trips through YAML and never reaches a script."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from matrix import ROOT

# (field, bad value, why) — every field, every kind of bad input the issue lists.
BAD_ANSWERS = [
    ("service_name", "payments api", "space"),
    ("service_name", "Payments-API", "capitals"),
    ("service_name", "a" * 64, "64 characters"),
    ("service_name", "1payments", "leading digit"),
    ("service_name", "-payments", "leading hyphen"),
    ("service_name", "payments-", "trailing hyphen"),
    ("service_name", "pay;rm -rf ~", "shell metacharacters"),
    ("service_name", "pay$(id)", "command substitution"),
    ("service_name", "pay'ments", "single quote"),
    ("service_name", 'pay"ments', "double quote"),
    ("service_name", "pay\nments", "newline"),
    ("service_name", "../payments", "path traversal"),
    ("service_name", "p\u0430yments", "Cyrillic look-alike a"),
    ("service_name", "payments_api", "underscore"),
    ("description", "", "empty required"),
    ("description", "bell\x07", "control character"),
    ("description", "{{ 7 * 7 }}", "Jinja expression"),
    ("owner", "", "empty required"),
    ("owner", "team payments", "space"),
    ("owner", "component:team-payments", "wrong entity kind"),
    ("system", "pay ments", "space"),
    ("namespace", "Production", "capitals"),
    ("namespace", "", "empty required"),
    ("namespace", "prod`id`", "backticks"),
    ("staging_namespace", "staging/../prod", "path traversal"),
    ("kube_context", "prod && kubectl delete ns prod", "shell metacharacters"),
    ("helm_release", "r" * 54, "54 characters"),
    ("app_label_selector", "app=payments api", "space"),
    ("app_label_selector", "app=x;id", "shell metacharacter"),
    ("health_url", "api.example.com/health", "no scheme"),
    ("health_url", "https://api.example.com/'$(id)'", "quote and substitution"),
    ("health_url", "", "empty required"),
    ("incident_channel", "incidents", "no #"),
    ("incident_channel", "#Incidents", "capitals"),
    ("gitops_app", "Payments", "capitals"),
    ("flux_namespace", "flux system", "space"),
    ("rollout_timeout", "forever", "not a duration"),
    ("pagerduty_service_id", "abc", "not a PagerDuty ID"),
    ("github_repo", "payments-api", "no org"),
    ("github_repo", "acme/payments api", "space"),
    ("dashboard_url", "javascript:alert(1)", "not http(s)"),
]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A cookiecutter config that keeps replay files out of the home folder."""
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n"
    )
    return config


def refuse(answers: dict[str, str], output: Path, config_file: Path, capfd) -> str:
    """Render with cookiecutter and assert the hook refused; return what it printed."""
    output.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context=answers,
            output_dir=str(output),
            config_file=str(config_file),
        )
    assert list(output.iterdir()) == [], "a refused render left files behind"
    return capfd.readouterr().err


@pytest.mark.parametrize(
    ("field", "value", "why"), BAD_ANSWERS, ids=[f"{f}-{w}" for f, _, w in BAD_ANSWERS]
)
def test_bad_answer_is_refused_naming_field_and_rule(
    field: str, value: str, why: str, tmp_path: Path, config_file: Path, capfd
) -> None:
    err = refuse({field: value}, tmp_path / "out", config_file, capfd)
    assert f"  - {field}: " in err
    assert "Rule: " in err or "Jinja template" in err
    assert "nothing was generated" in err


def test_every_problem_is_reported_at_once(tmp_path: Path, config_file: Path, capfd) -> None:
    answers = {"owner": "bad owner", "namespace": "Bad", "health_url": "nope", "github_repo": "x"}
    err = refuse(answers, tmp_path / "out", config_file, capfd)
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


HOSTILE_DESCRIPTION = (
    'Takes "payments": refunds, chargebacks # not a comment\n'
    "second line: - not a list\n\tindented with a tab, a backslash \\ and 'quotes'\n"
    "emoji 🔴 🟢 ⚠️ and 中文 — the end"
)


def test_free_text_round_trips_through_yaml(render) -> None:
    # (That it never reaches a script: tests/test_scripts.py.)
    service = render({"description": HOSTILE_DESCRIPTION})
    catalog = yaml.safe_load((service / "catalog-info.yaml").read_text(encoding="utf-8"))
    assert catalog["metadata"]["description"] == HOSTILE_DESCRIPTION
    mkdocs = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    assert mkdocs["site_description"] == HOSTILE_DESCRIPTION
