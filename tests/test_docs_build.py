"""Every rendered service builds with `mkdocs build --strict` and mkdocs-techdocs-core, and its
nav lists exactly the runbook pages that exist. (The project's own site: test_site.py.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from doc_builds import mkdocs_build, nav_pages
from matrix import COMBINATIONS_BY_ID
from runbook_pages import fenced_blocks, pages_of


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_service_docs_build_strict_with_techdocs_core(
    render_combo, combo: str, tmp_path: Path
) -> None:
    service = render_combo(combo)
    config = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    assert "techdocs-core" in config["plugins"]
    docs = service / "docs"
    assert sorted(nav_pages(config["nav"])) == sorted(
        str(page.relative_to(docs)) for page in docs.rglob("*.md")
    )
    site = tmp_path / "site"
    mkdocs_build(service / "mkdocs.yml", site)
    for page in nav_pages(config["nav"]):
        assert (site / page.removesuffix("index.md").removesuffix(".md") / "index.html").is_file()


# Descriptions that would be markup, links, HTML, attributes, headings or lists if pasted as is.
HOSTILE_DESCRIPTIONS = [
    '1. <script>alert(1)</script> [click](javascript:alert(1)) {: onclick="x" } **b** _i_\n'
    "# not a heading\n- not a list `code` &amp; | a | b | :smile: ==m== ~~d~~ ^^i^^ 🎉",
    "!!! note \"not an admonition\"\n??? neither <img src=x onerror=alert(1)> 'it''s' *x*",
]


class FirstParagraphAfterTitle(HTMLParser):
    """The text of the first <p> after the page's <h1>, with <br> as a newline."""

    def __init__(self) -> None:
        super().__init__()
        self.state = "before-title"
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "h1" and self.state == "before-title":
            self.state = "after-title"
        elif tag == "p" and self.state == "after-title":
            self.state = "in-paragraph"
        elif tag == "br" and self.state == "in-paragraph":
            self.text += "\n"
        elif self.state == "in-paragraph":
            self.text += f"<{tag}>"  # any markup inside the description is a failure

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.state == "in-paragraph":
            self.state = "done"

    def handle_data(self, data: str) -> None:
        if self.state == "in-paragraph":
            self.text += data


@pytest.mark.parametrize("description", HOSTILE_DESCRIPTIONS, ids=["list-first", "admonition"])
def test_description_shows_as_plain_text(render, description: str, tmp_path: Path) -> None:
    service = render({"description": description})
    mkdocs_build(service / "mkdocs.yml", tmp_path / "site")
    parser = FirstParagraphAfterTitle()
    parser.feed((tmp_path / "site" / "index.html").read_text(encoding="utf-8"))
    assert parser.text == description
    for page, text in pages_of(service).items():
        for block in fenced_blocks(text, "bash"):
            assert not re.search("alert|not a heading|admonition", block), page
