"""The rendered command table of one service: every command a page may show, by name.

It renders the template's alerts module (``alerts.jinja``: the commands the alert pages add,
``alert_commands``) and the commands module it imports (``commands.jinja``, which joins the
engine table's and the GitOps layer's operations to the generic commands) with the service's
answers, through cookiecutter's own context and Jinja environment, as cookiecutter renders a
page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from jinja2 import FileSystemLoader
from matrix import ROOT

from service_runbooks.commands import TOOLS, Command, parse_shell

TEMPLATE = ROOT / "{{cookiecutter.service_name}}"
COMMANDS_MODULE = "{% if False %}commands.jinja{% endif %}"
ALERTS_MODULE = "{% if False %}alerts.jinja{% endif %}"


@dataclass(frozen=True)
class Entry:
    name: str
    changes: bool
    prefix: bool  # a page runs it with more words after it


def commands_module(answers: dict[str, str], template: Path = ROOT):
    """The commands module rendered with these answers, as a page imports it."""
    return template_module(answers, COMMANDS_MODULE, template)


def alerts_module(answers: dict[str, str], template: Path = ROOT):
    """The alerts module rendered with these answers, as an alert page imports it; its ``cmd``
    is the commands module."""
    return template_module(answers, ALERTS_MODULE, template)


def template_module(answers: dict[str, str], module: str, template: Path):
    """One macro module of the template rendered with these answers, as a page imports it."""
    context = generate_context(
        context_file=str(template / "cookiecutter.json"), extra_context=answers
    )
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    # The answers cookiecutter renders pages with; the template's extensions only check answers.
    cookie = {k: v for k, v in context["cookiecutter"].items() if k != "_extensions"}
    env = StrictEnvironment(
        context={"cookiecutter": cookie},
        keep_trailing_newline=True,
        **context["cookiecutter"]["_jinja2_env_vars"],
        loader=FileSystemLoader(str(template / "{{cookiecutter.service_name}}")),
    )
    return env.get_template(module).make_module({"cookiecutter": cookie})


def page_table(answers: dict[str, str]) -> dict[tuple[str, ...], Entry]:
    """Each tool command of the table as a page shows it (its argv), with its entry: the runbook
    pages' and the home page's (commands.jinja's ``page_commands``), then the alert pages' own
    (alerts.jinja's ``alert_commands``)."""
    alerts = alerts_module(answers)
    cmd = alerts.cmd
    eng = cmd.eng
    changing = set(cmd.changing_commands) | set(eng.changing_ops)
    changing |= {"gitops_" + op for op in eng.changing_gitops_ops}
    changing |= set(alerts.changing_alert_commands)
    lines = dict(cmd.page_commands)
    lines.update({f"deploy[{i}]": line for i, line in enumerate(cmd.deploy)})
    lines.update(alerts.alert_commands)
    table: dict[tuple[str, ...], Entry] = {}
    for name, line in lines.items():
        base = name.split("[")[0]
        entry = Entry(name, base in changing, name in cmd.prefix_commands)
        for command in parse_shell(str(line)):
            if command.tool:
                table.setdefault(command.argv, entry)
    return table


def script_table(answers: dict[str, str]) -> dict[tuple[str, ...], Entry]:
    """Each tool command of the table as a helper script runs it (its argv), with its entry:
    the engine's and the GitOps layer's operations as bash arrays, and the scripts' own."""
    cmd = commands_module(answers)
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
    table: dict[tuple[str, ...], Entry] = {}
    for name, (line, changes) in lines.items():
        for command in parse_shell(line):
            if command.tool:
                table.setdefault(command.argv, Entry(name, changes, prefix=False))
    return table


def entry_of(command: Command, table: dict[tuple[str, ...], Entry]) -> Entry | None:
    """The table's entry a page command comes from, or None."""
    if command.argv in table:
        return table[command.argv]
    for argv, entry in table.items():
        if entry.prefix and command.argv[: len(argv)] == argv:
            return entry
    return None
