"""``--shard K/N`` on render, check and build, and ``index``: a fleet split into shards gives,
service by service, what the whole run gives, and the merged index is the whole build's."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fleet_helpers import copy_template, run_cli, site_snapshot, snapshot, write_fleet

FLEET_RECORD = ".service-runbooks-services.json"  # the fleet record every render writes
SHARDS = 3
# Light answers (no alerts, no database: fewer pages to build), one full service for the index's
# alert links. Names chosen so that every one of the 3 shards holds at least one service.
LIGHT = {"alerting": False, "migration_tool": "none"}
SERVICES = [
    {"service_name": "payments-api", "owner": "team-payments", "migration_tool": "django"},
    {"service_name": "orders", "owner": "team-commerce", "lifecycle": "experimental", **LIGHT},
    {"service_name": "search", "owner": "team-commerce", "workload": "statefulset", **LIGHT},
    {
        "service_name": "billing",
        "owner": "team-payments",
        "description": 'Bills <b>"x"</b>',
        **LIGHT,
    },
    {"service_name": "catalog", "owner": "team-commerce", "workload": "helm", **LIGHT},
    {"service_name": "inventory", "owner": "team-stock", "gitops": "flux", **LIGHT},
]
NAMES = [service["service_name"] for service in SERVICES]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fleet rendered and built whole, and rendered and built as 3 shards (each its own
    folders, as CI's jobs have), and the shards' indexes merged by ``index``."""
    root = tmp_path_factory.mktemp("fleet-shards")
    paths = {"root": root, "template": copy_template(root / "template")}
    template = paths["template"]
    paths["fleet"] = fleet = write_fleet(root / "fleet.yaml", SERVICES)
    run_cli(template, "render", fleet, "-o", root / "out-whole")
    run_cli(template, "build", root / "out-whole", "--site", root / "site-whole", "-j", "1")
    for k in range(1, SHARDS + 1):
        shard = f"{k}/{SHARDS}"
        run_cli(template, "render", fleet, "-o", root / f"out-{k}", "--shard", shard)
        # From the whole folder: the shard's build must pick its own services out of it.
        run_cli(
            template, "build", root / "out-whole", "--site", root / f"site-{k}", "--shard", shard
        )
    sites = [root / f"site-{k}" for k in range(1, SHARDS + 1)]
    run_cli(template, "index", *sites, "--site", root / "index")
    return paths


def services_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_the_shards_render_each_service_once_as_the_whole_run_does(runs: dict[str, Path]) -> None:
    root = runs["root"]
    whole = services_in(root / "out-whole")
    assert whole == sorted(NAMES)
    shards = [services_in(root / f"out-{k}") for k in range(1, SHARDS + 1)]
    assert all(shards), f"a shard is empty, pick other names: {shards}"
    assert sorted(name for shard in shards for name in shard) == whole  # disjoint, complete
    for k, names in enumerate(shards, start=1):
        for name in names:
            assert snapshot(root / f"out-{k}" / name) == snapshot(root / "out-whole" / name)
        # The fleet record names the whole fleet, so `build` calls none of it retired.
        assert (root / f"out-{k}" / FLEET_RECORD).read_bytes() == (
            root / "out-whole" / FLEET_RECORD
        ).read_bytes()


def test_the_shards_sites_and_merged_index_are_the_whole_builds(runs: dict[str, Path]) -> None:
    root = runs["root"]
    whole_site = root / "site-whole"
    for k in range(1, SHARDS + 1):
        site = root / f"site-{k}"
        built = services_in(site)
        assert built == services_in(root / f"out-{k}")  # only its own services
        listed = json.loads((site / "services.json").read_text(encoding="utf-8"))
        assert [card["name"] for card in listed] == built
        for name in built:
            # Only build_timestamp differs: it is when the site was built (Date.now() in
            # techdocs-cli generate), and each run builds it anew. Every other byte, the other
            # techdocs_metadata.json fields (the files list, the etag) included, is the same.
            ours = site_snapshot(site / name, drop={"build_timestamp"})
            assert ours == site_snapshot(whole_site / name, drop={"build_timestamp"}), name
    for name in ("index.html", "services.json"):
        assert (root / "index" / name).read_bytes() == (whole_site / name).read_bytes(), name
    cards = json.loads((root / "index" / "services.json").read_text(encoding="utf-8"))
    assert any(card["alerts"] for card in cards)  # the alert links came through the merge


def test_an_index_missing_a_shard_differs_from_the_whole(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Negative control: the comparison above sees a shard left out."""
    root = runs["root"]
    run_cli(runs["template"], "index", root / "site-1", root / "site-2", "--site", tmp_path)
    whole = (root / "site-whole" / "services.json").read_bytes()
    assert (tmp_path / "services.json").read_bytes() != whole


def shard_map(result_stdout: str) -> set[str]:
    """The services a `check` run looked at (on an empty folder each is "not rendered yet")."""
    return set(re.findall(r"behind  (\S+): not rendered yet", result_stdout))


def test_adding_or_reordering_services_moves_no_other_service(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    template = runs["template"]

    def shards_of(services: list[dict[str, object]]) -> dict[str, int]:
        fleet = write_fleet(tmp_path / "fleet.yaml", services)
        found: dict[str, int] = {}
        for k in range(1, SHARDS + 1):
            result = run_cli(
                template, "check", fleet, "-o", tmp_path / "empty", "--shard", f"{k}/3", check=1
            )
            for name in shard_map(result.stdout):
                assert name not in found, f"{name} in two shards"
                found[name] = k
        return found

    before = shards_of(SERVICES)
    assert set(before) == set(NAMES)
    assert len(set(before.values())) == SHARDS
    added = shards_of([{"service_name": "checkout", **LIGHT}, *SERVICES])  # first: positions move
    assert {name: added[name] for name in NAMES} == before
    assert "checkout" in added
    assert shards_of(list(reversed(SERVICES))) == before
    assert not (tmp_path / "empty").exists()  # check writes nothing


def retired_copy(runs: dict[str, Path], tmp_path: Path) -> Path:
    """The whole output plus the folder of `ledger` (shard 2 of 3), no longer in the fleet."""
    out = shutil.copytree(runs["root"] / "out-whole", tmp_path / "out")
    shutil.copytree(out / "orders", out / "ledger")
    return out


def test_only_the_shard_of_a_retired_service_reports_and_prunes_it(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    template, fleet = runs["template"], runs["fleet"]
    out = retired_copy(runs, tmp_path)
    whole = run_cli(template, "check", fleet, "-o", out, check=1)
    assert "retired  ledger" in whole.stdout
    assert "7 services: 6 up to date" in whole.stdout
    counts = {}
    for k in range(1, SHARDS + 1):
        expected = 1 if k == 2 else 0
        result = run_cli(template, "check", fleet, "-o", out, "--shard", f"{k}/3", check=expected)
        assert ("retired  ledger" in result.stdout) == (k == 2)
        counts[k] = int(re.search(r"^(\d+) services:", result.stdout, re.M).group(1))
    assert sum(counts.values()) == 7  # the union of the shards' reports is the whole one
    for k in (1, 3):
        result = run_cli(template, "render", fleet, "-o", out, "--shard", f"{k}/3", "--prune")
        assert "ledger" not in result.stdout and (out / "ledger").is_dir()
    result = run_cli(template, "render", fleet, "-o", out, "--shard", "2/3", "--prune")
    assert "pruned: removed the folders of ledger" in result.stdout
    assert not (out / "ledger").exists()


def test_a_shards_last_run_record_is_not_another_shards(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Shards run one after another in one folder: each renders its own services; a record of
    the last run (the fast path) never answers for another shard."""
    template, fleet = runs["template"], runs["fleet"]
    out = tmp_path / "out"
    sizes = [len(services_in(runs["root"] / f"out-{k}")) for k in range(1, SHARDS + 1)]
    for k, size in enumerate(sizes, start=1):
        result = run_cli(template, "render", fleet, "-o", out, "--shard", f"{k}/3")
        assert f"{size} services: {size} rendered ({size} new" in result.stdout
        again = run_cli(template, "render", fleet, "-o", out, "--shard", f"{k}/3")
        assert f"{size} services: 0 rendered (0 new, 0 updated, 0 merged), {size} unchanged" in (
            again.stdout
        )
    record = json.loads((out / ".service-runbooks-fleet.json").read_text(encoding="utf-8"))
    assert record["inputs"]["shard"] == "3/3"
    whole = run_cli(template, "render", fleet, "-o", out)
    assert f"{len(NAMES)} services: 0 rendered (0 new, 0 updated, 0 merged)" in whole.stdout
    assert snapshot(out) == snapshot(runs["root"] / "out-whole")


def test_a_bad_entry_in_another_shard_stops_every_shard(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """The fleet file is checked whole: a shard does not render half a broken fleet."""
    bad = [*SERVICES, {"service_name": "Not A Name", **LIGHT}]
    fleet = write_fleet(tmp_path / "fleet.yaml", bad)
    for k in range(1, SHARDS + 1):
        out = tmp_path / f"out-{k}"
        result = run_cli(runs["template"], "render", fleet, "-o", out, "--shard", f"{k}/3", check=2)
        assert "service_name" in result.stderr and "nothing was rendered" in result.stderr
        assert not out.exists()


@pytest.mark.parametrize("spec", ["0/3", "4/3", "3", "1/0", "a/b", "-1/3", "2/3/4", ""])
@pytest.mark.parametrize("command", ["render", "check", "build"])
def test_a_bad_shard_is_refused_by_name_and_writes_nothing(
    runs: dict[str, Path], tmp_path: Path, command: str, spec: str
) -> None:
    template, fleet = runs["template"], runs["fleet"]
    target = tmp_path / "target"
    if command == "build":
        args = [runs["root"] / "out-whole", "--site", target]
    else:
        args = [fleet, "-o", target]
    result = run_cli(template, command, *args, f"--shard={spec}", check=2)
    assert "argument --shard: must be K/N" in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "cannot be read as JSON"),
        ('{"name": "x"}', "must be a list of services"),
        ('[{"name": "x"}]', "[0]: must be an object with the keys name, owner"),
        (
            '[{"name": "x", "owner": "", "lifecycle": "", "system": "", "description": "", '
            '"docs": 3, "rollback": null, "links": [], "alerts": [], "reviewed_on": "", '
            '"review_due": "", "drill": null}]',
            "[0].docs: must be str",
        ),
        (
            '[{"name": "x", "owner": "", "lifecycle": "", "system": "", "description": "", '
            '"docs": null, "rollback": null, "links": [], "alerts": [], "reviewed_on": "", '
            '"review_due": "", "drill": {"drilled_at": "2026-01-01T00:00:00Z", "passed": "yes", '
            '"failed_steps": [], "context": "prod"}}]',
            "[0].drill.passed: must be bool",
        ),
        *(
            (
                '[{"name": "x", "owner": "", "lifecycle": "", "system": "", "description": "", '
                f'"docs": {docs}, "rollback": {rollback}, "links": [], "alerts": [], '
                f'"reviewed_on": "{reviewed}", "review_due": "{due}", "drill": null}}]',
                message,
            )
            for docs, rollback, reviewed, due, message in [
                ('"javascript:alert(1)"', "null", "", "", "[0].docs: must be a relative path"),
                ('"//evil.example/x/"', "null", "", "", "[0].docs: must be a relative path"),
                ('"/x/"', "null", "", "", "[0].docs: must be a relative path"),
                ('"x/"', '"javascript:alert(1)"', "", "", "[0].rollback: must be a relative"),
                ("null", "null", "", "2026-01-01", "must be both given or both empty"),
                ("null", "null", "2026-01-01", "2026-13-01", "[0].review_due: must be a date"),
            ]
        ),
    ],
)
def test_a_bad_shard_index_is_refused_and_nothing_is_written(
    runs: dict[str, Path], tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "services.json"
    bad.write_text(content, encoding="utf-8")
    site = tmp_path / "index"
    result = run_cli(
        runs["template"], "index", runs["root"] / "site-1", bad, "--site", site, check=2
    )
    assert message in result.stderr and str(bad) in result.stderr
    assert "Traceback" not in result.stderr
    assert not site.exists()


def test_the_same_shard_twice_is_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    site_1 = runs["root"] / "site-1"
    result = run_cli(runs["template"], "index", site_1, site_1, "--site", tmp_path / "i", check=2)
    assert "is also in" in result.stderr
    assert not (tmp_path / "i").exists()
