"""Long commands of a rendered page broken into lines a phone shows without sideways scrolling.

Every Markdown page of a service goes through ``fold_page`` as it is rendered (the template's
``local_extensions.PhoneLinesExtension``), so every command the command table prints is broken
in this one place, whichever macro or page printed it. A line of a shell code block longer than
``PHONE_COLUMNS`` is broken before an option (a word starting with ``-``: ``-n NS`` stays
together, ``--x=y`` is one word) or a pipe/list operator, with a backslash at the end of each
broken line and the continuation indented: bash joins a backslash-newline into nothing
(https://www.gnu.org/software/bash/manual/bash.html#Escape-Character), so the broken command is
the same argv as the one-line form. Lines the breaking cannot read as plain words (an open quote,
a here-document, a line already continued, a comment) are left as they are. Backstage's
fetch:cookiecutter step loads no template extensions (``backstage.py``), so a service made from
the Backstage form keeps its commands on one line each: the same commands, wider.

The width: a phone 390 CSS px wide (the layout test's viewport) shows 39 columns of a code
block. Material sets 1rem to 20 px below 100em (``html { font-size: 125% }``), code at .85em of
.8rem (13.6 px; the service's runbooks.css keeps admonitions' code at that size too), and a
monospace font advances about .6em a character (8.16 px); the content has .8rem margins and the
code 1.1765em padding on each side (16 px each), leaving 326 px: 39.9 characters. An
admonition's .075rem borders and .6rem padding take 27 px more: 36 columns fit in the emergency
box, the block a reader pastes first, so that is the width for every block. Sources: the theme's
``main/_base.scss``, ``_typeset.scss``, ``components/_content.scss``,
``extensions/markdown/_admonition.scss``
(https://github.com/squidfunk/mkdocs-material/tree/master/src/templates/assets/stylesheets/main),
checked against the built ``main.*.min.css``; ``tests/phone_layout.py`` measures the columns
every shell block shows in Chromium.
"""

from __future__ import annotations

import re

from service_runbooks.commands import SHELL_FENCE, logical_lines

PHONE_COLUMNS = 36
# A continued line starts this much further in than the command's first line.
CONTINUATION_INDENT = "  "
# Words a line may be broken before, besides options: a pipeline's or a list's operator.
_OPERATORS = {"|", "||", "&&"}
_CLOSING = {"(": ")", "{": "}"}
# A line opening a compound command (if ...; then ...; fi) is left whole: a break inside its
# test would read as an option of the command.
_COMPOUND = {"if", "for", "while", "until", "case", "[", "[[", "{", "("}


def fold_page(markdown: str, columns: int = PHONE_COLUMNS) -> str:
    """The page with the long lines of its shell code blocks broken (everything else as is)."""

    def fold_block(match: re.Match[str]) -> str:
        indent, body = match.group(1), match.group(3)
        start, end = match.span(3)
        return (
            match.group(0)[: start - match.start()]
            + fold_text(body, indent, columns)
            + (match.group(0)[end - match.start() :])
        )

    return SHELL_FENCE.sub(fold_block, markdown)


def fold_text(body: str, indent: str, columns: int = PHONE_COLUMNS) -> str:
    """A code block's lines (each starting with the block's ``indent``) with the long ones
    broken; ``columns`` counts from the block's own left edge."""
    lines = body.splitlines(keepends=True)
    bare = [line.rstrip("\n").removeprefix(indent) for line in lines]
    folded: list[str] = []
    for first, after, _logical, heredoc in logical_lines(bare):
        # Only a logical line that is one physical line, with no here-document, is broken.
        if after == first + 1 and not heredoc and bare[first]:
            broken = fold_line(bare[first], columns)
            ending = "\n" if lines[first].endswith("\n") else ""
            folded.append("\n".join(indent + line for line in broken) + ending)
        else:
            folded.extend(lines[first:after])
    return "".join(folded)


def fold_line(line: str, columns: int = PHONE_COLUMNS) -> list[str]:
    """One command line as the lines a phone shows: broken where it fits, before an option or
    an operator, each broken line ending in `` \\``."""
    if len(line) <= columns or line.lstrip().startswith("#") or line.endswith("\\"):
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    pieces = pieces_of(line.strip())
    if pieces is None or len(pieces) == 1:
        return [line]
    out = [lead + pieces[0]]
    for position, piece in enumerate(pieces[1:], start=2):
        room = columns - (0 if position == len(pieces) else len(" \\"))
        if len(out[-1]) + 1 + len(piece) <= room:
            out[-1] += " " + piece
        else:
            out[-1] += " \\"
            out.append(lead + CONTINUATION_INDENT + piece)
    return out


def pieces_of(command: str) -> list[str] | None:
    """The unbreakable pieces of one command line, in order: its words up to the first option,
    then each option or operator with the words that follow it up to the next. None when the
    line is not plain words (an open quote or substitution) or not one simple command or
    pipeline."""
    words = words_of(command)
    if words is None or not words or words[0] in _COMPOUND or any(w.endswith(";") for w in words):
        return None
    pieces: list[list[str]] = [[]]
    for word in words:
        if pieces[-1] and (word.startswith("-") or word in _OPERATORS or word.startswith("#")):
            pieces.append([])
        pieces[-1].append(word)
    return [" ".join(piece) for piece in pieces]


def words_of(command: str) -> list[str] | None:
    """The words of a line as written (quotes kept), split where bash splits them: at blanks
    outside quotes, ``$(...)``, ``${...}`` and backquotes. None if something is left open."""
    words: list[str] = []
    word = ""
    quote = ""
    nesting: list[str] = []
    index = 0
    while index < len(command):
        char = command[index]
        if char == "\\" and quote != "'":
            word += command[index : index + 2]
            index += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "$" and command[index + 1 : index + 2] in _CLOSING:
            nesting.append(_CLOSING[command[index + 1]])
            word += command[index : index + 2]
            index += 2
            continue
        elif nesting and char == nesting[-1]:
            nesting.pop()
        elif nesting and char in _CLOSING:
            nesting.append(_CLOSING[char])
        elif char in " \t" and not nesting:
            if word:
                words.append(word)
            word = ""
            index += 1
            continue
        word += char
        index += 1
    if quote or nesting or index > len(command):
        return None
    return [*words, word] if word else words
