"""A fleet site keeps one copy on disk of each file its services' sites hold identically
(hard links), while every service folder stays a complete site that can be published alone."""

from __future__ import annotations

import errno
import json
import os
import posixpath
import shutil
import stat
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from doc_builds import mkdocs_build
from fleet_helpers import (
    copy_template,
    minify_like_the_fleet,
    run_cli,
    site_snapshot,
    snapshot,
    write_fleet,
)

from service_runbooks.fleet import shared_assets
from service_runbooks.fleet.shared_assets import share_identical_files
from service_runbooks.fleet.techdocs_metadata import GENERATED_FIELDS

SERVICES = [
    {"service_name": "payments-api"},  # the default answers: alerting on, 20 pages
    {"service_name": "ledger", "workload": "statefulset", "migration_tool": "none"},
    {"service_name": "search", "workload": "helm", "gitops": "flux", "alerting": False},
]
NAMES = sorted(s["service_name"] for s in SERVICES)
THEME_FILES = ["assets/javascripts/bundle.", "assets/stylesheets/main.", "search/lunr.js"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(template, rendered services, fleet site) after one render and one build."""
    root = tmp_path_factory.mktemp("shared-assets")
    template = copy_template(root / "template")
    run_cli(
        template, "render", write_fleet(root / "fleet.yaml", SERVICES), "--output", root / "out"
    )
    result = run_cli(template, "build", root / "out", "--site", root / "site", "--jobs", "2")
    assert "3 sites: 3 built, 0 unchanged, 0 failed" in result.stdout
    assert "warning" not in result.stdout
    return template, root / "out", root / "site"


def files_of(site: Path) -> dict[str, os.stat_result]:
    """Relative path -> lstat of every file under a site (links included, never followed)."""
    found = {}
    for dirpath, _dirs, filenames in os.walk(site):
        for name in filenames:
            path = Path(dirpath, name)
            found[path.relative_to(site).as_posix()] = os.lstat(path)
    return found


def unshared_duplicates(sites: list[Path]) -> list[str]:
    """Files with the same bytes and mode in several sites that are not one inode on disk."""
    by_content: dict[tuple[bytes, int], set[tuple[int, int]]] = defaultdict(set)
    where: dict[tuple[bytes, int], list[str]] = defaultdict(list)
    for site in sites:
        for rel, info in files_of(site).items():
            if stat.S_ISREG(info.st_mode):
                key = ((site / rel).read_bytes(), stat.S_IMODE(info.st_mode))
                by_content[key].add((info.st_dev, info.st_ino))
                where[key].append(f"{site.name}/{rel}")
    return sorted(", ".join(where[key]) for key, inodes in by_content.items() if len(inodes) > 1)


class References(HTMLParser):
    """Every href and src of a page, and the search worker Material loads (its __config)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_config = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.found += [v for k, v in attrs if k in ("href", "src") and v is not None]
        self._in_config = tag == "script" and values.get("id") == "__config"

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.found.append(json.loads(data)["search"])
            self._in_config = False


def missing_references(site: Path) -> list[str]:
    """Local links of the site's pages that do not reach a regular file inside the site itself.

    A link to a folder means its index.html; a path through a symbolic link counts as missing
    (it could be anything outside the site).
    """
    missing = []
    for page in sorted(site.rglob("*.html")):
        rel_page = page.relative_to(site).as_posix()
        parser = References()
        parser.feed(page.read_text(encoding="utf-8"))
        for ref in parser.found:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # another site, or this page's own anchor
            # 404.html links from the site root (site_url's path, '/' when unset): it is served at
            # any missing address. https://github.com/mkdocs/mkdocs/issues/2318
            base = "" if parts.path.startswith("/") else posixpath.dirname(rel_page)
            target = posixpath.normpath(posixpath.join(base, parts.path.lstrip("/")))
            if target.split("/")[0] == "..":
                missing.append(f"{rel_page}: {ref} (outside the site)")
                continue
            if not _regular_file_inside(site, unquote(target)):
                missing.append(f"{rel_page}: {ref}")
    return missing


def _regular_file_inside(site: Path, target: str) -> bool:
    path = site
    for part in [p for p in target.split("/") if p not in ("", ".")]:
        path = path / part
        if path.is_symlink() or not path.exists():
            return False
    if path.is_dir():
        path = path / "index.html"
        if path.is_symlink():
            return False
    return path.is_file()


def mkdocs_site(service: Path, destination: Path) -> Path:
    mkdocs_build(service / "mkdocs.yml", destination)
    return minify_like_the_fleet(destination)  # as the fleet build does (test_fleet_minify.py)


def same_site(fleet_site: Path, plain: Path) -> bool:
    """Whether a fleet site is what plain MkDocs makes (pages minified), plus the fields
    techdocs-cli generate adds to techdocs_metadata.json (test_fleet_metadata.py checks those)."""
    return site_snapshot(fleet_site, GENERATED_FIELDS) == site_snapshot(plain, GENERATED_FIELDS)


def test_identical_theme_files_are_one_inode_across_sites(fleet: tuple[Path, Path, Path]) -> None:
    _, _, site = fleet
    sites = [site / name for name in NAMES]
    assert unshared_duplicates(sites) == []
    listed = [files_of(s) for s in sites]
    for prefix in THEME_FILES:
        rel = next(r for r in listed[0] if r.startswith(prefix))
        assert len({(f[rel].st_dev, f[rel].st_ino) for f in listed}) == 1, rel
    # Pages differ (each names its service), so they stay apart.
    assert len({(f["404.html"].st_dev, f["404.html"].st_ino) for f in listed}) == len(sites)


def test_each_site_is_still_complete_and_what_mkdocs_makes(
    fleet: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, out, site = fleet
    for name in NAMES:
        assert missing_references(site / name) == [], name
        plain = mkdocs_site(out / name, tmp_path / name)
        assert same_site(site / name, plain), name


def test_the_checks_fail_on_a_site_that_does_not_share_or_is_incomplete(
    fleet: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Negative controls: copies (not links), a missing asset, an asset behind a link."""
    _, _, site = fleet
    copy = shutil.copytree(site / "payments-api", tmp_path / "copy")
    assert any(
        "assets/javascripts/bundle." in d for d in unshared_duplicates([site / "ledger", copy])
    )
    css = next((copy / "assets" / "stylesheets").glob("main.*.min.css"))
    css.unlink()
    assert any(css.name in m for m in missing_references(copy))
    outside = shutil.copy(
        next((site / "ledger" / "assets" / "stylesheets").glob("main.*.css")), tmp_path
    )
    css.symlink_to(outside)
    assert any(css.name in m for m in missing_references(copy))
    assert not any("favicon" in m for m in missing_references(copy))


def test_sites_built_before_sharing_are_shared_without_a_rebuild(
    fleet: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    template, out, site = fleet
    copy = shutil.copytree(site, tmp_path / "site")  # copies, as an older build left them
    shutil.rmtree(copy / ".service-runbooks" / shared_assets.STORE)
    before = {name: snapshot(copy / name) for name in NAMES}
    assert unshared_duplicates([copy / name for name in NAMES]) != []
    result = run_cli(template, "build", out, "--site", copy)
    assert "3 sites: 0 built, 3 unchanged, 0 failed" in result.stdout
    assert unshared_duplicates([copy / name for name in NAMES]) == []
    assert {name: snapshot(copy / name) for name in NAMES} == before


def test_a_rebuilt_service_leaves_the_others_intact_and_shares_again(tmp_path: Path) -> None:
    template = copy_template(tmp_path / "template")
    fleet = write_fleet(tmp_path / "fleet.yaml", SERVICES[:2])
    out, site = tmp_path / "out", tmp_path / "site"
    run_cli(template, "render", fleet, "--output", out)
    run_cli(template, "build", out, "--site", site)
    before = snapshot(site / "ledger")
    inodes = {rel: (i.st_dev, i.st_ino) for rel, i in files_of(site / "ledger").items()}
    page = out / "payments-api" / "docs" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nA note from the team.\n", "utf-8")
    result = run_cli(template, "build", out, "--site", site)
    assert "2 sites: 1 built, 1 unchanged, 0 failed" in result.stdout
    assert "A note from the team." in (site / "payments-api" / "index.html").read_text("utf-8")
    assert snapshot(site / "ledger") == before
    assert {rel: (i.st_dev, i.st_ino) for rel, i in files_of(site / "ledger").items()} == inodes
    assert same_site(site / "ledger", mkdocs_site(out / "ledger", tmp_path / "plain"))
    assert unshared_duplicates([site / "payments-api", site / "ledger"]) == []
    # The old pages' copies left the store: everything in it is linked from a site.
    store = site / ".service-runbooks" / shared_assets.STORE
    assert all(p.stat().st_nlink > 1 for p in store.iterdir())


def make_site(root: Path, files: dict[str, bytes], mode: int = 0o644) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
        (root / rel).chmod(mode)
    return root


def test_a_differing_file_is_never_linked(tmp_path: Path) -> None:
    theme = {"assets/app.js": b"console.log(1)\n" * 100, "page.html": b"<p>a</p>"}
    make_site(tmp_path / "a", theme)
    make_site(tmp_path / "b", {**theme, "page.html": b"<p>b</p>"})  # same name and size
    make_site(tmp_path / "c", {"assets/app.js": theme["assets/app.js"]}, mode=0o755)
    sites = [tmp_path / n for n in "abc"]
    before = [snapshot(s) for s in sites]
    sharing = share_identical_files(tmp_path, ["a", "b", "c"], tmp_path / ".state")
    assert [snapshot(s) for s in sites] == before
    assert unshared_duplicates(sites) == []
    assert os.path.samefile(tmp_path / "a/assets/app.js", tmp_path / "b/assets/app.js")
    assert not os.path.samefile(tmp_path / "a/page.html", tmp_path / "b/page.html")
    assert not os.path.samefile(tmp_path / "a/assets/app.js", tmp_path / "c/assets/app.js")
    assert stat.S_IMODE((tmp_path / "c/assets/app.js").stat().st_mode) == 0o755
    assert (sharing.linked, sharing.kept) == (1, 0)


def test_the_content_check_catches_a_link_by_name(tmp_path: Path) -> None:
    """Negative control: linking same-named files regardless of bytes changes a site."""
    make_site(tmp_path / "a", {"page.html": b"<p>a</p>"})
    make_site(tmp_path / "b", {"page.html": b"<p>b</p>"})
    before = snapshot(tmp_path / "b")
    (tmp_path / "b/page.html").unlink()
    os.link(tmp_path / "a/page.html", tmp_path / "b/page.html")
    assert snapshot(tmp_path / "b") != before


def test_a_link_left_half_made_by_a_killed_run_is_removed(tmp_path: Path) -> None:
    make_site(tmp_path / "a", {"app.js": b"x" * 100, ".app.js.0123abcd.link": b"x" * 100})
    make_site(tmp_path / "b", {".hidden": b"not ours"})
    share_identical_files(tmp_path, ["a", "b"], tmp_path / ".state")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["app.js"]
    assert (tmp_path / "b/.hidden").read_bytes() == b"not ours"


def test_a_store_copy_edited_in_place_is_never_linked_again(tmp_path: Path) -> None:
    asset = {"assets/app.js": b"good\n" * 1000}
    make_site(tmp_path / "a", asset)
    share_identical_files(tmp_path, ["a"], tmp_path / ".state")
    with open(tmp_path / "a/assets/app.js", "r+b") as handle:  # an in-place edit, same size
        handle.write(b"evil")
    make_site(tmp_path / "b", asset)
    share_identical_files(tmp_path, ["b"], tmp_path / ".state")
    assert (tmp_path / "b/assets/app.js").read_bytes() == asset["assets/app.js"]
    assert not os.path.samefile(tmp_path / "a/assets/app.js", tmp_path / "b/assets/app.js")
    make_site(tmp_path / "c", asset)
    share_identical_files(tmp_path, ["c"], tmp_path / ".state")
    assert os.path.samefile(tmp_path / "b/assets/app.js", tmp_path / "c/assets/app.js")


def test_symbolic_links_are_never_followed(tmp_path: Path) -> None:
    content = b"theme\n" * 500
    outside = make_site(tmp_path / "outside", {"app.js": content, "dir/app.js": content})
    make_site(tmp_path / "a", {"assets/app.js": content})
    make_site(tmp_path / "b", {})
    (tmp_path / "b/app.js").symlink_to(outside / "app.js")
    (tmp_path / "b/dir").symlink_to(outside / "dir")
    (tmp_path / "c").symlink_to(outside)
    share_identical_files(tmp_path, ["a", "b", "c"], tmp_path / ".state")
    for path in (outside / "app.js", outside / "dir/app.js"):
        assert path.stat().st_nlink == 1 and path.read_bytes() == content
    assert (tmp_path / "b/app.js").is_symlink() and (tmp_path / "b/dir").is_symlink()
    # A store that is a link is refused: nothing is written through it.
    make_site(tmp_path / "d", {"assets/app.js": content})
    (tmp_path / ".state2").mkdir()
    (tmp_path / ".state2" / shared_assets.STORE).symlink_to(outside / "dir", True)
    sharing = share_identical_files(tmp_path, ["d"], tmp_path / ".state2")
    assert "not a folder" in sharing.warnings[0]
    assert sorted(p.name for p in (outside / "dir").iterdir()) == ["app.js"]


@pytest.mark.parametrize("refusal", [errno.EXDEV, errno.EPERM])
def test_a_refused_hard_link_keeps_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: int
) -> None:
    content = {"assets/app.js": b"theme\n" * 500}
    make_site(tmp_path / "a", content)
    make_site(tmp_path / "b", content)
    share_identical_files(tmp_path, ["a"], tmp_path / ".state")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(refusal, os.strerror(refusal))

    monkeypatch.setattr(os, "link", refuse)
    sharing = share_identical_files(tmp_path, ["b"], tmp_path / ".state")
    assert sharing.kept == 1 and "keep their own copy" in sharing.warnings[0]
    assert snapshot(tmp_path / "b") == snapshot(tmp_path / "a")
    assert (tmp_path / "b/assets/app.js").stat().st_nlink == 1
    assert sorted(p.name for p in (tmp_path / "b/assets").iterdir()) == ["app.js"]  # no leftovers


def test_a_copy_at_the_link_limit_is_replaced_by_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = {"assets/app.js": b"theme\n" * 500}
    for name in "abc":
        make_site(tmp_path / name, content)
    share_identical_files(tmp_path, ["a"], tmp_path / ".state")
    real_link = os.link
    full = os.stat(tmp_path / "a/assets/app.js")

    def at_limit(source: os.PathLike[str], target: os.PathLike[str], **kwargs: bool) -> None:
        if os.path.samestat(os.stat(source), full):
            raise OSError(errno.EMLINK, os.strerror(errno.EMLINK))
        real_link(source, target, **kwargs)

    monkeypatch.setattr(os, "link", at_limit)
    sharing = share_identical_files(tmp_path, ["b", "c"], tmp_path / ".state")
    assert (sharing.kept, sharing.linked) == (1, 1)
    assert os.path.samefile(tmp_path / "b/assets/app.js", tmp_path / "c/assets/app.js")
    assert not os.path.samefile(tmp_path / "a/assets/app.js", tmp_path / "b/assets/app.js")
    assert snapshot(tmp_path / "c") == snapshot(tmp_path / "a")
