"""The optional CI workflow (.github/workflows/techdocs.yml) that builds a service's TechDocs with
techdocs-cli and publishes them: valid YAML with the expected steps, GitHub's ${{ }} expressions
untouched by cookiecutter, its build step really builds, its settings check really checks, and
no workflow at all when publish_techdocs is false."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from github_workflow import WORKFLOW, load_workflow, run_step, step
from matrix import ROOT
from tools import cookiecutter_config, node_tool, tool

TEMPLATE_WORKFLOW = next(
    path
    for path in (ROOT / "{{cookiecutter.service_name}}" / ".github" / "workflows").iterdir()
    if "techdocs.yml" in path.name
)
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
JINJA_LEFTOVER = re.compile(r"\{%|%\}|cookiecutter")
DROPPED = (
    "warn: Removed the following unsupported configuration keys from mkdocs.yml: extra_javascript."
    " TechDocs only supports a subset of MkDocs configuration options."
)


def npx_shim(folder: Path) -> Path:
    """An `npx` that runs the locally installed (lockfile-pinned) techdocs-cli instead of
    downloading the package: `npx --yes @techdocs/cli@X ARGS` becomes `techdocs-cli ARGS`."""
    folder.mkdir()
    shim = folder / "npx"
    cli = node_tool("techdocs-cli")
    shim.write_text(f'#!/bin/sh\nshift 2\nexec "{cli}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def service(render) -> Path:
    return render({"service_name": "orders-api"})


@pytest.fixture(scope="module")
def workflow(service: Path) -> dict:
    return load_workflow(service)


def test_is_on_by_default_with_build_and_publish_jobs(workflow: dict) -> None:
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert "mkdocs.yml" in workflow["on"]["push"]["paths"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["env"]["TECHDOCS_ENTITY"] == "default/Component/orders-api"
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == "build"
    assert publish["if"] == "github.ref_name == github.event.repository.default_branch"
    assert publish["permissions"]["id-token"] == "write"  # OIDC, no stored cloud keys


def test_has_the_expected_steps(workflow: dict) -> None:
    uses = [s.get("uses", "").split("@")[0] for s in workflow["jobs"]["build"]["steps"]]
    assert uses[:3] == ["actions/checkout", "actions/setup-python", "actions/setup-node"]
    assert "$TECHDOCS_CORE" in step(workflow, "build", "Install mkdocs-techdocs-core")["run"]
    build = step(workflow, "build", "Build TechDocs")["run"]
    assert 'npx --yes "$TECHDOCS_CLI" generate --no-docker --source-dir . --output-dir ./site' in (
        " ".join(build.split()).replace("\\ ", "")
    )
    assert "grep -q '^warn:'" in build
    publish = " ".join(step(workflow, "publish", "Publish TechDocs")["run"].split())
    for flag in (
        '--publisher-type "$TECHDOCS_PUBLISHER_TYPE"',
        '--storage-name "$TECHDOCS_STORAGE_NAME"',
        '--entity "$TECHDOCS_ENTITY"',
        "--directory ./site",
    ):
        assert flag in publish
    logins = {
        s["uses"].split("@")[0]: s["if"]
        for s in workflow["jobs"]["publish"]["steps"]
        if "Log in" in s["name"]
    }
    assert logins == {
        "aws-actions/configure-aws-credentials": "vars.TECHDOCS_PUBLISHER_TYPE == 'awsS3'",
        "google-github-actions/auth": "vars.TECHDOCS_PUBLISHER_TYPE == 'googleGcs'",
        "azure/login": "vars.TECHDOCS_PUBLISHER_TYPE == 'azureBlobStorage'",
    }


def test_github_expressions_survive_cookiecutter(service: Path) -> None:
    rendered = (service / WORKFLOW).read_text(encoding="utf-8")
    source = TEMPLATE_WORKFLOW.read_text(encoding="utf-8")
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.DOTALL)  # the Jinja comment mentions ${{ }}
    assert EXPRESSION.findall(rendered) == EXPRESSION.findall(source)
    assert "${{ vars.TECHDOCS_STORAGE_NAME }}" in rendered
    assert "${{ vars.TECHDOCS_AWS_ROLE_ARN }}" in rendered
    assert not JINJA_LEFTOVER.search(rendered), JINJA_LEFTOVER.search(rendered)


def test_scripts_take_expressions_only_through_env_and_pass_shellcheck(workflow: dict) -> None:
    # GitHub pastes ${{ }} into a script before bash reads it (script injection), so scripts
    # read values from env: instead.
    scripts = [s["run"] for job in workflow["jobs"].values() for s in job["steps"] if "run" in s]
    assert len(scripts) == 4
    for script in scripts:
        assert "${{" not in script
        result = subprocess.run(
            [tool("shellcheck"), "--shell=bash", "-"],
            input=script,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout


def test_pins_are_the_versions_the_suite_tests_with(workflow: dict) -> None:
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    cli_version = package["dependencies"]["@techdocs/cli"]
    assert workflow["env"]["TECHDOCS_CLI"] == f"@techdocs/cli@{cli_version}"
    requirements = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").split()
    assert workflow["env"]["TECHDOCS_CORE"] in requirements


def test_publish_uses_only_options_techdocs_cli_has(workflow: dict) -> None:
    result = subprocess.run(
        [node_tool("techdocs-cli"), "publish", "--help"], capture_output=True, text=True, check=True
    )
    script = step(workflow, "publish", "Publish TechDocs")["run"]
    flags = set(re.findall(r"(?<![\w-])--[A-Za-z][-A-Za-z]*", script)) - {"--yes"}
    assert flags >= {"--publisher-type", "--storage-name", "--entity", "--azureAccountName"}
    for flag in flags:
        assert re.search(rf"^\s+{flag}\b", result.stdout, flags=re.MULTILINE), flag


def test_build_step_builds_the_service_docs(service: Path, workflow: dict, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(service, checkout)
    bin_dir = npx_shim(tmp_path / "bin")
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GITHUB_SHA": "0123abc"}
    result = run_step(workflow, "build", "Build TechDocs", checkout, env)
    assert result.returncode == 0, result.stdout + result.stderr
    metadata = json.loads((checkout / "site" / "techdocs_metadata.json").read_text())
    assert metadata["site_name"] == "orders-api runbooks"
    assert metadata["etag"] == "0123abc"


def test_build_step_fails_when_techdocs_drops_a_setting(workflow: dict, tmp_path: Path) -> None:
    # An npx that answers as techdocs-cli does when it strips a setting: exit 0 and a warn:
    # line (the real tool's behaviour is checked in test_techdocs_cli.py).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "npx"
    fake.write_text(f"#!/bin/sh\necho 'info: Generating documentation...'\necho '{DROPPED}'\n")
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GITHUB_SHA": "0123abc"}
    result = run_step(workflow, "build", "Build TechDocs", tmp_path, env)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:] == [
        DROPPED,
        "::error::techdocs-cli changed mkdocs.yml; fix the settings it names above",
    ]


CONFIGURED = {
    "TECHDOCS_STORAGE_NAME": "acme-techdocs",
    "TECHDOCS_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/techdocs",
    "TECHDOCS_AWS_REGION": "eu-west-1",
    "TECHDOCS_GCP_WORKLOAD_IDENTITY_PROVIDER": (
        "projects/1/locations/global/workloadIdentityPools/github/providers/github"
    ),
    "TECHDOCS_GCP_SERVICE_ACCOUNT": "techdocs@acme.iam.gserviceaccount.com",
    "TECHDOCS_AZURE_ACCOUNT_NAME": "acmetechdocs",
    "TECHDOCS_AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
    "TECHDOCS_AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000002",
}


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "TECHDOCS_PUBLISHER_TYPE TECHDOCS_STORAGE_NAME"),
        ({"TECHDOCS_PUBLISHER_TYPE": "awsS3"}, "TECHDOCS_STORAGE_NAME"),
        (
            {"TECHDOCS_PUBLISHER_TYPE": "awsS3", "TECHDOCS_STORAGE_NAME": "b"},
            "TECHDOCS_AWS_ROLE_ARN TECHDOCS_AWS_REGION",
        ),
        (
            {"TECHDOCS_PUBLISHER_TYPE": "googleGcs", "TECHDOCS_STORAGE_NAME": "b"},
            "TECHDOCS_GCP_WORKLOAD_IDENTITY_PROVIDER TECHDOCS_GCP_SERVICE_ACCOUNT",
        ),
        (
            {"TECHDOCS_PUBLISHER_TYPE": "azureBlobStorage", "TECHDOCS_STORAGE_NAME": "c"},
            "TECHDOCS_AZURE_ACCOUNT_NAME TECHDOCS_AZURE_CLIENT_ID TECHDOCS_AZURE_TENANT_ID",
        ),
    ],
)
def test_settings_check_names_what_is_missing(
    workflow: dict, tmp_path: Path, given: dict[str, str], missing: str
) -> None:
    # GitHub gives an unset variable as an empty string.
    env = {name: "" for name in workflow["jobs"]["publish"]["env"]} | given
    result = run_step(workflow, "publish", "Check the storage settings", tmp_path, env)
    assert result.returncode == 1
    assert f"::error::Set these Actions variables to publish TechDocs: {missing}\n" == result.stdout


@pytest.mark.parametrize("publisher", ["awsS3", "googleGcs", "azureBlobStorage", "openStackSwift"])
def test_settings_check_passes_a_complete_setup(
    workflow: dict, tmp_path: Path, publisher: str
) -> None:
    env = CONFIGURED | {"TECHDOCS_PUBLISHER_TYPE": publisher}
    result = run_step(workflow, "publish", "Check the storage settings", tmp_path, env)
    if publisher == "openStackSwift":  # techdocs-cli has it, this workflow does not log in to it
        assert result.returncode == 1
        assert "must be awsS3, googleGcs or azureBlobStorage" in result.stdout
    else:
        assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("answer", [False, "no"])
def test_no_workflow_when_publish_techdocs_is_false(render, answer: bool | str) -> None:
    # Without alerts either: their workflow would be another file of the folder.
    service = render({"service_name": "quiet-api", "publish_techdocs": answer, "alerting": False})
    assert not (service / WORKFLOW).exists()
    # Only the drill's scheduled workflow, which every service gets, is left there.
    files = [p.name for p in (service / ".github").rglob("*") if p.is_file()]
    assert files == ["drill.yml"]
    assert (service / "mkdocs.yml").is_file()


def test_a_non_boolean_answer_is_refused(tmp_path: Path, capfd) -> None:
    config = cookiecutter_config(tmp_path)
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException) as refused:
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context={"publish_techdocs": 1},
            output_dir=str(output),
            config_file=str(config),
        )
    assert list(output.iterdir()) == []
    # Refused while the folder name renders (before any folder exists), or by the hook.
    message = str(refused.value) + capfd.readouterr().err
    assert "  - publish_techdocs: '1' must be true or false, written without quotes" in message
