"""Issue 20, the Helm and Argo CD items: what a rendered Helm (or Argo CD) service's pages show and
what its rollback script does or refuses, run against the stub tools (tests/bats/stubs/stub)."""

from __future__ import annotations

import re

import pytest
from runbook_pages import pages_of
from script_stubs import Stubs

HELM_FLUX = {"workload": "helm", "migration_tool": "none", "gitops": "flux"}
# The HelmRelease in the service's own namespace: the release is stored where it deploys.
HELM_FLUX_SAME_NAMESPACE = {**HELM_FLUX, "flux_namespace": "production"}
KUSTOMIZATION_FLUX = {"workload": "deployment", "migration_tool": "none", "gitops": "flux"}
FLUX_REVERT = "flux reconcile helmrelease payments-api -n flux-system --with-source"
HELM_ROLLBACK_IN_FLUX_SYSTEM = re.compile(r"helm rollback \S+( \S+)? -n flux-system")


def helm_rollbacks(stubs: Stubs) -> list[list[str]]:
    return [call for call in stubs.calls() if call[:2] == ["helm", "rollback"]]


# ---- item 1: a release stored in flux-system but deployed to production ----


def test_helm_flux_rollback_is_refused_where_storage_and_target_differ(render, tmp_path) -> None:
    service = render(HELM_FLUX)
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(service / "scripts" / "rollback.sh", "--yes")
    assert result.returncode == 3, result.stderr
    assert (
        "helm rollback -n flux-system would create the chart's objects in flux-system"
        in result.stderr
    )
    assert "flux reconcile helmrelease payments-api -n flux-system --with-source" in result.stderr
    assert stubs.calls() == [], "refused before calling any tool"


def test_helm_flux_pages_give_flux_way_not_helm_rollback(render) -> None:
    pages = pages_of(render(HELM_FLUX))
    for page in ("index.md", "runbooks/rollback.md", "runbooks/incident-response.md"):
        assert not HELM_ROLLBACK_IN_FLUX_SYSTEM.search(pages[page]), page
        assert (
            "flux reconcile helmrelease payments-api -n flux-system --with-source" in pages[page]
        ), page
    rollback = pages["runbooks/rollback.md"]
    assert "No `helm rollback` for this release: revert in Git" in rollback
    assert "spec.upgrade.remediation" in rollback
    # Reverting in Git needs Flux running: the page must not tell the reader to suspend it.
    assert "flux suspend" not in rollback.split("## Quick Rollback")[1].split("### Step 4")[0]


def test_negative_control_same_namespace_keeps_the_helm_cli_rollback(render, tmp_path) -> None:
    """Where Flux stores the release in the service's namespace, helm rollback is right."""
    service = render(HELM_FLUX_SAME_NAMESPACE)
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(service / "scripts" / "rollback.sh", "--yes")
    assert result.returncode == 0, result.stderr
    assert helm_rollbacks(stubs) == [
        [
            "helm",
            "rollback",
            "payments-api",
            "-n",
            "production",
            "--kube-context",
            "kind-dev",
            "--wait",
            "--timeout",
            "5m",
        ]
    ]
    rollback = pages_of(service)["runbooks/rollback.md"]
    assert "helm rollback payments-api -n production --wait --timeout 5m" in rollback
    assert "No `helm rollback` for this release" not in rollback


def test_negative_control_the_page_check_catches_the_old_text() -> None:
    """The page check above finds the command today's pages showed."""
    old = "helm rollback production-payments-api -n flux-system --wait --timeout 5m"
    assert HELM_ROLLBACK_IN_FLUX_SYSTEM.search(old)
    assert HELM_ROLLBACK_IN_FLUX_SYSTEM.search(
        'helm rollback production-payments-api "${REVISION:?}" -n flux-system'
    )


# ---- item 2: --namespace under Flux ----


@pytest.mark.parametrize(
    "answers",
    [HELM_FLUX, HELM_FLUX_SAME_NAMESPACE, KUSTOMIZATION_FLUX],
    ids=["helmrelease", "helmrelease-same-ns", "kustomization"],
)
def test_flux_rollback_refuses_another_namespace(render, tmp_path, answers) -> None:
    service = render(answers)
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(service / "scripts" / "rollback.sh", "--namespace", "staging", "--yes")
    assert result.returncode == 2, result.stderr
    assert "--namespace does not apply" in result.stderr
    assert stubs.calls() == [], "no Flux object or release of production touched"
    help_text = stubs.run(service / "scripts" / "rollback.sh", "--help").stdout
    assert (
        "--namespace $STAGING_NAMESPACE" not in help_text
        and "--namespace staging --yes" not in help_text
    )


def test_negative_control_without_gitops_namespace_moves_every_target(render, tmp_path) -> None:
    service = render({"workload": "helm", "migration_tool": "none", "gitops": "none"})
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(service / "scripts" / "rollback.sh", "--namespace", "staging", "--yes")
    assert result.returncode == 0, result.stderr
    assert helm_rollbacks(stubs)[0][3:5] == ["-n", "staging"]


# ---- item 24: previews hide Secrets; commands that print them say so ----

HELM_NONE = {"workload": "helm", "migration_tool": "none", "gitops": "none"}
HELM_ARGOCD = {"workload": "helm", "migration_tool": "none", "gitops": "argocd"}
RELEASE_PREVIEW = re.compile(r"helm (upgrade|install) .*--dry-run")
PRINTS_SECRETS = re.compile(r"^(helm get (values|manifest)|argocd app manifests) ")
SECRETS_WARNING = "Secrets included"


def secrets_problems(text: str) -> list[str]:
    """Release previews without --hide-secret, and unfiltered prints of a release's stored values
    or manifests with no secrets warning on one of the three lines before them."""
    problems = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        command = line.strip()
        if RELEASE_PREVIEW.search(command) and "--hide-secret" not in command:
            problems.append(f"preview shows Secrets: {command}")
        if PRINTS_SECRETS.match(command) and "|" not in command:
            before = "\n".join(lines[max(0, number - 3) : number])
            if SECRETS_WARNING not in before:
                problems.append(f"no secrets warning before: {command}")
    return problems


@pytest.mark.parametrize("answers", [HELM_NONE, HELM_ARGOCD], ids=["helm", "argocd-helm"])
def test_previews_hide_secrets_and_prints_warn(render, answers) -> None:
    service = render(answers)
    texts = {**pages_of(service)}
    texts |= {f"scripts/{p.name}": p.read_text() for p in (service / "scripts").glob("*.sh")}
    problems = {name: secrets_problems(text) for name, text in texts.items()}
    assert {name: found for name, found in problems.items() if found} == {}
    if answers["gitops"] == "none":
        assert "--dry-run=server --hide-secret" in texts["runbooks/deploy.md"]
        assert "Helm 3.15+" in texts["runbooks/deploy.md"]
        # helm rollback has no --hide-secret (its dry run prints no manifest): never added there.
        assert not re.search(r"helm rollback .*--hide-secret", "\n".join(texts.values()))


def test_history_script_warns_before_printing_a_release_s_values(render, tmp_path) -> None:
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(render(HELM_NONE) / "scripts" / "history.sh", "--revision", "2")
    assert result.returncode == 0, result.stderr
    assert "Secrets included" in result.stderr


def test_negative_control_the_secrets_check_catches_the_old_text() -> None:
    old_preview = 'helm upgrade payments-api "${CHART:?}" -n production --dry-run=server'
    old_show = '# REVISION=...\nhelm get values payments-api --revision "${REVISION:?}"'
    assert secrets_problems(old_preview) and secrets_problems(old_show)
    assert not secrets_problems("helm get manifest payments-api -n production | grep -A2 '^kind:'")


# ---- item 17: a release stuck in pending-upgrade / pending-rollback ----


def pending_section(rollback_page: str) -> str:
    start = rollback_page.find("`pending-upgrade` or `pending-rollback`")
    return rollback_page[start : rollback_page.find("\n!!!", start + 1)] if start >= 0 else ""


def test_pending_release_procedure_helm_cli(render) -> None:
    section = pending_section(pages_of(render(HELM_NONE))["runbooks/rollback.md"])
    assert "another operation (install/upgrade/rollback) is in progress" in section
    assert "helm history payments-api -n production" in section
    assert 'helm rollback payments-api "${REVISION:?}" -n production --wait --timeout 5m' in section


def test_pending_release_under_flux_is_left_to_helm_controller(render) -> None:
    section = pending_section(pages_of(render(HELM_FLUX))["runbooks/rollback.md"])
    assert "helm-controller unlocks a pending release itself" in section
    assert FLUX_REVERT in section
    assert "helm rollback" not in section


def test_negative_control_no_pending_section_without_a_helm_release(render) -> None:
    """Argo CD renders the chart with helm template: no release, nothing to unlock."""
    assert pending_section(pages_of(render(HELM_ARGOCD))["runbooks/rollback.md"]) == ""


# ---- item 15: a release holding several workloads ----


def command_at(text: str, command: str) -> int:
    """Where the first line running `command` starts (prose mentioning it does not count)."""
    found = re.search(rf"^ *{re.escape(command)}", text, flags=re.MULTILINE)
    return found.start() if found else -1


@pytest.mark.parametrize("answers", [HELM_NONE, HELM_ARGOCD], ids=["helm", "argocd-helm"])
def test_pages_list_the_release_s_workloads_before_the_undo(render, answers) -> None:
    pages = pages_of(render(answers))
    listing = (
        "helm get manifest payments-api" if answers["gitops"] == "none" else "argocd app resources"
    )
    undo = "helm rollback payments-api" if answers["gitops"] == "none" else "argocd app rollback"
    for page in ("index.md", "runbooks/rollback.md", "runbooks/incident-response.md"):
        text = pages[page]
        assert 0 <= command_at(text, listing) < command_at(text, undo), page
        assert "every workload of the release" in text, page
    step3 = pages["runbooks/rollback.md"].split("### Step 3")[1].split("### Step 4")[0]
    assert 0 <= command_at(step3, listing) < command_at(step3, undo)


def test_rollback_script_names_every_workload_of_the_release_before_asking(render, tmp_path):
    stubs = Stubs(tmp_path, current_context="kind-dev")
    script = render(HELM_NONE) / "scripts" / "rollback.sh"
    result = stubs.run(script, "--dry-run", STUB_RELEASE_EXTRA="ledger-db")
    assert result.returncode == 0, result.stderr
    about = result.stderr.index("About to:")
    listed = result.stderr.index("holds: deployment/payments-api statefulset/ledger-db")
    assert listed < about
    assert "takes back all 2 workloads of the release" in result.stderr


def test_negative_control_a_single_workload_release_gives_no_warning(render, tmp_path) -> None:
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(render(HELM_NONE) / "scripts" / "rollback.sh", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "holds: deployment/payments-api\n" in result.stderr
    assert "takes back all" not in result.stderr


# ---- item 21: pausing an app-of-apps or ApplicationSet parent ----

DEPLOYMENT_ARGOCD = {"workload": "deployment", "migration_tool": "none", "gitops": "argocd"}


def parent_note(rollback_page: str) -> str:
    start = rollback_page.find(
        '!!! note "Applications made by an ApplicationSet or an app-of-apps"'
    )
    return rollback_page[start : rollback_page.find("\n```bash\n", start)] if start >= 0 else ""


@pytest.mark.parametrize("answers", [DEPLOYMENT_ARGOCD, HELM_ARGOCD], ids=["deployment", "helm"])
def test_argocd_parent_pause_has_commands(render, answers) -> None:
    note = parent_note(pages_of(render(answers))["runbooks/rollback.md"])
    assert "kubectl get applications.argoproj.io payments-api" in note
    assert "ownerReferences" in note and "tracking-id" in note
    assert 'argocd app set "${PARENT_APP:?}" --sync-policy none' in note
    assert 'argocd app patch "${PARENT_APP:?}" --type merge' in note
    assert "ignoreApplicationDifferences" in note and "applicationsSync" in note
    # The parent's recorded policy never overwrites the child's.
    assert "payments-api.sync-policy.json" not in note


@pytest.mark.parametrize("answers", [HELM_FLUX, HELM_NONE], ids=["flux", "none"])
def test_negative_control_no_argocd_parent_commands_elsewhere(render, answers) -> None:
    pages = pages_of(render(answers))
    assert not any("PARENT_APP" in text or "ownerReferences[*]" in text for text in pages.values())


# ---- item 11: the Argo CD server the argocd CLI acts on, pinned ----


def unpinned_argocd_calls(calls: list[list[str]]) -> list[list[str]]:
    """argocd calls that act on whatever context is current when they run."""
    return [
        call
        for call in calls
        if call[0] == "argocd" and call[1] != "context" and "--argocd-context" not in call
    ]


@pytest.mark.parametrize("answers", [HELM_ARGOCD, DEPLOYMENT_ARGOCD], ids=["helm", "deployment"])
def test_argocd_calls_are_pinned_to_the_context_current_at_start(render, tmp_path, answers):
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(render(answers) / "scripts" / "rollback.sh", "--yes")
    assert result.returncode == 0, result.stderr
    calls = stubs.calls()
    argocd_calls = [call for call in calls if call[0] == "argocd"]
    assert argocd_calls[0] == ["argocd", "context"]
    assert len(argocd_calls) >= 2 and not unpinned_argocd_calls(calls)
    assert all(call[-2:] == ["--argocd-context", "argocd-prod"] for call in argocd_calls[1:])
    assert "argocd:    argocd-prod (server argocd.example.com" in result.stderr
    box = pages_of(render(answers))["index.md"]
    assert "argocd context" in box and "marked *" in box


def test_argocd_without_a_current_context_is_refused(render, tmp_path) -> None:
    stubs = Stubs(tmp_path, current_context="kind-dev")
    script = render(HELM_ARGOCD) / "scripts" / "rollback.sh"
    result = stubs.run(script, "--yes", STUB_ARGOCD_MARK_PROD=" ")
    assert result.returncode == 3, result.stderr
    assert "argocd has no current context" in result.stderr
    assert [call for call in stubs.calls() if call[0] == "argocd"] == [["argocd", "context"]]


def test_negative_control_the_pin_check_catches_today_s_calls() -> None:
    today = [["argocd", "app", "rollback", "payments-api", "--timeout", "300"]]
    assert unpinned_argocd_calls(today) == today


# ---- item 8: a Helm chart whose workload is a StatefulSet ----

FORCED_ROLLBACK = (
    "kubectl get statefulset payments-api-db -n production -o jsonpath='{.status.updateRevision}",
    "OWNER:.metadata.ownerReferences[?(@.controller==true)].name",
    'kubectl delete pod "${POD:?}" -n production',
)


@pytest.mark.parametrize("gitops", ["none", "argocd"])
def test_helm_statefulset_chart_gets_the_forced_rollback(render, tmp_path, gitops) -> None:
    answers = {**HELM_NONE, "gitops": gitops, "chart_workload": "statefulset/payments-api-db"}
    service = render(answers)
    pages = pages_of(service)
    for page in ("index.md", "runbooks/rollback.md", "runbooks/incident-response.md"):
        assert all(step in pages[page] for step in FORCED_ROLLBACK), page
    assert "`statefulset/payments-api-db` is a StatefulSet" in pages["runbooks/rollback.md"]
    stubs = Stubs(tmp_path, current_context="kind-dev")
    result = stubs.run(service / "scripts" / "rollback.sh", "--yes", STUB_UNDO_RC="1")
    assert result.returncode == 1
    assert "delete that pod" in result.stderr


def test_helm_chart_workload_is_checked_without_alerting(render) -> None:
    """Asked for every Helm service: pages read it with or without alerts."""
    answers = {**HELM_NONE, "alerting": "false", "chart_workload": "statefulset/payments-api-db"}
    assert all(step in pages_of(render(answers))["index.md"] for step in FORCED_ROLLBACK)


def test_negative_control_a_deployment_chart_gets_no_forced_rollback(render) -> None:
    pages = pages_of(render(HELM_NONE))
    assert not any(FORCED_ROLLBACK[1] in pages[page] for page in ("index.md",))
    assert "is a StatefulSet" not in pages["runbooks/rollback.md"]
