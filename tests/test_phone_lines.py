"""Long commands broken for a phone (issue 25): for every page of every matrix combination, bash
reads each shell code block exactly as it reads the block's one-line form, and no line of a block
is wider than a phone shows unless nothing in it may be broken.

The one-line form is the same service rendered with the breaking switched off
(``service_runbooks.phone_lines.fold_page`` as the identity). Bash itself is the judge: each block
becomes the body of a function and ``declare -f`` prints the function as bash parsed it, one
command a line, continuations joined, comments dropped, and nothing run
(https://www.gnu.org/software/bash/manual/bash.html#index-declare). Negative controls: a break
inside a quoted value, a lost word and a line left long each fail.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from matrix import COMBINATIONS_BY_ID, ROOT

from service_runbooks import phone_lines
from service_runbooks.commands import code_blocks
from service_runbooks.phone_lines import PHONE_COLUMNS, fold_line, pieces_of


def as_bash_reads(blocks: list[str]) -> str:
    """The blocks as bash parses them (each a function's body, printed back by ``declare -f``)."""
    names = [f"block_{index}" for index in range(len(blocks))]
    script = "".join(f"block_{index}() {{\n{block}\n:\n}}\n" for index, block in enumerate(blocks))
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script + "declare -f " + " ".join(names)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"bash cannot parse the blocks: {result.stderr}"
    return result.stdout


def shell_blocks(page: Path) -> list[str]:
    return [block for _, block in code_blocks(page.read_text(encoding="utf-8"))]


def too_wide(blocks: list[str]) -> list[str]:
    """The lines wider than a phone shows that could have been broken: not a comment, and more
    than one piece (a command's words, or an option with its value) in them."""
    wide = []
    for block in blocks:
        for line in block.splitlines():
            command = line.strip().removesuffix("\\").strip()
            if len(line) <= PHONE_COLUMNS or command.startswith("#"):
                continue
            pieces = pieces_of(command)
            if pieces is not None and len(pieces) > 1:
                wide.append(line)
    return wide


def render_one_line(answers: dict[str, str], into: Path) -> Path:
    """The service as it would be without the breaking (cookiecutter's API, in this process,
    so the template's extension picks up the identity)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phone_lines, "fold_page", lambda markdown, columns=PHONE_COLUMNS: markdown)
        return Path(
            cookiecutter(str(ROOT), no_input=True, extra_context=answers, output_dir=str(into))
        )


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_broken_commands_read_as_the_one_line_form(combo, render_combo, tmp_path):
    broken = render_combo(combo)
    one_line = render_one_line(COMBINATIONS_BY_ID[combo], tmp_path)
    pages = sorted(page.relative_to(broken) for page in (broken / "docs").rglob("*.md"))
    assert pages == sorted(page.relative_to(one_line) for page in (one_line / "docs").rglob("*.md"))
    changed = 0
    for page in pages:
        blocks, one_line_blocks = shell_blocks(broken / page), shell_blocks(one_line / page)
        if not blocks:
            continue
        assert as_bash_reads(blocks) == as_bash_reads(one_line_blocks), page
        assert too_wide(blocks) == [], page
        changed += blocks != one_line_blocks
    assert changed, "no page had a command to break: the breaking is not applied"


ONE_LINE = (
    "kubectl get pods -l app=orders -n production "
    "-o 'jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}' --sort-by=.metadata.name"
)


def test_a_long_command_breaks_at_its_options():
    lines = fold_line(ONE_LINE)
    # -l and its value stay together, --sort-by=... stays one word, the quoted value one piece.
    assert lines == [
        "kubectl get pods -l app=orders \\",
        "  -n production \\",
        "  -o 'jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}' \\",
        "  --sort-by=.metadata.name",
    ]
    assert not too_wide(["\n".join(lines)])
    assert as_bash_reads(["\n".join(lines)]) == as_bash_reads([ONE_LINE])


def test_a_break_inside_a_quoted_value_is_caught():
    quoted = "-o 'jsonpath={range .items[*]}"
    lines = "\n".join(fold_line(ONE_LINE)).replace(quoted, "-o 'jsonpath={range \\\n  .items[*]}")
    assert as_bash_reads([lines]) != as_bash_reads([ONE_LINE])


def test_a_lost_word_is_caught():
    lines = "\n".join(fold_line(ONE_LINE)).replace(" -n production", " -n")
    assert as_bash_reads([lines]) != as_bash_reads([ONE_LINE])


def test_a_line_left_long_is_caught():
    assert too_wide([ONE_LINE]) == [ONE_LINE]
