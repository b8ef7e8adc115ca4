"""The helper scripts' kubectl paths, run with the real kubectl against fake API servers.

The bats suites check which commands the scripts run; these check what those commands do. Each
test writes a kubeconfig with two contexts, the production one (``prod-eu-west-1``) and a
current ``kind-dev``, each pointing at its own recording fake API server (tests/kube_api.py)
that holds the service in ``production`` and ``staging``, with three revisions. It runs a
rendered script with only the real kubectl (and a stub curl) on PATH, then asserts on what
reached the servers: a --dry-run sends its mutations with ``dryRun=All``, a rollback patches in
the wanted revision's pod template, the label selector arrives as ``labelSelector``, and the
namespace and context are the ones the script confirmed. The checks are asserted with real
runs of doctored scripts too (negative controls), so they are known to fail.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import kube_api
import kube_checks
import kube_objects
import pytest
from kube_api import Cluster, FakeApiServer, Request
from runbook_pages import one_line
from script_stubs import STUB

KUBECTL = "/usr/bin/kubectl"
PROD, DEV = "prod-eu-west-1", "kind-dev"
NAMESPACES = ("production", "staging")
SERVICE = "payments-api"  # the template's default service name and label selector
SELECTOR = "app=payments-api"
FLUX_NAMESPACE = "flux-system"  # the template's default flux_namespace
# Revisions 1, 2 and 3 (running now), one image each.
IMAGES = [f"registry.example.com/payments-api:1.4.{n}" for n in range(3)]
CURRENT = len(IMAGES)


@dataclass(frozen=True)
class Service:
    answers: dict[str, str]
    plural: str  # the workload's resource type
    history: str  # the resource type that holds its revisions
    context_args: tuple[str, ...]  # how the test picks the context
    target: str  # the context whose server must get every request


SERVICES = {
    # A configured context, given with --context while another one is current.
    "deployment": Service(
        {"workload": "deployment", "migration_tool": "django", "gitops": "none"}
        | {"kube_context": PROD},
        "deployments",
        "replicasets",
        ("--context", PROD),
        PROD,
    ),
    # No configured context: the current one is used, and must be the one confirmed.
    "statefulset": Service(
        {"workload": "statefulset", "migration_tool": "alembic", "gitops": "none"},
        "statefulsets",
        "controllerrevisions",
        (),
        DEV,
    ),
}


class Kube:
    """Two fake clusters behind two servers, a kubeconfig naming them, and a way to run a
    rendered script against them."""

    def __init__(self, folder: Path, service: Service, stack: ExitStack) -> None:
        self.service = service
        self.clusters = {PROD: _seeded(service), DEV: _seeded(service)}
        self.servers = {
            name: stack.enter_context(FakeApiServer(name, cluster))
            for name, cluster in self.clusters.items()
        }
        home = folder / "home"
        (home / "bin").mkdir(parents=True)
        (home / "bin" / "curl").symlink_to(STUB)  # verify.sh's health check; nothing else
        path = f"{home / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"
        assert shutil.which("kubectl", path=path) == KUBECTL
        self.env = {
            "PATH": path,
            "HOME": str(home),  # kubectl's discovery cache goes there
            "KUBECONFIG": str(kube_api.write_kubeconfig(home / "kubeconfig", self.servers, DEV)),
            "STUB_LOG": str(home / "curl.log"),
            "LANG": "C.UTF-8",
        }

    def run(self, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a script with no terminal, as a pipeline would."""
        return subprocess.run(
            [str(script), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @property
    def target(self) -> Cluster:
        return self.clusters[self.service.target]

    def requests(self) -> list[Request]:
        return self.servers[self.service.target].requests

    def workload(self, namespace: str) -> dict:
        obj = self.target.get(self.service.plural, namespace, SERVICE)
        assert obj is not None
        return copy.deepcopy(obj)

    def revision(self, namespace: str, number: int) -> dict:
        return self.target.revision_template(self.service.plural, namespace, SERVICE, number)


def _seeded(service: Service) -> Cluster:
    cluster = Cluster(exec_output="migration status from the fake pod\n")
    add = cluster.add_deployment if service.plural == "deployments" else cluster.add_statefulset
    for namespace in NAMESPACES:
        add(namespace, SERVICE, {"app": SERVICE}, IMAGES)
    if service.answers["gitops"] == "flux":  # the scripts read whether it is suspended
        cluster.add(kube_objects.kustomization(FLUX_NAMESPACE, SERVICE, f"./deploy/{SERVICE}"))
    return cluster


@pytest.fixture(params=list(SERVICES))
def service(request: pytest.FixtureRequest) -> Service:
    return SERVICES[request.param]


@pytest.fixture
def kube(tmp_path: Path, service: Service) -> Iterator[Kube]:
    with ExitStack() as stack:
        yield Kube(tmp_path, service, stack)


@pytest.fixture
def scripts(render: Callable[[dict[str, str]], Path], service: Service) -> Path:
    return render(service.answers) / "scripts"


def run_ok(kube: Kube, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = kube.run(script, *args, *kube.service.context_args)
    assert result.returncode == 0, f"{script.name} {args}: {result.returncode}\n{result.stderr}"
    return result


def confirmed(stderr: str, label: str) -> str:
    """The context or namespace the script showed before a write (its first word)."""
    match = re.search(rf"^\s*{label}:\s+(\S+)", stderr, re.MULTILINE)
    assert match, f"the script did not show its {label}:\n{stderr}"
    return match.group(1)


def check_target(kube: Kube, namespace: str) -> None:
    """Every request went to the expected context's server, in the expected namespace (but for
    reading the Flux Kustomization in Flux's namespace)."""
    kube_checks.check_only_server(kube.servers, kube.service.target)
    flux_object = frozenset({("kustomizations", FLUX_NAMESPACE)})
    kube_checks.check_namespace(kube.requests(), namespace, also_read=flux_object)


# --- rollback ----------------------------------------------------------------------------------


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_dry_run_rollback_is_a_server_dry_run(kube: Kube, scripts: Path, namespace: str) -> None:
    before = kube.workload(namespace)
    result = run_ok(kube, scripts / "rollback.sh", "--dry-run", "-n", namespace)
    kube_checks.check_dry_run(kube.requests())
    check_target(kube, namespace)
    assert confirmed(result.stderr, "context") == kube.service.target
    assert confirmed(result.stderr, "namespace") == namespace
    assert kube.workload(namespace)["spec"] == before["spec"]


def test_rollback_patches_in_the_previous_revision(kube: Kube, scripts: Path) -> None:
    before, wanted = kube.workload("staging"), kube.revision("staging", CURRENT - 1)
    result = run_ok(kube, scripts / "rollback.sh", "--yes", "-n", "staging")
    kube_checks.check_patched_to(kube.requests(), before, wanted)
    check_target(kube, "staging")
    assert confirmed(result.stderr, "context") == kube.service.target
    # The fake's controllers finished the rollout: the server now runs the older image.
    assert kube_api.template_images(kube.workload("staging")["spec"]["template"]) == [IMAGES[1]]


def test_rollback_to_a_revision_patches_in_that_revision(kube: Kube, scripts: Path) -> None:
    before, wanted = kube.workload("production"), kube.revision("production", 1)
    run_ok(kube, scripts / "rollback.sh", "--to-revision", "1", "--yes")
    kube_checks.check_patched_to(kube.requests(), before, wanted)
    check_target(kube, "production")


def test_a_configured_context_is_not_replaced_by_the_current_one(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The current context is kind-dev: without --context, the script refuses before kubectl
    reaches any server."""
    service = SERVICES["deployment"]
    with ExitStack() as stack:
        kube = Kube(tmp_path, service, stack)
        result = kube.run(render(service.answers) / "scripts" / "rollback.sh", "--yes")
        assert result.returncode == 3, result.stderr
        assert all(not server.contacts() for server in kube.servers.values())


# --- the read-only scripts ---------------------------------------------------------------------


def test_status_reads_the_pods_by_label_selector(kube: Kube, scripts: Path) -> None:
    result = run_ok(kube, scripts / "status.sh", "-n", "staging")
    kube_checks.check_read_only(kube.requests())
    kube_checks.check_label_selector(kube.requests(), "pods", SELECTOR)
    check_target(kube, "staging")
    assert IMAGES[-1] in result.stdout
    assert re.search(rf"^{SERVICE}-\S+\s+1/1\s+Running", result.stdout, re.MULTILINE)


def test_history_lists_the_workloads_revisions(kube: Kube, scripts: Path) -> None:
    result = run_ok(kube, scripts / "history.sh", "-n", "staging")
    kube_checks.check_read_only(kube.requests())
    kube_checks.check_label_selector(kube.requests(), kube.service.history, SELECTOR)
    check_target(kube, "staging")
    listed = re.findall(r"^(\d+)\s", result.stdout, re.MULTILINE)
    assert listed == [str(n) for n in range(1, CURRENT + 1)]


def test_history_of_one_revision_shows_its_template(kube: Kube, scripts: Path) -> None:
    result = run_ok(kube, scripts / "history.sh", "--revision", "2", "-n", "staging")
    kube_checks.check_read_only(kube.requests())
    check_target(kube, "staging")
    images = re.findall(r"Image:\s+(\S+)", result.stdout)
    assert images == [IMAGES[1]], result.stdout


def test_verify_reads_only(kube: Kube, scripts: Path) -> None:
    result = run_ok(kube, scripts / "verify.sh", "-n", "staging")
    kube_checks.check_read_only(kube.requests())
    check_target(kube, "staging")
    assert IMAGES[-1] in result.stdout


def test_db_migrations_status_runs_in_a_running_pod_of_the_service(
    kube: Kube, scripts: Path
) -> None:
    result = run_ok(kube, scripts / "db-migrations.sh", "status", "-n", "staging")
    requests = kube.requests()
    kube_checks.check_read_only(requests)
    check_target(kube, "staging")
    execs = [r for r in requests if r.is_exec]
    assert execs, "no exec reached the server"
    for request in execs:
        pod = kube.target.get("pods", "staging", request.path.split("/")[-2])
        assert pod is not None, f"exec in a pod that does not exist: {request.path}"
        assert kube_api.matches_selector(pod["metadata"]["labels"], SELECTOR)
        assert pod["status"]["phase"] == "Running"
        assert request.query.get("command"), "the exec carried no command"
    assert "migration status from the fake pod" in result.stdout


# --- negative controls: the checks fail on doctored scripts and on the wrong expectation --------


def doctored(scripts: Path, folder: Path, old: str, new: str) -> Path:
    """A copy of a service's scripts with ``old`` replaced by ``new`` everywhere (it must occur)."""
    copied = shutil.copytree(scripts, folder / "scripts", symlinks=True)
    changed = 0
    for script in copied.rglob("*.sh"):
        text = script.read_text(encoding="utf-8")
        changed += text.count(old)
        script.write_text(text.replace(old, new), encoding="utf-8")
    assert changed, f"{old!r} is not in the scripts: the doctoring did nothing"
    return copied


def test_dropping_the_dry_run_is_caught(kube: Kube, scripts: Path, tmp_path: Path) -> None:
    broken = doctored(scripts, tmp_path / "doctored", " --dry-run=server", "")
    before = kube.workload("staging")
    run_ok(kube, broken / "rollback.sh", "--dry-run", "-n", "staging")
    with pytest.raises(AssertionError, match="made real changes"):
        kube_checks.check_dry_run(kube.requests())
    assert kube.workload("staging")["spec"] != before["spec"], "the doctored run changed nothing"


def test_patching_the_wrong_revision_is_caught(kube: Kube, scripts: Path) -> None:
    """A rollback to revision N-1 does not pass the check for revision N."""
    wanted = 2
    before = kube.workload("staging")
    run_ok(
        kube, scripts / "rollback.sh", "--to-revision", str(wanted - 1), "--yes", "-n", "staging"
    )
    with pytest.raises(AssertionError, match=re.escape(f"patched in {[IMAGES[wanted - 2]]}")):
        kube_checks.check_patched_to(kube.requests(), before, kube.revision("staging", wanted))


def test_each_check_fails_on_requests_that_break_its_rule(kube: Kube, scripts: Path) -> None:
    """Real requests, checked against the wrong expectation: each check must say no."""
    run_ok(kube, scripts / "status.sh", "-n", "staging")
    reads = list(kube.requests())
    with pytest.raises(AssertionError, match="outside namespace production"):
        kube_checks.check_namespace(reads, "production")
    with pytest.raises(AssertionError, match="no mutating request"):
        kube_checks.check_dry_run(reads)
    with pytest.raises(AssertionError, match="without labelSelector app=other"):
        kube_checks.check_label_selector(reads, "pods", "app=other")
    # kubectl itself, on the other context, listing pods without -l.
    other = DEV if kube.service.target == PROD else PROD
    subprocess.run(
        [KUBECTL, "get", "pods", "-n", "staging", "--context", other],
        env=kube.env,
        capture_output=True,
        check=True,
    )
    with pytest.raises(AssertionError, match=f"another context than {kube.service.target}"):
        kube_checks.check_only_server(kube.servers, kube.service.target)
    with pytest.raises(AssertionError, match="without labelSelector"):
        kube_checks.check_label_selector(kube.servers[other].requests, "pods", SELECTOR)
    run_ok(kube, scripts / "rollback.sh", "--yes", "-n", "staging")
    with pytest.raises(AssertionError, match="read-only command sent mutating requests"):
        kube_checks.check_read_only(kube.requests())


# --- a StatefulSet with the OnDelete strategy: the forced rollback ----------------------------


def on_delete_kube(folder: Path, stack: ExitStack) -> Kube:
    """The StatefulSet service, its StatefulSet updating OnDelete in both clusters."""
    service = SERVICES["statefulset"]
    kube = Kube(folder, service, stack)
    for cluster in kube.clusters.values():
        for namespace in NAMESPACES:
            cluster.objects.pop(("statefulsets", namespace, SERVICE))
            for key in [k for k in cluster.objects if k[0] in ("pods", "controllerrevisions")]:
                if key[1] == namespace:
                    cluster.objects.pop(key)
            cluster.add_statefulset(
                namespace, SERVICE, {"app": SERVICE}, IMAGES, update_strategy="OnDelete"
            )
    return kube


def pod_images(kube: Kube, namespace: str) -> list[str]:
    pods = kube.target.items("pods", namespace, SELECTOR)
    return sorted(c["image"] for pod in pods for c in pod["spec"]["containers"])


def test_on_delete_rollback_replaces_every_pod_of_the_bad_revision(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """With OnDelete an undo replaces no pod: the script deletes each one (kubectl's DELETE
    reaches the server, not as a dry run), and the pods come back with the previous image."""
    with ExitStack() as stack:
        kube = on_delete_kube(tmp_path, stack)
        scripts = render(kube.service.answers) / "scripts"
        assert pod_images(kube, "staging") == [IMAGES[-1]] * 2
        run_ok(kube, scripts / "rollback.sh", "--yes", "-n", "staging")
        deletes = [r for r in kube.requests() if r.method == "DELETE" and r.resource == "pods"]
        assert sorted(r.name for r in deletes) == [f"{SERVICE}-0", f"{SERVICE}-1"]
        assert not any(r.dry_run for r in deletes)
        assert pod_images(kube, "staging") == [IMAGES[1]] * 2
        check_target(kube, "staging")


def test_on_delete_dry_run_deletes_no_pod(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    with ExitStack() as stack:
        kube = on_delete_kube(tmp_path, stack)
        scripts = render(kube.service.answers) / "scripts"
        run_ok(kube, scripts / "rollback.sh", "--dry-run", "-n", "staging")
        kube_checks.check_dry_run(kube.requests())
        assert pod_images(kube, "staging") == [IMAGES[-1]] * 2


def test_an_on_delete_undo_without_the_forced_rollback_leaves_the_bad_pods(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """Negative control: without deleting the pods, the undo alone changes no pod, and the
    script says the rollback is not done (exit 4)."""
    with ExitStack() as stack:
        kube = on_delete_kube(tmp_path, stack)
        scripts = render(kube.service.answers) / "scripts"
        broken = doctored(scripts, tmp_path / "doctored", "  replace_stale_pods\n", "")
        result = kube.run(broken / "rollback.sh", "--yes", "-n", "staging")
        assert result.returncode == 4, result.stderr
        assert pod_images(kube, "staging") == [IMAGES[-1]] * 2


def on_delete_wait_lines(page: Path, namespace: str, timeout: str) -> tuple[str, str]:
    """Step 4 of the rendered rollback page: its RollingUpdate wait and its OnDelete wait (the
    replica count read, then the bounded waits), for ``namespace`` and with ``timeout``."""
    step = page.read_text().split("### Step 4")[1].split("### Step 5")[0]
    return wait_lines(step, namespace, timeout)


def wait_lines(step: str, namespace: str, timeout: str) -> tuple[str, str]:
    """A page step's RollingUpdate wait and its OnDelete wait, for ``namespace`` and with
    ``timeout`` (an alert page's code blocks are indented under their list item)."""
    lines = [
        line.replace("-n production", f"-n {namespace}").replace("--timeout=5m", timeout)
        for line in (text.strip() for text in one_line(step).splitlines())
    ]
    rollout_status = [line for line in lines if line.startswith("kubectl rollout status ")]
    wait = [line for line in lines if line.startswith(("REPLICAS=$(", "kubectl wait statefulset/"))]
    assert len(rollout_status) == 1 and len(wait) == 3, step
    return rollout_status[0], "set -e\n" + "\n".join(wait)


def run_page_lines(kube: Kube, lines: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", lines], env=kube.env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_pages_wait_for_an_on_delete_statefulset(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """kubectl refuses `rollout status` on a StatefulSet updated OnDelete, so the page's
    RollingUpdate wait fails even after a good rollback; the page's OnDelete wait passes once
    every pod runs the update revision and is Ready, and times out (bounded) while one does not:
    after the undo alone, and with a pod not Ready (negative controls)."""
    with ExitStack() as stack:
        kube = on_delete_kube(tmp_path, stack)
        page = render(kube.service.answers) / "docs" / "runbooks" / "rollback.md"
        rollout_status, wait = on_delete_wait_lines(page, "staging", "--timeout=3s")

        refused = run_page_lines(kube, rollout_status)
        assert refused.returncode != 0
        assert "rollout status is only available for RollingUpdate strategy type" in refused.stderr
        assert run_page_lines(kube, wait).returncode == 0, "every pod is on its revision"

        undo = f"kubectl rollout undo statefulset/{SERVICE} -n staging"
        assert run_page_lines(kube, undo).returncode == 0
        assert kube.workload("staging")["status"]["updatedReplicas"] == 0
        timed_out = run_page_lines(kube, wait)
        assert timed_out.returncode != 0 and "timed out" in timed_out.stderr, timed_out.stderr

        for ordinal in (1, 0):  # highest ordinal first, as the page says
            delete = f"kubectl delete pod {SERVICE}-{ordinal} -n staging"
            assert run_page_lines(kube, delete).returncode == 0
        assert pod_images(kube, "staging") == [IMAGES[1]] * 2
        assert run_page_lines(kube, wait).returncode == 0, "every pod replaced and Ready"

        kube.target.set_pod_phase("staging", f"{SERVICE}-0", "Pending")
        assert run_page_lines(kube, wait).returncode != 0, "a pod not Ready"


# The RolloutStuck alert page of a StatefulSet of its own and of a chart's.
ON_DELETE_ALERT_PAGES = {
    "statefulset": SERVICES["statefulset"].answers,
    "chart": {"workload": "helm", "chart_workload": f"statefulset/{SERVICE}", "gitops": "none"},
}


@pytest.mark.parametrize("answers", ON_DELETE_ALERT_PAGES.values(), ids=ON_DELETE_ALERT_PAGES)
def test_the_rollout_stuck_alert_page_waits_for_an_on_delete_statefulset(
    render: Callable[[dict[str, str]], Path], tmp_path: Path, answers: dict[str, str]
) -> None:
    """The alert page's "then wait, bounded, for the rollout" step: kubectl refuses its
    `rollout status` on a StatefulSet updated OnDelete, so the step goes on with the wait on the
    counts, which passes once every pod runs the update revision and is Ready and times out
    after the undo alone (negative control)."""
    with ExitStack() as stack:
        kube = on_delete_kube(tmp_path, stack)
        page = render(answers) / "docs" / "alerts" / "rolloutstuck.md"
        after = page.read_text().split("wait, bounded, for the rollout.")[1]
        step = after.split("```bash")[1].split("```")[0]  # the step's own code block
        rollout_status, wait = wait_lines(step, "staging", "--timeout=3s")

        refused = run_page_lines(kube, rollout_status)
        assert "rollout status is only available for RollingUpdate strategy type" in refused.stderr
        assert run_page_lines(kube, wait).returncode == 0, "every pod is on its revision"
        undo = f"kubectl rollout undo statefulset/{SERVICE} -n staging"
        assert run_page_lines(kube, undo).returncode == 0
        timed_out = run_page_lines(kube, wait)
        assert timed_out.returncode != 0 and "timed out" in timed_out.stderr, timed_out.stderr


def test_a_charts_on_delete_statefulset_is_waited_for_by_its_counts(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """A Helm chart's StatefulSet updated OnDelete: the scripts' wait (scripts/lib/common.sh, run
    with the real kubectl) reads the strategy, and passes only once every pod runs the update
    revision and is Ready; after the undo alone it gives up at --timeout (negative control)."""
    answers = {"workload": "helm", "chart_workload": f"statefulset/{SERVICE}", "gitops": "none"}
    with ExitStack() as stack:
        kube = on_delete_kube(tmp_path, stack)
        common = render(answers) / "scripts" / "lib" / "common.sh"
        strategy = (
            'kubectl get "$WORKLOAD" "${KUBE_ARGS[@]}" -o \'jsonpath={.spec.updateStrategy.type}\''
        )
        assert f"$(run {strategy}) == OnDelete" in common.read_text()
        wait = (
            f"source {common}; TIMEOUT=4s; KUBE_ARGS=(-n staging); WORKLOAD=statefulset/{SERVICE}\n"
            f"[[ $(run {strategy}) == OnDelete ]] && wait_statefulset_counts"
        )
        assert run_page_lines(kube, wait).returncode == 0
        undo = f"kubectl rollout undo statefulset/{SERVICE} -n staging"
        assert run_page_lines(kube, undo).returncode == 0
        timed_out = run_page_lines(kube, wait)
        assert timed_out.returncode == 1, timed_out.stderr
        assert "0 updated, 2 Ready" in timed_out.stderr, timed_out.stderr
        for ordinal in (1, 0):
            assert (
                run_page_lines(
                    kube, f"kubectl delete pod {SERVICE}-{ordinal} -n staging"
                ).returncode
                == 0
            )
        assert run_page_lines(kube, wait).returncode == 0


def test_argo_cds_healthy_is_not_enough_for_a_charts_on_delete_statefulset(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """Argo CD calls an OnDelete StatefulSet Healthy once its pods are Ready, whatever their
    revision: after Argo CD's wait (here a stand-in that passes), the scripts' wait_until_healthy
    still waits for the chart's StatefulSet by its counts, and fails after the undo alone."""
    answers = {"workload": "helm", "chart_workload": f"statefulset/{SERVICE}", "gitops": "argocd"}
    with ExitStack() as stack:
        kube = on_delete_kube(tmp_path, stack)
        common = render(answers) / "scripts" / "lib" / "common.sh"
        wait = f"source {common}; TIMEOUT=4s; KUBE_ARGS=(-n staging); WAIT_CMD=(true)\n"
        wait += "wait_until_healthy"
        assert run_page_lines(kube, wait).returncode == 0
        assert (
            run_page_lines(
                kube, f"kubectl rollout undo statefulset/{SERVICE} -n staging"
            ).returncode
            == 0
        )
        timed_out = run_page_lines(kube, wait)
        assert timed_out.returncode == 1 and "0 updated" in timed_out.stderr, timed_out.stderr


# --- a chart's workloads, found from its pods' managing owners --------------------------------


def other_owner_first(cluster: Cluster, namespace: str) -> None:
    """Give every pod and ReplicaSet of ``namespace`` an owner that is not its controller,
    listed before the one that is (an object may have several owners; only one manages it:
    https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/)."""
    decoy = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "decoy"}
    with cluster.lock:
        for (plural, ns, _), obj in cluster.objects.items():
            if ns == namespace and plural in ("pods", "replicasets"):
                refs = obj["metadata"]["ownerReferences"]
                refs.insert(0, {**decoy, "uid": f"decoy-{len(refs)}", "controller": False})


def test_a_charts_workloads_are_their_pods_controllers_not_their_first_owners(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The Helm scripts find the chart's workloads from its pods (find_workloads, run with the
    real kubectl): each pod's and ReplicaSet's owner marked controller, whatever owner the
    list names first. Negative control: the first owner listed leads to the decoy."""
    answers = {"workload": "helm", "chart_workload": f"deployment/{SERVICE}", "gitops": "none"}
    with ExitStack() as stack:
        kube = Kube(tmp_path, SERVICES["deployment"], stack)
        common = render(answers) / "scripts" / "lib" / "common.sh"
        other_owner_first(kube.target, "staging")
        find = (
            f"source {common}; NAMESPACE=staging; CONTEXT={PROD}; set_workload_commands\n"
            'find_workloads && printf "%s\\n" "${WORKLOADS[@]}"'
        )
        found = run_page_lines(kube, find)
        assert found.returncode == 0, found.stderr
        assert found.stdout.split() == [f"deployment/{SERVICE}"]

        scripts = common.parent.parent
        first_listed = doctored(scripts, tmp_path / "doctored", "[?(@.controller==true)]", "[0]")
        wrong = run_page_lines(kube, find.replace(str(scripts), str(first_listed)))
        assert wrong.stdout.split() == ["deployment/decoy"], wrong.stderr


def test_db_migrations_never_runs_in_a_pod_that_is_not_running(
    render: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The first pod the API lists is Pending: the exec goes to a Running pod all the same (the
    field selector reaches the server), never to the first one listed."""
    service = SERVICES["deployment"]
    with ExitStack() as stack:
        kube = Kube(tmp_path, service, stack)
        pods = kube.target.items("pods", "staging", SELECTOR)
        first = pods[0]["metadata"]["name"]
        kube.target.set_pod_phase("staging", first, "Pending")
        scripts = render(service.answers) / "scripts"
        run_ok(kube, scripts / "db-migrations.sh", "status", "-n", "staging")
        execs = [r for r in kube.requests() if r.is_exec]
        assert execs and all(first not in r.path for r in execs), [r.path for r in execs]
        lists = [r for r in kube.requests() if r.resource == "pods" and r.name is None]
        assert any(r.param("fieldSelector") == "status.phase=Running" for r in lists)


@pytest.mark.parametrize(("suspended", "said"), [(True, "is paused"), (False, "is not paused")])
def test_rollback_reads_whether_flux_is_suspended(
    render: Callable[[dict[str, str]], Path], tmp_path: Path, suspended: bool, said: str
) -> None:
    """The script's `kubectl get kustomizations... -o jsonpath={.spec.suspend}` reaches the
    Kustomization in Flux's namespace, and its answer decides what the script says."""
    # Under Flux --namespace is refused (the Kustomization is production's): production it is.
    statefulset = SERVICES["statefulset"]
    service = replace(statefulset, answers={**statefulset.answers, "gitops": "flux"})
    with ExitStack() as stack:
        kube = Kube(tmp_path, service, stack)
        kustomization = kube.target.get("kustomizations", FLUX_NAMESPACE, SERVICE)
        assert kustomization is not None
        kustomization["spec"]["suspend"] = suspended
        scripts = render(service.answers) / "scripts"
        result = run_ok(kube, scripts / "rollback.sh", "--dry-run")
        assert f"Flux {said} for {SERVICE}" in result.stderr, result.stderr
        reads = [r for r in kube.requests() if r.resource == "kustomizations"]
        assert [(r.method, r.namespace, r.name) for r in reads] == [
            ("GET", FLUX_NAMESPACE, SERVICE)
        ]
