"""Review dates (issue 14 part 4): reviewed_on and review_every_days, validated like every answer,
printed at the foot of every page with the next due date, and judged by `check --stale` and by
the fleet index against a given day, in the past and in the future of each due date."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config
from fleet_helpers import DECIDING, copy_template, run_cli, write_fleet
from jinja2 import FileSystemLoader
from matrix import ROOT
from runbook_pages import PAGES

from service_runbooks.fleet.index_page import ServiceCard, index_html, read_card, services_json
from service_runbooks.rules import RULES_BY_FIELD, TODAY, review_due, validate

REVIEWED_ON, EVERY = RULES_BY_FIELD["reviewed_on"], RULES_BY_FIELD["review_every_days"]
COMMANDS = "{% if False %}commands.jinja{% endif %}"
FOOTER = re.compile(
    r"^\*Last reviewed: (\S+)\. Next review due: (\S+) \(every (\d+) days\)\. "
    r"A review is recorded by changing the answer `reviewed_on`, not by editing this page\.\*$",
    re.MULTILINE,
)


# ---- the rules ----


def test_the_date_rule_accepts_exactly_the_real_calendar_dates_from_2000_to_2099() -> None:
    """Every YYYY-MM-DD string with months 00-13 and days 00-32, 1999 to 2100, against the
    standard library's calendar."""
    wrong = []
    for year, month, day in itertools.product(range(1999, 2101), range(14), range(33)):
        text = f"{year:04d}-{month:02d}-{day:02d}"
        try:
            real = 2000 <= date.fromisoformat(text).year <= 2099
        except ValueError:
            real = False
        if (REVIEWED_ON.check(text) is None) != real:
            wrong.append(text)
    assert wrong == []


@pytest.mark.parametrize(
    "value",
    ["2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31", "2100-02-29", "2025-02-29",
     "2026-1-1", "20261102", "2026/11/02", "2026-11-02T10:00", " 2026-11-02", "next tuesday",
     "{{ '2026-11-02' }}", ""],
)  # fmt: skip
def test_bad_dates_are_refused_naming_the_field_the_rule_and_an_example(value: str) -> None:
    problems = [p for p in validate({"reviewed_on": value}) if p.field == "reviewed_on"]
    assert len(problems) == 1
    message = str(problems[0])
    assert message.startswith("reviewed_on: ")
    assert "Rule: the day the runbooks were last reviewed" in message
    assert "Example: 2026-11-02" in message


def test_review_every_days_is_a_whole_number_from_1_to_3650() -> None:
    accepted = [str(n) for n in range(0, 4000) if EVERY.check(str(n)) is None]
    assert accepted == [str(n) for n in range(1, 3651)]
    for bad in ["090", "1.5", "-5", "ninety", "90 days", "", "{{ 90 }}"]:
        assert EVERY.check(bad) is not None, bad


def test_the_only_clock_default_is_reviewed_on_and_cookiecutter_renders_it_as_today() -> None:
    cookiecutter_json = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    assert cookiecutter_json["reviewed_on"] == TODAY
    assert [k for k, v in cookiecutter_json.items() if v == TODAY] == ["reviewed_on"]
    before = datetime.now(UTC).date()
    answers = prompt_for_config(generate_context(str(ROOT / "cookiecutter.json")), no_input=True)
    assert date.fromisoformat(answers["reviewed_on"]) in {before, datetime.now(UTC).date()}
    assert answers["review_every_days"] == "90"
    assert validate({**answers, "publish_techdocs": True}) == []


# ---- the due date: one computation in Python, the same in the pages' Jinja ----


def _jinja_due(pairs: list[tuple[str, int]]) -> list[str]:
    """text.jinja's review_due (commands.jinja re-exports it) for each (date, days), rendered
    by cookiecutter's own environment with the template's folder as its loader, as the pages
    render it."""
    from cookiecutter.environment import StrictEnvironment

    context = generate_context(str(ROOT / "cookiecutter.json"))
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    env = StrictEnvironment(
        context=context,
        keep_trailing_newline=True,
        loader=FileSystemLoader(str(ROOT / "{{cookiecutter.service_name}}")),
        **context["cookiecutter"]["_jinja2_env_vars"],
    )
    page = env.from_string(
        f'{{% import "{COMMANDS}" as cmd with context %}}'
        "{% for iso, days in pairs %}{{ cmd.review_due(iso, days) }} {% endfor %}"
    )
    return page.render(cookiecutter=context["cookiecutter"], pairs=pairs).split()


def _every_day_of_the_range() -> list[tuple[str, int]]:
    """Every valid date, each with one of the month, leap-year and range edges as its days;
    and every number of days from one leap day."""
    steps = itertools.cycle([1, 27, 28, 29, 30, 31, 59, 60, 90, 365, 366, 1461, 3650])
    first, last = date(2000, 1, 1), date(2099, 12, 31)
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    pairs = [(day.isoformat(), next(steps)) for day in days]
    return pairs + [("2024-02-29", n) for n in range(1, 3651)]


def test_the_pages_due_date_is_the_python_one_for_every_date_and_edge() -> None:
    pairs = _every_day_of_the_range()
    expected = [
        review_due({"reviewed_on": iso, "review_every_days": str(days)}).isoformat()
        for iso, days in pairs
    ]
    assert _jinja_due(pairs) == expected
    # Negative control: a date sum that ignores the calendar (30-day months) is caught.
    naive = [f"{iso[:8]}{(int(iso[8:]) + days - 1) % 30 + 1:02d}" for iso, days in pairs[:400]]
    assert naive != expected[:400]


def test_review_due_defaults_to_90_days() -> None:
    assert review_due({"reviewed_on": "2026-11-02"}) == date(2027, 1, 31)
    assert review_due({"reviewed_on": "2024-02-29", "review_every_days": "365"}) == date(
        2025, 2, 28
    )


# ---- every page ends with the review line ----


def test_every_page_ends_with_the_review_line(tmp_path: Path) -> None:
    project = Path(
        cookiecutter(
            str(ROOT),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={
                "reviewed_on": "2024-02-29",
                "review_every_days": "365",
                "workload": "statefulset",
                "migration_tool": "flyway",
            },
        )
    )
    pages = sorted((project / "docs").rglob("*.md"))
    # Home, every runbook (with database), a page per alert name the rules file holds: counted
    # from the rendered service, so a new alert entry needs no change here.
    rules = yaml.safe_load((project / "monitoring" / "alerts.yaml").read_text(encoding="utf-8"))
    alerts = {
        rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
    }
    assert len(pages) == 1 + len(PAGES) + len(alerts)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found = FOOTER.findall(text)
        assert found == [("2024-02-29", "2025-02-28", "365")], page
        assert text.rstrip("\n").splitlines()[-1].startswith("*Last reviewed:"), page
        assert "\n\n*Last reviewed:" in text, f"{page}: the line must be its own paragraph"


# ---- the fleet file: the source of truth ----


def _fleet_text(tmp_path: Path, text: str) -> Path:
    """``text`` as a fleet file, its defaults given the deciding facts and each entry its
    workload's name, on the line after its service_name (tests/test_fleetfile.py is about
    those): these tests are about the review dates."""
    text = re.sub(r"(?m)^  - service_name: (\S+)\n", r"\g<0>    workload_name: \1\n", text)
    deciding = "".join(f"  {field}: {value}\n" for field, value in DECIDING.items())
    if "defaults:\n" in text:
        text = text.replace("defaults:\n", "defaults:\n" + deciding, 1)
    else:
        text += "defaults:\n" + deciding
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(text, encoding="utf-8")
    return fleet


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"2026-02-30"', "is not valid"),
        ("2026-13-01", "is not valid"),
        ("last week", "is not valid"),
        ("\"{{ '2026-11-02' }}\"", "Jinja delimiters"),
        ("20261102", "is an int"),
    ],
)
def test_render_refuses_a_bad_review_date_naming_the_field(
    tmp_path: Path, value: str, reason: str
) -> None:
    fleet = _fleet_text(tmp_path, f"services:\n  - service_name: fine\n    reviewed_on: {value}\n")
    result = run_cli(ROOT, "render", fleet, "--output", tmp_path / "out", check=2)
    assert "services[0] 'fine' (line 4): reviewed_on:" in result.stderr  # the key's line
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_render_refuses_a_fleet_without_review_dates_and_accepts_them_in_defaults(
    tmp_path: Path,
) -> None:
    fleet = _fleet_text(tmp_path, "services:\n  - service_name: a\n  - service_name: b\n")
    for command in ("render", "check"):
        result = run_cli(ROOT, command, fleet, "--output", tmp_path / "out", check=2)
        # No entry gives it: said once, at defaults:, not once per service.
        assert ": reviewed_on: no entry gives it: give it once here" in result.stderr
        assert "services[" not in result.stderr
        assert 'Example: reviewed_on: "2026-11-02"' in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()
    # Negative control: given once in defaults (unquoted, as people write dates), it is enough.
    given = fleet.read_text().replace("defaults:\n", "defaults:\n  reviewed_on: 2026-11-02\n")
    fleet.write_text(given)
    run_cli(ROOT, "check", fleet, "--output", tmp_path / "out", "--stale", "--today", "2026-11-02")


# ---- check --stale: dates before, on and after each due date ----

STALE_FLEET = """\
defaults:
  reviewed_on: "2026-02-15"
services:
  - service_name: alpha
    reviewed_on: "2026-01-10"
    review_every_days: "90"
  - service_name: beta
    reviewed_on: "2026-03-01"
    review_every_days: "30"
  - service_name: gamma
"""
# Due: alpha 2026-04-10, beta 2026-03-31, gamma 2026-05-16 (the default 90 days).


def stale(tmp_path: Path, today: str, code: int) -> str:
    fleet = _fleet_text(tmp_path, STALE_FLEET)
    args = ("check", fleet, "--output", tmp_path / "out", "--stale", "--today", today)
    return run_cli(ROOT, *args, check=code).stdout


def overdue_names(output: str) -> list[str]:
    return re.findall(r"^  overdue  ([a-z-]+):", output, flags=re.MULTILINE)


def test_stale_lists_nothing_when_every_review_is_in_time(tmp_path: Path) -> None:
    output = stale(tmp_path, "2026-03-31", code=0)  # beta is due that very day
    assert overdue_names(output) == []
    assert "3 services as of 2026-03-31: 0 overdue, 3 reviewed in time" in output
    assert not (tmp_path / "out").exists()  # it reads the fleet file only


def test_stale_lists_a_review_from_the_day_after_it_was_due(tmp_path: Path) -> None:
    output = stale(tmp_path, "2026-04-01", code=1)
    assert overdue_names(output) == ["beta"]
    assert (
        "  overdue  beta: review due 2026-03-31, 1 day(s) ago "
        "(reviewed_on 2026-03-01, every 30 days)"
    ) in output
    assert "3 services as of 2026-04-01: 1 overdue, 2 reviewed in time" in output


def test_stale_lists_every_overdue_service_oldest_due_first(tmp_path: Path) -> None:
    assert overdue_names(stale(tmp_path, "2026-04-11", code=1)) == ["beta", "alpha"]
    assert overdue_names(stale(tmp_path, "2030-01-01", code=1)) == ["beta", "alpha", "gamma"]


def test_stale_reports_reviews_dated_after_today_in_every_time_zone(tmp_path: Path) -> None:
    output = stale(tmp_path, "2026-02-01", code=1)
    assert overdue_names(output) == []
    assert (
        "    ahead  beta: reviewed_on 2026-03-01 is later than today (2026-02-01) in every "
        "time zone; a typo?"
    ) in output
    assert "    ahead  gamma: reviewed_on 2026-02-15 is later than today" in output
    assert "2 dated after today, 1 reviewed in time" in output


def test_a_review_dated_one_day_after_utcs_today_is_not_flagged(tmp_path: Path) -> None:
    """East of UTC (up to UTC+14) the local day may be UTC's tomorrow: no false alarm."""
    output = stale(tmp_path, "2026-02-28", code=0)  # beta's reviewed_on is 2026-03-01
    assert "ahead" not in output
    assert "3 services as of 2026-02-28: 0 overdue, 3 reviewed in time" in output


def test_stale_needs_no_output_folder_but_plain_check_does(tmp_path: Path) -> None:
    fleet = _fleet_text(tmp_path, STALE_FLEET)
    output = run_cli(ROOT, "check", fleet, "--stale", "--today", "2026-04-01", check=1).stdout
    assert overdue_names(output) == ["beta"]
    # Negative control: without --stale, the output folder is what check compares with.
    result = run_cli(ROOT, "check", fleet, check=2)
    assert "ERROR: --output: required (only check --stale" in result.stderr
    assert "Traceback" not in result.stderr


def test_stale_without_today_uses_the_real_date(tmp_path: Path) -> None:
    fleet = _fleet_text(tmp_path, "services:\n  - service_name: old\n    reviewed_on: 2000-01-01\n")
    before = datetime.now(UTC).date()
    output = run_cli(ROOT, "check", fleet, "--output", tmp_path / "o", "--stale", check=1).stdout
    assert overdue_names(output) == ["old"]
    days = {before, datetime.now(UTC).date()}  # the run may cross midnight
    assert any(f"1 services as of {day.isoformat()}: 1 overdue" in output for day in days)


@pytest.mark.parametrize("today", ["2026-02-30", "tomorrow", "2026-2-3"])
def test_a_bad_today_is_a_usage_error(tmp_path: Path, today: str) -> None:
    fleet = _fleet_text(tmp_path, STALE_FLEET)
    result = run_cli(
        ROOT, "check", fleet, "--output", tmp_path / "o", "--stale", "--today", today, check=2
    )
    assert "--today" in result.stderr and "is not a calendar date YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the index: marks and services.json ----


class _Rows(HTMLParser):
    """Each row's service name and its review cell's state and text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, tuple[str, str]] = {}
        self._cell: str | None = None
        self._name: str | None = None
        self._in_row = False
        self._text: list[str] = []
        self._state = ""
        self.reviews_line = ""
        self._in_reviews = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr" and "data-search" in values:
            self._in_row, self._name, self._cell = True, None, None
        elif tag == "td" and self._in_row:
            self._cell = values.get("class") or "td"
            self._state = values.get("data-review") or ""
            self._text = []
        elif tag == "p" and values.get("id") == "reviews":
            self._in_reviews = True

    def handle_data(self, data: str) -> None:
        if self._in_reviews:
            self.reviews_line += data
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_reviews = False
        if tag == "td" and self._cell is not None:
            text = "".join(self._text).strip()
            if (
                self._name is None
            ):  # the service's name: the cell's first text (a Rollback link follows)
                self._name = self._text[0].strip().split(" ")[0] if self._text else ""
            if self._cell == "review":
                self.rows[self._name] = (self._state, text)
            self._cell = None
        if tag == "tr":
            self._in_row = False


def parse_index(page: str) -> _Rows:
    rows = _Rows()
    rows.feed(page)
    return rows


def _service(root: Path, name: str, answers: dict[str, object] | None) -> Path:
    """A service folder as `render` leaves it, as far as the card reads it."""
    folder = root / name
    folder.mkdir(parents=True)
    entity = {"metadata": {"name": name}, "spec": {"owner": "team-a", "lifecycle": "production"}}
    (folder / "catalog-info.yaml").write_text(yaml.safe_dump(entity), encoding="utf-8")
    if answers is not None:
        state = {"context": {"cookiecutter": {"service_name": name, **answers}}}
        (folder / ".cruft.json").write_text(json.dumps(state), encoding="utf-8")
    return folder


def test_the_index_marks_overdue_reviews_as_of_its_build_day(tmp_path: Path) -> None:
    cards = [
        read_card(
            _service(tmp_path, "alpha", {"reviewed_on": "2026-01-10", "review_every_days": "90"}),
            False,
        )[0],
        read_card(
            _service(tmp_path, "beta", {"reviewed_on": "2026-03-01", "review_every_days": "30"}),
            False,
        )[0],
        read_card(_service(tmp_path, "legacy", None), False)[0],  # rendered before review dates
    ]
    assert [(c.reviewed_on, c.review_due) for c in cards] == [
        ("2026-01-10", "2026-04-10"),
        ("2026-03-01", "2026-03-31"),
        ("", ""),
    ]
    in_time = parse_index(index_html(cards, date(2026, 3, 31)))
    assert in_time.rows == {
        "alpha": ("in time", "due 2026-04-10"),
        "beta": ("in time", "due 2026-03-31"),
        "legacy": ("", "no review date"),
    }
    assert "0 of 3 services overdue for review as of 2026-03-31" in in_time.reviews_line
    later = parse_index(index_html(cards, date(2026, 4, 11)))
    assert later.rows["alpha"] == ("overdue", "overdue (due 2026-04-10)")
    assert later.rows["beta"] == ("overdue", "overdue (due 2026-03-31)")
    assert "2 of 3 services overdue for review as of 2026-04-11, the day this index was built" in (
        later.reviews_line
    )
    before = parse_index(index_html(cards, date(2026, 2, 1)))
    assert before.rows["beta"] == ("ahead", "reviewed 2026-03-01: after today?")
    assert parse_index(index_html(cards, date(2026, 2, 28))).rows["beta"][0] == "in time"


def test_an_odd_review_answer_gives_a_warning_and_no_mark(tmp_path: Path) -> None:
    odd = _service(tmp_path, "odd", {"reviewed_on": "2026-02-30", "review_every_days": "x"})
    card, warnings = read_card(odd, False)
    assert (card.reviewed_on, card.review_due) == ("", "")
    assert warnings == [
        ".cruft.json: reviewed_on: is not valid; .cruft.json: review_every_days: is not valid "
        "(no review date shown)"
    ]
    assert ServiceCard("odd").review_state(date(2026, 1, 1)) == ""


def test_render_then_build_puts_review_due_in_services_json_and_marks_the_index(
    tmp_path: Path,
) -> None:
    """The whole path: fleet file, render, build with --today; the card's dates are the ones
    the rendered pages show."""
    template = copy_template(tmp_path / "template")
    fleet = write_fleet(
        tmp_path / "fleet.yaml",
        [
            {"service_name": "fresh", "reviewed_on": "2026-10-01", "alerting": False},
            {"service_name": "stale", "reviewed_on": "2025-01-15", "review_every_days": "180"},
        ],
    )
    run_cli(template, "render", fleet, "--output", tmp_path / "out", "--jobs", "2")
    page = (tmp_path / "out" / "stale" / "docs" / "runbooks" / "rollback.md").read_text()
    assert FOOTER.findall(page) == [("2025-01-15", "2025-07-14", "180")]
    args = ("build", tmp_path / "out", "--site", tmp_path / "site", "--jobs", "2")
    run_cli(template, *args, "--today", "2026-11-02")
    listed = json.loads((tmp_path / "site" / "services.json").read_text(encoding="utf-8"))
    assert {s["name"]: (s["reviewed_on"], s["review_due"]) for s in listed} == {
        "fresh": ("2026-10-01", "2026-12-30"),
        "stale": ("2025-01-15", "2025-07-14"),
    }
    index = parse_index((tmp_path / "site" / "index.html").read_text(encoding="utf-8"))
    assert index.rows == {
        "fresh": ("in time", "due 2026-12-30"),
        "stale": ("overdue", "overdue (due 2025-07-14)"),
    }
    assert "1 of 2 services overdue for review as of 2026-11-02" in index.reviews_line
    # Negative control: a review recorded the user's way (the answer changed in the fleet
    # file, then render) clears the mark on the same day.
    write_fleet(
        fleet,
        [
            {"service_name": "fresh", "reviewed_on": "2026-10-01", "alerting": False},
            {"service_name": "stale", "reviewed_on": "2026-10-15", "review_every_days": "180"},
        ],
    )
    run_cli(template, "render", fleet, "--output", tmp_path / "out", "--jobs", "2")
    run_cli(template, *args, "--today", "2026-11-02")
    index = parse_index((tmp_path / "site" / "index.html").read_text(encoding="utf-8"))
    assert index.rows["stale"] == ("in time", "due 2027-04-13")
    assert "0 of 2 services overdue" in index.reviews_line


def test_the_merged_index_of_shards_keeps_the_dates_and_marks_them_as_of_its_day(
    tmp_path: Path,
) -> None:
    """`index` merges `build --shard` outputs: the dates travel in services.json and the merged
    page judges them on its own --today, as a whole build's page would."""
    cards = [
        ServiceCard("alpha", reviewed_on="2026-01-10", review_due="2026-04-10"),
        ServiceCard("beta", reviewed_on="2026-03-01", review_due="2026-03-31"),
    ]
    shards = []
    for number, card in enumerate(cards, start=1):
        shard = tmp_path / f"shard-{number}"
        shard.mkdir()
        (shard / "services.json").write_text(services_json([card]), encoding="utf-8")
        shards.append(shard)
    run_cli(ROOT, "index", *shards, "--site", tmp_path / "site", "--today", "2026-04-01")
    merged = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert merged == index_html(cards, date(2026, 4, 1))
    assert parse_index(merged).rows == {
        "alpha": ("in time", "due 2026-04-10"),
        "beta": ("overdue", "overdue (due 2026-03-31)"),
    }
    listed = json.loads((tmp_path / "site" / "services.json").read_text(encoding="utf-8"))
    assert [(s["name"], s["review_due"]) for s in listed] == [
        ("alpha", "2026-04-10"),
        ("beta", "2026-03-31"),
    ]
