"""The fleet workers' speed-ups change how work is done, never what is produced."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from jinja2 import DictLoader, Environment, Template

from service_runbooks import patches
from service_runbooks.patches import run_script_in_process

SOURCE = "{% if true %}\n  yes\n{% endif %}\n{{ x }}"


def test_compiled_templates_are_reused_only_between_identical_settings() -> None:
    plain, trimmed = Environment(), Environment(trim_blocks=True, lstrip_blocks=True)
    expected = [plain.from_string(SOURCE).render(x=1), trimmed.from_string(SOURCE).render(x=1)]
    assert expected[0] != expected[1]
    with patches.jinja_memos():
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
    assert Environment.compile is patches._ORIGINAL_COMPILE


# A module that counts its runs, and pages that import it with context, as this template's do.
MODULES = {
    "mod": "{% set _ = count() %}{% set shown = 'v=' ~ value %}"
    "{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}",
    "page": '{% import "mod" as m with context %}{{ m.shown }} {{ m.twice(value) }}',
    "late": '{% set extra = 1 %}{% import "mod" as m with context %}{{ m.shown }}',
}
# Equal under ==, yet each renders differently: the memo must tell them apart.
VALUES = [1, True, "1", 1.0, [1], (1,), {"a": 1}, 1, True, [1]]


def _pages(values: list[object]) -> tuple[list[str], int]:
    """Each value rendered by both pages of one environment; the output and the module's runs."""
    runs = []

    def count() -> str:  # one function for every render: compared by identity
        runs.append(1)
        return ""

    env = Environment(loader=DictLoader(MODULES))
    pages = [env.get_template(name) for name in ("page", "late")]
    out = [page.render(value=v, count=count) for v in values for page in pages]
    return out, len(runs)


def test_a_module_imported_with_context_runs_once_per_exact_input() -> None:
    expected, fresh_runs = _pages(VALUES)
    assert fresh_runs == 2 * len(VALUES)  # without the memo: once per import
    assert expected[:8:2] == ["v=1 11", "v=True TrueTrue", "v=1 11", "v=1.0 1.01.0"]
    with patches.jinja_memos(modules=True):
        got, runs = _pages(VALUES)
    assert got == expected
    # Once per page (their variables differ: "late" has `extra`) and per distinct value.
    assert runs == 2 * len({(type(v), repr(v)) for v in VALUES}) == 14
    assert Template.make_module is patches._ORIGINAL_MAKE_MODULE


def test_functions_given_to_a_module_are_told_apart_by_identity() -> None:
    def first() -> None: ...

    def second() -> None: ...

    expected, _ = _pages([first, second, first])
    with patches.jinja_memos(modules=True):
        got, runs = _pages([first, second, first])
    assert got == expected and got[0] != got[2]
    assert runs == 4


def test_a_module_whose_inputs_cannot_be_compared_runs_every_time() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    with patches.jinja_memos(modules=True):
        got, runs = _pages([Opaque(), Opaque()])
    assert runs == 4 and got[0] == "v=opaque opaqueopaque"


def test_compiled_templates_alone_do_not_memoise_modules() -> None:
    with patches.jinja_memos():
        _, runs = _pages([1, 1])
    assert runs == 4


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
