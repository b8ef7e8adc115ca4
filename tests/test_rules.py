"""The rules module: one rule per answer, agreeing with cookiecutter.json, right on both sides."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from matrix import COOKIECUTTER_JSON, ROOT

from service_runbooks.rules import (
    DERIVED_TERMS,
    RULES,
    RULES_BY_FIELD,
    KindNames,
    Rule,
    SpecificPrompt,
    format_problems,
    prompt,
    validate,
)
from service_runbooks.wizard import kind_names

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


# ---- prompts specific to earlier answers (`new`) ----

# The kinds a person reads, from each tool's docs: Kubernetes' workloads
# (https://kubernetes.io/docs/concepts/workloads/controllers/), an Argo Rollouts Rollout
# (https://argoproj.github.io/argo-rollouts/features/specification/), Flux's Kustomization and
# HelmRelease (https://fluxcd.io/flux/components/kustomize/kustomizations/,
# https://fluxcd.io/flux/components/helm/helmreleases/) and Argo CD's Application
# (https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#applications).
WORKLOAD_KIND = {
    "deployment": "Deployment",
    "statefulset": "StatefulSet",
    "argo-rollout": "Rollout",
}
GITOPS_OBJECT = {
    ("argocd", "kustomization"): "Argo CD Application",
    ("argocd", "helmrelease"): "Argo CD Application",
    ("flux", "kustomization"): "Flux Kustomization",
    ("flux", "helmrelease"): "Flux HelmRelease",
}
SPECIFIC = ("workload_name", "gitops_app", "flux_namespace", "helm_release", "chart_workload")


@pytest.fixture(scope="module")
def names() -> KindNames:
    return kind_names(ROOT)


def generic(field: str) -> str:
    return prompt(field)


def known_answers(workload: str, gitops: str) -> dict[str, object]:
    """The answers asked before the specific questions, as `new` holds them (gitops_kind's
    default follows the workload, as cookiecutter.json's does)."""
    return {
        "service_name": "orders",
        "namespace": "shop",
        "workload": workload,
        "workload_name": "orders-wl",
        "gitops": gitops,
        "gitops_kind": "helmrelease" if workload == "helm" else "kustomization",
        "gitops_app": "orders-app",
        "flux_namespace": "flux-system",
        "helm_release": "orders-rel",
    }


@pytest.mark.parametrize("gitops", COOKIECUTTER_JSON["gitops"])
@pytest.mark.parametrize("workload", COOKIECUTTER_JSON["workload"])
def test_a_prompt_names_what_the_earlier_answers_chose(
    names: KindNames, workload: str, gitops: str
) -> None:
    known = known_answers(workload, gitops)
    asked = {field: prompt(field, known=known, names=names) for field in SPECIFIC}
    other_kinds = [kind for w, kind in WORKLOAD_KIND.items() if w != workload]
    if workload == "helm":
        assert asked["workload_name"].startswith("Name of the workload the Helm chart creates")
        assert "Rollout" not in asked["workload_name"]  # a chart's workload is never a Rollout
    else:
        assert asked["workload_name"].startswith(f"Name of the {WORKLOAD_KIND[workload]} ")
        assert not [kind for kind in other_kinds if kind in asked["workload_name"]]
    if gitops == "none":
        assert asked["gitops_app"] == generic("gitops_app")  # not asked; the generic stays
        assert asked["flux_namespace"] == generic("flux_namespace")
    else:
        tool_object = GITOPS_OBJECT[gitops, str(known["gitops_kind"])]
        assert asked["gitops_app"] == f"Name of the {tool_object} that deploys the service"
        other_tool = "Flux" if gitops == "argocd" else "Argo CD"
        assert other_tool not in asked["gitops_app"]
    if gitops == "flux":
        assert asked["flux_namespace"] == f"Namespace of the {tool_object} orders-app"
    if workload == "helm":
        release, chart = asked["helm_release"], asked["chart_workload"]
        if gitops == "flux":
            assert "the Flux HelmRelease orders-app installs" in release
            assert "helm-controller's own name" in release
        elif gitops == "argocd":
            assert "the Argo CD Application orders-app renders the Helm chart" in release
            assert "Argo CD installs no Helm release" in release
        else:
            assert release.startswith("Name of the Helm release in namespace shop")
        owner = "the Argo CD Application orders-app" if gitops == "argocd" else "release orders-rel"
        assert chart.startswith(f"The Deployment or StatefulSet the Helm chart of {owner} creates")
    for field, text in asked.items():
        assert "{" not in text and "}" not in text, (field, text)


def test_without_the_answers_or_names_a_prompt_is_cookiecutters_own(names: KindNames) -> None:
    """cookiecutter.json's question whenever a specific one cannot be filled: no answers (the
    Backstage form, plain cookiecutter), no names, or an answer it names left empty."""
    prompts = COOKIECUTTER_JSON["__prompts__"]
    known = known_answers("statefulset", "flux")
    assert prompt("workload_name") == prompts["workload_name"]
    assert prompt("workload_name", known=known) == prompts["workload_name"]
    assert (
        prompt("flux_namespace", known={**known, "gitops_app": ""}, names=names)
        == (prompts["flux_namespace"])
    )
    # Negative control: with both, the specific question.
    assert prompt("workload_name", known=known, names=names) != prompts["workload_name"]


def specific_prompt_problems(rules: tuple[Rule, ...]) -> list[str]:
    """Each specific prompt that reads an answer not asked before its own (cookiecutter.json's
    order: `new` knows only those), or names a term nothing gives."""
    order = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
    problems = []
    for rule in rules:
        before = set(order[: order.index(rule.field)])
        for specific in rule.specific_prompts:
            read = [field for field, _ in specific.when]
            for term in re.findall(r"\{([^{}]*)\}", specific.text):
                read += DERIVED_TERMS.get(term, (term,))
            problems += [f"{rule.field} reads {field}" for field in read if field not in before]
    return problems


def test_a_specific_prompt_reads_only_answers_asked_before_it() -> None:
    assert specific_prompt_problems(RULES) == []
    # Negative control: the workload's name cannot name the GitOps object, asked later.
    early = SpecificPrompt((), "Name of the workload {gitops_app} deploys")
    wrong = replace(RULES_BY_FIELD["workload_name"], specific_prompts=(early,))
    assert specific_prompt_problems((wrong,)) == ["workload_name reads gitops_app"]
