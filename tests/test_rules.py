"""The rules module: one rule per answer, agreeing with cookiecutter.json, right on both sides."""

from __future__ import annotations

import pytest
from matrix import COOKIECUTTER_JSON

from service_runbooks.rules import RULES, RULES_BY_FIELD, format_problems, validate

ANSWER_KEYS = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]


def test_every_answer_has_exactly_one_rule() -> None:
    assert [rule.field for rule in RULES] == ANSWER_KEYS


def test_every_answer_has_a_prompt_a_person_understands() -> None:
    prompts = COOKIECUTTER_JSON["__prompts__"]
    for key in ANSWER_KEYS:
        prompt = prompts[key]["__prompt__"] if isinstance(prompts[key], dict) else prompts[key]
        assert len(prompt.split()) >= 3, key


def test_choice_rules_take_their_choices_from_cookiecutter_json() -> None:
    for key in ANSWER_KEYS:
        if isinstance(COOKIECUTTER_JSON[key], list):
            assert RULES_BY_FIELD[key].choices == tuple(COOKIECUTTER_JSON[key])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_name", "a"),
        ("service_name", "payments-api"),
        ("service_name", "a" * 63),
        ("service_name", "api2"),
        ("owner", "team-payments"),
        ("owner", "group:default/team-payments"),
        ("owner", "user:jane.doe"),
        ("system", ""),
        ("system", "system:default/payments"),
        ("namespace", "0prod"),
        ("kube_context", ""),
        ("kube_context", "arn:aws:eks:eu-west-1:123456789012:cluster/prod"),
        ("kube_context", "gke_acme_europe-west1_prod"),
        ("kube_context", "admin@prod"),
        ("helm_release", "a" * 53),
        ("helm_release", "payments.api"),
        ("workload_name", "payments-api"),
        ("workload_name", "prod-payments-api"),
        ("workload_name", "payments.api"),
        ("workload_name", "a" * 253),
        ("gitops_app", "example.guestbook"),
        ("gitops_app", "a" * 253),
        ("gitops_kind", "kustomization"),
        ("gitops_kind", "helmrelease"),
        ("owner", ""),
        ("description", ""),
        ("health_check_path", "/"),
        ("health_check_path", "/actuator/health/readiness"),
        ("health_check_port", "1"),
        ("health_check_port", "65535"),
        ("app_label_selector", "app=payments-api"),
        ("app_label_selector", "app.kubernetes.io/name=payments-api,tier=web"),
        ("health_url", "https://api.example.com/health"),
        ("health_url", "http://10.0.0.1:8080/healthz?full=1&x=%20"),
        ("incident_channel", "#incidents"),
        ("incident_channel", "#inc-payments_eu"),
        ("rollout_timeout", "90s"),
        ("rollout_timeout", "2h"),
        ("pagerduty_service_id", "PABC123"),
        ("github_repo", "acme/payments-api"),
        ("github_repo", "acme/.github"),
        ("dashboard_url", "https://grafana.example.com/d/abc?orgId=1"),
        ("description", "Payments: \"quoted\" 'single' # not a comment\nline two 🔴 ✅"),
        ("description", "x"),
    ],
)
def test_good_values_pass(field: str, value: str) -> None:
    assert RULES_BY_FIELD[field].check(value) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_name", "a" * 64),
        ("service_name", "1api"),
        ("service_name", "api-"),
        ("service_name", "p\u0430yments"),  # Cyrillic a
        ("owner", "team payments"),
        ("owner", "component:team"),
        ("namespace", "Prod"),
        ("kube_context", "-prod"),
        ("kube_context", "prod;rm -rf /"),
        ("helm_release", "a" * 54),
        ("helm_release", "Payments"),
        ("app_label_selector", "app!=x"),
        ("app_label_selector", "app=x y"),
        ("app_label_selector", "app"),
        ("health_url", "ftp://example.com"),
        ("health_url", "https://example.com/'$(id)'"),
        ("health_url", "https://exa mple.com"),
        ("workload_name", "Payments"),
        ("workload_name", "payments_api"),
        ("workload_name", "-payments"),
        ("workload_name", "a" * 254),
        ("gitops_app", "Example.Guestbook"),
        ("gitops_app", "a" * 254),
        ("gitops_kind", "Kustomization"),
        ("gitops_kind", "gitrepository"),
        ("health_check", "grpc"),
        ("health_check_path", "healthz"),
        ("health_check_path", '/health"$(id)"'),
        ("health_check_path", "/health?full=1"),
        ("health_check_path", "/a b"),
        ("health_check_port", "0"),
        ("health_check_port", "65536"),
        ("health_check_port", "http"),
        ("health_check_scheme", "http"),
        ("incident_channel", "incidents"),
        ("incident_channel", "#Incidents"),
        ("rollout_timeout", "0m"),
        ("rollout_timeout", "5 minutes"),
        ("pagerduty_service_id", "pabc123"),
        ("github_repo", "acme"),
        ("github_repo", "acme/.."),
        ("github_repo", "-acme/x"),
        ("description", " leading space"),
        ("description", "trailing newline\n"),
        ("description", "bell \x07"),
        ("description", "line\u2028separator"),
        ("description", "{{ 7 * 7 }}"),
        ("description", "{% if %}"),
        ("description", "x" * 301),
        ("lifecycle", "prod"),
        ("workload", "daemonset"),
    ],
)
def test_bad_values_fail(field: str, value: str) -> None:
    assert RULES_BY_FIELD[field].check(value) is not None


@pytest.mark.parametrize(
    ("value", "valid"),
    [(True, True), (False, True), ("true", False), ("", False), (1, False), (None, False)],
)
def test_a_yes_no_answer_is_a_boolean(value: object, valid: bool) -> None:
    assert (RULES_BY_FIELD["publish_techdocs"].check(value) is None) is valid


def test_report_names_field_rule_and_example() -> None:
    report = format_problems(validate({"service_name": "Payments API"}))
    assert "service_name: 'Payments API' is not valid" in report
    assert "DNS-1035" in report
    assert "Example: payments-api" in report
    assert "namespace: '' is required" in report  # every problem, not just the first


def test_a_lone_surrogate_is_not_free_text() -> None:
    # It cannot be written to a UTF-8 file, so it must never reach the renderer.
    assert RULES_BY_FIELD["description"].check("half an emoji \ud83d") is not None


VALID = {rule.field: rule.example for rule in RULES if not rule.boolean and not rule.choices}
VALID |= {rule.field: rule.choices[0] for rule in RULES if rule.choices}
VALID |= {rule.field: True for rule in RULES if rule.boolean}


@pytest.mark.parametrize(
    ("field", "value", "answers", "used"),
    [
        ("helm_release", "a" * 63, {"workload": "deployment"}, False),
        ("helm_release", "a" * 63, {"workload": "helm"}, True),
        ("gitops_app", "Bad_App", {"gitops": "none"}, False),
        ("gitops_app", "Bad_App", {"gitops": "argocd"}, True),
        ("flux_namespace", "", {"gitops": "argocd"}, False),
        ("flux_namespace", "", {"gitops": "flux"}, True),
        ("health_url", "", {"health_check": "readiness"}, False),
        ("health_url", "", {"health_check": "url"}, True),
        ("health_check_port", "", {"health_check": "url"}, False),
        ("health_check_port", "", {"health_check": "in-cluster", "health_check_path": "/"}, True),
        ("gitops_kind", "nope", {"gitops": "argocd"}, False),
        ("gitops_kind", "nope", {"gitops": "flux"}, True),
        # Two conditions: the chart's workload is an alert answer of the helm workload.
        # Pages and scripts read it too (a StatefulSet's forced rollback): with or without alerts.
        ("chart_workload", "payments-api", {"workload": "helm", "alerting": False}, True),
        ("chart_workload", "payments-api", {"workload": "deployment", "alerting": True}, False),
        ("chart_workload", "payments-api", {"workload": "helm", "alerting": True}, True),
    ],
)
def test_a_rule_of_one_workload_or_gitops_mode_is_checked_only_there(
    field: str, value: str, answers: dict[str, str], used: bool
) -> None:
    """Issue 11 item 11: a valid 63-character name is not refused because the unused Helm
    release inherits it; the same answer is refused where it is used (negative control)."""
    problems = validate({**VALID, "service_name": "a" * 63, **answers, field: value})
    assert [p.field for p in problems] == ([field] if used else [])


def test_an_unused_answer_still_may_not_hold_jinja() -> None:
    problems = validate({**VALID, "workload": "deployment", "helm_release": "{{ 7 * 7 }}"})
    assert [p.field for p in problems] == ["helm_release"]


def test_a_value_is_echoed_at_most_80_characters() -> None:
    report = format_problems(validate({**VALID, "service_name": "a" * 100_000}))
    line = next(line for line in report.splitlines() if "service_name:" in line)
    assert "a" * 79 not in line and "…" in line


@pytest.mark.parametrize(
    ("field", "value", "answers", "valid"),
    [
        # A StatefulSet's name must be a DNS label (its pods' hostnames are built from it):
        # kubernetes.io/docs/concepts/workloads/controllers/statefulset/#components.
        ("workload_name", "ledger.v2", {"workload": "deployment"}, True),
        ("workload_name", "ledger.v2", {"workload": "statefulset"}, False),
        ("workload_name", "a" * 63, {"workload": "statefulset"}, True),
        ("workload_name", "a" * 64, {"workload": "statefulset"}, False),
        # Under Flux a Helm release is reconciled by a HelmRelease only.
        ("gitops_kind", "kustomization", {"gitops": "flux", "workload": "deployment"}, True),
        ("gitops_kind", "helmrelease", {"gitops": "flux", "workload": "deployment"}, True),
        ("gitops_kind", "helmrelease", {"gitops": "flux", "workload": "helm"}, True),
        ("gitops_kind", "kustomization", {"gitops": "flux", "workload": "helm"}, False),
        ("gitops_kind", "kustomization", {"gitops": "none", "workload": "helm"}, True),
    ],
)
def test_a_narrowing_holds_with_its_answers_only(
    field: str, value: str, answers: dict[str, str], valid: bool
) -> None:
    problems = validate({**VALID, **answers, field: value})
    assert [p.field for p in problems] == ([] if valid else [field])
    if not valid:
        assert "Rule: " in str(problems[0])
