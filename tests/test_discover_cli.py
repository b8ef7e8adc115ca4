"""``service-runbooks discover``: the command over the discovery library, as a user runs it.

The library's derivations are tests/test_discovery.py's; here: where the fleet file goes, what
standard error says, the exit statuses, never writing over a file, and that a discovered fleet
renders once the answers it lists are given, keeping its ``sources:`` with each service.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fleet_helpers import run_cli
from matrix import ROOT

from service_runbooks.fleetfile import check_fleet, parse

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
MANIFEST = ".service-runbooks.json"


def copy_fixture(name: str, destination: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, destination))


def test_the_fleet_file_goes_to_stdout_and_what_is_not_derived_to_stderr() -> None:
    result = run_cli(ROOT, "discover", "kustomize", cwd=FIXTURES)
    data, lines = parse(result.stdout)
    names = [entry["service_name"] for entry in data["services"]]
    assert names == ["prod-frontend", "staging-frontend"]
    prod = data["services"][0]
    assert prod["namespace"] == "shop-prod"
    # Paths relative to the current folder, as the fleet file on stdout is read from it.
    assert (
        prod["sources"]["namespace"]
        == "kustomize/deploy/overlays/prod/kustomization.yaml: namespace"
    )
    assert "Discovered 2 service(s)" in result.stderr
    assert "prod-frontend: owner: no owner in the sources" in result.stderr
    # What render requires and no manifest holds is listed, and render would refuse it.
    assert "reviewed_on (every entry): the day a person last reviewed" in result.stderr
    assert "gitops (every entry): no Argo CD Application" in result.stderr
    assert "#   reviewed_on (every entry)" in result.stdout and "# defaults:" in result.stdout
    _, problems = check_fleet(data, lines)
    assert {p.field for p in problems} == {"gitops", "reviewed_on"}
    assert "Traceback" not in result.stderr


def fill_in(fleet: Path, answers: dict[str, str]) -> None:
    """Uncomment the fleet file's ``defaults:`` block with ``answers``, as a person does."""
    text = fleet.read_text(encoding="utf-8")
    block = "defaults:\n" + "".join(f'  {k}: "{v}"\n' for k, v in answers.items())
    fleet.write_text(text.replace("services:\n", block + "services:\n", 1), encoding="utf-8")


def test_output_writes_sources_relative_to_the_fleet_file_and_renders_once_filled_in(
    tmp_path: Path,
) -> None:
    repo = copy_fixture("statefulset", tmp_path / "repo")
    fleet = repo / "fleet.yaml"
    result = run_cli(ROOT, "discover", "repo", "--output", fleet, cwd=tmp_path)
    assert result.stdout == ""
    assert f"Discovered 2 service(s) into {fleet}" in result.stderr
    entries = parse(fleet.read_text(encoding="utf-8"))[0]["services"]
    assert (
        entries[0]["sources"]["namespace"]
        == "k8s/ledger.yaml: StatefulSet/ledger metadata.namespace"
    )
    # As written, render refuses it: gitops (deciding, not derived here) and reviewed_on
    # (which discovery never sets), each said once for all; nothing is rendered.
    refused = run_cli(ROOT, "render", fleet, "--output", tmp_path / "out", check=2)
    assert ": gitops: no entry gives it" in refused.stderr
    assert ": reviewed_on: no entry gives it" in refused.stderr
    assert "  - defaults" in refused.stderr and "services[" not in refused.stderr
    assert not (tmp_path / "out").exists()
    fill_in(fleet, {"gitops": "none", "reviewed_on": "2026-12-01"})
    run_cli(ROOT, "render", fleet, "--output", tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "ledger" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["sources"] == entries[0]["sources"]
    assert "sources" not in manifest["answers"]
    cruft = json.loads((tmp_path / "out" / "ledger" / ".cruft.json").read_text(encoding="utf-8"))
    assert "sources" not in cruft["context"]["cookiecutter"]


def test_a_changed_source_is_recorded_without_rendering_again(tmp_path: Path) -> None:
    """Where an answer was read changes no rendered file: render records it in the manifest
    (check says so until then) and renders nothing. Negative control: a changed answer
    renders again."""
    repo = copy_fixture("statefulset", tmp_path / "repo")
    fleet = repo / "fleet.yaml"
    run_cli(ROOT, "discover", "repo", "--output", fleet, cwd=tmp_path)
    fill_in(fleet, {"gitops": "none", "reviewed_on": "2026-12-01"})
    out = tmp_path / "out"
    run_cli(ROOT, "render", fleet, "--output", out)
    page = out / "ledger" / "docs" / "index.md"
    before = page.stat().st_mtime_ns
    text = fleet.read_text(encoding="utf-8")
    moved = text.replace(
        '"k8s/ledger.yaml: StatefulSet/ledger metadata.namespace"', '"moved.yaml: x"'
    )
    assert moved != text
    fleet.write_text(moved, encoding="utf-8")
    checked = run_cli(ROOT, "check", fleet, "--output", out, check=1)
    assert "ledger: its sources: changed in the fleet file" in checked.stdout
    rendered = run_cli(ROOT, "render", fleet, "--output", out)
    assert "0 rendered (0 new, 0 updated, 0 merged), 2 unchanged" in rendered.stdout
    manifest = json.loads((out / "ledger" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["sources"]["namespace"] == "moved.yaml: x"
    assert page.stat().st_mtime_ns == before
    run_cli(ROOT, "check", fleet, "--output", out)  # up to date again
    fleet.write_text(moved.replace('namespace: "payments"', 'namespace: "ledger"', 1), "utf-8")
    again = run_cli(ROOT, "render", fleet, "--output", out)
    assert "1 rendered (0 new, 1 updated" in again.stdout


def test_output_never_writes_over_a_file_unless_forced(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("# mine\n", encoding="utf-8")
    result = run_cli(ROOT, "discover", FIXTURES / "plain", "--output", fleet, check=2)
    assert "--output:" in result.stderr and "already exists" in result.stderr
    assert fleet.read_text(encoding="utf-8") == "# mine\n"
    # Negative control: --force replaces it.
    run_cli(ROOT, "discover", FIXTURES / "plain", "--output", fleet, "--force")
    assert 'service_name: "carts-db"' in fleet.read_text(encoding="utf-8")
    alone = run_cli(ROOT, "discover", FIXTURES / "plain", "--force", check=2)
    assert "--force: only with --output" in alone.stderr


def test_a_source_that_cannot_be_read_is_one_message_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    fleet = tmp_path / "fleet.yaml"
    bad = tmp_path / "broken.yaml"
    bad.write_text("kind: Deployment\nmetadata: {name: [unclosed\n", encoding="utf-8")
    for source in (tmp_path / "nowhere", bad):
        result = run_cli(ROOT, "discover", FIXTURES / "plain", source, "--output", fleet, check=2)
        assert result.stderr.startswith("ERROR: 1 source(s) cannot be read; nothing was discovered")
        assert source.name in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert not fleet.exists()


def test_sources_without_a_workload_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    result = run_cli(ROOT, "discover", FIXTURES / "migrations", "--output", fleet, check=2)
    assert "no Deployment, StatefulSet or Argo Rollouts Rollout found" in result.stderr
    assert "nothing was written" in result.stderr and not fleet.exists()


def test_files_mode_needs_a_source_and_the_cluster_options_need_cluster() -> None:
    """One `discover` for files and for a cluster: each mode's options are refused in the other,
    by name, before anything is read."""
    bare = run_cli(ROOT, "discover", check=2)
    assert "SOURCE: give at least one folder or file to read (or --cluster)" in bare.stderr
    mixed = run_cli(ROOT, "discover", FIXTURES / "plain", "--context", "prod", check=2)
    assert "--context: only with --cluster" in mixed.stderr
    assert "Traceback" not in bare.stderr + mixed.stderr and mixed.stdout == ""
    # Negative control: the same source without the cluster option is read.
    assert 'service_name: "carts-db"' in run_cli(ROOT, "discover", FIXTURES / "plain").stdout
