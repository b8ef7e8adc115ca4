"""What discovery from the cluster and the drill read, served to the real kubectl.

The fake API server of tests/kube_api.py holds one service's objects as its deployers leave
them: a Deployment installed by Helm under a Flux HelmRelease (with ``targetNamespace``, so the
release is ``payments-payments-api``), its HPA, PDB, Service and ServiceMonitor, a PodMonitor,
an Argo Rollouts Rollout tracked by an Argo CD Application, a Flux Kustomization. The real
kubectl 1.32 reads them through discovery (aggregated, and the legacy documents), by type and
short name, with label selectors, as JSON and as the server's Tables; gets the API server's
NotFound and Forbidden answers; asks ``kubectl auth can-i``; and sends server dry runs. Each test
then checks what reached the server: a read sent nothing but GETs (and access reviews), a dry
run carried ``dryRun=All`` and changed nothing, while the same command without it is recorded as
a change and kept (the negative controls).
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import kube_api
import kube_checks
import kube_objects as objects
import pytest
from kube_api import Cluster, FakeApiServer, Request, Role

KUBECTL = "/usr/bin/kubectl"
NS, FLUX_NS, ARGO_NS = "payments", "flux-system", "argocd"
SERVICE = "payments-api"
LABELS = {"app": SERVICE}
RELEASE = f"{NS}-{SERVICE}"  # Flux names a release TARGET_NAMESPACE-NAME by default
ROLLOUT = "checkout"
IMAGES = [f"registry.example.com/{SERVICE}:1.4.{n}" for n in range(2)]


def service_cluster() -> Cluster:
    """One namespace's service as Helm-by-Flux and Argo CD leave it, and their objects."""
    cluster = Cluster()
    by_flux = objects.flux_helm_owner(SERVICE, FLUX_NS, RELEASE, NS)
    cluster.add_deployment(NS, SERVICE, LABELS, IMAGES, owners=(by_flux,))
    cluster.add(objects.hpa(NS, SERVICE, ("Deployment", SERVICE)), by_flux)
    cluster.add(objects.pdb(NS, SERVICE, LABELS, min_available=1), by_flux)
    cluster.add(objects.service(NS, SERVICE, LABELS, labels=LABELS), by_flux)
    cluster.add(objects.service_monitor(NS, SERVICE, LABELS), by_flux)
    cluster.add(objects.pod_monitor(NS, "payments-worker", {"app": "payments-worker"}))
    by_argo = objects.argocd_owner(ROLLOUT, "annotation+label")
    cluster.add_rollout(objects.rollout(NS, ROLLOUT, {"app": ROLLOUT}, IMAGES[0]), by_argo)
    cluster.add(objects.helm_release(FLUX_NS, SERVICE, "payments", target_namespace=NS))
    cluster.add(objects.kustomization(FLUX_NS, "apps", "./apps"))
    cluster.add(objects.application(ROLLOUT, NS, self_heal=False))
    return cluster


@dataclass
class Api:
    """A fake API server holding ``service_cluster()``, and kubectl pointed at it."""

    server: FakeApiServer
    home: Path

    @property
    def cluster(self) -> Cluster:
        return self.server.cluster

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        kubeconfig = self.home / "kubeconfig"
        return subprocess.run(
            [KUBECTL, *args],
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(self.home),  # kubectl's discovery cache
                "KUBECONFIG": str(kubeconfig),
                "LANG": "C.UTF-8",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def ok(self, *args: str) -> str:
        result = self.kubectl(*args)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def requests(self) -> list[Request]:
        return self.server.api_requests()


def serve(folder: Path, stack: ExitStack, role: Role | None = None, aggregated: bool = True) -> Api:
    server = stack.enter_context(
        FakeApiServer("prod", service_cluster(), role=role, aggregated_discovery=aggregated)
    )
    folder.mkdir(parents=True, exist_ok=True)
    kube_api.write_kubeconfig(folder / "kubeconfig", {"prod": server}, "prod")
    return Api(server, folder)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with ExitStack() as stack:
        yield serve(tmp_path / "home", stack)


def stored(api: Api, plural: str, namespace: str, name: str) -> dict:
    obj = api.cluster.get(plural, namespace, name)
    assert obj is not None, f"{plural}/{name} is not in {namespace}"
    return obj


# --- reading every type ------------------------------------------------------------------------

# (type as kubectl is given it, namespace, the objects' kubectl names)
EVERY_TYPE = {
    NS: (
        "hpa,pdb,svc,servicemonitors,podmonitors,rollouts",
        {
            "HorizontalPodAutoscaler": [SERVICE],
            "PodDisruptionBudget": [SERVICE],
            "Service": [SERVICE],
            "ServiceMonitor": [SERVICE],
            "PodMonitor": ["payments-worker"],
            "Rollout": [ROLLOUT],
        },
    ),
    FLUX_NS: ("helmreleases,kustomizations", {"HelmRelease": [SERVICE], "Kustomization": ["apps"]}),
    ARGO_NS: ("applications", {"Application": [ROLLOUT]}),
}


@pytest.mark.parametrize("namespace", list(EVERY_TYPE))
def test_get_every_type_as_json(api: Api, namespace: str) -> None:
    types, wanted = EVERY_TYPE[namespace]
    listed = json.loads(api.ok("get", types, "-n", namespace, "-o", "json"))
    got: dict[str, list[str]] = {}
    for item in listed["items"]:
        got.setdefault(item["kind"], []).append(item["metadata"]["name"])
        assert item["metadata"]["namespace"] == namespace
    assert got == wanted
    kube_checks.check_only_gets(api.server.requests)
    kube_checks.check_namespace(api.requests(), namespace)


def test_every_type_in_one_command(api: Api) -> None:
    every = ",".join(types for types, _ in EVERY_TYPE.values())
    listed = json.loads(api.ok("get", every, "-A", "-o", "json"))
    got = {(i["metadata"]["namespace"], i["kind"], i["metadata"]["name"]) for i in listed["items"]}
    wanted = {
        (namespace, kind, name)
        for namespace, (_, kinds) in EVERY_TYPE.items()
        for kind, names in kinds.items()
        for name in names
    }
    assert got == wanted
    kube_checks.check_only_gets(api.server.requests)


def test_the_deployers_marks_reach_kubectl(api: Api) -> None:
    """Helm's annotations and Flux's labels on the Deployment, Argo CD's on the Rollout, and
    the HelmRelease's release and storage namespace, as discovery reads them."""
    deployment = json.loads(api.ok("get", "deploy", SERVICE, "-n", NS, "-o", "json"))
    meta = deployment["metadata"]
    assert meta["annotations"][objects.HELM_RELEASE_NAME] == RELEASE
    assert meta["annotations"][objects.HELM_RELEASE_NAMESPACE] == NS
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert meta["labels"]["helm.toolkit.fluxcd.io/name"] == SERVICE
    assert meta["labels"]["helm.toolkit.fluxcd.io/namespace"] == FLUX_NS
    rollout = json.loads(api.ok("get", "ro", ROLLOUT, "-n", NS, "-o", "json"))
    tracking = rollout["metadata"]["annotations"][objects.ARGOCD_TRACKING_ANNOTATION]
    assert tracking == f"{ROLLOUT}:argoproj.io/Rollout:{NS}/{ROLLOUT}"
    assert rollout["metadata"]["labels"][objects.ARGOCD_INSTANCE_LABEL] == ROLLOUT
    release = api.ok(
        "get",
        "hr",
        SERVICE,
        "-n",
        FLUX_NS,
        "-o",
        "jsonpath={.spec.targetNamespace} {.status.storageNamespace} {.status.history[0].name}",
    )
    assert release == f"{NS} {FLUX_NS} {RELEASE}"  # Helm's record stays with the HelmRelease
    self_heal = api.ok(
        "get", "app", ROLLOUT, "-n", ARGO_NS, "-o", "jsonpath={.spec.syncPolicy.automated}"
    )
    assert json.loads(self_heal) == {"prune": True, "selfHeal": False}
    kube_checks.check_only_gets(api.server.requests)


# (short name, namespace, what kubectl -o name prints)
SHORT_NAMES = [
    ("hpa", NS, f"horizontalpodautoscaler.autoscaling/{SERVICE}"),
    ("pdb", NS, f"poddisruptionbudget.policy/{SERVICE}"),
    ("svc", NS, f"service/{SERVICE}"),
    ("smon", NS, f"servicemonitor.monitoring.coreos.com/{SERVICE}"),
    ("pmon", NS, "podmonitor.monitoring.coreos.com/payments-worker"),
    ("ro", NS, f"rollout.argoproj.io/{ROLLOUT}"),
    ("deploy", NS, f"deployment.apps/{SERVICE}"),
    ("hr", FLUX_NS, f"helmrelease.helm.toolkit.fluxcd.io/{SERVICE}"),
    ("ks", FLUX_NS, "kustomization.kustomize.toolkit.fluxcd.io/apps"),
    ("app", ARGO_NS, f"application.argoproj.io/{ROLLOUT}"),
]


def group_version_documents(requests: list[Request]) -> list[str]:
    """The legacy discovery documents kubectl fetched (/api/v1, /apis/GROUP/VERSION)."""
    return [
        r.path
        for r in requests
        if r.path.count("/") in (2, 3) and r.path.startswith(("/api/", "/apis/"))
    ]


@pytest.mark.parametrize(("short", "namespace", "printed"), SHORT_NAMES)
def test_short_names_through_aggregated_discovery(
    api: Api, short: str, namespace: str, printed: str
) -> None:
    assert api.ok("get", short, "-n", namespace, "-o", "name").split() == [printed]
    # Everything came in the two aggregated documents: no per-group document was needed.
    discovery = [r for r in api.server.requests if r.path in ("/api", "/apis")]
    assert discovery and all("apidiscovery.k8s.io" in r.accept for r in discovery)
    assert group_version_documents(api.server.requests) == []


def test_short_names_through_legacy_discovery(tmp_path: Path) -> None:
    """A server without aggregated discovery: kubectl falls back to the group documents."""
    with ExitStack() as stack:
        api = serve(tmp_path / "home", stack, aggregated=False)
        for short, namespace, printed in SHORT_NAMES:
            assert api.ok("get", short, "-n", namespace, "-o", "name").split() == [printed]
        fetched = set(group_version_documents(api.server.requests))
        assert {"/apis/autoscaling/v2", "/apis/helm.toolkit.fluxcd.io/v2", "/api/v1"} <= fetched


def test_label_selectors_reach_the_server(api: Api) -> None:
    flux_label = f"helm.toolkit.fluxcd.io/name={SERVICE}"
    names = api.ok("get", "deploy,svc,hpa,pdb,ro", "-n", NS, "-l", flux_label, "-o", "name")
    assert sorted(names.split()) == sorted(
        [
            f"deployment.apps/{SERVICE}",
            f"service/{SERVICE}",
            f"horizontalpodautoscaler.autoscaling/{SERVICE}",
            f"poddisruptionbudget.policy/{SERVICE}",
        ]
    )
    for plural in ("deployments", "services", "rollouts"):
        kube_checks.check_label_selector(api.requests(), plural, flux_label)
    not_helm = api.ok("get", "deploy,ro", "-n", NS, "-l", "app.kubernetes.io/managed-by!=Helm")
    assert ROLLOUT in not_helm and SERVICE not in not_helm
    tracked = api.ok("get", "ro", "-n", NS, "-l", f"app.kubernetes.io/instance in ({ROLLOUT})")
    assert ROLLOUT in tracked


# --- the server's Tables -----------------------------------------------------------------------

# (type, namespace, the header kubectl prints, a row's start)
TABLES = [
    ("hpa", NS, "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE", f"{SERVICE} Deployment/"),
    ("pdb", NS, "NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE", f"{SERVICE} 1 N/A"),
    ("svc", NS, "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE", f"{SERVICE} ClusterIP"),
    ("ro", NS, "NAME DESIRED CURRENT UP-TO-DATE AVAILABLE AGE", f"{ROLLOUT} 2 2 2 2 3d"),
    ("hr", FLUX_NS, "NAME AGE READY STATUS", f"{SERVICE} 3d True Helm install succeeded"),
    ("ks", FLUX_NS, "NAME AGE READY STATUS", "apps 3d True Applied revision"),
    ("app", ARGO_NS, "NAME SYNC STATUS HEALTH STATUS", f"{ROLLOUT} Synced Healthy"),
    ("smon", NS, "NAME AGE", f"{SERVICE} 3d"),
]


@pytest.mark.parametrize(("short", "namespace", "header", "row"), TABLES)
def test_kubectl_get_prints_the_servers_table(
    api: Api, short: str, namespace: str, header: str, row: str
) -> None:
    lines = [" ".join(line.split()) for line in api.ok("get", short, "-n", namespace).splitlines()]
    assert lines[0] == header
    assert lines[1].startswith(row), lines
    lists = [r for r in api.requests() if r.name is None]
    assert lists and all("as=Table" in r.accept for r in lists)


def test_one_object_as_a_table(api: Api) -> None:
    lines = api.ok("get", "hpa", SERVICE, "-n", NS).splitlines()
    assert lines[0].split()[:3] == ["NAME", "REFERENCE", "TARGETS"]
    assert lines[1].split()[:2] == [SERVICE, f"Deployment/{SERVICE}"]


# --- NotFound, Forbidden -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("get", "hpa", "missing", "-n", NS),
            "Error from server (NotFound): "
            'horizontalpodautoscalers.autoscaling "missing" not found',
        ),
        (
            ("get", "hr", "missing", "-n", FLUX_NS),
            'Error from server (NotFound): helmreleases.helm.toolkit.fluxcd.io "missing" not found',
        ),
        (
            ("get", "deploy", SERVICE, "-n", "nowhere"),
            'Error from server (NotFound): namespaces "nowhere" not found',
        ),
        (
            ("scale", "deploy", "missing", "--replicas=3", "-n", NS, "--dry-run=server"),
            # kubectl scale reads the object first, and words the 404 itself.
            'error: no objects passed to scale deployments.apps "missing" not found',
        ),
    ],
)
def test_not_found(api: Api, args: tuple[str, ...], message: str) -> None:
    result = api.kubectl(*args)
    assert result.returncode == 1
    assert result.stderr.strip() == message


def forbidden(user: str, verb: str, resource: str, group: str) -> str:
    return (
        f'User "{user}" cannot {verb} resource "{resource}" in API group "{group}" '
        f'in the namespace "{NS}"'
    )


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Api]:
    with ExitStack() as stack:
        yield serve(tmp_path / "home", stack, role=Role.read_only())


@pytest.mark.parametrize(
    ("args", "subject", "verb", "resource", "group"),
    [
        (
            ("patch", "deploy", SERVICE, "-p", '{"spec":{"replicas":3}}', "--dry-run=server"),
            f'deployments.apps "{SERVICE}"',
            "patch",
            "deployments",
            "apps",
        ),
        (
            ("scale", f"deploy/{SERVICE}", "--replicas=3", "--dry-run=server"),
            f'deployments.apps "{SERVICE}"',
            "patch",
            "deployments/scale",
            "apps",
        ),
        (
            ("delete", "pod", f"{ROLLOUT}-x", "--dry-run=server"),
            f'pods "{ROLLOUT}-x"',
            "delete",
            "pods",
            "",
        ),
    ],
)
def test_a_role_without_the_verb_is_forbidden_even_for_a_dry_run(
    read_only: Api, args: tuple[str, ...], subject: str, verb: str, resource: str, group: str
) -> None:
    """A server dry run is authorised as the real request: a read-only role cannot."""
    before = copy.deepcopy(read_only.cluster.objects)
    result = read_only.kubectl(*args, "-n", NS)
    assert result.returncode == 1
    why = forbidden(read_only.server.role.user, verb, resource, group)
    assert result.stderr.strip() == f"Error from server (Forbidden): {subject} is forbidden: {why}"
    assert copy.deepcopy(read_only.cluster.objects) == before
    refused = [r for r in read_only.requests() if r.mutating]
    assert refused and all(r.dry_run for r in refused)


def test_a_list_the_role_lacks_is_forbidden(tmp_path: Path) -> None:
    role = Role.allowing(("get", "deployments"), ("list", "deployments"))
    with ExitStack() as stack:
        api = serve(tmp_path / "home", stack, role=role)
        result = api.kubectl("get", "hpa", "-n", NS)
        assert result.returncode == 1
        why = forbidden(role.user, "list", "horizontalpodautoscalers", "autoscaling")
        message = f"horizontalpodautoscalers.autoscaling is forbidden: {why}"
        assert result.stderr.strip() == f"Error from server (Forbidden): {message}"
        api.ok("get", "deploy", SERVICE, "-n", NS)


def test_exec_needs_get_on_pods_exec_and_create_after_the_fallback(tmp_path: Path) -> None:
    """kubectl 1.32 execs over a WebSocket (a GET, authorised as get pods/exec); refused, it
    falls back to SPDY (a POST: create pods/exec) and prints that refusal. With get allowed the
    command runs."""
    with ExitStack() as stack:
        api = serve(tmp_path / "ro", stack, role=Role.read_only())
        pod = api.cluster.items("pods", NS, f"app={ROLLOUT}")[0]["metadata"]["name"]
        result = api.kubectl("exec", pod, "-n", NS, "--", "true")
        assert result.returncode == 1
        why = forbidden(api.server.role.user, "create", "pods/exec", "")
        assert (
            result.stderr.strip()
            == f'Error from server (Forbidden): pods "{pod}" is forbidden: {why}'
        )
        assert [r.method for r in api.requests() if r.is_exec] == ["GET", "POST"]
        kube_checks.check_read_only(api.server.requests)
        allowed = serve(tmp_path / "exec", stack, role=Role.read_only().plus(("get", "pods/exec")))
        allowed.cluster.exec_output = "ok\n"
        assert allowed.ok("exec", pod, "-n", NS, "--", "true") == "ok\n"


# --- kubectl auth can-i ------------------------------------------------------------------------

DRILL_ROLE = Role.read_only().plus(
    ("patch", "deployments"), ("get", "pods/exec"), ("create", "pods/exec")
)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (("patch", "deployments"), "yes"),
        (("patch", "deployments.apps"), "yes"),
        (("get", "hpa"), "yes"),
        (("list", "helmreleases.helm.toolkit.fluxcd.io"), "yes"),
        (("patch", "helmreleases.helm.toolkit.fluxcd.io"), "no"),
        (("patch", "applications.argoproj.io"), "no"),
        (("delete", "pods"), "no"),
        (("patch", "deployments", "--subresource=scale"), "no"),
        (("create", "pods", "--subresource=exec"), "yes"),
        # TYPE/NAME: kubectl asks about the pod named "exec", which the pods/exec rule does not
        # grant (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_auth/kubectl_auth_can-i/).
        (("create", "pods/exec"), "no"),
    ],
)
def test_can_i_answers_from_the_role(
    tmp_path: Path, question: tuple[str, ...], answer: str
) -> None:
    with ExitStack() as stack:
        api = serve(tmp_path / "home", stack, role=DRILL_ROLE)
        namespace = FLUX_NS if "helmreleases" in question[1] else NS
        result = api.kubectl("auth", "can-i", *question, "-n", namespace)
        assert (result.stdout.strip(), result.returncode) == (answer, 0 if answer == "yes" else 1)
        reviews = [r for r in api.server.requests if r.is_access_review]
        assert len(reviews) == 1 and reviews[0].method == "POST"
        asked = reviews[0].body["spec"]["resourceAttributes"]
        assert (asked["verb"], asked["namespace"]) == (question[0], namespace)
        # A question changes nothing: the run counts as read-only.
        kube_checks.check_only_gets(api.server.requests)
        kube_checks.check_read_only(api.server.requests)


def test_can_i_resolves_the_group_through_discovery(api: Api) -> None:
    assert api.ok("auth", "can-i", "patch", "hr", "-n", FLUX_NS).strip() == "yes"
    (review,) = [r for r in api.server.requests if r.is_access_review]
    asked = review.body["spec"]["resourceAttributes"]
    assert (asked["group"], asked["resource"]) == ("helm.toolkit.fluxcd.io", "helmreleases")


def test_an_access_review_is_not_a_mutation_but_a_post_is() -> None:
    """Negative control of Request.mutating: the same POST to another resource is a change."""
    review = Request("s", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {}, {})
    create = Request("s", "POST", f"/api/v1/namespaces/{NS}/services", {}, {})
    assert not review.mutating and create.mutating
    with pytest.raises(AssertionError, match="other than GETs"):
        kube_checks.check_only_gets([review, create])


def test_a_read_allowed_elsewhere_allows_no_write_there() -> None:
    """Negative control of check_namespace's also_read: a GitOps object may be read in its
    tool's namespace, not changed."""
    path = f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{FLUX_NS}/kustomizations/apps"
    read, write = Request("s", "GET", path, {}, None), Request("s", "PATCH", path, {}, {})
    allowed = frozenset({("kustomizations", FLUX_NS)})
    kube_checks.check_namespace([read], NS, also_read=allowed)
    with pytest.raises(AssertionError, match=f"outside namespace {NS}"):
        kube_checks.check_namespace([read, write], NS, also_read=allowed)


# --- server dry runs ---------------------------------------------------------------------------


def replicas(api: Api, plural: str, name: str) -> int:
    return stored(api, plural, NS, name)["spec"]["replicas"]


@pytest.mark.parametrize(
    ("target", "plural", "name"),
    [
        (f"deploy/{SERVICE}", "deployments", SERVICE),
        (f"rollout/{ROLLOUT}", "rollouts", ROLLOUT),
    ],
)
def test_scale_dry_run_changes_nothing(api: Api, target: str, plural: str, name: str) -> None:
    before = copy.deepcopy(api.cluster.objects)
    out = api.ok("scale", target, "--replicas=5", "-n", NS, "--dry-run=server")
    assert out.strip().endswith("scaled (server dry run)")
    kube_checks.check_dry_run(api.requests())
    (patch,) = [r for r in api.requests() if r.mutating]
    assert (patch.method, patch.subresource, patch.body) == (
        "PATCH",
        "scale",
        {"spec": {"replicas": 5}},
    )
    assert copy.deepcopy(api.cluster.objects) == before


def test_scale_without_the_dry_run_is_caught(api: Api) -> None:
    """Negative control: without --dry-run=server the PATCH is kept, and the check says so."""
    api.ok("scale", f"deploy/{SERVICE}", "--replicas=5", "-n", NS)
    with pytest.raises(AssertionError, match="made real changes"):
        kube_checks.check_dry_run(api.requests())
    assert replicas(api, "deployments", SERVICE) == 5
    assert len(api.cluster.items("pods", NS, "app=payments-api")) == 5


def test_scale_with_a_precondition_puts_the_scale(api: Api) -> None:
    """--current-replicas reads the Scale and PUTs it back (an update, dry run all the same)."""
    api.ok(
        "scale",
        f"deploy/{SERVICE}",
        "--current-replicas=2",
        "--replicas=4",
        "-n",
        NS,
        "--dry-run=server",
    )
    kube_checks.check_dry_run(api.requests())
    assert [r.method for r in api.requests() if r.subresource == "scale"] == ["GET", "PUT"]
    assert replicas(api, "deployments", SERVICE) == 2
    result = api.kubectl(
        "scale", f"deploy/{SERVICE}", "--current-replicas=3", "--replicas=4", "-n", NS
    )
    assert result.returncode == 1 and "Expected replicas to be 3, was 2" in result.stderr


HPA_PATCH = '{"spec":{"minReplicas":4}}'


def test_patch_hpa_dry_run_changes_nothing(api: Api) -> None:
    before = stored(api, "horizontalpodautoscalers", NS, SERVICE)
    out = api.ok("patch", "hpa", SERVICE, "-n", NS, "-p", HPA_PATCH, "--dry-run=server")
    assert out.strip() == f"horizontalpodautoscaler.autoscaling/{SERVICE} patched"
    kube_checks.check_dry_run(api.requests())
    assert stored(api, "horizontalpodautoscalers", NS, SERVICE) == before


def test_patch_hpa_without_the_dry_run_is_caught(api: Api) -> None:
    api.ok("patch", "hpa", SERVICE, "-n", NS, "-p", HPA_PATCH)
    with pytest.raises(AssertionError, match="made real changes"):
        kube_checks.check_dry_run(api.requests())
    assert stored(api, "horizontalpodautoscalers", NS, SERVICE)["spec"]["minReplicas"] == 4


def test_a_dry_run_is_validated_as_the_real_request(api: Api) -> None:
    result = api.kubectl(
        "patch", "hpa", SERVICE, "-n", NS, "-p", '{"spec":{"minReplicas":0}}', "--dry-run=server"
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'The HorizontalPodAutoscaler "{SERVICE}" is invalid: '
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"
    )
    (sent,) = [r for r in api.requests() if r.mutating]
    assert sent.dry_run


def test_a_custom_resource_takes_a_merge_patch_not_a_strategic_one(api: Api) -> None:
    suspend = '{"spec":{"suspend":true}}'
    result = api.kubectl("patch", "hr", SERVICE, "-n", FLUX_NS, "-p", suspend, "--dry-run=server")
    assert result.returncode == 1
    assert "application/strategic-merge-patch+json is not supported" in result.stderr
    args = ("patch", "hr", SERVICE, "-n", FLUX_NS, "--type", "merge", "-p", suspend)
    assert api.ok(*args, "--dry-run=server").strip().endswith("patched")
    assert "suspend" not in stored(api, "helmreleases", FLUX_NS, SERVICE)["spec"]
    kube_checks.check_dry_run(api.server.requests)


def test_delete_and_create_dry_runs_change_nothing(api: Api, tmp_path: Path) -> None:
    (pod,) = api.cluster.items("pods", NS, "app=checkout")[:1]
    pod_name = pod["metadata"]["name"]
    out = api.ok("delete", "pod", pod_name, "-n", NS, "--dry-run=server")
    assert out.strip() == f'pod "{pod_name}" deleted (server dry run)'
    manifest = tmp_path / "svc.json"
    extra = objects.service(NS, "payments-api-canary", LABELS)
    manifest.write_text(json.dumps(extra), encoding="utf-8")
    # This fake serves no OpenAPI documents, which kubectl's client-side validation reads.
    out = api.ok("create", "-f", str(manifest), "--dry-run=server", "--validate=false")
    assert out.strip() == "service/payments-api-canary created (server dry run)"
    kube_checks.check_dry_run(api.requests())
    assert api.cluster.get("pods", NS, pod_name) is not None
    assert api.cluster.get("services", NS, "payments-api-canary") is None
    again = api.kubectl("create", "-f", str(manifest), "--validate=false")
    assert again.returncode == 0 and api.cluster.get("services", NS, "payments-api-canary")
    with pytest.raises(AssertionError, match="made real changes"):
        kube_checks.check_dry_run(api.requests())
