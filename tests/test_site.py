"""The project's own site (top-level mkdocs.yml): it builds with `mkdocs build --strict`, renders
the example services from the template at build time and contains all their runbooks, generates the
variable reference and the rules from rules.py, and works for a reader in a real browser
(Debian's Chromium, headless, driven by Playwright): navigation, the emergency rollback command
with its copy button, and search. Screenshots go to build/screenshots/."""

from __future__ import annotations

import fcntl
import html
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from matrix import ROOT
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError
from playwright.sync_api import Browser, Locator, Page, expect
from runbook_pages import one_line
from site_helpers import SCREENSHOTS, served
from tools import tool

from service_runbooks.mkdocs_hooks import (
    OUTPUT_ENV,
    include,
    included_files,
    read_answers,
    site_link,
)
from service_runbooks.rules import RULES

EXAMPLES = {
    path.stem: read_answers(path)
    for path in sorted((ROOT / "examples" / "services").glob("*.yaml"))
}


class Built:
    """The built site and the example services rendered for it."""

    def __init__(self, site: Path, examples: Path) -> None:
        self.site = site
        self.examples = examples

    def page(self, uri: str) -> str:
        return (self.site / uri / "index.html").read_text(encoding="utf-8")


def build_site(root: Path) -> None:
    """`mkdocs build --strict` of the project site into root/site, examples into root/examples."""
    result = subprocess.run(
        [
            tool("mkdocs"),
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(root / "site"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, OUTPUT_ENV: str(root / "examples")},
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Built:
    """One build per test run, shared by the xdist workers (the first one builds, under a lock)."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # the run's own folder, common to its workers
    root = shared / "project-site"
    with (shared / "project-site.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (root / "built").exists():
            build_site(root)
            (root / "built").touch()
    return Built(root / "site", root / "examples")


def built_pages(docs: Path) -> dict[Path, str]:
    """Each Markdown file of a docs folder and the folder of its built page."""
    pages = {}
    for markdown in sorted(docs.rglob("*.md")):
        page = markdown.relative_to(docs).with_suffix("")
        folder = page.parent if page.name == "index" else page
        pages[markdown] = "" if folder == Path(".") else folder.as_posix()
    return pages


def test_home_page_shows_the_readme(built: Built) -> None:
    """The site opens on the README, the getting-started page: its first nav entry, with the
    picture of a rollback page and the links to the pages that say the rest."""
    home = built.page("")
    assert "Your service in five minutes" in home
    assert "make serve" in home
    assert 'src="images/rollback-page.png"' in home
    assert (built.site / "images" / "rollback-page.png").is_file()
    assert 'href="usage/fleet/"' in home
    nav = load_config(config_file=str(ROOT / "mkdocs.yml")).nav
    assert nav[0] == {"Getting started": "index.md"}


def h2_titles(markdown: str) -> list[str]:
    """The text of each '## ' heading outside code blocks, without its Markdown."""
    outside_code = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return [re.sub(r"[`*]", "", t) for t in re.findall(r"^## (.+)$", outside_code, re.MULTILINE)]


def test_contributing_page_is_the_contributing_guide_in_the_nav(built: Built) -> None:
    guide = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    page = built.page("contributing")
    titles = h2_titles(guide)
    assert len(titles) >= 8
    for title in titles:  # every section of the file, in the site's table of contents
        assert re.search(rf"<h2 id=\"[^\"]+\">{re.escape(html.escape(title, quote=False))}<", page)
    nav = load_config(config_file=str(ROOT / "mkdocs.yml")).nav
    assert {"Contributing": "contributing.md"} in nav
    article = built.page("").split("<article", 1)[1]  # the page's text, not the nav
    assert 'href="contributing/"' in article  # the README's link, on the home page


def leads_to(page: Path, href: str) -> bool:
    """Whether a relative link of a built page leads to a file, and to its id when it names one."""
    path, _, anchor = href.partition("#")
    target = (page.parent / path).resolve() if path else page
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return False
    return not anchor or f'id="{anchor}"' in target.read_text(encoding="utf-8")


def broken_links(site: Path, uri: str) -> list[str]:
    """The relative links of a built page that lead to no page, or to no such id on it."""
    page = site / uri / "index.html"
    hrefs = re.findall(r'<a [^>]*href="([^"]+)"', page.read_text(encoding="utf-8"))
    relative = [html.unescape(h) for h in hrefs if not re.match(r"[a-z]+:|//", h)]
    return [href for href in relative if not leads_to(page, href)]


@pytest.mark.parametrize("uri", ["", "contributing"])
def test_links_of_the_included_readme_and_guide_work_on_the_site(built: Built, uri: str) -> None:
    assert broken_links(built.site, uri) == []


def test_broken_links_are_found(tmp_path: Path) -> None:
    """The negative control of the check above: a link to no page, and to no heading."""
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text(
        '<h2 id="here">Here</h2><a href="#here">ok</a><a href="../other/">gone</a>'
        '<a href="#nowhere">no id</a><a href="https://example.com/x">outside</a>',
        encoding="utf-8",
    )
    assert broken_links(tmp_path, "page") == ["../other/", "#nowhere"]


def test_repository_links_become_site_links() -> None:
    included = included_files(ROOT / "docs")
    assert included == {"README.md": "index.md", "CONTRIBUTING.md": "contributing.md"}
    assert site_link("docs/usage/ci.md#a-fleet-repository", "contributing.md", included) == (
        "usage/ci.md#a-fleet-repository"
    )
    assert site_link("README.md#fleet", "contributing.md", included) == "index.md#fleet"
    assert site_link("CONTRIBUTING.md", "index.md", included) == "contributing.md"
    assert site_link("README.md", "usage/new.md", included) == "../index.md"
    assert site_link("https://www.mkdocs.org/", "index.md", included) == "https://www.mkdocs.org/"
    assert site_link("#setting-up", "index.md", included) == "#setting-up"
    assert site_link("tests/matrix.py", "contributing.md", included) is None


def test_a_link_to_a_file_the_site_lacks_stops_the_build(tmp_path: Path, monkeypatch) -> None:
    """Code is left alone; a link the site cannot follow is refused by name, not left broken."""
    import service_runbooks.mkdocs_hooks as hooks

    (tmp_path / "GUIDE.md").write_text(
        "See `[x](tests/a.py)` and\n```\n[y](tests/b.py)\n```\n[the CLI](src/cli.py)\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(hooks, "TEMPLATE_ROOT", tmp_path)
    with pytest.raises(PluginError, match=r"GUIDE\.md links to 'src/cli\.py'"):
        include("GUIDE.md", "guide.md", {"GUIDE.md": "guide.md"})
    (tmp_path / "GUIDE.md").write_text("`[x](tests/a.py)` [ci](docs/usage/ci.md)", encoding="utf-8")
    assert include("GUIDE.md", "guide.md", {}) == "`[x](tests/a.py)` [ci](usage/ci.md)"


@pytest.mark.parametrize("name", EXAMPLES)
def test_site_contains_every_runbook_of_every_example(built: Built, name: str) -> None:
    docs = built.examples / name / "docs"
    pages = built_pages(docs)
    assert "runbooks/rollback" in pages.values()
    for markdown, uri in pages.items():
        title = markdown.read_text(encoding="utf-8").split("\n", 1)[0].removeprefix("# ")
        built_page = built.page(f"examples/{name}/{uri}")
        assert f">{html.escape(title, quote=False)}<" in built_page, (name, uri)
    rollback = built.page(f"examples/{name}/runbooks/rollback")
    assert f"<strong>{name}</strong>" in rollback
    search_index = (built.site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert f'"location":"examples/{name}/runbooks/rollback/"' in search_index


def test_examples_page_lists_every_example(built: Built) -> None:
    overview = built.page("examples")
    for name, answers in EXAMPLES.items():
        assert f'href="{name}/"' in overview
        assert f"<code>{answers['workload']}</code>" in overview


def test_variable_reference_and_rules_are_generated_from_the_rules(built: Built) -> None:
    variables = built.page("variables")
    assert "<!-- generated" not in variables
    for rule in RULES:
        assert f"<code>{rule.field}</code>" in variables
    assert variables.count("<tr>") == len(RULES) + 1  # the header, then one row per rule
    alerts = built.page("alerts")
    assert "<!-- generated" not in alerts
    assert "<td>ErrorBudgetBurnFast</td>" in alerts
    validation = built.page("validation")
    for rule in RULES:
        assert f'id="{rule.field}"' in validation
        if rule.pattern:
            assert html.escape(rule.pattern, quote=False) in validation, rule.field


def test_site_turns_on_every_markdown_extension_techdocs_does(render) -> None:
    """So the example runbooks look here as they do in Backstage."""
    techdocs = load_config(config_file=str(render({}) / "mkdocs.yml"))
    techdocs = techdocs.plugins.on_config(techdocs)  # techdocs-core adds its extensions here
    site = load_config(config_file=str(ROOT / "mkdocs.yml"))
    assert set(techdocs.markdown_extensions) <= set(site.markdown_extensions)
    for extension, settings in techdocs.mdx_configs.items():
        assert site.mdx_configs[extension].items() >= settings.items(), extension


# ---- in the browser ----


@pytest.fixture(scope="module")
def site_url(built: Built) -> Iterator[str]:
    """The built site over HTTP, for this module's tests."""
    with served(built.site) as origin:
        yield origin


@pytest.fixture
def page(browser: Browser, site_url: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=site_url, viewport={"width": 1280, "height": 900}, reduced_motion="reduce"
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)


def nav_section(page: Page, scope: Locator, title: str) -> Locator:
    """A collapsible section of the side navigation, opened by a click on its title if shut."""
    section = scope.locator("li.md-nav__item--nested").filter(
        has=page.locator(":scope > label", has_text=title)
    )
    if not section.locator(":scope > input.md-nav__toggle").is_checked():
        section.locator(":scope > label").click()
    return section


def copy_code(page: Page, block: Locator) -> str:
    """Click a code block's copy button; return what landed on the clipboard."""
    button = block.get_by_role("button", name="Copy to clipboard")
    expect(button).to_have_count(1)
    block.hover()
    button.click()
    return page.evaluate("navigator.clipboard.readText()")


def undo_command(name: str) -> str:
    """The example's emergency undo line, as the rendered runbook has it."""
    answers = EXAMPLES[name]
    context = f" --context {answers['kube_context']}" if answers.get("kube_context") else ""
    assert answers["workload"] == "deployment"  # the journey below uses a Deployment example
    return f"kubectl rollout undo deployment/{name} -n {answers['namespace']}{context}"


def test_reader_navigates_to_an_example_rollback_and_copies_the_command(page: Page) -> None:
    name = "payments-api"
    undo = undo_command(name)
    page.goto("/")
    expect(page.locator("h1").first).to_contain_text("service-runbooks")
    screenshot(page, "1-home")

    page.locator(".md-tabs").get_by_role("link", name="Examples", exact=True).click()
    expect(page.locator("h1").first).to_contain_text("Example services")
    nav = page.locator("nav.md-nav--primary")
    service = nav_section(page, nav, name)
    service.get_by_role("link", name="Home", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/examples/{name}/$"))
    expect(page.locator("h1").first).to_contain_text(name)
    emergency = page.locator(".admonition.danger").filter(has_text="In an emergency")
    expect(emergency).to_be_visible()
    box_code = emergency.locator(".highlight")
    expect(box_code).to_contain_text("kubectl rollout undo")
    # Broken for a phone with \ continuations: the copied text is the command, once joined.
    assert undo in one_line(copy_code(page, box_code))
    screenshot(page, "2-example-home")

    service = nav_section(page, page.locator("nav.md-nav--primary"), name)
    runbooks = nav_section(page, service, "Runbooks")
    runbooks.get_by_role("link", name="Rollback", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/examples/{name}/runbooks/rollback/$"))
    expect(page.locator("h1").first).to_contain_text("Rollback Procedure")
    quick = page.locator("h2", has_text="Quick Rollback (Emergency)")
    expect(quick).to_be_visible()
    # The first code block after the heading holds the emergency commands.
    quick_code = page.locator("h2:has-text('Quick Rollback') ~ div.highlight").first
    expect(quick_code).to_contain_text("kubectl rollout undo")
    copied = one_line(copy_code(page, quick_code))
    assert undo in copied.splitlines()  # a line that is exactly the command: no numbers, no prompt
    screenshot(page, "3-example-rollback")


def test_reader_finds_the_rollback_page_with_search(page: Page) -> None:
    name = "payments-api"
    page.goto("/")
    search = page.get_by_role("textbox", name="Search")
    search.click()
    search.press_sequentially("rollback procedure", delay=20)

    results = page.locator(".md-search-result__item > a")
    expect(page.locator(".md-search-result__meta")).to_contain_text("matching documents")
    hit = results.and_(page.locator(f"a[href*='/examples/{name}/runbooks/rollback/']")).first
    expect(hit).to_contain_text("Rollback Procedure")
    expect(hit.locator(".md-tag")).to_have_text(name)  # which service's rollback it is
    screenshot(page, "4-search")
    screenshot(page, "4-search-results-in-view", full_page=False)  # the overlay, readable

    hit.click()
    expect(page).to_have_url(re.compile(rf"/examples/{name}/runbooks/rollback/(\?h=[^/]*)?$"))
    expect(page.locator("h1").first).to_contain_text("Rollback Procedure")
    expect(page.locator("h2", has_text="Quick Rollback (Emergency)")).to_be_visible()
