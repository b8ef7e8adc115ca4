"""The command parser's fast paths give what ``shlex`` gives.

A fleet's drift check parses every page and script of every service, so the parser splits a
plain line on whitespace, a line whose only special characters are quotes with a regular
expression, and reads whether a line's quotes are closed with another, instead of running
``shlex`` over every line. Here each is compared with ``shlex`` itself over every logical line
of every page and script of the test matrix, over lines written to catch what a simpler reading
gets wrong (comments inside words, escapes in quotes, quotes that open on one line and close on
the next, continued lines), and over random ones.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from matrix import COMBINATIONS_BY_ID

from service_runbooks import commands
from service_runbooks.commands import code_blocks, parse_page, parse_shell
from service_runbooks.discovery.objectcheck import OBJECT_TOOL, named_objects

COMBOS = sorted(COMBINATIONS_BY_ID)
# Lines that a plain reading of quotes, escapes and comments gets wrong, each next to one it
# gets right; every prefix of each is compared with shlex.
TRICKY = [
    "kubectl get deploy checkout -n payments",
    "kubectl get deploy 'checkout' -n \"payments\"",
    "echo it's",
    "echo 'it''s'",
    'echo "a \\" b"',
    'echo "a \\\\" b',
    "echo 'a \\' b",
    "echo a\\ b \\'",
    "echo x # it's a comment",
    "echo x#it's a comment inside a word",
    'echo "x # it\'s" quoted, not a comment',
    "echo 'open\nclosed' on the next line",
    'echo "open\n# not a comment \' in quotes\nclosed"',
    "# it's\necho 'a",
    "kubectl get pods | grep -c Running; echo done && true || false",
    'POD="$(kubectl get pods -o name | head -1)"',
    "kubectl logs $POD --tail=5 2>&1 >/dev/null",
    "echo \\\n",
    "\techo\ttabs\r",
    "echo a\x0bb\x0cc",
    "echo 'a''b' \"c\"'d' '' x\"\"",
    "kubectl get deploy -o 'jsonpath={.a}' \"x|y\" 'p#q' 'r;s&t'",
    'echo "a\'b" \'c"d\' x"#"y',
    'echo \'a\\b\' "c\\"d"',
    "echo 'a'\x0bb \x0c'c'",
]


def _shlex_closes(text: str) -> bool:
    try:
        commands._shlex_split(text)
    except ValueError:
        return False
    return True


def _shell_texts(service: Path) -> list[str]:
    """Every script, and every shell block of every page, of a rendered service."""
    texts = []
    for path in sorted(service.rglob("*")):
        if path.suffix == ".sh":
            texts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".md":
            texts += [block for _, block in code_blocks(path.read_text(encoding="utf-8"))]
    return texts


def _checked_lines(text: str) -> tuple[int, int, int]:
    """Compare, for each logical line of a shell text: the split with shlex's, and whether
    each physical line read so far closes its quotes with whether shlex splits it. Counts the
    logical lines, those split on whitespace and those split by the quoted-line expression."""
    lines = text.splitlines()
    index, logical_lines, plain, quoted = 0, 0, 0, 0
    while index < len(lines):
        logical, after = commands.logical_line(lines, index)
        for end in range(index + 1, after + 1):  # the physical lines it is read from
            prefix = "\n".join(lines[index:end])
            assert commands._closed(prefix) == _shlex_closes(prefix), prefix
        index = after
        if _shlex_closes(logical):
            assert commands._split(logical) == commands._shlex_split(logical), logical
            logical_lines += 1
            if not commands._NOT_PLAIN.search(logical):
                plain += 1
            elif commands._QUOTED_LINE.fullmatch(logical):
                quoted += 1
    return logical_lines, plain, quoted


@pytest.mark.parametrize("combo", COMBOS)
def test_every_rendered_line_splits_as_shlex_splits_it(render_combo, combo: str) -> None:
    counts = [_checked_lines(text) for text in _shell_texts(render_combo(combo))]
    logical_lines, plain, quoted = (sum(column) for column in zip(*counts, strict=True))
    assert plain > 0, "some lines take the whitespace split: the comparison covers it"
    assert quoted > 0, "some lines take the quoted-line split: the comparison covers it"
    assert logical_lines > plain + quoted, "some lines take shlex: the comparison covers it"


@pytest.mark.parametrize("line", TRICKY)
def test_every_prefix_of_a_tricky_line_reads_as_shlex_reads_it(line: str) -> None:
    for end in range(len(line) + 1):
        prefix = line[:end]
        assert commands._closed(prefix) == _shlex_closes(prefix), prefix
        if _shlex_closes(prefix):
            assert commands._split(prefix) == commands._shlex_split(prefix), prefix


def test_the_comparison_fails_on_a_wrong_reading() -> None:
    """Negative control: the readings these tests compare differ on the lines a plain reading
    gets wrong, so a fast path that took them would fail the comparison."""
    quoted = "kubectl get deploy 'check out' -n payments"
    assert quoted.split() != commands._shlex_split(quoted)
    assert commands._split(quoted) == ["kubectl", "get", "deploy", "check out", "-n", "payments"]
    escaped = 'echo "a \\" b" c'
    assert not commands._QUOTED_LINE.fullmatch(escaped), "an escape in quotes is not taken"
    assert commands._QUOTED_WORD.findall(escaped) != commands._shlex_split(escaped)
    commented = "echo x#it's a comment inside a word"
    assert "'" in commented and _shlex_closes(commented), "an odd quote count, closed"
    assert not _shlex_closes("echo \"x # it's")
    assert not commands._closed("echo \"x # it's")
    assert not commands._closed('echo "a \\')


def test_a_continued_kubectl_line_is_one_command_on_its_first_line() -> None:
    """A long command written over several lines with trailing backslashes (plain words, and
    quoted ones) is one command, on the line it starts on, naming its objects."""
    page = (
        "# Roll back\n\n```bash\n"
        "kubectl rollout undo -n payments \\\n"
        "  deployment/checkout \\\n"
        "  --to-revision=3\n"
        'kubectl get deployment "checkout" \\\n'
        "  -n payments -o 'jsonpath={.spec.replicas}'\n"
        "```\n"
    )
    parsed = parse_page(page, only=OBJECT_TOOL)
    undo = ("kubectl", "rollout", "undo", "-n", "payments", "deployment/checkout")
    undo += ("--to-revision=3",)
    get = ("kubectl", "get", "deployment", "checkout", "-n", "payments", "-o")
    get += ("jsonpath={.spec.replicas}",)
    assert [(command.argv, command.line) for command in parsed] == [(undo, 4), (get, 7)]
    named = [named_objects(command, "other", "page.md") for command in parsed]
    assert [[(n.kind, n.namespace, n.name) for n in each] for each in named] == [
        [("Deployment", "payments", "checkout")],
        [("Deployment", "payments", "checkout")],
    ]


def test_a_line_parsed_again_gives_its_own_line_number() -> None:
    """Each distinct line is split once per process: the same line later in a text, or in
    another text, is still reported on its own line, and a bad one still names its line."""
    script = "kubectl get pods\necho between\nkubectl get pods\n"
    assert [command.line for command in parse_shell(script)] == [1, 2, 3]
    assert [command.line for command in parse_shell(script, 10)] == [10, 11, 12]
    for first in (1, 5):  # the second time from the same lines
        with pytest.raises(ValueError, match=rf"^line {first + 1}: No closing quotation: "):
            parse_shell("echo ok\nkubectl get 'pods\n", first)


def test_random_lines_split_as_shlex_splits_them() -> None:
    """Short lines drawn from the characters shlex treats specially (seeded, so a failure
    repeats): every one shlex splits is split the same, whichever path takes it."""
    rng = random.Random(7)
    alphabet = "ab '\"\\#|&;\t\n\x0b-=$"
    taken = 0
    for _ in range(40000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if _shlex_closes(line):
            assert commands._split(line) == commands._shlex_split(line), line
            taken += bool(
                commands._NOT_PLAIN.search(line) and commands._QUOTED_LINE.fullmatch(line)
            )
    assert taken > 1000, "the quoted-line path is among them"
