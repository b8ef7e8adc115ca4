"""``service-runbooks check --drift``: each service's answers against its recorded sources as
they are now (discovery/filedrift.py), or with ``--cluster`` against its cluster (drift.py).

The options and the run of the drift mode, apart from ``check``'s own:
``register_drift_options(parser)`` adds them, ``run_drift(args)`` runs it.
"""

from __future__ import annotations

import argparse
import sys

from service_runbooks.errors import EXIT_FAILED, EXIT_OK


def register_drift_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("drift: the answers against the sources or a cluster")
    group.add_argument(
        "--drift",
        action="store_true",
        help="instead: re-read each service's sources (its sources: in the fleet file) and list "
        "every answer they no longer give, and every object its commands name that the "
        "manifests do not build (with --cluster: compare with the live objects)",
    )
    group.add_argument(
        "--cluster",
        action="store_true",
        help="with --drift: read the cluster kubectl reaches (read only: kubectl get)",
    )
    group.add_argument(
        "--context",
        help="the kubeconfig context to read (default: each service's kube_context, else the "
        "current context)",
    )
    group.add_argument(
        "--argocd-namespace",
        default=None,
        help="the namespace of Argo CD's Applications (default: argocd)",
    )


def drift_problems(args: argparse.Namespace) -> list[str]:
    if args.drift and args.stale:
        return ["--drift, --stale: one question at a time"]
    if args.drift and args.output is None:
        return ["--output: required with --drift (the rendered services' commands are checked)"]
    if (args.cluster or args.context) and not args.drift:
        return ["--cluster, --context: only with --drift"]
    if (args.context or args.argocd_namespace) and not args.cluster:
        return ["--context, --argocd-namespace: only with --drift --cluster"]
    return []


def run_drift(args: argparse.Namespace) -> int:
    """Every difference on stdout, one service at a time; exit 1 when there is one."""
    if not args.cluster:
        return run_file_drift(args)
    from service_runbooks.discovery.deployers import ARGOCD_NAMESPACE
    from service_runbooks.discovery.drift import drift_of, report
    from service_runbooks.fleet.shard import select
    from service_runbooks.fleetfile import load_fleet
    from service_runbooks.template_source import TEMPLATE_ROOT

    entries = select(args.shard, load_fleet(args.fleet), lambda entry: entry.name)
    results = drift_of(
        entries,
        TEMPLATE_ROOT,
        args.output,
        args.context,
        args.argocd_namespace or ARGOCD_NAMESPACE,
    )
    for line in report(results):
        print(line, file=sys.stdout)
    return EXIT_FAILED if any(result.differences for result in results) else EXIT_OK


def run_file_drift(args: argparse.Namespace) -> int:
    """Against the recorded sources: every difference on stdout; exit 1 when there is one."""
    from service_runbooks.discovery.drift import report
    from service_runbooks.discovery.filedrift import file_drift
    from service_runbooks.fleet.shard import select
    from service_runbooks.fleetfile import load_fleet

    entries = select(args.shard, load_fleet(args.fleet), lambda entry: entry.name)
    checked = file_drift(entries, args.fleet, args.output)
    for line in report(checked.results):
        print(line, file=sys.stdout)
    drifted = sum(bool(result.differences) for result in checked.results)
    print(f"{len(checked.results)} services: {drifted} drifted from their sources")
    return EXIT_FAILED if drifted else EXIT_OK
