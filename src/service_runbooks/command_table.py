"""The rendered command table of one service: every command a page shows or a script runs, by
the name of its entry, and whether that entry changes the cluster.

The table is the template's own (``commands.jinja``'s ``page_commands``, ``script_commands``
and their lists of changing entries; ``engines.jinja``'s operations and ``changing_ops``;
``alerts.jinja``'s ``alert_commands`` and ``changing_alert_commands``), run on the service's
answers with cookiecutter's own environment, as a page imports it. Nothing here lists a command
or says which ones change anything: the template does, once. ``tests/test_command_table.py``
holds every command of every page and script to an entry; ``drill`` runs the read-only ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_runbooks.commands import TOOLS, Command, parse_shell

COMMANDS_MODULE = "{% if False %}commands.jinja{% endif %}"
ALERTS_MODULE = "{% if False %}alerts.jinja{% endif %}"

Table = dict[tuple[str, ...], "Entry"]


@dataclass(frozen=True)
class Entry:
    name: str
    changes: bool
    prefix: bool  # a page runs it with more words after it


def alerts_module(template: Path, answers: Mapping[str, object]) -> Any:
    """The alerts module rendered with these answers, as an alert page imports it; its ``cmd``
    is the commands module."""
    from service_runbooks.cookiecutter_render import template_module

    return template_module(template, ALERTS_MODULE, answers)


def commands_module(template: Path, answers: Mapping[str, object]) -> Any:
    from service_runbooks.cookiecutter_render import template_module

    return template_module(template, COMMANDS_MODULE, answers)


def page_table(template: Path, answers: Mapping[str, object]) -> Table:
    """Each tool command of the table as a page shows it (its argv), with its entry: the runbook
    pages' and the home page's (commands.jinja's ``page_commands``), then the alert pages' own
    (alerts.jinja's ``alert_commands``)."""
    alerts = alerts_module(template, answers)
    cmd = alerts.cmd
    eng = cmd.eng
    changing = set(cmd.changing_commands) | set(eng.changing_ops)
    changing |= {"gitops_" + op for op in eng.changing_gitops_ops}
    changing |= set(alerts.changing_alert_commands)
    lines = dict(cmd.page_commands)
    lines.update({f"deploy[{i}]": line for i, line in enumerate(cmd.deploy)})
    lines.update(alerts.alert_commands)
    table: Table = {}
    for name, line in lines.items():
        base = name.split("[")[0]
        entry = Entry(name, base in changing, name in cmd.prefix_commands)
        for command in parse_shell(str(line)):
            if command.tool:
                table.setdefault(command.argv, entry)
    return table


def script_table(template: Path, answers: Mapping[str, object]) -> Table:
    """Each tool command of the table as a helper script runs it (its argv), with its entry:
    the engine's and the GitOps layer's operations as bash arrays, and the scripts' own."""
    cmd = commands_module(template, answers)
    eng = cmd.eng
    lines: dict[str, tuple[str, bool]] = {}
    for op, words in eng.engine.items():
        if isinstance(words, list) and words and words[0] in TOOLS:
            lines[op] = (str(eng.script(op)), op in eng.changing_ops)
    for op, words in eng.gitops.items():
        if isinstance(words, list) and words and words[0] in TOOLS:
            changes = op in eng.changing_gitops_ops
            lines["gitops_" + op] = (str(eng.gitops_script(op)), changes)
    for name, line in cmd.script_commands.items():
        lines["script_" + name] = (str(line), name in cmd.changing_script_commands)
    table: Table = {}
    for name, (line, changes) in lines.items():
        for command in parse_shell(line):
            if command.tool:
                table.setdefault(command.argv, Entry(name, changes, prefix=False))
    return table


def access_checks(template: Path, answers: Mapping[str, object]) -> list[tuple[str, ...]]:
    """What the changing steps need the API server to allow, as the template lists it for the
    on-call page's ``kubectl auth can-i`` commands (``commands.jinja``'s ``access_checks``):
    (verb, resource, subresource, namespace, which steps need it)."""
    cmd = commands_module(template, answers)
    return [tuple(str(part) for part in check) for check in cmd.access_checks]


def entry_of(command: Command, table: Table) -> Entry | None:
    """The table's entry a command comes from, or None."""
    if command.argv in table:
        return table[command.argv]
    for argv, entry in table.items():
        if entry.prefix and command.argv[: len(argv)] == argv:
            return entry
    return None
