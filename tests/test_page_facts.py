"""What the pages tell an on-call engineer about each tool, checked against the tool's docs (the
source of each fact is in a Jinja comment beside it in the template), and that every such
comment names a documentation page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID, ROOT
from oracle import NAME, POD_IMAGES, Service
from runbook_pages import fenced_blocks, runbook, section

TEMPLATE = ROOT / "{{cookiecutter.service_name}}"
# The pages whose tool facts carry their sources here, and the macro files they import.
SOURCED = [
    TEMPLATE / "docs" / "runbooks" / page
    for page in ("verification.md", "deploy.md", "scaling.md", "incident-response.md")
] + [
    TEMPLATE / "docs" / "runbooks" / "dependency-outage.md",
    TEMPLATE / "docs" / "runbooks" / "on-call.md",
    TEMPLATE / "{% if False %}commands.jinja{% endif %}",
    TEMPLATE / "{% if False %}engines.jinja{% endif %}",
    TEMPLATE / "{% if False %}migrations.jinja{% endif %}",
    TEMPLATE / "{% if False %}text.jinja{% endif %}",
    TEMPLATE / "{% if False %}alerts.jinja{% endif %}",
    TEMPLATE / "docs" / "runbooks" / "rollback.md",
]
# Where a fact's source may live: the tools' own documentation.
DOC_HOSTS = {
    "kubernetes.io",
    "argoproj.github.io",
    "argo-cd.readthedocs.io",
    "helm.sh",
    "fluxcd.io",
    "curl.se",
    "prometheus.io",
    "docs.liquibase.com",
    "squidfunk.github.io",  # Material for MkDocs, which TechDocs pages are built with
    # The migration tools' own docs.
    "docs.djangoproject.com",
    "alembic.sqlalchemy.org",
    "documentation.red-gate.com",  # Flyway
    "flywaydb.org",  # Flyway's documentation before it moved to red-gate.com
    "guides.rubyonrails.org",
    "www.prisma.io",
    "docs.npmjs.com",
    "jqlang.org",  # jq, which builds a pod from another in database.md
    # The civil-date algorithms of C++'s <chrono>, by their author: text.jinja's review_due.
    "howardhinnant.github.io",
    # alerts.jinja: Prometheus (rule and scrape configuration), the SRE Workbook (the
    # multiwindow, multi-burn-rate alerts it defines), Backstage (TechDocs URLs), Jinja
    # (StrictUndefined, which stops a render on an alert without its page text).
    "sre.google",
    "backstage.io",
    "jinja.palletsprojects.com",
    # alerts.jinja: Sloth (the SLO recording rules it generates), the Prometheus Operator's API
    # (what a ServiceMonitor sets as labels).
    "sloth.dev",
    "prometheus-operator.dev",
}
# Where the docs are silent, the tool's own code.
CODE_REPOS = tuple(
    f"https://github.com/{owner}/"
    for owner in (
        "kubernetes",
        "helm",
        "argoproj",
        "fluxcd",
        "golang-migrate",
        "sqlalchemy",
        # alerts.jinja: the kubernetes-mixin's alert rules; cookiecutter's StrictEnvironment.
        "kubernetes-monitoring",
        "cookiecutter",
        "prisma",
        # alerts.jinja: Pyrra's absent alert and burn-rate rules (its README and slo/rules.go).
        "pyrra-dev",
        # alerts.jinja: kube-prometheus-stack's chart values (its default inhibit rule).
        "prometheus-community",
        # alerts.jinja: the labels a ServiceMonitor gives a target (the Prometheus Operator's
        # "Default Labels", a page of its repository its site does not publish).
        "prometheus-operator",
    )
)
JINJA_COMMENT = re.compile(r"\{#.*?#\}", flags=re.DOTALL)
URL = re.compile(r"https?://[^\s,)]+?(?=[:.;]?(?:\s|$|[,)]))")


def combos(workload: str | None = None, gitops: str | None = None) -> list[str]:
    """The matrix combinations with this workload and GitOps layer (any, when None)."""
    return [
        combo
        for combo, answers in COMBINATIONS_BY_ID.items()
        if workload in (None, answers["workload"]) and gitops in (None, answers["gitops"])
    ]


def flat(text: str) -> str:
    """Prose with its line breaks and the indentation of admonitions folded into single spaces."""
    return re.sub(r"\s+", " ", text)


def page(render_combo, combo: str, name: str) -> str:
    return runbook(render_combo(combo), name)


def comment_before(block: str, command: str) -> str:
    """The comment lines right above a command in a shell block."""
    lines = block.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(command))
    above = []
    for line in reversed(lines[:index]):
        if not line.startswith("#"):
            break
        above.insert(0, line.lstrip("# "))
    return " ".join(above)


# ---- Argo Rollouts ----


@pytest.mark.parametrize("combo", combos("argo-rollout"))
def test_a_timed_canary_pause_continues_by_itself(render_combo, combo: str) -> None:
    text = flat(page(render_combo, combo, "verification.md"))
    assert "continues only when its analysis passes" not in text
    assert "A pause with a `duration` continues by itself" in text
    assert "a `pause: {}` waits until someone promotes it" in text


@pytest.mark.parametrize("combo", combos("argo-rollout"))
def test_abort_brings_traffic_back_at_once_only_with_traffic_routing(render_combo, combo) -> None:
    # Under GitOps a deploy is a merge to Git: deploy.md shows no abort then.
    gitops = COMBINATIONS_BY_ID[combo]["gitops"]
    for name in ["scaling.md"] + (["deploy.md"] if gitops == "none" else []):
        text = flat(page(render_combo, combo, name))
        assert "traffic goes back to the stable version at once." not in text, name
        assert "all traffic goes back to the stable version." not in text, name
        assert "at once with traffic routing" in text or "With traffic routing" in text, name
        assert "basic canary" in text, name


# ---- Argo CD ----


@pytest.mark.parametrize("combo", combos(gitops="argocd"))
def test_argocd_wait_health_is_not_called_synced(render_combo, combo: str) -> None:
    wait = f"argocd app wait {NAME} --health"
    for name in ("verification.md", "deploy.md"):
        text = page(render_combo, combo, name)
        assert "synced and healthy" not in text, name
        block = next(b for b in fenced_blocks(text, "bash") if wait in b)
        assert "health only" in comment_before(block, wait), name


@pytest.mark.parametrize("combo", combos(gitops="argocd"))
def test_argocd_polls_every_120_seconds_plus_jitter(render_combo, combo: str) -> None:
    text = flat(page(render_combo, combo, "deploy.md"))
    assert "every 3 minutes by default" not in text
    assert "every 120 seconds plus up to 60 seconds of jitter" in text


@pytest.mark.parametrize("combo", combos(gitops="argocd"))
def test_argocd_reverts_a_manual_change_by_itself_only_with_self_heal(render_combo, combo) -> None:
    for name in ("deploy.md", "scaling.md"):
        text = flat(page(render_combo, combo, name))
        assert "self-heal on" in text, name
        assert "lasts only until the next sync" not in text, name


# ---- Flux ----


@pytest.mark.parametrize("combo", combos("helm", "flux"))
def test_flux_helmrelease_reverts_kubectl_changes_only_with_drift_detection(
    render_combo, combo: str
) -> None:
    for name in ("deploy.md", "scaling.md"):
        text = flat(page(render_combo, combo, name))
        assert "is reverted by the next sync" not in text, name
        assert "lasts only until the next sync" not in text, name
        assert "only if the HelmRelease has drift detection on" in text, name
        assert "`helm rollback` made by hand is undone" in text, name


@pytest.mark.parametrize(
    "combo", [c for w in ("deployment", "statefulset", "argo-rollout") for c in combos(w, "flux")]
)
def test_flux_kustomization_reverts_manual_changes_every_interval(render_combo, combo) -> None:
    for name in ("deploy.md", "scaling.md"):
        text = flat(page(render_combo, combo, name))
        assert "re-applies Git at every interval of the Kustomization" in text, name
        assert "drift detection" not in text, name


# ---- Helm ----

HELM_RELEASES = combos("helm", "none") + combos("helm", "flux")


@pytest.mark.parametrize("combo", HELM_RELEASES)
def test_helm_status_is_not_proof_the_pods_are_ready(render_combo, combo: str) -> None:
    """STATUS deployed is the release's state: the pages find the chart's workload and wait for
    its own rollout, bounded."""
    svc = Service(COMBINATIONS_BY_ID[combo])
    find, wait = svc.list_workloads()[0], svc.wait()
    assert wait.startswith('kubectl rollout status "${WORKLOAD:?}"') and "--timeout=" in wait
    verification = page(render_combo, combo, "verification.md")
    first_step = verification.split("### 1. ", 1)[1].split("### 2. ", 1)[0]
    assert f"helm status {svc.helm_release} {svc.helm_flags}" in first_step
    assert find in first_step and wait in first_step
    assert first_step.index(find) < first_step.index(wait)
    assert 'STATUS must be "deployed"' in comment_before(first_step.split("```bash\n")[1], "helm")
    deploy = page(render_combo, combo, "deploy.md")
    steps = section(deploy, "Steps")
    assert find in steps and wait in steps and steps.index(find) < steps.index(wait)


@pytest.mark.parametrize("combo", HELM_RELEASES)
def test_the_current_helm_revision_is_the_deployed_row(render_combo, combo: str) -> None:
    svc = Service(COMBINATIONS_BY_ID[combo])
    # Under Flux the deploy is a merge to Git: deploy.md has no "choose the chart" step.
    names = ["verification.md"] + (["deploy.md"] if svc.gitops == "none" else [])
    for name in names:
        text = page(render_combo, combo, name)
        assert "the last line is what runs now" not in text, name
        blocks = fenced_blocks(text, "bash")
        block = next(b for b in blocks if b.startswith("# ") and svc.history() in b)
        assert 'STATUS is "deployed"' in comment_before(block, svc.history()), name
        assert "unless the last upgrade failed" in comment_before(block, svc.history()), name


@pytest.mark.parametrize("combo", combos("helm", "none"))
def test_the_helm_deploy_example_sets_the_chart_version(render_combo, combo: str) -> None:
    deploy = page(render_combo, combo, "deploy.md")
    assert '--version "${CHART_VERSION:?}"' in deploy
    assert "# CHART_VERSION=" in deploy


# ---- Kubernetes: StatefulSet, HPA, logs, images ----


@pytest.mark.parametrize("combo", combos("statefulset"))
def test_statefulset_scaling_is_one_at_a_time_only_with_ordered_ready(render_combo, combo) -> None:
    text = flat(page(render_combo, combo, "scaling.md"))
    assert "Pods are added and removed one at a time, in order:" not in text
    assert "`podManagementPolicy: OrderedReady`" in text and "`Parallel`" in text


@pytest.mark.parametrize("combo", combos("statefulset", "none"))
def test_statefulset_deploy_names_the_update_strategies(render_combo, combo: str) -> None:
    text = page(render_combo, combo, "deploy.md")
    # The query the scripts run too: the type and the partition.
    strategy = "jsonpath={.spec.updateStrategy.type} {.spec.updateStrategy.rollingUpdate.partition}"
    assert f"-o '{strategy}'" in text
    assert "`OnDelete`" in text and "`partition`" in text


@pytest.mark.parametrize("combo", combos())
def test_an_hpa_undoes_a_manual_scale_up_after_its_stabilization_window(
    render_combo, combo
) -> None:
    text = flat(page(render_combo, combo, "scaling.md"))
    assert "sets the replica count back within seconds" not in text
    assert "downscale stabilization window" in text and "5 minutes by default" in text
    assert "Scaling to 0 switches it off" in text


@pytest.mark.parametrize("combo", combos())
def test_verification_reads_the_image_the_pods_run(render_combo, combo: str) -> None:
    """A workload's .spec.template holds the image it wants; during a stuck rollout or after an
    abort the pods run another."""
    svc = Service(COMBINATIONS_BY_ID[combo])
    text = page(render_combo, combo, "verification.md")
    second_step = text.split("### 2. ", 1)[1].split("### 3. ", 1)[0]
    assert f"{svc.pods()} {POD_IMAGES}" in second_step


@pytest.mark.parametrize("combo", combos())
def test_the_logs_comment_says_the_line_cap(render_combo, combo: str) -> None:
    svc = Service(COMBINATIONS_BY_ID[combo])
    text = page(render_combo, combo, "verification.md")
    assert "The last 15 minutes of every pod" not in text
    block = next(b for b in fenced_blocks(text, "bash") if svc.logs() in b)
    assert "at most its last 200 lines" in comment_before(block, svc.logs())


# ---- sources ----


def source_problems(template_text: str) -> list[str]:
    """What is wrong with the sources in a template's Jinja comments: a URL that is not https or
    not on a tool's documentation site."""
    problems = []
    for comment in JINJA_COMMENT.findall(template_text):
        for url in URL.findall(comment):
            host = url.split("/")[2]
            if not url.startswith("https://"):
                problems.append(f"not https: {url}")
            elif host not in DOC_HOSTS and not url.startswith(CODE_REPOS):
                problems.append(f"not a documentation site: {url}")
    return problems


def test_the_source_checker_rejects_a_source_off_the_docs() -> None:
    """Negative control: a blog post or a plain http link is not a documentation source."""
    bad = "{# https://example-blog.dev/argo-tips , http://kubernetes.io/docs/x #}"
    assert len(source_problems(bad)) == 2
    assert len(source_problems("{# https://github.com/someone/helm-tips #}")) == 1
    assert source_problems("{# https://helm.sh/docs/helm/helm_status/ #}") == []


@pytest.mark.parametrize("path", SOURCED, ids=lambda p: p.name)
def test_tool_facts_name_a_documentation_page(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert URL.search(" ".join(JINJA_COMMENT.findall(text))), f"{path.name} cites no source"
    assert source_problems(text) == [], path.name


@pytest.mark.parametrize("combo", combos())
def test_deploy_records_the_schema_version_before_migrating(render_combo, combo: str) -> None:
    """A schema rollback needs its target; Liquibase's tag form needs the tag set beforehand."""
    tool = COMBINATIONS_BY_ID[combo]["migration_tool"]
    text = page(render_combo, combo, "deploy.md")
    assert ("You noted where the schema is now" in text) == (tool != "none")
    assert ("`liquibase tag --tag=" in text) == (tool == "liquibase")
