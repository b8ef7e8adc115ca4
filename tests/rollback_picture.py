"""The README's picture: the rollback runbook of an example service, as a phone shows it.

    make picture                                          # refreshes docs/images/rollback-page.png
    .venv/bin/python tests/rollback_picture.py OUT.png    # the same picture, written elsewhere

It renders the example service from the template (as the project's site does), builds its
TechDocs site with `mkdocs build --strict`, opens the rollback page in Debian's headless Chromium
at a phone's width and saves the first screen: the title and the quick rollback under it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from doc_builds import mkdocs_build
from phone_layout import PHONE
from playwright.sync_api import sync_playwright
from tools import CHROMIUM_ARGS, tool

from service_runbooks.mkdocs_hooks import EXAMPLES_DIR, read_answers, render_service

EXAMPLE = "payments-api"  # a Deployment without GitOps: the shortest quick rollback
PAGE = Path("runbooks", "rollback", "index.html")  # MkDocs' directory URL of rollback.md


def render_and_build(work: Path) -> Path:
    """The example's TechDocs site, built under ``work``; returns its rollback page."""
    answers = read_answers(EXAMPLES_DIR / f"{EXAMPLE}.yaml")
    service = render_service(answers, work / "render")
    site = work / "site"
    mkdocs_build(service / "mkdocs.yml", site)
    return site / PAGE


def screenshot(page_file: Path, output: Path) -> None:
    """The first screen of ``page_file`` at the phone's size, as PNG into ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=tool("chromium"), args=CHROMIUM_ARGS, headless=True
        )
        try:
            # The phone layout tests' viewport; a device scale of 1 keeps the PNG small.
            page = browser.new_page(viewport=PHONE, device_scale_factor=1)
            page.goto(page_file.as_uri(), wait_until="load")
            page.screenshot(path=str(output), type="png")
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("output", type=Path, help="where to write the PNG")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        screenshot(render_and_build(Path(work)), args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
