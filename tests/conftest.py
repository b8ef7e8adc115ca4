"""Shared fixtures: rendering with cookiecutter itself (pytest-cookies) and the tools' paths."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID, ROOT
from playwright.sync_api import Browser, sync_playwright

BIN = Path(sys.executable).parent
NODE_VALIDATOR = ROOT / "tests" / "node" / "validate-entity.mjs"
# Debian's Chromium as root, on a machine without outside network: no sandbox (root), and no
# background networking, component updates or sync, whose connections are refused here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# mkdocs-material prints a banner about MkDocs 2.0 on every build; it is noise here.
os.environ["NO_MKDOCS_2_WARNING"] = "1"
# Tools installed in the test venv (mkdocs, shellcheck, bats) come first.
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"


def tool(name: str) -> str:
    """The path of a tool the suite needs; a missing tool fails the test (CI must never skip)."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run `make install`")
    return found


@pytest.fixture(scope="session")
def render(cookies_session) -> Callable[[dict[str, str]], Path]:
    """Render a service with these answers (cached per answers) and return its folder."""
    cache: dict[tuple, Path] = {}

    def _render(answers: dict[str, str]) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in cache:
            result = cookies_session.bake(extra_context=answers)
            assert result.exit_code == 0, f"{answers} failed to render: {result.exception}"
            cache[key] = Path(result.project_path)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def render_combo(render) -> Callable[[str], Path]:
    """Render one of the matrix combinations by its id."""
    return lambda combo: render(COMBINATIONS_BY_ID[combo])


def node_tool(name: str) -> str:
    """A Node tool installed from package-lock.json by `make install` (node_modules/.bin); a
    missing one fails the test."""
    path = ROOT / "node_modules" / ".bin" / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed in node_modules; run `make install`")
    return str(path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (Playwright's own browser download fails here)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=tool("chromium"), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()
