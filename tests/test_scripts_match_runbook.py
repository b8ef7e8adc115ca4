"""The commands the helper scripts run are the ones docs/runbooks/rollback.md shows.

Each script runs against stub tools that log every call; every logged call must be a command of
the rendered rollback page (the Database Rollback section included), after putting back the
page's placeholders for the values the test chose (revision 2, "$POD", the migration rollback's
"${TARGET:?}"-style placeholders). The few ways a script may differ from the page are listed
below, each with its reason.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from oracle import Service, fill
from script_stubs import CONTEXT, SCRIPT_COMBOS, Stubs, script_combo_id
from tools import tool

Calls = list[list[str]]

POD = "payments-api-7c9d8f6b5-x2x4q"  # the stub's pod
REVISION = "2"  # the revision the scripts are asked for; the page leaves it to the reader
# Each migration tool's rollback target, as the test gives it to db-migrations.sh.
ROLLBACK_ARGS = {
    "django": ("--app", "payments", "--to", "0002_add_refunds"),
    "alembic": ("--to", "20240101000000"),
    "flyway": ("--paid-edition", "--target", "1.4"),
    "liquibase": ("--tag", "before-1.4.2"),
    "rails": ("--to", "20240101000000"),
    "golang-migrate": ("--to", "20240101000000"),
}
# A schema rollback names the bad release's image: the one the stub's pods run.
BAD_IMAGE = "registry.example.com/payments-api:1.4.2"
# The page's placeholders for the values the test chose (a whole word, or the value of an
# X=VALUE word such as --to-revision=2 or --tag=before-1.4.2).
PLACEHOLDERS = {
    POD: "$POD",
    REVISION: "${REVISION:?}",
    "payments": "${APP_LABEL:?}",
    "0002_add_refunds": "${TARGET:?}",
    "20240101000000": "${TARGET:?}",
    "1.4": "${TARGET:?}",
    "before-1.4.2": "${TAG:?}",
    "7": "${COUNT:?}",
}


def placeholder(word: str) -> str:
    if word in PLACEHOLDERS:
        return PLACEHOLDERS[word]
    name, equals, value = word.rpartition("=")
    return f"{name}={PLACEHOLDERS[value]}" if equals and value in PLACEHOLDERS else word


# Calls a script makes that the page rightly does not show.
NOT_ON_THE_PAGE = {
    # The context check reads the current context; a reader sees it in their prompt.
    ("kubectl", "config", "current-context"),
    # status.sh shows an Argo CD application's sync and health state; the rollback page waits for
    # health with `argocd app wait` instead (the verification page is the place for `app get`).
    ("argocd", "app", "get"),
}
# How a script decides what to do, where the page shows the same facts in a form for people:
# the Rollout's phase (the page shows `get rollout`), the pods' revisions (the page lists them
# with -L controller-revision-hash), the StatefulSet's uid that picks its own pods among them (the
# page shows each pod's owner), the workloads that own a
# Helm chart's pods (the page reads the release's manifest), whether GitOps is paused, the
# kubectl version (the on-call page states the minimum).
SCRIPT_DECISIONS = re.compile(
    r"jsonpath=\{\.status\.phase\}|controller-revision-hash\} |jsonpath=\{\.metadata\.uid\}"
    r"|ownerReferences|jsonpath=\{\.spec\.suspend\}|^argocd app get \S+ -o json$"
    r"|^kubectl version --client -o json$"
)
# The forced rollback of a StatefulSet deletes each blocking pod and waits for it, bounded.
FORCED_ROLLBACK = re.compile(r"^kubectl (delete pod|wait pod) ")
# Flags a script adds: dry runs (the page's commands are the real thing) and status.sh's
# snapshot (--watch=false: the page waits for the rollout, a status script must not).
SCRIPT_ONLY_FLAGS = {"--dry-run=server", "--dry-run", "--watch=false"}

SHELL_FENCE = re.compile(r"^( *)```bash\n(.*?)^\1```", flags=re.MULTILINE | re.DOTALL)
SUBSTITUTION = re.compile(r"^\w+=\$\((.*)\)$")


def page_commands(markdown: str) -> list[list[str]]:
    """Every command in the page's bash blocks, as argument lists (`X=$(cmd)` gives cmd)."""
    commands = []
    for indent, block in SHELL_FENCE.findall(markdown):
        # A long command goes on after a backslash at the end of a line (broken for a phone).
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.removeprefix(indent).strip()
            if not line or line.startswith("#"):
                continue
            inner = SUBSTITUTION.match(line)
            words = shlex.split(inner.group(1) if inner else line, comments=True)
            if words:  # a line like `POD=   # <- ...` asks the reader for a value
                commands.append(words)
    return commands


def unpinned(call: list[str]) -> list[str]:
    """The call without the --context a script pins to the current context (when the service
    has no kube_context, the page leaves the context to the reader's kubectl)."""
    words: list[str] = []
    skip = False
    for word in call:
        if skip:
            skip = False
        elif word in ("--context", "--kube-context"):
            skip = True
        else:
            words.append(word)
    return words


def argocd_unpinned(call: list[str]) -> list[str]:
    """The call without the argocd context a script pins (the page leaves it to the reader's
    `argocd context`, which its emergency box shows)."""
    if call[0] != "argocd" or "--argocd-context" not in call:
        return call
    at = call.index("--argocd-context")
    return call[:at] + call[at + 2 :]


def as_on_the_page(call: list[str]) -> tuple[list[str], bool]:
    """The call with the page's placeholders and without script-only flags; and whether it was
    a snapshot of something the page waits for."""
    snapshot = "--watch=false" in call
    call = argocd_unpinned(call)
    words = [placeholder(word) for word in call if word not in SCRIPT_ONLY_FLAGS]
    if words[:3] == ["kubectl", "exec", "-i"]:
        words[2] = "-it"  # the page gives a person a terminal; a script has one only sometimes
    return words, snapshot


def shown(call: list[str], commands: list[list[str]]) -> bool:
    words, snapshot = as_on_the_page(call)
    # A Helm chart's workload is the reader's $WORKLOAD on the page; the script finds it.
    if any(word.startswith(("deployment/", "statefulset/")) for word in words):
        as_placeholder = [
            "${WORKLOAD:?}" if word.startswith(("deployment/", "statefulset/")) else word
            for word in words
        ]
        if matches(as_placeholder, snapshot, commands):
            return True
    if tuple(words[:3]) in NOT_ON_THE_PAGE:
        return True
    line = shlex.join(call)
    if SCRIPT_DECISIONS.search(line) or FORCED_ROLLBACK.search(line):
        return True
    return matches(words, snapshot, commands)


def matches(words: list[str], snapshot: bool, commands: list[list[str]]) -> bool:
    """Whether one of the page's commands is these words (a snapshot may drop its wait)."""
    for command in commands:
        rest = command[len(words) :]
        if command[: len(words)] != words:
            continue
        if not rest:
            return True
        if rest == ["-w"]:  # the page watches the pods; a script lists them once
            return True
        if rest[0] == "|":  # the page filters the output for the reader; a script parses it
            return True
        if snapshot and (rest[0].startswith("--timeout=") or rest[0] == "--timeout"):
            return True
    return False


def run_every_script(scripts: Path, stubs: Stubs, answers: dict[str, str]) -> None:
    """Every script, in every mode that issues commands; each must succeed."""
    runs = [
        (0, "rollback.sh", "--yes"),
        (0, "rollback.sh", "--to-revision", "2", "--yes"),
        (0, "rollback.sh", "--dry-run", "--to-revision", "2"),
        (0, "status.sh"),
        (0, "history.sh"),
        (0, "history.sh", "--revision", "2"),
        (0, "verify.sh"),
    ]
    if answers["workload"] == "argo-rollout":
        runs.append((0, "rollback.sh", "--abort", "--yes"))
    tool = answers["migration_tool"]
    if tool != "none":
        runs.append((0, "db-migrations.sh", "status"))
    if tool in ROLLBACK_ARGS:
        rollback = ("db-migrations.sh", "rollback", "--image", BAD_IMAGE)
        runs.append((0, *rollback, *ROLLBACK_ARGS[tool], "--yes"))
    if tool == "liquibase":
        runs.append((0, *rollback, "--count", "7", "--yes"))
    for expected, script, *args in runs:
        result = stubs.run(scripts / script, *args)
        assert result.returncode == expected, f"{script} {args}: {result.stderr}"
    # The failure path (a StatefulSet shows its pods' revisions) runs commands too.
    failing = {"STUB_STATUS_RC": "1", "STUB_HELM_STATUS": "failed"}
    result = stubs.run(scripts / "rollback.sh", "--yes", **failing)
    assert result.returncode == 4, result.stderr


@pytest.fixture(scope="module")
def script_calls(render, tmp_path_factory) -> Callable[[dict[str, str]], tuple[Path, Calls]]:
    """The rendered service and every call its scripts made (run once per combination)."""
    cache: dict[str, tuple[Path, Calls]] = {}

    def _calls(answers: dict[str, str]) -> tuple[Path, Calls]:
        key = script_combo_id(answers)
        if key not in cache:
            service = render(answers)
            folder = tmp_path_factory.mktemp(key)
            stubs = Stubs(folder, current_context=answers.get("kube_context", CONTEXT))
            run_every_script(service / "scripts", stubs, answers)
            cache[key] = (service, stubs.calls())
        return cache[key]

    return _calls


@pytest.mark.parametrize("answers", SCRIPT_COMBOS, ids=script_combo_id)
def test_scripts_run_the_commands_the_rollback_page_shows(
    script_calls, answers: dict[str, str]
) -> None:
    service, calls = script_calls(answers)
    runbooks = service / "docs" / "runbooks"
    # The rollback page holds the database section today; a database page may take it over.
    pages = [runbooks / "rollback.md", *runbooks.glob("database.md")]
    commands = [command for page in pages for command in page_commands(page.read_text())]
    assert len(calls) > 10
    if not answers.get("kube_context"):
        calls = [unpinned(call) for call in calls]
    missing = [shlex.join(call) for call in calls if not shown(call, commands)]
    assert not missing, (
        "not on rollback.md:\n"
        + "\n".join(dict.fromkeys(missing))
        + ("\n\nthe page's commands:\n" + "\n".join(shlex.join(c) for c in commands))
    )


@pytest.mark.parametrize("answers", SCRIPT_COMBOS, ids=script_combo_id)
def test_real_kubectl_accepts_every_kubectl_call(
    script_calls, tmp_path: Path, answers: dict[str, str]
) -> None:
    """The scripts' built-in kubectl calls, script-only flags included, parse with the real
    kubectl: against a server that refuses connections, a usage error fails, a refusal passes."""
    _, calls = script_calls(answers)
    kubectl = tool("kubectl")
    env = {**os.environ, "KUBECONFIG": str(unreachable_kubeconfig(tmp_path))}
    built_in = {
        tuple(call) for call in calls if call[0] == "kubectl" and call[1] not in ("argo", "config")
    }
    assert built_in or answers["workload"] == "argo-rollout"
    for call in sorted(built_in):
        result = subprocess.run(
            [kubectl, "--request-timeout=2s", *call[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert "127.0.0.1:1" in result.stderr, f"{shlex.join(call)}:\n{result.stderr}"


def unreachable_kubeconfig(folder: Path) -> Path:
    """A kubeconfig whose contexts (the current one and the tests' named ones) lead nowhere."""
    contexts = ["current", CONTEXT, "staging-eu"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "nobody", "user": {"token": "x"}}],
        "contexts": [
            {"name": name, "context": {"cluster": "nowhere", "user": "nobody"}} for name in contexts
        ],
        "current-context": "current",
    }
    path = folder / "kubeconfig"
    path.write_text(json.dumps(config))
    return path


def test_the_comparison_catches_a_difference() -> None:
    """The matcher itself: a wrong flag, a missing timeout or another namespace is not 'shown'."""
    page = page_commands(
        "```bash\n"
        "kubectl rollout status deployment/x -n prod --timeout=5m\n"
        "POD=$(kubectl get pods -l app=x -n prod -o jsonpath='{.items[0].metadata.name}')\n"
        'kubectl exec -it "$POD" -n prod -- alembic current\n'
        "```\n"
    )

    def is_shown(call: str) -> bool:
        return shown(shlex.split(call), page)

    assert is_shown("kubectl rollout status deployment/x -n prod --timeout=5m")
    assert is_shown("kubectl rollout status deployment/x -n prod --watch=false")
    assert is_shown(f"kubectl exec -i {POD} -n prod -- alembic current")
    assert is_shown("kubectl get pods -l app=x -n prod -o 'jsonpath={.items[0].metadata.name}'")
    assert not is_shown("kubectl rollout status deployment/x -n prod")
    assert not is_shown("kubectl rollout status deployment/x -n staging --timeout=5m")
    assert not is_shown(f"kubectl exec -i {POD} -n prod -- alembic downgrade")


def oracle_operations(answers: dict[str, str]) -> list[tuple[tuple[str, ...], list[str]]]:
    """Each script run and the oracle's command it must issue for that operation."""
    svc = Service(answers)
    workload = "deployment/payments-api"  # what the stubs' pods belong to
    runs = [
        (("rollback.sh", "--yes"), fill(svc.undo())),
        (("rollback.sh", "--yes"), fill(svc.wait(), WORKLOAD=workload)),
        (
            ("rollback.sh", "--to-revision", REVISION, "--yes"),
            fill(svc.undo_to(), REVISION=REVISION),
        ),
        (("history.sh",), fill(svc.history())),
        (("status.sh",), fill(svc.status_now())),
        (("verify.sh",), fill(svc.image())),
        (("verify.sh",), fill(svc.wait(), WORKLOAD=workload)),
    ]
    if svc.show_revision() and svc.engine != "argocd-helm":  # Argo CD: the row, then a hint
        runs.append(
            (("history.sh", "--revision", REVISION), fill(svc.show_revision(), REVISION=REVISION))
        )
    if svc.abort():
        runs.append((("rollback.sh", "--abort", "--yes"), fill(svc.abort())))
        runs.append((("rollback.sh", "--promote-full", "--yes"), fill(svc.promote_full())))
    return runs


def calls_of(stubs: Stubs, script: Path, args: tuple[str, ...], answers: dict[str, str]) -> Calls:
    """The calls one script run makes, without the pinned context of a service that has none."""
    stubs.log.unlink(missing_ok=True)
    stubs.run(script, *args, STUB_ROLLOUT_ABORTED="1" if "--abort" in args else "")
    calls = [argocd_unpinned(call) for call in stubs.calls()]
    return calls if answers.get("kube_context") else [unpinned(call) for call in calls]


@pytest.mark.parametrize("answers", SCRIPT_COMBOS, ids=script_combo_id)
def test_scripts_run_the_oracles_command_for_each_operation(
    render, tmp_path: Path, answers: dict[str, str]
) -> None:
    """Per operation: the script's command is exactly the oracle's, which is the page's."""
    scripts = render(answers) / "scripts"
    stubs = Stubs(tmp_path, current_context=answers.get("kube_context", CONTEXT))
    for (script, *args), expected in oracle_operations(answers):
        calls = calls_of(stubs, scripts / script, tuple(args), answers)
        assert expected in calls, f"{script} {args} did not run {shlex.join(expected)}:\n" + (
            "\n".join(shlex.join(call) for call in calls)
        )


def test_a_script_that_drifts_from_the_page_is_caught(render, tmp_path: Path) -> None:
    """Negative control: a rendered rollback.sh whose undo differs from the page's fails both
    comparisons (the oracle's command, and the rollback page's commands)."""
    answers = SCRIPT_COMBOS[0]
    service = render(answers)
    copy = tmp_path / "service"
    shutil.copytree(service, copy, symlinks=True)
    script = copy / "scripts" / "rollback.sh"
    text = script.read_text(encoding="utf-8")
    drifted = text.replace('"--to-revision=$REVISION"', '"--revision=$REVISION"')
    assert drifted != text
    script.write_text(drifted, encoding="utf-8")
    stubs = Stubs(tmp_path / "stubs", current_context=CONTEXT)
    calls = calls_of(stubs, script, ("--to-revision", REVISION, "--yes"), answers)
    assert fill(Service(answers).undo_to(), REVISION=REVISION) not in calls
    page = page_commands((copy / "docs" / "runbooks" / "rollback.md").read_text())
    assert [call for call in calls if not shown(call, page)], "the page comparison missed it"
