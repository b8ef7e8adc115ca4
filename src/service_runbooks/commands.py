"""Reading the commands a rendered runbook page or helper script holds.

One parser for every check that needs to know what a page tells a reader to run or what a
script runs: the test that finds each command's entry in the template's command table, and
later the checks that compare them with a cluster. It reads bash as the pages and scripts write
it, not all of bash:

- a page's commands are the lines of its fenced ``bash``/``sh``/``shell`` blocks (the
  indentation of admonitions and tabs removed);
- a line ending in a backslash goes on with the next one, and a quoted string may span lines;
- ``#`` comments, ``if``/``then``/``else``/``!`` keywords, leading ``VAR=value`` words, redirections
  and the scripts' ``run``/``show_only``/``local`` wrappers are dropped;
- a pipeline or list (``|``, ``||``, ``&&``, ``;``) is one command per part;
- ``$(...)`` substitutions are commands of their own (``VAR=$(kubectl ...)``), and so is a bash
  array assignment ``NAME=(kubectl ...)``, which is how the scripts build their commands;
- a here-document's body is text, not commands.

Words are split as the shell splits them (``shlex`` in POSIX mode), so ``argv`` is what the
program receives, with variables and substitutions left as written (``"$POD"`` becomes ``$POD``,
``"$(cat f)"`` becomes ``$(cat f)``).

A fleet's pages hold hundreds of thousands of lines, so the common cases skip ``shlex`` (it
reads a character at a time) and give what it gives: a line with no quote, escape, comment or
``|&;`` is split on whitespace, one whose only special characters are quotes by a regular
expression; whether a line's quotes are closed is read by a scan of its
quotes and escapes; and each distinct logical line is split once per process.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from service_runbooks.errors import CommandSyntaxError, UnsplittableLine

# The tools whose commands a runbook's command table owns.
TOOLS = ("kubectl", "helm", "flux", "argocd", "curl")
# Words that start a command without being it.
_WRAPPERS = {"run", "show_only", "local", "readonly", "export", "exec", "!"}
_WRAPPERS |= {"if", "then", "elif", "else", "while", "until", "do"}
_SEPARATORS = {"|", "||", "&&", ";", "&", ";;"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_ARRAY_ASSIGNMENT = re.compile(r"^\s*(?:local\s+|readonly\s+)?[A-Za-z_][A-Za-z0-9_]*\+?=\(")
# A redirection: the operator alone (its target is the next word) or with its target.
_REDIRECTION = re.compile(r"^(\d*|&)(>>?|<)(&\d+|&-)?(?P<target>.*)$")
HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")
SHELL_FENCE = re.compile(r"^( *)```(bash|sh|shell)\n(.*?)^ *```", flags=re.MULTILINE | re.DOTALL)
# Stands for the n-th $(...) of a line while the line is split into words.
_SUBSTITUTION = re.compile("\x00([0-9]+)\x00")
# What the shell removes from a line's characters as it makes its words: quotes and escapes
# (https://www.gnu.org/software/bash/manual/bash.html#Quote-Removal).
_QUOTING = "'\"\\"
_QUOTE_REMOVAL = str.maketrans("", "", _QUOTING)
_QUOTED_OR_ESCAPED = re.compile(f"[{re.escape(_QUOTING)}]")
# What makes shlex (POSIX mode, punctuation_chars="|&;", commenters="#", whitespace_split) do
# more than split on its whitespace, " \t\r\n": quotes, escapes, comments, command-ending
# punctuation, and whitespace that is not its own (str.split splits on more than shlex does)
# (https://docs.python.org/3/library/shlex.html#shlex.shlex.whitespace, #parsing-rules,
# #improved-compatibility-with-shells; https://github.com/python/cpython/blob/3.11/Lib/shlex.py).
_NOT_PLAIN = re.compile(r"['\"\\#|&;]|[^\S \t\r\n]")
# A line whose only special characters are quotes: no escape, no comment and no "|&;" outside
# them, nor any escape inside double quotes. Without an escape nothing inside quotes is special
# to shlex in POSIX mode, a quote may open inside a word, and a closed quote ends no word (so
# '' is a word of its own); any character but its whitespace is part of a word
# (``read_token`` in https://github.com/python/cpython/blob/3.11/Lib/shlex.py).
_QUOTED_WORD = re.compile(r"""(?:[^ \t\r\n'"\\#|&;]++|'[^']*+'|"[^"\\]*+")++""")
_QUOTED_LINE = re.compile(rf"[ \t\r\n]*+(?:{_QUOTED_WORD.pattern}[ \t\r\n]*+)*+")
_QUOTED_PART = re.compile(r"""'([^']*)'|"([^"]*)"|([^'"]+)""")
# A text shlex splits without error, read as its POSIX rules read quotes and escapes: outside
# quotes a backslash takes the next character and an unquoted "#" comments out the rest of its
# line (inside a word too); inside double quotes a backslash takes the next character; inside
# single quotes nothing is special but the closing quote (``read_token`` in
# https://github.com/python/cpython/blob/3.11/Lib/shlex.py). Each part starts with its own
# character, and possessive: the match is linear, also on a text that fails.
_CLOSED = re.compile(r"""(?:[^'"\\#]++|'[^']*+'|"(?:[^"\\]++|\\[\s\S])*+"|\\[\s\S]|#[^\n]*+)*+""")
# Distinct logical lines whose commands are kept per process (a fleet's pages repeat most lines).
_LINES_KEPT = 16384


@dataclass(frozen=True)
class Command:
    """One simple command: its words, the tool it runs (None for any other program), and the
    line of the text it starts on (1-based)."""

    argv: tuple[str, ...]
    line: int

    @property
    def tool(self) -> str | None:
        return self.argv[0] if self.argv and self.argv[0] in TOOLS else None


def code_blocks(markdown: str) -> list[tuple[int, str]]:
    """The shell code blocks of a page, each with the line its first line is on (1-based)."""
    blocks = []
    counted, line = 0, 1  # lines are counted on from the last block, not from the top
    for match in SHELL_FENCE.finditer(markdown):
        indent, body = match.group(1), match.group(3)
        line += markdown.count("\n", counted, match.start(3))
        counted = match.start(3)
        if indent:  # a block inside an admonition or a tab: its indentation is not the code's
            body = "".join(part.removeprefix(indent) for part in body.splitlines(keepends=True))
        blocks.append((line, body))
    return blocks


def may_hold(text: str, word: str) -> bool:
    """Whether a shell text may hold ``word`` as a word (or part of one): each word is made of
    the text's characters less its quotes and backslashes, so a text without it has none."""
    if word in text:
        return True
    # Most lines have no quote or backslash: removing none changes nothing.
    return _QUOTED_OR_ESCAPED.search(text) is not None and word in text.translate(_QUOTE_REMOVAL)


def parse_page(markdown: str, *, only: str | None = None) -> list[Command]:
    """Every command of every shell code block of a rendered page (with ``only``: of the
    blocks and lines that may hold that word, see ``parse_shell``)."""
    blocks = code_blocks(markdown)
    if only is not None:
        blocks = [(first, block) for first, block in blocks if may_hold(block, only)]
    return [command for first, block in blocks for command in parse_shell(block, first, only=only)]


def parse_shell(text: str, first_line: int = 1, *, only: str | None = None) -> list[Command]:
    """Every simple command of a shell text (a code block or a whole script). With ``only``,
    the logical lines that cannot hold that word are not split into words: a caller that
    wants one tool's commands skips the shell parsing of the rest (most of the time)."""
    commands: list[Command] = []
    for start, _after, logical, _heredoc in logical_lines(text.splitlines()):
        if only is None or may_hold(logical, only):
            commands.extend(_commands_of(logical, first_line + start))
    return commands


def logical_lines(lines: list[str]) -> Iterator[tuple[int, int, str, bool]]:
    """Each logical line of a shell text as (first, after, text, whether a here-document
    marker was seen): the lines[first:after] it spans; a here-document's body belongs to the
    line that opens it, and is not in its text."""
    index = 0
    while index < len(lines):
        first = index
        logical, index = logical_line(lines, index)
        heredoc = HEREDOC.search(logical) if "<<" in logical else None
        if heredoc and not logical.lstrip().startswith("#"):
            while index < len(lines) and lines[index].strip() != heredoc.group(1):
                index += 1
            index = min(index + 1, len(lines))
            logical = logical[: heredoc.start()]
        yield first, index, logical, heredoc is not None


def logical_line(lines: list[str], index: int) -> tuple[str, int]:
    """One logical line from lines[index]: continuations joined, quoted strings closed."""
    line = lines[index]
    if not line.endswith("\\") and _closed(line):  # most lines: one line is one logical line
        return line, index + 1
    text = ""
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.endswith("\\") and not line.lstrip().startswith("#"):
            text += line[:-1] + " "
            continue
        text += line
        if _closed(text) or index >= len(lines):
            return text, index
        text += "\n"
    return text, index


def _closed(text: str) -> bool:
    """Whether shlex splits ``text`` without error: it fails only on an open quote or a trailing
    escape ("No closing quotation", "No escaped character": ``read_token`` in
    https://github.com/python/cpython/blob/3.11/Lib/shlex.py)."""
    return _QUOTED_OR_ESCAPED.search(text) is None or _CLOSED.fullmatch(text) is not None


def _split(text: str) -> list[str]:
    if not _NOT_PLAIN.search(text):
        return text.split()
    if _QUOTED_LINE.fullmatch(text):
        return [_unquoted(word) for word in _QUOTED_WORD.findall(text)]
    return _shlex_split(text)


def _unquoted(word: str) -> str:
    """A word of a quoted line less its quotes (a quoted part's content is taken whole)."""
    return "".join("".join(part) for part in _QUOTED_PART.findall(word))


def _shlex_split(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _commands_of(logical: str, line: int) -> list[Command]:
    """The commands of one logical line: its substitutions and array bodies first."""
    try:
        argvs = _argvs_of(logical)
    except UnsplittableLine as error:
        raise CommandSyntaxError(f"line {line}: {error}") from error.__cause__
    return [Command(argv, line) for argv in argvs]


@functools.lru_cache(maxsize=_LINES_KEPT)
def _argvs_of(logical: str) -> tuple[tuple[str, ...], ...]:
    """The argv of each command of a logical line; a pure function of the line, kept."""
    if _ARRAY_ASSIGNMENT.match(logical):
        body = logical[logical.index("(") + 1 : logical.rindex(")")] if ")" in logical else ""
        return _argvs_of(body)
    inner, outer = _take_substitutions(logical)
    argvs = [argv for body in inner for argv in _argvs_of(body)]
    try:
        words = [_SUBSTITUTION.sub(lambda m: f"$({inner[int(m[1])]})", w) for w in _split(outer)]
    except ValueError as error:
        raise UnsplittableLine(f"{error}: {logical.strip()!r}") from error
    part: list[str] = []
    for word in [*_join_duplications(words), ";"]:
        if word in _SEPARATORS:
            argv = _strip_prefix(part)
            if argv:
                argvs.append(tuple(argv))
            part = []
        else:
            part.append(word)
    return tuple(argvs)


def _join_duplications(words: list[str]) -> list[str]:
    """``2>&1`` back as one word: the lexer splits ``&`` off as if it ended a command."""
    joined: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if re.fullmatch(r"\d*[<>]", word) and words[index + 1 : index + 2] == ["&"]:
            word, index = (
                word + "&" + (words[index + 2] if index + 2 < len(words) else ""),
                index + 2,
            )
        joined.append(word)
        index += 1
    return joined


def _strip_prefix(words: list[str]) -> list[str]:
    """A command's words without its leading keywords, wrappers and VAR=value assignments, and
    without its redirections (``2>/dev/null``, ``> file``)."""
    index = 0
    while index < len(words) and (words[index] in _WRAPPERS or _ASSIGNMENT.match(words[index])):
        index += 1
    argv: list[str] = []
    skip_next = False
    for word in words[index:]:
        redirection = _REDIRECTION.match(word)
        if skip_next:
            skip_next = False
        elif redirection:
            skip_next = not redirection.group("target") and not redirection.group(3)
        else:
            argv.append(word)
    return argv


def _take_substitutions(text: str) -> tuple[list[str], str]:
    """The bodies of the top-level $(...) of a line outside single quotes, and the line with
    each replaced by a numbered placeholder (restored as ``$(body)`` in the words)."""
    if "$(" not in text:
        return [], text  # nothing to take: the loop below would copy every character
    bodies: list[str] = []
    out: list[str] = []
    index, quote = 0, ""
    while index < len(text):
        char = text[index]
        if char in "'\"" and quote in ("", char):
            quote = "" if quote == char else char
        elif char == "\\" and quote != "'":
            out.append(text[index : index + 2])
            index += 2
            continue
        elif text.startswith("$(", index) and quote != "'" and not text.startswith("$((", index):
            end = _closing_parenthesis(text, index + 2)
            out.append(f"\x00{len(bodies)}\x00")
            bodies.append(text[index + 2 : end])
            index = end + 1
            continue
        out.append(char)
        index += 1
    return bodies, "".join(out)


def _closing_parenthesis(text: str, index: int) -> int:
    depth, quote = 1, ""
    while index < len(text):
        char = text[index]
        if char in "'\"" and quote in ("", char):
            quote = "" if quote == char else char
        elif char == "\\" and quote != "'":
            index += 2
            continue
        elif not quote and char == "(":
            depth += 1
        elif not quote and char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise CommandSyntaxError(f"unclosed $( in {text.strip()!r}")
