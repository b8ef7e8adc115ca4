"""monitoring/alertmanager-inhibit.yaml in a real Alertmanager (Debian's prometheus-alertmanager,
on 127.0.0.1, no cluster): merged into a configuration that sends every alert to a local webhook,
it lets each of the service's alerts notify and silences the kubernetes-mixin's twin of it, as
kube-prometheus-stack's default rules raise that twin for the same pod, workload, autoscaler or
claim. Our alerts carry the labels their generated promtool tests fire with; the twins the labels
the mixin's expressions keep, written here from the mixin's source. Negative controls: without
the fragment both notify; a twin of another namespace or of another workload still notifies; a
doctored fragment fails `amtool check-config`. A service answering no gets no fragment."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from alert_servers import (
    alertmanager,
    alertmanager_config,
    post_alerts,
    wait_until,
    webhook_receiver,
)
from tools import tool

FRAGMENT = Path("monitoring") / "alertmanager-inhibit.yaml"

# The labels a kubernetes-mixin alert carries besides alertname and severity, from its expression
# (https://github.com/kubernetes-monitoring/kubernetes-mixin/blob/master/alerts/ ,
# apps_alerts.libsonnet and storage_alerts.libsonnet): a kube-state-metrics or kubelet series
# as scraped by kube-prometheus-stack's ServiceMonitors (job, instance, service), or its `by`.
KSM = {"job": "kube-state-metrics", "instance": "10.0.3.7:8080", "service": "prometheus-ksm"}
KUBELET = {"job": "kubelet", "instance": "10.0.1.4:10250", "service": "prometheus-kubelet"}
POD = ("namespace", "pod", "container")
CRASH = KSM | {"reason": "CrashLoopBackOff"}
# Our alert -> (its twin, the twin's severity, the object labels the twin keeps, its other labels).
TWINS_OF_ANY = {
    "PodCrashLooping": (
        "KubePodCrashLooping",
        "warning",
        POD,
        KSM | {"reason": "CrashLoopBackOff"},
    ),
    "ContainerWaiting": ("KubeContainerWaiting", "warning", POD, KSM | {"reason": "ErrImagePull"}),
    # sum by (namespace, pod, job, cluster)
    "PodNotReady": ("KubePodNotReady", "warning", ("namespace", "pod"), {"job": KSM["job"]}),
    "HpaMaxedOut": ("KubeHpaMaxedOut", "warning", ("namespace", "horizontalpodautoscaler"), KSM),
    "VolumeAlmostFull": (
        "KubePersistentVolumeFillingUp",
        "critical",
        ("namespace", "persistentvolumeclaim"),
        KUBELET,
    ),
    "VolumeFillingUp": (
        "KubePersistentVolumeFillingUp",
        "warning",
        ("namespace", "persistentvolumeclaim"),
        KUBELET,
    ),
}
DEPLOYMENT = ("namespace", "deployment")
STATEFULSET = ("namespace", "statefulset")
TWINS = {
    # kube-state-metrics knows no Rollout: only the pod, autoscaler and claim alerts have twins.
    "argo-rollout": TWINS_OF_ANY,
    "deployment": TWINS_OF_ANY
    | {
        "ReplicasUnavailable": ("KubeDeploymentReplicasMismatch", "warning", DEPLOYMENT, KSM),
        "RolloutStuck": (
            "KubeDeploymentRolloutStuck",
            "warning",
            DEPLOYMENT,
            KSM | {"condition": "Progressing", "status": "false"},
        ),
        "GenerationMismatch": ("KubeDeploymentGenerationMismatch", "warning", DEPLOYMENT, KSM),
    },
    "statefulset": TWINS_OF_ANY
    | {
        "ReplicasUnavailable": ("KubeStatefulSetReplicasMismatch", "warning", STATEFULSET, KSM),
        # max by (namespace, statefulset, job, cluster)
        "RolloutStuck": (
            "KubeStatefulSetUpdateNotRolledOut",
            "warning",
            STATEFULSET,
            {"job": KSM["job"]},
        ),
        "GenerationMismatch": ("KubeStatefulSetGenerationMismatch", "warning", STATEFULSET, KSM),
    },
}
OTHER_NAMESPACE = "staging"


def our_alerts(service: Path) -> dict[str, dict[str, str]]:
    """Each alert of the service with the labels it fires with: its generated promtool test's
    expected labels (which promtool holds the rule to), and alertname."""
    tests = yaml.safe_load((service / "monitoring" / "alerts.test.yaml").read_text())["tests"]
    fired = {}
    for unit in tests:
        for check in unit["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                fired[check["alertname"]] = {"alertname": check["alertname"], **alert["exp_labels"]}
    return fired


def twin_of(ours: dict[str, str], kind: str) -> dict[str, str]:
    """The mixin's alert for the same object as ``ours``."""
    alertname, severity, kept, other = TWINS[kind][ours["alertname"]]
    return {"alertname": alertname, "severity": severity, **other} | {k: ours[k] for k in kept}


def elsewhere(twin: dict[str, str], name: str) -> list[dict[str, str]]:
    """The same twin in another namespace, and for another workload's object (its name starts
    with this service's, as a worker's does)."""
    objects = {k: v for k, v in twin.items() if k in ("pod", "deployment", "statefulset")}
    objects |= {k: v for k, v in twin.items() if k in ("horizontalpodautoscaler",)}
    objects |= {k: v for k, v in twin.items() if k in ("persistentvolumeclaim",)}
    other = {k: v.replace(name, f"{name}-worker", 1) for k, v in objects.items()}
    return [twin | {"namespace": OTHER_NAMESPACE}, twin | other]


def notified(
    service: Path, kind: str, inhibit_rules: list[dict], posted: list[dict[str, str]], tmp: Path
) -> tuple[list[dict[str, str]], list[dict]]:
    """What the webhook received once every posted alert had its chance to notify, and the alerts
    as Alertmanager holds them (with their inhibition status)."""
    with webhook_receiver() as (url, webhook):
        config = tmp / "alertmanager.yml"
        config.write_text(yaml.safe_dump(alertmanager_config(url, inhibit_rules)))
        with alertmanager(config, tmp) as am:
            post_alerts(am, posted)
            # group_wait is 1 s: every notification not inhibited is sent within a few seconds.
            wait_until(lambda: len(webhook.received()) >= 1, 15, "a first notification")
            time.sleep(3)
            with urllib.request.urlopen(f"{am}/api/v2/alerts", timeout=5) as response:
                held = json.load(response)
            return webhook.received(), held


def key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True)


@pytest.fixture(scope="module", params=["deployment", "statefulset", "argo-rollout"])
def service(request: pytest.FixtureRequest, render: Callable[[dict], Path]) -> tuple[Path, str]:
    answers = {"workload": request.param, "migration_tool": "none", "gitops": "none"}
    return render(answers), request.param


def test_the_fragment_silences_each_twin_and_only_it(service, tmp_path: Path) -> None:
    folder, kind = service
    fragment = yaml.safe_load((folder / FRAGMENT).read_text())["inhibit_rules"]
    ours = [alert for name, alert in our_alerts(folder).items() if name in TWINS[kind]]
    assert {alert["alertname"] for alert in ours} == set(TWINS[kind])  # every twin is tried
    twins = [twin_of(alert, kind) for alert in ours]
    others = [other for twin in twins for other in elsewhere(twin, folder.name)]
    received, held = notified(folder, kind, fragment, ours + twins + others, tmp_path)
    assert sorted(map(key, received)) == sorted(map(key, ours + others))
    suppressed = {key(a["labels"]) for a in held if a["status"]["inhibitedBy"]}
    assert suppressed == set(map(key, twins))


def test_without_the_fragment_both_notify(service, tmp_path: Path) -> None:
    """Negative control: the same alerts with no inhibit rule page twice."""
    folder, kind = service
    ours = [alert for name, alert in our_alerts(folder).items() if name in TWINS[kind]]
    twins = [twin_of(alert, kind) for alert in ours]
    received, _ = notified(folder, kind, [], ours + twins, tmp_path)
    assert sorted(map(key, received)) == sorted(map(key, ours + twins))


def merged_config(folder: Path, fragment_text: str) -> Path:
    fragment = yaml.safe_load(fragment_text)["inhibit_rules"]
    config = folder / "alertmanager.yml"
    config.write_text(yaml.safe_dump(alertmanager_config("http://127.0.0.1:9/", fragment)))
    return config


def test_amtool_accepts_the_merged_config(service, tmp_path: Path) -> None:
    folder, _ = service
    config = merged_config(tmp_path, (folder / FRAGMENT).read_text())
    result = subprocess.run(
        [tool("amtool"), "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "inhibit rules" in result.stdout


def test_amtool_refuses_a_broken_fragment(service, tmp_path: Path) -> None:
    """Negative control: a matcher that does not parse fails the check."""
    folder, _ = service
    broken = (folder / FRAGMENT).read_text().replace('namespace="', 'namespace=~"(', 1)
    result = subprocess.run(
        [tool("amtool"), "check-config", str(merged_config(tmp_path, broken))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0


def test_a_cluster_without_the_mixin_gets_no_fragment(render) -> None:
    folder = render({"migration_tool": "none", "gitops": "none", "kube_prometheus_rules": False})
    assert (folder / "monitoring" / "alerts.yaml").is_file()
    assert not (folder / FRAGMENT).exists()
