"""``service-runbooks render``, ``update`` and ``check``: the real CLI, on a committed copy of
the template."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_helpers import (
    METADATA,
    REVIEWED,
    cli_env,
    clone_template,
    git,
    run_cli,
    snapshot,
    write_fleet,
)
from tools import tool

PAYLOAD = "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}"
SERVICES = [
    {
        "service_name": "payments-api",
        "description": 'Takes payments: cards, "refunds" & #tags\nsecond line 💳',
        "workload": "deployment",
        "migration_tool": "django",
        "github_repo": "acme/payments-api",
    },
    {
        "service_name": "orders",
        "workload": "helm",
        "migration_tool": "alembic",
        "gitops": "argocd",
        "lifecycle": "experimental",
    },
    {"service_name": "search", "workload": "statefulset", "migration_tool": "none"},
]
DEFAULTS = {"owner": "team-platform", "incident_channel": "#incidents", **REVIEWED}


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    return write_fleet(tmp_path / "fleet.yaml", SERVICES, DEFAULTS)


def test_output_is_what_the_cookiecutter_cli_renders(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    result = run_cli(template_repo, "render", fleet, "--output", tmp_path / "out")
    assert "3 services: 3 rendered (3 new" in result.stdout
    for service in SERVICES[:2]:
        answers = {**DEFAULTS, **service}
        subprocess.run(
            [tool("cookiecutter"), "--no-input", "--default-config", "-o", tmp_path / "cli"]
            + [template_repo]
            + [f"{k}={v}" for k, v in answers.items()],
            check=True,
            capture_output=True,
        )
        name = service["service_name"]
        ours = snapshot(tmp_path / "out" / name, ignore=METADATA)
        assert ours == snapshot(tmp_path / "cli" / name)
        assert "scripts/rollback.sh" in ours and ours["scripts/rollback.sh"][1]  # executable


def test_hooks_in_process_render_what_hook_subprocesses_render(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    run_cli(template_repo, "render", fleet, "--output", tmp_path / "fast")
    run_cli(template_repo, "render", fleet, "--output", tmp_path / "slow", "--hooks-subprocess")
    assert snapshot(tmp_path / "fast") == snapshot(tmp_path / "slow")


@pytest.mark.parametrize("field", ["description", "owner", "gitops"])
def test_template_injection_is_refused_before_cookiecutter_sees_it(
    template_repo: Path, tmp_path: Path, field: str
) -> None:
    fleet = write_fleet(
        tmp_path / "fleet.yaml",
        [{"service_name": "fine"}, {"service_name": "evil", field: PAYLOAD}],
    )
    result = run_cli(
        template_repo, "render", fleet, "--output", tmp_path / "out", cwd=tmp_path, check=2
    )
    assert f"services[1] 'evil' (line 5): {field}:" in result.stderr  # the key's line
    assert "Jinja delimiters" in result.stderr
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.rglob("MARKER")) and not list(template_repo.rglob("MARKER"))


def test_a_fleet_with_bad_entries_writes_nothing_and_names_each(
    template_repo: Path, tmp_path: Path
) -> None:
    long_name = "a" * 60  # a valid service name whose default helm_release is too long for helm
    fleet = write_fleet(
        tmp_path / "fleet.yaml",
        [
            {"service_name": "good"},
            {"service_name": "Bad Name"},
            {
                "service_name": "ok",
                "owner": "team a",
                "health_check": "url",
                "health_url": "ftp://x",
            },
            {"service_name": long_name},
            {"service_name": "typo", "namespce": "prod"},
        ],
    )
    result = run_cli(template_repo, "render", fleet, "--output", tmp_path / "out", check=2)
    assert "nothing was rendered" in result.stderr
    # Each entry's lines include the workload's name that write_fleet gives it.
    for where, field in [
        # Each problem names the line of its own key.
        ("services[1] 'Bad Name' (line 4)", "service_name"),
        ("services[2] 'ok' (line 7)", "owner"),
        ("services[2] 'ok' (line 9)", "health_url"),
        ("services[4] 'typo' (line 14)", "namespce"),
    ]:
        assert f"{where}: {field}:" in result.stderr
    assert "did you mean 'namespace'" in result.stderr
    assert "services[0]" not in result.stderr
    # Rendered answers are checked too, before anything is written: this one failed on its
    # first four entries' problems, so render it alone to see the default's problem (with the
    # helm workload: only there is the Helm release used, and checked).
    write_fleet(
        tmp_path / "long.yaml",
        [{"service_name": "good"}, {"service_name": long_name, "workload": "helm"}],
    )
    result = run_cli(
        template_repo, "render", tmp_path / "long.yaml", "-o", tmp_path / "out", check=2
    )
    assert f"services[1] '{long_name}' (line 4): helm_release:" in result.stderr
    assert "cookiecutter.json default" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_unchanged_rerun_touches_nothing(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_cli(template_repo, "render", fleet, "--output", out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    result = run_cli(template_repo, "render", fleet, "--output", out)
    assert "3 services: 0 rendered (0 new, 0 updated, 0 merged), 3 unchanged, 0 refused" in (
        result.stdout
    )
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    shutil.rmtree(out / "orders")  # the quick "nothing changed" record must notice this
    result = run_cli(template_repo, "render", fleet, "--output", out)
    assert "1 rendered (1 new, 0 updated, 0 merged), 2 unchanged" in result.stdout
    assert snapshot(out / "orders")


def _edit(service: Path) -> tuple[Path, str]:
    page = service / "docs" / "runbooks" / "rollback.md"
    edited = page.read_text(encoding="utf-8") + "\nTeam note: page Alice before any rollback.\n"
    page.write_text(edited, encoding="utf-8")
    return page, edited


def test_an_edited_file_is_refused_then_merged_by_update(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_cli(template_repo, "render", fleet, "--output", out)
    page, edited = _edit(out / "orders")
    write_fleet(fleet, SERVICES, {**DEFAULTS, "incident_channel": "#inc-platform"})

    refused = run_cli(template_repo, "render", fleet, "--output", out, check=1)
    assert "refused  orders:" in refused.stdout
    assert "docs/runbooks/rollback.md (edited since rendered)" in refused.stdout
    assert "2 rendered (0 new, 2 updated, 0 merged), 0 unchanged, 1 refused" in refused.stdout
    assert page.read_text(encoding="utf-8") == edited  # nothing of it was touched
    assert "#inc-platform" in (out / "search" / "docs" / "runbooks" / "rollback.md").read_text()

    checked = run_cli(template_repo, "check", fleet, "--output", out, check=1)
    assert "behind  orders: its answers changed in the fleet file (incident_channel)" in (
        checked.stdout
    )
    assert "drifted  orders" in checked.stdout and "rollback.md (edited)" in checked.stdout

    merged = run_cli(template_repo, "update", fleet, "--output", out)
    assert "merged  orders" in merged.stdout
    text = page.read_text(encoding="utf-8")
    assert "Team note: page Alice before any rollback." in text
    assert "#inc-platform" in text and "#incidents" not in text
    cruft_state = json.loads((out / "orders" / ".cruft.json").read_text())
    assert cruft_state["context"]["cookiecutter"]["incident_channel"] == "#inc-platform"

    checked = run_cli(template_repo, "check", fleet, "--output", out, check=1)
    assert "behind  orders" not in checked.stdout  # up to date; the edit is still drift
    assert "3 services: 2 up to date, 0 behind, 1 drifted" in checked.stdout


def _change_template(template: Path) -> str:
    page = template / "{{cookiecutter.service_name}}" / "docs" / "runbooks" / "rollback.md"
    text = page.read_text(encoding="utf-8")
    page.write_text("<!-- Reviewed by the platform team. -->\n" + text, encoding="utf-8")
    git(template, "commit", "-q", "-am", "rollback page: review note")
    return git(template, "rev-parse", "HEAD").strip()


def test_cruft_check_passes_and_template_changes_merge_into_edits(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    template = clone_template(template_repo, tmp_path / "template")
    out = tmp_path / "out"
    run_cli(template, "render", fleet, "--output", out)
    cruft = tool("cruft")
    subprocess.run([cruft, "check"], cwd=out / "orders", check=True, capture_output=True)
    page, _ = _edit(out / "orders")

    commit = _change_template(template)
    behind = subprocess.run([cruft, "check"], cwd=out / "search", capture_output=True)
    assert behind.returncode == 1
    checked = run_cli(template, "check", fleet, "--output", out, check=1)
    assert "behind  search: the template changed since it was rendered" in checked.stdout

    refused = run_cli(template, "render", fleet, "--output", out, check=1)
    assert "refused  orders:" in refused.stdout
    merged = run_cli(template, "update", fleet, "--output", out)
    assert "merged  orders" in merged.stdout
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!-- Reviewed by the platform team. -->\n")
    assert text.endswith("Team note: page Alice before any rollback.\n")
    for name in ("orders", "search"):
        assert json.loads((out / name / ".cruft.json").read_text())["commit"] == commit
        subprocess.run([cruft, "check"], cwd=out / name, check=True, capture_output=True)


def test_a_new_commit_with_the_same_files_only_restamps(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    template = clone_template(template_repo, tmp_path / "template")
    out = tmp_path / "out"
    run_cli(template, "render", fleet, "--output", out)
    (template / "NOTES.md").write_text("not part of what a service gets\n")
    git(template, "add", "NOTES.md")
    git(template, "commit", "-q", "-m", "notes")
    assert subprocess.run([tool("cruft"), "check"], cwd=out / "orders").returncode == 1
    before = (out / "orders" / "docs" / "index.md").stat().st_mtime_ns
    result = run_cli(template, "render", fleet, "--output", out)
    assert "0 rendered (0 new, 0 updated, 0 merged), 3 unchanged" in result.stdout
    assert (out / "orders" / "docs" / "index.md").stat().st_mtime_ns == before
    subprocess.run([tool("cruft"), "check"], cwd=out / "orders", check=True, capture_output=True)


def test_plain_cruft_update_works_on_a_rendered_service(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    template = clone_template(template_repo, tmp_path / "template")
    out = tmp_path / "out"
    run_cli(template, "render", fleet, "--output", out)
    _change_template(template)
    subprocess.run(
        [tool("cruft"), "update", "-y", "--allow-untracked-files"],
        cwd=out / "search",
        check=True,
        capture_output=True,
    )
    page = out / "search" / "docs" / "runbooks" / "rollback.md"
    assert page.read_text().startswith("<!-- Reviewed by the platform team. -->\n")


KILLER = """
import os, signal, sys
from service_runbooks.cli import main

limit, seen = int(os.environ["KILL_AFTER"]), [0]

def killing(real):
    def rename(*args, **kwargs):
        real(*args, **kwargs)
        seen[0] += 1
        if seen[0] >= limit:
            os.killpg(0, signal.SIGKILL)  # the whole run, workers included, no clean-up
    return rename

os.rename, os.replace = killing(os.rename), killing(os.replace)
sys.exit(main(sys.argv[1:]))
"""


def _killed_run(template: Path, kill_after: int, *args: str | Path) -> None:
    env = {**cli_env(template), "KILL_AFTER": str(kill_after)}
    process = subprocess.run(
        [sys.executable, "-c", KILLER, *map(str, args)],
        env=env,
        capture_output=True,
        start_new_session=True,
        timeout=300,
    )
    assert process.returncode == -9, process.stderr


@pytest.mark.parametrize(
    ("scenario", "kill_after"),
    [("new services", 2), ("updated services", 3)],
)
def test_a_killed_run_is_completed_by_the_next_one(
    template_repo: Path, tmp_path: Path, scenario: str, kill_after: int
) -> None:
    fleet = write_fleet(tmp_path / "fleet.yaml", SERVICES, DEFAULTS)
    changed = {**DEFAULTS, "incident_channel": "#inc-platform", "owner": "team-sre"}
    runs = {}
    for name in ("reference", "killed"):
        out = tmp_path / name
        if scenario == "updated services":
            run_cli(template_repo, "render", fleet, "--output", out, "--jobs", "1")
            write_fleet(fleet, SERVICES, changed)
        if name == "killed":
            _killed_run(template_repo, kill_after, "render", fleet, "--output", out, "--jobs", "1")
            half = snapshot(out)
            assert half and half != runs["reference"]  # it really stopped midway
        run_cli(template_repo, "render", fleet, "--output", out, "--jobs", "1")
        runs[name] = snapshot(out)
        write_fleet(fleet, SERVICES, DEFAULTS)
    assert runs["killed"] == runs["reference"]
    assert not (tmp_path / "killed" / ".service-runbooks-staging").exists()


def test_check_lists_services_not_rendered_yet(
    template_repo: Path, fleet: Path, tmp_path: Path
) -> None:
    result = run_cli(template_repo, "check", fleet, "--output", tmp_path / "out", check=1)
    assert "behind  payments-api: not rendered yet" in result.stdout
    assert "3 services: 0 up to date, 3 behind, 0 drifted" in result.stdout
    assert not os.path.exists(tmp_path / "out")
