"""A rendered service's GitHub workflow as data, and its `run` steps run as GitHub runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from tools import tool

WORKFLOW = Path(".github") / "workflows" / "techdocs.yml"
# GitHub's workflow schema as check-jsonschema ships it (SchemaStore's; no network needed):
# https://check-jsonschema.readthedocs.io/en/stable/usage.html#builtin-schema
SCHEMA = ["--builtin-schema", "vendor.github-workflows"]


def schema_check(*files: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema over workflow files (exit 1 naming the problem when one breaks it)."""
    return subprocess.run(
        [tool("check-jsonschema"), *SCHEMA, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def load_workflow(service: Path, path: Path = WORKFLOW) -> dict:
    """A workflow of the rendered ``service`` (the TechDocs one unless ``path`` is given)."""
    workflow = yaml.safe_load((service / path).read_text(encoding="utf-8"))
    assert isinstance(workflow, dict)
    # YAML 1.1 (PyYAML) reads the key `on` as True; GitHub reads it as "on". A generated
    # workflow quotes it ('on'), which reads as the string already.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def step(workflow: dict, job: str, name: str) -> dict:
    steps = {s["name"]: s for s in workflow["jobs"][job]["steps"]}
    assert name in steps, f"{job} has no step {name!r}; it has {list(steps)}"
    return steps[name]


def run_step(
    workflow: dict, job: str, name: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run a step's script as GitHub does for `shell: bash`, with the workflow's env."""
    assert workflow["defaults"]["run"]["shell"] == "bash"
    full_env = {**os.environ, **workflow["env"], **env}
    return subprocess.run(
        [
            "bash",
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            step(workflow, job, name)["run"],
        ],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
