"""The can-i questions of the changing steps, and the words of kubectl's commands the drill
reads: which subcommand a command runs (for its ``--help``), its flags' values, its server dry
run form, and the objects the runbook's own steps make.

What the changing steps need the API server to allow is the template's list
(``commands.jinja``'s ``access_checks``, which the on-call page prints as ``kubectl auth can-i``
commands); each becomes a ``Question``. A server dry run is authorised exactly like the real
request, and kept by nothing
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


def flag_value(argv: tuple[str, ...], *names: str) -> str:
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


def created_names(argv: tuple[str, ...]) -> list[str]:
    """The objects of the runbook's own making that a changing command names: the pod
    ``kubectl debug --copy-to=NAME`` makes
    (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_debug/), and an object a
    step deletes by a name the page fixes (a one-off pod the page made, from a manifest piped to
    ``kubectl create -f -``). A step acting on one can run only after the step that made it."""
    if argv[:2] == ("kubectl", "debug"):
        name = flag_value(argv, "--copy-to")
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
