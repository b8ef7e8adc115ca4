"""Every runbook page over the option matrix: the pages that exist, their sections, the exact
commands for the service's tooling, nothing for tools it does not use, shell blocks that parse,
and the links between pages."""

from __future__ import annotations

import re
import subprocess

import pytest
from matrix import COMBINATIONS_BY_ID, OPTIONAL_ANSWERS, ROOT
from oracle import Service
from runbook_expectations import GARBLED, MIGRATION_COMMANDS, MIGRATION_LIMITS, TOOL_WORDS
from runbook_pages import (
    LEFTOVER_TEMPLATE,
    PAGES,
    fence_languages,
    fenced_blocks,
    headings,
    links,
    pages_of,
    runbook,
    section,
)

PROCEDURE = ["When to Use", "Before You Start", "Steps", "Verify", "Communicate", "Escalate"]
SECTIONS = {
    "deploy.md": [*PROCEDURE[:4], "Rollback Criteria", *PROCEDURE[4:]],
    "verification.md": [*PROCEDURE[:2], "What Healthy Looks Like", *PROCEDURE[2:]],
    "scaling.md": [
        *PROCEDURE[:3],
        "Manual Scaling",
        "Autoscaler",
        "Draining Traffic",
        *PROCEDURE[3:],
    ],
    "database.md": [
        *PROCEDURE[:2],
        "Migration Status",
        "Roll Back the Release's Migrations",
        "When the Bad Release's Pods Are Gone",
        "Limits",
        "Backup and Restore",
        *PROCEDURE[3:],
    ],
    "incident-response.md": [
        "Severity Levels",
        "Roles",
        "The First 5 Minutes",
        "Status Updates",
        "When to Roll Back",
        "Handover",
        "Escalation",
    ],
    "dependency-outage.md": [
        "Meaning",
        "Impact",
        "Diagnosis",
        "Mitigation",
        "Degrade",
        "Throttle",
        "Escalation",
    ],
    "on-call.md": ["Escalation Path", "Channels", "Hand-off Checklist"],
    "postmortem.md": [
        "Summary",
        "Impact",
        "Timeline of Events",
        "Contributing Factors",
        "Action Items",
    ],
}
# Words that name a migration tool; none may appear on the pages of a service using another.
MIGRATION_WORDS = {
    "django": r"manage\.py|django",
    "alembic": r"alembic",
    "flyway": r"flyway",
    "liquibase": r"liquibase",
    "rails": r"\brails\b",
    "prisma": r"prisma",
    "golang-migrate": r"golang-migrate|migrate -path",
}
COMBOS = list(COMBINATIONS_BY_ID)
# Commands that wait for a rollout or a sync: each needs a timeout, or it may wait forever.
WAITS = re.compile(
    r"kubectl rollout status|argo rollouts status|argocd app (wait|sync|rollback)"
    r"|helm (rollback|upgrade)"
)


def service_pages(render_combo, combo: str) -> dict[str, str]:
    return pages_of(render_combo(combo))


def expected_on_page(svc: Service, page: str) -> list[str]:
    """The commands a page must show for this service."""
    wide = f"{svc.pods()} -o wide"
    pause = svc.gitops_pause()
    commands = {
        "deploy.md": [*svc.deploy(), svc.wait(), svc.history(), *svc.health()],
        "verification.md": [
            svc.wait(),
            svc.history(),
            *svc.health(),
            wide,
            svc.events(),
            svc.logs(),
            f'kubectl logs "${{POD:?}}" {svc.flags} --previous --tail=200',
        ],
        "scaling.md": [
            *svc.list_workloads(),
            svc.scale(),
            f"kubectl get hpa {svc.flags}",
            f"kubectl describe hpa {svc.flags}",
            f"kubectl get pdb {svc.flags}",
            f"kubectl top pods -l app={svc.name} {svc.flags}",
            f"kubectl patch hpa {svc.hpa} {svc.flags} --type=merge -p "
            '"{\\"spec\\":{\\"minReplicas\\":${REPLICAS:?}}}"',
            f'kubectl delete pod "${{POD:?}}" {svc.flags}',
            *pause,
        ],
        "dependency-outage.md": [
            f"{svc.logs()} | grep -iE",
            svc.history(),
            *svc.list_workloads(),
            svc.restart(),
            f'kubectl exec "$POD" {svc.flags} -- curl',
            f"kubectl get networkpolicies {svc.flags}",
        ],
        "incident-response.md": [
            svc.history(),
            *svc.health(),
            wide,
            svc.events(),
            *svc.emergency_rollback(),
            svc.emergency_wait(),
        ],
        "on-call.md": [svc.pods(), svc.history()],
        "index.md": [*svc.emergency_rollback(), svc.emergency_wait()],
    }.get(page, [])
    if page == "verification.md" and svc.workload != "helm":
        commands.append(f"kubectl events {svc.flags} --for {svc.ref}")
    if page == "scaling.md":
        commands += scaling_specifics(svc)
    return commands


def scaling_specifics(svc: Service) -> list[str]:
    quarantine = f'kubectl label pod "${{POD:?}}" app=quarantined --overwrite {svc.flags}'
    commands = [] if svc.workload == "statefulset" else [quarantine]
    if svc.workload == "argo-rollout":
        commands.append(f"kubectl argo rollouts abort {svc.name} {svc.flags}")
    if svc.workload == "helm":
        commands.append(f'kubectl rollout status "${{WORKLOAD:?}}" {svc.flags} --timeout=5m')
    else:
        commands.append(svc.wait())
    return commands


@pytest.mark.parametrize("combo", COMBOS)
def test_runbook_set_matches_the_migration_tool(render_combo, combo: str) -> None:
    runbooks = render_combo(combo) / "docs" / "runbooks"
    has_database = COMBINATIONS_BY_ID[combo]["migration_tool"] != "none"
    expected = [p for p in PAGES if has_database or p != "database.md"]
    assert sorted(path.name for path in runbooks.iterdir()) == sorted(expected)


@pytest.mark.parametrize("combo", COMBOS)
def test_every_page_has_its_sections_in_order(render_combo, combo: str) -> None:
    service = render_combo(combo)
    answers = COMBINATIONS_BY_ID[combo]
    for page, required in SECTIONS.items():
        if page == "database.md" and answers["migration_tool"] == "none":
            continue
        found = headings(runbook(service, page))
        assert [h for h in found if h in required] == required, f"{page}: {found}"
    on_call = headings(runbook(service, "on-call.md"))
    assert ("PagerDuty" in on_call) == ("pagerduty_service_id" in answers)


@pytest.mark.parametrize("combo", COMBOS)
def test_pages_show_the_commands_for_the_tooling(render_combo, combo: str) -> None:
    svc = Service(COMBINATIONS_BY_ID[combo])
    pages = service_pages(render_combo, combo)
    for page in [*SECTIONS, "index.md"]:
        text = pages.get(page if page == "index.md" else f"runbooks/{page}")
        if text is None:  # no database page without a migration tool
            continue
        for command in expected_on_page(svc, page):
            assert command in text, f"{page} is missing: {command}"


WITH_DATABASE = [c for c in COMBOS if COMBINATIONS_BY_ID[c]["migration_tool"] != "none"]


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_database_page_uses_the_migration_tool(render_combo, combo: str) -> None:
    tool = COMBINATIONS_BY_ID[combo]["migration_tool"]
    svc = Service(COMBINATIONS_BY_ID[combo])
    page = runbook(render_combo(combo), "database.md")
    in_pod = f'kubectl exec -it "$POD" {svc.flags} -- '
    # The bad release's pod: Running and Ready with its image, not whichever pod is listed first.
    assert "--field-selector=status.phase=Running" in section(page, "Before You Start")
    assert ".items[0]" not in section(page, "Before You Start")
    assert "**before** you roll the application back" in page
    assert "The application is already rolled back" not in page
    for command in MIGRATION_COMMANDS[tool]:
        assert in_pod in page and command in page, f"missing: {command}"
    assert "can lose data" in page and "!!! danger" in page
    if tool in MIGRATION_LIMITS:
        assert MIGRATION_LIMITS[tool] in section(page, "Limits")
    if tool == "prisma":
        assert "migrate resolve --rolled-back" in section(page, "Limits")
        assert in_pod + "npx prisma migrate resolve" not in page
        # Prisma 7 removed db execute --schema/--url; a plain npx may download another Prisma.
        assert "--schema" not in page and "migrate diff" in page
        assert not re.search(r"npx prisma", page), "npx without --no-install"


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_database_page_copies_a_pod_with_the_bad_image(render_combo, combo: str) -> None:
    """When the bad pods are gone: a one-off pod of its image with a sleep, never restarted, and
    never the migration as the command of a pod that restarts; a copy of a pod (kubectl debug)
    only where no ReadWriteOnce volume of a StatefulSet pins it; removed afterwards."""
    answers = COMBINATIONS_BY_ID[combo]
    page = section(
        runbook(render_combo(combo), "database.md"), "When the Bad Release's Pods Are Gone"
    )
    assert '--arg image "${BAD_IMAGE:?}"' in page and 'command: ["sleep", "3600"]' in page
    assert 'restartPolicy: "Never"' in page and "| kubectl create -n production" in page
    stateful = answers["workload"] == "statefulset" or answers.get("chart_workload", "").startswith(
        "statefulset"
    )
    assert ("--copy-to=payments-api-db-rollback" in page) is not stateful
    if not stateful:
        assert '--set-image="${CONTAINER:?}=${BAD_IMAGE:?}"' in page and "-- sleep 3600" in page
        assert "--keep-init-containers=false" in page
    assert "kubectl delete pod payments-api-db-rollback" in page


@pytest.mark.parametrize("combo", COMBOS)
def test_no_page_mentions_a_tool_the_service_does_not_use(render_combo, combo: str) -> None:
    answers = COMBINATIONS_BY_ID[combo]
    used = {answers["workload"], answers["gitops"]}
    tool = answers["migration_tool"]
    for page, text in service_pages(render_combo, combo).items():
        for name, word in TOOL_WORDS.items():
            if name not in used:
                assert not word.search(text), f"{name} mentioned in {page}"
        for name, word in MIGRATION_WORDS.items():
            if name != tool:
                assert not re.search(word, text, re.IGNORECASE), f"{name} in {page}"
        if tool == "none":
            assert "migration" not in text.lower(), f"migrations in {page}"
            assert "database.md" not in text, f"a database link in {page}"
        if "pagerduty_service_id" not in answers:
            assert "pagerduty" not in text.lower(), f"PagerDuty in {page}"


@pytest.mark.parametrize("combo", COMBOS)
def test_pages_are_clean_and_their_shell_blocks_parse(render_combo, combo: str) -> None:
    for page, text in service_pages(render_combo, combo).items():
        assert not LEFTOVER_TEMPLATE.search(text), page
        assert not GARBLED.search(text), page
        assert set(fence_languages(text)) <= {"bash", "text"}, f"{page}: untyped code block"
        assert "rollouts history" not in text, "Argo Rollouts has no history command"
        for block in fenced_blocks(text, "bash"):
            for line in block.splitlines():
                if WAITS.search(line) and "--dry-run" not in line:
                    assert "--timeout" in line, f"an unbounded wait in {page}: {line}"
            result = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
            assert result.returncode == 0, f"{page}: {result.stderr}\n{block}"


@pytest.mark.parametrize("combo", COMBOS)
def test_pages_link_to_each_other_with_relative_links(render_combo, combo: str) -> None:
    service = render_combo(combo)
    pages = pages_of(service)
    for page, text in pages.items():
        for target in links(text):
            assert not target.startswith("/"), f"{page}: absolute link {target}"
            if not target.startswith(("http://", "https://", "#")):
                path = target.split("#", 1)[0]
                assert (service / "docs" / page).parent.joinpath(path).is_file(), target
    assert "verification.md" in links(pages["runbooks/rollback.md"])
    assert "verification.md" in links(pages["runbooks/deploy.md"])
    assert "on-call.md#escalation-path" in links(pages["runbooks/incident-response.md"])
    assert "rollback.md" in links(pages["runbooks/incident-response.md"])
    index_links = links(pages["index.md"])
    for page in (p for p in pages if p.startswith("runbooks/")):
        assert page in index_links, f"the index does not list {page}"


@pytest.mark.parametrize("combo", COMBOS)
def test_index_card_shows_only_the_answers_given(render_combo, combo: str) -> None:
    answers = COMBINATIONS_BY_ID[combo]
    index = (render_combo(combo) / "docs" / "index.md").read_text(encoding="utf-8")
    # The card comes after the emergency box (issue 25): up to the list of runbooks.
    card = index.split("| Service card |", 1)[1].split("\n## ", 1)[0]
    dashboard, repo = OPTIONAL_ANSWERS["dashboard_url"], OPTIONAL_ANSWERS["github_repo"]
    rows = {
        "system": "| System | `payments` |",
        "pagerduty_service_id": "| On-call | PagerDuty service `PABC123` |",
        "github_repo": f"| Repository | [{repo}](<https://github.com/{repo}>) |",
        "dashboard_url": f"| Dashboard | [Open the dashboard](<{dashboard}>) |",
    }
    for field, row in rows.items():
        assert (row in card) == (field in answers), field
    for row in ("| Owner | `team-payments` |", "| Incident channel | \\#incidents |"):
        assert row in card
    assert '!!! danger "In an emergency"' in index
    assert "Payments API\\: takes card payments and refunds." in index  # ":" escaped


def test_readme_lists_the_rendered_pages(render_combo) -> None:
    readme = (ROOT / "docs" / "what-you-get.md").read_text(encoding="utf-8")
    listed = re.findall(r"^  (docs/\S+\.md)", readme, flags=re.MULTILINE)
    combo = next(c for c, a in COMBINATIONS_BY_ID.items() if a["migration_tool"] != "none")
    assert sorted(listed) == sorted(f"docs/{page}" for page in pages_of(render_combo(combo)))
