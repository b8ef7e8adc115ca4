"""``service-runbooks discover --cluster`` and ``check --drift --cluster``: a fleet file from the
live objects, and the answers against them, read with the real kubectl from the fake API server
of tests/kube_api.py, which records every request.

The cluster (tests/cluster_services.py) holds one service per deployer: Helm under a Flux
HelmRelease with ``targetNamespace``, a StatefulSet with ``OnDelete`` under Argo CD, an Argo
Rollouts Rollout, a plain Deployment with an HPA, a plain Helm release whose chart sets Argo
CD's instance label, and a Flux Kustomization's Deployment carrying that label too. Each answer
must be derived with the object and field it came from; what reached the server must be GETs
only (a doctored run that writes is caught); a refused list, an API server out of reach, an
unknown context and a missing kubectl stop with one message naming the context and the type,
exit 2, no traceback. Drift: a clean fleet exits 0; each changed answer and each object gone is
listed with what the pages say, what the cluster says and the object, exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cluster_services
import kube_checks
import pytest
import yaml
from cluster_services import CONTEXT, fleet_cluster, served
from fleet_helpers import write_fleet
from kube_api import FakeApiServer, Role, write_kubeconfig
from tools import tool

from service_runbooks.cli import main
from service_runbooks.discovery import cluster as cluster_module
from service_runbooks.discovery.cluster import ClusterSource, discover_cluster
from service_runbooks.fleetfile import answer_problems


@pytest.fixture(scope="module", autouse=True)
def _kubectl() -> None:
    tool("kubectl")


# answer -> (value, words its source must hold: the object and the field)
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "payments-api": {
        "namespace": ("payments", "Deployment/payments/payments-api metadata.namespace"),
        "workload": ("helm", "Deployment/payments/payments-api metadata.name (installed by Helm"),
        "app_label_selector": (
            "app=payments-api",
            "Deployment/payments/payments-api spec.selector.matchLabels",
        ),
        "metrics_selector": ('job="payments-api"', "ServiceMonitor/payments/payments-api"),
        "gitops": ("flux", "payments-api metadata.labels['helm.toolkit.fluxcd.io/name']"),
        "gitops_app": ("payments-api", "HelmRelease/flux-system/payments-api metadata.name"),
        "flux_namespace": (
            "flux-system",
            "HelmRelease/flux-system/payments-api metadata.namespace",
        ),
        "helm_release": (
            "payments-payments-api",
            "metadata.annotations['meta.helm.sh/release-name']; cluster prod: HelmRelease/"
            "flux-system/payments-api spec.releaseName (absent: Flux's default "
            "<targetNamespace>-<name>, spec.targetNamespace 'payments')",
        ),
        "chart_workload": ("deployment/payments-api", "Deployment/payments/payments-api"),
        "kube_context": ("prod", "kubectl --context prod"),
        # Flux's kind, lowercase as the answer's choices spell it
        "gitops_kind": ("helmrelease", "HelmRelease/flux-system/payments-api kind"),
        # the HPA whose scaleTargetRef is the workload: an answer, no longer a comment
        "hpa_name": (
            "payments-api",
            "HorizontalPodAutoscaler/payments/payments-api spec.scaleTargetRef",
        ),
    },
    "ledger-db": {
        "namespace": ("ledger", "StatefulSet/ledger/ledger-db metadata.namespace"),
        "workload": ("statefulset", "StatefulSet/ledger/ledger-db kind"),
        "app_label_selector": ("app=ledger-db", "StatefulSet/ledger/ledger-db spec.selector"),
        "metrics_selector": ('job="ledger/ledger-db"', "PodMonitor/ledger/ledger-db metadata"),
        "gitops": (
            "argocd",
            "StatefulSet/ledger/ledger-db metadata.annotations['argocd.argoproj.io/tracking-id']",
        ),
        "gitops_app": ("ledger", "Application/argocd/ledger metadata.name"),
    },
    "checkout": {
        "namespace": ("shop", "Rollout/shop/checkout metadata.namespace"),
        "workload": ("argo-rollout", "Rollout/shop/checkout kind"),
        "app_label_selector": ("app=checkout", "Rollout/shop/checkout spec.selector"),
        "metrics_selector": ('job="checkout-team"', "checkout metadata.labels['team']"),
        "gitops": (
            "argocd",
            "metadata.labels['app.kubernetes.io/instance'] (a label Helm charts set too, so alone "
            "it does not prove Argo CD), confirmed by cluster prod: Application/argocd/checkout",
        ),
        "gitops_app": ("checkout", "Application/argocd/checkout metadata.name"),
        "workload_name": ("checkout", "Rollout/shop/checkout metadata.name"),
        # the readiness probe on a named port: the container's port number
        "health_check": (
            "in-cluster",
            "Rollout/shop/checkout spec.template.spec.containers[0].readinessProbe",
        ),
        "health_check_path": (
            "/ready",
            "Rollout/shop/checkout spec.template.spec.containers[0].readinessProbe",
        ),
        "health_check_port": ("8080", "containers[0].readinessProbe"),
    },
    "search": {
        "namespace": ("search", "Deployment/search/search metadata.namespace"),
        "workload": ("deployment", "Deployment/search/search kind"),
        "app_label_selector": ("app=search", "Deployment/search/search spec.selector"),
        "metrics_selector": ('job="search"', "ServiceMonitor/monitoring/search spec.selector"),
        "hpa_name": ("search", "HorizontalPodAutoscaler/search/search spec.scaleTargetRef"),
    },
    "orders": {
        "workload": ("deployment", "Deployment/orders/orders kind"),
        "gitops": (
            "flux",
            "Deployment/orders/orders metadata.labels['kustomize.toolkit.fluxcd.io/name'], "
            "metadata.labels['kustomize.toolkit.fluxcd.io/namespace']",
        ),
        "gitops_app": ("apps", "Kustomization/flux-system/apps metadata.name"),
        "flux_namespace": ("flux-system", "Kustomization/flux-system/apps metadata.namespace"),
        "gitops_kind": ("kustomization", "Kustomization/flux-system/apps kind"),
    },
    "web": {
        "namespace": ("web", "Deployment/web/web metadata.namespace"),
        "workload": ("helm", "installed by Helm release 'web'"),
        "helm_release": ("web", "Deployment/web/web metadata.annotations['meta.helm.sh/release-"),
        "chart_workload": ("deployment/web", "Deployment/web/web metadata.name"),
    },
}

# Facts the template has no answer for (proposed names), with their sources.
EXPECTED_PROPOSED: dict[str, dict[str, tuple[Any, str]]] = {
    "payments-api": {
        "helm_storage_namespace": (
            "flux-system",
            "HelmRelease/flux-system/payments-api status.storageNamespace",
        ),
        "hpa_min_replicas": ("3", "spec.scaleTargetRef"),
        "hpa_max_replicas": ("12", "spec.scaleTargetRef"),
        "pdb_names": (["payments-api"], "PodDisruptionBudget/payments/payments-api"),
    },
    "ledger-db": {
        "update_strategy": ("OnDelete", "StatefulSet/ledger/ledger-db spec.updateStrategy.type"),
        "gitops_reverts_by_hand_changes": ("true", "spec.syncPolicy.automated.selfHeal"),
        "gitops_prunes": ("false", "Application/argocd/ledger spec.syncPolicy.automated.prune"),
    },
    "checkout": {
        "update_strategy": ("canary", "Rollout/shop/checkout spec.strategy.canary"),
        "gitops_reverts_by_hand_changes": ("false", "Argo CD's default is no self-heal"),
    },
    "search": {
        "hpa_min_replicas": ("2", "HorizontalPodAutoscaler/search/search"),
        "hpa_max_replicas": ("6", "HorizontalPodAutoscaler/search/search"),
    },
    "web": {
        "helm_storage_namespace": ("web", "meta.helm.sh/release-namespace"),
    },
    "orders": {
        "gitops_reverts_by_hand_changes": ("true", "Kustomization/flux-system/apps spec.interval"),
    },
}

NOT_DERIVED = {
    "search": {"gitops": "carries no Flux or Argo CD mark"},
    "web": {"gitops": "app.kubernetes.io/instance='web' is not taken as Argo CD's"},
}


def mismatches(
    found: dict[str, Any], sources: dict[str, str], expected: dict[str, tuple[Any, str]]
) -> list[str]:
    """Each expected answer whose value or source differs, in words."""
    wrong = []
    for name, (value, source) in expected.items():
        if found.get(name) != value:
            wrong.append(f"{name}: {found.get(name)!r}, wanted {value!r}")
        elif source not in sources.get(name, ""):
            wrong.append(f"{name}: source {sources.get(name)!r} does not hold {source!r}")
    return wrong


def discover_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["discover", "--cluster", *args])
    out, err = capsys.readouterr()
    return status, out, err


def entries(fleet_text: str) -> dict[str, dict[str, Any]]:
    return {entry["service_name"]: entry for entry in yaml.safe_load(fleet_text)["services"]}


def test_every_service_derived_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(tmp_path, monkeypatch, fleet_cluster()) as api:
        status, out, err = discover_cli(capsys, "--context", CONTEXT)
        found = discover_cluster(ClusterSource(context=CONTEXT))
    assert status == 0, err
    assert "Traceback" not in err
    written = entries(out)
    assert set(written) == set(EXPECTED)
    for name, expected in EXPECTED.items():
        entry = dict(written[name])
        sources = entry.pop("sources")
        assert mismatches(entry, sources, expected) == [], name
        assert set(sources) == set(entry), f"{name}: every answer written has its source"
        assert answer_problems(name, entry) == [], f"{name}: the fleet reader refuses an answer"
    services = {service.name: service for service in found.services}
    for name, expected in EXPECTED_PROPOSED.items():
        service = services[name]
        wrong = mismatches(service.proposed, service.proposed_sources, expected)
        assert wrong == [], name
    for name, reasons in NOT_DERIVED.items():
        for answer, words in reasons.items():
            assert words in services[name].not_derived[answer], services[name].not_derived
    kube_checks.check_only_gets(api.server.requests)


def test_the_expectations_can_fail() -> None:
    """The comparison catches a wrong value and a source naming another object or field."""
    expected = EXPECTED["payments-api"]
    values = {name: value for name, (value, _) in expected.items()}
    sources = {name: source for name, (_, source) in expected.items()}
    assert mismatches(values, sources, expected) == []
    assert mismatches({**values, "namespace": "default"}, sources, expected)
    wrong_source = {**sources, "helm_release": "cluster prod: Deployment/payments/payments-api"}
    assert mismatches(values, wrong_source, expected)


def test_a_run_that_writes_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The negative control of ``check_only_gets``: a doctored discovery that also labels a
    Deployment (as a careless "mark it discovered" would) is caught by the recorded requests."""
    original = cluster_module.Kubectl.get

    def get_and_label(self: cluster_module.Kubectl, *args: Any, **kwargs: Any) -> Any:
        self._run(
            ["--context", self.context, "label", "deployment", "search", "-n", "search", "x=1"],
            "label",
        )
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cluster_module.Kubectl, "get", get_and_label)
    with served(tmp_path, monkeypatch, fleet_cluster()) as api:
        discover_cluster(ClusterSource(context=CONTEXT))
        with pytest.raises(AssertionError, match="requests other than GETs"):
            kube_checks.check_only_gets(api.server.requests)


def test_context_is_named_on_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``--context prod`` while the kubeconfig's current context is another cluster, only
    prod's server is read; without it, the current context is read and named as the source."""
    with (
        served(tmp_path, monkeypatch, fleet_cluster()) as api,
        FakeApiServer("staging", fleet_cluster()) as staging,
    ):
        servers = {CONTEXT: api.server, "staging": staging}
        write_kubeconfig(api.kubeconfig, servers, "staging")
        status, out, _ = discover_cli(capsys, "--context", CONTEXT, "search")
        assert status == 0
        kube_checks.check_only_server(servers, CONTEXT)
        assert entries(out)["search"]["kube_context"] == CONTEXT
        write_kubeconfig(api.kubeconfig, servers, CONTEXT)
        status, out, _ = discover_cli(capsys, "search")
    assert status == 0
    search = entries(out)["search"]
    assert search["kube_context"] == CONTEXT
    assert search["sources"]["kube_context"] == "kubectl config current-context"


def test_one_namespace_and_named_workloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--namespace`` reads that namespace only (and the GitOps object its marks name, in its
    own namespace); NAMEs keep those workloads."""
    with served(tmp_path, monkeypatch, fleet_cluster()) as api:
        status, out, _ = discover_cli(capsys, "--context", CONTEXT, "--namespace", "ledger")
        kube_checks.check_namespace(
            api.server.api_requests(), "ledger", frozenset({("applications", "argocd")})
        )
        assert set(entries(out)) == {"ledger-db"}
        assert "read in namespace ledger only" in out
        status, out, _ = discover_cli(capsys, "--context", CONTEXT, "checkout", "nothing-here")
    assert status == 0
    assert set(entries(out)) == {"checkout"}
    assert "no workload named 'nothing-here'" in out


def _service(cluster: Any, name: str) -> Any:
    return {service.name: service for service in cluster.services}[name]


def test_what_the_marks_name_is_checked_against_the_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A HelmRelease gone, a release name the HelmRelease and Helm disagree on, a tracking
    annotation naming another object, an instance label with no Application: not derived, each
    saying why; never a guess."""
    cluster = fleet_cluster()
    del cluster.objects[("helmreleases", "flux-system", "payments-api")]
    cluster.add(
        cluster_services.objects.helm_release(
            "flux-system", "web-hr", "web", release_name="web-other", target_namespace="web"
        )
    )
    web = cluster.objects[("deployments", "web", "web")]
    web["metadata"]["labels"].update(
        {"helm.toolkit.fluxcd.io/name": "web-hr", "helm.toolkit.fluxcd.io/namespace": "flux-system"}
    )
    ledger = cluster.objects[("statefulsets", "ledger", "ledger-db")]
    tracking = "argocd.argoproj.io/tracking-id"
    ledger["metadata"]["annotations"][tracking] = "ledger:apps/StatefulSet:other/ledger-db"
    del cluster.objects[("applications", "argocd", "checkout")]
    with served(tmp_path, monkeypatch, cluster):
        found = discover_cluster(ClusterSource(context=CONTEXT))
    payments = _service(found, "payments-api")
    assert (
        "names HelmRelease flux-system/payments-api, which the cluster does not hold"
        in (payments.not_derived["gitops"])
    )
    assert payments.answers["helm_release"] == "payments-payments-api"  # Helm's own annotation
    web_service = _service(found, "web")
    assert "helm_release" not in web_service.answers
    assert "is 'web' but" in web_service.not_derived["helm_release"]
    assert "'web-other'" in web_service.not_derived["helm_release"]
    assert "does not name this object" in _service(found, "ledger-db").not_derived["gitops"]
    checkout = _service(found, "checkout").not_derived["gitops"]
    assert "no Application argocd/checkout, so it is not taken as Argo CD's" in checkout


# --- errors: one message naming the context and the type, exit 2 ------------------------------


def _refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    status, out, err = discover_cli(capsys, *args)
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("ERROR: ") and err.count("ERROR") == 1, err
    return err


def test_a_refused_list_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    allowed = Role.read_only().allowed or frozenset()
    role = Role.allowing(*(pair for pair in allowed if pair != ("list", "statefulsets")))
    with served(tmp_path, monkeypatch, fleet_cluster(), role=role):
        err = _refused(capsys, "--context", CONTEXT)
    assert err.startswith("ERROR: cluster prod: statefulsets.apps: reading it in every namespace")
    assert "was refused (Forbidden)" in err


def test_unreachable_server_and_unknown_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(tmp_path, monkeypatch, fleet_cluster()) as api:
        kubeconfig = api.kubeconfig
        err = _refused(capsys, "--context", "nowhere")
        assert err.startswith("ERROR: cluster nowhere: --context: the kubeconfig has no such")
    # the server has stopped: its port refuses connections
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    err = _refused(capsys, "--context", CONTEXT)
    assert err.startswith("ERROR: cluster prod: the API server: cannot be reached"), err


def test_no_kubectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    err = _refused(capsys, "--context", CONTEXT)
    assert "kubectl is not on PATH" in err


def test_an_unchanged_cluster_gives_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs print the same bytes (the order of the objects is the cluster's, not the
    threads')."""
    with served(tmp_path, monkeypatch, fleet_cluster()):
        first = discover_cli(capsys, "--context", CONTEXT)[1]
        second = discover_cli(capsys, "--context", CONTEXT)[1]
    assert first == second


# --- check --drift --cluster: the answers against the live objects -----------------------------


def discovered_fleet(
    path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, dict[str, str]]
) -> Path:
    """The fleet file ``discover --cluster`` writes (sources dropped, a review date added), with
    some answers changed."""
    status, out, err = discover_cli(capsys, "--context", CONTEXT)
    assert status == 0, err
    services = []
    for name, entry in entries(out).items():
        entry.pop("sources")
        services.append({**entry, **changes.get(name, {})})
    return write_fleet(path, services)


def drift_cli(capsys: pytest.CaptureFixture[str], fleet: Path, *args: str) -> tuple[int, str]:
    status = main(["check", str(fleet), "--output", str(fleet.parent / "out"), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out


def test_drift_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fleet discovery wrote matches the cluster it was read from: exit 0, GETs only."""
    with served(tmp_path / "home", monkeypatch, fleet_cluster()) as api:
        fleet = discovered_fleet(tmp_path / "fleet.yaml", capsys, {})
        api.server.requests.clear()
        status, out = drift_cli(capsys, fleet, "--drift", "--cluster")
        kube_checks.check_only_gets(api.server.requests)
    assert status == 0, out
    assert out.count(": matches the cluster") == len(EXPECTED), out


# (service, answer changed in the fleet, lines the report must hold)
CHANGED = {
    "search": (
        {"namespace": "search-old"},
        [
            "namespace: the pages say 'search-old', the cluster says 'search' (cluster prod: "
            "Deployment/search/search metadata.namespace)",
            "app_label_selector: the pages say 'app=search', the cluster says no pod matches it "
            "in namespace search-old",
        ],
    ),
    "checkout": (
        {"app_label_selector": "app=checkout-v1"},
        [
            "app_label_selector: the pages say 'app=checkout-v1', the cluster says 'app=checkout' "
            "(cluster prod: Rollout/shop/checkout spec.selector.matchLabels)",
        ],
    ),
    "payments-api": (
        {"helm_release": "payments-api-v2"},
        [
            "helm_release: the pages say 'payments-api-v2', the cluster says "
            "'payments-payments-api' (cluster prod: Deployment/payments/payments-api "
            "metadata.annotations['meta.helm.sh/release-name']",
            "helm_release: the pages say 'payments-api-v2', the cluster says no release record "
            "in namespace flux-system (no Secret sh.helm.release.v1.payments-api-v2.v<N>)",
        ],
    ),
}


def test_drift_lists_every_difference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A changed namespace, selector and release name in the answers, and a workload, a Helm
    release record and an Application gone from the cluster: each reported with what the pages
    say, what the cluster says and the object; exit 1."""
    cluster = fleet_cluster()
    with served(tmp_path / "home", monkeypatch, cluster) as api:
        changes = {name: change for name, (change, _) in CHANGED.items()}
        fleet = discovered_fleet(tmp_path / "fleet.yaml", capsys, changes)
        del cluster.objects[("statefulsets", "ledger", "ledger-db")]
        del cluster.objects[("applications", "argocd", "ledger")]
        del cluster.objects[("secrets", "web", "sh.helm.release.v1.web.v2")]
        api.server.requests.clear()
        status, out = drift_cli(capsys, fleet, "--drift", "--cluster", "--context", CONTEXT)
        kube_checks.check_only_gets(api.server.requests)
    assert status == 1, out
    for name, (_, lines) in CHANGED.items():
        assert f"{name}: drifted" in out
        for line in lines:
            assert f"  - {line}" in out, f"{line}\nnot in:\n{out}"
    assert "  - workload: the pages say 'StatefulSet/ledger-db', the cluster says no such " in out
    assert (
        "  - gitops_app: the pages say 'ledger', the cluster says no Application argocd/ledger"
        in (out)
    )
    assert "no Secret sh.helm.release.v1.web.v<N>" in out


def test_drift_finds_a_workload_named_apart_from_its_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A component called ``ledger`` whose StatefulSet is ``ledger-db`` (workload_name): the
    cluster's ledger-db is its workload, so nothing drifted; the same answers with the
    workload's name lost (negative control) name a StatefulSet the cluster does not hold."""
    renamed = {"ledger-db": {"service_name": "ledger", "workload_name": "ledger-db"}}
    with served(tmp_path / "home", monkeypatch, fleet_cluster()):
        fleet = discovered_fleet(tmp_path / "fleet.yaml", capsys, renamed)
        status, out = drift_cli(capsys, fleet, "--drift", "--cluster", "--context", CONTEXT)
        assert status == 0, out
        assert "ledger: matches the cluster" in out
        lost = {"ledger-db": {**renamed["ledger-db"], "workload_name": "ledger"}}
        fleet = discovered_fleet(tmp_path / "lost.yaml", capsys, lost)
        status, out = drift_cli(capsys, fleet, "--drift", "--cluster", "--context", CONTEXT)
    assert status == 1, out
    assert "  - workload: the pages say 'StatefulSet/ledger', the cluster says no such " in out


def test_drift_compares_the_autoscaler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """hpa_name, derived from the live HPA, is compared like the other derived answers: an HPA
    the pages name that the cluster no longer holds, and one the cluster has for a workload
    whose answers name none, each drift by the answer's name; exit 1."""
    cluster = fleet_cluster()
    with served(tmp_path / "home", monkeypatch, cluster) as api:
        fleet = discovered_fleet(
            tmp_path / "fleet.yaml", capsys, {"payments-api": {"hpa_name": ""}}
        )
        written = {e["service_name"]: e for e in yaml.safe_load(fleet.read_text())["services"]}
        assert written["search"]["hpa_name"] == "search"  # derived, as an answer
        del cluster.objects[("horizontalpodautoscalers", "search", "search")]
        api.server.requests.clear()
        status, out = drift_cli(capsys, fleet, "--drift", "--cluster", "--context", CONTEXT)
        kube_checks.check_only_gets(api.server.requests)
    assert status == 1, out
    assert (
        "  - hpa_name: the pages say 'search', the cluster says no HorizontalPodAutoscaler "
        "search/search (cluster prod: horizontalpodautoscalers.autoscaling search -n search)"
    ) in out
    assert (
        "  - hpa_name: the pages say 'no autoscaler (hpa_name is empty)', the cluster says "
        "'payments-api' (cluster prod: HorizontalPodAutoscaler/payments/payments-api "
        "spec.scaleTargetRef)"
    ) in out
    assert out.count("hpa_name:") == 2, out  # the other services' autoscalers match


def test_drift_reads_the_rendered_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rendered service is compared as rendered (its .cruft.json, what its pages show), not
    as the fleet file says now."""
    with served(tmp_path / "home", monkeypatch, fleet_cluster()):
        fleet = discovered_fleet(tmp_path / "fleet.yaml", capsys, {})
        rendered = {
            **entries(yaml.safe_dump(yaml.safe_load(fleet.read_text())))["search"],
            "namespace": "search-rendered",
            "reviewed_on": "2026-11-02",
        }
        state = {"template": "t", "commit": "c", "context": {"cookiecutter": rendered}}
        (tmp_path / "out" / "search").mkdir(parents=True)
        (tmp_path / "out" / "search" / ".cruft.json").write_text(json.dumps(state))
        status, out = drift_cli(capsys, fleet, "--drift", "--cluster")
    assert status == 1
    assert "search: drifted (cluster prod; answers from " in out and ".cruft.json)" in out
    assert "namespace: the pages say 'search-rendered', the cluster says 'search'" in out


def test_drift_options_are_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # From files (no --cluster), the rendered services are read too: --output is needed.
    assert main(["check", str(tmp_path / "f.yaml"), "--drift"]) == 2
    assert "--output: required with --drift" in capsys.readouterr().err
    drift_files = ["check", str(tmp_path / "f.yaml"), "-o", str(tmp_path), "--drift"]
    assert main([*drift_files, "--context", "prod"]) == 2
    assert "--context, --argocd-namespace: only with --drift --cluster" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "f.yaml"), "--drift", "--cluster", "--stale"]) == 2
    assert "--drift, --stale: one question at a time" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "f.yaml"), "-o", str(tmp_path), "--cluster"]) == 2
    assert "--cluster, --context: only with --drift" in capsys.readouterr().err


def test_a_release_named_as_the_service_is_derived_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A HelmRelease whose spec.releaseName equals the service's name: the answer is that
    release, and the pages use it as given (helm_release is never read as "derive it")."""
    cluster = fleet_cluster()
    release = cluster.objects[("helmreleases", "flux-system", "payments-api")]
    release["spec"]["releaseName"] = "payments-api"
    deployment = cluster.objects[("deployments", "payments", "payments-api")]
    deployment["metadata"]["annotations"]["meta.helm.sh/release-name"] = "payments-api"
    with served(tmp_path, monkeypatch, cluster):
        found = discover_cluster(ClusterSource(context=CONTEXT))
    payments = _service(found, "payments-api")
    assert payments.answers["helm_release"] == "payments-api", payments.not_derived
    assert "helm_release" not in payments.not_derived


def test_a_release_the_pages_would_not_print_is_not_derived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Helm under Flux stored where the template cannot print it (a storage namespace other
    than the HelmRelease's): not derived, saying what the pages would use, never written as an
    answer the pages would get wrong."""
    cluster = fleet_cluster()
    release = cluster.objects[("helmreleases", "flux-system", "payments-api")]
    release["spec"]["storageNamespace"] = release["status"]["storageNamespace"] = "payments"
    with served(tmp_path, monkeypatch, cluster):
        found = discover_cluster(ClusterSource(context=CONTEXT))
    payments = _service(found, "payments-api")
    assert "helm_release" not in payments.answers
    words = "would use namespace 'flux-system', not 'payments'"
    assert words in payments.not_derived["helm_release"], payments.not_derived


def test_a_type_the_cluster_does_not_serve_is_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cluster without a custom resource's CRD (say, no Argo Rollouts): the rest is read, and
    the header says what was not."""
    missing = "widgets.example.com"
    monkeypatch.setattr(cluster_module, "CUSTOM_TYPES", (*cluster_module.CUSTOM_TYPES, missing))
    with served(tmp_path, monkeypatch, fleet_cluster()):
        status, out, err = discover_cli(capsys, "--context", CONTEXT)
    assert status == 0, err
    assert f"# Not served by the cluster (not installed): {missing}" in out
    assert set(entries(out)) == set(EXPECTED)


def test_drift_with_a_role_per_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An identity bound in some namespaces only (no list across the cluster): discovery says
    to read one namespace; drift reads each service's namespace on its own, and a workload moved
    to a namespace it may not read is reported missing there, saying why it looked no further."""
    namespaces = {"payments", "ledger", "shop", "search", "web", "orders", "flux-system", "argocd"}
    with served(tmp_path / "home", monkeypatch, fleet_cluster()) as api:
        fleet = discovered_fleet(tmp_path / "fleet.yaml", capsys, {})
        api.server.role = Role.read_only(namespaces=frozenset(namespaces))
        err = _refused(capsys, "--context", CONTEXT)
        assert "at the cluster scope; --namespace reads one namespace" in err
        status, out = drift_cli(capsys, fleet, "--drift", "--cluster")
        assert status == 0, out
        api.server.role = Role.read_only(namespaces=frozenset(namespaces - {"search"}) | {"x"})
        moved = discovered_fleet_changed(fleet, {"search": {"namespace": "x"}})
        status, out = drift_cli(capsys, moved, "--drift", "--cluster")
    assert status == 1
    assert (
        "  - workload: the pages say 'Deployment/search', the cluster says no such workload in "
        "namespace x (listing every namespace is forbidden) (cluster prod)"
    ) in out


def discovered_fleet_changed(fleet: Path, changes: dict[str, dict[str, str]]) -> Path:
    data = yaml.safe_load(fleet.read_text())
    services = [{**entry, **changes.get(entry["service_name"], {})} for entry in data["services"]]
    return write_fleet(fleet.with_name("changed.yaml"), services)
