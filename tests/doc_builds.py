"""Building docs as the suite's checks build them: `mkdocs build --strict` and TechDocs' own
generator (`techdocs-cli generate`), with the nav's pages and the warnings they print."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tools import node_tool, tool


def mkdocs_build(config: Path, site: Path) -> None:
    """`mkdocs build --strict` of ``config`` into ``site``; a warning fails the test. Never with
    `-q`: MkDocs then counts no warning, so --strict exits 0 despite them
    (https://github.com/mkdocs/mkdocs/issues/4126)."""
    result = subprocess.run(
        [
            tool("mkdocs"),
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        capture_output=True,
        text=True,
        cwd=config.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def nav_pages(nav: list) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


WARNING_LINE = re.compile(r"^(verbose: )?(warn:|WARNING\b)")


def warning_lines(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if WARNING_LINE.match(line)]


def techdocs_generate(source: Path, output: Path, etag: str = "test") -> str:
    """Run the real generator; return everything it printed. Fails the test on a non-zero exit."""
    result = subprocess.run(
        [
            node_tool("techdocs-cli"),
            "generate",
            "--no-docker",
            "--source-dir",
            str(source),
            "--output-dir",
            str(output),
            "--etag",
            etag,
            "--verbose",  # without it, mkdocs' own warnings are not shown
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    return printed
