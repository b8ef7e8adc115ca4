"""rollback.sh's safety around the workload's state, run with the real kubectl against the fake
API server: the StatefulSet forced rollback, and a paused Deployment.

rollback.sh deletes the pods of the StatefulSet that still run another revision, so that they
come back from the restored one. Its label selector (here ``app.kubernetes.io/part-of``, as a
team labels every workload of a product) also finds other workloads' pods: a Deployment's Ready
replica, a CronJob's finished pod, a pod without a controller, another StatefulSet's pod (the
database primary). Only the StatefulSet's own pods (its controller owner reference) may be
deleted. The negative control runs the stale-pod filter the script had before (by column
position, which a pod without a ``controller-revision-hash`` label shifts) and sees it delete
the others.

The wait after each delete: the controller re-creates the pod a moment later (and with
``OrderedReady`` only once the lower ordinals are Ready), so a Ready wait right after the delete
finds no pod. The fake re-creates a deleted pod after a delay here; a pod that never comes back
ends the script within --timeout, naming it.

A paused Deployment: kubectl rollout undo refuses it ("you cannot rollback a paused deployment;
resume it first"), in a server dry run too, so rollback.sh resumes it first and says why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import kube_api
import pytest
from kube_api import Cluster, FakeApiServer, Role
from script_stubs import STUB

KUBECTL = "/usr/bin/kubectl"
CONTEXT = "prod-eu-west-1"
NAMESPACE = "production"
SERVICE = "payments-api"
PART_OF = {"app.kubernetes.io/part-of": "payments"}
ANSWERS = {
    "workload": "statefulset",
    "migration_tool": "none",
    "gitops": "none",
    "kube_context": CONTEXT,
    "app_label_selector": "app.kubernetes.io/part-of=payments",
}
IMAGES = [f"registry.example.com/payments-api:1.4.{n}" for n in range(3)]

# Other workloads' pods the shared selector finds (name, owner kind, Ready, phase, labels).
OTHERS = {
    "payments-worker-6b7c9d-x2x4q": (
        "ReplicaSet",
        "True",
        "Running",
        {"pod-template-hash": "6b7c9d"},
    ),
    "payments-report-28740000-abcde": (
        "Job",
        "False",
        "Succeeded",
        {"job-name": "payments-report"},
    ),
    "payments-debug": ("", "True", "Running", {}),
    "payments-db-0": (
        "StatefulSet",
        "False",
        "Pending",
        {"controller-revision-hash": "payments-db-7f8e9d"},
    ),
}

# The stale-pod filter of rollback.sh before the fix (scripts/lib/common.sh), kept as rendered.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OLD_STALE_POD_FILTER = (FIXTURES / "old-statefulset-stale-pods.sh").read_text()


def _other_pod(name: str, owner_kind: str, ready: str, phase: str, labels: dict) -> dict:
    owners = []
    if owner_kind:
        owners = [
            {
                "apiVersion": "batch/v1" if owner_kind == "Job" else "apps/v1",
                "kind": owner_kind,
                "name": name.rsplit("-", 1)[0],
                "uid": f"11111111-0000-0000-0000-{len(name):012d}",
                "controller": True,
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {**PART_OF, **labels},
            "ownerReferences": owners,
        },
        "spec": {"containers": [{"name": "app", "image": "registry.example.com/other:1"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]},
    }


def seeded_cluster() -> Cluster:
    """The StatefulSet (OnDelete: the undo replaces no pod by itself) and the other pods."""
    cluster = Cluster()
    cluster.add_statefulset(
        NAMESPACE,
        SERVICE,
        {**PART_OF, "app.kubernetes.io/name": SERVICE},
        IMAGES,
        update_strategy="OnDelete",
    )
    for name, (owner_kind, ready, phase, labels) in OTHERS.items():
        cluster.put(_other_pod(name, owner_kind, ready, phase, labels))
    return cluster


class Run:
    def __init__(self, result: subprocess.CompletedProcess[str], server: FakeApiServer) -> None:
        self.result = result
        self.server = server

    @property
    def deleted_pods(self) -> list[str]:
        return [
            r.name or ""
            for r in self.server.requests
            if r.method == "DELETE" and r.resource == "pods" and not r.dry_run
        ]

    def __repr__(self) -> str:
        return f"exit {self.result.returncode}\n{self.result.stderr}"


@pytest.fixture
def service(render) -> Path:
    return render(ANSWERS)


@pytest.fixture
def run_rollback(tmp_path: Path) -> Iterator:
    with ExitStack() as stack:

        def run(scripts: Path, cluster: Cluster, *args: str, script: str = "rollback.sh") -> Run:
            server = stack.enter_context(FakeApiServer(CONTEXT, cluster))
            home = tmp_path / f"home{len(stack._exit_callbacks)}"
            (home / "bin").mkdir(parents=True)
            (home / "bin" / "curl").symlink_to(STUB)
            kubeconfig = kube_api.write_kubeconfig(home / "kubeconfig", {CONTEXT: server}, CONTEXT)
            result = subprocess.run(
                [str(scripts / script), *args],
                env={
                    "PATH": f"{home / 'bin'}:/usr/bin:/bin",
                    "HOME": str(home),
                    "KUBECONFIG": str(kubeconfig),
                    "STUB_LOG": str(home / "curl.log"),
                    "LANG": "C.UTF-8",
                },
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            return Run(result, server)

        yield run


def doctored_copy(service: Path, folder: Path) -> Path:
    """The rendered scripts with the stale-pod filter the script had before the fix."""
    scripts = folder / "scripts"
    shutil.copytree(service / "scripts", scripts)
    common = scripts / "lib" / "common.sh"
    text = common.read_text()
    doctored, count = re.subn(
        r"(?ms)^statefulset_stale_pods\(\) \{\n.*?^\}\n", lambda _: OLD_STALE_POD_FILTER, text
    )
    assert count == 1, "the stale-pod filter was not found in common.sh"
    common.write_text(doctored)
    return scripts


def test_forced_rollback_deletes_only_the_statefulsets_own_pods(
    service: Path, run_rollback
) -> None:
    run = run_rollback(service / "scripts", seeded_cluster(), "--yes")
    assert run.result.returncode == 0, run
    assert sorted(run.deleted_pods) == [f"{SERVICE}-0", f"{SERVICE}-1"], run
    # Highest ordinal first, as the controller updates them.
    assert run.deleted_pods == [f"{SERVICE}-1", f"{SERVICE}-0"], run


def test_status_lists_only_the_statefulsets_own_stale_pods(service: Path, run_rollback) -> None:
    cluster = seeded_cluster()
    stale = cluster.get("pods", NAMESPACE, f"{SERVICE}-1")
    assert stale is not None
    stale["metadata"]["labels"]["controller-revision-hash"] = f"{SERVICE}-0ld"
    run = run_rollback(service / "scripts", cluster, script="status.sh")
    assert run.result.returncode == 0, run
    listed = run.result.stdout.split("OnDelete: pods still on another revision (name, Ready):")[1]
    assert listed.split() == [f"{SERVICE}-1", "True"], run


def test_negative_control_the_old_filter_deletes_other_workloads_pods(
    service: Path, run_rollback, tmp_path: Path
) -> None:
    scripts = doctored_copy(service, tmp_path / "old")
    # The Deployment's Ready replica is deleted (and the run then stops, waiting for it).
    run = run_rollback(scripts, seeded_cluster(), "--yes", "--timeout", "5s")
    assert run.deleted_pods[:1] == ["payments-worker-6b7c9d-x2x4q"], run
    # Every pod of the others is taken for a stale pod of the StatefulSet: those without a
    # controller-revision-hash label (the old filter read "True", or nothing, as their revision)
    # and the database primary, which has its own.
    status = run_rollback(scripts, seeded_cluster(), script="status.sh")
    listed = status.result.stdout.split("(name, Ready):")[1].split()
    assert set(OTHERS) <= set(listed), status


def test_the_wait_after_a_delete_lets_the_controller_recreate_the_pod(
    service: Path, run_rollback
) -> None:
    cluster = seeded_cluster()
    cluster.pod_recreate_delay = 2.0  # a Ready wait right after the delete finds no pod
    run = run_rollback(service / "scripts", cluster, "--yes")
    assert run.result.returncode == 0, run
    assert run.deleted_pods == [f"{SERVICE}-1", f"{SERVICE}-0"], run


def test_a_pod_that_never_comes_back_ends_the_wait_within_the_timeout(
    service: Path, run_rollback
) -> None:
    cluster = seeded_cluster()
    cluster.pod_recreate_delay = None
    run = run_rollback(service / "scripts", cluster, "--yes", "--timeout", "3s")
    assert run.result.returncode == 4, run
    assert f"{SERVICE}-1 was not re-created within 3s" in run.result.stderr, run
    assert "OrderedReady" in run.result.stderr, run


DEPLOYMENT_ANSWERS = {**ANSWERS, "workload": "deployment"}


def paused_deployment(paused: bool) -> Cluster:
    cluster = Cluster()
    deployment = cluster.add_deployment(NAMESPACE, SERVICE, {**PART_OF}, IMAGES)
    if paused:
        deployment["spec"]["paused"] = True
    return cluster


def _deployment_patches(run: Run) -> list[dict]:
    return [
        r.body
        for r in run.server.requests
        if r.method == "PATCH" and r.resource == "deployments" and not r.dry_run
    ]


def _restores_template(patch: object) -> bool:
    """kubectl rollout undo sends a JSON patch replacing /spec/template."""
    return isinstance(patch, list) and any(op.get("path") == "/spec/template" for op in patch)


def test_a_paused_deployment_is_resumed_before_the_undo(render, run_rollback) -> None:
    scripts = render(DEPLOYMENT_ANSWERS) / "scripts"
    run = run_rollback(scripts, paused_deployment(True), "--yes")
    assert run.result.returncode == 0, run
    resume, undo = _deployment_patches(run)
    assert not resume["spec"].get("paused"), run  # null or false: resumed
    assert _restores_template(undo), run
    assert "kubectl rollout undo refuses a paused" in run.result.stderr, run


def test_the_dry_run_of_a_paused_deployment_says_it_would_resume_first(
    render, run_rollback
) -> None:
    scripts = render(DEPLOYMENT_ANSWERS) / "scripts"
    cluster = paused_deployment(True)
    run = run_rollback(scripts, cluster, "--dry-run")
    assert run.result.returncode == 0, run
    assert "would run: kubectl rollout resume deployment/payments-api" in run.result.stderr, run
    assert not [r for r in run.server.requests if r.mutating and not r.dry_run], run
    deployment = cluster.get("deployments", NAMESPACE, SERVICE)
    assert deployment is not None and deployment["spec"]["paused"] is True


def test_negative_control_an_unpaused_deployment_is_not_resumed(render, run_rollback) -> None:
    scripts = render(DEPLOYMENT_ANSWERS) / "scripts"
    run = run_rollback(scripts, paused_deployment(False), "--yes")
    assert run.result.returncode == 0, run
    (undo,) = _deployment_patches(run)
    assert _restores_template(undo), run


# --- the break-glass access check: status.sh --access asks the API server -----------------------

# The rights a Deployment service without migrations or GitOps needs (on-call.md lists them).
DEPLOYMENT_RIGHTS = (
    ("patch", "deployments"),
    ("patch", "deployments/scale"),
    ("delete", "pods"),
    ("patch", "pods"),
    ("patch", "horizontalpodautoscalers"),
    ("create", "pods/exec"),
    ("get", "pods/exec"),
)


def access_check(render, tmp_path: Path, role: Role) -> subprocess.CompletedProcess[str]:
    scripts = render(DEPLOYMENT_ANSWERS) / "scripts"
    with FakeApiServer(CONTEXT, paused_deployment(False), role=role) as server:
        home = tmp_path / "home"
        home.mkdir()
        kubeconfig = kube_api.write_kubeconfig(home / "kubeconfig", {CONTEXT: server}, CONTEXT)
        result = subprocess.run(
            [str(scripts / "status.sh"), "--access"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(home), "KUBECONFIG": str(kubeconfig)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert not [r for r in server.requests if r.mutating], "the access check changed something"
    return result


def test_the_access_check_passes_with_every_right(render, tmp_path: Path) -> None:
    result = access_check(render, tmp_path, Role.read_only().plus(*DEPLOYMENT_RIGHTS))
    assert result.returncode == 0, result.stderr
    assert "yes  create pods/exec in production" in result.stdout, result.stdout
    assert "NO" not in result.stdout, result.stdout


def test_the_access_check_names_a_missing_patch_right(render, tmp_path: Path) -> None:
    rights = [r for r in DEPLOYMENT_RIGHTS if r != ("patch", "deployments")]
    result = access_check(render, tmp_path, Role.read_only().plus(*rights))
    assert result.returncode == 3, result.stderr
    assert "NO   patch deployments.apps in production" in result.stdout, result.stdout
    assert "kubectl auth can-i patch deployments.apps -n production" in result.stderr
