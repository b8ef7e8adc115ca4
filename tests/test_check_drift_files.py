"""``service-runbooks check FLEET --output DIR --drift``: the answers against the sources they
were read from, as those are now, and what the rendered commands act on against the manifests.

The fleet is the one ``discover`` writes from tests/fixtures/discovery/helm (copied, so a test
can edit a source as a person would in Git), rendered; its charts go through the helm stub
(tests/helm_stub.py), whose fixtures include the renamed releases.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from drift_fleet import Rendered
from fleet_helpers import run_cli
from helm_stub import helm_stub
from matrix import ROOT

from service_runbooks.commands import parse_shell
from service_runbooks.discovery.index import index_objects
from service_runbooks.discovery.objectcheck import check_objects

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"


@pytest.fixture
def rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    charts = Path(shutil.copytree(FIXTURES / "helm-rendered", tmp_path / "rendered"))
    for old, new in (("ledger", "ledger-v2"), ("payments-live-payments", "payments-prod-payments")):
        shutil.copy(charts / f"{old}.yaml", charts / f"{new}.yaml")
    monkeypatch.setenv("PATH", helm_stub(tmp_path / "bin", charts).path())
    repo = Path(shutil.copytree(FIXTURES / "helm", tmp_path / "repo"))
    fleet = repo / "fleet.yaml"
    run_cli(ROOT, "discover", repo, "--output", fleet)
    text = fleet.read_text(encoding="utf-8")
    # What a person gives: the review, and the health check (the charts' pods have no probe).
    given = '  reviewed_on: "2026-12-01"\n  health_check: "readiness"\n'
    filled = text.replace("services:\n", f"defaults:\n{given}services:\n", 1)
    fleet.write_text(filled, encoding="utf-8")
    run_cli(ROOT, "render", fleet, "--output", tmp_path / "out")
    return Rendered(repo, fleet, tmp_path / "out")


def tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and ".service-runbooks-cache" not in path.parts
    }


def test_nothing_changed_exits_0_and_writes_nothing(rendered: Rendered) -> None:
    before = tree(rendered.out)
    out = rendered.drift(check=0)
    assert "4 services: 0 drifted from their sources" in out
    assert out.count(": matches the sources") == 4
    assert tree(rendered.out) == before


@pytest.mark.parametrize(
    ("source", "old", "new", "expected"),
    [
        (
            "apps/prod/payments.yaml",
            "targetNamespace: payments-live",
            "targetNamespace: payments-prod",
            "namespace: the pages say 'payments-live', the sources now say 'payments-prod' "
            "(apps/prod/payments.yaml: HelmRelease/payments spec.targetNamespace)",
        ),
        (
            "deploy/checkout/deployment.yaml",
            "app: checkout\n  template",
            "app: checkout-v2\n  template",
            "app_label_selector: the pages say 'app=checkout', the sources now say "
            "'app=checkout-v2' (deploy/checkout/deployment.yaml: Deployment/checkout "
            "spec.selector.matchLabels)",
        ),
        (
            "apps/prod/ledger.yaml",
            "releaseName: ledger",
            "releaseName: ledger-v2",
            "helm_release: the pages say 'ledger', the sources now say 'ledger-v2' "
            "(apps/prod/ledger.yaml: HelmRelease/ledger spec.releaseName)",
        ),
        (
            "deploy/checkout/deployment.yaml",
            "name: checkout\n",
            "name: checkout-v2\n",
            "workload_name: the pages say 'checkout', the sources now say 'checkout-v2' "
            "(deploy/checkout/deployment.yaml: Deployment/checkout-v2 metadata.name)",
        ),
    ],
    ids=["namespace", "selector", "release", "workload-name"],
)
def test_a_changed_source_exits_1_naming_the_answer(
    rendered: Rendered, source: str, old: str, new: str, expected: str
) -> None:
    before = tree(rendered.out)
    rendered.edit(source, old, new)
    out = rendered.drift(check=1)
    assert f"  - {expected}" in out, out
    assert "4 services: 1 drifted from their sources" in out
    assert tree(rendered.out) == before  # nothing written


def test_a_command_naming_an_object_the_manifests_do_not_build_fails(rendered: Rendered) -> None:
    """Negative control of the object check: a page naming a Deployment no manifest builds."""
    page = rendered.out / "checkout" / "docs" / "runbooks" / "scaling.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text + "\n```bash\nkubectl get deployment ghost -n shop\n```\n", "utf-8")
    out = rendered.drift(check=1)
    assert (
        "objects: the pages say 'Deployment/ghost', the sources now say no Deployment 'ghost' "
        "in namespace 'shop' in the manifests" in out
    ), out


def test_a_selector_that_also_selects_another_workloads_pods_fails(rendered: Rendered) -> None:
    """Negative control of the selector check: a second Deployment whose pods carry the
    service's labels."""
    worker = (rendered.repo / "deploy" / "checkout" / "deployment.yaml").read_text("utf-8")
    worker = worker.replace("name: checkout\n", "name: checkout-worker\n", 1)
    worker = worker.replace(
        "app: checkout\n  template", "app: checkout\n      role: worker\n  template"
    )
    worker = worker.replace(
        "        app: checkout\n    spec", "        app: checkout\n        role: worker\n    spec"
    )
    (rendered.repo / "deploy" / "checkout" / "worker.yaml").write_text(worker, "utf-8")
    out = rendered.drift(check=1)
    assert (
        "app_label_selector: the pages say 'app=checkout', the sources now say it also selects "
        "the pods of Deployment/checkout-worker (deploy/checkout/worker.yaml" in out
    ), out


def test_placeholders_and_objects_the_runbook_creates_are_named_not_failed() -> None:
    commands = parse_shell(
        'kubectl debug "${POD:?}" -n shop --copy-to=web-db-rollback -- sleep 3600\n'
        "kubectl wait pod/web-db-rollback -n shop --for=condition=Ready\n"
        'kubectl logs "${POD:?}" -n shop\n'
        "kubectl get deployment web -n shop\n"
        'kubectl label pod "${POD:?}" app=quarantined --overwrite -n shop\n'
    )
    report = check_objects([("page.md", c) for c in commands], index_objects([]), "shop", True)
    assert [named.name for named in report.created] == ["web-db-rollback"]
    assert {named.name for named in report.placeholders} == {"${POD:?}"}
    assert [(n.kind, n.name) for n in report.missing] == [("Deployment", "web")]


@pytest.fixture
def scraped(tmp_path: Path) -> Rendered:
    """The monitoring/operator fixture discovered and rendered: its ServiceMonitor keeps the
    namespace in kubernetes_namespace, the Argo Rollouts controller is scraped with honorLabels."""
    repo = Path(shutil.copytree(FIXTURES / "monitoring" / "operator", tmp_path / "repo"))
    fleet = repo / "fleet.yaml"
    run_cli(ROOT, "discover", repo, "--output", fleet)
    given = '  reviewed_on: "2026-12-01"\n  health_check: "readiness"\n  gitops: "none"\n'
    text = fleet.read_text(encoding="utf-8")
    fleet.write_text(text.replace("services:\n", f"defaults:\n{given}services:\n", 1), "utf-8")
    run_cli(ROOT, "render", fleet, "--output", tmp_path / "out")
    return Rendered(repo, fleet, tmp_path / "out")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "targetLabel: kubernetes_namespace",
            "targetLabel: k8s_namespace",
            "metrics_namespace_label: the pages say 'kubernetes_namespace', the sources now say "
            "'k8s_namespace' (orders.yaml: ServiceMonitor/orders endpoints[0] relabelings)",
        ),
        (
            "honorLabels: true",
            "honorLabels: false",
            "rollouts_namespace_label: the pages say 'namespace', the sources now say "
            "'exported_namespace' (controller.yaml: ServiceMonitor/argo-rollouts "
            "endpoints[0].honorLabels (honorLabels absent or false))",
        ),
    ],
    ids=["metrics-namespace-label", "rollouts-namespace-label"],
)
def test_a_changed_scrape_setup_exits_1_naming_the_label(
    scraped: Rendered, old: str, new: str, expected: str
) -> None:
    # Negative control first: the sources as discovered match.
    assert "2 services: 0 drifted from their sources" in scraped.drift(check=0)
    source = "controller.yaml" if "honorLabels" in old else "orders.yaml"
    scraped.edit(source, old, new)
    out = scraped.drift(check=1)
    assert f"  - {expected}" in out, out
    assert "2 services: 1 drifted from their sources" in out


def test_argo_rollouts_set_image_names_the_rollout_not_the_sub_verb() -> None:
    """``kubectl argo rollouts set image NAME CONTAINER=IMAGE`` acts on Rollout NAME."""
    commands = parse_shell('kubectl argo rollouts set image checkout -n shop "app=${IMAGE:?}"\n')
    report = check_objects([("page.md", c) for c in commands], index_objects([]), "shop", True)
    assert [(n.kind, n.name) for n in report.missing] == [("Rollout", "checkout")]


def test_global_flags_before_the_verb_still_name_the_object() -> None:
    """kubectl takes its global flags before the verb too: the object is still the one named,
    in the namespace given; flags alone name nothing (the control)."""
    script = (
        "kubectl -n shop rollout undo deployment/checkout\n"
        "kubectl --context prod --namespace=shop get deploy orders -o name\n"
        "kubectl --request-timeout 5s -n shop\n"
    )
    commands = parse_shell(script)
    report = check_objects([("page.md", c) for c in commands], index_objects([]), "other", True)
    assert [(n.kind, n.namespace, n.name) for n in report.missing] == [
        ("Deployment", "shop", "checkout"),
        ("Deployment", "shop", "orders"),
    ]


@pytest.fixture
def autoscaled(tmp_path: Path) -> Rendered:
    """The Kustomize fixture's fleet (each overlay's Deployment with the base's HPA, named by
    namePrefix), discovered and rendered: hpa_name is a derived answer with its source."""
    repo = Path(shutil.copytree(FIXTURES / "kustomize", tmp_path / "repo"))
    fleet = repo / "fleet.yaml"
    run_cli(ROOT, "discover", repo, "--output", fleet)
    text = fleet.read_text(encoding="utf-8")
    assert 'hpa_name: "deploy/overlays/prod (kubectl kustomize): HorizontalPodAutoscaler/' in text
    given = '  reviewed_on: "2026-12-01"\n  gitops: "none"\n'
    fleet.write_text(text.replace("services:\n", f"defaults:\n{given}services:\n", 1), "utf-8")
    run_cli(ROOT, "render", fleet, "--output", tmp_path / "out")
    return Rendered(repo, fleet, tmp_path / "out")


def test_an_autoscaler_the_sources_no_longer_hold_is_drift(autoscaled: Rendered) -> None:
    """hpa_name is compared like every derived answer: unchanged, the fleet matches; the HPA
    gone from the base, each service's hpa_name drifts by name, and the pages' patch of it
    names an object the manifests no longer build."""
    out = autoscaled.drift(check=0)
    assert out.count(": matches the sources") == 2, out
    autoscaled.edit("deploy/base/kustomization.yaml", "  - hpa.yaml\n", "")
    out = autoscaled.drift(check=1)
    for name in ("prod-frontend", "staging-frontend"):
        assert (
            f"hpa_name: the pages say '{name}', the sources now say nothing: not derived any more"
        ) in out, out
    assert (
        "objects: the pages say 'HorizontalPodAutoscaler/prod-frontend', the sources now say no "
        "HorizontalPodAutoscaler 'prod-frontend' in namespace 'shop-prod' in the manifests"
    ) in out


def test_an_autoscaler_added_to_the_sources_is_drift(tmp_path: Path) -> None:
    """The reverse: discovered and rendered without the base's HPA (the pages say the service
    has no autoscaler), then the HPA added in Git: each service's hpa_name drifts, naming it,
    though the entries never read one. Before the HPA is added, nothing drifts (the control)."""
    repo = Path(shutil.copytree(FIXTURES / "kustomize", tmp_path / "repo"))
    base = repo / "deploy" / "base" / "kustomization.yaml"
    with_hpa = base.read_text(encoding="utf-8")
    base.write_text(with_hpa.replace("  - hpa.yaml\n", ""), encoding="utf-8")
    fleet = repo / "fleet.yaml"
    run_cli(ROOT, "discover", repo, "--output", fleet)
    text = fleet.read_text(encoding="utf-8")
    assert "hpa_name" not in text.split("services:", 1)[1].split("sources:", 1)[0]
    given = '  reviewed_on: "2026-12-01"\n  gitops: "none"\n'
    fleet.write_text(text.replace("services:\n", f"defaults:\n{given}services:\n", 1), "utf-8")
    run_cli(ROOT, "render", fleet, "--output", tmp_path / "out")
    unscaled = Rendered(repo, fleet, tmp_path / "out")
    out = unscaled.drift(check=0)
    assert out.count(": matches the sources") == 2, out
    base.write_text(with_hpa, encoding="utf-8")
    out = unscaled.drift(check=1)
    for name in ("prod-frontend", "staging-frontend"):
        assert (
            f"hpa_name: the pages say 'no autoscaler (hpa_name is empty)', the sources now say "
            f"'{name}'"
        ) in out, out
