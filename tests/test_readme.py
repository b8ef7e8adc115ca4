"""The README starts where a user starts: under 250 lines, the two commands, a service in five
minutes and a fleet file, and every command it shows is run here (or checked, saying why it
cannot run); its fleet file renders. The site's generated tables (variables, alerts) are
generated in one place each, from the rules and the template's alert entries; every repository
path the README, CONTRIBUTING.md and the moved site pages name exists."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from tools import BIN

from service_runbooks.reference import alerts_table, variables_table, workloads
from service_runbooks.rules import RULES, TEMPLATE_ROOT

README = TEMPLATE_ROOT / "README.md"
DOCS = TEMPLATE_ROOT / "docs"
MAX_README_LINES = 250  # issue 25: a README that starts where a user starts


CELL_BORDER = re.compile(r"(?<!\\)\|")  # a | that _cell did not escape as \|


def rule_cells(table: str) -> dict[str, list[str]]:
    """Each variable's Rule cell (the last), unescaped, by variable; a variable named twice has
    two."""
    cells: dict[str, list[str]] = {}
    for line in table.splitlines():
        found = re.match(r"\| `([a-z_]+)` \|", line)
        if found:
            rule_cell = CELL_BORDER.split(line)[-2]
            cells.setdefault(found[1], []).append(rule_cell.strip().replace("\\|", "|"))
    return cells


def rule_row_problems(table: str) -> list[str]:
    """How the table's row for each rule fails to show what its answer may be: the choices (no
    more, no fewer), `true` or `false`, or the rule in words with an example the rule accepts
    and whether it is optional."""
    cells = rule_cells(table)
    fields = {rule.field for rule in RULES}
    problems = [f"{field}: no rule has this row" for field in cells.keys() - fields]
    for rule in RULES:
        found = cells.get(rule.field, [])
        if len(found) != 1:
            problems.append(f"{rule.field}: {len(found)} rows")
            continue
        [cell] = found
        shown = re.findall(r"`([^`]*)`", cell)
        if rule.boolean:
            if not cell.endswith("`true` or `false`"):
                problems.append(f"{rule.field}: does not say `true` or `false`")
        elif rule.choices:
            if shown != list(rule.choices):
                problems.append(f"{rule.field}: shows {shown}, the choices are {rule.choices}")
        else:
            if rule.summary not in cell:
                problems.append(f"{rule.field}: the rule in words is missing")
            if not cell.endswith(f"Example: `{rule.example}`"):
                problems.append(f"{rule.field}: the example is not {rule.example!r}")
            if rule.check(rule.example) is not None:
                problems.append(f"{rule.field}: the rule refuses its own example")
            if ("(optional)" in cell) == rule.required:
                problems.append(f"{rule.field}: says optional where required or the reverse")
    return problems


def test_table_lists_every_variable_with_its_rule() -> None:
    assert rule_row_problems(variables_table()) == []


def test_a_wrong_row_is_found() -> None:
    """The negative control: a wrong example, a missing choice, a wrong boolean, a dropped
    optional mark, a row dropped and a row for no rule, each on one row of the real table."""
    rows = {line.split(" | ", 1)[0]: line for line in variables_table().splitlines()}
    wrong = {
        "| `service_name`": rows["| `service_name`"].replace(
            "Example: `payments-api`", "Example: `Payments_API`"
        ),
        "| `workload`": rows["| `workload`"].replace("`argo-rollout`, ", ""),
        "| `alerting`": rows["| `alerting`"].replace("`true` or `false`", "`yes` or `no`"),
        "| `kube_context`": rows["| `kube_context`"].replace(" (optional)", ""),
        "| `owner`": "",
    }
    no_rule = "| `colour` | Colour? | `red` | one of `red` |"
    changed = [wrong.get(key, row) for key, row in rows.items()] + [no_rule]
    assert rule_row_problems("\n".join(changed)) == [
        "colour: no rule has this row",
        "service_name: the example is not 'payments-api'",
        "owner: 0 rows",
        "kube_context: says optional where required or the reverse",
        "workload: shows ['deployment', 'statefulset', 'helm'], the choices are "
        "('deployment', 'statefulset', 'argo-rollout', 'helm')",
        "alerting: does not say `true` or `false`",
    ]


@pytest.fixture(scope="module")
def current_alerts_table() -> str:
    return alerts_table()


def test_alert_table_rows_come_from_the_entries_each_workload_gets() -> None:
    """Rows from hand-made entries: one row per distinct entry, the workloads that get it (all:
    "every workload"), in the order the services list the alerts."""
    labels = [label for label, _ in workloads()]
    assert labels[:3] == ["`deployment`", "`statefulset`", "`argo-rollout`"]

    def entry(name: str, mixin: str) -> dict[str, str]:
        return {"name": name, "severity": "warning", "for": "5m", "fires_when": "x", "mixin": mixin}

    def alerts_of(answers: dict[str, str]) -> list[dict[str, str]]:
        kind = answers.get("chart_workload", answers["workload"]).split("/")[0]
        own = [entry("Stuck", "TwinOf" + kind)]
        return (
            [entry("First", "none")]
            + own
            + ([entry("Full", "Disk")] if kind == "statefulset" else [])
        )

    rows = alerts_table(alerts_of).splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| First",
        "| Stuck",
        "| Stuck",
        "| Stuck",
        "| Full",
    ]
    assert rows[0].endswith("| every workload |")
    assert rows[1].endswith("| TwinOfdeployment | `deployment`, `helm` (a chart's deployment) |")
    assert rows[3].endswith("| TwinOfargo-rollout | `argo-rollout` |")
    assert rows[4].endswith("| `statefulset`, `helm` (a chart's statefulset) |")


def test_alert_table_has_every_alert_page_of_the_template(current_alerts_table: str) -> None:
    """Every alert page the template can render has its row (the page files are named after the
    alerts, lowercased), and no row is without its page."""
    names = [
        re.search(r"%\}(\w+)\.md\{%", p.name) for p in (TEMPLATE / "docs" / "alerts").iterdir()
    ]
    pages = {name.group(1) for name in names if name is not None}
    assert len(pages) == len(names)
    rows = {row.split(" | ")[0][2:].lower() for row in current_alerts_table.splitlines()[2:]}
    assert rows == pages


ROOT = README.parent
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
TEMPLATE = ROOT / "{{cookiecutter.service_name}}"
OUTPUT_FOLDERS = ("build/", "site/", ".venv/", "node_modules/")  # made by make, not in git
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def h2_headings(markdown: str) -> list[str]:
    return re.findall(r"^## (.+)$", FENCE.sub("", markdown), flags=re.MULTILINE)


def test_readme_leads_with_the_two_commands_then_five_minutes_and_a_fleet_file() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_README_LINES
    assert h2_headings(text) == [
        "Two commands",
        "Your service in five minutes",
        "A fleet file",
        "Everything else",
    ]
    assert "[CONTRIBUTING.md](CONTRIBUTING.md)" in text
    assert "(docs/images/rollback-page.png)" in text


def named_paths(markdown: str, top: set[str]) -> list[tuple[str, str]]:
    """Each repository path a Markdown text names in code, with the ## section it is in."""
    named = []
    for section in re.split(r"^(?=## )", FENCE.sub("", markdown), flags=re.MULTILINE):
        title = section.split("\n", 1)[0]
        for span in re.findall(r"`([^`\n]+)`", section):
            if " " in span or "<" in span or span.startswith(OUTPUT_FOLDERS):
                continue  # a command, a placeholder, or build output
            if span.split("/", 1)[0] in top and ("/" in span or "." in span):
                named.append((span, title))
    return named


def missing_paths(markdown: str, root: Path) -> list[str]:
    """Paths named that exist neither in the repository nor in the template's service folder;
    in the recipes, a file to create needs only its folder."""
    top = {entry.name for entry in root.iterdir()}
    missing = []
    for path, section in named_paths(markdown, top):
        pattern = path.rstrip("/")
        if any(next(base.glob(pattern), None) for base in (root, root / TEMPLATE.name)):
            continue
        if section.startswith("## Recipes") and (root / pattern).parent.is_dir():
            continue
        missing.append(path)
    return missing


# The README and the guide, and the site pages that took over the README's longer sections.
DOCUMENTS = [
    README,
    CONTRIBUTING,
    DOCS / "what-you-get.md",
    DOCS / "alerts.md",
    DOCS / "validation.md",
    DOCS / "usage" / "fleet.md",
]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_repository_path_the_docs_name_exists(document: Path) -> None:
    assert missing_paths(document.read_text(encoding="utf-8"), ROOT) == []


def test_a_path_that_does_not_exist_is_found(tmp_path: Path) -> None:
    """The negative control: a renamed file, and a recipe's file in a folder that is gone."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").touch()
    (tmp_path / TEMPLATE.name / "docs").mkdir(parents=True)
    text = (
        "## Map\n`tests/test_a.py`, `tests/test_b.py`, `docs/` and `build/x` (output)\n"
        "## Recipes\n`tests/test_new.py` to create, `tests/gone/test_c.py`\n"
    )
    assert missing_paths(text, tmp_path) == ["tests/test_b.py", "tests/gone/test_c.py"]


FLEET_PAGE = DOCS / "usage" / "fleet.md"


def deciding_facts_not_named(markdown: str) -> list[str]:
    """The deciding facts (rules.Rule.deciding) that a "Migrate a fleet file" section does not
    name in code."""
    from service_runbooks.rules import deciding_fields

    section = markdown.split("## Migrate a fleet file", 1)[-1].split("\n#", 1)[0]
    return [field for field in deciding_fields() if f"`{field}`" not in section]


def test_the_migration_section_names_every_deciding_fact() -> None:
    """A fleet file must give each deciding fact: the Fleet page's "Migrate a fleet file" says
    which; a fact marked deciding later must be added there."""
    from service_runbooks.rules import deciding_fields

    text = FLEET_PAGE.read_text(encoding="utf-8")
    assert "\n## Migrate a fleet file\n" in text
    assert deciding_facts_not_named(text) == []
    # Negative control: the section without one of them is caught.
    first = deciding_fields()[0]
    assert deciding_facts_not_named(text.replace(f"`{first}`", first)) == [first]


# Each generated table, the marker of the page the site build writes it into. Only there: a copy
# anywhere else (the README had one of each) would go stale.
GENERATED_PAGES = {"variables": DOCS / "variables.md", "alerts": DOCS / "alerts.md"}
FIRST_ROWS: dict[str, Callable[[], str]] = {
    "variables": lambda: variables_table().splitlines()[2],
    "alerts": lambda: alerts_table().splitlines()[2],
}


def table_copies(name: str, documents: list[Path]) -> list[str]:
    """Each document holding table ``name``'s marker or a copy of its first row, once per copy
    (named from the repository when it lies in it)."""
    marker, row = f"<!-- generated: {name} -->", FIRST_ROWS[name]()
    copies = []
    for path in documents:
        text = path.read_text(encoding="utf-8")
        shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        copies += [shown] * (text.count(marker) + text.count(row))
    return sorted(copies)


def markdown_documents() -> list[Path]:
    """The README, the guide and every page of the site's docs/ folder."""
    return [README, CONTRIBUTING, *sorted(DOCS.rglob("*.md"))]


@pytest.mark.parametrize("name", sorted(GENERATED_PAGES))
def test_each_generated_table_is_generated_in_one_place(name: str) -> None:
    assert table_copies(name, markdown_documents()) == [
        GENERATED_PAGES[name].relative_to(ROOT).as_posix()
    ]


def test_a_copied_table_is_found(tmp_path: Path) -> None:
    """The negative control: a README that pastes the table's first row is named."""
    copy = tmp_path / "README.md"
    copy.write_text("# x\n\n" + FIRST_ROWS["variables"]() + "\n", encoding="utf-8")
    assert table_copies("variables", [GENERATED_PAGES["variables"], copy]) == sorted(
        ["docs/variables.md", str(copy)]
    )


SHELL_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
VENV_BIN = ".venv/bin/"


def shell_commands(markdown: str) -> list[str]:
    """Every command of the text's ```bash blocks, continuation lines joined, comments dropped,
    as shlex.join writes it."""
    commands = []
    for block in SHELL_BLOCK.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                commands.append(shlex.join(argv))
    return commands


def readme_fleet_file() -> str:
    """The README's fleet file (its only ```yaml block)."""
    [fleet] = YAML_BLOCK.findall(README.read_text(encoding="utf-8"))
    return fleet


def run(argv: list[str], cwd: Path) -> str:
    """Run a README command, its .venv/bin/ tools taken from this venv; its output."""
    argv = [str(BIN / a.removeprefix(VENV_BIN)) if a.startswith(VENV_BIN) else a for a in argv]
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{shlex.join(argv)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def make_target_exists(argv: list[str], _: Path) -> None:
    """A make command: its target exists and make can plan it (`make -n`), run nothing."""
    run(["make", "-n", *argv[1:]], ROOT)


def shown_in_help(option: str) -> Callable[[list[str], Path], None]:
    """An interactive command: it cannot run here; its subcommand documents ``option``."""

    def check(argv: list[str], _: Path) -> None:
        assert option in run([argv[0], "new", "--help"], ROOT)

    return check


def not_run(reason: str) -> Callable[[list[str], Path], None]:
    """A command that cannot run in a test, with the reason; its reason must be given."""

    def check(argv: list[str], _: Path) -> None:
        assert reason

    return check


def runs(made: Callable[[Path], bool]) -> Callable[[list[str], Path], None]:
    """A command run as written in the work folder; ``made`` says it made what it should."""

    def run_it(argv: list[str], work: Path) -> None:
        run(argv, work)
        assert made(work), shlex.join(argv)

    return run_it


def preview_builds(argv: list[str], work: Path) -> None:
    """`mkdocs serve` would block: build the same config, strictly, instead."""
    config = argv[argv.index("-f") + 1]
    run([argv[0], "build", "--strict", "-f", config, "-d", str(work / "preview")], work)
    assert (work / "preview" / "runbooks" / "rollback" / "index.html").is_file()


def rendered_fleet(work: Path) -> bool:
    """Every service of the README's fleet file has its rollback runbook."""
    services = [entry["service_name"] for entry in yaml.safe_load(readme_fleet_file())["services"]]
    return all(
        (work / "services" / s / "docs" / "runbooks" / "rollback.md").is_file() for s in services
    )


# How the test proves each command of the README; a command without an entry fails the test.
README_COMMANDS: dict[str, Callable[[list[str], Path], None]] = {
    "make demo": make_target_exists,
    "make test": make_target_exists,
    "make .venv/.installed": make_target_exists,
    "git clone https://github.com/acme/service-runbooks.git": not_run(
        "the clone URL is the organisation's own; this test runs inside a clone"
    ),
    "cd service-runbooks": not_run("the clone's folder, where this test runs"),
    "pipx install --editable --include-deps .": not_run(
        "pipx installs into the user's home; the project declares the command it exposes"
    ),
    ".venv/bin/service-runbooks new": shown_in_help("--output"),
    ".venv/bin/service-runbooks new --from deploy/": shown_in_help("--from"),
    ".venv/bin/service-runbooks new --no-input service_name=orders-api owner=team-orders "
    "workload=deployment workload_name=orders-api namespace=orders gitops=none "
    "migration_tool=none health_check=readiness": runs(
        lambda work: (work / "orders-api" / "catalog-info.yaml").is_file()
    ),
    ".venv/bin/mkdocs serve -f orders-api/mkdocs.yml -a 127.0.0.1:8001": preview_builds,
    ".venv/bin/service-runbooks render fleet.yaml --output services/": runs(rendered_fleet),
}


def unchecked(commands: list[str]) -> list[str]:
    """The commands the test has no way to prove, and the entries no command uses any more."""
    return sorted(set(commands) ^ set(README_COMMANDS))


def test_every_readme_command_is_run_or_checked(tmp_path: Path) -> None:
    commands = shell_commands(README.read_text(encoding="utf-8"))
    assert unchecked(commands) == []
    (tmp_path / "fleet.yaml").write_text(readme_fleet_file(), encoding="utf-8")
    for command in commands:  # in the README's order: the preview needs what `new` wrote
        README_COMMANDS[command](shlex.split(command), tmp_path)
    assert (tmp_path / "orders-api" / "catalog-info.yaml").is_file()


def test_a_command_without_its_check_is_found() -> None:
    """The negative control: a README command the test does not know, and a check left over."""
    text = (
        "```bash\nmake demo   # comment\n.venv/bin/service-runbooks frobnicate \\\n  --all\n```\n"
    )
    assert shell_commands(text) == ["make demo", ".venv/bin/service-runbooks frobnicate --all"]
    assert ".venv/bin/service-runbooks frobnicate --all" in unchecked(shell_commands(text))
    assert "make test" in unchecked(shell_commands(text))


def test_the_pipx_install_gets_the_command_the_readme_uses() -> None:
    """pipx exposes the package's console scripts: `service-runbooks` must be one."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "service-runbooks" in project["scripts"]
    assert any(dependency.startswith("mkdocs>=") for dependency in project["dependencies"])


def test_the_picture_target_writes_a_rollback_png(tmp_path: Path) -> None:
    """`make picture`'s script, into a temporary file (the committed image is left alone): a PNG
    of a phone's width, of a plausible size for a page of text."""
    output = tmp_path / "rollback.png"
    subprocess.run(
        [str(BIN / "python"), "rollback_picture.py", str(output)],
        cwd=ROOT / "tests",
        check=True,
        capture_output=True,
    )
    data = output.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (390, 844)  # the IHDR chunk: the phone viewport
    assert 10_000 < len(data) < 300_000
    committed = ROOT / "docs" / "images" / "rollback-page.png"
    assert 10_000 < committed.stat().st_size < 300_000
    assert "picture:" in (ROOT / "Makefile").read_text(encoding="utf-8")
