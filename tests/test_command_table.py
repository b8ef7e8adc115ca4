"""Every command a page shows comes from a named entry of the template's command table
(engines.jinja's engine and GitOps operations, commands.jinja's generic commands, alerts.jinja's
alert commands), read with the package's one command parser; an unknown workload stops the render
naming the engine table."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from command_table import alerts_module, entry_of, page_table, script_table
from cookiecutter.exceptions import UndefinedVariableInTemplate
from cookiecutter.main import cookiecutter
from matrix import COMBINATIONS_BY_ID, ROOT

from service_runbooks.commands import parse_page, parse_shell


def pages_of(service: Path) -> dict[str, str]:
    """The home page, the runbook pages and the alert pages, by their path under docs/."""
    docs = service / "docs"
    paths = [
        docs / "index.md",
        *sorted((docs / "runbooks").glob("*.md")),
        *sorted((docs / "alerts").glob("*.md")),
    ]
    return {str(path.relative_to(docs)): path.read_text(encoding="utf-8") for path in paths}


def without_entry(texts: dict[str, str], parse, table) -> list[str]:
    """Each command of ``texts`` (read with ``parse``) that names a tool but has no entry."""
    return [
        f"{name}:{command.line}: {' '.join(command.argv)}"
        for name, text in texts.items()
        for command in parse(text)
        if command.tool and entry_of(command, table) is None
    ]


def commands_without_entry(pages: dict[str, str], answers: dict[str, str]) -> list[str]:
    return without_entry(pages, parse_page, page_table(answers))


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_every_page_command_has_an_entry(render_combo, combo):
    pages = pages_of(render_combo(combo))
    assert commands_without_entry(pages, COMBINATIONS_BY_ID[combo]) == []


def scripts_of(service: Path) -> dict[str, str]:
    return {
        str(path.relative_to(service)): path.read_text(encoding="utf-8")
        for path in sorted((service / "scripts").rglob("*.sh"))
    }


def script_commands_without_entry(scripts: dict[str, str], answers: dict[str, str]) -> list[str]:
    return without_entry(scripts, parse_shell, script_table(answers))


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_every_script_command_has_an_entry(render_combo, combo):
    scripts = scripts_of(render_combo(combo))
    assert any("kubectl" in text for text in scripts.values())
    assert script_commands_without_entry(scripts, COMBINATIONS_BY_ID[combo]) == []


# The matrix gives every Helm chart a Deployment: a chart's StatefulSet has commands of its own
# (the OnDelete wait, the forced rollback) on the pages and in the scripts, with a Helm release
# and rendered by Argo CD.
CHART_STATEFULSET = {"workload": "helm", "chart_workload": "statefulset/payments-db"}


@pytest.mark.parametrize("gitops", ["none", "argocd"])
def test_a_charts_statefulset_commands_have_entries(render, gitops):
    answers = CHART_STATEFULSET | {"gitops": gitops}
    service = render(answers)
    pages, scripts = pages_of(service), scripts_of(service)
    assert "kubectl wait statefulset/payments-db " in pages["runbooks/verification.md"]
    assert re.search(r"(?m)^ +wait_statefulset_counts\b", scripts["scripts/lib/common.sh"])
    assert commands_without_entry(pages, answers) == []
    assert script_commands_without_entry(scripts, answers) == []


def test_a_script_command_without_an_entry_is_caught(render_combo):
    """Negative control: a script that spells a command itself instead of taking the table's."""
    combo = "statefulset-rails-none"
    scripts = scripts_of(render_combo(combo))
    doctored = scripts["scripts/lib/common.sh"].replace(
        "run kubectl get statefulset payments-api",
        'run kubectl get statefulset "$SERVICE"',
    )
    assert doctored != scripts["scripts/lib/common.sh"]
    problems = script_commands_without_entry(
        {"scripts/lib/common.sh": doctored}, COMBINATIONS_BY_ID[combo]
    )
    assert len(problems) == 1 and "kubectl get statefulset $SERVICE" in problems[0]


def test_every_entry_says_whether_it_changes_the_cluster():
    table = page_table(COMBINATIONS_BY_ID["deployment-prisma-none"])
    changing = {entry.name for entry in table.values() if entry.changes}
    reading = {entry.name for entry in table.values() if not entry.changes}
    assert {"undo", "undo_to", "scale", "restart", "drain", "delete_pod"} <= changing
    assert {"history", "status", "logs", "events", "pods", "health"} <= reading


def test_a_command_without_an_entry_is_caught(render_combo):
    """Negative control: a page with a command written by hand, not taken from the table."""
    combo = "deployment-prisma-none"
    pages = pages_of(render_combo(combo))
    pages["runbooks/rollback.md"] += (
        "\n```bash\nkubectl delete deployment payments-api -n production\n```\n"
    )
    line = pages["runbooks/rollback.md"].count("\n") - 1
    assert commands_without_entry(pages, COMBINATIONS_BY_ID[combo]) == [
        f"runbooks/rollback.md:{line}: kubectl delete deployment payments-api -n production"
    ]


def test_an_alert_page_command_without_an_entry_is_caught(render_combo):
    """Negative control on an alert page: a step's command spelled by hand (a claim grown with
    kubectl edit) instead of taken from alerts.jinja's entries."""
    combo = "statefulset-rails-none"
    pages = pages_of(render_combo(combo))
    page = "alerts/volumealmostfull.md"
    assert page in pages and "kubectl patch pvc" in pages[page]
    pages[page] = pages[page].replace("kubectl patch pvc", "kubectl edit pvc", 1)
    problems = commands_without_entry(pages, COMBINATIONS_BY_ID[combo])
    assert len(problems) == 1 and problems[0].startswith(f"{page}:")
    assert "kubectl edit pvc" in problems[0]


def test_the_alert_entries_have_names_of_their_own():
    """An alert command's name is not one of commands.jinja's (one name, one meaning), and
    only growing a claim changes the cluster."""
    alerts = alerts_module(COMBINATIONS_BY_ID["statefulset-rails-none"])
    assert set(alerts.alert_commands).isdisjoint(alerts.cmd.page_commands)
    table = page_table(COMBINATIONS_BY_ID["statefulset-rails-none"])
    changing = {entry.name for entry in table.values() if entry.changes}
    assert "expand_pvc" in changing
    assert {"describe_pvc", "disk_usage", "last_state"}.isdisjoint(changing)


def template_with_knative(tmp_path: Path, extensions: bool) -> Path:
    """A copy of the template whose cookiecutter.json offers a workload without an engine."""
    copy = tmp_path / "template"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".venv", "node_modules", ".git", "build", "site", "tests"),
    )
    config = json.loads((copy / "cookiecutter.json").read_text(encoding="utf-8"))
    config["workload"].append("knative")
    if not extensions:
        config["_extensions"] = []
    (copy / "cookiecutter.json").write_text(json.dumps(config), encoding="utf-8")
    return copy


UNKNOWN_ENGINE = "'workload_has_no_entry_in_the_engines_table_of_engines_jinja' is undefined"


def test_an_unknown_workload_fails_naming_the_engine_table_in_the_cli(tmp_path):
    """Negative control for the removed fall-throughs, with cookiecutter's CLI (the template's
    extensions and hooks on, in a process of its own, as a user runs it)."""
    copy = template_with_knative(tmp_path, extensions=True)
    cli = Path(sys.executable).with_name("cookiecutter")
    done = subprocess.run(
        [str(cli), "--no-input", str(copy), "workload=knative", "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert UNKNOWN_ENGINE in done.stdout + done.stderr


def test_an_unknown_workload_fails_naming_the_engine_table_without_extensions(tmp_path):
    """The same without the template's extensions and hooks, as Backstage's fetch:cookiecutter
    renders: the error needs no extension, only cookiecutter's StrictUndefined."""
    copy = template_with_knative(tmp_path, extensions=False)
    with pytest.raises(UndefinedVariableInTemplate) as raised:
        cookiecutter(
            str(copy),
            no_input=True,
            extra_context={"workload": "knative"},
            output_dir=str(tmp_path / "out"),
            accept_hooks=False,
        )
    assert UNKNOWN_ENGINE in str(raised.value.error)


JSONPATH = "jsonpath={.items[0].metadata.name}"
POLICY = "$(cat policy.json)"
SECONDS = "$(timeout_seconds)"


def test_the_parser_reads_bash_as_the_pages_write_it():
    text = """\
# a comment
POD=$(kubectl get pods -l app=x -n prod -o jsonpath='{.items[0].metadata.name}')
kubectl logs "${POD:?}" -n prod \\
  --previous | grep -iE 'error|timeout'
CMD=(helm history rel "${HELM_ARGS[@]}" --timeout "$(timeout_seconds)")
argocd app get app -o json | jq '.spec' > policy.json && flux resume kustomization app
cat <<EOF
kubectl delete namespace prod
EOF
echo "two
lines"; curl -fsS 'https://x.example/health'
argocd app patch app --type merge --patch "$(cat policy.json)" 2>/dev/null
"""
    commands = [(c.line, c.tool, c.argv) for c in parse_shell(text) if c.tool]
    assert commands == [
        (2, "kubectl", ("kubectl", "get", "pods", "-l", "app=x", "-n", "prod", "-o", JSONPATH)),
        (3, "kubectl", ("kubectl", "logs", "${POD:?}", "-n", "prod", "--previous")),
        (5, "helm", ("helm", "history", "rel", "${HELM_ARGS[@]}", "--timeout", SECONDS)),
        (6, "argocd", ("argocd", "app", "get", "app", "-o", "json")),
        (6, "flux", ("flux", "resume", "kustomization", "app")),
        (10, "curl", ("curl", "-fsS", "https://x.example/health")),
        (12, "argocd", ("argocd", "app", "patch", "app", "--type", "merge", "--patch", POLICY)),
    ]
