"""The helper scripts of every rendered service: executable, LF line endings, and clean under
shellcheck (warnings included), following the shared library."""

from __future__ import annotations

import subprocess

import pytest
from conftest import tool
from matrix import COMBINATIONS_BY_ID


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_scripts_are_executable_lf_and_shellcheck_clean(render_combo, combo: str) -> None:
    scripts = render_combo(combo) / "scripts"
    entry_points = sorted(scripts.glob("*.sh"))
    assert "rollback.sh" in [path.name for path in entry_points]
    for script in entry_points:
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"
    for script in scripts.rglob("*.sh"):
        raw = script.read_bytes()
        assert b"\r\n" not in raw, f"{script.name} has CRLF line endings"
    result = subprocess.run(
        [tool("shellcheck"), "--external-sources", *map(str, entry_points)],
        capture_output=True,
        text=True,
        cwd=scripts,
        check=False,
    )
    assert result.returncode == 0, result.stdout
