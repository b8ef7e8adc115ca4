"""The fleet CLI against hostile trees and odd input (issue 11): nothing is written outside the
output, nothing a person wrote is lost, nothing crashes."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_helpers import (
    cli_env,
    clone_template,
    copy_template,
    git,
    must_give_yaml,
    run_cli,
    snapshot,
    write_fleet,
)
from hostile_inputs import alias_bomb

SERVICES = [{"service_name": "alpha"}, {"service_name": "beta"}, {"service_name": "gamma"}]


@pytest.fixture
def rendered(template_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(fleet file, output) after one render of three services."""
    fleet = write_fleet(tmp_path / "fleet.yaml", SERVICES, {"owner": "team-a"})
    run_cli(template_repo, "render", fleet, "--output", tmp_path / "out")
    return fleet, tmp_path / "out"


# Item 3 (and the "done when" list): an output tree holding links.
def test_links_in_the_output_are_never_followed(
    template_repo: Path, rendered: tuple[Path, Path], tmp_path: Path
) -> None:
    fleet, out = rendered
    outside = tmp_path / "outside"
    (outside / "docs").mkdir(parents=True)
    (outside / "docs" / "index.md").write_text("someone else's page\n")
    (outside / "secret.txt").write_text("not for the site\n")
    (outside / "service").mkdir()
    (outside / "service" / "keep.txt").write_text("keep me\n")
    # alpha: docs/ links elsewhere; beta: the whole folder is a link; gamma: a file links out.
    os.rename(out / "alpha" / "docs", tmp_path / "alpha-docs")
    (out / "alpha" / "docs").symlink_to(outside / "docs")
    os.rename(out / "beta", tmp_path / "beta-folder")
    (out / "beta").symlink_to(outside / "service")
    (out / "gamma" / "docs" / "index.md").unlink()
    (out / "gamma" / "docs" / "index.md").symlink_to(outside / "secret.txt")
    before = snapshot(outside)
    write_fleet(fleet, SERVICES, {"owner": "team-b"})  # every service needs rendering

    for command in ("render", "update"):
        result = run_cli(template_repo, command, fleet, "--output", out, check=1)
        for name, link in [("alpha", "docs"), ("beta", "beta"), ("gamma", "docs/index.md")]:
            assert f"refused  {name}: holds symbolic links" in result.stdout
            assert f"{link} -> " in result.stdout
        assert snapshot(outside) == before, f"{command} changed files outside the output"
    checked = run_cli(template_repo, "check", fleet, "--output", out, check=1)
    assert checked.stdout.count("holds symbolic links") == 3
    assert "deleted" not in checked.stdout  # it does not look through the links either
    built = run_cli(template_repo, "build", out, "--site", tmp_path / "site", check=1)
    assert built.stdout.count("holds symbolic links") == 3
    assert not any((tmp_path / "site").rglob("secret*"))
    assert "not for the site" not in "".join(
        p.read_text(errors="replace") for p in (tmp_path / "site").rglob("*.html")
    )
    assert snapshot(outside) == before


def test_without_links_the_same_render_goes_through(
    template_repo: Path, rendered: tuple[Path, Path]
) -> None:
    """Negative control for the test above."""
    fleet, out = rendered
    write_fleet(fleet, SERVICES, {"owner": "team-b"})
    result = run_cli(template_repo, "render", fleet, "--output", out)
    assert "3 rendered (0 new, 3 updated, 0 merged)" in result.stdout


# Item 5: cruft's skip list and the user's keys in .cruft.json survive renders.
def test_cruft_skip_is_honoured_and_hand_added_keys_are_kept(
    template_repo: Path, rendered: tuple[Path, Path]
) -> None:
    fleet, out = rendered
    state_file = out / "alpha" / ".cruft.json"
    state = json.loads(state_file.read_text())
    state["skip"] = ["docs/runbooks/on-call.md", "scripts/*.sh"]
    state["team_note"] = "kept by hand"
    state_file.write_text(json.dumps(state, indent=2))
    on_call = out / "alpha" / "docs" / "runbooks" / "on-call.md"
    on_call.write_text("our own on-call page\n")
    script = next((out / "alpha" / "scripts").glob("*.sh"))
    script_before = script.read_bytes()
    write_fleet(fleet, SERVICES, {"owner": "team-b", "incident_channel": "#other"})

    for command in ("render", "update"):
        result = run_cli(template_repo, command, fleet, "--output", out)
        assert "refused  alpha" not in result.stdout
        after = json.loads(state_file.read_text())
        assert after["skip"] == ["docs/runbooks/on-call.md", "scripts/*.sh"]
        assert after["team_note"] == "kept by hand"
        assert on_call.read_text() == "our own on-call page\n"
        assert script.read_bytes() == script_before
        write_fleet(fleet, SERVICES, {"owner": "team-c", "incident_channel": "#third"})
    assert "team-c" in (out / "alpha" / "catalog-info.yaml").read_text()  # others updated
    checked = run_cli(template_repo, "check", fleet, "--output", out)
    assert "alpha" not in checked.stdout.replace("3 services", "")


# Item 6: a merge that keeps a hand-made file where the template adds one says so.
def test_a_merge_that_drops_the_templates_new_file_needs_a_hand(tmp_path: Path) -> None:
    template = clone_template(copy_template(tmp_path / "origin"), tmp_path / "template")
    fleet = write_fleet(tmp_path / "fleet.yaml", [{"service_name": "alpha"}])
    out = tmp_path / "out"
    run_cli(template, "render", fleet, "--output", out)
    (out / "alpha" / "NOTES.md").write_text("our notes\n")
    (template / "{{cookiecutter.service_name}}" / "NOTES.md").write_text("template notes\n")
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "template adds NOTES.md")

    result = run_cli(template, "update", fleet, "--output", out, check=1)
    assert "merged  alpha" not in result.stdout
    assert "NOTES.md (the template's version was not merged in)" in result.stdout
    assert (out / "alpha" / "NOTES.md").read_text() == "our notes\n"  # ours is kept


# Item 9: odd catalog files and links.
def test_an_odd_catalog_gives_a_bare_card_and_only_http_links_are_links(
    template_repo: Path, rendered: tuple[Path, Path], tmp_path: Path
) -> None:
    _, out = rendered
    (out / "alpha" / "catalog-info.yaml").write_text("metadata: [1, 2]\nspec: 5\n")
    (out / "beta" / "catalog-info.yaml").write_text(
        "metadata:\n  name: beta\n  links:\n"
        "    - {url: 'javascript:alert(1)', title: Evil}\n"
        "    - {url: ' JavaScript:alert(2)'}\n"
        "    - {url: 'data:text/html,<script>x</script>'}\n"
        "    - {url: 'https://grafana.example.com/d/beta', title: Dashboard}\n"
        "    - 7\n"
    )
    site = tmp_path / "site"
    result = run_cli(template_repo, "build", out, "--site", site)
    assert "warning: alpha: catalog-info.yaml: metadata is not a mapping" in result.stdout
    assert "3 sites: 3 built" in result.stdout
    index = (site / "index.html").read_text()
    hrefs = [h for h in index.split('href="')[1:]]
    targets = [h.split('"')[0] for h in hrefs]
    assert "https://grafana.example.com/d/beta" in targets
    assert not [t for t in targets if not t.startswith("https://") and not t.endswith("/")]
    assert "javascript:alert(1)" in index  # shown as text


# Item 10: retired services.
def test_retired_services_are_reported_not_published_and_pruned_on_request(
    template_repo: Path, rendered: tuple[Path, Path], tmp_path: Path
) -> None:
    fleet, out = rendered
    site = tmp_path / "site"
    run_cli(template_repo, "build", out, "--site", site)
    assert (site / "gamma" / "index.html").is_file()
    write_fleet(fleet, SERVICES[:2], {"owner": "team-a"})

    result = run_cli(template_repo, "render", fleet, "--output", out)
    assert "retired: 1 rendered service(s)" in result.stdout and "gamma" in result.stdout
    checked = run_cli(template_repo, "check", fleet, "--output", out, check=1)
    assert "retired  gamma: no longer in the fleet file" in checked.stdout
    built = run_cli(template_repo, "build", out, "--site", site)
    assert "not published: gamma (retired" in built.stdout
    assert not (site / "gamma").exists() and "gamma" not in (site / "index.html").read_text()

    (out / "beta" / "docs" / "index.md").write_text("edited\n")
    write_fleet(fleet, SERVICES[:1], {"owner": "team-a"})
    pruned = run_cli(template_repo, "render", fleet, "--output", out, "--prune", check=1)
    assert "pruned: removed the folders of gamma" in pruned.stdout
    assert "not pruned: changed here since rendered: docs/index.md (edited)" in pruned.stdout
    assert not (out / "gamma").exists() and (out / "beta" / "docs" / "index.md").is_file()


# Item 12: options naming a folder that is a file; an alias bomb through the CLI (item 2).
@pytest.mark.parametrize("command", ["render", "update", "check", "build"])
def test_a_folder_option_that_is_a_file_is_refused_naming_it(
    template_repo: Path, rendered: tuple[Path, Path], tmp_path: Path, command: str
) -> None:
    fleet, out = rendered
    a_file = tmp_path / "a-file"
    a_file.write_text("mine\n")
    if command == "build":
        args = [command, out, "--site", a_file]
        option = "--site"
    else:
        args = [command, fleet, "--output", a_file]
        option = "--output"
    result = run_cli(template_repo, *args, check=2)
    assert f"ERROR: {option}: {a_file} is not a folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert a_file.read_text() == "mine\n"


def _limit_memory() -> None:
    # 2 GiB of address space: a run that expands the bomb fails fast instead of exhausting RAM.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_an_alias_bomb_in_the_fleet_file_is_refused_by_the_cli(
    template_repo: Path, tmp_path: Path
) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        f"services:\n  - service_name: a\n    description: {alias_bomb()}\n" + must_give_yaml()
    )
    result = subprocess.run(
        [sys.executable, "-m", "service_runbooks", "check", str(fleet), "-o", str(tmp_path)],
        env=cli_env(template_repo),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_memory,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "description: is a list; this answer must be a string" in result.stderr
    assert len(result.stderr) < 2000
