"""``service-runbooks workflow``: a GitHub Actions workflow for a fleet repository.

An N-job matrix: each job renders its shard (``render --shard K/N``), checks its answers against
the sources they were read from (``check --drift --shard K/N``, on every change), builds its
TechDocs sites (``build --shard K/N``, the sites kept between runs in the Actions cache so only
changed ones are built) and, on the default branch, publishes each site it built with ``techdocs-cli
publish``; then one job merges the shards' indexes (``index``) into the fleet's site.

How to publish is not written here a second time: the storage variables, their check, the
cloud log-ins, the publish command and the tool versions are read from the workflow every
service gets (the template's ``.github/workflows/techdocs.yml``, rendered), so both workflows
read the same Actions variables and publish the same way. The workflow is a data structure
dumped with PyYAML (every value quoted as YAML needs), never text pasted together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from service_runbooks.discovery.filedrift import CACHE_FOLDER
from service_runbooks.errors import WorkflowError
from service_runbooks.template_source import TEMPLATE_ROOT, skeleton_dirs

WORKFLOW_FILE = PurePosixPath(".github/workflows/runbooks.yml")
# A matrix runs at most 256 jobs per workflow run
# (https://docs.github.com/en/actions/using-jobs/using-a-matrix-for-your-jobs).
MAX_SHARDS = 256
TEMPLATE_DIR = ".service-runbooks-template"  # where the jobs check out service-runbooks
SITES_ARTIFACT = "runbooks-shard-"  # + the shard number: one artifact per shard's sites
# The per-service workflow is rendered with this name; its entity is then a pattern in which
# the jobs put each service's name (a DNS label never holds '@').
NAME_SLOT = "@service@"
GITHUB_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_GITHUB_REMOTE = re.compile(r"(?:https://github\.com/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?")


# Where check --drift keeps its builds, inside the output folder (filedrift.CACHE_FOLDER's
# top folder, one source of truth).
DRIFT_CACHE = CACHE_FOLDER.split("/", 1)[0]
SERVICES_DIR = PurePosixPath("build/services")  # where the jobs render, in the repository
SITE_DIR = PurePosixPath("build/site")  # where they build the sites


@dataclass(frozen=True)
class Settings:
    """What the workflow is generated for."""

    fleet: PurePosixPath  # the fleet file, relative to the repository's root
    shards: int
    template_repo: str  # OWNER/NAME of service-runbooks on GitHub
    template_ref: str  # the commit (or tag, branch) the jobs check out
    services_dir: PurePosixPath = SERVICES_DIR
    site_dir: PurePosixPath = SITE_DIR


def per_service_workflow(
    template: Path = TEMPLATE_ROOT, name: str = "*techdocs.yml*"
) -> dict[str, Any]:
    """A workflow a service gets (the TechDocs one unless ``name`` says), rendered for the
    name ``NAME_SLOT`` (and no kube context)."""
    import jinja2

    (skeleton,) = skeleton_dirs(template)
    (path,) = (skeleton / ".github" / "workflows").glob(name)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    text = environment.from_string(path.read_text(encoding="utf-8"))
    rendered = yaml.safe_load(
        text.render(cookiecutter={"service_name": NAME_SLOT, "kube_context": ""})
    )
    rendered["on"] = rendered.pop(True, rendered.get("on"))  # PyYAML reads the key `on` as True
    return rendered


def _is_publish_command(step: dict[str, Any]) -> bool:
    return "publish" in step.get("run", "") and "TECHDOCS_CLI" in step.get("run", "")


def _downloads_the_site(step: dict[str, Any]) -> bool:
    return str(step.get("uses", "")).startswith("actions/download-artifact@")


@dataclass(frozen=True)
class Publishing:
    """The per-service workflow's publish job, taken apart for the fleet's jobs."""

    condition: str  # when to publish: on the default branch
    permissions: dict[str, str]
    env: dict[str, str]  # the storage variables (vars.*)
    steps: list[dict[str, Any]]  # check the settings, log in, set up Node
    command: str  # publishes ./site as $TECHDOCS_ENTITY
    tools: dict[str, str]  # TECHDOCS_CLI, TECHDOCS_CORE: the tested versions
    entity: str  # the entity of a service, NAME_SLOT for its name
    defaults: dict[str, Any]


def publishing(template: Path = TEMPLATE_ROOT) -> Publishing:
    workflow = per_service_workflow(template)
    job = workflow["jobs"]["publish"]
    (command,) = [step["run"] for step in job["steps"] if _is_publish_command(step)]
    steps = [s for s in job["steps"] if not (_is_publish_command(s) or _downloads_the_site(s))]
    env = dict(workflow["env"])
    return Publishing(
        condition=job["if"],
        permissions=job["permissions"],
        env=job["env"],
        steps=steps,
        command=command,
        entity=env.pop("TECHDOCS_ENTITY"),
        tools=env,
        defaults=workflow["defaults"],
    )


def _checkout_steps(settings: Settings) -> list[dict[str, Any]]:
    return [
        {"name": "Check out", "uses": "actions/checkout@v4"},
        {
            "name": "Check out service-runbooks",
            "uses": "actions/checkout@v4",
            "with": {
                "repository": settings.template_repo,
                "ref": settings.template_ref,
                "path": TEMPLATE_DIR,
            },
        },
        {
            "name": "Set up Python",
            "uses": "actions/setup-python@v5",
            "with": {"python-version": "3.11"},
        },
        {
            "name": "Install service-runbooks",
            # Editable: the CLI renders the template it is installed from (this checkout).
            "run": f'python -m pip install -e "{TEMPLATE_DIR}" "$TECHDOCS_CORE"',
        },
    ]


def _only_when(condition: str, step: dict[str, Any]) -> dict[str, Any]:
    """``step`` run only under ``condition`` too (and its own ``if``)."""
    own = step.get("if")
    name, rest = step["name"], {key: value for key, value in step.items() if key != "if"}
    return {"name": name, "if": f"{condition} && ({own})" if own else condition, **rest}


PUBLISH_CHANGED = """\
# Each site this run built (the others are unchanged since the cached run that published
# them), published with the per-service workflow's own command ($TECHDOCS_PUBLISH), which
# publishes ./site as $TECHDOCS_ENTITY.
while IFS= read -r name; do
  echo "::group::Publish $name"
  work="$RUNNER_TEMP/publish/$name"
  mkdir -p "$work"
  cp -R "$RUNBOOKS_SITE/$name" "$work/site"
  (
    cd "$work"
    export TECHDOCS_ENTITY="${TECHDOCS_ENTITY_PATTERN//$NAME_SLOT/$name}"
    bash --noprofile --norc -eo pipefail -c "$TECHDOCS_PUBLISH"
  )
  echo "::endgroup::"
done < "$RUNNER_TEMP/built.txt"
"""


def _shard_job(settings: Settings, publish: Publishing) -> dict[str, Any]:
    shard_spec = f"${{{{ matrix.shard }}}}/{settings.shards}"
    key = f"runbooks-sites-${{{{ matrix.shard }}}}-of-{settings.shards}-"
    drift_key = f"runbooks-builds-${{{{ matrix.shard }}}}-of-{settings.shards}-"
    build_steps = [
        {
            # actions/cache saves only when the job succeeds (its post step has
            # `post-if: success()`, https://github.com/actions/cache/blob/main/action.yml), so
            # the sites of a failed publish are built and published again by the next run.
            "name": "Restore the shard's sites",
            "uses": "actions/cache@v4",
            "with": {
                "path": "${{ env.RUNBOOKS_SITE }}",
                "key": key + "${{ github.sha }}",
                "restore-keys": key,
            },
        },
        {
            "name": "Render the shard's services",
            "run": 'service-runbooks render "$RUNBOOKS_FLEET" --output "$RUNBOOKS_SERVICES" '
            '--shard "$SHARD" --template-url "$RUNBOOKS_TEMPLATE_URL"',
        },
        {
            # The builds check --drift keeps by their sources' digest: a run where no source
            # changed builds nothing.
            "name": "Restore the shard's source builds",
            "uses": "actions/cache@v4",
            "with": {
                "path": f"${{{{ env.RUNBOOKS_SERVICES }}}}/{DRIFT_CACHE}",
                "key": drift_key + "${{ github.sha }}",
                "restore-keys": drift_key,
            },
        },
        {
            # The gate: every answer still what its sources say, every object the commands
            # name built by the manifests (kubectl kustomize; helm template for local charts:
            # both come with GitHub's Ubuntu runners, https://github.com/actions/runner-images/blob/main/images/ubuntu/Ubuntu2404-Readme.md).
            "name": "Check the shard's answers against their sources",
            "run": 'service-runbooks check "$RUNBOOKS_FLEET" --output "$RUNBOOKS_SERVICES" '
            '--shard "$SHARD" --drift',
        },
        {
            "name": "Build the shard's TechDocs",
            "run": 'service-runbooks build "$RUNBOOKS_SERVICES" --site "$RUNBOOKS_SITE" '
            '--shard "$SHARD" --built-list "$RUNNER_TEMP/built.txt"',
        },
        {
            # Hidden files (the build's digests) stay out: upload-artifact v4 leaves them out
            # by default (https://github.com/actions/upload-artifact#uploading-hidden-files).
            "name": "Keep the shard's sites",
            "uses": "actions/upload-artifact@v4",
            "with": {
                "name": f"{SITES_ARTIFACT}${{{{ matrix.shard }}}}",
                "path": "${{ env.RUNBOOKS_SITE }}",
                "retention-days": 7,
                # A re-run of a failed job uploads the same name in the same run, which v4
                # refuses unless told to overwrite (input added in v4.2.0:
                # https://github.com/actions/upload-artifact/releases/tag/v4.2.0).
                "overwrite": True,
            },
        },
    ]
    publish_steps = [
        *publish.steps,
        {
            "name": "Publish the changed services",
            "env": {
                "TECHDOCS_PUBLISH": publish.command,
                "TECHDOCS_ENTITY_PATTERN": publish.entity,
                "NAME_SLOT": NAME_SLOT,
            },
            "run": PUBLISH_CHANGED,
        },
    ]
    return {
        "name": f"Shard ${{{{ matrix.shard }}}} of {settings.shards}",
        "runs-on": "ubuntu-latest",
        "strategy": {"fail-fast": False, "matrix": {"shard": list(range(1, settings.shards + 1))}},
        "permissions": publish.permissions,
        "env": {"SHARD": shard_spec, **publish.env},
        "steps": [
            *_checkout_steps(settings),
            *build_steps,
            *(_only_when(publish.condition, step) for step in publish_steps),
        ],
    }


DRILL_ARTIFACT = "runbooks-drill"  # the drill job's reports, one artifact per run
DRILL_REPORTS = "drill-reports"  # where the jobs keep them, in the repository's checkout
# Only on the schedule or by hand: a push or pull request renders and publishes, it does not
# drill the clusters.
DRILL_EVENTS = "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"


@dataclass(frozen=True)
class Drilling:
    """The per-service drill workflow taken apart for the fleet's drill job: its schedule and
    its drill step (the kubeconfig secret, the command), so both drill the same way."""

    schedule: list[dict[str, str]]
    step: dict[str, Any]


def drilling(template: Path = TEMPLATE_ROOT) -> Drilling:
    workflow = per_service_workflow(template, "drill.yml")
    (step,) = [s for s in workflow["jobs"]["drill"]["steps"] if s["name"] == "Drill"]
    return Drilling(schedule=workflow["on"]["schedule"], step=step)


def _drill_job(settings: Settings, drill: Drilling) -> dict[str, Any]:
    """Render the fleet and drill every service (read-only steps, can-i; nothing changed),
    keeping the reports for the index (`index --drill-reports`)."""
    step = {
        **drill.step,
        "name": "Drill every service",
        "env": {
            **drill.step["env"],
            "DRILL_TARGET": "${{ env.RUNBOOKS_SERVICES }}",
            "DRILL_REPORT": f"{DRILL_REPORTS}/drill.json",
        },
    }
    return {
        "name": "Runbook drill",
        "if": DRILL_EVENTS,
        "runs-on": "ubuntu-latest",
        "steps": [
            *_checkout_steps(settings),
            {
                "name": "Render the fleet",
                "run": 'service-runbooks render "$RUNBOOKS_FLEET" --output "$RUNBOOKS_SERVICES" '
                '--template-url "$RUNBOOKS_TEMPLATE_URL"',
            },
            step,
            {
                "name": "Keep the drill's reports",
                "if": "always()",
                "uses": "actions/upload-artifact@v4",
                "with": {
                    "name": DRILL_ARTIFACT,
                    "path": DRILL_REPORTS,
                    "if-no-files-found": "ignore",
                    "retention-days": 30,
                    "overwrite": True,  # a re-run, as above
                },
            },
        ],
    }


# The reports of the last drill run that finished (the schedule's or one started by hand),
# through the GitHub CLI the runners have (https://cli.github.com/manual/gh_run_list,
# https://cli.github.com/manual/gh_run_download); none yet: an empty folder, no drill shown.
LAST_DRILL = f"""\
mkdir -p {DRILL_REPORTS}
for event in schedule workflow_dispatch; do
  gh run list --repo "$GITHUB_REPOSITORY" --workflow "{WORKFLOW_FILE.name}" --event "$event" \\
    --status completed --limit 5 --json databaseId --jq '.[].databaseId'
done | sort -rnu | while read -r run; do
  [[ -n $run ]] || continue
  if gh run download "$run" --repo "$GITHUB_REPOSITORY" --name {DRILL_ARTIFACT} \\
    --dir {DRILL_REPORTS}; then
    break
  fi
done
"""


def _index_job(settings: Settings) -> dict[str, Any]:
    shards = [f"shards/{SITES_ARTIFACT}{k}" for k in range(1, settings.shards + 1)]
    return {
        "name": "Fleet index",
        "needs": "shards",
        "runs-on": "ubuntu-latest",
        # actions: read for the last drill's artifact (gh run list, gh run download).
        "permissions": {"contents": "read", "actions": "read"},
        "steps": [
            *_checkout_steps(settings),
            {
                # Each artifact into its own folder, named after it (no merge-multiple:
                # https://github.com/actions/download-artifact#download-multiple-filtered-artifacts-to-the-same-directory).
                "name": "Get the shards' sites",
                "uses": "actions/download-artifact@v4",
                "with": {"pattern": f"{SITES_ARTIFACT}*", "path": "shards"},
            },
            {
                "name": "Put the shards' sites together",
                "run": 'mkdir -p fleet-site\nfor shard in shards/*/; do cp -R "$shard". '
                "fleet-site/; done",
            },
            {
                "name": "Get the last drill's reports",
                "env": {"GH_TOKEN": "${{ github.token }}"},
                "run": LAST_DRILL,
            },
            {
                "name": "Build the fleet index",
                # Every shard named: a missing one fails here instead of leaving services out.
                "run": f"service-runbooks index {' '.join(shards)} --site fleet-site "
                f"--drill-reports {DRILL_REPORTS}",
            },
            {
                "name": "Keep the fleet's site",
                "uses": "actions/upload-artifact@v4",
                "with": {
                    "name": "runbooks-site",
                    "path": "fleet-site",
                    "retention-days": 7,
                    "overwrite": True,  # a re-run, as above
                },
            },
        ],
    }


def workflow(settings: Settings, template: Path = TEMPLATE_ROOT) -> dict[str, Any]:
    """The fleet workflow as data."""
    publish = publishing(template)
    drill = drilling(template)
    # Every change, with no paths filter: the sources each answer was read from (sources: in
    # the fleet file) may lie anywhere in the repository, and the drift gate must see a change
    # to any of them. Rendering and building redo only what changed.
    return {
        "name": "Runbooks",
        "on": {
            "push": {},
            "pull_request": {},
            "workflow_dispatch": {},
            "schedule": drill.schedule,  # the drill job's
        },
        "permissions": {"contents": "read"},
        # One run publishes at a time; a newer one waits instead of cancelling it
        # (https://docs.github.com/en/actions/using-jobs/using-concurrency).
        "concurrency": {"group": "runbooks-${{ github.ref }}", "cancel-in-progress": False},
        "defaults": publish.defaults,
        "env": {
            **publish.tools,
            "RUNBOOKS_FLEET": str(settings.fleet),
            "RUNBOOKS_SERVICES": str(settings.services_dir),
            "RUNBOOKS_SITE": str(settings.site_dir),
            "RUNBOOKS_TEMPLATE_URL": f"https://github.com/{settings.template_repo}",
        },
        "jobs": {
            "shards": _shard_job(settings, publish),
            "index": _index_job(settings),
            "drill": _drill_job(settings, drill),
        },
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (scripts) as literal blocks, which read as the script they are; no
    anchors and aliases (a shared list is written out twice, as a person would)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEADER = """\
# Generated by `service-runbooks workflow`: render, build and publish the fleet's runbooks in
# {shards} shard(s), then build the fleet's index. Run the command again rather than editing.
"""


def dump_workflow(data: dict[str, Any], header: str) -> str:
    """A workflow as YAML text (scripts as literal blocks, no aliases) under its header."""
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        width=10_000,  # a command stays on one line
        allow_unicode=True,
    )
    return header + body


def workflow_text(settings: Settings, template: Path = TEMPLATE_ROOT) -> str:
    return dump_workflow(workflow(settings, template), HEADER.format(shards=settings.shards))


def template_repo_default(template: Path = TEMPLATE_ROOT) -> str | None:
    """OWNER/NAME of the template's ``origin`` remote when it is on GitHub."""
    from service_runbooks.template_source import _git

    remote = (_git(template, "remote", "get-url", "origin") or "").strip()
    match = _GITHUB_REMOTE.fullmatch(remote)
    return match[1] if match else None


def repository_path(path: Path, repository: Path, option: str) -> PurePosixPath:
    """``path`` relative to the repository's root; WorkflowError when it is outside."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        relative = absolute.resolve().relative_to(repository.resolve())
    except ValueError:
        raise WorkflowError(
            f"{option}: {path} is not inside the repository folder {repository} (the jobs "
            "check out the repository and read it there)"
        ) from None
    return PurePosixPath(relative.as_posix())


def check_settings(
    shards: int,
    template_repo: str | None,
    template_ref: str | None,
    services_dir: PurePosixPath | None = None,
) -> tuple[str, str]:
    """The repository and ref, checked; WorkflowError naming the first option that breaks its
    rule."""
    if not 1 <= shards <= MAX_SHARDS:
        raise WorkflowError(
            f"--shards: must be 1 to {MAX_SHARDS} (a GitHub matrix runs at most "
            f"{MAX_SHARDS} jobs), got {shards}"
        )
    if template_repo is None:
        raise WorkflowError(
            "--template-repo: the template's git remote is not on GitHub; name the "
            "repository the jobs install service-runbooks from, as OWNER/NAME"
        )
    if not GITHUB_REPO.fullmatch(template_repo):
        raise WorkflowError(
            f"--template-repo: must be a GitHub repository as OWNER/NAME (e.g. "
            f"acme/service-runbooks), got {template_repo!r}"
        )
    if not template_ref or not re.fullmatch(r"[A-Za-z0-9._/-]+", template_ref):
        raise WorkflowError(
            "--template-ref: must be a commit, tag or branch of letters, digits, '.', '_', "
            f"'/' and '-' (the template is not a git checkout? name one), got {template_ref!r}"
        )
    if services_dir is not None and (
        services_dir.is_absolute() or ".." in services_dir.parts or not services_dir.parts
    ):
        raise WorkflowError(
            f"--services-dir: must be a folder inside the repository, relative to its root "
            f"(e.g. services), got {str(services_dir)!r}"
        )
    return template_repo, template_ref
