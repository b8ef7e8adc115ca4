"""The helper scripts' behaviour, proven by bats-core against stub kubectl, helm, curl and argocd:
one bats run per rendered service (tests/bats/*.bats, chosen by its workload and tools)."""

from __future__ import annotations

import os
import subprocess

import pytest
from script_stubs import BATS_DIR, SCRIPT_COMBOS, answers_env, bats_files, script_combo_id
from tools import tool


@pytest.mark.parametrize("answers", SCRIPT_COMBOS, ids=script_combo_id)
def test_scripts_pass_bats(render, answers: dict[str, str]) -> None:
    service = render(answers)
    result = subprocess.run(
        [tool("bats"), "--tap", *bats_files(answers)],
        cwd=BATS_DIR,
        env={**os.environ, **answers_env(answers), "SERVICE_DIR": str(service)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"bats failed:\n{result.stdout}\n{result.stderr}"
    assert "\nok " in result.stdout  # bats did run tests


def test_every_bats_file_is_used() -> None:
    used = {name for answers in SCRIPT_COMBOS for name in bats_files(answers)}
    assert used == {path.name for path in BATS_DIR.glob("*.bats")}
