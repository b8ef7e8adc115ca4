"""Answers that land in a page's Markdown text render as the text they are: a channel at the start
of a line is not a heading, a repository with underscores is not bold. Checked in the HTML that
`mkdocs build --strict` makes, with the standard library's HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from doc_builds import mkdocs_build

ANSWERS = {
    "workload": "deployment",
    "gitops": "none",
    "migration_tool": "none",
    "incident_channel": "#inc_ops_",
    "github_repo": "acme/__init__",
}
MARKUP = {"h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "a", "li"}


class Elements(HTMLParser):
    """Each element of the page's article with its text, as (tag, text) pairs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, list[str]]] = []
        self.closed: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in MARKUP:
            self.open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                name, parts = self.open.pop(i)
                self.closed.append((name, "".join(parts)))
                return

    def handle_data(self, data: str) -> None:
        for _, parts in self.open:
            parts.append(data)


def elements(html: str) -> list[tuple[str, str]]:
    parser = Elements()
    parser.feed(html)
    return parser.closed


def text_of(html: str) -> str:
    parser = Elements()
    parser.open.append(("document", []))
    parser.feed(html)
    return "".join(parser.open[0][1])


@pytest.fixture(scope="module")
def site(render, tmp_path_factory) -> Path:
    service = render(ANSWERS)
    folder = tmp_path_factory.mktemp("markdown-answers")
    mkdocs_build(service / "mkdocs.yml", folder)
    return folder


def marked_up(html: str, value: str) -> list[tuple[str, str]]:
    """Elements whose text is a part of `value` but not all of it: markup the value made."""
    return [
        (tag, text)
        for tag, text in elements(html)
        if text.strip() and text.strip() in value and text.strip() != value and len(text) > 1
    ]


@pytest.mark.parametrize(
    "page", ["runbooks/postmortem/index.html", "runbooks/on-call/index.html", "index.html"]
)
def test_answers_in_markdown_text_stay_text(site: Path, page: str) -> None:
    html = (site / page).read_text(encoding="utf-8")
    for value in (ANSWERS["incident_channel"], ANSWERS["github_repo"]):
        assert not marked_up(html, value), f"{value!r} became markup on {page}"
    headings = [text for tag, text in elements(html) if tag in ("h1", "h2", "h3")]
    assert not [h for h in headings if "inc_ops" in h], headings
    assert ANSWERS["incident_channel"] in text_of(html)


def test_the_repository_link_reads_as_the_repository(site: Path) -> None:
    html = (site / "runbooks/on-call/index.html").read_text(encoding="utf-8")
    links = [text for tag, text in elements(html) if tag == "a"]
    assert ANSWERS["github_repo"] in links


def test_the_check_sees_markup_the_value_made() -> None:
    """Negative control: the Markdown a raw answer would give is caught."""
    assert marked_up("<p>acme/<strong>init</strong></p>", "acme/__init__")
    assert [t for tag, t in elements("<h1>#inc_ops_, in UTC.</h1>") if tag == "h1"]
    assert not marked_up("<p>acme/__init__</p>", "acme/__init__")
