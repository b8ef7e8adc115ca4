"""Reading a rendered service's runbook pages: headings, fenced blocks, links."""

from __future__ import annotations

import re
from pathlib import Path

FENCE = re.compile(r"^ *```.*?^ *```", flags=re.MULTILINE | re.DOTALL)
FENCE_OPENING = re.compile(r"^ *```(\S*)", flags=re.MULTILINE)
LINK = re.compile(r"\]\(<?([^)>\s]+)>?\)")
LEFTOVER_TEMPLATE = re.compile(r"\{\{|\{%|\{#|cookiecutter\.|\$\{\{")

# A command broken over lines for a phone: a backslash ends each line but the last, the next
# one indented (service_runbooks.phone_lines).
CONTINUATION = re.compile(r" \\\n *")


def one_line(text: str) -> str:
    """The text with each broken command back on one line, for a search that reads a command
    as one line."""
    return CONTINUATION.sub(" ", text)


PAGES = [
    "incident-response.md",
    "rollback.md",
    "verification.md",
    "deploy.md",
    "scaling.md",
    "dependency-outage.md",
    "database.md",
    "on-call.md",
    "postmortem.md",
]


def pages_of(service: Path) -> dict[str, str]:
    """Every Markdown page of a rendered service, by its path under docs/, each command on one
    line (``one_line``: what the tests search for is the command, not where a phone breaks it;
    ``test_phone_lines.py`` checks the broken form)."""
    docs = service / "docs"
    return {
        str(path.relative_to(docs)): one_line(path.read_text(encoding="utf-8"))
        for path in sorted(docs.rglob("*.md"))
    }


def runbook(service: Path, name: str) -> str:
    """A runbook page, each command on one line (``one_line``)."""
    return one_line((service / "docs" / "runbooks" / name).read_text(encoding="utf-8"))


def headings(markdown: str) -> list[str]:
    """Heading texts outside code blocks (a '# comment' in a shell block is not one)."""
    return re.findall(r"^#{1,6} (.+)$", FENCE.sub("", markdown), flags=re.MULTILINE)


def section(markdown: str, heading: str) -> str:
    """The text under a '## heading', up to the next heading of level 2."""
    body = markdown.split(f"\n## {heading}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def fenced_blocks(markdown: str, language: str) -> list[str]:
    """Fenced blocks in a language, with the indentation of admonitions and tabs removed."""
    blocks = []
    pattern = rf"^( *)```{language}\n(.*?)^ *```"
    for indent, body in re.findall(pattern, markdown, flags=re.MULTILINE | re.DOTALL):
        lines = body.splitlines(keepends=True)
        blocks.append("".join(line.removeprefix(indent) for line in lines))
    return blocks


def fence_languages(markdown: str) -> list[str]:
    """The language of every opening fence (closing fences are the even-numbered matches)."""
    return FENCE_OPENING.findall(markdown)[::2]


def links(markdown: str) -> list[str]:
    """Link targets outside code blocks."""
    return LINK.findall(FENCE.sub("", markdown))
