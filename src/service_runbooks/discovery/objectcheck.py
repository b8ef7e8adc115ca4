"""What a rendered service's commands act on, checked against the built manifests.

Every kubectl command of its pages and scripts (parsed with ``service_runbooks.commands``) that
names an object (``kubectl get deployment NAME``, ``rollout undo statefulset/NAME``, ``scale``,
``kubectl argo rollouts get rollout NAME``...) must name one the manifests build, in the
namespace it says (``-n``, else the service's). Not failed, but named as what they are: a
reader's placeholder (``"${POD:?}"``), an object the runbook itself creates (a pod copied with
``kubectl debug --copy-to=NAME`` or started with ``kubectl run NAME``), a GitOps object when the
GitOps answers were not read from the sources given. And the service's selector must select the
pods of its workload and of no other pod owner in its namespace.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from service_runbooks.commands import Command, parse_page, parse_shell
from service_runbooks.discovery.index import (
    ObjectIndex,
    same_namespace_pod_owners,
    selector_matches,
)
from service_runbooks.discovery.model import KubeObject

# kubectl's resource names as the pages write them -> the kind they name
# (`kubectl api-resources`: https://kubernetes.io/docs/reference/kubectl/#resource-types).
RESOURCE_KINDS = {
    **dict.fromkeys(("deployment", "deployments", "deploy"), "Deployment"),
    **dict.fromkeys(("statefulset", "statefulsets", "sts"), "StatefulSet"),
    **dict.fromkeys(("daemonset", "daemonsets", "ds"), "DaemonSet"),
    **dict.fromkeys(("rollout", "rollouts", "ro"), "Rollout"),
    **dict.fromkeys(
        ("hpa", "horizontalpodautoscaler", "horizontalpodautoscalers"), "HorizontalPodAutoscaler"
    ),
    **dict.fromkeys(("pdb", "poddisruptionbudget", "poddisruptionbudgets"), "PodDisruptionBudget"),
    **dict.fromkeys(("service", "services", "svc"), "Service"),
    **dict.fromkeys(("configmap", "configmaps", "cm"), "ConfigMap"),
    **dict.fromkeys(("secret", "secrets"), "Secret"),
    **dict.fromkeys(
        ("pvc", "persistentvolumeclaim", "persistentvolumeclaims"), "PersistentVolumeClaim"
    ),
    **dict.fromkeys(("pod", "pods", "po"), "Pod"),
    **dict.fromkeys(("replicaset", "replicasets", "rs"), "ReplicaSet"),
    **dict.fromkeys(("node", "nodes", "no"), "Node"),
    **dict.fromkeys(("job", "jobs"), "Job"),
    **dict.fromkeys(("cronjob", "cronjobs", "cj"), "CronJob"),
    **dict.fromkeys(
        ("helmrelease", "helmreleases", "hr", "helmreleases.helm.toolkit.fluxcd.io"), "HelmRelease"
    ),
    **dict.fromkeys(
        ("kustomization", "kustomizations", "ks", "kustomizations.kustomize.toolkit.fluxcd.io"),
        "Kustomization",
    ),
    **dict.fromkeys(
        ("application", "applications", "app", "applications.argoproj.io"), "Application"
    ),
}
# The one tool whose commands name objects here (kubectl-argo-rollouts runs as `kubectl argo
# rollouts`): the check parses only the lines that may hold it (commands.parse_shell's `only`).
OBJECT_TOOL = "kubectl"
# Kinds that exist only once the cluster makes them (from a workload), never in manifests.
CLUSTER_MADE = frozenset({"Pod", "ReplicaSet", "Node", "Job"})
GITOPS_KINDS = frozenset({"HelmRelease", "Kustomization", "Application"})
# kubectl verbs whose positional words are TYPE NAME... or TYPE/NAME...
# (https://kubernetes.io/docs/reference/kubectl/generated/kubectl/).
TYPED_VERBS = frozenset(
    {
        "get",
        "describe",
        "delete",
        "patch",
        "label",
        "annotate",
        "edit",
        "scale",
        "wait",
        "autoscale",
    }
)
SUB_VERBS = frozenset({"rollout", "set", "top"})  # kubectl rollout undo TYPE/NAME...
POD_VERBS = frozenset({"logs", "exec", "debug", "attach", "port-forward", "cp"})  # POD or TYPE/NAME
# kubectl's global flags that take a value as the next word; they may come before the verb
# (`kubectl -n NS rollout undo ...`): https://kubernetes.io/docs/reference/kubectl/kubectl/
GLOBAL_VALUE_FLAGS = frozenset(
    {
        "--as", "--as-group", "--as-uid", "--cache-dir", "--certificate-authority",
        "--client-certificate", "--client-key", "--cluster", "--context", "--kubeconfig",
        "-n", "--namespace", "--password", "--profile", "--profile-output", "--request-timeout",
        "-s", "--server", "--tls-server-name", "--token", "--user", "--username", "-v", "--v",
        "--vmodule",
    }
)  # fmt: skip
# Every kubectl flag that takes a value as the next word (the rest are switches or
# --flag=value): the global ones, and those of the verbs the pages run.
VALUE_FLAGS = GLOBAL_VALUE_FLAGS | frozenset(
    {
        "-l", "--selector", "-o", "--output", "-c", "--container", "--for", "--timeout", "-p",
        "--patch", "--type", "--replicas", "--to-revision", "--image", "--copy-to",
        "--set-image", "--field-selector", "--sort-by", "--since", "--tail", "-f", "--filename",
        "--revision", "--template", "-L", "--label-columns", "--grace-period",
        "--current-replicas", "--min", "--max", "--cpu-percent", "--target",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Named:
    """One object a command names: kind, namespace, name, and where the command is."""

    kind: str
    namespace: str
    name: str
    where: str


@dataclass
class ObjectReport:
    missing: list[Named] = field(default_factory=list)
    placeholders: list[Named] = field(default_factory=list)
    created: list[Named] = field(default_factory=list)
    gitops_not_given: list[Named] = field(default_factory=list)
    found: int = 0


def _option(argv: tuple[str, ...], *names: str) -> str | None:
    """The value of the first of ``names`` given: ``-n NS``, ``--namespace NS`` or
    ``--namespace=NS`` (a long option only: ``-nNS`` is not read)."""
    for index, word in enumerate(argv):
        if word in names:
            if index + 1 < len(argv):
                return argv[index + 1]
        elif word.startswith("--") and "=" in word:
            name, value = word.split("=", 1)
            if name in names:
                return value
    return None


def _positionals(words: tuple[str, ...]) -> list[str]:
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word == "--":
            break
        if word in VALUE_FLAGS:
            skip = True
        elif not word.startswith("-") and "=" not in word:  # KEY=VALUE is a label, not a name
            found.append(word)
    return found


def _refs(verb: str, positionals: list[str]) -> list[tuple[str, str]]:
    """(resource word, name) of each object a command's positional words name."""
    if not positionals:
        return []
    if "/" in positionals[0]:
        return [tuple(word.split("/", 1)) for word in positionals if "/" in word]  # type: ignore[misc]
    if verb in POD_VERBS:
        return [("pod", positionals[0])]
    return [(positionals[0], name) for name in positionals[1:]]


def named_objects(command: Command, namespace: str, where: str) -> list[Named]:
    """The objects one kubectl command names (none for a command that selects by label)."""
    if command.tool != OBJECT_TOOL:
        return []
    return [
        Named(kind, given or namespace, name, f"{where}:{command.line}")
        for kind, given, name in _named_by(command.argv)
    ]


@functools.lru_cache(maxsize=16384)
def _named_by(argv: tuple[str, ...]) -> tuple[tuple[str, str | None, str], ...]:
    """(kind, the namespace the command gives or None, name) of each object a kubectl argv
    names; a pure function of it, kept (a service's pages repeat their commands)."""
    if len(argv) < 2 or _option(argv, "-l", "--selector") is not None:
        return ()
    in_namespace = _option(argv, "-n", "--namespace")
    if in_namespace is not None and "$" in in_namespace:
        in_namespace = None  # a variable: the service's own namespace, as the pages set it
    rest = _after_global_flags(argv[1:])
    if not rest:
        return ()
    if rest[:2] == ["argo", "rollouts"]:
        words = _positionals(tuple(rest[3:]))
        if words[:1] == ["rollout"] or rest[2:3] == ["set"]:
            # `get rollout NAME`; `set image NAME CONTAINER=IMAGE` names the Rollout after its
            # sub-verb (https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_set_image/)
            words = words[1:]
        refs = [("rollout", words[0])] if words else []
    elif rest[0] in SUB_VERBS:
        refs = _refs(rest[0], _positionals(tuple(rest[2:])))
    elif rest[0] in TYPED_VERBS or rest[0] in POD_VERBS:
        refs = _refs(rest[0], _positionals(tuple(rest[1:])))
    else:
        return ()
    return tuple(
        (RESOURCE_KINDS.get(resource.lower(), resource), in_namespace, name)
        for resource, name in refs
    )


def _after_global_flags(words: tuple[str, ...]) -> list[str]:
    """The words from the verb on: the global flags before it skipped, with their values."""
    index = 0
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in GLOBAL_VALUE_FLAGS else 1
    return list(words[index:])


def _created_names(commands: list[Command]) -> set[str]:
    """Pods the runbook makes itself: ``kubectl debug --copy-to=NAME``, ``kubectl run NAME``."""
    made = set()
    for command in commands:
        argv = command.argv
        if command.tool != OBJECT_TOOL or len(argv) < 2:
            continue
        copy = _option(argv, "--copy-to")
        if argv[1] == "debug" and copy:
            made.add(copy)
        if argv[1] == "run":
            words = _positionals(argv[2:])
            made.update(words[:1])
    return made


def command_files(service: Path) -> list[tuple[str, str]]:
    """Each page and script of a rendered service whose commands are checked (regular files,
    no link followed), as (path, path shown: from the service's folder's name), in path order.
    Plain strings and ``os.scandir``: the walk runs over every service of a fleet."""
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(service), (service.name,))]
    while pending:
        folder, parts = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, (*parts, entry.name)))
                elif entry.name.endswith((".md", ".sh")) and entry.is_file(follow_symlinks=False):
                    found.append(((*parts, entry.name), entry.path))
    return [(path, "/".join(parts)) for parts, path in sorted(found)]


def commands_in(shown: str, text: str, only: str | None = None) -> list[Command]:
    """The commands of a page or script; with ``only``, of the lines that may hold that word."""
    return parse_page(text, only=only) if shown.endswith(".md") else parse_shell(text, only=only)


def object_commands_in(shown: str, text: str) -> list[Command]:
    """Enough of a page's or script's commands for ``naming_of``: what it reads of them
    (``named_objects``, ``_created_names``) comes from the OBJECT_TOOL's commands only."""
    return commands_in(shown, text, only=OBJECT_TOOL)


def service_commands(service: Path) -> list[tuple[str, Command]]:
    """Every command of a rendered service's pages and scripts, with its file."""
    found: list[tuple[str, Command]] = []
    for path, shown in command_files(service):
        text = Path(path).read_text(encoding="utf-8")
        found += [(shown, command) for command in commands_in(shown, text)]
    return found


@dataclass(frozen=True)
class Naming:
    """What a service's commands name, and the pods its runbook makes itself."""

    named: tuple[Named, ...]
    created: frozenset[str]


def naming_of(commands: list[tuple[str, Command]], namespace: str) -> Naming:
    named = tuple(
        item for where, command in commands for item in named_objects(command, namespace, where)
    )
    return Naming(named, frozenset(_created_names([command for _, command in commands])))


def check_objects(
    commands: list[tuple[str, Command]],
    index: ObjectIndex,
    namespace: str,
    gitops_given: bool,
) -> ObjectReport:
    """Each object the commands name: in the manifests, or named as what it is."""
    return check_named(naming_of(commands, namespace), index, gitops_given)


def check_named(naming: Naming, index: ObjectIndex, gitops_given: bool) -> ObjectReport:
    """Each object named: in the manifests, or named as what it is."""
    report = ObjectReport()
    for named in naming.named:
        if "$" in named.name or "$" in named.kind:
            report.placeholders.append(named)
        elif named.name in naming.created:
            report.created.append(named)
        elif (
            index.get(named.kind, named.namespace, named.name) is not None
            or (index.get(named.kind, None, named.name) is not None)
            or (named.kind in GITOPS_KINDS and _gitops_anywhere(index, named))
        ):
            report.found += 1
        elif named.kind in GITOPS_KINDS and not gitops_given:
            report.gitops_not_given.append(named)
        elif named.kind in CLUSTER_MADE and named.kind != "Pod":
            report.placeholders.append(named)  # made by the cluster, named at run time
        else:
            report.missing.append(named)
    return report


def _gitops_anywhere(index: ObjectIndex, named: Named) -> bool:
    """A GitOps object is named with its own namespace flag (flux's, Argo CD's namespace)."""
    return any(obj.name == named.name for obj in index.by_kind.get(named.kind, []))


def pod_template_labels(obj: KubeObject) -> Mapping[str, object]:
    for path in (
        ("spec", "template", "metadata", "labels"),
        ("spec", "jobTemplate", "spec", "template", "metadata", "labels"),
    ):
        labels = obj.get(*path)
        if isinstance(labels, Mapping):
            return labels
    return {}


def selector_problems(
    selector: str, workload: KubeObject, index: ObjectIndex
) -> list[tuple[str, str]]:
    """(what is wrong, where) when ``selector`` (k=v,k2=v2, as the pages use it with ``-l``)
    misses the workload's pods or selects another pod owner's in the namespace."""
    pairs = dict(pair.split("=", 1) for pair in selector.split(",") if "=" in pair)
    as_selector = {"matchLabels": pairs}
    problems = []
    if not selector_matches(as_selector, pod_template_labels(workload)):
        where = workload.cite("spec.template.metadata.labels")
        problems.append((f"it does not select the pods of {workload.ref}", where))
    for other in same_namespace_pod_owners(index, workload):
        if other is not workload and selector_matches(as_selector, pod_template_labels(other)):
            where = other.cite("spec.template.metadata.labels")
            problems.append((f"it also selects the pods of {other.ref}", where))
    return problems
