"""The suite's own shape: shared code lives in helper modules, never in a test module or conftest
that another module imports; and collecting the suite runs no Node, so a machine without it can
still list the tests.

pytest finds conftest.py's fixtures itself, and in its importlib import mode test modules cannot
import each other (https://docs.pytest.org/en/stable/explanation/pythonpath.html#import-modes);
a test module imported by another also runs its module-level code, and ties the two together.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from matrix import ROOT
from tools import BIN

TESTS = ROOT / "tests"


def is_test_module(name: str) -> bool:
    """A module pytest collects (its default python_files, test_*.py) or runs as a plugin."""
    return name == "conftest" or name.startswith("test_")


def imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) for every import in ``tree``, at any depth; for ``from . import x`` the
    names, which are modules there."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                found.append((node.lineno, node.module))
            if node.level:
                found += [(node.lineno, alias.name) for alias in node.names]
    return found


def imports_of_test_modules(root: Path) -> list[str]:
    """Each import, in any ``*.py`` under ``root``, of a test module or conftest."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if any(is_test_module(part) for part in module.split(".")):
                problems.append(f"{path.relative_to(root)}:{line} imports {module}")
    return problems


def test_no_module_imports_a_test_module_or_conftest() -> None:
    assert imports_of_test_modules(TESTS) == [], "move the shared code into a helper module"


def test_the_import_check_finds_each_kind_of_import(tmp_path: Path) -> None:
    """Negative control: a synthetic tree with each kind of forbidden import, and allowed ones."""
    files = {
        "test_a.py": "from test_b import shared\nfrom tools import tool\n",
        "test_b.py": "import os\n\ndef shared():\n    import conftest\n",
        "helper.py": "import test_a as a\nfrom conftest import tool\n",
        "sub/test_c.py": "from . import test_d\nfrom .helpers import latest\n",
        "sub/test_d.py": "from pytest import fixture\nfrom matrix import testing_matrix\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert imports_of_test_modules(tmp_path) == [
        "helper.py:1 imports test_a",
        "helper.py:2 imports conftest",
        "sub/test_c.py:1 imports test_d",
        "test_a.py:1 imports test_b",
        "test_b.py:4 imports conftest",
    ]


# ---- collecting needs no Node ----


def collect_without_node(
    tmp_path: Path, *targets: Path
) -> tuple[subprocess.CompletedProcess[str], bool]:
    """`pytest --collect-only -q` on ``targets`` with a PATH holding only this venv's tools and a
    `node` that records being run and fails; whether that node ran. The Node tools under
    node_modules/.bin start with `#!/usr/bin/env node`, so they reach it too."""
    fake = tmp_path / "fake-node"
    fake.mkdir()
    ran = tmp_path / "node-ran"
    for name in ("node", "nodejs", "npx", "npm"):
        (fake / name).write_text(f'#!/bin/sh\necho "$0 $*" >> "{ran}"\nexit 1\n', encoding="utf-8")
        (fake / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{BIN}"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + [str(target) for target in targets],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return result, ran.exists()


def test_the_suite_is_collected_without_node(tmp_path: Path) -> None:
    result, node_ran = collect_without_node(tmp_path, TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not node_ran, "collecting ran node"
    collected = result.stdout.splitlines()
    assert any(line.startswith("tests/test_backstage_form.py::") for line in collected)


def test_collection_that_runs_node_is_caught(tmp_path: Path) -> None:
    """Negative control: a test module that runs Node at import fails to collect, and is seen."""
    module = tmp_path / "test_runs_node_at_import.py"
    module.write_text(
        'import subprocess\nVERSION = subprocess.run(["node", "--version"]).returncode\n',
        encoding="utf-8",
    )
    _, node_ran = collect_without_node(tmp_path, module)
    assert node_ran
