"""Running a service's drill: its read steps against the cluster, its can-i questions, and with
``server_dry_run`` its changing kubectl steps as server dry runs. Nothing else is ever sent."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service_runbooks.drill import access
from service_runbooks.drill.report import FAILED, PASSED, SKIPPED, ServiceDrill, Step
from service_runbooks.drill.steps import (
    CHANGE,
    CONTEXT_FLAGS,
    READ,
    UNKNOWN,
    Found,
    placeholders,
    service_commands,
    with_context,
)
from service_runbooks.errors import DrillError

STEP_TIMEOUT = 120.0  # seconds one step may take (a rollout status waits up to its --timeout)
# How each client names its version, asked once per drill, so the report says which program
# proved which step (a stub says it is one).
# https://kubernetes.io/docs/reference/kubectl/generated/kubectl_version/
# https://helm.sh/docs/helm/helm_version/  https://fluxcd.io/flux/cmd/flux_version/
# https://argo-cd.readthedocs.io/en/stable/user-guide/commands/argocd_version/
# https://argo-rollouts.readthedocs.io/en/stable/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_version/
VERSION_ARGS = {
    "kubectl": ("version", "--client", "-o", "json"),
    "helm": ("version", "--short"),
    "flux": ("version", "--client"),
    "argocd": ("version", "--client", "--short"),
    "kubectl-argo-rollouts": ("version", "--short"),
    "curl": ("--version",),
}
# Flags that keep a read running until the reader stops it.
_WATCHING = {"-w", "--watch", "--watch=true", "--watch-only", "-f", "--follow", "--follow=true"}
# The API server's words for a refused request (its forbiddenMessage):
# https://github.com/kubernetes/kubernetes/blob/v1.32.4/staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go
_FORBIDDEN = re.compile(
    r'cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?(?: in the namespace "(?P<namespace>[^"]+)")?'
)

# Reads whose exit status 1 means "there are differences", not a failure:
# https://argo-cd.readthedocs.io/en/stable/user-guide/commands/argocd_app_diff/ ("returns the
# following exit codes: 2 on general errors, 1 when a diff is found, and 0 when no diff is found")
# https://kubernetes.io/docs/reference/kubectl/generated/kubectl_diff/ ("1: Differences were found")
DIFFERENCES_FOUND = {("argocd", "app", "diff"): 1, ("kubectl", "diff"): 1}

FIND = "find"  # a read that looks up what a page's placeholder names
# How kubectl names the HorizontalPodAutoscaler resource on a command line (its short name and
# its plural): https://kubernetes.io/docs/reference/kubectl/#resource-types
_HPA_RESOURCES = {"hpa", "horizontalpodautoscaler", "horizontalpodautoscalers"}

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        message = f"no answer in {STEP_TIMEOUT:g} s"
        return subprocess.CompletedProcess(argv, 124, "", message)
    except OSError as error:
        return subprocess.CompletedProcess(argv, 127, "", str(error))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _error_line(text: str) -> str:
    """The tool's own words for what went wrong: its last line that says error (kubectl ends
    an unknown flag's message with "See 'kubectl get --help' for usage."), else its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"(?i)(error|fatal|fata)\b", line)]
    return errors[-1] if errors else (lines[-1] if lines else "")


def forbidden_reason(text: str) -> str:
    """``Forbidden: the identity may not VERB RESOURCE ...`` from the API server's message."""
    match = _FORBIDDEN.search(text)
    if not match:
        return "Forbidden"
    resource = match["resource"]
    if match["group"]:
        resource += f".{match['group']}"
    where = f" in namespace {match['namespace']}" if match["namespace"] else ""
    return f"Forbidden: the identity may not {match['verb']} {resource}{where}"


def classify(done: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """(reason, the tool's own last words) of a failed command."""
    text = done.stderr.strip() or done.stdout.strip()
    words = _error_line(text) or f"exit status {done.returncode}"
    if "(Forbidden)" in text or " is forbidden: " in text:
        return forbidden_reason(text), words
    if "(NotFound)" in text or re.search(r"\bnot found\b", text):
        return "NotFound", words
    if re.search(r"unknown (shorthand )?flag|unknown command|flag provided but not defined", text):
        return "unknown flag or command", words
    if done.returncode == 124:
        return "timed out", words
    return f"failed (exit status {done.returncode})", words


class Clients:
    """The programs the drill runs, found on PATH, each asked once how it names itself."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.names: dict[str, str] = {}

    @staticmethod
    def program(argv: tuple[str, ...] | list[str]) -> str:
        """The program that runs a command: kubectl's Argo Rollouts plugin is its own binary."""
        if list(argv[:3]) == ["kubectl", "argo", "rollouts"]:
            return "kubectl-argo-rollouts"
        return argv[0]

    def missing(self, argv: tuple[str, ...] | list[str]) -> str:
        """Why the command's program cannot run here ('' when it can)."""
        program = self.program(argv)
        if shutil.which(program) is None:
            if program == "kubectl-argo-rollouts":
                return "the kubectl argo rollouts plugin (kubectl-argo-rollouts) is not installed"
            return f"{program} is not installed"
        return ""

    def name(self, argv: tuple[str, ...] | list[str]) -> str:
        program = self.program(argv)
        if program not in self.names:
            self.names[program] = self._ask(program)
        return self.names[program]

    def _ask(self, program: str) -> str:
        path = shutil.which(program) or program
        done = self.runner([program, *VERSION_ARGS.get(program, ("--version",))])
        text = done.stdout.strip()
        if program == "kubectl":
            with contextlib.suppress(ValueError, KeyError, TypeError):
                text = json.loads(text)["clientVersion"]["gitVersion"]
        first = (
            text.splitlines()[0].strip() if text else f"version unknown (exit {done.returncode})"
        )
        return f"{program} {first} ({path})"


def _key(argv: tuple[str, ...]) -> tuple[str, ...]:
    """A command's words without its context flag: the same command, however it names it."""
    words: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in CONTEXT_FLAGS.values():
            skip = True
        elif not any(word.startswith(flag + "=") for flag in CONTEXT_FLAGS.values()):
            words.append(word)
    return tuple(words)


def _differences_found(argv: tuple[str, ...], status: int) -> bool:
    return any(
        argv[: len(prefix)] == prefix and status == code
        for prefix, code in DIFFERENCES_FOUND.items()
    )


def _watches(argv: tuple[str, ...]) -> bool:
    return argv[0] == "kubectl" and any(word in _WATCHING for word in argv)


class Drill:
    """One service's drill, step by step."""

    def __init__(
        self,
        service: Path,
        answers: dict[str, Any],
        context: str,
        server_dry_run: bool,
        runner: Runner = _run,
    ) -> None:
        self.service = service
        self.answers = answers
        self.context = context
        self.server_dry_run = server_dry_run
        self.runner = runner
        self.clients = Clients(runner)
        self._helps: dict[tuple[str, ...], bool] = {}

    def run(self, tables: dict[str, Any]) -> ServiceDrill:
        namespace = str(self.answers.get("namespace", ""))
        found = service_commands(self.service, tables, self.context, namespace)
        drill = ServiceDrill(
            service=str(self.answers.get("service_name") or self.service.name),
            context=self.context,
            drilled_at=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            server_dry_run=self.server_dry_run,
        )
        drill.steps = self._steps(found, tables["access"]) + self._finds(found)
        for step in drill.steps:
            if step.kind == FIND:
                self._find(step)
            else:
                self._perform(step)
        drill.clients = dict(sorted(self.clients.names.items()))
        return drill

    def _steps(self, found: list[Found], checks: list[tuple[str, ...]]) -> list[Step]:
        """One can-i step per question of the template's list, then one step per distinct
        command (pages and scripts that run the same words share it, whatever the context
        flag's spelling; the on-call page's can-i commands are the questions themselves)."""
        steps: dict[tuple[str, tuple[str, ...]], Step] = {}
        for verb, resource, subresource, namespace, why in checks:
            question = access.Question(verb, resource, subresource, namespace)
            argv = with_context(question.argv, self.context)
            step = steps.setdefault(
                ("access", _key(argv)), Step(f"can-i {question}", "access", list(argv), [])
            )
            step.needed_by.append(why)
        unfilled: dict[int, str] = {}
        for item in found:
            argv = with_context(item.argv, self.context)
            kind = item.kind
            if kind == CHANGE and self.server_dry_run and self._dry_runnable(argv):
                kind = "dry-run"
            if ("access", _key(argv)) in steps:
                kind = "access"
            if (kind, _key(argv)) not in steps:
                name = item.entry.name if item.entry else "(no entry)"
                steps[(kind, _key(argv))] = Step(name, kind, list(argv), [])
                if item.unfilled:
                    unfilled[id(steps[(kind, _key(argv))])] = item.unfilled
            steps[(kind, _key(argv))].where.append(item.where)
        for step in steps.values():
            if id(step) in unfilled:
                step.reason = unfilled[id(step)]
        self._after_creation(found, list(steps.values()))
        return list(steps.values())

    @staticmethod
    def _after_creation(found: list[Found], steps: list[Step]) -> None:
        """Steps acting on an object a changing step creates cannot run before it did."""
        created = {
            name: item.entry.name
            for item in found
            if item.kind == CHANGE and item.entry is not None
            for name in access.created_names(item.argv)
        }
        for step in steps:
            for name, creator in created.items():
                if (
                    step.kind != "access"
                    and not step.reason
                    and access.names_object(tuple(step.argv), name)
                ):
                    step.reason = (
                        f"acts on {name}, an object the runbook's own changing steps make and "
                        f"remove ({creator}): not run"
                    )

    @property
    def _hpa_name(self) -> str:
        """The autoscaler the answers name (``hpa_name``; empty: the service has none)."""
        return str(self.answers.get("hpa_name") or "")

    def _names_the_autoscaler(self, argv: tuple[str, ...]) -> bool:
        """Whether a command acts on the service's autoscaler: the one ``hpa_name`` names, or
        the reader's ``${HPA:?}`` when the answers name none."""
        if "HPA" in placeholders(argv):
            return True
        words = list(argv)
        return bool(self._hpa_name) and any(
            word in _HPA_RESOURCES and words[i + 1 : i + 2] == [self._hpa_name]
            for i, word in enumerate(words)
        )

    def _finds(self, found: list[Found]) -> list[Step]:
        """A read step for the autoscaler the pages act on, so a missing one is reported by
        name before an incident needs it: with ``hpa_name``, ``kubectl get hpa NAME``; without,
        the namespace's list the scaling page tells the reader to check."""
        users = [
            item.entry.name
            for item in found
            if item.entry is not None and self._names_the_autoscaler(item.argv)
        ]
        if not users:
            return []
        namespace = str(self.answers.get("namespace", ""))
        named = (self._hpa_name,) if self._hpa_name else ()
        argv = ("kubectl", "get", "hpa", *named, "-n", namespace, "-o", "json")
        step = Step("find HPA", FIND, list(with_context(argv, self.context)), [])
        step.needed_by = sorted(set(users))
        return [step]

    def _workload_ref(self) -> tuple[str, str]:
        """(kind, name) of the workload an autoscaler of the service scales."""
        from service_runbooks.discovery.drift import PageFacts

        kind, name = PageFacts(self.answers, "", "", "").workload_ref
        if self.answers.get("workload") != "helm":  # the workload's own name, as the pages use it
            name = str(self.answers.get("workload_name") or name)
        return kind, name

    def _find(self, step: Step) -> None:
        step.client = self.clients.name(step.argv)
        done = self.runner(step.argv)
        namespace = self.answers.get("namespace")
        if done.returncode != 0:
            step.status = FAILED
            step.reason, step.error = classify(done)
            if self._hpa_name and step.reason == "NotFound":
                step.reason = (
                    f"NotFound: no HorizontalPodAutoscaler {self._hpa_name} in namespace "
                    f"{namespace}, which the service's answers name (hpa_name) and its pages act on"
                )
            return
        try:
            loaded = json.loads(done.stdout)
        except ValueError:
            loaded = {}
        listed = loaded.get("items", [loaded]) if isinstance(loaded, dict) else []
        kind, name = self._workload_ref()
        scales = {
            str((item.get("metadata") or {}).get("name", "")): (
                (item.get("spec") or {}).get("scaleTargetRef") or {}
            )
            for item in listed
            if isinstance(item, dict)
        }
        targets = [
            hpa for hpa, ref in scales.items() if (ref.get("kind"), ref.get("name")) == (kind, name)
        ]
        if self._hpa_name:
            ref = scales.get(self._hpa_name, {})
            if self._hpa_name in targets:
                step.status = PASSED
                return
            step.status = FAILED
            step.reason = (
                f"the HorizontalPodAutoscaler {self._hpa_name} in namespace {namespace} has "
                f"scaleTargetRef {ref.get('kind')}/{ref.get('name')}, not the workload "
                f"{kind}/{name}"
            )
            return
        # Without hpa_name the service is scaled by hand per its answers: the pages' ${HPA:?}
        # steps are for an autoscaler the answers do not name, so they are not applicable.
        step.status = SKIPPED
        step.reason = "not applicable: the service's answers name no autoscaler (hpa_name is empty)"
        if targets:
            step.reason += (
                f", yet HorizontalPodAutoscaler {', '.join(sorted(targets))} in namespace "
                f"{namespace} has scaleTargetRef {kind}/{name}: give it as hpa_name"
            )

    def _dry_runnable(self, argv: tuple[str, ...]) -> bool:
        return argv[0] == "kubectl" and Clients.program(argv) == "kubectl"

    def _perform(self, step: Step) -> None:
        argv = tuple(step.argv)
        if step.kind == UNKNOWN:
            step.reason = (
                "no entry in the template's command table (written by hand, or rendered from "
                "another template version): never run"
            )
            return
        if step.kind == CHANGE:
            self._skip_change(step)
            return
        if step.reason:  # a placeholder, or words the scripts set while they run
            return
        if step.kind == READ and _watches(argv):
            step.reason = "watches until the reader stops it: not run"
            return
        if step.kind == "dry-run":
            if access.flag_value(argv, "-f", "--filename") == "-":
                words = " ".join(access.subcommand(argv))
                step.reason = (
                    f"kubectl {words} reads the object from standard input (the page pipes it)"
                )
                return
            if not self._offers_dry_run(argv):
                words = " ".join(access.subcommand(argv))
                step.reason = f"kubectl {words} has no --dry-run: its verbs are asked with can-i"
                return
            argv = access.dry_run_argv(argv)
            step.argv = list(argv)
        missing = self.clients.missing(argv)
        if missing:
            step.reason = missing
            return
        step.client = self.clients.name(argv)
        done = self.runner(list(argv))
        if done.returncode == 0 or _differences_found(argv, done.returncode):
            step.status = PASSED
            return
        step.status = FAILED
        asks = step.kind == "access" or argv[1:3] == ("auth", "can-i")
        if asks and done.stdout.strip() == "no":
            step.reason = self._refused(step)
            step.error = "no"
            return
        step.reason, step.error = classify(done)

    def _refused(self, step: Step) -> str:
        """The can-i question answered no, in words: its verb, resource and namespace."""
        argv = tuple(step.argv)
        asked = access.positionals(argv[3:])
        if len(asked) < 2:
            return "Forbidden"
        question = access.Question(
            asked[0],
            asked[1],
            access.flag_value(argv, "--subresource"),
            access.flag_value(argv, "-n", "--namespace"),
        )
        return f"Forbidden: the identity may not {question}"

    def _skip_change(self, step: Step) -> None:
        if step.reason:
            return
        if self.server_dry_run:
            step.reason = (
                f"changes the cluster; only kubectl's own commands run as server dry runs "
                f"({Clients.program(step.argv)} is asked with can-i where it can be)"
            )
        else:
            step.reason = (
                "changes the cluster: not run (its verbs are asked with kubectl auth can-i; "
                "--server-dry-run sends kubectl's as server dry runs)"
            )

    def _offers_dry_run(self, argv: tuple[str, ...]) -> bool:
        """Whether kubectl's help for this subcommand lists ``--dry-run`` (asked once each)."""
        words = access.subcommand(argv)
        if words not in self._helps:
            done = self.runner(["kubectl", *words, "--help"])
            self._helps[words] = "--dry-run=" in done.stdout
        return self._helps[words]


def current_context(runner: Runner = _run) -> str:
    done = runner(["kubectl", "config", "current-context"])
    context = done.stdout.strip()
    if done.returncode != 0 or not context:
        raise DrillError(
            "--context: not given, the service has no kube_context, and kubectl has no current "
            f"context ({_last_line(done.stderr) or 'none set'})"
        )
    return context


def ensure_kubectl() -> None:
    if shutil.which("kubectl") is None:
        raise DrillError("kubectl is not on PATH; the drill runs the pages' commands with it")


__all__ = ["FAILED", "PASSED", "SKIPPED", "Drill", "current_context", "ensure_kubectl"]
