"""Discovery of GitOps objects and Helm charts from files: Argo CD Applications (a local path
with self-heal, a local chart with its release name and values), Flux HelmReleases with and
without ``targetNamespace`` and ``releaseName`` behind a Flux Kustomization, charts rendered
through a stub ``helm`` (tests/helm_stub.py; no Helm can be installed here) that records what it
was given; and the pages rendered from what was derived, whose helm, flux and argocd commands
name exactly those objects."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fleet_helpers import run_cli
from helm_stub import HelmStub, helm_stub
from matrix import ROOT

from service_runbooks.commands import Command, parse_page, parse_shell
from service_runbooks.discovery import Discovery, ServiceAnswers, discover

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
REPO = FIXTURES / "helm"
RENDERED = FIXTURES / "helm-rendered"
# What a person gives before rendering the discovered fleet: the review, and the health check
# (the charts' pods have no probe, so discovery leaves it to them).
FILLED_IN = '  reviewed_on: "2026-12-01"\n  health_check: "readiness"\n'

# What each service's deployer is, as the fixtures write it (the expected facts, by hand).
EXPECTED = {
    "payments-api": {
        "gitops": "flux",
        "gitops_kind": "helmrelease",  # as the answer's choices spell it
        "gitops_app": "payments",
        "flux_namespace": "flux-apps",
        "namespace": "payments-live",  # spec.targetNamespace
        "helm_release": "payments-live-payments",  # Flux's default <targetNamespace>-<name>
        "helm_storage_namespace": "flux-apps",  # the HelmRelease's own namespace
        "chart_workload": "deployment/payments-api",
    },
    "ledger": {
        "gitops": "flux",
        "gitops_kind": "helmrelease",  # as the answer's choices spell it
        "gitops_app": "ledger",
        "flux_namespace": "finance",
        "namespace": "finance",  # no targetNamespace: the HelmRelease's namespace
        "helm_release": "ledger",  # spec.releaseName, equal to its name
        "helm_storage_namespace": "finance",
        "chart_workload": "statefulset/ledger",
    },
    "web": {
        "gitops": "argocd",
        "gitops_app": "web",
        "namespace": "storefront",
        "chart_workload": "deployment/web",
    },
    "checkout": {
        "gitops": "argocd",
        "gitops_app": "checkout",
        "namespace": "shop",
        "gitops_reverts_by_hand_changes": "true",
        "gitops_prunes": "true",
    },
}


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HelmStub:
    made = helm_stub(tmp_path / "bin", RENDERED)
    monkeypatch.setenv("PATH", made.path())
    return made


def by_name(found: Discovery) -> dict[str, ServiceAnswers]:
    return {service.name or "": service for service in found.services}


def value_and_source(service: ServiceAnswers, name: str) -> tuple[str, str]:
    if name in service.answers:
        return service.answers[name], service.sources[name]
    return service.proposed[name], service.proposed_sources[name]


def test_discover_derives_each_deployer_fact_with_its_source(stub: HelmStub) -> None:
    services = by_name(discover([REPO], REPO))
    assert sorted(services) == sorted(EXPECTED)
    for name, expected in EXPECTED.items():
        for answer, value in expected.items():
            found, source = value_and_source(services[name], answer)
            assert found == value, (name, answer)
            assert source, (name, answer)
    payments = services["payments-api"]
    assert payments.sources["helm_release"] == (
        "apps/prod/payments.yaml: HelmRelease/payments spec.releaseName (absent: Flux's "
        "default <targetNamespace>-<name>)"
    )
    assert payments.sources["namespace"] == (
        "apps/prod/payments.yaml: HelmRelease/payments spec.targetNamespace"
    )
    assert payments.proposed_sources["helm_storage_namespace"].startswith(
        "apps/prod/payments.yaml: HelmRelease/payments spec.storageNamespace (absent"
    )
    assert services["ledger"].sources["helm_release"] == (
        "apps/prod/ledger.yaml: HelmRelease/ledger spec.releaseName"
    )
    # The Flux Kustomization in front of the HelmReleases is noted.
    assert payments.proposed["gitops_parent"] == ["Kustomization/flux-system/apps"]
    # Argo CD renders the chart itself: no Helm release exists to name.
    assert "helm_release" not in services["web"].answers
    assert services["checkout"].sources["gitops"] == (
        "clusters/prod/apps.yaml: Application/checkout spec.source.path"
    )


def test_helm_template_is_given_the_deployers_release_namespace_and_values(
    stub: HelmStub,
) -> None:
    discover([REPO], REPO)
    calls = {call["argv"][1]: call for call in stub.calls()}
    assert sorted(calls) == ["ledger", "payments-live-payments", "web-prod"]
    payments = calls["payments-live-payments"]
    assert payments["argv"][:5] == [
        "template",
        "payments-live-payments",
        str(REPO / "charts" / "payments"),
        "-n",
        "payments-live",
    ]
    assert payments["values"] == ['{"image": {"tag": "1.4.2"}}']
    assert calls["ledger"]["argv"][3:5] == ["-n", "finance"]
    assert calls["web-prod"]["argv"][3:5] == ["-n", "storefront"]  # Argo CD's destination
    assert calls["web-prod"]["values"] == ['{"replicaCount": 3}']


def test_without_helm_a_chart_is_named_and_its_workload_is_an_answer_to_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubectl = shutil.which("kubectl")
    bare = tmp_path / "bin"
    bare.mkdir()
    if kubectl:
        (bare / "kubectl").symlink_to(kubectl)
    monkeypatch.setenv("PATH", str(bare))
    found = discover([REPO], REPO)
    assert sorted(by_name(found)) == ["checkout"]  # no chart's object name is guessed
    payments = [line for line in found.not_built if line.startswith("charts/payments:")]
    assert payments == [
        "charts/payments: HelmRelease/payments installs it as release 'payments-live-payments' "
        "in namespace 'payments-live'; helm is not on PATH, so the chart is not rendered (helm "
        "template); its workload is an answer to give (chart_workload, e.g. deployment/<name>), "
        "never guessed"
    ]


def commands_of(service: Path) -> list[Command]:
    found: list[Command] = []
    for path in sorted(service.rglob("*")):
        if path.suffix == ".md":
            found += parse_page(path.read_text(encoding="utf-8"))
        elif path.suffix == ".sh":
            found += parse_shell(path.read_text(encoding="utf-8"))
    return [command for command in found if command.tool in ("helm", "flux", "argocd")]


def option(argv: tuple[str, ...], *names: str) -> str | None:
    for index, word in enumerate(argv[:-1]):
        if word in names:
            return argv[index + 1]
    return None


HELM_ARGS = "${HELM_ARGS[@]}"


def scripts_helm_namespace(service: Path) -> str | None:
    """The namespace the scripts' HELM_ARGS give helm, as common.sh sets it."""
    common = (service / "scripts" / "lib" / "common.sh").read_text(encoding="utf-8")
    if 'HELM_ARGS=(-n "$HELM_STORAGE_NAMESPACE")' not in common:
        return None
    match = re.search(r"^readonly HELM_STORAGE_NAMESPACE='([^']*)'$", common, re.MULTILINE)
    return match[1] if match else None


def check_named(name: str, command: Command) -> None:
    expected, argv = EXPECTED[name], command.argv
    if command.tool == "helm":
        assert expected["helm_release"] in argv, argv
        namespace = option(argv, "-n", "--namespace")
        # A script's helm takes its namespace from common.sh's HELM_ARGS (checked below).
        assert namespace == expected["helm_storage_namespace"] or (
            namespace is None and HELM_ARGS in argv
        ), argv
    elif command.tool == "flux":
        assert argv[3] == expected["gitops_app"], argv
        assert option(argv, "-n", "--namespace") == expected["flux_namespace"], argv
    elif argv[1] not in ("context", "account") and not argv[3].startswith("${"):
        # The CLI's login and rights name no object; a parent the reader names is theirs.
        assert argv[1] == "app" and argv[3] == expected["gitops_app"], argv


def test_the_pages_rendered_from_discovery_name_exactly_those_objects(
    stub: HelmStub, tmp_path: Path
) -> None:
    repo = Path(shutil.copytree(REPO, tmp_path / "repo"))
    fleet = repo / "fleet.yaml"
    run_cli(ROOT, "discover", repo, "--output", fleet)
    text = fleet.read_text(encoding="utf-8")
    fleet.write_text(
        # What discovery never sets, and the health check: the charts' pods have no probe.
        text.replace("services:\n", f"defaults:\n{FILLED_IN}services:\n", 1),
        encoding="utf-8",
    )
    run_cli(ROOT, "render", fleet, "--output", tmp_path / "out")
    for name in EXPECTED:
        commands = commands_of(tmp_path / "out" / name)
        assert commands, name
        tools = {command.tool for command in commands}
        assert tools == ({"helm", "flux"} if EXPECTED[name]["gitops"] == "flux" else {"argocd"})
        for command in commands:
            check_named(name, command)
        if "helm" in tools:
            expected = EXPECTED[name]["helm_storage_namespace"]
            assert scripts_helm_namespace(tmp_path / "out" / name) == expected, name


def test_an_app_of_apps_parent_and_an_application_set_are_noted(
    stub: HelmStub, tmp_path: Path
) -> None:
    repo = Path(shutil.copytree(REPO, tmp_path / "repo"))
    (repo / "root.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        "metadata: {name: root, namespace: argocd}\n"
        "spec: {source: {path: clusters/prod}, destination: {namespace: argocd}}\n"
        "---\napiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
        "metadata: {name: teams, namespace: argocd}\n"
        "spec: {template: {spec: {source: {path: '{{path}}'}}}}\n",
        encoding="utf-8",
    )
    checkout = by_name(discover([repo], repo))["checkout"]
    assert checkout.proposed["gitops_parent"] == [
        "Application/argocd/root",
        "ApplicationSet/argocd/teams",
    ]
    assert (
        "root.yaml: Application/root spec.source.path (applies clusters/prod/apps.yaml)"
        in (checkout.proposed_sources["gitops_parent"])
    )


def test_the_scripts_namespace_reader_sees_a_wrong_or_missing_one(tmp_path: Path) -> None:
    """Negative control of scripts_helm_namespace: it reads what common.sh says, and nothing
    when HELM_ARGS does not carry it."""
    lib = tmp_path / "scripts" / "lib"
    lib.mkdir(parents=True)
    common = "readonly HELM_STORAGE_NAMESPACE='elsewhere'\n"
    (lib / "common.sh").write_text(common + '  HELM_ARGS=(-n "$HELM_STORAGE_NAMESPACE")\n')
    assert scripts_helm_namespace(tmp_path) == "elsewhere"
    (lib / "common.sh").write_text(common + "  HELM_ARGS=()\n")
    assert scripts_helm_namespace(tmp_path) is None
