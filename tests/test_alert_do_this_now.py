"""Every alert page opens with "Do this now" (issue 25): its first section, before the
explanation, holds the text of the first step of its Mitigation (its command stays there)
and links that resolve: to a page of the service that exists and, with an anchor, to a heading
that page has. Negative controls: a page whose first section is the explanation, one whose
"Do this now" is not the first mitigation step, and one with a broken link, fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import headings

LINK = re.compile(r"\]\(([^)\s]+)\)")
FIRST_STEP = re.compile(r"^1\. (.+)$", re.MULTILINE)


def slug(heading: str) -> str:
    """The anchor MkDocs' toc gives a heading (lower case, punctuation dropped, spaces to -)."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading.lower()).strip())


def section_after(page: str, heading: str) -> str:
    return page.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def link_problems(target: str, page: Path) -> list[str]:
    path, _, anchor = target.partition("#")
    if re.match(r"^[a-z]+:", path):
        return []  # an external address: not the service's to resolve
    linked = (page.parent / path).resolve() if path else page
    if not linked.is_file():
        return [f"{target}: no such page"]
    if anchor and anchor not in {slug(h) for h in headings(linked.read_text(encoding="utf-8"))}:
        return [f"{target}: no such heading"]
    return []


def do_this_now_problems(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    sections = [h for h in headings(text) if not text.startswith(f"# {h}")]
    if not sections or sections[0] != "Do this now":
        return [f"first section: {sections[:1]}"]
    now = section_after(text, "Do this now")
    problems = []
    first_step = FIRST_STEP.search(section_after(text, "Mitigation"))
    if not first_step or first_step[1] not in now:
        problems.append("not the first mitigation step")
    targets = LINK.findall(now)
    if not targets:
        problems.append("no link")
    for target in targets:
        problems += link_problems(target, page)
    return problems


def alert_pages(service: Path) -> list[Path]:
    return sorted((service / "docs" / "alerts").glob("*.md"))


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_every_alert_page_opens_with_do_this_now(render_combo, combo: str) -> None:
    pages = alert_pages(render_combo(combo))
    assert len(pages) >= 10
    assert {page.name: do_this_now_problems(page) for page in pages} == {
        page.name: [] for page in pages
    }


def test_a_page_without_do_this_now_or_with_a_broken_link_fails(
    render_combo, tmp_path: Path
) -> None:
    service = render_combo(next(iter(COMBINATIONS_BY_ID)))
    page = service / "docs" / "alerts" / "podcrashlooping.md"
    text = page.read_text(encoding="utf-8")
    now = section_after(text, "Do this now")
    doctored = tmp_path / "docs" / "alerts" / page.name
    doctored.parent.mkdir(parents=True)
    for runbooks in (service / "docs" / "runbooks").glob("*.md"):
        (tmp_path / "docs" / "runbooks").mkdir(exist_ok=True)
        (tmp_path / "docs" / "runbooks" / runbooks.name).write_text(runbooks.read_text())
    doctored.write_text(text)
    assert do_this_now_problems(doctored) == []  # as rendered
    doctored.write_text(text.replace(f"\n## Do this now\n{now}", "\n"))
    assert do_this_now_problems(doctored) == ["first section: ['Meaning']"]
    doctored.write_text(text.replace("../runbooks/", "../runbook/"))
    assert do_this_now_problems(doctored) == ["../runbook/rollback.md: no such page"]
    doctored.write_text(text.replace("(#mitigation)", "(#mitigations)", 1))
    assert do_this_now_problems(doctored) == ["#mitigations: no such heading"]
    step = FIRST_STEP.search(section_after(text, "Mitigation"))
    assert step is not None
    doctored.write_text(text.replace(f"\n{step[1]}\n", "\nLook around.\n", 1))
    assert "not the first mitigation step" in do_this_now_problems(doctored)
