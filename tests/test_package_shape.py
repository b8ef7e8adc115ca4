"""The package's shape as grep sees it: one module of exceptions, one of library patches, and
every exit status defined once."""

from __future__ import annotations

import re
from pathlib import Path

from service_runbooks import errors

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "service_runbooks"
EXCEPTION_CLASS = re.compile(r"^class \w+\((?:[\w.]+, )*[\w.]*(?:Exception|Error)\b", re.M)
EXIT_STATUS = re.compile(r"^\s*EXIT_\w+\s*(?:,\s*EXIT_\w+\s*)*=", re.M)


def modules_matching(pattern: re.Pattern[str]) -> list[str]:
    return sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    )


def test_every_exception_class_is_in_errors() -> None:
    assert modules_matching(EXCEPTION_CLASS) == ["errors.py"]


def test_every_exit_status_is_defined_once() -> None:
    assert modules_matching(EXIT_STATUS) == ["errors.py"]


def test_each_error_carries_its_exit_status_and_message() -> None:
    assert errors.FleetError.exit_code == errors.EXIT_INVALID
    assert errors.Busy("another run").report() == "ERROR: another run"
    shard = errors.ShardIndexError("a.json: must be a list")
    assert (shard.exit_code, shard.report()) == (
        2,
        "ERROR: SHARD: a.json: must be a list; nothing was written",
    )


def test_the_checks_see_a_class_or_status_defined_elsewhere() -> None:
    """Negative controls: the patterns find what they look for."""
    assert EXCEPTION_CLASS.search("class Busy(Exception):\n")
    assert EXCEPTION_CLASS.search("class TemplateError(ServiceRunbooksError, ValueError):\n")
    assert EXIT_STATUS.search("EXIT_OK, EXIT_FAILED = 0, 1\n")
    assert not EXCEPTION_CLASS.search("class Patch:\n")
