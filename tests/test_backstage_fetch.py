"""Backstage's real fetch:cookiecutter action, run on template.yaml's step input, renders the same
service the cookiecutter CLI renders, with its files at the top of the new repository.

The action (@backstage/plugin-scaffolder-backend-module-cookiecutter, pinned in package.json) runs
from Node in tests/node/fetch-cookiecutter.mjs, with this venv's cookiecutter on PATH so no
container is needed. It runs no hooks and gets no ``_extensions``, exactly as in Backstage.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from backstage_helpers import (
    TEMPLATE_PATH,
    TYPED_BY_HAND,
    fetch_input,
    form_defaults,
    load_template,
    validate_entities,
)
from hostile_inputs import HOSTILE_DESCRIPTION
from matrix import OPTIONAL_ANSWERS, ROOT
from runbook_pages import one_line
from tools import cookiecutter_config, tool

from service_runbooks.rules import validate

RUNNER = ROOT / "tests" / "node" / "fetch-cookiecutter.mjs"

# Form answers as a person would give them: fields left empty are absent, so the step computes
# helm_release, app_label_selector and gitops_app wherever they are not given.
COMBINATIONS: dict[str, dict[str, str]] = {
    "defaults": {},
    "helm-none-argocd+opts": {
        "workload": "helm",
        "migration_tool": "none",
        "gitops": "argocd",
        **OPTIONAL_ANSWERS,
    },
    "statefulset-alembic-flux+typed": {
        "service_name": "orders-api",
        "description": HOSTILE_DESCRIPTION,
        "owner": "group:default/team-orders",
        "system": "system:default/orders",
        "lifecycle": "experimental",
        "workload": "statefulset",
        "helm_release": "orders",
        "app_label_selector": "app.kubernetes.io/name=orders-api,tier=web",
        "migration_tool": "alembic",
        "gitops": "flux",
        "gitops_app": "orders-kustomization",
        "flux_namespace": "flux-apps",
    },
    "argo-rollout-prisma-none": {
        "workload": "argo-rollout",
        "migration_tool": "prisma",
        "namespace": "payments",
        "rollout_timeout": "90s",
    },
}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its content and its executable bits."""
    return {
        path.relative_to(folder).as_posix(): (
            path.read_bytes(),
            stat.S_IMODE(path.stat().st_mode) & 0o111,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def cookiecutter_cli(answers: dict[str, str], output: Path, config: Path) -> Path:
    """Render with the cookiecutter CLI (hook included); return the service's folder."""
    arguments = [f"{key}={value}" for key, value in answers.items()]
    result = subprocess.run(
        [
            tool("cookiecutter"),
            "--no-input",
            "--config-file",
            str(config),
            "-o",
            str(output),
            str(ROOT),
            *arguments,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [service] = output.iterdir()
    return service


def test_fetch_cookiecutter_renders_what_the_cli_renders(tmp_path: Path) -> None:
    template = load_template()
    config = cookiecutter_config(tmp_path)
    runs = []
    for name, answers in COMBINATIONS.items():
        step_input = fetch_input(template, {**form_defaults(template), **answers})
        assert validate(step_input["values"]) == [], name
        workspace = tmp_path / name / "backstage"
        workspace.mkdir(parents=True)
        runs.append({"workspace": str(workspace), "input": step_input})
    request = json.dumps({"templateFile": str(TEMPLATE_PATH), "runs": runs})
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "COOKIECUTTER_CONFIG": str(config),
    }
    # The action runs while the CLI renders the same answers.
    action = subprocess.Popen(
        [tool("node"), str(RUNNER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    # The CLI gets what the person typed into the form (the review date: no form default).
    typed = {key: value for key, value in TYPED_BY_HAND.items() if key != "repoUrl"}
    expected = {
        name: cookiecutter_cli({**typed, **answers}, tmp_path / name / "cli", config)
        for name, answers in COMBINATIONS.items()
    }
    stdout, stderr = action.communicate(request, timeout=120)
    assert action.returncode in (0, 1), stderr
    results = json.loads(stdout)

    catalogs = []
    for name, result in zip(COMBINATIONS, results, strict=True):
        assert result["ok"], f"{name}: {result['error']}\n" + "\n".join(result["log"][-5:])
        log = "\n".join(result["log"])
        assert "Context generated is" in log and "('_new_lines', " in log, name
        assert "_extensions" not in log, "the backend cannot import local_extensions.py"
        assert "No hooks/dir in template_dir" in log, "Backstage runs no hooks"
        workspace = Path(result["workspace"])
        top = {path.name for path in workspace.iterdir()}
        assert {"catalog-info.yaml", "mkdocs.yml", "docs", "scripts"} <= top, (name, top)
        got, want = snapshot(workspace), snapshot(expected[name])
        assert sorted(got) == sorted(want), name
        # Without local_extensions.py the action's pages keep each long command on one line
        # (the phone line breaker is an extension): the same commands, only not broken.
        broken = [path for path in want if path.endswith(".md") and b" \\\n" in want[path][0]]
        assert "docs/runbooks/rollback.md" in broken, name
        for path in want:
            content, mode = want[path]
            if path in broken:
                content = one_line(content.decode()).encode()
            assert got[path] == (content, mode), f"{name}: {path} differs from the CLI's"
        assert got["scripts/rollback.sh"][1] == 0o111, "scripts must stay executable"
        # The alerts (on by default) come out of the action too, byte for byte as above.
        monitoring = {"alerts.yaml", "prometheusrule.yaml", "alerts.test.yaml"}
        assert {f"monitoring/{file}" for file in monitoring} <= set(got), name
        catalogs.append(workspace / "catalog-info.yaml")

    verdicts = validate_entities(catalogs)
    assert [v["valid"] for v in verdicts] == [True] * len(catalogs), verdicts
    assert verdicts[2]["ref"] == "component:default/orders-api"
    assert not list(tmp_path.glob("*/backstage/**/*{{*")), "an unrendered name was left"
