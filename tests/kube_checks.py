"""Checks on what reached the fake API servers of tests/kube_api.py.

Each raises AssertionError saying which request broke which rule; tests/test_kube_api.py also
runs them on doctored scripts and wrong expectations, to show they can fail.
"""

from __future__ import annotations

import copy
import json

from kube_api import (
    PATCHERS,
    FakeApiServer,
    Object,
    Request,
    comparable,
    split_requirements,
    template_images,
)
from kube_resources import RESOURCE_BY_KIND


def _describe(request: Request) -> str:
    query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
    return (
        f"{request.method} {request.path}{'?' + query if query else ''} (server {request.server})"
    )


def mutations(requests: list[Request]) -> list[Request]:
    return [r for r in requests if r.mutating]


def check_dry_run(requests: list[Request]) -> None:
    """A --dry-run: at least one mutation reached the server (a dry run that sends nothing
    proves nothing), and every one carries dryRun=All, so nothing was kept."""
    sent = mutations(requests)
    assert sent, "no mutating request reached the server: the dry run was not a server dry run"
    real = [_describe(r) for r in sent if not r.dry_run]
    assert not real, f"a --dry-run made real changes (no dryRun=All): {real}"


def check_read_only(requests: list[Request]) -> None:
    """No request that changes an object, dry run or not."""
    sent = [_describe(r) for r in mutations(requests)]
    assert not sent, f"a read-only command sent mutating requests: {sent}"


def check_only_gets(requests: list[Request]) -> None:
    """Nothing but GETs reached the server, and SelfSubjectAccessReviews (questions, not
    changes); at least one request for an object did."""
    assert any(r.resource is not None for r in requests), "no request for an object was sent"
    other = [_describe(r) for r in requests if r.method != "GET" and not r.is_access_review]
    assert not other, f"requests other than GETs and access reviews: {other}"


def patched_template(requests: list[Request], before: Object) -> Object:
    """The pod template the kept PATCHes to a workload leave it with, from its state before."""
    path = _object_path(before)
    patches = [r for r in requests if r.method == "PATCH" and r.path == path and not r.dry_run]
    assert patches, f"no PATCH without dryRun reached {path}"
    obj = copy.deepcopy(before)
    for request in patches:
        obj = PATCHERS[request.content_type](obj, request.body)
    return comparable(obj["spec"]["template"])


def check_patched_to(requests: list[Request], before: Object, wanted: Object) -> None:
    """The workload's template was patched to exactly ``wanted`` (revision N's template)."""
    got = patched_template(requests, before)
    assert got == wanted, (
        f"the rollback patched in {template_images(got)}, not the wanted revision's "
        f"{template_images(wanted)}:\n{json.dumps(got, sort_keys=True)}\n"
        f"!=\n{json.dumps(wanted, sort_keys=True)}"
    )


def check_namespace(
    requests: list[Request],
    namespace: str,
    also_read: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    """Every request for an object went to ``namespace`` (and some did), but for GETs of the
    ``also_read`` (resource, namespace) pairs: a GitOps object lives in its tool's namespace."""
    addressed = [r for r in requests if r.resource is not None]
    assert addressed, "no request for an object reached the server"
    elsewhere = [
        _describe(r)
        for r in addressed
        if r.namespace != namespace
        and not (r.method == "GET" and (r.resource, r.namespace) in also_read)
    ]
    assert not elsewhere, f"requests outside namespace {namespace}: {elsewhere}"


def check_label_selector(requests: list[Request], plural: str, selector: str) -> None:
    """Every list of ``plural`` was filtered by the server with a labelSelector holding each
    requirement of ``selector`` (and there was such a list)."""
    lists = [r for r in requests if r.method == "GET" and r.resource == plural and r.name is None]
    assert lists, f"no list of {plural} reached the server"
    wanted = set(split_requirements(selector))
    unfiltered = [
        _describe(r)
        for r in lists
        if not wanted <= set(split_requirements(r.param("labelSelector") or ""))
    ]
    assert not unfiltered, f"lists of {plural} without labelSelector {selector}: {unfiltered}"


def check_only_server(servers: dict[str, FakeApiServer], name: str) -> None:
    """Only the server of context ``name`` got requests; the others none but ``/version``."""
    assert servers[name].api_requests(), f"no request for an object reached {name}"
    others = {n: [_describe(r) for r in s.contacts()] for n, s in servers.items() if n != name}
    assert not any(others.values()), f"requests reached another context than {name}: {others}"


def _object_path(obj: Object) -> str:
    meta = obj["metadata"]
    return RESOURCE_BY_KIND[obj["kind"]].path(meta["namespace"], meta["name"])
