"""The pages of a fleet site in fewer bytes: every HTML page MkDocs wrote, minified.

MkDocs Material indents its templates, so about a quarter of each page is whitespace that
the browser collapses anyway. ``build`` runs each page through minify-html, which collapses
and removes whitespace only where the HTML rendering rules make it insignificant: never inside
``<pre>`` or ``<textarea>``, a run of spaces between inline elements kept as one space (the
"Whitespace" section of https://github.com/wilsonzlin/minify-html#readme). Comments go;
closing tags, the ``<html>``/``<head>`` tags and inline scripts and styles stay as MkDocs wrote
them (no option beyond those defaults is taken). ``tests/test_fleet_minify.py`` proves the
pages read the same in Chromium: text as rendered, every code block byte for byte, every
element and attribute.

Only the fleet build minifies: a service built on its own (``techdocs-cli generate``,
Backstage's builder) keeps MkDocs' pages, as no plugin is asked of the builders.
"""

from __future__ import annotations

from pathlib import Path

import minify_html

OPTIONS = {"keep_closing_tags": True, "keep_html_and_head_opening_tags": True}


def minify_page(html: str) -> str:
    return minify_html.minify(html, **OPTIONS)


def minify_pages(site: Path) -> int:
    """Minify every ``*.html`` file of a freshly built site in place; how many there were.

    The site is MkDocs' output in the build's own staging folder, so it holds no links: each
    path is still checked to be a regular file before it is rewritten."""
    pages = [path for path in site.rglob("*.html") if path.is_file() and not path.is_symlink()]
    for page in pages:
        page.write_text(minify_page(page.read_text(encoding="utf-8")), encoding="utf-8")
    return len(pages)
