"""Backstage's own TechDocs reader, as `techdocs-cli serve --no-docker` runs it (the Backstage app
that npm @techdocs/cli ships), driven in headless Chromium: what a rendered service's pages must
look like there (from its mkdocs.yml and Markdown), and a walk through every page that reports
what differs.

Ports: the app's config is compiled into its bundle with `app.baseUrl` and `backend.baseUrl`
`http://localhost:3000`, which is why `techdocs-cli serve` refuses `--preview-app-port` without
`--preview-app-bundle-path` (node_modules/@techdocs/cli/dist/index.cjs.js, the serve command's
preAction hook). Each server here gets free ports (`--mkdocs-port`, `--preview-app-port` and the
CLI's own bundle as the bundle path), and the browser context sends every request for
localhost:3000 to that server, so two servers never fight for a port under pytest-xdist and the
app runs unchanged at the origin it was built for.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest
import yaml
from hostile_inputs import CORPUS
from matrix import COMBINATIONS, ROOT
from mkdocs.structure.files import File
from oracle import Service
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from runbook_pages import FENCE, fence_languages, headings
from site_helpers import SCREENSHOTS
from tools import node_tool

APP_ORIGIN = "http://localhost:3000"
# `techdocs-cli serve` prints this address: the reader for the docs in its working folder.
READER = f"{APP_ORIGIN}/docs/default/component/local/"
# The app the CLI serves when no other bundle is given (findPreviewBundlePath in its serve module).
BUNDLE = ROOT / "node_modules" / "@techdocs" / "cli" / "dist" / "embedded-app"
# Material's theme asks Google Fonts for Roboto; offline it never answers. An empty stylesheet
# lets the page fall back to the system fonts at once.
GOOGLE_FONTS = re.compile(r"^https://fonts\.(googleapis|gstatic)\.com/")
VIEWPORT = {"width": 1280, "height": 900}
LOST_CLICK_MS = 10_000  # a click that has not changed the address by then was lost
SERVER_READY_SECONDS = 120  # the CLI itself polls mkdocs every 3 s, up to 30 times
MKDOCS_FAILED = re.compile(
    r"\[mkdocs\] (ERROR|Aborted|Error)|Address already in use|mkdocs server did not start"
)
ADMONITION = re.compile(r'^ *(?:!!!|\?\?\?\+?) +([\w-]+)(?: +"([^"]*)")?', flags=re.MULTILINE)
TAB = re.compile(r'^ *=== +"([^"]*)"', flags=re.MULTILINE)


# ---- the server ----


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on, all different (each held open until all are chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_until_serving(origin: str, process: subprocess.Popen, log: Path) -> None:
    """Until the app proxies mkdocs' home page; fails at once when mkdocs or the CLI gives up."""
    deadline = time.monotonic() + SERVER_READY_SECONDS
    while time.monotonic() < deadline:
        printed = log.read_text(encoding="utf-8", errors="replace")
        if process.poll() is not None or MKDOCS_FAILED.search(printed):
            pytest.fail(f"techdocs-cli serve failed (exit {process.poll()}):\n{printed}")
        try:
            with urllib.request.urlopen(f"{origin}/api/techdocs/index.html", timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)  # the interval between two polls, not a wait for the server
    pytest.fail(f"techdocs-cli serve not serving after {SERVER_READY_SECONDS} s:\n{printed}")


@contextmanager
def techdocs_serve(service: Path, workdir: Path) -> Iterator[str]:
    """`techdocs-cli serve --no-docker` in the service's folder, on free ports; yields the app's
    real origin. The server's process group is killed however the test ends."""
    if not (BUNDLE / "index.html").is_file():
        pytest.fail(f"the TechDocs preview app is missing ({BUNDLE}); run `make install`")
    mkdocs_port, app_port = free_ports(2)
    temp = workdir / "tmp"  # mkdocs serve's and techdocs-core's temporary folders, killed with it
    temp.mkdir(parents=True)
    log = workdir / "techdocs-serve.log"
    command = [
        node_tool("techdocs-cli"),
        "serve",
        "--no-docker",
        "--verbose",  # mkdocs' output, to fail fast on its errors
        "--mkdocs-port",
        str(mkdocs_port),
        "--preview-app-port",
        str(app_port),
        "--preview-app-bundle-path",
        str(BUNDLE),
    ]
    # BROWSER=none: the CLI opens a browser with react-dev-utils' openBrowser, which it disables.
    env = {**os.environ, "BROWSER": "none", "TMPDIR": str(temp)}
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            command,
            cwd=service,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: node, mkdocs and their children
        )
    try:
        origin = f"http://127.0.0.1:{app_port}"
        wait_until_serving(origin, process, log)
        yield origin
    finally:
        # SIGKILL: on SIGTERM node only stops mkdocs, and its HTTP server keeps it running.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def route_app(context: BrowserContext, origin: str) -> None:
    """The browser reaches the app at APP_ORIGIN, served by the server at ``origin``; Google
    Fonts get an empty stylesheet."""

    def forward(route: Route) -> None:
        url = origin + route.request.url.removeprefix(APP_ORIGIN)
        route.fulfill(response=route.fetch(url=url))

    context.route(f"{APP_ORIGIN}/**", forward)
    context.route(
        GOOGLE_FONTS, lambda route: route.fulfill(status=200, content_type="text/css", body="")
    )


# Where the preview app asks for the docs' files (the CLI proxies them to `mkdocs serve`:
# node_modules/@techdocs/cli/dist/cjs/serve-*.cjs.js, proxyEndpoint), and its one other call there.
DOCS_FILES = f"{APP_ORIGIN}/api/techdocs/"
AUTH_COOKIE = f"{DOCS_FILES}.backstage/auth/v1/cookie"


@dataclass
class Published:
    """A built site (as published to storage) for the reader to get the docs' files from."""

    site: Path
    served: list[str] = field(default_factory=list)  # the files the reader got from it


def route_docs_to(context: BrowserContext, published: Published) -> None:
    """The reader gets the docs' files from the published site instead of `mkdocs serve`; a
    missing file is a 404, as storage answers."""

    def serve_file(route: Route) -> None:
        if route.request.url == AUTH_COOKIE:
            route.fallback()
            return
        relative = urldefrag(route.request.url)[0].removeprefix(DOCS_FILES).split("?")[0]
        path = published.site / relative
        if path.is_dir():
            path = path / "index.html"
        if ".." in Path(relative).parts or not path.is_file():
            route.fulfill(status=404, body="not found")
        else:
            published.served.append(path.relative_to(published.site).as_posix())
            route.fulfill(path=path)

    context.route(f"{DOCS_FILES}**", serve_file)  # tried before route_app's, registered later


@contextmanager
def reader_page(
    browser: Browser, service: Path, workdir: Path, published: Published | None = None
) -> Iterator[Page]:
    """A browser tab on the reader of the service, served by its own `techdocs-cli serve`; with
    ``published``, the pages come from that built site rather than from `mkdocs serve`."""
    with techdocs_serve(service, workdir) as origin:
        context = browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
        try:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=APP_ORIGIN)
            context.set_default_timeout(30_000)  # generous: a failure waits, a pass does not
            route_app(context, origin)
            if published is not None:
                route_docs_to(context, published)
            yield context.new_page()
        finally:
            context.close()


# ---- what each page must show, from the rendered service ----


@dataclass(frozen=True)
class PageSpec:
    source: str  # its Markdown file, under docs/
    url: str  # where the reader shows it
    nav: tuple[str, ...]  # its sections and title in mkdocs.yml's nav; () when in none
    headings: list[str]
    admonitions: list[tuple[str, str]]  # (kind, title)
    tabs: list[str]
    code_blocks: int

    @property
    def title(self) -> str:
        return self.headings[0]


def nav_entries(nav: list, sections: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple]]:
    """(Markdown file, its sections and title) of every page in an mkdocs.yml nav, in order."""
    for entry in nav:
        ((title, target),) = entry.items()
        if isinstance(target, list):
            yield from nav_entries(target, (*sections, title))
        else:
            yield target, (*sections, title)


def page_url(source: str) -> str:
    """The reader's URL of a page, as MkDocs names it (directory URLs, which TechDocs uses)."""
    return urljoin(READER, File(source, "docs", "site", use_directory_urls=True).url)


def page_spec(source: str, markdown: str, nav: tuple[str, ...]) -> PageSpec:
    prose = FENCE.sub("", markdown)
    return PageSpec(
        source=source,
        url=page_url(source),
        nav=nav,
        headings=headings(markdown),
        # A title's `code` shows as its text: the reader's title has no backticks.
        admonitions=[
            (kind, (title or kind.title()).replace("`", ""))
            for kind, title in ADMONITION.findall(prose)
        ],
        tabs=TAB.findall(prose),
        code_blocks=len(fence_languages(markdown)),
    )


def service_pages(service: Path) -> list[PageSpec]:
    """Every Markdown page of the service: those in mkdocs.yml's nav first, in its order."""
    config = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    in_nav = dict(nav_entries(config["nav"]))
    docs = service / "docs"
    files = sorted(str(path.relative_to(docs)) for path in docs.rglob("*.md"))
    ordered = [source for source in in_nav if source in files]
    ordered += [source for source in files if source not in in_nav]
    return [
        page_spec(source, (docs / source).read_text(encoding="utf-8"), in_nav.get(source, ()))
        for source in ordered
    ]


# ---- the walk ----

# What the reader shows of a page, read in one call from the shadow root Backstage renders it in.
READ_PAGE = """host => {
  const root = host.shadowRoot, article = root.querySelector('article');
  const text = e => e.textContent.replace(/\\u00b6\\s*$/, '').replace(/\\s+/g, ' ').trim();
  const hrefs = links => [...links].map(a => a.href);
  return {
    headings: [...article.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(text),
    admonitions: [...article.querySelectorAll('.admonition, details')].map(a => [
      [...a.classList].find(c => c !== 'admonition') || '',
      text(a.querySelector('.admonition-title, summary'))]),
    tabs: [...article.querySelectorAll('.tabbed-labels > label')].map(text),
    buttons: [...article.querySelectorAll('div.highlight')].map(
      b => b.querySelectorAll('button.md-clipboard').length),
    ids: [...article.querySelectorAll('[id]')].map(e => e.id),
    nav: [...root.querySelectorAll('nav.md-nav--primary a.md-nav__link')]
      .filter(a => !a.hash)
      // Material marks a pruned section's item md-nav__item--pruned
      // (mkdocs-material 9.7.7, material/templates/partials/nav-item.html, render_pruned)
      .map(a => [a.href, text(a), a.parentElement.classList.contains('md-nav__item--pruned')]),
    content_links: hrefs(article.querySelectorAll('a[href]')),
    links: hrefs(root.querySelectorAll('a[href]')),
  };
}"""


@dataclass
class Walk:
    """What a walk through a service in the reader saw, and what it found wrong."""

    problems: list[str] = field(default_factory=list)
    opened: dict[str, set[str]] = field(default_factory=dict)  # page URL -> its element ids
    reached_by: dict[str, str] = field(default_factory=dict)  # page URL -> "nav" or "link"
    failed: set[str] = field(default_factory=set)  # page URLs a click did not open
    # The reader's nav, pruned (navigation.prune in mkdocs.yml): each page shows its own
    # section's pages, and every other section as one link to that section's first page.
    nav: dict[str, str] = field(default_factory=dict)  # page URL -> title, on any page
    sections: dict[str, set[str]] = field(default_factory=dict)  # section -> URLs it linked to
    nav_on: dict[str, set[str]] = field(default_factory=dict)  # page URL -> URLs its nav shows
    links: dict[str, set[str]] = field(default_factory=dict)  # link -> pages showing it
    tab_sets: int = 0
    copied: int = 0


def shadow_host(page: Page) -> Locator:
    return page.locator("[data-testid=techdocs-native-shadowroot]")


def not_found_view(page: Page) -> Locator:
    """The reader's view for a page the docs do not have ("ERROR 404: Error: Page not found",
    above Backstage's "Looks like someone dropped the mic!")."""
    return page.get_by_text("ERROR 404", exact=False)


def heading_pattern(title: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(title)}\s*¶?\s*$")


def lands_on(page: Page, url: str, spec: PageSpec) -> str | None:
    """None when the reader shows ``spec``'s page at ``url``; what it shows otherwise."""
    try:
        expect(page).to_have_url(url)
        expect(shadow_host(page).locator("article h1")).to_have_text(heading_pattern(spec.title))
    except AssertionError as error:
        shown = "the page-not-found view" if not_found_view(page).is_visible() else "another page"
        return f"{shown} ({str(error).splitlines()[0]})"
    return None


def screenshot(page: Page, name: str) -> None:
    """The whole page: Backstage scrolls its <main> (the first; the reader has its own inside),
    so the viewport grows to its height."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    main = page.locator("main").first
    height = main.evaluate("m => m.getBoundingClientRect().top + m.scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height)})
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    page.set_viewport_size(VIEWPORT)


def check_nav(specs: list[PageSpec], walk: Walk) -> None:
    """The reader's nav holds every page under its mkdocs.yml title, and nothing else; a
    pruned section links to its first page."""
    first_pages = {}
    for spec in specs:
        if len(spec.nav) > 1:
            first_pages.setdefault(spec.nav[0], spec.url)
    for section in first_pages:  # every page shows every other section pruned
        if section not in walk.sections:
            walk.problems.append(f"nav: section {section!r} is never shown pruned")
    for section, urls in sorted(walk.sections.items()):
        for url in sorted(urls - {first_pages.get(section)}):
            walk.problems.append(f"nav: section {section!r} links to {url}")
    for spec in specs:
        if spec.url not in walk.nav:
            walk.problems.append(f"{spec.source}: not in the reader's nav")
        elif not heading_pattern(spec.nav[-1] if spec.nav else "").match(walk.nav[spec.url]):
            walk.problems.append(f"{spec.source}: nav title {walk.nav[spec.url]!r} not {spec.nav}")
    pages = {spec.url for spec in specs}
    walk.problems += [f"nav: {url} is no page" for url in walk.nav if url not in pages]


def check_page(page: Page, spec: PageSpec, walk: Walk) -> list[str]:
    """Headings, admonitions, tabs and code blocks as the Markdown has them; every tab opens,
    the first copy button copies its block. Records ids, links and the nav; returns the page's
    content links."""
    shown = shadow_host(page).evaluate(READ_PAGE)
    expected = {
        "headings": spec.headings,
        "admonitions": [list(a) for a in spec.admonitions],
        "tabs": spec.tabs,
        "buttons": [1] * spec.code_blocks,  # one copy button on every code block
    }
    for what, value in expected.items():
        if shown[what] != value:
            walk.problems.append(f"{spec.source}: {what} {shown[what]} instead of {value}")
    walk.opened[spec.url] = set(shown["ids"])
    walk.nav_on[spec.url] = {url for url, _, _ in shown["nav"]}
    for url, title, pruned in shown["nav"]:
        if pruned:
            walk.sections.setdefault(title, set()).add(url)
        else:
            walk.nav[url] = title
    for link in shown["links"]:
        walk.links.setdefault(link, set()).add(spec.source)

    article = shadow_host(page).locator("article")
    tab_sets = article.locator(".tabbed-set").all()
    for tab_set in tab_sets:
        labels = tab_set.locator(":scope > .tabbed-labels > label")
        blocks = tab_set.locator(":scope > .tabbed-content > .tabbed-block")
        for index in range(labels.count()):
            labels.nth(index).click()
            for other in range(blocks.count()):
                if other == index:
                    expect(blocks.nth(other)).to_be_visible()
                else:
                    expect(blocks.nth(other)).to_be_hidden()
    # Pages with tabs (a page may hold several sets, as the scaling page under GitOps does).
    walk.tab_sets += 1 if tab_sets else 0
    if spec.code_blocks:
        block = article.locator("div.highlight").first
        block.hover()
        block.locator("button.md-clipboard").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.rstrip("\n") == block.locator("code").inner_text().rstrip("\n"), spec.source
        walk.copied += 1
    return shown["content_links"]


def check_description(page: Page, description: str, walk: Walk) -> None:
    """On the home page, the description is the paragraph under the title, as text only."""
    paragraph = shadow_host(page).locator("article h1 + p")
    shown = paragraph.inner_text()
    if shown.split() != description.split():
        walk.problems.append(f"description: shown as {shown!r}")
    markup = paragraph.evaluate("p => [...p.querySelectorAll(':not(br)')].map(e => e.tagName)")
    if markup:
        walk.problems.append(f"description: became markup {markup}")


def check_links(walk: Walk) -> None:
    """Every link the reader showed: inside the docs, to a page that opened and an id on it."""
    for link, sources in sorted(walk.links.items()):
        where = ", ".join(sorted(sources))
        if not link.startswith(APP_ORIGIN):
            if not link.startswith(("https://", "http://", "mailto:")):
                walk.problems.append(f"{where}: link {link} is not a web address")
            continue
        target, fragment = urldefrag(link)
        if target not in walk.opened:
            walk.problems.append(f"{where}: link {link} leads to no page that opens")
        elif fragment and fragment not in walk.opened[target]:
            walk.problems.append(f"{where}: link {link} names no element of its page")


def leaves_app(url: str) -> bool:
    return not (url.startswith((APP_ORIGIN, "data:", "blob:")) or GOOGLE_FONTS.match(url))


def click_once_more_if_lost(page: Page, url: str, click: Callable[[], None]) -> None:
    """Click, and click again once if the address has not changed after a while. On a loaded
    machine a click can land while the reader is still replacing the previous page's DOM, and
    is lost; a link that is really broken fails both times, and ``lands_on`` reports it."""
    click()
    try:
        page.wait_for_url(url, timeout=LOST_CLICK_MS)
    except PlaywrightTimeoutError:
        click()


def click_nav_entry(page: Page, url: str) -> None:
    """Click a link of the reader's nav that leads to ``url``: the page's entry in the open
    section, or a pruned section's link."""
    nav = shadow_host(page).locator("nav.md-nav--primary")
    nav.locator(f'a.md-nav__link[href="{url}"]').first.click()


def next_click(
    current: PageSpec,
    specs: list[PageSpec],
    content_links: dict[str, list[str]],
    walk: Walk,
) -> tuple[str, str] | None:
    """The next page to open and how: by turns a content link of this page and a link of its
    nav, to a page not opened yet; else the address of an opened page that links to one (in its
    content or its nav); None when done.
    """
    known = {spec.url for spec in specs}

    def unopened(link: str) -> bool:
        url = urldefrag(link)[0]
        return url in known and url not in walk.opened and url not in walk.failed

    by_link = next((link for link in content_links[current.url] if unopened(link)), None)
    in_nav = walk.nav_on[current.url]
    by_nav = next((s.url for s in specs if unopened(s.url) and s.url in in_nav), None)
    if by_link and (by_nav is None or len(walk.reached_by) % 2):
        return by_link, "link"
    if by_nav:
        return by_nav, "nav"
    linking = (
        url
        for url, links in content_links.items()
        if any(map(unopened, [*links, *walk.nav_on[url]]))
    )
    source = next(linking, None)
    return (source, "address") if source else None


def walk_service(page: Page, service: Path, description: str, *, shots: str | None = None) -> Walk:
    """Open every page of the service in the reader, each once, by clicks (see next_click); check
    each, then the nav and every link the reader showed. Returns what was wrong."""
    walk = Walk()
    specs = service_pages(service)
    by_url = {spec.url: spec for spec in specs}
    first_with_tabs = next((spec.source for spec in specs if spec.tabs), None)
    pictured = {"index.md", "runbooks/rollback.md", first_with_tabs}
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    outside: list[str] = []  # the reader must work offline: nothing but the app and the fonts
    page.on(
        "request", lambda request: outside.append(request.url) if leaves_app(request.url) else None
    )

    page.goto(READER)
    spec, how = by_url[READER], "address"
    problem = lands_on(page, READER, spec)
    assert problem is None, f"the reader does not show the home page: {problem}"
    content_links: dict[str, list[str]] = {}  # page URL -> its content links
    while True:
        if spec.url not in content_links:
            walk.reached_by[spec.url] = how
            if shots and spec.source in pictured:
                screenshot(page, f"{shots}-{spec.source.removesuffix('.md').replace('/', '-')}")
            content_links[spec.url] = check_page(page, spec, walk)
            if spec.url == READER:
                check_description(page, description, walk)

        step = next_click(spec, specs, content_links, walk)
        if step is None:
            break
        url, how = step
        if how == "link":
            link = shadow_host(page).locator(f'article a[href="{url}"]').first
            click_once_more_if_lost(page, url, link.click)
        elif how == "nav":
            click_once_more_if_lost(page, url, functools.partial(click_nav_entry, page, url))
        else:
            page.goto(url)
        spec = by_url[urldefrag(url)[0]]
        problem = lands_on(page, url, spec)
        if problem:
            walk.problems.append(f"{spec.source}: opened by {how} ({url}), shows {problem}")
            walk.failed.add(spec.url)
            page.goto(READER)  # back to a page with the nav
            spec, how = by_url[READER], "address"

    check_nav(specs, walk)
    check_links(walk)
    walk.problems += [f"{s.source}: never opened" for s in specs if s.url not in walk.opened]
    walk.problems += [f"a dialog opened: {message}" for message in dialogs]
    walk.problems += [f"a request left the app: {url}" for url in sorted(set(outside))]
    return walk


# One service per engine, each with a hostile description: the reader's and the minifier's tests.
# Descriptions that would be an element, a script, links or Markdown blocks if pasted raw.
HOSTILE = [CORPUS[0], CORPUS[2], CORPUS[4], CORPUS[7]]
ENGINES = sorted({Service(answers).engine for answers in COMBINATIONS})


def engine_service(engine: str) -> dict[str, str]:
    """The engine's first combination with the most pages and tabs: with a database, and with
    GitOps when the engine allows it (the scaling page then has tabs)."""
    candidates = [answers for answers in COMBINATIONS if Service(answers).engine == engine]
    chosen = max(candidates, key=lambda a: (a["migration_tool"] != "none", a["gitops"] != "none"))
    return {**chosen, "description": HOSTILE[ENGINES.index(engine) % len(HOSTILE)]}


SERVICES = {engine: engine_service(engine) for engine in ENGINES}
