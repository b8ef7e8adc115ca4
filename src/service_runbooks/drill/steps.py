"""The drill's steps: every tool command of a rendered service's pages and scripts, found with
the package's one command parser and named by the template's command table.

A command the table marks read-only becomes a read step (run against the cluster); one it
marks changing becomes a change step (never run: its verbs are asked with ``kubectl auth
can-i``, and with ``--server-dry-run`` it runs as a server dry run); one without an entry is
never run. The kube context the drill was given is added to each kubectl, helm and flux
command, as each tool spells the flag.

The scripts build their commands from bash arrays their library sets
(``scripts/lib/common.sh``: ``KUBE_ARGS``, ``HELM_ARGS``...): bash itself expands them, with the
library sourced and its ``set_workload_commands`` run for the drill's context, so the drill runs
the words the script would, never a second copy of them. A word needing anything else (a
variable set while a script runs, ``$(...)``) makes the step skipped, with the reason.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from service_runbooks.command_table import Entry, Table, entry_of
from service_runbooks.commands import Command, parse_page, parse_shell

READ, CHANGE, UNKNOWN = "read", "change", "unknown"
# A variable reference bash expands in a word: $NAME, ${NAME}, ${NAME[@]} (a whole array).
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(\[@\])?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# Any other expansion: ${NAME:?}, ${NAME#x}, $(...), $@, $1...
_EXPANSION = re.compile(r"\$")
_END = "\x1f--end-of-command--"  # separates the commands bash prints (never in a word)
# How each tool is told the kube context (https://kubernetes.io/docs/reference/kubectl/kubectl/,
# https://helm.sh/docs/helm/helm/ --kube-context, https://fluxcd.io/flux/cmd/flux/ --context).
CONTEXT_FLAGS = {"kubectl": "--context", "helm": "--kube-context", "flux": "--context"}


@dataclass(frozen=True)
class Found:
    """One command as the drill will treat it: its entry, the words it runs, where it is
    written, and why it cannot run as written (a placeholder), if so."""

    entry: Entry | None
    argv: tuple[str, ...]
    where: str
    unfilled: str = ""  # why the words cannot run as they are

    @property
    def kind(self) -> str:
        if self.entry is None:
            return UNKNOWN
        return CHANGE if self.entry.changes else READ


@dataclass
class Commands:
    """Every command found in a service, in the order of its files."""

    found: list[Found] = field(default_factory=list)


def with_context(argv: tuple[str, ...], context: str) -> tuple[str, ...]:
    """The command told to use ``context``: its own context flag's value replaced, or the flag
    added (before ``--``, after which the words belong to another program)."""
    flag = CONTEXT_FLAGS.get(argv[0]) if argv else None
    if flag is None or not context:
        return argv
    words = list(argv)
    end = words.index("--") if "--" in words else len(words)
    for index, word in enumerate(words[:end]):
        if word == flag and index + 1 < end:
            words[index + 1] = context
            return tuple(words)
        if word.startswith(flag + "="):
            words[index] = f"{flag}={context}"
            return tuple(words)
    return tuple([*words[:end], f"{flag}={context}", *words[end:]])


def placeholders(argv: Iterable[str]) -> list[str]:
    """The variables a reader fills in a page's words (``"${REVISION:?}"``, ``$POD``)."""
    names: list[str] = []
    for word in argv:
        for match in re.finditer(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", word):
            if match.group(1) not in names:
                names.append(match.group(1))
        if "$(" in word and "$(...)" not in names:
            names.append("$(...)")
    return names


def page_files(service: Path) -> list[Path]:
    docs = service / "docs"
    return [
        docs / "index.md",
        *sorted((docs / "runbooks").glob("*.md")),
        *sorted((docs / "alerts").glob("*.md")),
    ]


def script_files(service: Path) -> list[Path]:
    return sorted((service / "scripts").rglob("*.sh"))


def page_commands(service: Path, table: Table) -> list[Found]:
    found = []
    for path in page_files(service):
        if not path.is_file():
            continue
        where = path.relative_to(service).as_posix()
        for command in parse_page(path.read_text(encoding="utf-8")):
            if command.tool:
                names = placeholders(command.argv)
                unfilled = f"a placeholder the reader fills: {', '.join(names)}" if names else ""
                found.append(
                    Found(
                        entry_of(command, table), command.argv, f"{where}:{command.line}", unfilled
                    )
                )
    return found


def script_commands(service: Path, table: Table, context: str, namespace: str) -> list[Found]:
    """The scripts' tool commands, their words expanded by bash with the scripts' library."""
    located: list[tuple[Command, str]] = []
    for path in script_files(service):
        where = path.relative_to(service).as_posix()
        for command in parse_shell(path.read_text(encoding="utf-8")):
            if command.tool:
                located.append((command, f"{where}:{command.line}"))
    library = service / "scripts" / "lib" / "common.sh"
    known = _library_variables(library, context, namespace) if library.is_file() else set()
    expanded = _expand(library, context, namespace, [c.argv for c, _ in located], known)
    result: list[Found] = []
    for index, (command, where) in enumerate(located):
        missing = _unknown_expansions(command.argv, known)
        if expanded is None:
            argv, missing = command.argv, missing or ["the library scripts/lib/common.sh"]
        else:
            argv = expanded[index]
        reason = f"set while the script runs, not by its library: {', '.join(missing)}"
        result.append(Found(entry_of(command, table), argv, where, reason if missing else ""))
    return result


def _unknown_expansions(argv: tuple[str, ...], known: set[str]) -> list[str]:
    """The expansions of the words that the library does not set (or that are not plain
    variable references)."""
    missing: list[str] = []
    for word in argv:
        rest = _VARIABLE.sub("", word)
        if _EXPANSION.search(rest):
            missing.append(word)
        for match in _VARIABLE.finditer(word):
            name = match.group(1) or match.group(3)
            if name not in known and name not in missing:
                missing.append(name)
    return missing


def _prelude(library: Path, context: str, namespace: str) -> str:
    """Source the scripts' library and set its commands for the drill's context and the
    service's namespace, as check_context does in a script."""
    return (
        f"source {shlex.quote(str(library))} >/dev/null 2>&1 || exit 3\n"
        f"CONTEXT={shlex.quote(context)}\nNAMESPACE={shlex.quote(namespace)}\n"
        "if declare -F set_workload_commands >/dev/null; then set_workload_commands; fi\n"
    )


def _bash(script: str) -> str:
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout if done.returncode == 0 else ""


def _library_variables(library: Path, context: str, namespace: str) -> set[str]:
    return set(_bash(_prelude(library, context, namespace) + "compgen -v\n").split())


def _bash_word(word: str, known: set[str]) -> str:
    """The word as bash source: literal parts single-quoted, references to the library's
    variables in double quotes (so an array expands to its words, as the scripts quote them);
    any other reference stays as written."""
    parts, at = [], 0
    for match in _VARIABLE.finditer(word):
        if (match.group(1) or match.group(3)) not in known:
            continue
        if match.start() > at:
            parts.append(shlex.quote(word[at : match.start()]))
        parts.append(f'"{match.group(0)}"')
        at = match.end()
    if at < len(word) or not parts:
        parts.append(shlex.quote(word[at:]))
    return "".join(parts)


def _expand(
    library: Path,
    context: str,
    namespace: str,
    commands: list[tuple[str, ...]],
    known: set[str],
) -> list[tuple[str, ...]] | None:
    """The commands' words as bash expands them; None when the library cannot be sourced."""
    if not commands:
        return []
    if not library.is_file():
        return None
    lines = [_prelude(library, context, namespace)]
    for argv in commands:
        source = " ".join(_bash_word(word, known) for word in argv)
        lines.append(f"printf '%s\\0' {source} {shlex.quote(_END)}\n")
    out = _bash("".join(lines))
    expanded: list[tuple[str, ...]] = []
    current: list[str] = []
    for word in out.split("\0"):
        if word == _END:
            expanded.append(tuple(current))
            current = []
        else:
            current.append(word)
    return expanded if len(expanded) == len(commands) else None


def service_commands(
    service: Path, tables: Mapping[str, Table], context: str, namespace: str
) -> list[Found]:
    """The pages' commands, then the scripts'."""
    return [
        *page_commands(service, tables["page"]),
        *script_commands(service, tables["script"], context, namespace),
    ]
