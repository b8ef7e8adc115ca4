"""The drift gate in a service's own repository: what ``render`` adds to a service whose
deployment sources lie inside its own folder.

A rendered service folder is a repository of its own (its ``.github/workflows/`` run there). When
every path its fleet entry's ``sources:`` names lies inside that folder, ``render`` writes two
more files into it, as part of the render (recorded in its manifest like the template's files):

- ``.service-runbooks-drift.yaml``: a fleet file of this one service, its answers and its
  ``sources:`` with each path relative to the service folder;
- ``.github/workflows/runbooks-drift.yml``: one job, ``drift``, on pull requests and pushes that
  touch those sources (or these two files), that checks the repository out into a folder named
  after the service and runs ``service-runbooks check .service-runbooks-drift.yaml --output ..
  --drift`` there: exit 1, failing the build, when an answer no longer matches its sources or a
  command names an object the manifests do not build.

A service whose sources lie elsewhere (the fleet's repository) gets neither: the fleet workflow
checks it. Nor does one rendered from a template that is not a GitHub repository at a commit:
the job installs service-runbooks from there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from service_runbooks.discovery.filedrift import CACHE_FOLDER, rebased, recorded_sources
from service_runbooks.discovery.model import Limits
from service_runbooks.fleet.workflow import _GITHUB_REMOTE, TEMPLATE_DIR, dump_workflow
from service_runbooks.fleetfile import Entry
from service_runbooks.template_source import Stamp

FLEET_FILE = ".service-runbooks-drift.yaml"
WORKFLOW_FILE = PurePosixPath(".github/workflows/runbooks-drift.yml")
JOB = "drift"
CHECK_STEP = "Check the runbooks against their sources"
# The drift cache, beside the checked-out service (check --drift keeps it in --output).
DRIFT_CACHE = CACHE_FOLDER.split("/", 1)[0]
# Characters GitHub reads as pattern syntax in a paths filter, escaped with a backslash
# (https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#filter-pattern-cheat-sheet).
_PATTERN_CHARACTERS = "*?+[]!\\"


def own_sources(sources: Mapping[str, str], fleet_dir: Path, service: Path) -> dict[str, str]:
    """The sources with each path relative to the service folder; empty unless there are some
    and every path they name lies inside it."""
    service = Path(os.path.realpath(service))

    def inside_service(path: str) -> str | None:
        target = Path(os.path.realpath(fleet_dir / path))
        if target != service and service not in target.parents:
            return None
        return target.relative_to(service).as_posix()

    rebased_sources = {name: rebased(source, inside_service) for name, source in sources.items()}
    if not rebased_sources or None in rebased_sources.values():
        return {}
    return {name: str(source) for name, source in rebased_sources.items()}


def _pattern(path: str) -> str:
    return "".join(f"\\{c}" if c in _PATTERN_CHARACTERS else c for c in path)


def watched_paths(sources: dict[str, str], service: Path) -> list[str]:
    """The paths filter: each source (a folder with everything under it), each Kustomize root's
    bases inside the folder, and the two files this module writes."""
    entry = Entry(0, None, {}, sources)
    found = recorded_sources([entry], Path(os.path.realpath(service)), Limits())
    patterns = {FLEET_FILE, str(WORKFLOW_FILE)}
    for path in found:
        relative = path.relative_to(Path(os.path.realpath(service))).as_posix()
        if relative == ".":
            return ["**"]  # the whole repository is a source
        patterns.add(_pattern(relative) + ("/**" if path.is_dir() else ""))
    return sorted(patterns)


def fleet_text(answers: Mapping[str, str], sources: dict[str, str]) -> str:
    header = (
        "# Written by `service-runbooks render`: this service's answers and where each was read\n"
        "# (relative to this folder), for the drift check of "
        f"{WORKFLOW_FILE}. Render again rather than editing.\n"
    )
    entry = {**dict(answers), "sources": sources}
    return header + yaml.safe_dump(
        {"services": [entry]}, sort_keys=False, allow_unicode=True, width=10_000
    )


def template_repository(stamp: Stamp) -> str | None:
    """OWNER/NAME of the template on GitHub, when the stamp names one at a commit."""
    match = _GITHUB_REMOTE.fullmatch(str(stamp.template or ""))
    return match[1] if match and stamp.commit else None


def workflow(name: str, paths: list[str], repository: str, commit: str) -> dict[str, Any]:
    trigger = {"paths": paths}
    check = f'service-runbooks check "$RUNBOOKS_SERVICE/{FLEET_FILE}" --output . --drift'
    return {
        "name": "Runbooks drift",
        "on": {"push": trigger, "pull_request": trigger, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "defaults": {"run": {"shell": "bash"}},
        "env": {"RUNBOOKS_SERVICE": name},
        "jobs": {
            JOB: {
                "name": "Runbooks against their sources",
                "runs-on": "ubuntu-latest",
                "steps": [
                    {
                        # Into a folder named after the service: check --drift finds the
                        # rendered service as --output's folder of that name.
                        "name": "Check out",
                        "uses": "actions/checkout@v4",
                        "with": {"path": name},
                    },
                    {
                        "name": "Check out service-runbooks",
                        "uses": "actions/checkout@v4",
                        "with": {"repository": repository, "ref": commit, "path": TEMPLATE_DIR},
                    },
                    {
                        "name": "Set up Python",
                        "uses": "actions/setup-python@v5",
                        "with": {"python-version": "3.11"},
                    },
                    {
                        # Editable: the check reads the template it is installed from.
                        "name": "Install service-runbooks",
                        "run": f'python -m pip install -e "{TEMPLATE_DIR}"',
                    },
                    {
                        # The builds check --drift keeps by their sources' digest.
                        "name": "Restore the source builds",
                        "uses": "actions/cache@v4",
                        "with": {
                            "path": DRIFT_CACHE,
                            "key": "runbooks-drift-${{ github.sha }}",
                            "restore-keys": "runbooks-drift-",
                        },
                    },
                    # kubectl (kubectl kustomize) and helm (helm template) come with GitHub's
                    # Ubuntu runners (https://github.com/actions/runner-images/blob/main/images/ubuntu/Ubuntu2404-Readme.md).
                    {"name": CHECK_STEP, "run": check},
                ],
            }
        },
    }


def drift_files(entry: Entry, fleet_dir: Path, service: Path, stamp: Stamp) -> dict[str, str]:
    """The files this service gets (path in its folder -> text); none when its sources are
    not all inside its folder or the template is not on GitHub at a commit."""
    sources = own_sources(entry.sources, fleet_dir, service)
    repository = template_repository(stamp)
    if not sources or repository is None or stamp.commit is None:
        return {}
    paths = watched_paths(sources, service)
    text = dump_workflow(
        workflow(entry.name, paths, repository, stamp.commit),
        "# Written by `service-runbooks render`: the drift check of this service's runbooks\n"
        "# against the sources they were read from. Render again rather than editing.\n",
    )
    return {FLEET_FILE: fleet_text(entry.answers, sources), str(WORKFLOW_FILE): text}
