"""Every service's Prometheus alerts (monitoring/), their pages and their CI job, with the real
tools: promtool (Debian's `prometheus` package, installed by `make install`) checks and
unit-tests the rules of every matrix combination, the Prometheus Operator's CRD schema
(@kubernetes-models/prometheus-operator, pinned in package-lock.json) validates every
PrometheusRule, and every runbook_url names a page the strict MkDocs build produces.
Each checker has a negative control."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from doc_builds import mkdocs_build, nav_pages
from github_workflow import load_workflow, run_step
from matrix import COMBINATIONS_BY_ID, COOKIECUTTER_JSON, GIVEN_ANSWERS, ROOT
from runbook_expectations import GARBLED
from runbook_pages import LEFTOVER_TEMPLATE
from tools import tool

PR_VALIDATOR = ROOT / "tests" / "node" / "validate-prometheusrule.mjs"
# Beyond the matrix: a Helm chart's StatefulSet, and answers that change every expression.
EXTRA = {
    "helm-statefulset-chart": {"workload": "helm", "chart_workload": "statefulset/orders-db"},
    "custom-slo": {
        "slo_target": "99.95",
        "request_metric": "api_requests_total",
        "metrics_selector": 'service="orders",app_kubernetes_io_part_of="shop"',
        "error_matcher": 'status=~"5..|429"',
        "latency_metric": "api_latency_seconds",
        "latency_threshold": "0.25",
        "backstage_url": "https://portal.example.com:8443/backstage",
    },
    "equality-error-matcher": {
        "workload": "argo-rollout",
        "error_matcher": 'outcome="server.error"',
        "slo_target": "95",
        "latency_threshold": "2",
    },
}
CASES = {**COMBINATIONS_BY_ID, **EXTRA}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def rules_of(service: Path) -> dict:
    return yaml.safe_load((service / "monitoring" / "alerts.yaml").read_text(encoding="utf-8"))


def alerting_rules(service: Path) -> list[dict]:
    return [
        rule for group in rules_of(service)["groups"] for rule in group["rules"] if "alert" in rule
    ]


def docs_base(service: Path, case: str) -> str:
    """Where TechDocs serves this entity, <backstage>/docs/<namespace>/<kind>/<name>/ in
    lowercase (https://backstage.io/docs/features/techdocs/how-to-guides/), read from the
    catalog entity itself."""
    entity = yaml.safe_load((service / "catalog-info.yaml").read_text(encoding="utf-8"))
    backstage = CASES[case].get("backstage_url", COOKIECUTTER_JSON["backstage_url"])
    namespace = entity["metadata"].get("namespace", "default")
    ref = f"{namespace}/{entity['kind']}/{entity['metadata']['name']}".lower()
    return f"{backstage}/docs/{ref}/"


@pytest.fixture(scope="module")
def service_of(render):
    return lambda case: render({**GIVEN_ANSWERS, **CASES[case]})


@pytest.mark.parametrize("case", CASES)
def test_promtool_checks_and_tests_the_rules(service_of, case: str) -> None:
    monitoring = service_of(case) / "monitoring"
    check = promtool("check", "rules", "--lint=all", "--lint-fatal", "alerts.yaml", cwd=monitoring)
    assert check.returncode == 0, check.stdout + check.stderr
    test = promtool("test", "rules", "alerts.test.yaml", cwd=monitoring)
    assert test.returncode == 0, test.stdout + test.stderr
    tests = yaml.safe_load((monitoring / "alerts.test.yaml").read_text(encoding="utf-8"))
    tested = [t["alert_rule_test"][-1]["alertname"] for t in tests["tests"]]
    assert sorted(tested) == sorted(r["alert"] for r in alerting_rules(monitoring.parent))
    for unit, rule in zip(tests["tests"], alerting_rules(monitoring.parent), strict=True):
        before, after = unit["alert_rule_test"]
        assert before["exp_alerts"] == [] and after["exp_alerts"], rule["alert"]
        assert (
            after["exp_alerts"][0]["exp_annotations"]["runbook_url"]
            == rule["annotations"]["runbook_url"]
        )
        assert after["exp_alerts"][0]["exp_labels"]["severity"] == rule["labels"]["severity"]


@pytest.mark.parametrize("case", CASES)
def test_monitoring_files_hold_no_template_text(service_of, case: str) -> None:
    """Rendered rules, PrometheusRule and unit tests hold no Jinja (nor Prometheus templating,
    which would read as leftover template text) and no garbled emoji."""
    monitoring = service_of(case) / "monitoring"
    files = sorted(monitoring.glob("*.yaml"))
    # The inhibit rules too: every matrix service runs beside kube-prometheus-stack's rules.
    assert [f.name for f in files] == [
        "alertmanager-inhibit.yaml",
        "alerts.test.yaml",
        "alerts.yaml",
        "prometheusrule.yaml",
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not LEFTOVER_TEMPLATE.search(text), path.name
        assert not GARBLED.search(text), path.name


def test_the_leftover_check_sees_prometheus_templating() -> None:
    """Negative control: a {{ $labels.pod }} annotation is what the check above refuses."""
    assert LEFTOVER_TEMPLATE.search('description: "pod {{ $labels.pod }} is down"')


def _mutated(monitoring: Path, tmp_path: Path, change) -> subprocess.CompletedProcess[str]:
    tests = yaml.safe_load((monitoring / "alerts.test.yaml").read_text(encoding="utf-8"))
    change(tests["tests"])
    (tmp_path / "alerts.yaml").write_text((monitoring / "alerts.yaml").read_text())
    (tmp_path / "wrong.test.yaml").write_text(yaml.safe_dump(tests))
    return promtool("test", "rules", "wrong.test.yaml", cwd=tmp_path)


def _wrong_url(tests: list) -> None:
    tests[0]["alert_rule_test"][1]["exp_alerts"][0]["exp_annotations"]["runbook_url"] += "x/"


def _fires_too_early(tests: list) -> None:
    unit = tests[-1]["alert_rule_test"]
    unit[0]["exp_alerts"] = unit[1]["exp_alerts"]  # expected firing before its `for:`


def _wrong_label(tests: list) -> None:
    tests[-1]["alert_rule_test"][1]["exp_alerts"][0]["exp_labels"]["severity"] = "info"


@pytest.mark.parametrize("change", [_wrong_url, _fires_too_early, _wrong_label])
def test_a_wrong_expectation_fails(service_of, tmp_path: Path, change) -> None:
    """Negative control: promtool fails the unit tests when one expectation is wrong."""
    monitoring = service_of("deployment-prisma-none") / "monitoring"
    result = _mutated(monitoring, tmp_path, change)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_lint_fails_on_a_duplicate_rule(service_of, tmp_path: Path) -> None:
    """Negative control: --lint-fatal makes a duplicate rule an error."""
    rules = rules_of(service_of("deployment-prisma-none"))
    rules["groups"][1]["rules"].append(rules["groups"][1]["rules"][0])
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", "--lint=all", "--lint-fatal", "alerts.yaml", cwd=tmp_path)
    assert result.returncode != 0


def test_prometheusrules_match_the_rules_file_and_validate_against_the_crd(
    service_of, tmp_path: Path
) -> None:
    files = []
    for case in CASES:
        service = service_of(case)
        rule = yaml.safe_load((service / "monitoring" / "prometheusrule.yaml").read_text())
        assert rule["spec"]["groups"] == rules_of(service)["groups"], case
        assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        files.append(str(service / "monitoring" / "prometheusrule.yaml"))
    # Negative control: a `for:` the CRD's duration pattern refuses.
    bad = yaml.safe_load(Path(files[0]).read_text())
    bad["spec"]["groups"][1]["rules"][0]["for"] = "soon"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    result = subprocess.run(
        [tool("node"), str(PR_VALIDATOR), *files, str(tmp_path / "bad.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    verdicts = {r["file"]: r for r in json.loads(result.stdout)}
    assert result.returncode == 1
    assert [f for f in files if not verdicts[f]["valid"]] == [], result.stdout
    assert not verdicts[str(tmp_path / "bad.yaml")]["valid"]
    assert "for must match pattern" in verdicts[str(tmp_path / "bad.yaml")]["message"]


@pytest.mark.parametrize("case", CASES)
def test_pages_nav_index_and_urls_come_from_the_same_alerts(service_of, case: str) -> None:
    service = service_of(case)
    names = [rule["alert"] for rule in alerting_rules(service)]
    pages = sorted(p.name for p in (service / "docs" / "alerts").glob("*.md"))
    assert pages == sorted(f"{name.lower()}.md" for name in names)
    nav = yaml.safe_load((service / "mkdocs.yml").read_text())["nav"]
    [alerts_nav] = [entry["Alerts"] for entry in nav if "Alerts" in entry]
    assert [next(iter(e)) for e in alerts_nav] == names
    index = (service / "docs" / "index.md").read_text()
    entity = yaml.safe_load((service / "catalog-info.yaml").read_text())
    annotations = entity["metadata"]["annotations"]
    assert annotations["prometheus.io/alert"] == ",".join(names)
    # The plugin lists alerts by name: the labels keep other services' alerts of the same name out.
    assert annotations["prometheus.io/labels"] == f"service={service.name},namespace=production"
    # It splits the rule annotation at ',' and '|': one query, then one grouping label.
    query, label = annotations["prometheus.io/rule"].split("|")
    assert "," not in query and label == "namespace"
    base = docs_base(service, case)
    for rule in alerting_rules(service):
        page = rule["alert"].lower()
        assert rule["annotations"]["runbook_url"] == f"{base}alerts/{page}/"
        assert f"| [{rule['alert']}](alerts/{page}.md) | {rule['labels']['severity']} |" in index
        text = (service / "docs" / "alerts" / f"{page}.md").read_text()
        for heading in ("Meaning", "Impact", "Diagnosis", "Mitigation"):
            assert f"\n## {heading}\n" in text, (page, heading)
        # The page shows the rule's expression exactly as the rules file has it.
        assert rule["expr"] in text, page


WORKLOADS = ["deployment-prisma-none", "statefulset-django-flux", "argo-rollout-prisma-flux"]


@pytest.mark.parametrize("case", [*WORKLOADS, "helm-statefulset-chart"])
def test_every_runbook_url_names_a_built_page(service_of, case: str, tmp_path: Path) -> None:
    service = service_of(case)
    site = tmp_path / "site"
    mkdocs_build(service / "mkdocs.yml", site)
    base = docs_base(service, case)
    for rule in alerting_rules(service):
        path = rule["annotations"]["runbook_url"].removeprefix(base)
        assert (site / path / "index.html").is_file(), path


def test_alerting_off_leaves_no_trace(render) -> None:
    service = render({**GIVEN_ANSWERS, "alerting": False, "service_name": "quiet-api"})
    assert not (service / "monitoring").exists()
    assert not (service / "docs" / "alerts").exists()
    assert not (service / ".github" / "workflows" / "alerts.yml").exists()
    nav = yaml.safe_load((service / "mkdocs.yml").read_text())["nav"]
    assert not [entry for entry in nav if "Alerts" in entry]
    assert sorted(nav_pages(nav)) == sorted(
        str(p.relative_to(service / "docs")) for p in (service / "docs").rglob("*.md")
    )
    assert "## Alerts" not in (service / "docs" / "index.md").read_text()
    assert "prometheus.io" not in (service / "catalog-info.yaml").read_text()


def test_ci_workflow_runs_promtool_on_the_rules(service_of, tmp_path: Path) -> None:
    """The job's check and test steps, run as GitHub runs them, pass on the service; and fail
    (negative control) when a rule is broken."""
    service = service_of("deployment-prisma-none")
    text = (service / ".github" / "workflows" / "alerts.yml").read_text()
    workflow = load_workflow(service, Path(".github") / "workflows" / "alerts.yml")
    assert not re.search(r"\{%|%\}|cookiecutter", text)
    steps = [s["name"] for s in workflow["jobs"]["promtool"]["steps"]]
    assert steps == ["Check out", "Install promtool", "Check the rules", "Test the rules"]
    env = {"PATH": os.environ["PATH"]}
    for name in ("Check the rules", "Test the rules"):
        result = run_step(workflow, "promtool", name, service, env)
        assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken"
    (broken / "monitoring").mkdir(parents=True)
    rules = (service / "monitoring" / "alerts.yaml").read_text().replace("for: 15m", "for: 1h", 1)
    (broken / "monitoring" / "alerts.yaml").write_text(rules)
    (broken / "monitoring" / "alerts.test.yaml").write_text(
        (service / "monitoring" / "alerts.test.yaml").read_text()
    )
    result = run_step(workflow, "promtool", "Test the rules", broken, env)
    assert result.returncode != 0


# The phases the Argo Rollouts controller puts in rollout_info's `phase` label (calculatePhase in
# https://github.com/argoproj/argo-rollouts/blob/master/controller/metrics/rollouts.go): a
# Rollout's "Degraded" status is not one of them.
ROLLOUT_INFO_PHASES = {
    "Completed",
    "Progressing",
    "Paused",
    "Timeout",
    "Error",
    "Abort",
    "InvalidSpec",
}
PHASE_MATCHER = re.compile(r'phase=~?"([^"]*)"')


def unknown_phases(expr: str) -> set[str]:
    """Phases a rollout_info matcher names that the controller never reports."""
    named = {p for match in PHASE_MATCHER.findall(expr) for p in match.split("|")}
    return named - ROLLOUT_INFO_PHASES


def test_rollout_alerts_match_phases_the_controller_reports(render) -> None:
    service = render({"workload": "argo-rollout", "gitops": "none", "migration_tool": "none"})
    exprs = [rule["expr"] for rule in alerting_rules(service) if "rollout_info" in rule["expr"]]
    assert exprs
    for expr in exprs:
        assert not unknown_phases(expr), expr
    # Negative control: the Rollout's status phase is not a metric label value.
    assert unknown_phases('rollout_info{phase="Degraded"} == 1') == {"Degraded"}


def test_a_statefulset_rollback_on_an_alert_page_deletes_the_stuck_pod(render) -> None:
    """An undo alone leaves a StatefulSet waiting on its broken pod: the page says to delete it."""
    service = render({"workload": "statefulset", "gitops": "none", "migration_tool": "none"})
    for page in ("rolloutstuck.md", "podcrashlooping.md"):
        text = (service / "docs" / "alerts" / page).read_text()
        undo = text.index("kubectl rollout undo statefulset/")
        assert text.index('kubectl delete pod "${POD:?}"', undo) > undo, page
