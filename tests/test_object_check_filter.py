"""The drift check's object check parses only the lines that may run kubectl (and spreads the
services over workers): what it reports must be exactly what parsing every command reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID

from service_runbooks.commands import parse_shell
from service_runbooks.discovery.index import ObjectIndex
from service_runbooks.discovery.namingcache import naming_cache, service_naming, service_namings
from service_runbooks.discovery.objectcheck import check_named, naming_of, service_commands

NAMESPACE = "payments"
# Every combination: each renders other pages and scripts.
COMBOS = sorted(COMBINATIONS_BY_ID)


def _plain_naming(service: Path):
    """What every command of every page and script names (the parser's unfiltered path)."""
    return naming_of(service_commands(service), NAMESPACE)


@pytest.mark.parametrize("combo", COMBOS)
def test_the_filtered_naming_is_the_plain_naming(render_combo, combo: str) -> None:
    service = render_combo(combo)
    plain = _plain_naming(service)
    assert plain.named, "the rendered pages name objects: the comparison is not empty"
    assert service_naming(service, NAMESPACE, None) == plain


def test_a_ghost_object_is_still_reported(render_combo, tmp_path: Path) -> None:
    """Negative control: a page that names an object no manifest builds is reported missing,
    also when its kubectl is quoted apart and sits beside lines that are skipped."""
    service = tmp_path / "svc"
    service.mkdir()
    page = (
        "# Ghost\n\n```bash\necho 'no kubectl here'\nk'ube'ctl get deployment ghost -n other\n"
        "curl -s http://example\n```\n"
    )
    (service / "ghost.md").write_text(page, encoding="utf-8")
    naming = service_naming(service, NAMESPACE, None)
    assert naming == _plain_naming(service)
    report = check_named(naming, ObjectIndex([]), gitops_given=True)
    assert [(n.kind, n.namespace, n.name, n.where) for n in report.missing] == [
        ("Deployment", "other", "ghost", "svc/ghost.md:5")
    ]


def test_the_parser_still_gives_every_command_by_default() -> None:
    """The filter is the object check's: the parser's other users get every command."""
    script = "helm list -n x\nkubectl get pods\ncurl -s http://example\n"
    assert [c.argv[0] for c in parse_shell(script)] == ["helm", "kubectl", "curl"]
    assert [c.argv[0] for c in parse_shell(script, only="kubectl")] == ["kubectl"]


def test_the_workers_give_each_service_its_own_naming_in_order(
    render_combo, tmp_path: Path
) -> None:
    """Parsed in worker processes, then read back from the cache: each service's naming, in
    the order given, equal to the plain path's (a ghost page in one of them included)."""
    services = [render_combo(combo) for combo in COMBOS[:3]]
    ghost = tmp_path / "ghost-svc"
    ghost.mkdir()
    (ghost / "ghost.md").write_text("```bash\nkubectl get deploy ghost\n```\n", encoding="utf-8")
    services.insert(1, ghost)
    jobs = [(service, NAMESPACE) for service in services]
    expected = [_plain_naming(service) for service in services]
    cache = naming_cache(tmp_path / "cache")
    assert service_namings(jobs, cache, workers=2) == expected
    assert service_namings(jobs, cache, workers=2) == expected  # from the cache this time
    assert [n.name for n in expected[1].named] == ["ghost"]
