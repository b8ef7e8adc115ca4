"""Every alert is one entry of alerts.jinja, holding its own page text: an entry without its
mitigation (or any other part of its page) stops the render and names the alert, in cookiecutter's
CLI and the way Backstage's fetch:cookiecutter renders (no hooks, no ``_extensions``); no alert
silently takes another's steps. Rendered on a copy of the template with one entry cut."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_helpers import copy_template

ALERTS = Path("{{cookiecutter.service_name}}") / "{% if False %}alerts.jinja{% endif %}"
PAGE = "docs/alerts/podcrashlooping.md"


def without_key(module: str, alert: str, key: str) -> str:
    """``module``'s text with ``key`` cut from the first entry named ``alert`` (a one-line value
    or a multi-line list)."""
    entry = module.index(f"'name': '{alert}'")
    start = module.index(f"\n    '{key}': ", entry)
    value = module[start + len(f"\n    '{key}': ") :]
    if value.startswith("[\n"):
        end = module.index("\n    ],", start) + len("\n    ],")
    else:
        end = module.index("\n", start + 1)
    return module[:start] + module[end:]


def template_copy(tmp_path: Path, cut: tuple[str, str] | None, *, backstage: bool) -> Path:
    """A copy of the template, with ``cut`` = (alert, key) removed from its entry; rendered the
    Backstage way, the copy has neither hooks nor ``_extensions`` (as fetch:cookiecutter gives
    cookiecutter none)."""
    template = copy_template(tmp_path / "template")
    if cut is not None:
        module = template / ALERTS
        module.write_text(without_key(module.read_text(encoding="utf-8"), *cut), encoding="utf-8")
    if backstage:
        shutil.rmtree(template / "hooks")
        answers = template / "cookiecutter.json"
        context = json.loads(answers.read_text(encoding="utf-8"))
        del context["_extensions"]
        answers.write_text(json.dumps(context), encoding="utf-8")
    return template


def cookiecutter_cli(template: Path, out: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "-o",
            str(out),
            str(template),
            *answers,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cutting_a_key_removes_exactly_that_key() -> None:
    """The helper the renders below rely on: it cuts a list value and a shared block's name."""
    module = (Path(__file__).parents[1] / ALERTS).read_text(encoding="utf-8")
    cut = without_key(module, "PodCrashLooping", "mitigation")
    assert "see ContainerOOMKilled below" not in cut
    assert cut.count("'mitigation':") == module.count("'mitigation':") - 1
    cut = without_key(module, "VolumeFillingUp", "mitigation")
    assert cut.count("volume_steps.mitigation") == module.count("volume_steps.mitigation") - 1


@pytest.mark.parametrize("backstage", [False, True], ids=["cookiecutter-cli", "backstage-way"])
def test_an_alert_with_its_page_text_renders_its_own_steps(tmp_path: Path, backstage: bool) -> None:
    """The positive case: the template as it is renders, and the crash-loop page shows its own
    mitigation, not the volume alert's `df -h` steps."""
    result = cookiecutter_cli(template_copy(tmp_path, None, backstage=backstage), tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "out" / "payments-api" / PAGE).read_text(encoding="utf-8")
    mitigation = page.split("## Mitigation", 1)[1]
    assert mitigation.lstrip().startswith("1. Started with a deploy (a new image or configuration)")
    assert "df -h" not in page


@pytest.mark.parametrize("backstage", [False, True], ids=["cookiecutter-cli", "backstage-way"])
@pytest.mark.parametrize(
    ("alert", "key", "answers"),
    [
        ("PodCrashLooping", "mitigation", ()),
        ("ErrorBudgetBurnLow", "diagnosis", ()),  # a shared block's reference, cut
        # an entry this service does not get (StatefulSets only) fails a Deployment's render too
        ("VolumeFillingUp", "mitigation", ("workload=deployment",)),
        ("HpaMaxedOut", "meaning", ()),
        ("RolloutStuck", "expr", ()),  # a rule's part: present, or the render stops too
    ],
)
def test_an_alert_without_its_page_text_stops_the_render_naming_it(
    tmp_path: Path, alert: str, key: str, answers: tuple[str, ...], backstage: bool
) -> None:
    """The negative control of the removed fallback: no page takes another alert's text."""
    template = template_copy(tmp_path, (alert, key), backstage=backstage)
    result = cookiecutter_cli(template, tmp_path / "out", *answers)
    assert result.returncode != 0
    assert f"alert {alert} has no {key}:" in result.stdout + result.stderr
    assert not (tmp_path / "out" / "payments-api" / PAGE).exists()
    assert re.search(r"Traceback", result.stdout + result.stderr) is None


def test_an_alert_in_an_unknown_group_stops_the_render_naming_it(tmp_path: Path) -> None:
    """An entry whose group is not one of the rules file's groups would be printed nowhere: the
    render stops, naming the alert, its group and the groups there are (negative control)."""
    template = copy_template(tmp_path / "template")
    module = template / ALERTS
    text = module.read_text(encoding="utf-8")
    entry = text.index("'name': 'HpaMaxedOut'")
    doctored = text[:entry] + text[entry:].replace("'group': 'workload'", "'group': 'workloads'", 1)
    module.write_text(doctored, encoding="utf-8")
    result = cookiecutter_cli(template, tmp_path / "out")
    assert result.returncode != 0
    assert (
        "alert HpaMaxedOut has the group workloads, which is not one of the groups in "
        "alerts.jinja: slo, workload" in result.stdout + result.stderr
    )


# Every file that lists the alerts: the rules, their unit tests, the nav, the home page's table
# and the catalog's annotation.
ALERT_LISTS = [
    "monitoring/alerts.yaml",
    "monitoring/prometheusrule.yaml",
    "monitoring/alerts.test.yaml",
    "mkdocs.yml",
    "docs/index.md",
    "catalog-info.yaml",
]


def test_where_an_entry_sits_among_the_entries_changes_nothing(tmp_path: Path) -> None:
    """A workload alert's entry moved before the SLO alerts' renders the same files: every list
    of alerts follows the rules file's group order, so each unit test stays beside its rule."""
    plain = copy_template(tmp_path / "plain")
    moved = copy_template(tmp_path / "moved")
    module = moved / ALERTS
    text = module.read_text(encoding="utf-8")
    start = text.index("  {\n    'name': 'PodCrashLooping'")
    end = text.index("  {\n", start + 1)
    entry, text = text[start:end], text[:start] + text[end:]
    head = text.index("{% set entries = [\n") + len("{% set entries = [\n")
    module.write_text(text[:head] + entry + text[head:], encoding="utf-8")
    assert module.read_text(encoding="utf-8").index("'name': 'PodCrashLooping'") < (
        module.read_text(encoding="utf-8").index("'name': 'ErrorBudgetBurnFast'")
    )
    for template, out in ((plain, tmp_path / "out-plain"), (moved, tmp_path / "out-moved")):
        # An owner, so catalog-info.yaml (with its alert annotation) is rendered too.
        result = cookiecutter_cli(template, out, "owner=team-payments")
        assert result.returncode == 0, result.stdout + result.stderr
    for name in ALERT_LISTS:
        assert (tmp_path / "out-moved" / "payments-api" / name).read_bytes() == (
            tmp_path / "out-plain" / "payments-api" / name
        ).read_bytes(), name


def _twin_renamed(text: str) -> str:
    return text.replace("'alert': 'KubePodCrashLooping'", "'alert': 'KubePodCrashLoop'", 1)


def _twin_dropped(text: str) -> str:
    entry = text.index("'name': 'PodCrashLooping'")
    twin = text.index("'twin': {", entry)
    return text[:twin] + "'twin': none," + text[text.index("\n", twin) :]


def _twin_shares_a_label_ours_lacks(text: str) -> str:
    return text.replace(
        "'alert': 'KubePodNotReady', 'labels': {}, 'equal': ['namespace', 'pod']",
        "'alert': 'KubePodNotReady', 'labels': {}, 'equal': ['namespace', 'pod', 'container']",
        1,
    )


@pytest.mark.parametrize(
    ("doctor", "message"),
    [
        (_twin_renamed, "alert PodCrashLooping has the twin KubePodCrashLoop, which its mixin"),
        (_twin_dropped, "alert PodCrashLooping has a kubernetes-mixin twin and no twin"),
        (
            _twin_shares_a_label_ours_lacks,
            "alert PodNotReady does not fire with the label container its twin must share",
        ),
        (
            lambda text: without_key(text, "PodCrashLooping", "twin"),
            "alert PodCrashLooping has no twin:",
        ),
    ],
    ids=["renamed", "dropped", "label-not-fired", "key-cut"],
)
def test_a_twin_that_disagrees_with_its_alert_stops_the_render(
    tmp_path: Path, doctor, message: str
) -> None:
    """The Alertmanager inhibit rules' twin of an alert must be the mixin twin its README row
    names, and share only labels the alert fires with: else the render stops, naming the alert
    (negative controls; the positive case is every render of the suite)."""
    template = copy_template(tmp_path / "template")
    module = template / ALERTS
    text = module.read_text(encoding="utf-8")
    assert doctor(text) != text
    module.write_text(doctor(text), encoding="utf-8")
    result = cookiecutter_cli(template, tmp_path / "out")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
