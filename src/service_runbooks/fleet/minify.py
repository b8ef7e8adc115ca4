"""The pages of a fleet site in fewer bytes: every HTML page MkDocs renders, minified.

MkDocs Material indents its templates, so about a quarter of each page is whitespace that the
browser collapses anyway. ``build`` adds ``MinifyPages`` to each service's MkDocs build, which
runs every page MkDocs renders (the pages, and HTML templates such as 404.html) through
minify-html before MkDocs writes it; files MkDocs only copies from docs/ are left alone.
minify-html collapses and removes whitespace only where the HTML rendering rules make it
insignificant (never inside ``<pre>`` or ``<textarea>``; a run of spaces between inline elements
stays one space), drops comments, the quotes an attribute value does not need and attributes
that only repeat the default (``type=text`` on an input), writes a boolean attribute bare
(``checked="checked"`` as ``checked``) and entities in their shortest safe form (the list of
what it minifies: https://github.com/wilsonzlin/minify-html#readme). Closing tags, the
``<html>``/``<head>`` tags and inline scripts and styles stay as MkDocs wrote them (OPTIONS).
``tests/test_fleet_minify.py`` checks the pages read the same in Chromium.

Only the fleet build minifies: a service built on its own (``techdocs-cli generate``,
Backstage's builder) keeps MkDocs' pages, as no plugin is asked of the builders.
"""

from __future__ import annotations

from typing import Any

import minify_html
from mkdocs.plugins import BasePlugin

OPTIONS = {"keep_closing_tags": True, "keep_html_and_head_opening_tags": True}
PLUGIN_NAME = "service-runbooks-minify"  # its key among the build's plugins


def minify_page(html: str) -> str:
    return minify_html.minify(html, **OPTIONS)


class MinifyPages(BasePlugin):
    """MkDocs' events for rendered output, before it is written: each page, and each static
    template that is HTML (not sitemap.xml or techdocs-core's techdocs_metadata.json).
    https://www.mkdocs.org/dev-guide/plugins/#on_post_page and #on_post_template"""

    def on_post_page(self, output: str, /, *, page: Any, config: Any) -> str:
        return minify_page(output)

    def on_post_template(self, output_content: str, /, *, template_name: str, config: Any) -> str:
        return minify_page(output_content) if template_name.endswith(".html") else output_content
