"""The rendered command table of one service, for the tests: the package's own
(``service_runbooks.command_table``), run on this checkout's template (or a copy of it)."""

from __future__ import annotations

from pathlib import Path

from matrix import ROOT

from service_runbooks import command_table
from service_runbooks.command_table import Entry, Table, entry_of

__all__ = ["Entry", "alerts_module", "commands_module", "entry_of", "page_table", "script_table"]


def commands_module(answers: dict[str, str], template: Path = ROOT):
    """The commands module rendered with these answers, as a page imports it."""
    return command_table.commands_module(template, answers)


def alerts_module(answers: dict[str, str], template: Path = ROOT):
    """The alerts module rendered with these answers; its ``cmd`` is the commands module."""
    return command_table.alerts_module(template, answers)


def page_table(answers: dict[str, str]) -> Table:
    return command_table.page_table(ROOT, answers)


def script_table(answers: dict[str, str]) -> Table:
    return command_table.script_table(ROOT, answers)
