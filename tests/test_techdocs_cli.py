"""Backstage's own TechDocs builder, `techdocs-cli generate --no-docker` (npm @techdocs/cli, pinned
by package-lock.json, using the venv's mkdocs-techdocs-core), builds every option combination.

It exits 0 even when it silently drops settings TechDocs does not allow (it prints only `warn:`
lines) and has no --strict, so the test fails on any `warn:` or mkdocs WARNING line as well.
It rewrites mkdocs.yml in place, so it builds a copy of the rendered service.

Which combinations: a run costs ~1.6 s alone and ~2.4 s with two workers (Node start-up alone is
0.8 s), so all 32 of the matrix took 40 s with -n 2. What techdocs-cli adds over the
`mkdocs build --strict` with techdocs-core that test_docs_build runs on all 32 is its handling of
mkdocs.yml (allowlists, rewrite, metadata), and mkdocs.yml varies only with the set of pages,
which the answers below decide. So it runs on a covering subset of the matrix: every workload,
every GitOps value, services with and without a database (3 different migration tools), and
with and without the optional answers: 4 builds, ~5 s.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
import yaml
from doc_builds import techdocs_generate, warning_lines
from matrix import COMBINATIONS, WORKLOADS, combo_id


def coverage(answers: dict[str, str]) -> set[tuple[str, str]]:
    """What one combination covers: its workload, its GitOps value, whether it has a database
    and whether it gives the optional answers."""
    return {
        ("workload", answers["workload"]),
        ("gitops", answers["gitops"]),
        ("database", str(answers["migration_tool"] != "none")),
        ("optional answers", str("kube_context" in answers)),
    }


def covering_subset(combinations: list[dict[str, str]]) -> list[dict[str, str]]:
    """The fewest combinations that together cover what all of them cover; among those, the
    first with the most different migration tools (an exhaustive search: C(32, 4) is 35,960)."""
    needed = set().union(*map(coverage, combinations))
    for size in range(1, len(combinations) + 1):
        covering = [
            subset
            for subset in itertools.combinations(combinations, size)
            if set().union(*map(coverage, subset)) == needed
        ]
        if covering:
            return list(max(covering, key=lambda s: len({a["migration_tool"] for a in s})))
    return combinations


TECHDOCS_COMBINATIONS = {combo_id(answers): answers for answers in covering_subset(COMBINATIONS)}


def runbook_pages(service: Path) -> set[str]:
    """The built page of every Markdown file of the service, as TechDocs lists it."""
    docs = service / "docs"
    pages = set()
    for markdown in docs.rglob("*.md"):
        page = markdown.relative_to(docs).with_suffix("")
        pages.add("index.html" if page.name == "index" else f"{page.as_posix()}/index.html")
    return pages


def test_the_subset_covers_every_value_and_stays_small() -> None:
    assert set().union(*map(coverage, TECHDOCS_COMBINATIONS.values())) == set().union(
        *map(coverage, COMBINATIONS)
    )
    assert len(TECHDOCS_COMBINATIONS) == len(WORKLOADS)  # the fewest possible
    assert len({answers["migration_tool"] for answers in TECHDOCS_COMBINATIONS.values()}) == 4


@pytest.mark.parametrize("combo", TECHDOCS_COMBINATIONS)
def test_techdocs_cli_builds_without_warnings(render_combo, combo: str, tmp_path: Path) -> None:
    service = render_combo(combo)
    source = tmp_path / "source"
    shutil.copytree(service, source)
    printed = techdocs_generate(source, tmp_path / "site")

    assert warning_lines(printed) == []
    metadata = json.loads((tmp_path / "site" / "techdocs_metadata.json").read_text())
    assert metadata["site_name"] == f"{service.name} runbooks"
    assert metadata["etag"] == "test"
    pages = runbook_pages(service)
    assert {"index.html", "runbooks/rollback/index.html"} <= pages
    assert pages <= set(metadata["files"])
    # Every alert's runbook_url names a page this build produced (<base>/<entity>/<page path>/).
    rules = yaml.safe_load((service / "monitoring" / "alerts.yaml").read_text(encoding="utf-8"))
    urls = [
        r["annotations"]["runbook_url"] for g in rules["groups"] for r in g["rules"] if "alert" in r
    ]
    assert urls
    for url in urls:
        assert url.split(f"/component/{service.name}/", 1)[1] + "index.html" in metadata["files"]


def test_a_setting_techdocs_drops_is_caught(render, tmp_path: Path) -> None:
    """The check above can fail: a key outside TechDocs' allowlist gives rc 0 and a warn: line."""
    source = tmp_path / "source"
    shutil.copytree(render({}), source)
    with (source / "mkdocs.yml").open("a", encoding="utf-8") as config:
        config.write("hooks:\n  - hooks.py\n")
    printed = techdocs_generate(source, tmp_path / "site")
    assert warning_lines(printed) == [
        "warn: Removed the following unsupported configuration keys from mkdocs.yml: hooks. "
        "TechDocs only supports a subset of MkDocs configuration options."
    ]
