"""The fleet build's minified pages read exactly as MkDocs' own (fleet/minify.py).

Each service of the Backstage reader's set (one per engine, hostile descriptions) is built with
`mkdocs build --strict`, and by `service-runbooks build`. Headless Chromium opens every page of
both, with the theme's stylesheets and without scripts (so the page is what the HTML and CSS
make, not what the theme's JavaScript does afterwards), every collapsible block opened and
every tab's panel shown, and the two must agree on: the words as rendered (``innerText``, which
follows CSS whitespace rules and leaves out what is hidden: hence everything is shown first),
every ``<pre>`` byte for byte (the commands people copy), every inline script and style byte
for byte, every element with its attributes, and where each element is laid out. What MkDocs
renders that is not HTML (sitemap, search index) is left alone. Negative controls: minifiers
wrong in the ways a minifier can be (whitespace collapsed inside code blocks; whitespace between
tags dropped, which glues inline words; words glued only in tab panels shown later; a script
changed) are caught.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from backstage_reader import ENGINES, SERVICES
from doc_builds import mkdocs_build
from fleet_helpers import run_cli
from matrix import ROOT
from playwright.sync_api import Browser, Page
from site_helpers import served

from service_runbooks.fleet.minify import minify_page

VIEWPORT = {"width": 1280, "height": 900}  # wide enough for both sidebars

# Everything the comparison needs from a page, read in one call.
READ_PAGE = """() => {
  // class is a set of tokens (https://html.spec.whatwg.org/#classes); a boolean attribute
  // means the same whatever its value (https://html.spec.whatwg.org/#boolean-attributes)
  const flags = new Set(['checked', 'open', 'hidden', 'disabled', 'selected', 'defer', 'async']);
  const value = a => a.name === 'class' ? [...a.ownerElement.classList].sort().join(' ')
    : flags.has(a.name) ? '' : a.value;
  const attrs = e => [...e.attributes].map(a => `${a.name}=${value(a)}`).sort().join(' ');
  const box = e => { const r = e.getBoundingClientRect();
    return [r.x, r.y, r.width, r.height].map(v => Math.round(v * 2) / 2).join(','); };
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const reveal = document.createElement('style');  // every tab's panel, not only the first
  reveal.textContent = '.tabbed-block { display: block !important; }';
  document.head.append(reveal);
  const elements = [...document.querySelectorAll('*')];
  return {
    text: document.body.innerText,
    pre: [...document.querySelectorAll('pre')].map(p => p.textContent),
    inline: [...document.querySelectorAll('script, style')].map(e => e.textContent),
    elements: elements.map(e => `${e.tagName.toLowerCase()} ${attrs(e)}`),
    boxes: elements.map(box),
  };
}"""


def read(page: Page, url: str) -> dict:
    page.goto(url)
    return page.evaluate(READ_PAGE)


def words(text: str) -> str:
    """Rendered text with each run of whitespace as one space: a line break in ``innerText``
    that only whitespace made is no difference a reader sees (the layout check covers where
    things are); two words glued together or split apart are."""
    return " ".join(text.split())


def differences(page: Page, plain: Path, minified: Path) -> list[str]:
    """How each page of ``minified`` reads differently from the same page of ``plain``. Each
    site is served at a server's root: 404.html links its stylesheets from the root (MkDocs
    writes it for any missing address), so a file: URL would show it bare."""
    found = []
    with served(plain) as plain_url, served(minified) as minified_url:
        for path in sorted(plain.rglob("*.html")):
            name = path.relative_to(plain).as_posix()
            before = read(page, f"{plain_url}/{name}")
            after = read(page, f"{minified_url}/{name}")
            found += page_differences(name, before, after)
    return found


def page_differences(name: str, before: dict, after: dict) -> list[str]:
    found = []
    if before["pre"] != after["pre"]:
        found.append(f"{name}: a code block changed")
    if before["inline"] != after["inline"]:
        found.append(f"{name}: an inline script or style changed")
    if words(before["text"]) != words(after["text"]):
        found.append(f"{name}: the text reads differently")
    if before["elements"] != after["elements"]:
        found.append(f"{name}: elements or attributes changed")
    elif before["boxes"] != after["boxes"]:
        found.append(f"{name}: the layout moved")
    return found


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_minified_pages_read_as_mkdocs_wrote_them(
    page: Page, render, engine: str, tmp_path: Path
) -> None:
    service = render(SERVICES[engine])
    plain = tmp_path / "plain"
    mkdocs_build(service / "mkdocs.yml", plain)
    shutil.copytree(service, tmp_path / "services" / service.name)
    run_cli(ROOT, "build", tmp_path / "services", "--site", tmp_path / "site")
    minified = tmp_path / "site" / service.name

    html = sorted(path.relative_to(plain) for path in plain.rglob("*.html"))
    assert sorted(path.relative_to(minified) for path in minified.rglob("*.html")) == html
    assert len(html) >= 20
    for name in ["sitemap.xml", "search/search_index.json"]:  # rendered, not HTML: as they were
        assert (minified / name).read_bytes() == (plain / name).read_bytes(), name
    plain_bytes = sum((plain / name).stat().st_size for name in html)
    minified_bytes = sum((minified / name).stat().st_size for name in html)
    assert minified_bytes < 0.8 * plain_bytes  # the point of it: a fifth or more of every page
    assert differences(page, plain, minified) == []


def minified_copy(site: Path, destination: Path, minify: Callable[[str], str]) -> Path:
    shutil.copytree(site, destination)
    for path in destination.rglob("*.html"):
        path.write_text(minify(path.read_text(encoding="utf-8")), encoding="utf-8")
    return destination


def collapse_everywhere(html: str) -> str:
    return re.sub(r"\s+", " ", minify_page(html))


def drop_space_between_tags(html: str) -> str:
    return re.sub(r">\s+<", "><", minify_page(html))


def glue_words_in_later_tabs(html: str) -> str:
    """Two words glued in each tab panel but a set's first, which a reader sees only after
    clicking its tab (innerText alone leaves it out)."""
    panels = minify_page(html).split("<div class=tabbed-block>")
    out = panels[0]
    for panel in panels[1:]:
        later = not out.endswith("<div class=tabbed-content>")
        out += "<div class=tabbed-block>"
        out += re.sub(r">([^<]*?\w) (\w)", r">\1\2", panel, count=1) if later else panel
    return out


def change_a_script(html: str) -> str:
    return minify_page(html).replace('"base":', '"base" :', 1)


def test_a_minifier_that_changes_code_or_text_is_caught(page: Page, render, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    mkdocs_build(render(SERVICES["kubectl-rollout"]) / "mkdocs.yml", plain)
    wrong = {
        minify.__name__: differences(page, plain, minified_copy(plain, tmp_path / name, minify))
        for name, minify in [
            ("a", collapse_everywhere),
            ("b", drop_space_between_tags),
            ("c", glue_words_in_later_tabs),
            ("d", change_a_script),
        ]
    }
    assert "runbooks/rollback/index.html: a code block changed" in wrong["collapse_everywhere"]
    glued = "runbooks/rollback/index.html: the text reads differently"
    assert glued in wrong["drop_space_between_tags"]
    assert wrong["glue_words_in_later_tabs"] == [
        "runbooks/scaling/index.html: the text reads differently"
    ]
    assert "index.html: an inline script or style changed" in wrong["change_a_script"]
