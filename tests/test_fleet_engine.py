"""The two speed-ups in the fleet's workers change how work is done, never what is produced."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment

from service_runbooks.fleet import compile_cache
from service_runbooks.fleet.engine import run_script_in_process

SOURCE = "{% if true %}\n  yes\n{% endif %}\n{{ x }}"


def test_compiled_templates_are_reused_only_between_identical_settings() -> None:
    plain, trimmed = Environment(), Environment(trim_blocks=True, lstrip_blocks=True)
    expected = [plain.from_string(SOURCE).render(x=1), trimmed.from_string(SOURCE).render(x=1)]
    assert expected[0] != expected[1]
    with compile_cache.installed():
        for _ in range(2):
            got = [
                Environment().from_string(SOURCE).render(x=1),
                Environment(trim_blocks=True, lstrip_blocks=True).from_string(SOURCE).render(x=1),
            ]
            assert got == expected
        assert (
            Environment(variable_start_string="[[", variable_end_string="]]")
            .from_string("[[ x ]] {{ x }}")
            .render(x=2)
            == "2 {{ x }}"
        )
    assert Environment.compile is compile_cache._ORIGINAL_COMPILE


def _hook(tmp_path: Path, body: str) -> str:
    script = tmp_path / "hook.py"
    script.write_text(body, encoding="utf-8")
    return str(script)


def test_a_hook_run_in_process_sees_the_project_folder_and_leaves_no_trace(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path_before, cwd_before = list(sys.path), Path.cwd()
    script = _hook(
        tmp_path,
        "import os, sys\nsys.path.insert(0, '/nowhere')\n"
        "open('seen', 'w').write(os.getcwd())\nprint('chatter')\n",
    )
    run_script_in_process(script, project)
    assert (project / "seen").read_text() == str(project)
    assert sys.path == path_before and Path.cwd() == cwd_before
    assert not Path(script).exists()  # cookiecutter's rendered copy is removed


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("import sys\nprint('ERROR: bad owner', file=sys.stderr)\nsys.exit(1)\n", 1, "bad owner"),
        ("import sys\nsys.exit(3)\n", 3, ""),
        ("import sys\nsys.exit('refused: no')\n", 1, "refused: no"),
        ("raise ValueError('boom')\n", 1, "ValueError: boom"),
    ],
)
def test_a_failing_hook_raises_what_cookiecutter_raises(
    tmp_path: Path, body: str, status: int, message: str
) -> None:
    with pytest.raises(FailedHookException) as raised:
        run_script_in_process(_hook(tmp_path, body), tmp_path)
    assert f"Hook script failed (exit status: {status})" in str(raised.value)
    assert message in str(raised.value)
