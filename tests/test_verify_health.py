"""verify.sh checks health as far as the health_check answer allows, and never reports a service
unhealthy because a URL nobody gave did not answer.

- url: curl -f on the URL (a non-2xx answer exits 4);
- in-cluster: each Running pod's HTTP probe through the API server's pod proxy,
  ``kubectl get --raw /api/v1/namespaces/NS/pods/[https:]POD:PORT/proxy/PATH``
  (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-connect-get-requests-to-proxy-of-pod);
- readiness: the pods' Ready condition (``kubectl wait --for=condition=Ready``).

The scripts run against the stub tools (tests/bats/stubs/stub) and their calls are compared.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from script_stubs import CONTEXT, Stubs

PODS = ["payments-api-7c9d8f6b5-x2x4q", "payments-api-7c9d8f6b5-k8m2z"]  # the stub's Running pods
BASE = {"workload": "deployment", "migration_tool": "none", "gitops": "none"}
IN_CLUSTER = {
    "health_check": "in-cluster",
    "health_check_path": "/healthz/ready",
    "health_check_port": "8443",
    "health_check_scheme": "HTTPS",
}


def verify(render, tmp_path: Path, answers: dict[str, str], *args: str, **switches: str):
    """verify.sh of a service rendered with ``answers``: its result and the stubs' calls."""
    stubs = Stubs(tmp_path, current_context=CONTEXT)
    result = stubs.run(render({**BASE, **answers}) / "scripts" / "verify.sh", *args, **switches)
    return result, stubs.calls()


def proxy_calls(calls: list[list[str]]) -> list[list[str]]:
    return [call for call in calls if call[:3] == ["kubectl", "get", "--raw"]]


def test_in_cluster_asks_every_running_pod_through_the_api_server(render, tmp_path: Path) -> None:
    result, calls = verify(render, tmp_path, IN_CLUSTER)
    assert result.returncode == 0, result.stderr
    assert proxy_calls(calls) == [
        [
            "kubectl",
            "get",
            "--raw",
            f"/api/v1/namespaces/production/pods/https:{pod}:8443/proxy/healthz/ready",
            "-n",
            "production",
            "--context",
            CONTEXT,
        ]
        for pod in PODS
    ]
    assert not [call for call in calls if call[0] == "curl"]


def test_in_cluster_follows_the_namespace_option(render, tmp_path: Path) -> None:
    result, calls = verify(render, tmp_path, IN_CLUSTER, "--namespace", "staging")
    assert result.returncode == 0, result.stderr
    assert all("/namespaces/staging/pods/" in call[3] for call in proxy_calls(calls))
    assert len(proxy_calls(calls)) == len(PODS)


def test_in_cluster_exits_4_naming_the_pod_that_failed(render, tmp_path: Path) -> None:
    """Negative control: a probe that does not answer 2xx (kubectl exits 1) fails the check."""
    result, _ = verify(render, tmp_path, IN_CLUSTER, STUB_PROXY_RC="1")
    assert result.returncode == 4
    assert f"pod {PODS[0]} failed its probe /healthz/ready on port 8443" in result.stderr


def test_in_cluster_without_a_running_pod_is_not_healthy(render, tmp_path: Path) -> None:
    result, calls = verify(render, tmp_path, IN_CLUSTER, STUB_NO_PODS="1")
    assert result.returncode == 4
    assert "no Running pod" in result.stderr
    assert proxy_calls(calls) == []


def test_readiness_waits_for_the_pods_ready_condition_and_asks_no_url(
    render, tmp_path: Path
) -> None:
    result, calls = verify(render, tmp_path, {"health_check": "readiness"})
    assert result.returncode == 0, result.stderr
    ready = "kubectl wait pod -l app=payments-api -n production --context"
    assert [call for call in calls if call[:2] == ["kubectl", "wait"]] == [
        [*ready.split(), CONTEXT, "--for=condition=Ready", "--timeout=5m"]
    ]
    assert not [
        call for call in calls if call[0] == "curl" or call[:3] == ["kubectl", "get", "--raw"]
    ]


def test_the_default_render_invents_no_url_to_fail_on(render, tmp_path: Path) -> None:
    """A service rendered with the defaults has no health URL: a good rollback verifies (exit
    0), where an example URL that does not answer would have exited 4 and invited a second undo."""
    result, calls = verify(render, tmp_path, {}, STUB_CURL_RC="22")
    assert result.returncode == 0, result.stderr
    assert not [call for call in calls if call[0] == "curl"]


@pytest.mark.parametrize("kind", [{"health_check": "readiness"}, IN_CLUSTER])
def test_a_url_given_on_the_command_line_is_checked_whatever_the_kind(
    render, tmp_path: Path, kind: dict[str, str]
) -> None:
    url = "https://staging.example.com/healthz"
    result, calls = verify(render, tmp_path, kind, "--health-url", url, STUB_CURL_RC="22")
    assert result.returncode == 4
    assert ["curl", "-fsS", "--max-time", "10", url] in calls


def test_url_exits_4_when_the_url_fails(render, tmp_path: Path) -> None:
    url = {"health_check": "url", "health_url": "https://payments.example.com/health"}
    result, calls = verify(render, tmp_path, url, STUB_CURL_RC="22")
    assert result.returncode == 4
    assert ["curl", "-fsS", "--max-time", "10", url["health_url"]] in calls
    result, _ = verify(render, tmp_path / "ok", url)
    assert result.returncode == 0, result.stderr
