"""A runbook site read on a phone (390x844) and a desktop (1280x900), in headless Chromium with
the theme's script running, as an on-call engineer opens it: one service per engine, every
optional answer given (the fullest service card), built by ``service-runbooks build`` (the
MkDocs sites the fleet publishes, and its index).

On every page: nothing scrolls sideways, every code block has Material's copy button, code in
an admonition is the size of the body's, no block of five lines or fewer shows line numbers,
text blocks (PromQL) wrap, shell blocks show the width the long commands were broken to
(``tests/phone_layout.py``). The fleet index fits a phone, as cards,
with a Rollback link per service that leads to its rollback runbook. Screenshots of each home
page, rollback page and the index, at both sizes, go to build/screenshots/phone-*.png. The home
page's emergency box and the rollback page's quick rollback start in the top half of the first
screen. Negative controls: a site built without the copy feature and the stylesheet (copy
buttons, line numbers, PromQL cut), a page with a wide element, code too large
for the commands' broken lines, and an emergency box moved down, fail the checks.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc_builds import mkdocs_build
from fleet_helpers import run_cli
from matrix import COMBINATIONS, ROOT
from oracle import Service
from phone_layout import (
    PHONE,
    VIEWPORTS,
    cut_text_blocks,
    heading_in_top_half,
    narrow_shell_blocks,
    numbered_short_blocks,
    overflow,
    reading_problems,
    site_pages,
    uncopyable_blocks,
)
from playwright.sync_api import Browser, BrowserContext, Page
from site_helpers import SCREENSHOTS, served

from service_runbooks.fleet.index_page import ROLLBACK_PAGE
from service_runbooks.rules import RULES_BY_FIELD

ENGINES = sorted({Service(answers).engine for answers in COMBINATIONS})
# Every answer the card may leave out, given: the fullest card and links a home page shows.
OPTIONAL = {field: rule.example for field, rule in RULES_BY_FIELD.items() if not rule.required}
SCREENSHOT_PAGES = {"home": "", "rollback": ROLLBACK_PAGE}
# Material asks Google Fonts for Roboto; offline it never answers: an empty stylesheet lets the
# page fall back to the system fonts at once.
GOOGLE_FONTS = re.compile(r"^https://fonts\.(googleapis|gstatic)\.com/")


def engine_answers(engine: str) -> dict[str, str]:
    """The engine's first matrix combination, every optional answer given, a name of its own."""
    first = next(a for a in COMBINATIONS if Service(a).engine == engine)
    return {**first, **OPTIONAL, "service_name": f"{engine}-api"}


@pytest.fixture(scope="module")
def fleet(render, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the rendered services, the site ``service-runbooks build`` made of them)."""
    root = tmp_path_factory.mktemp("phone")
    services = root / "services"
    for engine in ENGINES:
        rendered = render(engine_answers(engine))
        shutil.copytree(rendered, services / rendered.name)
    run_cli(ROOT, "build", services, "--site", root / "site")
    return services, root / "site"


def new_context(browser: Browser, viewport: dict[str, int]) -> BrowserContext:
    context = browser.new_context(viewport=viewport)
    context.route(GOOGLE_FONTS, lambda route: route.fulfill(body="", content_type="text/css"))
    return context


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[str, Page]]:
    """(the screen's name, a page of that size)."""
    context = new_context(browser, VIEWPORTS[request.param])
    yield request.param, context.new_page()
    context.close()


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"phone-{name}.png", full_page=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_page_reads_on_a_phone_and_a_desktop(
    fleet: tuple[Path, Path], screen: tuple[str, Page], engine: str
) -> None:
    _, site = fleet
    name, page = screen
    service = f"{engine}-api"
    pages = site_pages(site / service)
    assert len(pages) >= 10 and ROLLBACK_PAGE in pages
    problems = {}
    with served(site / service) as origin:
        for path in pages:
            open_page(page, f"{origin}/{path}")
            if found := reading_problems(page):
                problems[path or "home"] = found
            shown = next((k for k, v in SCREENSHOT_PAGES.items() if v == path), None)
            if shown:
                screenshot(page, f"{engine}-{shown}-{name}")
    assert problems == {}


def test_the_fleet_index_fits_a_phone_with_a_rollback_link_per_service(
    fleet: tuple[Path, Path], screen: tuple[str, Page]
) -> None:
    _, site = fleet
    name, page = screen
    with served(site) as origin:
        open_page(page, f"{origin}/")
        screenshot(page, f"index-{name}")
        assert overflow(page) == []
        rows = page.locator("tbody tr")
        assert rows.count() == len(ENGINES)
        width = page.viewport_size["width"]
        for row in rows.all():
            box = row.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            rollback = row.locator("a.rollback")
            assert rollback.is_visible() and rollback.inner_text() == "Rollback"
            service = row.locator("a.name").inner_text()
            assert rollback.get_attribute("href") == f"{service}/{ROLLBACK_PAGE}"
            rollback.click()
            page.wait_for_url(f"{origin}/{service}/{ROLLBACK_PAGE}")
            assert page.locator("h1").first.is_visible()
            page.go_back()
        if name == "phone":  # cards: one under the other, the table's head hidden
            assert not page.locator("thead").is_visible()
            tops = [row.bounding_box()["y"] for row in rows.all()]
            assert tops == sorted(tops) and len(set(tops)) == len(tops)


# Where each page's emergency entry starts: the heading a reader must see without scrolling.
EMERGENCY_HEADINGS = {"": "In an emergency", ROLLBACK_PAGE: "Quick Rollback"}


@pytest.mark.parametrize("engine", ENGINES)
def test_the_emergency_step_is_on_the_first_screen(
    fleet: tuple[Path, Path], screen: tuple[str, Page], engine: str
) -> None:
    """Issue 25: the home page's emergency box and the rollback page's quick rollback start in
    the top half of the first screen, on a phone and a desktop, under the fullest card."""
    _, site = fleet
    name, page = screen
    with served(site / f"{engine}-api") as origin:
        for path, heading in EMERGENCY_HEADINGS.items():
            open_page(page, f"{origin}/{path}")
            assert heading_in_top_half(page, heading), f"{path or 'home'} at {name}: {heading}"


def test_an_emergency_box_moved_down_is_caught(fleet: tuple[Path, Path], browser: Browser) -> None:
    """Negative control: the home page's box moved under the rest of the page, as it was under
    the service card, and the rollback page's quick rollback after its last section."""
    _, site = fleet
    context = new_context(browser, PHONE)
    page = context.new_page()
    with served(site / f"{ENGINES[0]}-api") as origin:
        open_page(page, f"{origin}/")
        assert heading_in_top_half(page, "In an emergency")  # as built
        page.evaluate(
            """() => { const box = document.querySelector('article .admonition.danger');
            box.parentNode.append(box); }"""
        )
        assert not heading_in_top_half(page, "In an emergency")
        open_page(page, f"{origin}/{ROLLBACK_PAGE}")
        assert heading_in_top_half(page, "Quick Rollback")  # as built
        page.evaluate(
            """() => { const h = [...document.querySelectorAll('article h2')]
                .find(e => e.textContent.startsWith('Quick Rollback'));
            h.parentNode.append(h); }"""
        )
        assert not heading_in_top_half(page, "Quick Rollback")
        assert not heading_in_top_half(page, "No heading is called this")
    context.close()


# ---- negative controls ----


def test_a_site_without_the_copy_feature_or_the_stylesheet_fails(
    fleet: tuple[Path, Path], browser: Browser, tmp_path: Path
) -> None:
    services, _ = fleet
    service = shutil.copytree(services / f"{ENGINES[0]}-api", tmp_path / "service")
    config = service / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    doctored = text.replace("    - content.code.copy\n", "").replace(
        "extra_css:\n  - stylesheets/runbooks.css\n", ""
    )
    assert doctored != text and "content.code.copy" not in doctored
    config.write_text(doctored, encoding="utf-8")
    mkdocs_build(config, tmp_path / "site")
    context = new_context(browser, PHONE)
    page = context.new_page()
    with served(tmp_path / "site") as origin:
        open_page(page, f"{origin}/{ROLLBACK_PAGE}")
        assert uncopyable_blocks(page) != []
        assert numbered_short_blocks(page) != []
        alert_pages = [path for path in site_pages(tmp_path / "site") if path.startswith("alerts/")]
        cut = []
        for path in alert_pages:
            open_page(page, f"{origin}/{path}")
            cut += cut_text_blocks(page)
        assert cut != []  # some PromQL is wider than a phone
    context.close()


def test_commands_wider_than_a_phone_shows_are_caught(
    fleet: tuple[Path, Path], browser: Browser
) -> None:
    _, site = fleet
    context = new_context(browser, PHONE)
    page = context.new_page()
    with served(site) as origin:
        open_page(page, f"{origin}/{ENGINES[0]}-api/{ROLLBACK_PAGE}")
        assert narrow_shell_blocks(page) == []  # as built
        page.evaluate(
            """() => document.querySelectorAll('article pre > code')
            .forEach(code => { code.style.fontSize = '24px'; })"""
        )
        assert narrow_shell_blocks(page) != []
    context.close()


def test_a_page_wider_than_the_screen_is_caught(fleet: tuple[Path, Path], browser: Browser) -> None:
    _, site = fleet
    context = new_context(browser, PHONE)
    page = context.new_page()
    with served(site) as origin:
        for url in (f"{origin}/", f"{origin}/{ENGINES[0]}-api/{ROLLBACK_PAGE}"):
            open_page(page, url)
            assert overflow(page) == []  # as built
            page.evaluate(
                """() => { const wide = document.createElement('div');
                wide.style.width = '2000px'; wide.textContent = 'wide';
                (document.querySelector('article') || document.body).append(wide); }"""
            )
            assert overflow(page) != []
    context.close()
