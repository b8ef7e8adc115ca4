"""Shared fixtures only (shared functions and constants live in helper modules such as tools.py):
rendering with cookiecutter itself (pytest-cookies), a committed template copy, the browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fleet_helpers import copy_template
from matrix import COMBINATIONS_BY_ID
from playwright.sync_api import Browser, sync_playwright
from tools import CHROMIUM_ARGS, tool


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (Playwright's own browser download fails here)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=tool("chromium"), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the template; tests must not change it (clone it to change it)."""
    return copy_template(tmp_path_factory.mktemp("template"))
