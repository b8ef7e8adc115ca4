"""What a changing command needs the API server to allow, asked with ``kubectl auth can-i``;
and whether kubectl can send it as a server dry run.

The command table says which commands change the cluster; this module knows, for each kind of
change, which request the tool sends (the API verb, the resource and subresource), so the drill
can ask whether the identity may send it without sending it. A server dry run is authorised
exactly like the real request, and kept by nothing
(https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run-authorization).
"""

from __future__ import annotations

from dataclasses import dataclass

# Flags that take a value, so the word after them is not a positional argument.
_VALUE_FLAGS = {
    "-n",
    "--namespace",
    "--context",
    "--kube-context",
    "-l",
    "--selector",
    "-o",
    "--output",
    "-p",
    "--patch",
    "--type",
    "-c",
    "--container",
    "--timeout",
    "--to-revision",
    "--replicas",
    "--copy-to",
    "--set-image",
    "-f",
    "--filename",
    "--field-selector",
    "--revision",
    "--argocd-context",
}


@dataclass(frozen=True, order=True)
class Question:
    """One ``kubectl auth can-i`` question: may the identity VERB RESOURCE[/SUBRESOURCE] in
    NAMESPACE (empty: at the cluster's scope)?"""

    verb: str
    resource: str
    subresource: str = ""
    namespace: str = ""

    @property
    def argv(self) -> tuple[str, ...]:
        words = ["kubectl", "auth", "can-i", self.verb, self.resource]
        if self.subresource:
            words.append(f"--subresource={self.subresource}")
        if self.namespace:
            words += ["-n", self.namespace]
        return tuple(words)

    def __str__(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f" in namespace {self.namespace}" if self.namespace else " at the cluster scope"
        return f"{self.verb} {what}{where}"


def _flag_value(argv: tuple[str, ...], *names: str) -> str:
    for index, word in enumerate(argv):
        for name in names:
            if word == name and index + 1 < len(argv):
                return argv[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return ""


def positionals(argv: tuple[str, ...]) -> list[str]:
    """The words that are not flags or flag values, up to ``--``."""
    words: list[str] = []
    skip = False
    for word in argv:
        if word == "--":
            break
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _VALUE_FLAGS
        else:
            words.append(word)
    return words


def _type_of(words: list[str]) -> str:
    """The resource type of ``TYPE/NAME`` or ``TYPE NAME``, as written (kubectl auth can-i
    resolves short and singular names as kubectl get does)."""
    if not words:
        return ""
    return words[0].split("/")[0]


# kubectl's commands that change an object with a PATCH of it (rollout undo, restart, pause and
# resume; set image; label; annotate; patch): each page of
# https://kubernetes.io/docs/reference/kubectl/generated/ ("Update ...", "Mark ... paused",
# "Roll back to a previous rollout"); kubectl rollout undo patches the workload with the old
# template (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-back-a-deployment).
_PATCHING = {
    ("rollout", "undo"),
    ("rollout", "restart"),
    ("rollout", "pause"),
    ("rollout", "resume"),
    ("set", "image"),
    ("label",),
    ("annotate",),
    ("patch",),
}
# Flux's suspend, resume and reconcile patch the Flux object (spec.suspend, or the
# reconcile.fluxcd.io/requestedAt annotation): https://fluxcd.io/flux/cmd/flux_suspend/,
# https://fluxcd.io/flux/cmd/flux_reconcile/, https://fluxcd.io/flux/components/helm/helmreleases/#suspend
FLUX_TYPES = {
    "helmrelease": "helmreleases.helm.toolkit.fluxcd.io",
    "kustomization": "kustomizations.kustomize.toolkit.fluxcd.io",
}


def questions(argv: tuple[str, ...]) -> tuple[list[Question], str]:
    """The requests a changing command sends, as can-i questions, or why they cannot be told
    from its words."""
    tool = argv[0] if argv else ""
    if tool == "kubectl":
        return _kubectl_questions(argv)
    if tool == "flux":
        return _flux_questions(argv)
    if tool == "helm":
        return _helm_questions(argv)
    if tool == "argocd":
        # argocd talks to the Argo CD API server, which authorises with its own RBAC
        # (https://argo-cd.readthedocs.io/en/stable/operator-manual/rbac/), not Kubernetes'.
        return [], "argocd is authorised by Argo CD's own RBAC, not by the Kubernetes API server"
    return [], f"{tool} does not talk to the Kubernetes API server"


def _kubectl_questions(argv: tuple[str, ...]) -> tuple[list[Question], str]:
    namespace = _flag_value(argv, "-n", "--namespace")
    words = positionals(argv[1:])
    if words[:2] == ["argo", "rollouts"]:
        # The Argo Rollouts plugin changes a Rollout by patching it (undo, abort, promote,
        # retry, pause, restart, set image):
        # https://argo-rollouts.readthedocs.io/en/stable/generated/kubectl-argo-rollouts/kubectl-argo-rollouts/
        return [Question("patch", "rollouts.argoproj.io", "", namespace)], ""
    if not words:
        return [], "no kubectl subcommand"
    command = tuple(words[:2])
    if command in _PATCHING or command[:1] in _PATCHING:
        rest = words[2:] if command in _PATCHING else words[1:]
        return [Question("patch", _type_of(rest), "", namespace)], ""
    verb = words[0]
    rest = words[1:]
    if verb == "scale":
        # kubectl scale patches the scale subresource:
        # https://kubernetes.io/docs/reference/kubectl/generated/kubectl_scale/
        return [Question("patch", _type_of(rest), "scale", namespace)], ""
    if verb == "delete":
        return [Question("delete", _type_of(rest), "", namespace)], ""
    if verb in ("exec", "attach"):
        # https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb
        # (exec is `create` on pods/exec; a 1.30+ WebSocket exec is authorised as `get` too,
        # and `create` again from 1.35).
        return [Question("create", "pods", "exec", namespace)], ""
    if verb == "debug":
        # kubectl debug --copy-to creates a new pod: https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/#copying-a-pod-while-adding-a-new-container
        return [Question("create", "pods", "", namespace)], ""
    if verb in ("cordon", "uncordon"):
        # https://kubernetes.io/docs/reference/kubectl/generated/kubectl_cordon/ (marks the node
        # unschedulable: a patch of the Node, cluster-scoped)
        return [Question("patch", "nodes")], ""
    if verb == "drain":
        # Drain cordons the node, then evicts its pods through the Eviction API:
        # https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/
        return [Question("patch", "nodes"), Question("create", "pods", "eviction")], ""
    if verb in ("create", "apply", "replace"):
        source = _flag_value(argv, "-f", "--filename")
        if source == "-":
            return [], f"kubectl {verb} reads the object from standard input (the page pipes it)"
        return [], f"kubectl {verb} -f {source}: the objects are in a file the drill does not read"
    if verb in ("get", "wait", "describe", "logs", "events", "top", "auth", "version", "config"):
        return [], ""  # only reads: part of a changing step
    return [], f"kubectl {verb}: the drill does not know which request it sends"


def _flux_questions(argv: tuple[str, ...]) -> tuple[list[Question], str]:
    words = positionals(argv[1:])
    namespace = _flag_value(argv, "-n", "--namespace") or "flux-system"
    if len(words) >= 2 and words[0] in ("suspend", "resume", "reconcile"):
        kind = words[1]
        if kind in FLUX_TYPES:
            return [Question("patch", FLUX_TYPES[kind], "", namespace)], ""
    return [], f"flux {' '.join(words[:2])}: the drill does not know which request it sends"


def _helm_questions(argv: tuple[str, ...]) -> tuple[list[Question], str]:
    words = positionals(argv[1:])
    namespace = _flag_value(argv, "-n", "--namespace")
    if words[:1] == ["rollback"]:
        # A rollback records a new release revision and marks the old one superseded: the
        # default storage driver creates and updates Secrets in the release's namespace
        # (https://helm.sh/docs/topics/advanced/#storage-backends,
        # https://github.com/helm/helm/blob/main/pkg/storage/driver/secrets.go); the chart's
        # objects it patches are not named on the command line.
        return [
            Question("create", "secrets", "", namespace),
            Question("update", "secrets", "", namespace),
        ], ""
    return [], f"helm {' '.join(words[:1])}: the drill does not know which request it sends"


def created_names(argv: tuple[str, ...]) -> list[str]:
    """The objects of the runbook's own making that a changing command names: the pod
    ``kubectl debug --copy-to=NAME`` makes
    (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_debug/), and an object a
    step deletes by a name the page fixes (a one-off pod the page made, from a manifest piped to
    ``kubectl create -f -``). A step acting on one can run only after the step that made it."""
    if argv[:2] == ("kubectl", "debug"):
        name = _flag_value(argv, "--copy-to")
        return [name] if name and "$" not in name else []
    words = positionals(argv[1:])
    if words[:1] == ["delete"] and len(words) >= 3 and "$" not in words[2]:
        return [words[2]]
    return []


def names_object(argv: tuple[str, ...], name: str) -> bool:
    """Whether a command's positional words name the object ``name`` (``NAME``, ``TYPE/NAME``)."""
    return any(word == name or word.endswith("/" + name) for word in positionals(argv[1:]))


def dry_run_argv(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The command as a server dry run: ``--dry-run=server`` before ``--``
    (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_patch/: "If server
    strategy, submit server-side request without persisting the resource")."""
    words = list(argv)
    end = words.index("--") if "--" in words else len(words)
    return tuple([*words[:end], "--dry-run=server", *words[end:]])


def subcommand(argv: tuple[str, ...]) -> tuple[str, ...]:
    """kubectl's subcommand words (``rollout undo``, ``patch``), for its ``--help``."""
    words = positionals(argv[1:])
    if words[:1] in (["rollout"], ["set"], ["auth"], ["config"]):
        return tuple(words[:2])
    return tuple(words[:1])
