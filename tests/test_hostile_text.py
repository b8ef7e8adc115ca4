"""Free text is text everywhere (issue 11 item 1): a description goes through render and build
and comes out as the same text in YAML, and only as text in every built HTML page.

Every HTML page is read with the standard library's HTML parser. A hostile site must have
exactly the elements, attributes and URLs of a site built with a plain description (up to the
service's name); ``<br>`` is what a newline in the description is meant to become. Material
writes ``site_description`` into ``<meta name="description" content="...">``: the parsed
attribute must be the description, exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from doc_builds import mkdocs_build
from drawn import examples
from fleet_helpers import copy_template, run_cli, write_fleet
from hostile_inputs import CORPUS
from hypothesis import strategies as st
from matrix import ROOT
from tools import tool

from service_runbooks.rules import RULES_BY_FIELD

BASELINE = "Plain baseline text"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href"}


class _Page(HTMLParser):
    """The structure of a page: each element with its attribute names and URL values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
        self.descriptions: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "meta" and named.get("name") == "description":
            self.descriptions.append(named.get("content"))
        if tag == "br" and not attrs:
            return  # a newline of the description, meant as text
        shown = tuple(
            sorted((name, value if name in URL_ATTRIBUTES else None) for name, value in attrs)
        )
        self.elements.append((tag, shown))

    handle_startendtag = handle_starttag


def page_structure(path: Path, name: str) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8").replace(name, "SERVICE"))
    page.close()
    return page


def html_pages(site: Path) -> list[Path]:
    pages = sorted(p.relative_to(site) for p in site.rglob("*.html"))
    assert len(pages) >= 5, f"{site} holds too few pages"
    return pages


def assert_text_only(site: Path, name: str, baseline: Path, base_name: str, text: str) -> None:
    """Every page of ``site`` is ``baseline``'s page, with ``text`` in place of BASELINE."""
    assert html_pages(site) == html_pages(baseline)
    for rel in html_pages(site):
        hostile, plain = page_structure(site / rel, name), page_structure(baseline / rel, base_name)
        assert hostile.elements == plain.elements, f"{rel}: markup differs for {text!r}"
        assert hostile.descriptions == [text], rel
        assert plain.descriptions == [BASELINE], rel


def assert_round_trips(service: Path, text: str) -> None:
    """The description is the same text in catalog-info.yaml, mkdocs.yml and .cruft.json."""
    catalog = yaml.safe_load((service / "catalog-info.yaml").read_text(encoding="utf-8"))
    assert catalog["metadata"]["description"] == text
    mkdocs = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    # Stored for an HTML attribute (see mkdocs.yml): no character that could end it.
    assert not set(mkdocs["site_description"]) & set('"<>')
    if (service / ".cruft.json").exists():  # written by the fleet CLI, not by cookiecutter
        state = json.loads((service / ".cruft.json").read_text(encoding="utf-8"))
        assert state["context"]["cookiecutter"]["description"] == text


def generated_texts(count: int) -> list[str]:
    """``count`` descriptions drawn by hypothesis from the description rule and markup noise."""
    rule = RULES_BY_FIELD["description"]
    markup = [*"<>&\"'`*_[](){}#!|:-=~^\\\n\t/;", "&#34;", "&amp;", "-->"]
    noise = st.lists(st.sampled_from(markup), max_size=12).map("".join)
    strategy = st.one_of(
        st.from_regex(rule.pattern, fullmatch=True),
        st.tuples(st.from_regex(rule.pattern, fullmatch=True), noise).map("".join),
    ).filter(lambda text: rule.check(text) is None)
    return examples(strategy, count)[:count]


GENERATED = generated_texts(8)
TEXTS = CORPUS + GENERATED
# Names that no text holds and none is a part of another, all of one length: the pages break
# long commands for a phone by their width, so names of one length break them alike.
BASE_NAME = "plain-sv-00"


def name(index: int) -> str:
    return f"hostile-{index:03d}"


def fleet_site(root: Path) -> tuple[Path, Path]:
    """Every text rendered and built by the fleet CLI: (services, site)."""
    template = copy_template(root / "template")
    services = [{"service_name": BASE_NAME, "description": BASELINE}]
    services += [{"service_name": name(i), "description": t} for i, t in enumerate(TEXTS)]
    fleet = write_fleet(root / "fleet.yaml", services, {"owner": "team-a"})
    run_cli(template, "render", fleet, "--output", root / "out", "--jobs", "2")
    result = run_cli(template, "build", root / "out", "--site", root / "site", "--jobs", "2")
    assert f"{len(services)} sites: {len(services)} built" in result.stdout
    return root / "out", root / "site"


def test_the_corpus_and_generated_texts_are_valid_descriptions() -> None:
    rule = RULES_BY_FIELD["description"]
    assert [text for text in TEXTS if rule.check(text) is not None] == []
    assert len(set(GENERATED)) > 1


def test_free_text_stays_text_through_render_and_build(tmp_path: Path) -> None:
    """One fleet, rendered and built once, holds every text (one test: one build)."""
    out, site = fleet_site(tmp_path)
    failures = []
    for index, text in enumerate(TEXTS):
        try:
            assert_round_trips(out / name(index), text)
            assert_text_only(site / name(index), name(index), site / BASE_NAME, BASE_NAME, text)
        except AssertionError as error:
            failures.append(f"{text!r}: {str(error).splitlines()[0]}")
    assert failures == []

    # Negative control: the same page with the description pasted in raw is caught.
    copy = tmp_path / "pasted"
    shutil.copytree(site / BASE_NAME, copy)
    for page in copy.rglob("*.html"):
        raw = page.read_text(encoding="utf-8")
        page.write_text(raw.replace(f'content="{BASELINE}"', f'content="{CORPUS[0]}"'), "utf-8")
    with pytest.raises(AssertionError, match="markup differs"):
        assert_text_only(copy, BASE_NAME, site / BASE_NAME, BASE_NAME, CORPUS[0])


def test_the_cookiecutter_cli_and_mkdocs_build_keep_it_text(tmp_path: Path) -> None:
    """The same for plain cookiecutter and ``mkdocs build --strict`` (never -q)."""
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")
    sites = {}
    for service_name, text in ((BASE_NAME, BASELINE), (name(0), CORPUS[0])):
        answers = [f"service_name={service_name}", f"description={text}", "owner=team-a"]
        subprocess.run(
            [
                tool("cookiecutter"),
                "--no-input",
                "--config-file",
                str(config),
                "-o",
                "out",
                str(ROOT),
                *answers,
            ],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        service = tmp_path / "out" / service_name
        assert_round_trips(service, text)
        built = tmp_path / "site" / service_name
        mkdocs_build(service / "mkdocs.yml", built)
        sites[service_name] = built
    assert_text_only(sites[name(0)], name(0), sites[BASE_NAME], BASE_NAME, CORPUS[0])
