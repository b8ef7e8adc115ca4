"""Helpers for the fleet CLI tests: a committed copy of this template, and running the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from matrix import ROOT

from service_runbooks.fleet.minify import minify_page
from service_runbooks.fleet.techdocs_metadata import METADATA as TECHDOCS_METADATA
from service_runbooks.rules import (
    COOKIECUTTER_JSON,
    RULES_BY_FIELD,
    default_answer,
    has_jinja,
    missing_deciding,
)

LOCK = ".service-runbooks.lock"
RECORD = ".service-runbooks-fleet.json"  # file-system identities of the last run: not content
METADATA = {".cruft.json", ".service-runbooks.json"}
GIT_ID = ["-c", "user.name=fleet-tests", "-c", "user.email=fleet-tests@example.com"]


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_ID, *args], cwd=repo, check=True, capture_output=True, text=True
    )
    return result.stdout


def copy_template(destination: Path) -> Path:
    """This checkout's files (committed or not, minus ignored ones) as a fresh one-commit repo.

    cruft clones the template and renders its commit, so tests need a template whose commit
    is exactly the files being tested, and one they may change.
    """
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if source.is_file() and not source.is_symlink():
            (destination / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / rel)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "template")
    return destination


def clone_template(template: Path, destination: Path) -> Path:
    git(template, "clone", "-q", str(template), str(destination))
    return destination


def cli_env(template: Path) -> dict[str, str]:
    """Run the CLI from ``template``'s own copy of the package: it renders that template."""
    return {
        **os.environ,
        "PYTHONPATH": str(template / "src"),
        "NO_MKDOCS_2_WARNING": "1",
    }


def run_cli(
    template: Path, *args: str | Path, cwd: Path | None = None, check: int | None = 0
) -> subprocess.CompletedProcess[str]:
    """``service-runbooks ARGS`` as a user runs it, from ``template``'s package."""
    result = subprocess.run(
        [sys.executable, "-m", "service_runbooks", *map(str, args)],
        cwd=cwd,
        env=cli_env(template),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check is not None:
        assert result.returncode == check, (
            f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


# Every fleet file must give reviewed_on (its cookiecutter default is the day of the render):
# write_fleet puts this one in defaults unless the test gives its own (tests/test_review_dates.py
# is about the dates themselves).
REVIEWED = {"reviewed_on": "2026-11-02"}
# Every fleet must give the facts that decide which commands a page gives (rules.Rule.deciding;
# tests/test_fleetfile.py is about that refusal): write_fleet gives cookiecutter.json's values
# for them, so a test's services render as they did before the rule. DECIDING holds the ones a
# plain default gives (in defaults:); those computed from other answers (the workload's name
# from the service's, the Flux object's kind from the workload) are given per entry, as
# cookiecutter computes them (computed_deciding).
DECIDING = {
    field: default_answer(field)
    for field in missing_deciding({})
    if not has_jinja(str(default_answer(field)))
}
MUST_GIVE = {**REVIEWED, **DECIDING}
# The deciding facts that name one service's own object (rules.Rule.per_service): never in
# defaults:, each entry gives its own.
PER_SERVICE = [
    field for field, rule in RULES_BY_FIELD.items() if rule.deciding and rule.per_service
]


def computed_deciding(answers: Mapping[str, object]) -> dict[str, str]:
    """The deciding facts ``answers`` lack whose cookiecutter.json default is computed from other
    answers, rendered with them as cookiecutter renders it (its defaults for the rest)."""
    import jinja2

    context = {k: default_answer(k) for k in COOKIECUTTER_JSON if not k.startswith("_")}
    context.update(answers)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return {
        field: environment.from_string(str(default_answer(field))).render(cookiecutter=context)
        for field in missing_deciding(answers)
        if has_jinja(str(default_answer(field)))
    }


def give_per_service(data: object) -> object:
    """A parsed fleet with each entry's per-service deciding facts given (their rules' example)
    where it lacks them: for the tests about the file's other rules, which write entries by
    name only. The lines of the entries stay as parsed."""
    services = data.get("services") if isinstance(data, dict) else None
    for item in services if isinstance(services, list) else []:
        if isinstance(item, dict):
            for field in PER_SERVICE:
                item.setdefault(field, RULES_BY_FIELD[field].example)
    return data


def must_give_yaml() -> str:
    """``MUST_GIVE`` as a fleet file's ``defaults:`` block, for tests that write YAML text."""
    return yaml.safe_dump({"defaults": MUST_GIVE}, sort_keys=False)


def write_fleet(
    path: Path, services: list[Mapping[str, object]], defaults: Mapping[str, object] | None = None
) -> Path:
    shared = {**MUST_GIVE, **(defaults or {})}
    entries = [{**dict(s), **computed_deciding({**shared, **s})} for s in services]
    data: dict[str, object] = {"services": entries, "defaults": shared}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def snapshot(root: Path, ignore: set[str] | frozenset[str] = frozenset()) -> dict[str, tuple]:
    """Every file under ``root``: relative path -> (bytes, executable?); folders as markers."""
    tree: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if name in ignore or name in (LOCK, RECORD):
                continue
            if path.is_dir():
                tree[rel + "/"] = ()
            else:
                tree[rel] = (path.read_bytes(), bool(path.stat().st_mode & 0o111))
    return tree


def minify_like_the_fleet(site: Path) -> Path:
    """A plain MkDocs site's pages minified as the fleet build minifies them; the template's
    docs hold no HTML file of their own, so every page there is one MkDocs rendered."""
    for page in site.rglob("*.html"):
        page.write_text(minify_page(page.read_text(encoding="utf-8")), encoding="utf-8")
    return site


def site_snapshot(site: Path, drop: Iterable[str]) -> dict[str, tuple]:
    """``snapshot`` of a TechDocs site with the ``drop`` fields left out of its
    techdocs_metadata.json (compared parsed, so only those fields may differ)."""
    tree = snapshot(site)
    if TECHDOCS_METADATA in tree:
        fields = json.loads((site / TECHDOCS_METADATA).read_text(encoding="utf-8"))
        kept = {key: value for key, value in fields.items() if key not in set(drop)}
        tree[TECHDOCS_METADATA] = (kept, tree[TECHDOCS_METADATA][1])
    return tree
