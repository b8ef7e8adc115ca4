"""The README's variable reference is generated from the rules, and its table of alerts from the
template's alert entries; a stale copy of either fails here. The README leads with the two
commands, then `new`, `render` and plain cookiecutter; every repository path the README and
CONTRIBUTING.md name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service_runbooks.reference import (
    ALERTS_END,
    ALERTS_START,
    README,
    alerts_table,
    variables_table,
    with_alerts_table,
    with_table,
    workloads,
)
from service_runbooks.rules import RULES


def test_readme_variable_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, "run: python -m service_runbooks.reference"


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
    assert rule_row_problems(README.read_text(encoding="utf-8")) == []


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


def test_readme_alert_table_is_current(current_alerts_table: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert with_alerts_table(text, current_alerts_table) == text, (
        "run: python -m service_runbooks.reference"
    )


def test_a_stale_alert_table_is_caught(current_alerts_table: str) -> None:
    """The negative control: a README whose table lost a row or kept an old mixin twin."""
    text = README.read_text(encoding="utf-8")
    for stale in (
        text.replace("KubeHpaMaxedOut, for the autoscaler", "KubeHpaMaxedOut (any HPA)"),
        re.sub(r"\n\| VolumeFillingUp \|[^\n]*", "", text),
    ):
        assert stale != text
        assert with_alerts_table(stale, current_alerts_table) != stale


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
    text = README.read_text(encoding="utf-8")
    assert text.index(ALERTS_START) < text.index(ALERTS_END)


ROOT = README.parent
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
TEMPLATE = ROOT / "{{cookiecutter.service_name}}"
OUTPUT_FOLDERS = ("build/", "site/", ".venv/", "node_modules/")  # made by make, not in git
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def h2_headings(markdown: str) -> list[str]:
    return re.findall(r"^## (.+)$", FENCE.sub("", markdown), flags=re.MULTILINE)


def test_readme_leads_with_the_two_commands_then_new_render_and_cookiecutter() -> None:
    text = README.read_text(encoding="utf-8")
    assert h2_headings(text)[:4] == [
        "Two commands",
        "One service: `service-runbooks new`",
        "Many services: `service-runbooks render`",
        "Plain cookiecutter, and its limits",
    ]
    assert "[CONTRIBUTING.md](CONTRIBUTING.md)" in text


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


@pytest.mark.parametrize("document", [README, CONTRIBUTING], ids=lambda p: p.name)
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


def deciding_facts_not_named(markdown: str) -> list[str]:
    """The deciding facts (rules.Rule.deciding) that a "Migrate a fleet file" section does not
    name in code."""
    from service_runbooks.rules import deciding_fields

    section = markdown.split("### Migrate a fleet file", 1)[-1].split("\n#", 1)[0]
    return [field for field in deciding_fields() if f"`{field}`" not in section]


def test_the_migration_section_names_every_deciding_fact() -> None:
    """A fleet file must give each deciding fact: the README's "Migrate a fleet file" says
    which; a fact marked deciding later must be added there."""
    from service_runbooks.rules import deciding_fields

    text = README.read_text(encoding="utf-8")
    assert "### Migrate a fleet file" in text
    assert deciding_facts_not_named(text) == []
    # Negative control: the section without one of them is caught.
    first = deciding_fields()[0]
    assert deciding_facts_not_named(text.replace(f"`{first}`", first)) == [first]
