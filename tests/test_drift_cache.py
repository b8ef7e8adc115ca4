"""``check --drift``'s caches (the Kustomize builds, what each service's commands name): a rerun
with nothing changed reuses them, a changed source or page is built or parsed again and its drift
reported, and a damaged, foreign or linked entry is ignored and rebuilt, never trusted.

The fleet is the one ``discover`` writes from tests/fixtures/discovery/kustomize (a base and two
overlays), rendered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from drift_fleet import CACHE, Rendered
from fleet_helpers import run_cli
from matrix import ROOT

from service_runbooks.discovery import collect, driftmemo
from service_runbooks.discovery.drift import Difference, ServiceDrift
from service_runbooks.discovery.filecache import FileCache
from service_runbooks.discovery.kustomize import BuildCache, build_all, plan_builds
from service_runbooks.discovery.namingcache import decode, encode
from service_runbooks.discovery.objectcheck import Named, Naming

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
KEY = "ab" * 32


# --- the file format -----------------------------------------------------------------------


def test_an_entry_reads_back_as_written(tmp_path: Path) -> None:
    cache = FileCache(tmp_path, "kind", 1, ".bin")
    cache.put(KEY, b"payload\nwith lines")
    assert FileCache(tmp_path, "kind", 1, ".bin").get(KEY, 1000) == b"payload\nwith lines"


@pytest.mark.parametrize(
    "damage",
    ["truncated", "edited", "garbage", "empty", "other version", "other kind", "too long"],
)
def test_a_damaged_or_foreign_entry_is_ignored(tmp_path: Path, damage: str) -> None:
    FileCache(tmp_path, "kind", 1, ".bin").put(KEY, b"payload " * 10)
    path = tmp_path / f"{KEY}.bin"
    data = path.read_bytes()
    damaged = {
        "truncated": data[:-5],
        "edited": data.replace(b"payload", b"paylOad", 1),
        "garbage": b"\x00\xff" * 40,
        "empty": b"",
        "other version": data,
        "other kind": data,
        "too long": data,
    }[damage]
    path.write_bytes(damaged)
    version = 2 if damage == "other version" else 1
    kind = "other" if damage == "other kind" else "kind"
    limit = 10 if damage == "too long" else 1000
    reader = FileCache(tmp_path, kind, version, ".bin")
    assert reader.get(KEY, limit) is None
    assert reader.ignored == 1


def test_a_linked_entry_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    FileCache(elsewhere, "kind", 1, ".bin").put(KEY, b"planted")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{KEY}.bin").symlink_to(elsewhere / f"{KEY}.bin")
    assert FileCache(tmp_path / "cache", "kind", 1, ".bin").get(KEY, 1000) is None


def test_a_key_that_is_not_a_digest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a SHA-256"):
        FileCache(tmp_path, "kind", 1, ".bin").get("../../etc/passwd", 10)


def test_a_naming_entry_must_hold_exactly_what_is_written() -> None:
    naming = Naming((Named("Deployment", "shop", "web", "web/docs/a.md:3"),), frozenset({"x"}))
    assert decode(encode(naming)) == naming
    for wrong in (
        b"[]",
        b'{"named": [], "created": [], "more": 1}',
        b'{"named": [["Deployment", "shop", "web"]], "created": []}',
        b'{"named": [["Deployment", "shop", "web", 3]], "created": []}',
        b'{"named": [], "created": [1]}',
        b"not json",
    ):
        assert decode(wrong) is None, wrong


def test_a_damaged_build_entry_is_built_again(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "kustomize", tmp_path / "k")
    collected = collect([tmp_path / "k"], tmp_path / "k")
    plan = plan_builds(collected)
    first = build_all(plan, collected, cache=BuildCache(tmp_path / "cache"))
    for entry in (tmp_path / "cache").iterdir():
        entry.write_bytes(entry.read_bytes().replace(b"frontend", b"planted"))
    again_cache = BuildCache(tmp_path / "cache")
    again = build_all(plan, collected, cache=again_cache)
    assert [r.cached for r in again] == [False, False]
    assert again_cache.ignored == 2
    assert [r.output for r in again] == [r.output for r in first]
    third = build_all(plan, collected, cache=BuildCache(tmp_path / "cache"))
    assert [r.cached for r in third] == [True, True]  # rewritten intact


# --- end to end: check --drift -------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered_once(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    work = tmp_path_factory.mktemp("kustomize-fleet")
    repo = Path(shutil.copytree(FIXTURES / "kustomize", work / "repo"))
    fleet = repo / "fleet.yaml"
    run_cli(ROOT, "discover", repo, "--output", fleet)
    block = 'defaults:\n  reviewed_on: "2026-12-01"\n  gitops: "none"\nservices:\n'
    fleet.write_text(fleet.read_text(encoding="utf-8").replace("services:\n", block, 1), "utf-8")
    run_cli(ROOT, "render", fleet, "--output", work / "out")
    return Rendered(repo, fleet, work / "out")


@pytest.fixture
def rendered(rendered_once: Rendered, tmp_path: Path) -> Rendered:
    """A copy per test: each test edits sources, pages or cache entries."""
    repo = Path(shutil.copytree(rendered_once.repo, tmp_path / "repo", symlinks=True))
    out = Path(shutil.copytree(rendered_once.out, tmp_path / "out", symlinks=True))
    return Rendered(repo, repo / "fleet.yaml", out)


def test_a_rerun_reuses_every_entry_and_says_the_same(rendered: Rendered) -> None:
    first = rendered.drift(check=0)
    builds, namings = rendered.entries("builds"), rendered.entries("commands")
    assert len(builds) == 2 and len(namings) == 2  # two overlays, two services
    runs = rendered.entries("runs")
    assert len(runs) == 1  # the whole result, by the digest of everything the run read
    assert rendered.drift(check=0) == first
    assert rendered.entries("builds") == builds
    assert rendered.entries("commands") == namings
    assert rendered.entries("runs") == runs


def test_a_changed_overlay_is_built_again_and_its_drift_reported(rendered: Rendered) -> None:
    rendered.drift(check=0)
    builds = rendered.entries("builds")
    overlay = rendered.repo / "deploy" / "overlays" / "prod" / "kustomization.yaml"
    overlay.write_text(overlay.read_text().replace("shop-prod", "shop-live"), encoding="utf-8")
    out = rendered.drift(check=1)
    assert (
        "  - namespace: the pages say 'shop-prod', the sources now say 'shop-live' "
        "(deploy/overlays/prod/kustomization.yaml: namespace)"
    ) in out, out
    assert "2 services: 1 drifted from their sources" in out
    new = set(rendered.entries("builds")) - set(builds)
    assert len(new) == 1  # that overlay only: staging's entry was reused
    assert rendered.drift(check=1) == out  # the drifted result, recalled, still fails


def test_a_changed_page_is_parsed_again(rendered: Rendered) -> None:
    """The commands cache is keyed by the pages: a command added after a clean run is checked."""
    rendered.drift(check=0)
    page = rendered.out / "prod-frontend" / "docs" / "runbooks" / "scaling.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text + "\n```bash\nkubectl get deployment ghost -n shop-prod\n```\n", "utf-8")
    out = rendered.drift(check=1)
    assert "no Deployment 'ghost' in namespace 'shop-prod' in the manifests" in out, out


@pytest.mark.parametrize("folder", ["builds", "commands", "runs"])
def test_damaged_entries_are_ignored_and_rebuilt(rendered: Rendered, folder: str) -> None:
    """Entries edited to say something else (a planted build, an emptied command list, a
    result naming another service) are not trusted: the run says what a fresh one says, and
    writes them anew. Without the recalled result (runs/), the build and command entries are
    read."""
    first = rendered.drift(check=0)
    if folder != "runs":
        shutil.rmtree(rendered.out / CACHE / "runs")
    intact = rendered.entries(folder)
    for name in intact:
        path = rendered.out / CACHE / folder / name
        header, _, payload = path.read_bytes().partition(b"\n")
        planted = payload.replace(b"frontend", b"planted")
        if folder == "commands":
            planted = json.dumps({"named": [], "created": []}).encode()
        path.write_bytes(header + b"\n" + planted)
    assert rendered.drift(check=0) == first
    if folder != "runs":
        shutil.rmtree(rendered.out / CACHE / "runs")
        assert rendered.drift(check=0) == first  # the rewritten entries, read back
    assert rendered.entries(folder) == intact


def test_a_recalled_result_must_hold_exactly_what_is_written() -> None:
    result = ServiceDrift("web", "deploy", [Difference("namespace", "a", "b", "s", "t")], ["n"])
    assert driftmemo.decode(driftmemo.encode([result])) == [result]
    good = json.loads(driftmemo.encode([result]))[0]
    for wrong in (
        {},
        [{**good, "extra": 1}],
        [{**good, "notes": [1]}],
        [{**good, "differences": [["namespace", "a", "b", "s"]]}],
        [{**good, "name": None}],
    ):
        assert driftmemo.decode(json.dumps(wrong).encode()) is None, wrong
