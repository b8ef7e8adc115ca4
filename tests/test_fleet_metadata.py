"""``service-runbooks build`` writes the techdocs_metadata.json fields ``techdocs-cli generate``
writes (build_timestamp, files, etag), which Backstage's TechDocs backend needs to invalidate its
cache after a republish; checked against the real ``techdocs-cli generate --no-docker``."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from doc_builds import techdocs_generate, warning_lines
from fleet_helpers import copy_template, run_cli, write_fleet

from service_runbooks.fleet.build import STATE_DIR
from service_runbooks.fleet.techdocs_metadata import (
    GENERATED_FIELDS,
    METADATA,
    add_generate_fields,
    lacks_generate_fields,
    site_files,
)

LIGHT = {"alerting": False, "migration_tool": "none"}  # fewer pages: faster builds
SERVICES = [
    {"service_name": "payments-api", "owner": "team-payments"},
    {"service_name": "orders", "owner": "team-commerce", **LIGHT},
]
NAMES = [service["service_name"] for service in SERVICES]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def metadata(site: Path) -> dict:
    return json.loads((site / METADATA).read_text(encoding="utf-8"))


def compact(fields: dict) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")) + "\n"


def metadata_problems(site: Path) -> list[str]:
    """What is wrong with ``site``'s generate fields: missing or mistyped, or a ``files`` list
    that is not the site's files (Backstage would invalidate the wrong cached paths)."""
    try:
        metadata = json.loads((site / METADATA).read_text("utf-8"))
    except (OSError, ValueError) as error:
        return [f"{METADATA}: unreadable ({error})"]
    problems = []
    if not isinstance(metadata.get("build_timestamp"), int):
        problems.append(f"{METADATA}: build_timestamp must be milliseconds (an integer)")
    if not isinstance(metadata.get("etag"), str) or not metadata["etag"]:
        problems.append(f"{METADATA}: etag must be a non-empty string")
    listed, present = set(metadata.get("files") or []), set(site_files(site))
    problems += [
        f"{METADATA}: files lists {rel}, not in the site" for rel in sorted(listed - present)
    ]
    problems += [f"{METADATA}: files leaves out {rel}" for rel in sorted(present - listed)]
    return problems


def stored_digest(site: Path, name: str) -> str:
    return (site / STATE_DIR / "digests" / f"{name}.sha256").read_text().strip()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The fleet rendered and built once, with the clock read around the build."""
    root = tmp_path_factory.mktemp("fleet-metadata")
    template = copy_template(root / "template")
    run_cli(template, "render", write_fleet(root / "fleet.yaml", SERVICES), "-o", root / "out")
    before = now_ms()
    result = run_cli(template, "build", root / "out", "--site", root / "site")
    after = now_ms()
    assert "2 sites: 2 built, 0 unchanged, 0 failed" in result.stdout
    return {
        "root": root,
        "template": template,
        "out": root / "out",
        "site": root / "site",
        "window": (before, after),
    }


@pytest.fixture(scope="module")
def generated(built: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What techdocs-cli generate writes for payments-api, given the fleet build's etag (it
    rewrites mkdocs.yml, so it builds a copy)."""
    root = tmp_path_factory.mktemp("generate")
    source = shutil.copytree(built["out"] / "payments-api", root / "source")
    etag = stored_digest(built["site"], "payments-api")
    printed = techdocs_generate(source, root / "site", etag=etag)
    assert warning_lines(printed) == []
    return root / "site"


def test_the_metadata_is_what_techdocs_cli_generate_writes(
    built: dict[str, object], generated: Path
) -> None:
    ours, theirs = metadata(built["site"] / "payments-api"), metadata(generated)
    assert set(ours) == set(theirs) >= {"site_name", *GENERATED_FIELDS}
    assert set(ours["files"]) == set(theirs["files"])
    assert METADATA in theirs["files"]  # the file lists itself, as generate's does
    assert {k: v for k, v in ours.items() if k not in ("build_timestamp", "files")} == {
        k: v for k, v in theirs.items() if k not in ("build_timestamp", "files")
    }
    assert ours["files"] == sorted(set(ours["files"]))  # sorted, no duplicates: reproducible
    # Byte for byte, once generate's list (in stat completion order) is sorted and its clock
    # replaced: compact JSON, same field order, a final newline (fs-extra's writeJson).
    raw = (generated / METADATA).read_text(encoding="utf-8")
    assert raw == compact(theirs)
    same_clock = {
        **theirs,
        "files": sorted(theirs["files"]),
        "build_timestamp": ours["build_timestamp"],
    }
    assert (built["site"] / "payments-api" / METADATA).read_text(encoding="utf-8") == compact(
        same_clock
    )
    assert metadata_problems(built["site"] / "payments-api") == []
    assert metadata_problems(generated) == []  # the check agrees with the real tool


def test_each_site_has_its_etag_and_a_timestamp_from_the_build(built: dict[str, object]) -> None:
    site, (before, after) = built["site"], built["window"]
    for name in NAMES:
        fields = metadata(site / name)
        assert before <= fields["build_timestamp"] <= after, name
        assert fields["etag"] == stored_digest(site, name)
        assert metadata_problems(site / name) == [], name
    # Each site's differs (its name, its etag), so fleet/shared_assets.py never makes two sites
    # share one: a file of its own in each.
    inodes = {(s.st_dev, s.st_ino) for s in ((site / name / METADATA).stat() for name in NAMES)}
    assert len(inodes) == len(NAMES)
    # The fleet's index and the build's state sit beside the sites, not in any site's list.
    assert all(
        not rel.startswith(STATE_DIR) and rel != "services.json"
        for name in NAMES
        for rel in metadata(site / name)["files"]
    )


def test_an_unchanged_service_keeps_its_metadata_and_a_changed_one_gets_a_newer_one(
    built: dict[str, object], tmp_path: Path
) -> None:
    template = built["template"]
    out = shutil.copytree(built["out"], tmp_path / "out")
    site = shutil.copytree(built["site"], tmp_path / "site")
    before = {name: (site / name / METADATA).read_bytes() for name in NAMES}
    result = run_cli(template, "build", out, "--site", site)
    assert "2 sites: 0 built, 2 unchanged, 0 failed" in result.stdout
    assert {name: (site / name / METADATA).read_bytes() for name in NAMES} == before

    page = out / "orders" / "docs" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nA note from the team.\n", "utf-8")
    result = run_cli(template, "build", out, "--site", site)
    assert "2 sites: 1 built, 1 unchanged, 0 failed" in result.stdout
    assert (site / "payments-api" / METADATA).read_bytes() == before["payments-api"]
    old, new = json.loads(before["orders"]), metadata(site / "orders")
    assert new["build_timestamp"] > old["build_timestamp"]
    assert new["etag"] == stored_digest(site, "orders") != old["etag"]
    assert metadata_problems(site / "orders") == []


def test_a_site_built_without_the_fields_is_built_again(
    built: dict[str, object], tmp_path: Path
) -> None:
    """A site from before build wrote the fields (as plain MkDocs makes it) gets them."""
    out = shutil.copytree(built["out"], tmp_path / "out")
    site = shutil.copytree(built["site"], tmp_path / "site")
    path = site / "orders" / METADATA
    plain = {k: v for k, v in metadata(site / "orders").items() if k not in GENERATED_FIELDS}
    path.write_text(json.dumps(plain), encoding="utf-8")
    assert lacks_generate_fields(site / "orders")
    result = run_cli(built["template"], "build", out, "--site", site)
    assert "2 sites: 1 built, 1 unchanged, 0 failed" in result.stdout
    assert not lacks_generate_fields(site / "orders")
    assert metadata_problems(site / "orders") == []


def test_the_check_fails_on_a_wrong_files_list_or_missing_fields(
    generated: Path, tmp_path: Path
) -> None:
    """Negative controls, on the real tool's output: a listed file gone, a file not listed,
    the timestamp or etag missing, the file unreadable."""
    site = shutil.copytree(generated, tmp_path / "site")
    (site / "404.html").unlink()
    (site / "extra.txt").write_text("not listed\n")
    problems = metadata_problems(site)
    assert f"{METADATA}: files lists 404.html, not in the site" in problems
    assert f"{METADATA}: files leaves out extra.txt" in problems

    fields = metadata(site)
    del fields["build_timestamp"], fields["etag"]
    (site / METADATA).write_text(json.dumps(fields), encoding="utf-8")
    problems = metadata_problems(site)
    assert any("build_timestamp" in p for p in problems)
    assert any("etag" in p for p in problems)
    assert lacks_generate_fields(site)

    (site / METADATA).write_text("{not json", encoding="utf-8")
    assert any("unreadable" in p for p in metadata_problems(site))
    assert lacks_generate_fields(site)


def test_the_fields_are_added_to_a_new_file_with_the_others_kept_in_order(tmp_path: Path) -> None:
    """techdocs-core's fields keep their order, a missing file is created (and lists itself,
    as generate's does), and a hard-linked file's other name keeps its content."""
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "a" / "page.html").write_text("<p>a</p>\n")
    (site / "index.html").write_text("<p>i</p>\n")
    add_generate_fields(site, etag="e1")
    assert metadata(site)["files"] == ["a/page.html", "index.html", METADATA]

    (site / METADATA).write_text('{"site_name": "x", "site_description": "y"}')
    other = tmp_path / "other-name"
    os.link(site / METADATA, other)
    add_generate_fields(site, etag="e2")
    assert list(metadata(site)) == ["site_name", "site_description", *GENERATED_FIELDS]
    assert metadata(site)["etag"] == "e2"
    assert other.read_text() == '{"site_name": "x", "site_description": "y"}'
    assert not any(p.name.endswith(".tmp") for p in site.iterdir())  # no temporary left
