"""The rules of a few rendered services against series shaped like real exporters and scrape
setups (tests/fixtures/promtool/*.yaml, written from the exporters' docs, not from the template's
own test series): a full outage pages, a healthy service and one scaled to zero stay quiet, a
`status` label is read, an honor_labels scrape of the Argo Rollouts controller is matched, two
kube-state-metrics replicas page once for each object (a pod's container, a workload, an
autoscaler, a claim). promtool runs each fixture as written, only given the rules' annotations
(the fixtures state the labels an alert must carry). Each scenario has a negative control: the
same fixture against rules rendered with the wrong answer, or doctored, fails; the alerts of the
two-replica scenarios with their expressions from before they took one series per object
(tests/fixtures/promtool/unaggregated/) fire twice."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from matrix import ROOT
from tools import tool

FIXTURES = ROOT / "tests" / "fixtures" / "promtool"

# Each fixture and the answers of the service it was written for; and answers that read the same
# series wrongly (the negative control: the fixture must fail against those rules).
STATUS_LABEL = {"workload": "deployment", "error_matcher": 'status=~"5.."'}
HONOR_LABELS = {"workload": "argo-rollout", "rollouts_namespace_label": "namespace"}
SCENARIOS = {
    "deployment-outage.yaml": (STATUS_LABEL, {"workload": "deployment"}),
    "rollout-honor-labels.yaml": (HONOR_LABELS, {"workload": "argo-rollout"}),
    # The pods belong to a Deployment: rules written for a StatefulSet of that name miss them.
    "deployment-image-pull.yaml": (STATUS_LABEL, {"workload": "statefulset"}),
    # Each object is a Deployment's (its pods, its autoscaler, its claim) or a StatefulSet's: the
    # rules of the other kind miss them.
    "deployment-two-ksm-replicas.yaml": (STATUS_LABEL, {"workload": "statefulset"}),
    "statefulset-two-ksm-replicas.yaml": ({"workload": "statefulset"}, {"workload": "deployment"}),
}
# The expressions some alerts of a scenario had before they took one series per object from
# kube-state-metrics, by alert name, in a file of the scenario's name.
UNAGGREGATED = FIXTURES / "unaggregated"


def annotated(fixture: Path, rules: Path) -> dict:
    """The fixture with each expected alert given its rule's annotations (promtool compares them
    too; the per-service tests check their text)."""
    groups = yaml.safe_load(rules.read_text(encoding="utf-8"))["groups"]
    annotations = {
        rule["alert"]: rule["annotations"]
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    }
    tests = yaml.safe_load(fixture.read_text(encoding="utf-8"))
    for unit in tests["tests"]:
        for check in unit["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                alert["exp_annotations"] = annotations[check["alertname"]]
    return tests


def run_fixture(fixture: Path, rules: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """promtool test rules on the fixture, with `rules` as its alerts.yaml."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(rules, workdir / "alerts.yaml")
    (workdir / fixture.name).write_text(yaml.safe_dump(annotated(fixture, rules), sort_keys=False))
    return subprocess.run(
        [tool("promtool"), "test", "rules", fixture.name],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )


def rules_for(render: Callable[[dict[str, str]], Path], answers: dict[str, str]) -> Path:
    return (
        render({"migration_tool": "none", "gitops": "none", **answers})
        / "monitoring"
        / "alerts.yaml"
    )


def test_every_fixture_has_a_scenario() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.yaml")) == sorted(SCENARIOS)


@pytest.mark.parametrize("fixture", SCENARIOS)
def test_the_rules_fire_as_the_scenario_says(render, fixture: str, tmp_path: Path) -> None:
    answers, _ = SCENARIOS[fixture]
    result = run_fixture(FIXTURES / fixture, rules_for(render, answers), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("fixture", SCENARIOS)
def test_the_wrong_answer_misses_the_scenario(render, fixture: str, tmp_path: Path) -> None:
    """Negative control: with the default answers (error label `code`, the Rollouts namespace in
    `exported_namespace`) or the wrong workload kind, the same series raise no alert, and
    promtool fails the fixture."""
    _, wrong = SCENARIOS[fixture]
    result = run_fixture(FIXTURES / fixture, rules_for(render, wrong), tmp_path)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def with_expressions(rules: Path, exprs: dict[str, str], out: Path) -> Path:
    """A copy of the rules file with these alerts' expressions in place of theirs."""
    doc = yaml.safe_load(rules.read_text(encoding="utf-8"))
    found = set()
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in exprs:
                name = rule["alert"]
                assert rule["expr"] != exprs[name], f"{name} reads kube-state-metrics as it did"
                rule["expr"] = exprs[name]
                found.add(name)
    assert found == set(exprs), f"the service has no alert {set(exprs) - found}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "alerts.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out / "alerts.yaml"


def alerts_got(output: str) -> dict[str, int]:
    """From promtool's failures: per alert, the most alerts it got at one evaluation time."""
    most: dict[str, int] = {}
    for failure in output.split("alertname: ")[1:]:
        name = failure.split(",", 1)[0]
        got = failure.split("got:", 1)[1]
        count = sum(1 for line in got.splitlines() if line.strip().rstrip(":").isdigit())
        most[name] = max(most.get(name, 0), count)
    return most


@pytest.mark.parametrize("fixture", sorted(p.name for p in UNAGGREGATED.glob("*.yaml")))
def test_each_replica_pages_without_one_series_per_object(
    render, fixture: str, tmp_path: Path
) -> None:
    """Negative control of the two-replica scenarios: with the expressions the alerts had before
    they took one series per object, the same series raise each alert twice (one per
    kube-state-metrics replica), and promtool fails the fixture naming each alert."""
    answers, _ = SCENARIOS[fixture]
    exprs = yaml.safe_load((UNAGGREGATED / fixture).read_text(encoding="utf-8"))
    rules = with_expressions(rules_for(render, answers), exprs, tmp_path / "doctored")
    result = run_fixture(FIXTURES / fixture, rules, tmp_path / "run")
    assert result.returncode != 0
    assert alerts_got(result.stdout + result.stderr) == dict.fromkeys(exprs, 2)


def test_an_absent_alert_without_the_scaled_to_zero_guard_fails(render, tmp_path: Path) -> None:
    """Negative control: RequestMetricsAbsent without its `unless` on the desired replicas pages
    for a service scaled to zero on purpose, and the fixture says so."""
    rules = rules_for(render, STATUS_LABEL)
    text = rules.read_text(encoding="utf-8")
    guard = text.index("unless on ()")
    doctored = text[:guard] + text[text.index("== 0)", guard) + len("== 0)") :]
    assert "absent(" in doctored and "unless on ()" not in doctored
    (tmp_path / "doctored").mkdir()
    (tmp_path / "doctored" / "alerts.yaml").write_text(doctored, encoding="utf-8")
    result = run_fixture(
        FIXTURES / "deployment-outage.yaml", tmp_path / "doctored" / "alerts.yaml", tmp_path / "run"
    )
    assert result.returncode != 0 and "RequestMetricsAbsent" in result.stdout + result.stderr


def test_without_slo_alerts_the_workload_alerts_stay(render, tmp_path: Path) -> None:
    """A service without request metrics (slo_alerts false) keeps every workload alert, and gets
    no SLO rule, page or Backstage graph that would read metrics it does not have; the rules still
    pass promtool's lint and their unit tests. Negative control: the default service has both."""
    quiet = render(
        {"migration_tool": "none", "gitops": "none", "owner": "team-payments", "slo_alerts": False}
    )
    default = render({"migration_tool": "none", "gitops": "none", "owner": "team-payments"})
    groups = {
        service: {
            group["name"].rsplit(".", 1)[1]: [r.get("alert") or r["record"] for r in group["rules"]]
            for group in yaml.safe_load((service / "monitoring" / "alerts.yaml").read_text())[
                "groups"
            ]
        }
        for service in (quiet, default)
    }
    assert sorted(groups[default]) == ["slo", "workload"]
    assert list(groups[quiet]) == ["workload"]
    assert groups[quiet]["workload"] == groups[default]["workload"]
    slo_pages = {f"{name.lower()}.md" for name in groups[default]["slo"] if ":" not in name}
    assert slo_pages and not slo_pages & {p.name for p in (quiet / "docs" / "alerts").iterdir()}
    assert "prometheus.io/rule" not in (quiet / "catalog-info.yaml").read_text()
    assert "prometheus.io/rule" in (default / "catalog-info.yaml").read_text()
    monitoring = quiet / "monitoring"
    for args in (
        ["check", "rules", "--lint=all", "--lint-fatal", "alerts.yaml"],
        ["test", "rules", "alerts.test.yaml"],
    ):
        result = subprocess.run(
            [tool("promtool"), *args], cwd=monitoring, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
