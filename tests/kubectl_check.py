"""Does the real kubectl accept the commands a runbook shows?

Two steps. ``kubectl_calls`` runs a page's shell blocks in bash with ``kubectl`` replaced by a
function that records its arguments, so quoting, ``$(...)``, pipes and variables come out exactly
as a reader's shell would pass them; every other command is a no-op, and an unset variable is an
error. Variables the reader is told to set (``POD``, ``REPLICAS``, ...) get dummy values.
``kubectl_verdicts`` then runs the real ``kubectl`` with each recorded argument list against an
API server that cannot be reached: a command its parser accepts gets as far as connecting and
fails with "connection refused"; a usage error (unknown flag or command, bad flag value, missing
argument) fails before that and is reported.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

UNREACHABLE = "127.0.0.1:1"
GLOBAL_FLAGS = (f"--server=https://{UNREACHABLE}", "--token=x", "--request-timeout=2s")
CONNECTION_REFUSED = (
    f"The connection to the server {UNREACHABLE} was refused",
    f"dial tcp {UNREACHABLE}: connect: connection refused",
)
# Values for the variables a page tells the reader to set before running its commands.
READER_VARIABLES = {
    "POD": "payments-api-7d4b9c6f5-x2x7k",
    "REPLICAS": "3",
    "MAX_REPLICAS": "10",
    "HPA": "payments-api",
    "PVC": "data-payments-api-0",
    "STORAGECLASS": "standard",
    "RUN": "payments-api-5d9c7b8f6-3-1",
    "SIZE": "20Gi",
    "WORKLOAD": "deployment/payments-api",
    "CONTAINER": "payments-api",
    "IMAGE": "registry.example.com/payments-api:1.4.2",
    "CHART": "./chart",
    "VALUES": "values-production.yaml",
    "DEPENDENCY_URL": "https://ledger.example.com/health",
    "REVISION": "3",
    "SOURCE_REVISION": "4f2c9e1",
    "NODE": "node-1",
    "CHART_VERSION": "1.4.2",
    # The database rollback's target (database.md, rollback.md).
    "APP_LABEL": "payments",
    "TARGET": "0002_add_refunds",
    "TAG": "before-1.4.2",
    "COUNT": "3",
    "BAD_IMAGE": "registry.example.com/payments-api:1.4.2",
    # The Argo CD project of the on-call page's access check (argocd account can-i).
    "ARGOCD_PROJECT": "default",
    # Argo CD's own namespace and an ApplicationSet (rollback.md's app-of-apps note).
    "ARGOCD_NAMESPACE": "argocd",
    "APPSET": "payments",
    "PARENT_APP": "payments-apps",
    # A ConfigMap's earlier version (rollback.md).
    "GOOD_COMMIT": "4f2c9e1",
    "MANIFEST": "deploy/configmap.yaml",
}
# Plugins (kubectl-argo-rollouts) are not installed here; their arguments are not checked.
PLUGINS = ("argo",)

_RECORDER = r"""
set -u
kubectl() { printf '%s\0' "$__block" "$#" "$@" >> "$KUBECTL_LOG"; echo dummy-0; }
command_not_found_handle() { return 0; }
"""


@dataclass(frozen=True)
class Call:
    block: int  # index of the shell block on its page
    args: tuple[str, ...]  # kubectl's arguments, without "kubectl"


def kubectl_calls(blocks: list[str]) -> list[Call]:
    """The kubectl argument lists that running these shell blocks in order would produce."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "kubectl.log"
        log.touch()
        script = _RECORDER + "".join(f"__block={i}\n{block}\n" for i, block in enumerate(blocks))
        env = {
            "PATH": str(Path(tmp) / "no-commands-here"),
            "HOME": tmp,
            "KUBECTL_LOG": str(log),
            **READER_VARIABLES,
        }
        result = subprocess.run(
            ["/bin/bash", "-c", script],
            env=env,
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"the shell blocks do not run: {result.stderr}")
        return _parse_log(log.read_text(encoding="utf-8"))


def _parse_log(text: str) -> list[Call]:
    fields = text.split("\0")[:-1]
    calls, i = [], 0
    while i < len(fields):
        block, count = int(fields[i]), int(fields[i + 1])
        calls.append(Call(block, tuple(fields[i + 2 : i + 2 + count])))
        i += 2 + count
    return calls


def is_builtin(args: tuple[str, ...]) -> bool:
    return bool(args) and args[0] not in PLUGINS


def contexts_in(args: Iterable[str]) -> set[str]:
    """Context names given with --context NAME or --context=NAME."""
    args = list(args)
    names = {arg.split("=", 1)[1] for arg in args if arg.startswith("--context=")}
    names |= {args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--context"}
    return names


def _kubeconfig(contexts: set[str]) -> str:
    """Every context the commands name, all pointing at the unreachable server."""
    names = ["checker", *sorted(contexts)]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "unreachable", "cluster": {"server": f"https://{UNREACHABLE}"}}],
            "users": [{"name": "checker", "user": {"token": "x"}}],
            "contexts": [
                {"name": n, "context": {"cluster": "unreachable", "user": "checker"}} for n in names
            ],
            "current-context": "checker",
        }
    )


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    output: str


def classify(returncode: int, stderr: str) -> bool:
    """Accepted: kubectl got past its argument parser (it tried to connect, or needed no server)."""
    return returncode == 0 or any(marker in stderr for marker in CONNECTION_REFUSED)


# What a command that reads its manifest from stdin (`-f -`, after a pipe) gets here: without
# one, kubectl stops at "no objects passed" before it would connect.
STDIN_MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sample\n"


def _reads_stdin(args: tuple[str, ...]) -> bool:
    pairs = itertools.pairwise(args)
    return any(flag in ("-f", "--filename") and value == "-" for flag, value in pairs)


def _run(kubectl: str, args: tuple[str, ...], env: dict[str, str]) -> Verdict:
    result = subprocess.run(
        [kubectl, *GLOBAL_FLAGS, *args],
        env=env,
        input=STDIN_MANIFEST if _reads_stdin(args) else "",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return Verdict(classify(result.returncode, result.stderr), result.stderr.strip())


def kubectl_verdicts(
    kubectl: str, commands: Iterable[tuple[str, ...]]
) -> dict[tuple[str, ...], Verdict]:
    """Run the real kubectl on each argument list (built-in commands only), in parallel."""
    unique = sorted({args for args in commands if is_builtin(args)})
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "kubeconfig"
        config.write_text(_kubeconfig(set().union(*map(contexts_in, unique))), encoding="utf-8")
        env = {**os.environ, "HOME": home, "KUBECONFIG": str(config)}
        with ThreadPoolExecutor(max_workers=4) as pool:
            verdicts = pool.map(lambda args: _run(kubectl, args, env), unique)
            return dict(zip(unique, verdicts, strict=True))
