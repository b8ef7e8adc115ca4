"""A real Prometheus scraping series shaped like real instrumentation, for `check --prometheus`:
the service's own HTTP metrics as a client library writes them (a counter with `code`, `method`
and `handler` labels, a histogram in seconds), scraped as kube-prometheus-stack's ServiceMonitor
does (job = the Service's name, the target's namespace in `namespace`); kube-state-metrics'
series for each Deployment (scraped with honor_labels, so their own `namespace` stays) and a
HorizontalPodAutoscaler; nothing waits, nothing was OOM-killed, no claim is mounted. And the fleet
whose services read them rightly or wrongly. The server is started once per test session
(`prometheus_url`, a session fixture: import it into the test module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_servers import exporter, prometheus
from fleet_helpers import write_fleet

NAMESPACE = "production"
APP_JOB = "payments-api"  # the job of the service's own metrics: its Service's name

# Sources of the shapes: the client libraries' counter and histogram
# (https://prometheus.io/docs/concepts/metric_types/ ; `code` as promhttp's InstrumentHandlerCounter
# labels it: https://pkg.go.dev/github.com/prometheus/client_golang/prometheus/promhttp);
# kube-state-metrics: https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics
APP_METRICS = """\
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET",handler="/pay"} 10241
http_requests_total{code="503",method="GET",handler="/pay"} 7
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/pay",le="0.1"} 9000
http_request_duration_seconds_bucket{handler="/pay",le="0.5"} 10100
http_request_duration_seconds_bucket{handler="/pay",le="1"} 10240
http_request_duration_seconds_bucket{handler="/pay",le="+Inf"} 10248
http_request_duration_seconds_sum{handler="/pay"} 812.4
http_request_duration_seconds_count{handler="/pay"} 10248
"""


def kube_state_metrics(deployments: list[str]) -> str:
    """kube-state-metrics' series of healthy Deployments, each with one pod and an HPA."""
    lines = []
    for name in deployments:
        rs, pod = f"{name}-5d9c7b8f6", f"{name}-5d9c7b8f6-x7k2p"
        d = f'namespace="{NAMESPACE}",deployment="{name}"'
        p = f'namespace="{NAMESPACE}",pod="{pod}"'
        h = f'namespace="{NAMESPACE}",horizontalpodautoscaler="{name}"'
        lines += [
            f"kube_deployment_spec_replicas{{{d}}} 3",
            f"kube_deployment_status_replicas_available{{{d}}} 3",
            f"kube_deployment_status_replicas_updated{{{d}}} 3",
            f"kube_deployment_status_observed_generation{{{d}}} 4",
            f"kube_deployment_metadata_generation{{{d}}} 4",
        ]
        lines += [
            f'kube_deployment_status_condition{{{d},condition="{c}",status="{s}"}} {v}'
            for c in ("Available", "Progressing")
            for s, v in (("true", 1), ("false", 0), ("unknown", 0))
        ]
        lines += [
            f'kube_replicaset_owner{{namespace="{NAMESPACE}",replicaset="{rs}",'
            f'owner_kind="Deployment",owner_name="{name}",owner_is_controller="true"}} 1',
            f'kube_pod_owner{{{p},owner_kind="ReplicaSet",owner_name="{rs}",'
            'owner_is_controller="true"} 1',
            f'kube_pod_container_status_restarts_total{{{p},container="app"}} 0',
        ]
        lines += [
            f'kube_pod_status_ready{{{p},condition="{c}"}} {v}'
            for c, v in (("true", 1), ("false", 0), ("unknown", 0))
        ]
        lines += [
            f'kube_horizontalpodautoscaler_info{{{h},scaletargetref_kind="Deployment",'
            f'scaletargetref_name="{name}"}} 1',
            f"kube_horizontalpodautoscaler_spec_max_replicas{{{h}}} 10",
            f"kube_horizontalpodautoscaler_spec_min_replicas{{{h}}} 2",
            f"kube_horizontalpodautoscaler_status_current_replicas{{{h}}} 3",
        ]
    return "\n".join(lines) + "\n"


# The fleet: each service and its answers (beside the defaults), and what it gets wrong.
SERVICES: dict[str, dict[str, str]] = {
    # The right answers: its job is its Service's name, its labels the ServiceMonitor's.
    "payments-api": {},
    # The default job="<service_name>", where the ServiceMonitor's job is the Service's name.
    "payments-wrongjob": {},
    "payments-nslabel": {
        "metrics_selector": f'job="{APP_JOB}"',
        "metrics_namespace_label": "kubernetes_namespace",
    },
    "payments-status": {"metrics_selector": f'job="{APP_JOB}"', "error_matcher": 'status=~"5.."'},
    # Right, and no request has failed with a 500 yet: no series holds code="500".
    "payments-noerrors": {"metrics_selector": f'job="{APP_JOB}"', "error_matcher": 'code="500"'},
    "payments-metric": {
        "metrics_selector": f'job="{APP_JOB}"',
        "request_metric": "http_server_requests_seconds_count",
    },
}


def scrape_config(port: int) -> dict:
    """Two jobs, as kube-prometheus-stack scrapes them: the service (its namespace a target label)
    and kube-state-metrics (honor_labels: the namespaces of its series stay)
    (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config)."""
    target = f"127.0.0.1:{port}"
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": APP_JOB,
                "metrics_path": "/app",
                "static_configs": [{"targets": [target], "labels": {"namespace": NAMESPACE}}],
            },
            {
                "job_name": "kube-state-metrics",
                "metrics_path": "/kube-state-metrics",
                "honor_labels": True,
                "static_configs": [{"targets": [target], "labels": {"namespace": "monitoring"}}],
            },
        ],
    }


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prometheus for the session, every job scraped at least once."""
    folder = tmp_path_factory.mktemp("prometheus")
    pages = {"/app": APP_METRICS, "/kube-state-metrics": kube_state_metrics(list(SERVICES))}
    with exporter(pages) as port, prometheus(scrape_config(port), folder, jobs=2) as url:
        yield url


def fleet_file(folder: Path, services: list[str]) -> Path:
    """A fleet file of ``services`` (Deployments in production, no GitOps, no database)."""
    entries = [{"service_name": name, **SERVICES[name]} for name in services]
    defaults = {
        "reviewed_on": "2026-11-02",
        "namespace": NAMESPACE,
        "workload": "deployment",
        "gitops": "none",
        "migration_tool": "none",
    }
    return write_fleet(folder / "fleet.yaml", entries, defaults)


def render_answers(name: str) -> dict[str, str]:
    """The answers the `render` fixture renders the service with (as the fleet file gives)."""
    return {
        "service_name": name,
        "namespace": NAMESPACE,
        "workload": "deployment",
        "gitops": "none",
        "migration_tool": "none",
        **SERVICES[name],
    }
