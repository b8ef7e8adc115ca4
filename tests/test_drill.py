"""``service-runbooks drill`` against the fake API server (the real kubectl talks to it), one
service per deployment engine: a matching cluster passes; a missing workload, a role without
``patch``, a removed HPA the answers name (hpa_name) and a refused HPA look-up fail by the
step's name (a service whose answers name no HPA skips it); nothing but reads and can-i
questions reach the server, and with ``--server-dry-run`` every change carries ``dryRun=All``
(a step sent without the flag is caught); the service's access/*.yaml validate against the
Kubernetes schemas, and are what the drill needs."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

import kube_checks
import kube_objects as objects
import kubernetes_validate
import pytest
from cluster_services import CONTEXT, served
from drill_services import (
    ENGINES,
    UNSCALED,
    access_documents,
    changing_stub_calls,
    drill_cluster,
    render_services,
    role_from,
    stub_calls,
    stub_tools,
)
from kube_api import Cluster, Role
from matrix import COMBINATIONS_BY_ID
from script_stubs import STUB

from service_runbooks import command_table
from service_runbooks.cli import main
from service_runbooks.drill import access as drill_access

# ValidatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from this version on, the
# oldest the access files say they need.
# https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/
MINIMUM_KUBERNETES = "1.30.0"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_services(tmp_path_factory.mktemp("drill"))


def drill(
    capsys: pytest.CaptureFixture[str], target: Path, report: Path, *options: str
) -> tuple[int, str, dict[str, Any]]:
    status = main(["drill", str(target), "--context", CONTEXT, "--report", str(report), *options])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    document = json.loads(report.read_text()) if report.exists() else {}
    return status, out, document


def steps_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    (service,) = document["services"]
    return service["steps"]


def failed(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in steps_of(document) if step["status"] == "failed"}


def passed_names(document: dict[str, Any]) -> set[str]:
    return {step["name"] for step in steps_of(document) if step["status"] == "passed"}


def full_rights(service: Path, drop: set[tuple[str, str]] = frozenset()) -> Role:
    return role_from(access_documents(service), drop)


@pytest.mark.parametrize("name", list(ENGINES))
def test_a_matching_cluster_passes(
    services: Path,
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every read step passes or is skipped with its reason, every can-i says yes; kubectl's
    steps are proven by the real kubectl, the others only by stubs, and the report says which;
    nothing but GETs and access reviews reach the server, and no stub ran a change."""
    service = services / name
    log = stub_tools(tmp_path, monkeypatch)
    with served(tmp_path / "home", monkeypatch, drill_cluster(), full_rights(service)) as api:
        status, out, report = drill(capsys, service, tmp_path / "report.json")
        kube_checks.check_only_gets(api.server.requests)
    assert status == 0, out
    assert failed(report) == {}
    steps = steps_of(report)
    # What an incident reads first: history, the state now, the pods, events, the image.
    assert {"history", "pods", "pods_wide", "events", "image"} <= passed_names(report), out
    assert any(s["kind"] == "access" and s["status"] == "passed" for s in steps)
    for step in steps:
        if step["status"] == "skipped":
            assert step["reason"], step
        elif step["argv"][:3] == ["kubectl", "argo", "rollouts"] or step["argv"][0] != "kubectl":
            assert "recording stub" in step["client"], step
        else:
            assert step["client"].startswith("kubectl v1."), step
            assert "stub" not in step["client"]
    assert "proven against kubectl v1." in out
    if name in ("checkout", "payments-api", "storefront"):
        assert "recording stub" in out  # the GitOps or Helm reads ran, through a stub
        assert stub_calls(log)
    assert changing_stub_calls(log) == []


def test_the_read_only_role_runs_every_read_step(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """access/read-only-role.yaml is what the reads need: with it alone only can-i questions
    fail, each naming the verb the identity lacks."""
    service = services / "search"
    stub_tools(tmp_path, monkeypatch)
    role = role_from(access_documents(service, "read-only-role.yaml"))
    with served(tmp_path / "home", monkeypatch, drill_cluster(), role):
        status, _, report = drill(capsys, service, tmp_path / "report.json")
    assert status == 1
    refused = failed(report)
    assert refused and {step["kind"] for step in refused.values()} <= {"access", "read"}
    for step in refused.values():
        assert step["argv"][1:3] == ["auth", "can-i"], step
        assert step["reason"].startswith("Forbidden: the identity may not "), step
    step = refused["can-i patch deployments.apps in namespace search"]
    assert step["reason"] == (
        "Forbidden: the identity may not patch deployments.apps in namespace search"
    )
    assert step["needed_by"] == ["rollback (undo), restart, resume"]


def _without(cluster: Cluster, plural: str, namespace: str, name: str) -> Cluster:
    del cluster.objects[(plural, namespace, name)]
    return cluster


def test_a_missing_workload_fails_its_steps_by_name(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = services / "search"
    stub_tools(tmp_path, monkeypatch)
    cluster = _without(drill_cluster(), "deployments", "search", "search")
    with served(tmp_path / "home", monkeypatch, cluster, full_rights(service)):
        status, out, report = drill(capsys, service, tmp_path / "report.json")
    assert status == 1
    refused = failed(report)
    for name in ("history", "image", "replicas", "describe_workload"):
        assert refused[name]["reason"] == "NotFound", refused.get(name)
        assert 'deployments.apps "search" not found' in refused[name]["error"]
    assert "FAILED history [read]: kubectl rollout history deployment/search" in out
    assert "NotFound: Error from server (NotFound)" in out


def test_a_role_without_patch_fails_the_can_i_step_by_name(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The can-i question names the verb and the entries that need it; with --server-dry-run
    the rollback's dry run is refused too, and the drill says which verb."""
    service = services / "search"
    stub_tools(tmp_path, monkeypatch)
    role = full_rights(service, drop={("patch", "deployments")})
    with served(tmp_path / "home", monkeypatch, drill_cluster(), role):
        status, out, report = drill(capsys, service, tmp_path / "report.json")
        dry_status, _, dry_report = drill(
            capsys, service, tmp_path / "dry.json", "--server-dry-run"
        )
    assert status == 1
    assert set(failed(report)) == {"can-i patch deployments.apps in namespace search"}
    step = failed(report)["can-i patch deployments.apps in namespace search"]
    assert step["reason"] == (
        "Forbidden: the identity may not patch deployments.apps in namespace search"
    )
    assert step["needed_by"] == ["rollback (undo), restart, resume"]
    assert "needed by: rollback (undo), restart, resume" in out
    assert dry_status == 1
    undo = failed(dry_report)["undo"]
    assert undo["kind"] == "dry-run" and "--dry-run=server" in undo["argv"]
    assert undo["reason"] == (
        "Forbidden: the identity may not patch deployments.apps in namespace search"
    )


def test_a_removed_hpa_fails_the_step_that_finds_it(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The answers name the autoscaler (hpa_name) and the pages patch it by name: a cluster
    without it fails the look-up by the step's name, naming the HPA and the steps that need it."""
    service = services / "payments-api"
    stub_tools(tmp_path, monkeypatch)
    cluster = _without(drill_cluster(), "horizontalpodautoscalers", "payments", "payments-api")
    with served(tmp_path / "home", monkeypatch, cluster, full_rights(service)):
        status, out, report = drill(capsys, service, tmp_path / "report.json")
    assert status == 1
    assert set(failed(report)) == {"find HPA"}, out
    step = failed(report)["find HPA"]
    assert step["argv"][:4] == ["kubectl", "get", "hpa", "payments-api"]
    assert step["reason"].startswith(
        "NotFound: no HorizontalPodAutoscaler payments-api in namespace payments, which the "
        "service's answers name (hpa_name)"
    ), step
    assert step["needed_by"] == ["hpa_max", "hpa_min"]


def test_an_hpa_of_another_workload_fails_the_step_that_finds_it(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The HPA the answers name exists but scales something else: its patch would not change
    the service's capacity, so the look-up fails, naming both targets."""
    service = services / "payments-api"
    stub_tools(tmp_path, monkeypatch)
    cluster = _without(drill_cluster(), "horizontalpodautoscalers", "payments", "payments-api")
    cluster.add(objects.hpa("payments", "payments-api", ("Deployment", "payments-worker"), 2, 6))
    with served(tmp_path / "home", monkeypatch, cluster, full_rights(service)):
        status, out, report = drill(capsys, service, tmp_path / "report.json")
    assert status == 1
    assert failed(report)["find HPA"]["reason"] == (
        "the HorizontalPodAutoscaler payments-api in namespace payments has scaleTargetRef "
        "Deployment/payments-worker, not the workload Deployment/payments-api"
    ), out


@pytest.fixture(scope="module")
def unscaled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """payments-api rendered with answers that name no autoscaler (hpa_name empty)."""
    return render_services(tmp_path_factory.mktemp("unscaled"), [UNSCALED]) / "payments-api"


@pytest.mark.parametrize("cluster_has_one", [False, True])
def test_a_service_whose_answers_name_no_hpa_skips_the_step_that_finds_it(
    unscaled: Path,
    cluster_has_one: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without hpa_name the service is scaled by hand per its answers: the look-up of the
    pages' ${HPA:?} (the namespace's list the scaling page has the reader check) is not
    applicable, said with why, and the drill passes; an HPA the cluster holds for the
    workload all the same is named, with the answer to give."""
    stub_tools(tmp_path, monkeypatch)
    cluster = drill_cluster()
    if not cluster_has_one:
        cluster = _without(cluster, "horizontalpodautoscalers", "payments", "payments-api")
    with served(tmp_path / "home", monkeypatch, cluster, full_rights(unscaled)):
        status, out, report = drill(capsys, unscaled, tmp_path / "report.json")
    assert status == 0, out
    assert failed(report) == {}
    (step,) = [step for step in steps_of(report) if step["name"] == "find HPA"]
    assert step["status"] == "skipped"
    assert step["argv"][:4] == ["kubectl", "get", "hpa", "-n"]
    assert step["reason"].startswith(
        "not applicable: the service's answers name no autoscaler (hpa_name is empty)"
    )
    named = (
        ", yet HorizontalPodAutoscaler payments-api in namespace payments has scaleTargetRef "
        "Deployment/payments-api: give it as hpa_name"
    )
    assert step["reason"].endswith(named) == cluster_has_one, step
    assert step["needed_by"] == ["hpa_max", "hpa_min"]
    assert "skipped 1: not applicable: the service's answers name no autoscaler" in out


@pytest.mark.parametrize("verb", ["get", "list"])
def test_an_hpa_look_up_the_cluster_refuses_fails_by_name(
    services: Path,
    unscaled: Path,
    verb: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Negative control: skipping a service without an autoscaler never hides a look-up that
    could not be made: an identity that may not get the named HPA (or list them, without
    hpa_name) fails the step with the API server's reason."""
    service = services / "payments-api" if verb == "get" else unscaled
    stub_tools(tmp_path, monkeypatch)
    role = full_rights(service, drop={(verb, "horizontalpodautoscalers")})
    with served(tmp_path / "home", monkeypatch, drill_cluster(), role):
        status, _, report = drill(capsys, service, tmp_path / "report.json")
    assert status == 1
    step = failed(report)["find HPA"]
    assert step["reason"].startswith(
        f"Forbidden: the identity may not {verb} horizontalpodautoscalers.autoscaling"
    ), step


def _objects(cluster: Cluster) -> dict[Any, Any]:
    with cluster.lock:
        return copy.deepcopy(cluster.objects)


def test_server_dry_run_sends_every_change_as_a_dry_run(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The kubectl-rollout service's rollback (its changing step without a placeholder) goes
    as a server dry run; nothing is kept."""
    service = services / "search"
    stub_tools(tmp_path, monkeypatch)
    cluster = drill_cluster()
    before = _objects(cluster)
    with served(tmp_path / "home", monkeypatch, cluster, full_rights(service)) as api:
        status, out, report = drill(capsys, service, tmp_path / "report.json", "--server-dry-run")
        kube_checks.check_dry_run(api.server.requests)
    assert status == 0, out
    assert _objects(cluster) == before
    dry_runs = [s for s in steps_of(report) if s["kind"] == "dry-run" and s["status"] == "passed"]
    assert dry_runs and all("--dry-run=server" in s["argv"] for s in dry_runs)


def test_a_change_sent_without_the_dry_run_flag_is_caught(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Negative control: a drill that forgets the flag for one step changes the cluster, and
    the records show it."""
    service = services / "search"
    stub_tools(tmp_path, monkeypatch)
    real = drill_access.dry_run_argv

    def forgetful(argv: tuple[str, ...]) -> tuple[str, ...]:
        return argv if argv[1:3] == ("rollout", "undo") else real(argv)

    monkeypatch.setattr(drill_access, "dry_run_argv", forgetful)
    cluster = drill_cluster()
    before = _objects(cluster)
    with served(tmp_path / "home", monkeypatch, cluster, full_rights(service)) as api:
        drill(capsys, service, tmp_path / "report.json", "--server-dry-run")
        with pytest.raises(AssertionError, match="dryRun"):
            kube_checks.check_dry_run(api.server.requests)
    assert _objects(cluster) != before


def test_the_access_files_validate_against_the_kubernetes_schemas(services: Path) -> None:
    """Every object of every service's access/*.yaml, strict (no unknown field), against the
    schemas of the oldest Kubernetes they need; and they speak of one identity."""
    for name in ENGINES:
        documents = access_documents(services / name)
        kinds = {doc["kind"] for doc in documents}
        assert {"ServiceAccount", "Role", "RoleBinding", "ValidatingAdmissionPolicy"} <= kinds
        for doc in documents:
            kubernetes_validate.validate(doc, MINIMUM_KUBERNETES, strict=True)
        (account,) = [doc for doc in documents if doc["kind"] == "ServiceAccount"]
        meta = account["metadata"]
        user = f"system:serviceaccount:{meta['namespace']}:{meta['name']}"
        for doc in documents:
            if doc["kind"] in ("RoleBinding", "ClusterRoleBinding"):
                assert doc["subjects"] == [
                    {
                        "kind": "ServiceAccount",
                        "name": account["metadata"]["name"],
                        "namespace": account["metadata"]["namespace"],
                    }
                ]
        (policy,) = [doc for doc in documents if doc["kind"] == "ValidatingAdmissionPolicy"]
        assert policy["spec"]["matchConditions"][0]["expression"] == (
            f'request.userInfo.username == "{user}"'
        )
        assert [v["expression"] for v in policy["spec"]["validations"]] == [
            "request.dryRun == true"
        ]
        (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
        # Every write and exec of any resource or subresource, "*/*" alone: "*" beside it would
        # overlap, which the API server refuses (RuleWithOperations.resources).
        assert rule["resources"] == ["*/*"] and rule["apiGroups"] == ["*"]
        assert rule["operations"] == ["CREATE", "UPDATE", "DELETE", "CONNECT"]
        (binding,) = [d for d in documents if d["kind"] == "ValidatingAdmissionPolicyBinding"]
        assert binding["spec"]["policyName"] == policy["metadata"]["name"]
        assert binding["spec"]["validationActions"] == ["Deny"]
        assert (
            "Kubernetes 1.30 or later"
            in (services / name / "access" / "drill-role.yaml").read_text()
        )


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_every_combinations_access_files_validate(render_combo: Any, combo: str) -> None:
    """Every workload, GitOps tool and option of the matrix: the access files hold valid
    objects (a Role rule rendered empty, a namespace missing, would fail here)."""
    documents = access_documents(render_combo(combo))
    assert documents
    for doc in documents:
        kubernetes_validate.validate(doc, MINIMUM_KUBERNETES, strict=True)
        for rule in doc.get("rules", []):
            assert rule["resources"] and rule["verbs"], doc["metadata"]["name"]


@pytest.mark.parametrize(
    "doctor",
    [
        lambda doc: doc["spec"]["matchConstraints"].update(resourceRules="all"),
        lambda doc: doc["spec"].update(validation=doc["spec"].pop("validations")),
        lambda doc: doc.update(apiVersion="admissionregistration.k8s.io/v2"),
    ],
    ids=["rules-not-a-list", "misspelt-field", "unknown-version"],
)
def test_a_wrong_policy_fails_the_schema_check(services: Path, doctor: Any) -> None:
    """Negative control: the schema check refuses a doctored policy."""
    documents = access_documents(services / "search", "drill-role.yaml")
    (policy,) = [doc for doc in documents if doc["kind"] == "ValidatingAdmissionPolicy"]
    doctored = copy.deepcopy(policy)
    doctor(doctored)
    with pytest.raises(
        (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError)
    ):
        kubernetes_validate.validate(doctored, MINIMUM_KUBERNETES, strict=True)


def test_bad_targets_are_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["drill", str(plain), "--context", CONTEXT]) == 2
    assert (
        "neither a rendered service (no .cruft.json) nor a folder of them"
        in capsys.readouterr().err
    )
    assert main(["drill", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["drill", str(plain), "--report", str(tmp_path)]) == 2
    assert "--report: " in capsys.readouterr().err


def test_a_removed_flag_fails_with_kubectls_words(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A table entry whose flag kubectl no longer has (the table and the page doctored alike,
    as a template written for another kubectl would have them) fails with kubectl's error."""
    service = shutil.copytree(services / "search", tmp_path / "search")
    page = service / "docs" / "runbooks" / "on-call.md"
    pods = "kubectl get pods -l app=search \\\n  -n search --context prod\n"  # phone-broken
    assert pods in page.read_text()
    page.write_text(page.read_text().replace(pods, pods[:-1] + " --show-removed\n"))
    real = command_table.page_table

    def doctored(template: Path, answers: Any) -> command_table.Table:
        table = real(template, answers)
        for argv, entry in list(table.items()):
            if entry.name == "pods":
                table[(*argv, "--show-removed")] = entry
        return table

    monkeypatch.setattr(command_table, "page_table", doctored)
    stub_tools(tmp_path, monkeypatch)
    with served(tmp_path / "home", monkeypatch, drill_cluster(), full_rights(service)):
        status, _, report = drill(capsys, service, tmp_path / "report.json")
    assert status == 1
    (step,) = failed(report).values()
    assert step["name"] == "pods" and "--show-removed" in step["argv"]
    assert step["reason"] == "unknown flag or command"
    assert step["error"] == "Error: unknown flag: --show-removed"  # kubectl's own words
    assert [where.split(":")[0] for where in step["where"]] == ["docs/runbooks/on-call.md"]


def test_a_tool_not_installed_is_skipped_with_the_reason(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without argocd and the Argo Rollouts plugin on PATH, their steps are skipped, saying
    which is missing; the drill still passes on what it could run."""
    service = services / "checkout"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").symlink_to(STUB)  # the health check, kept off the network
    path = [p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "argocd").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), *path]))
    monkeypatch.setenv("STUB_LOG", str(tmp_path / "calls.log"))
    with served(tmp_path / "home", monkeypatch, drill_cluster(), full_rights(service)):
        status, out, report = drill(capsys, service, tmp_path / "report.json")
    assert status == 0, out
    reasons = {s["reason"] for s in steps_of(report) if s["status"] == "skipped"}
    assert "argocd is not installed" in reasons
    assert "the kubectl argo rollouts plugin (kubectl-argo-rollouts) is not installed" in reasons


def test_a_folder_of_services_is_drilled_service_by_service(
    services: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What the fleet's drill job runs: every service of render's output in one report, exit 1
    when one of them failed; a fleet file with --output names the same folders."""
    fleet = tmp_path / "out"
    for name in ("search", "storefront"):
        shutil.copytree(services / name, fleet / name)
    stub_tools(tmp_path, monkeypatch)
    cluster = _without(drill_cluster(), "deployments", "store", "storefront")
    rights = Role()  # everything: only the missing workload fails
    with served(tmp_path / "home", monkeypatch, cluster, rights):
        status, out, report = drill(capsys, fleet, tmp_path / "report.json")
    assert status == 1
    by_service = {entry["service"]: entry for entry in report["services"]}
    assert sorted(by_service) == ["search", "storefront"]
    assert not [s for s in by_service["search"]["steps"] if s["status"] == "failed"]
    assert [s for s in by_service["storefront"]["steps"] if s["status"] == "failed"]
    assert out.count("drill ") == 2
    # The fleet file names checkout too, which this folder lacks: refused by name, exit 2.
    assert main(["drill", str(services.parent / "fleet.yaml"), "--output", str(fleet)]) == 2
    err = capsys.readouterr().err
    assert f"{fleet / 'checkout'}: no .cruft.json" in err and "Traceback" not in err
