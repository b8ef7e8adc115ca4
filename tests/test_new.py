"""``service-runbooks new``: typed in a real pseudo-terminal (pexpect), and without one.

A person's view: each wrong answer shows its rule and is asked again, only the questions that
apply are asked, computed defaults follow earlier answers, Ctrl-C leaves nothing, and the
service is the same tree, byte for byte, as the real ``cookiecutter --no-input`` CLI writes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest
import yaml
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from fleet_helpers import DECIDING, cli_env
from matrix import COOKIECUTTER_JSON, ROOT
from pty_program import Screen
from tools import cookiecutter_config, tool

from service_runbooks import wizard
from service_runbooks.discovery import ServiceAnswers
from service_runbooks.rules import RULES_BY_FIELD

PROMPTS = COOKIECUTTER_JSON["__prompts__"]
QUESTIONS = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
EXAMPLES = sorted((ROOT / "examples" / "services").glob("*.yaml"))

# The conditions (the README says the same): which answers are used only where.
HELM_ONLY = {"helm_release", "chart_workload"}
GITOPS_ONLY = {"gitops_app", "gitops_kind", "flux_namespace"}
FLUX_ONLY = {"gitops_kind", "flux_namespace"}
ROLLOUT_ONLY = {"rollouts_namespace_label"}
# With the default health check (readiness), none of the other kinds' answers is asked.
HEALTH_DETAILS = {"health_url", "health_check_path", "health_check_port", "health_check_scheme"}
ALERT_ANSWERS = {
    "backstage_url",
    "prometheus_release",
    "rollouts_namespace_label",
    "slo_alerts",
    "slo_target",
    "request_metric",
    "metrics_selector",
    "metrics_namespace_label",
    "error_matcher",
    "latency_metric",
    "latency_threshold",
    "kube_prometheus_rules",
}

# Every question shows its number, and its default last, in parentheses, then waits:
# "[3] ... (default): ".
QUESTION = re.compile(r"\[(?P<number>\d+)\] (?P<question>[^\x1b]*?)\((?P<default>[^()\n]*)\): $")
RENDERED = re.compile(r"Rendered (?P<path>\S+)\n")
# The deciding facts (rules.Rule.deciding) as key=value: without a terminal, `new` refuses to
# take them from cookiecutter.json's defaults (test_without_input_the_deciding_facts_...). The
# workload's own name is the one of "orders", the service most tests here render.
GIVEN = [f"{field}={value}" for field, value in DECIDING.items()] + ["workload_name=orders"]
# What a name-only service lacks: the list of deciding facts (the health check's
# details and the Flux object's kind only where they apply).
NAME_ONLY_LACKS = ["workload_name", *DECIDING]
DISCOVERY_FIXTURES = Path(__file__).parent / "fixtures" / "discovery"


def question_text(field: str) -> str:
    prompt = PROMPTS[field]
    return prompt["__prompt__"] if isinstance(prompt, dict) else prompt


def question_patterns(field: str) -> list[re.Pattern[str]]:
    """Each question `new` may ask for ``field``: cookiecutter.json's, and each one specific to
    earlier answers (its rule's), whatever those answers fill in."""
    texts = [re.escape(question_text(field))]
    for specific in RULES_BY_FIELD[field].specific_prompts:
        parts = re.split(r"\{[a-z_]+\}", specific.text)
        texts.append(r"[^\n]+?".join(re.escape(part) for part in parts))
    return [re.compile(text) for text in texts]


def field_asked(question: str) -> str:
    """The answer a question on screen asks for: the one whose question it starts with, the
    longest match when several do."""
    matched = {}
    for field in QUESTIONS:
        lengths = [m.end() for p in question_patterns(field) if (m := p.match(question))]
        if lengths:
            matched[field] = max(lengths)
    assert matched, f"not a question of cookiecutter.json: {question!r}"
    return max(matched, key=lambda field: matched[field])


def keystrokes(field: str, value: object) -> str:
    """What a person types to give ``value`` (None: Enter, the default)."""
    if value is None:
        return ""
    if isinstance(COOKIECUTTER_JSON[field], list):
        return str(COOKIECUTTER_JSON[field].index(value) + 1)
    if isinstance(value, bool):
        return "y" if value else "n"
    return str(value)


def interactive_signals() -> None:
    """In the child, before exec: SIGINT at its default and unblocked, as a person's shell
    starts a foreground job. A child inherits an ignored or blocked SIGINT across exec
    (signal(7), "Signal mask and pending signals"; sigaction(2)), and a pytest worker that
    ran other modules first may have either, which made Ctrl-C a no-op in full runs only."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class Terminal:
    """``service-runbooks new`` in a pseudo-terminal, its output read as a person sees it."""

    def __init__(self, output: Path, *args: str) -> None:
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "service_runbooks", "new", "--output", str(output), *args],
            # Wide, so that rich wraps no line: it takes COLUMNS over the terminal's size
            # (https://rich.readthedocs.io/en/stable/console.html#environment-variables).
            env={**cli_env(ROOT), "TERM": "xterm", "COLUMNS": "4000", "LINES": "50"},
            encoding="utf-8",
            dimensions=(50, 4000),
            preexec_fn=interactive_signals,
        )
        self.screen = Screen(self.child)  # waits that fail fast on a wrong prompt (pty_program)
        self.read_to = 0  # how much of the text the test has looked at

    @property
    def text(self) -> str:
        return self.screen.text

    def wait_for(self, pattern: re.Pattern[str]) -> tuple[str, re.Match[str]]:
        """The text shown since the last wait, up to the next match of ``pattern``; the match."""
        found = self.screen.wait_until(
            lambda text: pattern.search(text, self.read_to), repr(pattern.pattern), self.read_to
        )
        before, self.read_to = self.text[self.read_to : found.start()], found.end()
        return before, found

    def next_question(self) -> tuple[str, str, str]:
        """Wait for the next question: what was shown before it, its field, its default."""
        before, found = self.wait_for(QUESTION)
        return before, field_asked(found["question"]), found["default"]

    def type(self, text: str) -> None:
        self.child.sendline(text)

    def end(self) -> tuple[int | None, str]:
        """Wait for the program to end: its exit status and everything it showed."""
        return self.screen.wait_for_exit(self.read_to), self.text

    def interrupt(self) -> tuple[int | None, str]:
        """Ctrl-C once the program waits for input, as a person presses it."""
        self.screen.wait_until_reading()
        self.child.sendintr()
        return self.end()


def cookiecutter_defaults(answers: Mapping[str, object]) -> dict[str, object]:
    """What cookiecutter itself renders for every answer, given ``answers``."""
    context = generate_context(str(ROOT / "cookiecutter.json"), extra_context=dict(answers))
    return prompt_for_config(context, no_input=True)


def answer_everything(term: Terminal, answers: Mapping[str, object]) -> list[tuple[str, str]]:
    """Answer every question until the service is rendered: ``answers`` typed, Enter
    elsewhere; each question asked (field, default shown), in order."""
    asked = []
    either = re.compile(f"{QUESTION.pattern}|{RENDERED.pattern}")
    while True:
        _before, found = term.wait_for(either)
        if found["path"] is not None:
            return asked
        field = field_asked(found["question"])
        asked.append((field, found["default"]))
        term.type(keystrokes(field, answers.get(field)))


def files_in(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under ``root`` by relative path: kind (link, dir, executable or plain
    file) and content; links are read, never followed."""
    entries = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            entries[rel] = ("link", os.readlink(path).encode())
        elif path.is_dir():
            entries[rel] = ("dir", b"")
        else:
            kind = "executable" if path.stat().st_mode & 0o111 else "file"
            entries[rel] = (kind, path.read_bytes())
    return entries


def tree_differences(ours: Path, theirs: Path, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Paths that differ between two trees (missing, extra, other kind, other bytes)."""
    a, b = files_in(ours), files_in(theirs)
    return [rel for rel in sorted((set(a) | set(b)) - ignore) if a.get(rel) != b.get(rel)]


def leftovers(root: Path) -> list[str]:
    """Everything under ``root``: a refused or aborted run must leave this empty."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def run_new(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``service-runbooks new`` without a terminal (stdin is /dev/null)."""
    return subprocess.run(
        [sys.executable, "-m", "service_runbooks", "new", *map(str, args)],
        cwd=cwd,
        env=cli_env(ROOT),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ---- typing in a terminal ----


def test_a_wrong_service_name_shows_its_rule_and_is_asked_again(tmp_path: Path) -> None:
    (tmp_path / "out" / "taken").mkdir(parents=True)
    term = Terminal(tmp_path / "out")
    _, field, default = term.next_question()
    assert (field, default) == ("service_name", COOKIECUTTER_JSON["service_name"])
    term.type("Payments API")
    shown, field, _ = term.next_question()
    rule = RULES_BY_FIELD["service_name"]
    assert field == "service_name", "a wrong name must be asked again"
    assert f"service_name: 'Payments API' is not valid. Rule: {rule.summary}." in shown
    assert f"Example: {rule.example}" in shown
    term.type("taken")  # a valid name, but its folder exists
    shown, field, _ = term.next_question()
    assert field == "service_name" and f"{tmp_path / 'out' / 'taken'} already exists" in shown
    # Negative control: a good name is taken, and no rule is shown.
    term.type("orders")
    shown, field, _ = term.next_question()
    assert field == "description"
    assert "Rule:" not in shown
    status, _ = term.interrupt()
    assert status == 130 and leftovers(tmp_path / "out") == ["taken"]


def test_typed_jinja_is_refused_and_never_evaluated(tmp_path: Path) -> None:
    term = Terminal(tmp_path / "out", "service_name=orders", "workload_name=orders")
    _, field, _ = term.next_question()
    assert field == "description", "an answer given as key=value is not asked"
    term.type("Orders {{ 7*7 }}")
    shown, field, _ = term.next_question()
    assert field == "description"
    assert "must not contain Jinja delimiters" in shown
    assert "49" not in shown
    # Negative control: the same text without delimiters is accepted.
    term.type("Orders 7*7")
    shown, field, _ = term.next_question()
    assert field == "owner" and "Jinja" not in shown
    term.interrupt()


@pytest.mark.parametrize(
    ("workload", "gitops", "alerting", "not_asked"),
    [
        ("deployment", "none", True, HELM_ONLY | GITOPS_ONLY | ROLLOUT_ONLY | HEALTH_DETAILS),
        ("helm", "flux", True, ROLLOUT_ONLY | HEALTH_DETAILS),
        ("helm", "argocd", False, FLUX_ONLY | ALERT_ANSWERS | HEALTH_DETAILS),
    ],
    ids=["deployment-none-alerts", "helm-flux-alerts", "helm-argocd-no-alerts"],
)
def test_only_the_questions_that_apply_are_asked_with_computed_defaults(
    tmp_path: Path, workload: str, gitops: str, alerting: bool, not_asked: set[str]
) -> None:
    name = "orders-svc"
    answers = {"service_name": name, "workload": workload, "gitops": gitops, "alerting": alerting}
    asked = answer_everything(Terminal(tmp_path), answers)
    fields = [field for field, _ in asked]
    assert fields == [f for f in QUESTIONS if f not in not_asked], "asked in cookiecutter's order"
    # Defaults computed from the answers typed before, as cookiecutter renders them.
    computed = {f: d for f, d in asked if "{{" in str(COOKIECUTTER_JSON[f])}
    assert computed, "no computed default was asked for"
    expected = cookiecutter_defaults(answers)
    for field, default in computed.items():
        assert default == expected[field], field
        assert "payments-api" not in default
    if workload == "helm":  # Flux's own release name, [<namespace>-]<name>, under Flux
        release = f"production-{name}" if gitops == "flux" else name
        assert dict(asked)["helm_release"] == release
    state = json.loads((tmp_path / name / ".cruft.json").read_text(encoding="utf-8"))
    rendered = state["context"]["cookiecutter"]
    assert (rendered["workload"], rendered["gitops"], rendered["alerting"]) == (
        workload,
        gitops,
        alerting,
    )
    assert (tmp_path / name / "monitoring" / "alerts.yaml").is_file() == alerting


def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    output = tmp_path / "new" / "services"
    term = Terminal(output)
    term.next_question()
    term.type("orders")
    term.next_question()
    status, text = term.interrupt()
    assert status == 130
    assert "Aborted: nothing was written." in text
    assert "Traceback" not in text
    assert leftovers(tmp_path) == []


def test_ctrl_c_while_rendering_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    output = tmp_path / "services"
    term = Terminal(output, "service_name=orders")
    # The questions cookiecutter.json's defaults leave (a Deployment, no GitOps, readiness, alerts).
    last = (
        len(
            [
                f
                for f in QUESTIONS
                if f not in HELM_ONLY | GITOPS_ONLY | ROLLOUT_ONLY | HEALTH_DETAILS
            ]
        )
        - 1
    )
    while True:  # Enter on every question; Ctrl-C right after the last one
        _, found = term.wait_for(QUESTION)
        term.type("")
        if int(found["number"]) == last:
            break
    term.child.sendintr()
    status, text = term.end()
    assert status == 130, text[-2000:]
    assert "Aborted: nothing was written." in text and "Traceback" not in text
    assert leftovers(tmp_path) == []


def test_an_interrupted_render_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C while cookiecutter writes (simulated at the worst moment: files are half made)."""
    from service_runbooks import cookiecutter_render

    real_render = cookiecutter_render.render

    def interrupted(template: Path, context: Mapping[str, object], staging: Path) -> Path:
        real_render(template, context, staging)
        raise KeyboardInterrupt

    monkeypatch.setattr(cookiecutter_render, "render", interrupted)
    output = tmp_path / "out" / "deeper"
    request = wizard.Request(output=output, pairs=["service_name=orders", *GIVEN], no_input=True)
    assert wizard.main(request) == 130
    assert leftovers(tmp_path) == []
    # Negative control: the checker sees what a run leaves.
    monkeypatch.setattr(cookiecutter_render, "render", real_render)
    assert wizard.main(request) == 0
    assert "out/deeper/orders/mkdocs.yml" in leftovers(tmp_path)


# ---- without a terminal ----


def test_every_problem_is_reported_at_once_and_nothing_is_written(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "owner: bad owner\nnamespace: 5\nservice_nam: typo\ngitops_app: '{{ 7*7 }}'\n",
        encoding="utf-8",
    )
    output = tmp_path / "out"
    result = run_new("--output", output, "--answers", answers, "service_name=Bad", "alerting=maybe")
    assert result.returncode == 2, result.stderr
    assert "6 problem(s) in the answers; nothing was written." in result.stderr
    for field in ("owner", "namespace", "service_nam", "gitops_app", "service_name", "alerting"):
        assert f": {field}: " in result.stderr, field
    assert "did you mean 'service_name'?" in result.stderr
    # A yes/no answer on the command line is told in command-line words, once.
    assert result.stderr.count(": alerting: ") == 1
    assert "alerting: 'maybe' is not a yes/no answer (1/true/t/yes/y/on/0/false" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()
    # Negative control: one problem is one line.
    one = run_new("--output", output, "owner=bad owner")
    assert one.returncode == 2 and "1 problem(s)" in one.stderr
    assert not output.exists()


def test_an_answers_file_problem_names_its_key_line_and_a_value_read_as_a_comment(
    tmp_path: Path,
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "service_name: orders\nincident_channel: #inc-orders\nownr: team-a\n", encoding="utf-8"
    )
    result = run_new("--output", tmp_path / "out", "--answers", answers, *GIVEN)
    assert result.returncode == 2, result.stderr
    assert (
        f"  - {answers} (line 2): incident_channel: is empty (null): YAML read '#inc-orders' as a "
        "comment (an unquoted # after a space starts one), so the key has no value; write it "
        'quoted: incident_channel: "#inc-orders"'
    ) in result.stderr
    assert f"  - {answers} (line 3): ownr: unknown key (did you mean 'owner'?); " in result.stderr
    assert "service_name, description" not in result.stderr  # the suggestion, not every name
    # Negative control: quoted, as the message says, it is accepted.
    answers.write_text('service_name: orders\nincident_channel: "#inc-orders"\n', "utf-8")
    result = run_new("--output", tmp_path / "out", "--answers", answers, *GIVEN)
    assert result.returncode == 0, result.stderr


def test_a_computed_default_that_breaks_its_rule_is_refused(tmp_path: Path) -> None:
    result = run_new("--output", tmp_path, "service_name=" + "a" * 63, "workload=helm")
    assert result.returncode == 2
    assert "helm_release:" in result.stderr and "the cookiecutter.json default" in result.stderr
    assert leftovers(tmp_path) == []
    # Negative control: the same name is fine where no Helm release is used; refused only as
    # an existing folder, which is checked before anything is rendered.
    (tmp_path / ("a" * 63)).mkdir()
    again = run_new("--output", tmp_path, "service_name=" + "a" * 63)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "helm_release" not in again.stderr
    assert leftovers(tmp_path) == ["a" * 63]


def answer_until(term: Terminal, last: str, value: object) -> None:
    """Enter (the default) at every question up to ``last``, which gets ``value``."""
    while True:
        _, field, _ = term.next_question()
        term.type(keystrokes(field, value if field == last else None))
        if field == last:
            return


# ---- a prompt that helps: a stable count, names for choices, near misses, next steps ----


def test_the_progress_count_is_stable_and_a_choice_takes_its_name(tmp_path: Path) -> None:
    """Each question shows its number and no total (the questions left depend on answers still
    to come: choosing Helm adds two); a choice is taken by its name in any case, and a name it
    nearly is offered as the default (Enter takes it). Negative control: a typo that is near no
    choice is asked again with the first choice offered."""
    term = Terminal(tmp_path, "service_name=orders")
    numbers, fields = [], []
    choice_shown = ""
    while True:
        _, found = term.wait_for(QUESTION)
        field = field_asked(found["question"])
        numbers.append(int(found["number"]))
        fields.append(field)
        if field == "lifecycle":
            choice_shown = found["question"]
            term.type("zzz")  # near no choice
            shown, field_again, default = term.next_question()
            assert field_again == "lifecycle" and "'zzz' is not one of the choices" in shown
            assert default == COOKIECUTTER_JSON["lifecycle"][0]
            term.type("Deprecated")  # the name, in another case
            continue
        if field == "workload":
            term.type("hlem")  # a near miss of a choice's name
            shown, field_again, default = term.next_question()
            assert field_again == "workload" and "did you mean 'helm'? Enter takes it" in shown
            assert default == "helm"
            term.type("")  # Enter: takes it
            continue
        if field == "helm_release":  # asked after GitOps, whose answers its default reads
            break
        term.type("")
    term.interrupt()
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert len(set(numbers)) == len(set(fields)), "one number per question, counted up by one"
    assert set(range(1, max(numbers) + 1)) == set(numbers)
    for option in COOKIECUTTER_JSON["lifecycle"]:
        assert option in choice_shown  # the names to type, beside the numbers
    assert "Choose a number or a name" in choice_shown
    assert "helm_release" in fields, "helm was taken: its questions are asked"


def questions_shown(term: Terminal, answers: Mapping[str, object], last: str) -> dict[str, str]:
    """Each question up to ``last`` as the screen shows it (its field: its text), ``answers``
    typed, Enter elsewhere."""
    shown = {}
    while True:
        _, found = term.wait_for(QUESTION)
        field = field_asked(found["question"])
        shown[field] = found["question"]
        term.type(keystrokes(field, answers.get(field)))
        if field == last:
            return shown


def prompt_problems(
    shown: Mapping[str, str], starts: Mapping[str, str], absent: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """Each question that does not start as ``starts`` says, or names what ``absent`` lists
    (the kinds and tools the earlier answers did not choose)."""
    problems = [
        f"{field}: {shown.get(field)!r} does not start {start!r}"
        for field, start in starts.items()
        if not str(shown.get(field)).startswith(start)
    ]
    return problems + [
        f"{field}: {shown[field]!r} names {word!r}"
        for field, words in absent.items()
        for word in words
        if word in shown[field]
    ]


# The questions a person reads after choosing the workload and GitOps, written from what they
# chose: a StatefulSet's name, the Flux HelmRelease (gitops_kind, asked before it), the Argo CD
# Application; and the kinds or tools they did not choose, which no question may name.
SPECIFIC_CASES = {
    "statefulset-none": (
        {"workload": "statefulset", "gitops": "none"},
        {"workload_name": "Name of the StatefulSet in the cluster"},
        {"workload_name": ("Deployment", "Rollout")},
    ),
    "deployment-argocd": (
        {"workload": "deployment", "gitops": "argocd"},
        {
            "workload_name": "Name of the Deployment in the cluster",
            "gitops_app": "Name of the Argo CD Application that deploys the service",
        },
        {"workload_name": ("StatefulSet", "Rollout"), "gitops_app": ("Flux",)},
    ),
    "helm-flux": (
        {"workload": "helm", "gitops": "flux"},
        {
            "workload_name": "Name of the workload the Helm chart creates",
            "gitops_kind": question_text("gitops_kind"),
            "gitops_app": "Name of the Flux HelmRelease that deploys the service",
            "flux_namespace": "Namespace of the Flux HelmRelease orders",
            "helm_release": "Name of the Helm release the Flux HelmRelease orders installs",
            "chart_workload": "The Deployment or StatefulSet the Helm chart of release "
            "production-orders creates",
        },
        {
            "gitops_app": ("Argo CD", "Kustomization"),
            "flux_namespace": ("Argo CD", "Kustomization"),
            "helm_release": ("Argo CD", "Kustomization"),
        },
    ),
}


@pytest.mark.parametrize("case", list(SPECIFIC_CASES))
def test_a_question_names_what_earlier_answers_chose(tmp_path: Path, case: str) -> None:
    """After workload=statefulset the name question asks for the StatefulSet's; after Flux
    (and gitops_kind, now asked first) the object question for the Flux HelmRelease, and the
    Flux namespace, Helm release and chart questions name it. Negative control: cookiecutter's
    own (generic) questions, which name every kind, fail the same check."""
    typed, starts, absent = SPECIFIC_CASES[case]
    term = Terminal(tmp_path, "service_name=orders")
    shown = questions_shown(term, typed, last=list(starts)[-1])
    term.interrupt()
    assert prompt_problems(shown, starts, absent) == []
    fields = list(shown)
    assert fields.index("workload") < fields.index("workload_name"), "the deciding one first"
    if "gitops_kind" in fields:
        assert fields.index("gitops_kind") < fields.index("gitops_app")
    generic = {field: question_text(field) for field in shown}
    failing = {problem.split(":")[0] for problem in prompt_problems(generic, starts, absent)}
    assert failing == set(starts) - {"gitops_kind"}


@pytest.mark.parametrize(
    ("field", "typed", "fixed"),
    [
        ("incident_channel", "inc-orders", "#inc-orders"),
        ("backstage_url", "https://backstage.example.com/", "https://backstage.example.com"),
        ("github_repo", "https://github.com/acme/orders.git", "acme/orders"),
        ("slo_target", "99.95%", "99.95"),
    ],
)
def test_a_near_miss_is_offered_as_a_fix_that_enter_accepts(
    tmp_path: Path, field: str, typed: str, fixed: str
) -> None:
    assert wizard.near_miss(typed, lambda v: None if v == fixed else "no") == fixed
    term = Terminal(tmp_path, "service_name=orders")
    answer_until(term, field, typed)
    shown, asked, default = term.next_question()
    assert asked == field, f"{typed!r} must be refused and asked again"
    assert f"Did you mean {fixed!r}? Enter takes it" in shown
    assert default == fixed
    term.type("")  # Enter: the fix
    shown, asked, _ = term.next_question()
    assert asked != field and "Did you mean" not in shown
    term.interrupt()
    # Negative control: an answer like none of the slips gets no offer.
    assert wizard.near_miss("!!!", lambda v: "no") is None


def test_the_end_says_what_to_do_next_and_the_saved_answers_render_the_same(
    tmp_path: Path,
) -> None:
    asked = answer_everything(Terminal(tmp_path / "out", "service_name=orders"), {})
    assert asked
    saved = tmp_path / "out" / "orders.answers.yaml"
    assert saved.is_file()
    answers = yaml.safe_load(saved.read_text(encoding="utf-8"))
    state = json.loads((tmp_path / "out" / "orders" / ".cruft.json").read_text(encoding="utf-8"))
    assert answers == {k: v for k, v in state["context"]["cookiecutter"].items() if k in answers}
    assert "helm_release" not in answers, "only the answers its pages use"
    # The saved file renders the same service, without a question (and as a fleet entry).
    again = run_new("--output", tmp_path / "again", "--answers", saved)
    assert again.returncode == 0, again.stderr
    assert tree_differences(tmp_path / "out" / "orders", tmp_path / "again" / "orders") == []
    assert f"  1. Preview the runbooks: mkdocs serve -f {tmp_path / 'again' / 'orders'}" in (
        again.stdout
    )
    assert "  2. Register it in Backstage: push orders/ to its repository, then register the" in (
        again.stdout
    )
    assert "orders/catalog-info.yaml" in again.stdout
    kept = tmp_path / "again" / "orders.answers.yaml"
    assert f"  3. Answers saved in {kept}: run again with service-runbooks new --answers" in (
        again.stdout
    )
    assert "fleet file for service-runbooks render" in again.stdout
    # Negative control: an answers file already there is left as it is, and said so.
    shutil.rmtree(tmp_path / "again" / "orders")
    kept.write_text("# mine\n", encoding="utf-8")
    third = run_new("--output", tmp_path / "again", "--answers", saved)
    assert third.returncode == 0, third.stderr
    assert kept.read_text(encoding="utf-8") == "# mine\n"
    assert f"Answers not saved: a file is already at {kept}" in third.stdout


@pytest.mark.parametrize(
    ("workload", "in_file", "refused"),
    [("helm", False, True), ("deployment", False, False), ("helm", True, False)],
    ids=["helm", "deployment", "helm-replaced-on-the-line"],
)
def test_a_given_answer_put_to_use_by_a_typed_one_is_checked_at_once(
    tmp_path: Path, workload: str, in_file: bool, refused: bool
) -> None:
    """helm_release=BAD_ is unused until the workload typed is helm: then it is refused at
    once, not after the questions left. Negative controls: with a Deployment it is never used;
    BAD_ in the answers file but a good release on the command line (which wins) is fine. Either
    way the next question comes."""
    given = ["service_name=orders", "helm_release=BAD_"]
    if in_file:
        answers = tmp_path / "answers.yaml"
        answers.write_text("helm_release: BAD_\n", encoding="utf-8")
        given = ["--answers", str(answers), "service_name=orders", "helm_release=orders-v2"]
    term = Terminal(tmp_path / "out", *given)
    answer_until(term, "workload", workload)
    if refused:
        status, text = term.end()
        tail = text[term.read_to :]
        assert status == 2, tail
        assert f"{wizard.COMMAND_LINE}: helm_release: 'BAD_'" in tail
        assert "1 problem(s)" in tail and "nothing was written" in tail
        assert QUESTION.search(tail) is None  # no question after the workload's
    else:
        _, field, _ = term.next_question()
        assert field == "workload_name"  # the question after the workload's (and Helm's)
        status, _ = term.interrupt()
        assert status == 130
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text",
    ["services: [", "- a list\n", "owner: a\nowner: b\n"],
    ids=["not-yaml", "not-a-mapping", "duplicate-key"],
)
def test_an_unreadable_answers_file_is_refused(tmp_path: Path, text: str) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(text, encoding="utf-8")
    result = run_new("--output", tmp_path / "out", "--answers", answers)
    assert result.returncode == 2
    assert f"  - {answers}: " in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_existing_service_folder_or_link_is_never_written_over(tmp_path: Path) -> None:
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "notes.md").write_text("mine\n", encoding="utf-8")
    (tmp_path / "ledger").symlink_to(tmp_path / "nowhere")  # a dangling link counts
    for name in ("orders", "ledger"):
        result = run_new("--output", tmp_path, f"service_name={name}")
        assert result.returncode == 2 and "already exists" in result.stderr, result.stderr
    assert leftovers(tmp_path) == ["ledger", "orders", "orders/notes.md"]
    assert not (tmp_path / "nowhere").exists()
    # An output folder that is a file is refused by name.
    result = run_new("--output", tmp_path / "orders" / "notes.md", "service_name=x")
    assert (
        result.returncode == 2 and "--output:" in result.stderr and "not a folder" in result.stderr
    )
    assert (tmp_path / "orders" / "notes.md").read_text(encoding="utf-8") == "mine\n"


# ---- the same service as cookiecutter ----


def cookiecutter_cli(answers: Mapping[str, object], output: Path, home: Path) -> Path:
    """The real ``cookiecutter --no-input`` CLI with ``answers`` as key=value; its replay file."""
    home.mkdir()
    config = cookiecutter_config(home)
    pairs = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in answers.items()]
    subprocess.run(
        [tool("cookiecutter"), "--no-input", "--config-file", config, "-o", output, ROOT, *pairs],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return home / "replay" / f"{ROOT.name}.json"


def cruft_differences(state: Mapping[str, object], replay: Mapping[str, object]) -> list[str]:
    """How a .cruft.json's answers differ from what cookiecutter rendered (its replay file),
    apart from the keys that describe one run."""
    ours = dict(state["context"]["cookiecutter"])  # type: ignore[index]
    theirs = dict(replay["cookiecutter"])  # type: ignore[arg-type]
    run = {"_template", "_output_dir", "_repo_dir", "_checkout", "_commit"}
    return sorted(k for k in (set(ours) | set(theirs)) - run if ours.get(k) != theirs.get(k))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_new_writes_what_cookiecutter_writes(tmp_path: Path, example: Path) -> None:
    answers = yaml.safe_load(example.read_text(encoding="utf-8"))
    name = answers["service_name"]
    result = run_new("--output", tmp_path / "ours", "--answers", example)
    assert result.returncode == 0, result.stderr
    ours = tmp_path / "ours" / name
    replay = cookiecutter_cli(answers, tmp_path / "theirs", tmp_path / "home")
    theirs = tmp_path / "theirs" / name
    assert files_in(theirs), "cookiecutter rendered nothing"
    assert tree_differences(ours, theirs, ignore=frozenset({".cruft.json"})) == []
    assert not (theirs / ".cruft.json").exists()
    # .cruft.json: cookiecutter's rendered answers, this template and its commit.
    state = json.loads((ours / ".cruft.json").read_text(encoding="utf-8"))
    assert cruft_differences(state, json.loads(replay.read_text(encoding="utf-8"))) == []
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (state["template"], state["commit"]) == (str(ROOT), head)
    assert state["context"]["cookiecutter"]["_commit"] == head


def test_cruft_accepts_the_cruft_json_of_a_service_made_in_the_current_folder(
    tmp_path: Path,
) -> None:
    result = run_new("--answers", EXAMPLES[0], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    service = tmp_path / yaml.safe_load(EXAMPLES[0].read_text())["service_name"]
    cruft = tool("cruft")
    subprocess.run([cruft, "check"], cwd=service, check=True, capture_output=True)
    # Negative control: a .cruft.json from another commit is reported as behind.
    state = json.loads((service / ".cruft.json").read_text(encoding="utf-8"))
    state["commit"] = state["context"]["cookiecutter"]["_commit"] = "0" * 40
    (service / ".cruft.json").write_text(json.dumps(state), encoding="utf-8")
    assert subprocess.run([cruft, "check"], cwd=service, capture_output=True).returncode != 0


def test_the_checkers_catch_a_different_tree_and_cruft_json(tmp_path: Path) -> None:
    """Negative controls of the identity checks, on a tree `new` rendered."""
    result = run_new("--output", tmp_path / "a", "service_name=orders", "alerting=false", *GIVEN)
    assert result.returncode == 0, result.stderr
    a = tmp_path / "a" / "orders"
    b = tmp_path / "b"
    shutil.copytree(a, b, symlinks=True)
    assert tree_differences(a, b) == []
    (b / "mkdocs.yml").write_bytes((b / "mkdocs.yml").read_bytes() + b" ")
    (b / "scripts" / "status.sh").chmod(0o644)
    (b / "extra.md").write_text("x", encoding="utf-8")
    assert tree_differences(a, b) == ["extra.md", "mkdocs.yml", "scripts/status.sh"]
    state = json.loads((a / ".cruft.json").read_text(encoding="utf-8"))
    replay = {"cookiecutter": {**state["context"]["cookiecutter"], "_output_dir": "elsewhere"}}
    assert cruft_differences(state, replay) == []
    replay["cookiecutter"]["owner"] = "someone-else"
    assert cruft_differences(state, replay) == ["owner"]


def test_an_output_folder_that_cannot_be_made_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    result = run_new("--no-input", "--output", tmp_path / "a-file" / "services", *GIVEN)
    assert result.returncode == 1, result.stderr
    assert "Not a directory" in result.stderr and "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    # Negative control: beside the file, the same command renders the service.
    made = run_new("--no-input", "--output", tmp_path / "services", *GIVEN)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "services" / "payments-api" / "mkdocs.yml").is_file()


# ---- the deciding facts: given, never a default ----


@pytest.mark.parametrize("how", ["--no-input", "--answers"])
def test_without_input_the_deciding_facts_must_be_given(tmp_path: Path, how: str) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("service_name: orders\nowner: team-a\n", encoding="utf-8")
    args = ["--no-input", "service_name=orders"] if how == "--no-input" else ["--answers", answers]
    result = run_new("--output", tmp_path / "out", *args)
    assert result.returncode == 2, result.stderr
    assert f"{len(NAME_ONLY_LACKS)} problem(s) in the answers; nothing was written." in (
        result.stderr
    )
    for field in NAME_ONLY_LACKS:
        assert f"  - answers: {field}: is not given (as key=value, in --answers FILE" in (
            result.stderr
        )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    # Negative control: the same command with the facts given renders the service.
    given = run_new("--output", tmp_path / "out", *args, *GIVEN)
    assert given.returncode == 0, given.stderr
    assert (tmp_path / "out" / "orders" / "mkdocs.yml").is_file()


def test_an_answers_file_may_say_where_its_answers_were_read(tmp_path: Path) -> None:
    """Its sources: is checked as a fleet entry's, and never reaches cookiecutter."""
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "service_name: orders\nsources:\n  namespace: 'k8s/ns.yaml: Namespace/shop'\n"
        "  namspace: 'typo'\n",
        encoding="utf-8",
    )
    result = run_new("--output", tmp_path / "out", "--answers", answers, *GIVEN)
    assert result.returncode == 2 and "sources.namspace: is not an answer's name" in result.stderr
    answers.write_text(answers.read_text().replace("  namspace: 'typo'\n", ""), "utf-8")
    result = run_new("--output", tmp_path / "out", "--answers", answers, *GIVEN)
    assert result.returncode == 0, result.stderr
    state = json.loads((tmp_path / "out" / "orders" / ".cruft.json").read_text(encoding="utf-8"))
    assert "sources" not in state["context"]["cookiecutter"]


# ---- new --from: discovery first, only the rest asked ----


TAKE_THESE = re.compile(r"Take these derived answers\? \[Y/n/edit\][^\n]*: $")


@dataclass(frozen=True)
class FromRun:
    """One ``new --from`` run: the workload's discovered answers, the block shown before "Take
    these?", each question asked (its default, what was shown before it) and their numbers."""

    found: ServiceAnswers
    block: str
    asked: dict[str, str]
    shown_before: dict[str, str]
    numbers: list[int]


def ask_from_statefulset(tmp_path: Path, reply: str) -> FromRun:
    """``new --from`` the statefulset fixture (two StatefulSets: the person picks the second),
    replying ``reply`` to "Take these?" and Enter to every question after it."""
    from service_runbooks.discovery import discover

    source = DISCOVERY_FIXTURES / "statefulset"
    archive = next(s for s in discover([source]).services if s.name == "ledger-archive")
    term = Terminal(tmp_path / "out", "--from", str(source), "alerting=false")
    before, _ = term.wait_for(re.compile(r"Choose from \[1/2\] \(1\): $"))
    assert "which one is this service?" in before
    assert "StatefulSet/ledger in payments" in before
    assert "StatefulSet/ledger-archive in payments" in before
    term.type("2")
    block, _ = term.wait_for(TAKE_THESE)
    term.type(reply)
    asked: dict[str, str] = {}
    shown_before: dict[str, str] = {}
    numbers: list[int] = []
    either = re.compile(f"{QUESTION.pattern}|{RENDERED.pattern}")
    while True:
        before, found = term.wait_for(either)
        if found["path"] is not None:
            break
        field = field_asked(found["question"])
        asked[field], shown_before[field] = found["default"], before
        numbers.append(int(found["number"]))
        term.type("")  # Enter: the default
    status, _ = term.end()
    assert status == 0
    rendered = json.loads(
        (tmp_path / "out" / "ledger-archive" / ".cruft.json").read_text(encoding="utf-8")
    )["context"]["cookiecutter"]
    assert {f: rendered[f] for f in archive.answers} == archive.answers
    return FromRun(archive, block, asked, shown_before, numbers)


def test_from_shows_the_derived_answers_with_their_sources_and_asks_only_the_rest(
    tmp_path: Path,
) -> None:
    """Enter at "Take these?" takes every derived answer: none of their questions is asked
    (a question for a derived answer fails this test), the questions left are numbered from 1."""
    run = ask_from_statefulset(tmp_path, "")
    derived = run.found.answers
    assert derived, "nothing derived: the fixture no longer tests --from"
    for field, value in derived.items():
        assert f"{field}: {value}  <- {run.found.sources[field]}" in run.block, field
    derived_asked = sorted(set(run.asked) & set(derived))
    assert not derived_asked, f"derived answers asked again: {derived_asked}"
    assert run.asked, "every answer was derived: nothing left to ask"
    assert run.numbers == list(range(1, len(run.asked) + 1))
    for field in run.asked:
        assert " read from " not in run.shown_before[field], field


def test_from_a_taken_answer_that_fails_its_check_is_asked(tmp_path: Path) -> None:
    """A derived answer taken with Enter still goes through the checks a typed one does: the
    derived service_name whose folder exists is asked, with why; the other derived ones are
    not (negative control: test_from_shows_the_derived_answers_...)."""
    source = DISCOVERY_FIXTURES / "statefulset"
    (tmp_path / "out" / "ledger-archive").mkdir(parents=True)
    term = Terminal(tmp_path / "out", "--from", str(source), "--workload", "ledger-archive")
    term.wait_for(TAKE_THESE)
    term.type("")
    shown, field, default = term.next_question()
    assert (field, default) == ("service_name", "ledger-archive")
    assert f"{tmp_path / 'out' / 'ledger-archive'} already exists" in shown
    term.type("ledger-archive-2")
    _, field, _ = term.next_question()
    assert field not in {"workload_name", "namespace", "workload", "app_label_selector"}
    term.interrupt()


def test_from_edit_asks_the_derived_answers_too_with_their_values_as_defaults(
    tmp_path: Path,
) -> None:
    """``edit`` at "Take these?": each derived answer is asked, its value the default (Enter
    keeps it) with its source shown above; the others are asked with cookiecutter's defaults."""
    run = ask_from_statefulset(tmp_path, "edit")
    for field, value in run.found.answers.items():
        assert field in run.asked, field
        source = run.found.sources[field]
        assert f"{field} read from {source}" in run.shown_before[field], field
        assert run.asked[field] == value, field  # a choice's default is shown by its name
    underived = [f for f in run.asked if f not in run.found.answers]
    assert underived, "every answer was derived: nothing left to ask"
    for field in underived:
        assert " read from " not in run.shown_before[field], field


def test_from_without_a_terminal_takes_the_derived_answers_and_refuses_the_missing_ones(
    tmp_path: Path,
) -> None:
    source = DISCOVERY_FIXTURES / "statefulset"
    several = run_new("--output", tmp_path / "out", "--from", source)
    assert several.returncode == 2 and "Pick one with --workload NAME" in several.stderr
    # gitops is not derived from these sources (no GitOps object): refused, never guessed.
    result = run_new("--output", tmp_path / "out", "--from", source, "--workload", "ledger")
    assert result.returncode == 2, result.stderr
    assert "answers: gitops: is not given" in result.stderr
    assert "namespace:" not in result.stderr.split("problem(s)")[1]  # derived: not missing
    assert not (tmp_path / "out").exists()
    given = run_new(
        "--output", tmp_path / "out", "--from", source, "--workload", "ledger", "gitops=none"
    )
    assert given.returncode == 0, given.stderr
    state = json.loads((tmp_path / "out" / "ledger" / ".cruft.json").read_text(encoding="utf-8"))
    assert state["context"]["cookiecutter"]["namespace"] == "payments"
    assert state["context"]["cookiecutter"]["app_label_selector"] == "app=ledger,tier=db"
    # A bad source is one message, exit 2, nothing written.
    bad = run_new("--output", tmp_path / "other", "--from", tmp_path / "nowhere", *GIVEN)
    assert bad.returncode == 2 and "nowhere: does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "other").exists()
