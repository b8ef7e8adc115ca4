"""The project site's generated tables: the variable reference and the validation rules, from
cookiecutter.json and the rules, and the table of alerts, from the template's alert entries.

`mkdocs_hooks.py` writes each into its page (Variables, Validation, Alerts) at every site build,
the one place each is shown, so none can go stale.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service_runbooks.rules import (
    RULES,
    RULES_BY_FIELD,
    TEMPLATE_ROOT,
    TODAY,
    Rule,
    default_answer,
    prompt,
)

SERVICE_FOLDER = "{{cookiecutter.service_name}}"
ALERTS_MODULE = "{% if False %}alerts.jinja{% endif %}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def variables_table() -> str:
    """A Markdown table: variable, question, default, and the rule its answer must follow."""
    rows = ["| Variable | Question | Default | Rule |", "|---|---|---|---|"]
    for rule in RULES:
        shown = default_answer(rule.field)
        if isinstance(shown, bool):
            shown = json.dumps(shown)  # as written in cookiecutter.json: true / false
        default_cell = f"`{shown}`" if shown else "(empty)"
        if shown == TODAY:  # no date to show: say what it becomes, and where it does not
            default_cell = "today (UTC, cookiecutter's `now` tag); a fleet file must give it"
        if rule.boolean:
            rule_cell = f"{rule.summary}: `true` or `false`"
        elif rule.choices:
            rule_cell = "one of " + ", ".join(f"`{choice}`" for choice in rule.choices)
        else:
            rule_cell = rule.summary + ("" if rule.required else " (optional)")
            rule_cell += f". Example: `{rule.example}`"
        cells = [f"`{rule.field}`", prompt(rule.field), default_cell, rule_cell]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows)


def _rule_facts(rule: Rule) -> list[str]:
    """The checks one rule makes, one line each, in the order the hook makes them."""
    if rule.boolean:
        return ["`true` or `false` (a JSON boolean; the cookiecutter CLI also takes yes/no)"]
    facts = ["required" if rule.required else "optional: empty means none"]
    if rule.choices:
        facts.append("one of " + ", ".join(f"`{choice}`" for choice in rule.choices))
        return facts
    if rule.max_length is not None:
        facts.append(f"at most {rule.max_length} characters")
    facts.append("no Jinja delimiters (`{{`, `{%`, `{#`)")
    if rule.pattern is not None:
        facts.append(f"matches, as a whole, `{rule.pattern}`")
    facts.append(f"example: `{rule.example}`")
    return facts


def rules_reference() -> str:
    """Every rule in full, for the project site: its summary, then each check it makes."""
    sections = []
    for rule in RULES:
        lines = [f"### `{rule.field}`", "", rule.summary[0].upper() + rule.summary[1:] + ".", ""]
        lines += [f"- {fact}" for fact in _rule_facts(rule)]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def workloads() -> list[tuple[str, dict[str, str]]]:
    """Each kind of workload an alert can watch: its label, and the answers that choose it. A
    Helm chart's alerts watch the chart's own workload, so Helm counts once per kind
    `chart_workload` allows (read from its rule)."""
    kinds = re.fullmatch(r"\(([a-z|]+)\)/.*", RULES_BY_FIELD["chart_workload"].pattern or "")
    if kinds is None:
        raise ValueError(
            "chart_workload's rule no longer starts with (kind|kind)/: update workloads()"
        )
    found = []
    for workload in RULES_BY_FIELD["workload"].choices:
        if workload != "helm":
            found.append((f"`{workload}`", {"workload": workload}))
            continue
        for kind in kinds.group(1).split("|"):
            answers = {
                "workload": "helm",
                "chart_workload": kind + "/{{ cookiecutter.service_name }}",
            }
            found.append((f"`helm` (a chart's {kind})", answers))
    return found


def service_alerts(answers: dict[str, str]) -> list[dict[str, Any]]:
    """The alerts a service with these answers (the rest defaults, alerting on) gets: the
    ``alerts`` list of the template's alerts module, rendered by cookiecutter's own environment
    from the context its CLI builds, as a page that imports the module sees it."""
    from cookiecutter.environment import StrictEnvironment
    from jinja2 import FileSystemLoader

    from service_runbooks.cookiecutter_render import build_context, template_on_path

    # On the path: the environment loads cookiecutter.json's _extensions (local_extensions), as
    # cookiecutter does. The output folder is only recorded in the context; nothing is written.
    with template_on_path(TEMPLATE_ROOT):
        context = build_context(TEMPLATE_ROOT, {**answers, "alerting": "yes"}, Path("."))
        env = StrictEnvironment(
            context=context,
            keep_trailing_newline=True,
            loader=FileSystemLoader(str(TEMPLATE_ROOT / SERVICE_FOLDER)),
            **context["cookiecutter"]["_jinja2_env_vars"],
        )
        module = env.get_template(ALERTS_MODULE).make_module(
            {"cookiecutter": context["cookiecutter"]}
        )
    return list(module.alerts)


ROW_KEYS = ("name", "severity", "for", "fires_when", "mixin")


def alerts_table(
    alerts_of: Callable[[dict[str, str]], list[dict[str, Any]]] = service_alerts,
) -> str:
    """A Markdown table: one row per alert entry (an alert whose rule differs by workload has
    one per kind), with the workloads that get it."""
    rows: dict[tuple[str, ...], list[str]] = {}
    order: list[str] = []  # alert names, in the order the services list them
    for label, answers in workloads():
        for alert in alerts_of(answers):
            rows.setdefault(tuple(str(alert[key]) for key in ROW_KEYS), []).append(label)
            if alert["name"] not in order:
                order.append(alert["name"])
    every = len(workloads())
    lines = [
        "| Alert | Severity | For | Fires when | kubernetes-mixin twin | Workloads |",
        "|---|---|---|---|---|---|",
    ]
    for key in sorted(rows, key=lambda row: order.index(row[0])):  # stable: workload order within
        name, severity, duration, fires_when, mixin = key
        labels = rows[key]
        shown = "every workload" if len(labels) == every else ", ".join(labels)
        cells = [name, severity, duration, fires_when, mixin, shown]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)
