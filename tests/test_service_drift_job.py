"""The drift gate in a service's own repository (fleet/service_drift.py): a service whose
``sources:`` lie inside its own folder gets ``.github/workflows/runbooks-drift.yml`` and the
one-entry fleet its job checks; its job's check passes as rendered and fails, naming the answer,
when the namespace, the selector or the Helm release changes in the sources.

Each repository is a discovery fixture copied into the folder its service is rendered into (the
service's own repository), discovered from there, and rendered with a GitHub template URL; the
job's check step runs as GitHub runs it, in a workspace laid out as its checkout step lays it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fleet_helpers import run_cli
from github_workflow import load_workflow, run_step, schema_check
from helm_stub import helm_stub
from matrix import ROOT

from service_runbooks.fleet.service_drift import CHECK_STEP, FLEET_FILE, JOB, WORKFLOW_FILE

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
TEMPLATE_URL = "https://github.com/acme/service-runbooks"
PINNED = {"actions/checkout@v4", "actions/setup-python@v5", "actions/cache@v4"}


@dataclass(frozen=True)
class OwnRepo:
    work: Path  # the fleet file's folder, where the services are rendered
    service: str  # the service whose folder holds the sources
    elsewhere: str  # a service of the same sources rendered into another folder
    path: str  # the PATH the job's runner has (kubectl; the helm stub where needed)

    def workspace(self, tmp_path: Path) -> Path:
        """The runner's workspace after the job's checkout: the repository in a folder named
        after the service."""
        workspace = tmp_path / "workspace"
        shutil.copytree(self.work / self.service, workspace / self.service, symlinks=True)
        return workspace

    def run_check(self, workspace: Path) -> tuple[int, str]:
        workflow = load_workflow(workspace / self.service, WORKFLOW_FILE)
        result = run_step(workflow, JOB, CHECK_STEP, workspace, {"PATH": self.path})
        assert "Traceback" not in result.stderr, result.stderr
        return result.returncode, result.stdout + result.stderr


def _own_repo(work: Path, fixture: str, service: str, sources: str, path: str) -> Path:
    """``fixture`` copied into ``work/service``, discovered from ``sources`` in it, rendered.
    The fleet file is in the service's folder too: discovery reads the paths a Flux object
    names from the repository's root, which is the fleet file's folder."""
    shutil.copytree(FIXTURES / fixture, work / service)
    fleet = work / service / "fleet.yaml"
    run_cli(ROOT, "discover", work / service / sources, "--output", fleet, cwd=work)
    found = yaml.safe_load(fleet.read_text(encoding="utf-8"))
    mine = [entry for entry in found["services"] if entry["service_name"] == service]
    # What discovery could not derive (the chart's pods have no probe), given as a person would.
    given = {"reviewed_on": "2026-12-01", "health_check": "readiness"}
    written = {"defaults": given, "services": mine}
    fleet.write_text(yaml.safe_dump(written, sort_keys=False), encoding="utf-8")
    run_cli(ROOT, "render", fleet, "--output", work, "--template-url", TEMPLATE_URL, cwd=work)
    return fleet


@pytest.fixture(scope="module")
def kustomize_repo(tmp_path_factory: pytest.TempPathFactory) -> OwnRepo:
    work = tmp_path_factory.mktemp("own-kustomize")
    # discover gives gitops no value here: every entry gets "none", as a person would give it
    shutil.copytree(FIXTURES / "kustomize", work / "prod-frontend")
    fleet = work / "fleet.yaml"
    run_cli(ROOT, "discover", work / "prod-frontend" / "deploy", "--output", fleet, cwd=work)
    text = fleet.read_text(encoding="utf-8")
    block = 'defaults:\n  reviewed_on: "2026-12-01"\n  gitops: "none"\nservices:\n'
    fleet.write_text(text.replace("services:\n", block, 1), encoding="utf-8")
    run_cli(ROOT, "render", fleet, "--output", work, "--template-url", TEMPLATE_URL, cwd=work)
    return OwnRepo(work, "prod-frontend", "staging-frontend", os.environ["PATH"])


@pytest.fixture(scope="module")
def helm_repo(tmp_path_factory: pytest.TempPathFactory) -> OwnRepo:
    work = tmp_path_factory.mktemp("own-helm")
    charts = Path(shutil.copytree(FIXTURES / "helm-rendered", work / "stub-charts"))
    shutil.copy(charts / "ledger.yaml", charts / "ledger-v2.yaml")
    path = f"{helm_stub(work / 'bin', charts).path()}"
    old = os.environ["PATH"]
    os.environ["PATH"] = path
    try:
        _own_repo(work, "helm", "ledger", ".", path)
    finally:
        os.environ["PATH"] = old
    return OwnRepo(work, "ledger", "checkout", path)


def test_a_service_whose_sources_lie_in_its_folder_gets_the_drift_job(
    kustomize_repo: OwnRepo,
) -> None:
    service = kustomize_repo.work / kustomize_repo.service
    workflow = load_workflow(service, WORKFLOW_FILE)
    assert schema_check(service / WORKFLOW_FILE).returncode == 0
    trigger = {"paths": [".github/workflows/runbooks-drift.yml", FLEET_FILE, "deploy/**"]}
    assert workflow["on"] == {"push": trigger, "pull_request": trigger, "workflow_dispatch": {}}
    steps = workflow["jobs"][JOB]["steps"]
    assert {step["uses"] for step in steps if "uses" in step} == PINNED
    assert steps[0]["with"] == {"path": kustomize_repo.service}
    template = next(s for s in steps if s["name"] == "Check out service-runbooks")
    assert template["with"]["repository"] == "acme/service-runbooks"
    fleet = yaml.safe_load((service / FLEET_FILE).read_text(encoding="utf-8"))
    (entry,) = fleet["services"]
    assert entry["namespace"] == "shop-prod"
    assert entry["sources"]["namespace"] == "deploy/overlays/prod/kustomization.yaml: namespace"
    # its manifest records both files as rendered: plain `check` finds nothing edited
    fleet_file = kustomize_repo.work / "fleet.yaml"
    result = run_cli(ROOT, "check", fleet_file, "--output", kustomize_repo.work, check=None)
    assert "edited" not in result.stdout and "runbooks-drift" not in result.stdout, result.stdout


def test_a_service_whose_sources_lie_elsewhere_gets_none(kustomize_repo: OwnRepo) -> None:
    """Negative control: staging-frontend's sources are in prod-frontend's folder."""
    other = kustomize_repo.work / kustomize_repo.elsewhere
    assert other.is_dir()
    assert not (other / WORKFLOW_FILE).exists()
    assert not (other / FLEET_FILE).exists()


def test_the_schema_check_fails_on_a_broken_drift_job(
    kustomize_repo: OwnRepo, tmp_path: Path
) -> None:
    """Negative control of the schema check on this workflow."""
    workflow = load_workflow(kustomize_repo.work / kustomize_repo.service, WORKFLOW_FILE)
    workflow["jobs"][JOB]["runs_on"] = workflow["jobs"][JOB].pop("runs-on")
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    assert schema_check(broken).returncode == 1


@pytest.mark.parametrize(
    ("source", "old", "new", "expected"),
    [
        (None, "", "", None),
        (
            "deploy/overlays/prod/kustomization.yaml",
            "namespace: shop-prod",
            "namespace: shop-live",
            "namespace: the pages say 'shop-prod', the sources now say 'shop-live' "
            "(deploy/overlays/prod/kustomization.yaml: namespace)",
        ),
        (
            "deploy/overlays/prod/kustomization.yaml",
            "env: prod",
            "env: production",
            "app_label_selector: the pages say 'app.kubernetes.io/name=frontend,env=prod', "
            "the sources now say 'app.kubernetes.io/name=frontend,env=production'",
        ),
    ],
    ids=["clean", "namespace", "selector"],
)
def test_the_jobs_check_fails_on_drift_naming_the_answer(
    kustomize_repo: OwnRepo,
    tmp_path: Path,
    source: str | None,
    old: str,
    new: str,
    expected: str | None,
) -> None:
    workspace = kustomize_repo.workspace(tmp_path)
    if source is not None:
        path = workspace / kustomize_repo.service / source
        text = path.read_text(encoding="utf-8")
        assert old in text, text
        path.write_text(text.replace(old, new), encoding="utf-8")
    code, out = kustomize_repo.run_check(workspace)
    if expected is None:
        assert code == 0, out
        assert "1 services: 0 drifted from their sources" in out
    else:
        assert code == 1, out
        assert f"  - {expected}" in out, out


def test_the_jobs_check_fails_when_the_release_changes(helm_repo: OwnRepo, tmp_path: Path) -> None:
    workspace = helm_repo.workspace(tmp_path)
    assert helm_repo.run_check(workspace)[0] == 0
    path = workspace / helm_repo.service / "apps" / "prod" / "ledger.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("releaseName: ledger", "releaseName: ledger-v2"), "utf-8")
    code, out = helm_repo.run_check(workspace)
    assert code == 1, out
    assert (
        "  - helm_release: the pages say 'ledger', the sources now say 'ledger-v2' "
        "(apps/prod/ledger.yaml: HelmRelease/ledger spec.releaseName)"
    ) in out, out
