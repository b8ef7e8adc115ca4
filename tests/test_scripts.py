"""The helper scripts of every rendered service: the right set of scripts, executable, LF line
endings, clean under shellcheck (warnings included), and free of free text."""

from __future__ import annotations

import subprocess

import pytest
from matrix import COMBINATIONS_BY_ID
from tools import tool

SCRIPTS = {"rollback.sh", "status.sh", "history.sh", "verify.sh"}


def expected_scripts(answers: dict[str, str]) -> set[str]:
    """db-migrations.sh only when there is a migration tool (a templated file name, no hook)."""
    return SCRIPTS | ({"db-migrations.sh"} if answers["migration_tool"] != "none" else set())


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_scripts_are_executable_lf_and_shellcheck_clean(render_combo, combo: str) -> None:
    scripts = render_combo(combo) / "scripts"
    entry_points = sorted(scripts.glob("*.sh"))
    assert {path.name for path in entry_points} == expected_scripts(COMBINATIONS_BY_ID[combo])
    for script in entry_points:
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"
    for script in scripts.rglob("*.sh"):
        raw = script.read_bytes()
        assert b"\r\n" not in raw, f"{script.name} has CRLF line endings"
        assert raw.startswith(b"#!/usr/bin/env bash\n") or script.parent.name == "lib"
    # Run from the service's root, as a user would: the scripts find their library by themselves.
    result = subprocess.run(
        [
            tool("shellcheck"),
            "--external-sources",
            "scripts/lib/common.sh",
            *map(str, entry_points),
        ],
        capture_output=True,
        text=True,
        cwd=scripts.parent,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_free_text_never_reaches_a_script(render) -> None:
    """The description is free text: it goes into docs and YAML, never into a shell script."""
    marker = "Marker-7f3a"
    description = f"{marker}: \"quoted\" 'single' $(touch /tmp/pwned) `id` ; rm -rf ~ # 🔴"
    service = render({"description": description, "migration_tool": "alembic"})
    for script in (service / "scripts").rglob("*.sh"):
        assert marker not in script.read_text(encoding="utf-8"), script.name
