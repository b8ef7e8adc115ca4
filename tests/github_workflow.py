"""A rendered service's GitHub workflow as data, and its `run` steps run as GitHub runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

WORKFLOW = Path(".github") / "workflows" / "techdocs.yml"


def load_workflow(service: Path, path: Path = WORKFLOW) -> dict:
    """A workflow of the rendered ``service`` (the TechDocs one unless ``path`` is given)."""
    workflow = yaml.safe_load((service / path).read_text(encoding="utf-8"))
    assert isinstance(workflow, dict)
    # YAML 1.1 (PyYAML) reads the key `on` as True; GitHub reads it as "on".
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
