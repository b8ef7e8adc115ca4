"""The tools the suite runs and where they come from: the test venv's own tools first on PATH,
Node tools from node_modules (package-lock.json), Debian's Chromium and the flags it needs here,
and a cookiecutter configuration that keeps its files inside a test's folder."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from matrix import ROOT

BIN = Path(sys.executable).parent
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


def node_tool(name: str) -> str:
    """A Node tool installed from package-lock.json by `make install` (node_modules/.bin); a
    missing one fails the test."""
    path = ROOT / "node_modules" / ".bin" / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed in node_modules; run `make install`")
    return str(path)


def cookiecutter_config(folder: Path) -> Path:
    """A cookiecutter config file in ``folder`` that keeps its clones and replay files
    (``folder``/replay) out of the home folder."""
    config = folder / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {folder / 'cookiecutters'}\nreplay_dir: {folder / 'replay'}\n",
        encoding="utf-8",
    )
    return config
