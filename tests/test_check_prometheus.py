"""`service-runbooks check FLEET --output DIR --prometheus URL` against a real Prometheus
(Debian's, started once for the session on 127.0.0.1: tests/prometheus_fleet.py) scraping series
shaped like real instrumentation. The service whose answers match is clean (exit 0; the series
that exist only while something is wrong are noted, not failed); each wrong answer (the default
job where the ServiceMonitor's job is the Service's name, the namespace label, the error label,
the request metric) is reported with the rule, the selector and that part named (exit 1). The
selectors are read from the rendered rules file, so a doctored file is caught too. A URL that is
not http(s), or reaches no Prometheus, stops with one message naming it (exit 2)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from alert_servers import exporter, free_port
from fleet_helpers import run_cli
from matrix import ROOT
from prometheus_fleet import SERVICES, fleet_file, prometheus_url, render_answers

from service_runbooks.fleet.prometheus_check import rules_reads, selectors_in

__all__ = ["prometheus_url"]  # the session fixture, imported for pytest to find


@pytest.fixture(scope="module")
def output(render: Callable[[dict], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every service of the fleet rendered into one output folder."""
    folder = tmp_path_factory.mktemp("fleet-output")
    for name in SERVICES:
        shutil.copytree(render(render_answers(name)), folder / name)
    return folder


def check(output: Path, services: list[str], url: str, tmp_path: Path, status: int):
    fleet = fleet_file(tmp_path, services)
    return run_cli(ROOT, "check", fleet, "--output", output, "--prometheus", url, check=status)


def blocks(stdout: str) -> dict[str, list[str]]:
    """Each reported selector's first line, with the lines under it."""
    found: dict[str, list[str]] = {}
    head = ""
    for line in stdout.splitlines():
        if line.startswith("           "):
            found[head].append(line.strip())
        else:
            head = line.strip()
            found[head] = []
    return found


def missing(stdout: str, service: str) -> dict[str, list[str]]:
    return {h: lines for h, lines in blocks(stdout).items() if h.startswith(f"missing  {service}:")}


@pytest.mark.parametrize("service", ["payments-api", "payments-noerrors"])
def test_the_right_answers_are_clean(
    output: Path, prometheus_url: str, tmp_path: Path, service: str
) -> None:
    result = check(output, [service], prometheus_url, tmp_path, status=0)
    assert "missing" not in result.stdout
    assert "1 services checked" in result.stdout and "1 clean" in result.stdout
    # No container waits: the series exists only then, and the check says so without failing.
    notes = blocks(result.stdout)
    waiting = f'note  {service}: kube_pod_container_status_waiting_reason{{job="kube-state-metrics"'
    assert any(head.startswith(waiting) for head in notes), result.stdout


def test_no_errors_yet_is_a_note(output: Path, prometheus_url: str, tmp_path: Path) -> None:
    """The error label exists and no request failed with that code yet: noted, not failed."""
    result = check(output, ["payments-noerrors"], prometheus_url, tmp_path, status=0)
    assert 'error label (code): code="500" matches no series of http_requests_total' in (
        result.stdout
    )
    assert "(code holds: 200, 503); no errors yet" in result.stdout


@pytest.mark.parametrize(
    ("service", "part"),
    [
        (
            "payments-wrongjob",
            'job: job="payments-wrongjob" matches no series of http_requests_total '
            "(job holds: payments-api)",
        ),
        (
            "payments-nslabel",
            "namespace label (kubernetes_namespace): no series of http_requests_total has the "
            "label kubernetes_namespace (its series carry: code, handler, instance, job, method, "
            "namespace)",
        ),
        (
            "payments-status",
            "error label (status): no series of http_requests_total has the label status",
        ),
        ("payments-metric", "metric name: no series of http_server_requests_seconds_count"),
    ],
)
def test_a_wrong_answer_is_named(
    output: Path, prometheus_url: str, tmp_path: Path, service: str, part: str
) -> None:
    result = check(output, ["payments-api", service], prometheus_url, tmp_path, status=1)
    found = missing(result.stdout, service)
    assert any(part in line for lines in found.values() for line in lines), result.stdout
    assert not missing(result.stdout, "payments-api")
    assert "2 services checked" in result.stdout and "1 clean, 1 with series" in result.stdout
    # The rules are named with the selector they read.
    assert any(
        "recording rules service:request_errors:ratio_rate5m," in line
        for lines in found.values()
        for line in lines
    )


def doctored(output: Path, tmp_path: Path, old: str, new: str) -> Path:
    """payments-api's render with its rules file edited (its answers untouched)."""
    folder = tmp_path / "out"
    shutil.copytree(output / "payments-api", folder / "payments-api")
    rules = folder / "payments-api" / "monitoring" / "alerts.yaml"
    assert old in rules.read_text()
    rules.write_text(rules.read_text().replace(old, new))
    return folder


def test_a_doctored_rules_file_is_caught(output: Path, prometheus_url: str, tmp_path: Path) -> None:
    """Negative control: the selectors come from the rules file, not the answers: a rules file
    edited to read another workload fails though the answers are right."""
    folder = doctored(output, tmp_path, 'deployment="payments-api"', 'deployment="pay"')
    result = check(folder, ["payments-api"], prometheus_url, tmp_path, status=1)
    found = missing(result.stdout, "payments-api")
    head = 'missing  payments-api: kube_deployment_spec_replicas{job="kube-state-metrics",'
    (lines,) = [lines for h, lines in found.items() if h.startswith(head)]
    assert "read by alerts RequestMetricsAbsent, ReplicasUnavailable" in lines
    assert any('label deployment: deployment="pay" matches no series' in line for line in lines)


def test_a_wrong_job_fails_even_where_series_may_be_absent(
    output: Path, prometheus_url: str, tmp_path: Path
) -> None:
    """Negative control of the notes: an autoscaler's series may be absent, but a job that
    matches none of them is reported, not noted."""
    folder = doctored(output, tmp_path, 'job="kube-state-metrics"', 'job="ksm"')
    result = check(folder, ["payments-api"], prometheus_url, tmp_path, status=1)
    head = 'missing  payments-api: kube_horizontalpodautoscaler_info{job="ksm",'
    (lines,) = [v for h, v in missing(result.stdout, "payments-api").items() if h.startswith(head)]
    assert any(line.startswith('job: job="ksm" matches no series') for line in lines), lines


def test_recorded_series_are_the_rules_not_prometheus(output: Path) -> None:
    """The burn-rate alerts read the recording rules' output: never looked up in Prometheus; the
    recording rules' own reads are, error matcher included."""
    reads = {r.name: r for r in rules_reads(output / "payments-api" / "monitoring" / "alerts.yaml")}
    assert reads["ErrorBudgetBurnFast"].selectors == ()
    ratio = reads["service:request_errors:ratio_rate5m"]
    assert [s.promql() for s in ratio.selectors] == [
        'http_requests_total{namespace="production",job="payments-api",code=~"5.."}',
        'http_requests_total{namespace="production",job="payments-api"}',
    ]


def test_a_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    result = check(tmp_path, ["payments-api"], "file:///etc/passwd", tmp_path, status=2)
    assert "ERROR: --prometheus: file:///etc/passwd: must be an http:// or https:// URL" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_no_prometheus_there_stops_naming_the_url(output: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = check(output, ["payments-api"], url, tmp_path, status=2)
    assert f"ERROR: --prometheus: {url}: cannot be reached" in result.stderr
    assert "Traceback" not in result.stderr
    with exporter({}) as port:  # an HTTP server that is not Prometheus: no POST, no API
        other = f"http://127.0.0.1:{port}"
        result = check(output, ["payments-api"], other, tmp_path, status=2)
    assert f"ERROR: --prometheus: {other}: {other}/api/v1/query answered 501" in result.stderr
    assert "Traceback" not in result.stderr


def test_selectors_are_read_as_promql_parses_them() -> None:
    """The parser's reading of the forms a rule may take: range and offset, a subquery, a
    function's argument, a name given as __name__, an escaped quote kept in the value."""
    found = selectors_in(
        'max_over_time(rate(a_total{job="x"}[5m] offset 1m)[30m:1m])'
        ' / on (pod) group_left () absent({__name__="b",le="0.5"})'
        ' unless c{msg="say \\"hi\\""}'
    )
    assert [s.promql() for s in found] == [
        'a_total{job="x"}',
        '{__name__="b",le="0.5"}',
        'c{msg="say \\"hi\\""}',
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--drift"], "--prometheus, --drift, --stale: one question at a time"),
        (["--stale"], "--prometheus, --drift, --stale: one question at a time"),
    ],
)
def test_prometheus_is_one_question_at_a_time(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    fleet = fleet_file(tmp_path, ["payments-api"])
    args = ["check", fleet, "--output", tmp_path, "--prometheus", "http://127.0.0.1:9", *extra]
    result = run_cli(ROOT, *args, check=2)
    assert f"ERROR: {message}" in result.stderr


def test_prometheus_needs_the_rendered_services(tmp_path: Path) -> None:
    fleet = fleet_file(tmp_path, ["payments-api"])
    result = run_cli(ROOT, "check", fleet, "--prometheus", "http://127.0.0.1:9", check=2)
    assert "ERROR: --output: required with --prometheus" in result.stderr


def test_an_unreadable_rules_file_is_named_and_the_others_checked(
    output: Path, prometheus_url: str, tmp_path: Path
) -> None:
    folder = doctored(output, tmp_path, "sum(rate(", "sum(rate((")
    shutil.copytree(output / "payments-wrongjob", folder / "payments-wrongjob")
    fleet = fleet_file(tmp_path, ["payments-api", "payments-wrongjob"])
    result = run_cli(
        ROOT, "check", fleet, "--output", folder, "--prometheus", prometheus_url, check=1
    )
    assert (
        "unreadable  payments-api: monitoring/alerts.yaml: recording rule "
        "service:request_errors:ratio_rate5m: its expression does not parse" in result.stdout
    )
    assert missing(result.stdout, "payments-wrongjob")
    assert "Traceback" not in result.stdout + result.stderr
