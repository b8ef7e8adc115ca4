"""Every rendered service builds with `mkdocs build --strict` and mkdocs-techdocs-core, and its
nav lists exactly the runbook pages that exist. (The project's own site: test_site.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import tool
from matrix import COMBINATIONS_BY_ID


def mkdocs_build(config: Path, site: Path) -> None:
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


@pytest.mark.parametrize("combo", COMBINATIONS_BY_ID)
def test_service_docs_build_strict_with_techdocs_core(
    render_combo, combo: str, tmp_path: Path
) -> None:
    service = render_combo(combo)
    config = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    assert "techdocs-core" in config["plugins"]
    docs = service / "docs"
    assert sorted(nav_pages(config["nav"])) == sorted(
        str(page.relative_to(docs)) for page in docs.rglob("*.md")
    )
    site = tmp_path / "site"
    mkdocs_build(service / "mkdocs.yml", site)
    assert (site / "runbooks" / "rollback" / "index.html").is_file()
