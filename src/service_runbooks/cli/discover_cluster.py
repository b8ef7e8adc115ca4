"""``service-runbooks discover --cluster``: a fleet file from the live objects of a cluster.

The options and the run of the cluster mode, apart from the parser of ``discover`` so that the
mode from files and this one can share it: ``register_cluster_options(parser)`` adds them,
``discover(args)`` reads the cluster.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service_runbooks.discovery import Discovery


def register_cluster_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("from a cluster (read only: kubectl get -o json)")
    group.add_argument(
        "--cluster",
        action="store_true",
        help="read the workloads from the cluster kubectl reaches, instead of from files",
    )
    group.add_argument(
        "--context",
        help="the kubeconfig context to read (default: the current one, read once and named "
        "on every kubectl call)",
    )
    group.add_argument(
        "--namespace",
        "-n",
        help="read this namespace only (default: every namespace)",
    )
    group.add_argument(
        "--argocd-namespace",
        default=None,
        help="the namespace of Argo CD's Applications (default: argocd)",
    )


def discover(args: argparse.Namespace) -> Discovery:
    """What the cluster holds, through the same pipeline as files. The workloads' NAMEs are
    ``args.sources``: the positional the ``discover`` parser gives (its SOURCE... from files)."""
    from service_runbooks.discovery.cluster import ClusterSource, discover_cluster
    from service_runbooks.discovery.deployers import ARGOCD_NAMESPACE

    source = ClusterSource(
        context=args.context,
        namespace=args.namespace,
        names=tuple(args.sources),
        argocd_namespace=args.argocd_namespace or ARGOCD_NAMESPACE,
    )
    return discover_cluster(source)
