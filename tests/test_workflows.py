"""GitHub Actions workflows: the fleet's (``service-runbooks workflow``) and every service's
(``techdocs.yml``, ``alerts.yml``) pass GitHub's workflow schema, as check-jsonschema ships it
(``--builtin-schema vendor.github-workflows``, SchemaStore's schema; it needs no network), and
the fleet workflow's own commands render, build, publish and index a fleet when run."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleet_helpers import cli_env, copy_template, run_cli, write_fleet
from github_workflow import schema_check
from matrix import COMBINATIONS

WORKFLOW = Path(".github/workflows/runbooks.yml")
LIGHT = {"alerting": False, "migration_tool": "none"}
SERVICES = [
    {"service_name": "orders", **LIGHT},
    {"service_name": "billing", "description": 'Bills: "quoted" & <b>', **LIGHT},
    {"service_name": "catalog", "workload": "helm", **LIGHT},
    {"service_name": "payments-api", "workload": "statefulset", **LIGHT},  # shard 1 of 2
]
VARS = {  # the Actions variables a repository sets (Azure: the publisher with an extra flag)
    "TECHDOCS_PUBLISHER_TYPE": "azureBlobStorage",
    "TECHDOCS_STORAGE_NAME": "techdocs",
    "TECHDOCS_AZURE_ACCOUNT_NAME": "acmedocs",
    "TECHDOCS_AZURE_CLIENT_ID": "client",
    "TECHDOCS_AZURE_TENANT_ID": "tenant",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_template(tmp_path_factory.mktemp("workflow-template"))


def generate(template: Path, repo: Path, shards: int, *extra: str) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    write_fleet(repo / "fleet.yaml", SERVICES)
    run_cli(
        template, "workflow", "fleet.yaml", "--shards", str(shards),
        "--template-repo", "acme/service-runbooks", *extra, cwd=repo,
    )  # fmt: skip
    return repo / WORKFLOW


@pytest.mark.parametrize("shards", [1, 3, 8, 256])
def test_the_fleet_workflow_passes_the_schema(template: Path, tmp_path: Path, shards: int) -> None:
    path = generate(template, tmp_path / "repo", shards)
    result = schema_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    job = workflow["jobs"]["shards"]
    assert job["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))
    assert job["env"]["SHARD"] == f"${{{{ matrix.shard }}}}/{shards}"
    index = next(
        s
        for s in workflow["jobs"]["index"]["steps"]
        if "service-runbooks index" in s.get("run", "")
    )
    assert index["run"].count("shards/runbooks-shard-") == shards
    assert workflow["jobs"]["index"]["needs"] == "shards"
    # "Re-run failed jobs" uploads the same artifact names again in the same run.
    uploads = [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert len(uploads) == 3 and all(step["with"]["overwrite"] is True for step in uploads)


def test_the_fleet_workflow_runs_the_drift_gate_on_every_change(
    template: Path, tmp_path: Path
) -> None:
    """Sources may lie anywhere in the repository: no paths filter; each shard checks its
    services' answers against their sources before building, its builds kept in the cache."""
    workflow = yaml.safe_load(generate(template, tmp_path / "repo", 2).read_text("utf-8"))
    events = {k: v for k, v in workflow["on"].items() if k != "schedule"}  # the drill job's
    assert events == {"push": {}, "pull_request": {}, "workflow_dispatch": {}}
    names = [step["name"] for step in workflow["jobs"]["shards"]["steps"]]
    gate = names.index("Check the shard's answers against their sources")
    assert (
        names.index("Render the shard's services")
        < gate
        < names.index("Build the shard's TechDocs")
    )
    step = workflow["jobs"]["shards"]["steps"][gate]
    assert step["run"] == (
        'service-runbooks check "$RUNBOOKS_FLEET" --output "$RUNBOOKS_SERVICES" '
        '--shard "$SHARD" --drift'
    )
    cache = workflow["jobs"]["shards"]["steps"][names.index("Restore the shard's source builds")]
    assert cache["with"]["path"] == "${{ env.RUNBOOKS_SERVICES }}/.service-runbooks-cache"


def actions_vars(text: str) -> set[str]:
    return set(re.findall(r"vars\.([A-Z_]+)", text))


def test_the_fleet_workflow_reads_the_variables_the_service_workflow_documents(
    template: Path, tmp_path: Path, render: Any
) -> None:
    fleet_text = generate(template, tmp_path / "repo", 2).read_text(encoding="utf-8")
    service = render({"service_name": "orders"})
    service_text = (service / ".github/workflows/techdocs.yml").read_text(encoding="utf-8")
    assert actions_vars(fleet_text) == actions_vars(service_text)
    # ... and the documented ones, as docs/usage/ci.md lists them.
    ci_page = (Path(__file__).parents[1] / "docs/usage/ci.md").read_text(encoding="utf-8")
    assert actions_vars(fleet_text) <= set(re.findall(r"`(TECHDOCS_[A-Z_]+)`", ci_page))
    fleet_job = yaml.safe_load(fleet_text)["jobs"]["shards"]
    service_job = yaml.safe_load(service_text)["jobs"]["publish"]
    assert service_job["env"].items() <= fleet_job["env"].items()
    assert fleet_job["permissions"] == service_job["permissions"]


def test_every_service_workflow_of_the_matrix_passes_the_schema(render: Any) -> None:
    files = [
        path
        for answers in COMBINATIONS
        for path in sorted((render(answers) / ".github" / "workflows").glob("*.yml"))
    ]
    assert {path.name for path in files} == {"techdocs.yml", "alerts.yml", "drill.yml"}
    assert len(files) == 3 * len(COMBINATIONS)
    result = schema_check(*files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("doctor", "message"),
    [
        (lambda w: w["jobs"]["index"].update({"runs_on": w["jobs"]["index"].pop("runs-on")}),
         "'runs-on' is a required property"),
        (lambda w: w["jobs"]["shards"].pop("runs-on"), "'runs-on' is a required property"),
        (lambda w: w.update({"job": w.pop("jobs")}), "'jobs' is a required property"),
        (lambda w: w["jobs"]["shards"]["strategy"].update({"fail_fast": False}),
         "Additional properties are not allowed"),
    ],
    ids=["misspelled-runs-on", "no-runs-on", "misspelled-jobs", "misspelled-fail-fast"],
)  # fmt: skip
def test_the_schema_check_fails_on_a_broken_workflow(
    template: Path, tmp_path: Path, doctor: Any, message: str
) -> None:
    """Negative control: the check above can fail."""
    path = generate(template, tmp_path / "repo", 3)
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    doctor(workflow)
    path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    result = schema_check(path)
    assert result.returncode == 1
    assert message in result.stdout + result.stderr


def test_bad_options_are_refused_by_name_and_write_nothing(template: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    write_fleet(repo / "fleet.yaml", SERVICES)
    repo_option = ("--template-repo", "acme/service-runbooks")
    cases = {
        ("--shards", "0", *repo_option): "--shards: must be 1 to 256",
        ("--shards", "257", *repo_option): "--shards: must be 1 to 256",
        ("--shards", "2", "--template-repo", "not a repo"): "--template-repo: must be",
        ("--shards", "2", *repo_option, "--services-dir", "../up"): "--services-dir: must be",
    }
    for args, message in cases.items():
        result = run_cli(template, "workflow", "fleet.yaml", *args, cwd=repo, check=2)
        assert message in result.stderr and "Traceback" not in result.stderr, args
    outside = tmp_path / "elsewhere.yaml"
    write_fleet(outside, SERVICES)
    result = run_cli(template, "workflow", outside, "--shards", "2", "--template-repo", "a/b",
                     cwd=repo, check=2)  # fmt: skip
    assert "FLEET:" in result.stderr and "not inside the repository" in result.stderr
    (repo / "bad.yaml").write_text("services: [{service_name: Bad Name}]\n", encoding="utf-8")
    result = run_cli(template, "workflow", "bad.yaml", "--shards", "2", "--template-repo", "a/b",
                     cwd=repo, check=2)  # fmt: skip
    assert "service_name" in result.stderr
    assert not (repo / ".github").exists()


# --- The workflow's own commands, run here as the jobs run them -------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(value: object, shard: int) -> str:
    """The few GitHub expressions the jobs' env and commands use; any other fails the test."""

    def one(match: re.Match[str]) -> str:
        expression = match[1]
        if expression == "matrix.shard":
            return str(shard)
        if expression.startswith("vars."):
            return VARS.get(expression.removeprefix("vars."), "")
        raise AssertionError(f"unexpected expression {expression!r}")

    return EXPRESSION.sub(one, str(value))


def run_step(
    workflow: dict[str, Any], job: str, name: str, cwd: Path, shard: int, extra: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """One `run` step of ``job`` with the env GitHub gives it (workflow, job, step), in bash as
    `shell: bash` runs it: bash --noprofile --norc -eo pipefail
    (https://docs.github.com/en/actions/reference/workflow-syntax-for-github-actions#jobsjob_idstepsshell)."""
    (step,) = [s for s in workflow["jobs"][job]["steps"] if s["name"] == name]
    env = {**extra}
    for scope in (
        workflow.get("env", {}),
        workflow["jobs"][job].get("env", {}),
        step.get("env", {}),
    ):
        env.update({key: evaluate(value, shard) for key, value in scope.items()})
    assert workflow["defaults"]["run"]["shell"] == "bash"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", evaluate(step["run"], shard)],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


NPX_STUB = """#!/bin/bash
# Stands in for `npx --yes @techdocs/cli@... publish ...`: records where and what it publishes.
printf '%s\\n' "$(basename "$PWD") $*" >> "$PUBLISH_LOG"
test -f site/index.html && test -f site/techdocs_metadata.json
"""


def test_the_workflows_commands_render_build_publish_and_index_the_fleet(
    template: Path, tmp_path: Path
) -> None:
    shards = 2
    repo = tmp_path / "repo"
    workflow = yaml.safe_load(generate(template, repo, shards).read_text(encoding="utf-8"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli = bin_dir / "service-runbooks"
    cli.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m service_runbooks "$@"\n')
    (bin_dir / "npx").write_text(NPX_STUB)
    for script in bin_dir.iterdir():
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "published.log"
    base = {**cli_env(template), "PATH": f"{bin_dir}:{os.environ['PATH']}", "PUBLISH_LOG": str(log)}

    def shard_job(k: int, checkout: Path) -> list[str]:
        """Render, build and publish shard k in its own checkout (each job has its runner)."""
        env = {**base, "RUNNER_TEMP": str(tmp_path / f"runner-{k}")}
        Path(env["RUNNER_TEMP"]).mkdir(exist_ok=True)
        log.write_text("")
        for name in ("Render the shard's services",
                     "Check the shard's answers against their sources",
                     "Build the shard's TechDocs",
                     "Check the storage settings", "Publish the changed services"):  # fmt: skip
            result = run_step(workflow, "shards", name, checkout, k, env)
            assert result.returncode == 0, f"{name}\n{result.stdout}\n{result.stderr}"
        return log.read_text().splitlines()

    published: dict[int, list[str]] = {}
    for k in range(1, shards + 1):
        checkout = shutil.copytree(repo, tmp_path / f"checkout-{k}")
        published[k] = shard_job(k, checkout)
    names = sorted(s["service_name"] for s in SERVICES)
    lines = [line for k in published for line in published[k]]
    assert sorted(line.split()[0] for line in lines) == names  # each service once
    for line in lines:
        name = line.split()[0]
        assert f"--entity default/Component/{name} " in line
        assert "--publisher-type azureBlobStorage --storage-name techdocs" in line
        assert line.endswith("--directory ./site --azureAccountName acmedocs")

    # A second run (the sites kept, as the cache keeps them) publishes only what changed.
    checkout = tmp_path / "checkout-1"
    assert shard_job(1, checkout) == []
    changed = json.loads(json.dumps(SERVICES))
    first = next(s for s in changed if (checkout / "build/services" / s["service_name"]).is_dir())
    first["description"] = "A new description."
    write_fleet(checkout / "fleet.yaml", changed)
    assert [line.split()[0] for line in shard_job(1, checkout)] == [first["service_name"]]

    # The index job, on the shards' artifacts (upload-artifact leaves hidden files out).
    index_dir = tmp_path / "index-job"
    for k in range(1, shards + 1):
        shutil.copytree(
            tmp_path / f"checkout-{k}" / "build/site",
            index_dir / "shards" / f"runbooks-shard-{k}",
            ignore=shutil.ignore_patterns(".*"),
        )
    # What "Get the last drill's reports" leaves before any drill (tests/test_drill_ci.py).
    (index_dir / "drill-reports").mkdir()
    for name in ("Put the shards' sites together", "Build the fleet index"):
        result = run_step(workflow, "index", name, index_dir, 0, base)
        assert result.returncode == 0, f"{name}\n{result.stdout}\n{result.stderr}"
    site = index_dir / "fleet-site"
    listed = json.loads((site / "services.json").read_text(encoding="utf-8"))
    assert [card["name"] for card in listed] == names
    for name in names:
        assert (site / name / "index.html").is_file()
        assert f'href="{name}/"' in (site / "index.html").read_text(encoding="utf-8")
