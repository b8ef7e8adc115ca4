"""The runbooks in Backstage's own TechDocs reader (issue 13): `techdocs-cli serve --no-docker`
serves a rendered service in the Backstage app that npm @techdocs/cli ships, and headless
Chromium (Debian's, driven by Playwright) opens every page of it there, each once, by turns from
the reader's nav and from a content link. One service per deployment engine, each with a
hostile description. Every Markdown page is in the reader's nav under its mkdocs.yml title and
opens. The nav is pruned: a page shows its own section's pages and each other section as one
link, which must lead to that section's first page. Headings, admonitions and tabs are the
Markdown's, every tab opens, every code block has a copy button and the first one copies its
block; every link the reader shows (nav, table of contents, content, footer) leads to a page
that opened and to an id on it; the description is plain text; no dialog opens and no request
leaves the app. The walk runs on `mkdocs serve`'s pages, then on the pages `service-runbooks
build` makes (minified), which the fleet workflow publishes. Screenshots go to
build/screenshots/reader-*.png.

Each test runs its own server on free ports (see backstage_reader.py), so they run in parallel
under plain `pytest -n auto`.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from backstage_reader import (
    ENGINES,
    READER,
    SERVICES,
    Published,
    Walk,
    check_nav,
    check_page,
    lands_on,
    not_found_view,
    reader_page,
    screenshot,
    service_pages,
    shadow_host,
    walk_service,
)
from fleet_helpers import run_cli
from hostile_inputs import CORPUS
from matrix import ROOT
from playwright.sync_api import Browser, expect

from service_runbooks.fleet.minify import minify_page


def copy_service(rendered: Path, tmp_path: Path) -> Path:
    """A copy to serve (the render is shared by the session's tests)."""
    service = tmp_path / rendered.name
    shutil.copytree(rendered, service)
    return service


def test_one_service_per_engine_with_a_hostile_description() -> None:
    assert sorted(SERVICES) == ["argo-rollouts", "argocd-helm", "helm", "kubectl-rollout"]
    assert all(answers["migration_tool"] != "none" for answers in SERVICES.values())
    assert len({answers["description"] for answers in SERVICES.values()}) == len(SERVICES)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_page_works_in_backstages_reader(
    browser: Browser, render, engine: str, tmp_path: Path
) -> None:
    answers = SERVICES[engine]
    service = copy_service(render(answers), tmp_path)
    specs = service_pages(service)
    with reader_page(browser, service, tmp_path) as page:
        walk = walk_service(page, service, answers["description"], shots=f"reader-{engine}")

    assert walk.problems == []
    assert set(walk.opened) == {spec.url for spec in specs}
    assert walk.copied == sum(1 for spec in specs if spec.code_blocks)
    assert walk.tab_sets == sum(1 for spec in specs if spec.tabs) > 0
    ways = Counter(walk.reached_by.values())
    assert ways["nav"] >= 3 and ways["link"] >= 3, ways  # pages opened by clicks of both kinds


@pytest.mark.parametrize("engine", ENGINES)
def test_the_fleet_builds_pages_work_in_backstages_reader(
    browser: Browser, render, engine: str, tmp_path: Path
) -> None:
    """The same walk over the pages `service-runbooks build` makes (minified: what the fleet
    workflow publishes to storage), which the reader gets instead of `mkdocs serve`'s."""
    answers = SERVICES[engine]
    service = copy_service(render(answers), tmp_path / "services")
    run_cli(ROOT, "build", tmp_path / "services", "--site", tmp_path / "site")
    published = Published(tmp_path / "site" / service.name)
    with reader_page(browser, service, tmp_path, published) as page:
        walk = walk_service(page, service, answers["description"])
    assert walk.problems == []
    assert len(walk.opened) == len(service_pages(service))
    # Every page came from the fleet's site, and it is the minified one.
    pages = {spec.url.removeprefix(READER) + "index.html" for spec in service_pages(service)}
    assert pages <= set(published.served)
    home = (published.site / "index.html").read_text(encoding="utf-8")
    assert minify_page(home) == home  # MkDocs' own page would shrink


def doctor(service: Path, description: str) -> None:
    """The bugs the reader check must catch: a page dropped from the nav, a link to a page that
    does not exist, the description pasted in raw. `strict: false`, because a strict MkDocs
    refuses the first two itself (test_docs_build): this shows what the reader check adds."""
    config_path = service / "mkdocs.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["strict"] = False
    runbooks = next(entry["Runbooks"] for entry in config["nav"] if "Runbooks" in entry)
    runbooks[:] = [entry for entry in runbooks if "runbooks/postmortem.md" not in entry.values()]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    home = service / "docs" / "index.md"
    lines = home.read_text(encoding="utf-8").split("\n")
    lines[2] = description  # the line under the title holds the escaped description
    text = "\n".join(lines)
    assert "(runbooks/rollback.md)" in text
    home.write_text(text.replace("(runbooks/rollback.md)", "(runbooks/rolback.md)", 1), "utf-8")


def test_a_dropped_nav_entry_a_broken_link_and_raw_text_are_caught(
    browser: Browser, render, tmp_path: Path
) -> None:
    """Negative controls: the walk above on a doctored service, and its page checks against
    wrong expectations for a page with tabs."""
    answers = {**SERVICES["kubectl-rollout"], "description": CORPUS[0]}
    service = copy_service(render(answers), tmp_path)
    doctor(service, answers["description"])
    with reader_page(browser, service, tmp_path) as page:
        walk = walk_service(page, service, answers["description"])

        tabbed = next(spec for spec in service_pages(service) if spec.tabs)
        page.goto(tabbed.url)
        assert lands_on(page, tabbed.url, tabbed) is None
        wrong = replace(
            tabbed,
            headings=[*tabbed.headings, "A heading the page lacks"],
            admonitions=tabbed.admonitions[1:],
            tabs=tabbed.tabs[::-1],
            code_blocks=tabbed.code_blocks + 1,
        )
        probe = Walk()
        check_page(page, wrong, probe)
        misled = Walk(sections={"Runbooks": {READER}})  # a section linking to the home page
        check_nav(service_pages(service), misled)

        # What a reader who clicks the broken link sees: the reader's page-not-found view.
        page.goto(READER)
        shadow_host(page).locator("article a[href*='runbooks/rolback']").first.click()
        expect(not_found_view(page)).to_be_visible()
        screenshot(page, "reader-control-page-not-found")

    assert walk.problems == [
        "description: shown as 'Pay\">'",  # and a broken image: the sanitizer dropped onerror
        "description: became markup ['IMG']",
        "runbooks/postmortem.md: not in the reader's nav",  # opened from a link to it
        f"index.md: link {READER}runbooks/rolback.md leads to no page that opens",
    ]
    assert misled.problems[:2] == [
        "nav: section 'Alerts' is never shown pruned",  # also what an unpruned nav gives
        f"nav: section 'Runbooks' links to {READER}",
    ]
    assert [problem.split(" ")[1] for problem in probe.problems] == [
        "headings",
        "admonitions",
        "tabs",
        "buttons",
    ]
