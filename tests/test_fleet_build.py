"""``service-runbooks build``: a TechDocs site per service, rebuilt only when needed, and an
index page that lists every service and filters them by name and owner in a real browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from doc_builds import mkdocs_build
from fleet_helpers import (
    copy_template,
    minify_like_the_fleet,
    run_cli,
    site_snapshot,
    snapshot,
    write_fleet,
)
from playwright.sync_api import Browser

from service_runbooks.fleet.index_page import read_card
from service_runbooks.fleet.techdocs_metadata import GENERATED_FIELDS
from service_runbooks.fleet.workdir import exclusive

HOSTILE = 'Ships <script>alert("x")</script> & "quotes" 💥'
SERVICES = [
    {"service_name": "payments-api", "owner": "team-payments", "description": HOSTILE},
    {
        "service_name": "orders",
        "owner": "team-commerce",
        "lifecycle": "experimental",
        "github_repo": "acme/orders",
        "dashboard_url": "https://grafana.example.com/d/orders",
    },
    {
        "service_name": "search",
        "owner": "team-commerce",
        "lifecycle": "deprecated",
        "alerting": False,
    },
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(template, rendered services, site) after one render and one build."""
    root = tmp_path_factory.mktemp("fleet-build")
    template = copy_template(root / "template")
    fleet = write_fleet(root / "fleet.yaml", SERVICES)
    run_cli(template, "render", fleet, "--output", root / "out")
    # One worker: the later sites are built with the worker's shared caches warm.
    result = run_cli(template, "build", root / "out", "--site", root / "site", "--jobs", "1")
    assert "3 sites: 3 built, 0 unchanged, 0 failed" in result.stdout
    return template, root / "out", root / "site"


def rows(index: Path) -> list[str]:
    return re.findall(r"<tr data-search=.*?</tr>", index.read_text(encoding="utf-8"))


def test_each_service_gets_its_own_techdocs_site(built: tuple[Path, Path, Path]) -> None:
    _, _, site = built
    for service in SERVICES:
        name = service["service_name"]
        assert (site / name / "index.html").is_file()
        assert (site / name / "runbooks" / "rollback" / "index.html").is_file()
        assert (site / name / "search" / "search_index.json").is_file()


def test_a_site_is_what_mkdocs_build_strict_makes(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, out, site = built
    config = out / "search" / "mkdocs.yml"
    mkdocs_build(config, tmp_path / "cli")
    # The same site, its pages minified (test_fleet_minify.py), plus the fields techdocs-cli
    # generate adds (test_fleet_metadata.py).
    minify_like_the_fleet(tmp_path / "cli")
    plain = site_snapshot(tmp_path / "cli", drop=GENERATED_FIELDS)
    assert site_snapshot(site / "search", drop=GENERATED_FIELDS) == plain


def test_the_index_lists_every_service_with_owner_lifecycle_and_links(
    built: tuple[Path, Path, Path],
) -> None:
    _, _, site = built
    index = site / "index.html"
    found = rows(index)
    assert len(found) == len(SERVICES)
    by_name = {re.search(r'href="([^"/]+)/"', row).group(1): row for row in found}
    assert set(by_name) == {s["service_name"] for s in SERVICES}
    assert "team-commerce" in by_name["orders"] and "experimental" in by_name["orders"]
    assert 'href="https://github.com/acme/orders"' in by_name["orders"]
    assert 'href="https://grafana.example.com/d/orders"' in by_name["orders"]
    assert "production" in by_name["payments-api"] and "deprecated" in by_name["search"]
    text = index.read_text(encoding="utf-8")
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; 💥" in text
    listed = json.loads((site / "services.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in listed] == ["orders", "payments-api", "search"]


def test_each_card_links_straight_to_its_services_rollback_runbook(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, out, site = built
    for service in SERVICES:
        name = service["service_name"]
        row = next(r for r in rows(site / "index.html") if f'href="{name}/"' in r)
        page = f"{name}/runbooks/rollback/"
        assert f'<a class="rollback" href="{page}">Rollback</a>' in row
        assert "<h1" in (site / page / "index.html").read_text(encoding="utf-8")
    # Negative control: a service whose site has no rollback page gets no Rollback link.
    card, _ = read_card(out / "orders", has_site=True, has_rollback=False)
    assert card.rollback is None and card.docs == "orders/"


def test_the_index_and_services_json_show_each_services_alerts(
    built: tuple[Path, Path, Path],
) -> None:
    _, out, site = built
    listed = {s["name"]: s for s in json.loads((site / "services.json").read_text())}
    assert listed["search"]["alerts"] == []  # alerting: false
    rules = yaml.safe_load((out / "payments-api" / "monitoring" / "alerts.yaml").read_text())
    expected = [
        {"name": r["alert"], "severity": r["labels"]["severity"]}
        for group in rules["groups"]
        for r in group["rules"]
        if "alert" in r
    ]
    alerts = listed["payments-api"]["alerts"]
    assert [{"name": a["name"], "severity": a["severity"]} for a in alerts] == expected
    row = next(r for r in rows(site / "index.html") if 'href="payments-api/"' in r)
    for alert in alerts:
        assert (site / alert["page"] / "index.html").is_file(), alert["page"]
        assert f'<a href="{alert["page"]}">{alert["name"]}</a>' in row


def test_only_changed_sources_are_rebuilt_and_gone_services_leave(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    template, out, site = built
    out, site = shutil.copytree(out, tmp_path / "out"), shutil.copytree(site, tmp_path / "site")
    result = run_cli(template, "build", out, "--site", site)
    assert "3 sites: 0 built, 3 unchanged, 0 failed" in result.stdout
    page = out / "orders" / "docs" / "index.md"
    page.write_text(page.read_text() + "\nA note from the team.\n")
    shutil.rmtree(out / "search")
    result = run_cli(template, "build", out, "--site", site)
    assert "2 sites: 1 built, 1 unchanged, 0 failed" in result.stdout
    assert "removed the sites of search" in result.stdout
    assert "A note from the team." in (site / "orders" / "index.html").read_text()
    assert not (site / "search").exists()
    assert len(rows(site / "index.html")) == 2


def test_a_failing_build_keeps_the_previous_site(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    template, out, site = built
    out, site = shutil.copytree(out, tmp_path / "out"), shutil.copytree(site, tmp_path / "site")
    page = out / "orders" / "docs" / "index.md"
    page.write_text(page.read_text() + "\n[broken](no-such-page.md)\n")  # a strict-mode warning
    result = run_cli(template, "build", out, "--site", site, check=1)
    assert "failed  orders:" in result.stdout and "strict" in result.stdout
    assert (site / "orders" / "index.html").is_file()  # the last good site is still served


def test_the_index_filters_by_name_and_owner_in_a_browser(
    built: tuple[Path, Path, Path], browser: Browser
) -> None:
    _, _, site = built
    page = browser.new_page()
    page.goto((site / "index.html").as_uri())
    visible = "tbody tr:not([hidden]) td:first-child a.name"
    assert page.locator(visible).all_inner_texts() == ["orders", "payments-api", "search"]
    page.fill("#q", "commerce")
    assert page.locator(visible).all_inner_texts() == ["orders", "search"]
    page.fill("#q", "SEARCH team-commerce")
    assert page.locator(visible).all_inner_texts() == ["search"]
    assert page.inner_text("#count") == "1 of 3 services"
    page.fill("#q", "nothing-like-this")
    assert page.locator("#none").is_visible()
    page.goto((site / "index.html").as_uri() + "?q=payments")
    assert page.locator(visible).all_inner_texts() == ["payments-api"]
    page.close()


def test_a_second_build_of_the_same_site_is_refused_while_one_runs(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Two builds into one site folder would empty each other's staging folder and race on the
    shared store: the second one stops at once, naming the folder, and changes nothing."""
    template, out, site = built
    out, site = shutil.copytree(out, tmp_path / "out"), shutil.copytree(site, tmp_path / "site")
    page = out / "orders" / "docs" / "index.md"
    page.write_text(page.read_text() + "\nA change to build.\n")
    before = snapshot(site)
    with exclusive(site / ".service-runbooks" / "build.lock", site):  # the first build
        result = run_cli(template, "build", out, "--site", site, check=1)
    assert f"another service-runbooks run is using {site}" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(site) == before
    # Negative control: with the lock free, the same build goes ahead and changes the site.
    run_cli(template, "build", out, "--site", site)
    assert snapshot(site) != before


def test_a_service_rendered_without_an_owner_has_a_bare_card_and_no_warning(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """No owner, no catalog-info.yaml (the template writes no entity owned by nobody): the card
    keeps the folder's name and docs link, and the build says nothing about it."""
    _, out, _ = built
    ownerless = tmp_path / "ownerless"
    shutil.copytree(out / "orders", ownerless)
    (ownerless / "catalog-info.yaml").unlink()
    card, warnings = read_card(ownerless, has_site=True)
    assert (card.name, card.owner, card.docs, warnings) == ("ownerless", "", "ownerless/", [])
    # Negative control: a catalog-info.yaml that is there but cannot be read is still reported.
    (ownerless / "catalog-info.yaml").mkdir()
    _, warnings = read_card(ownerless, has_site=True)
    assert warnings == ["catalog-info.yaml cannot be read (IsADirectoryError)"]
