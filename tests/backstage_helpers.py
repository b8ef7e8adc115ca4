"""Shared by the Backstage tests: template.yaml as data, its form checked by Backstage's own
validators (tests/node/form-check.mjs), and its ``${{ }}`` expressions rendered for given answers
by npm's nunjucks configured as Backstage's scaffolder configures it
(tests/node/render-template.mjs)."""

from __future__ import annotations

import atexit
import json
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from matrix import ROOT
from tools import tool

TEMPLATE_PATH = ROOT / "template.yaml"
FORM_CHECK = ROOT / "tests" / "node" / "form-check.mjs"
RENDER_TEMPLATE = ROOT / "tests" / "node" / "render-template.mjs"
NODE_VALIDATOR = ROOT / "tests" / "node" / "validate-entity.mjs"
REPO_URL = "github.com?owner=acme&repo=payments-api-runbooks"
# What a person must type because the form has no default for it: the repository, the review
# date (cookiecutter's default is today, which a form cannot compute), the owner (the form
# requires it: the catalog entry is written only with one) and the facts that decide which
# commands the pages give (rules.Rule.deciding, used by default: chosen here as cookiecutter's
# defaults, so the form's answers stay comparable with a plain cookiecutter render).
TYPED_BY_HAND = {
    "repoUrl": REPO_URL,
    "reviewed_on": "2026-11-02",
    "owner": "team-payments",
    "workload_name": "payments-api",
    "namespace": "production",
    "workload": "deployment",
    "health_check": "readiness",
    "migration_tool": "none",
    "gitops": "none",
}


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def form_properties(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every field of every page, by name."""
    return {
        name: schema
        for page in template["spec"]["parameters"]
        for name, schema in page["properties"].items()
    }


def form_defaults(template: dict[str, Any]) -> dict[str, Any]:
    """What the form holds once the fields without a default are typed in (TYPED_BY_HAND)."""
    defaults = {
        name: schema["default"]
        for name, schema in form_properties(template).items()
        if "default" in schema
    }
    return {**defaults, **TYPED_BY_HAND}


def fetch_step(template: dict[str, Any]) -> dict[str, Any]:
    [step] = [s for s in template["spec"]["steps"] if s["action"] == "fetch:cookiecutter"]
    return step


def fetch_input(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """The fetch:cookiecutter step's input as Backstage renders it for these form answers."""
    [step_input] = fetch_inputs(template, [parameters])
    return step_input


def fetch_inputs(template: dict[str, Any], batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fetch step's input for each set of answers, in one exchange with Node."""
    step_input = fetch_step(template)["input"]
    rendered = nunjucks().render_many([(step_input, parameters) for parameters in batch])
    return [item.checked() for item in rendered]


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()  # rendered to undefined: Backstage drops the key


class RenderError(AssertionError):
    """Backstage would log this, or silently keep the raw template string."""


@dataclass(frozen=True)
class Rendered:
    value: Any  # ABSENT when the value rendered to undefined
    errors: tuple[str, ...]

    def checked(self) -> Any:
        """The value, or RenderError when Backstage could not render part of it."""
        if self.errors:
            raise RenderError("\n".join(self.errors))
        return self.value


@dataclass(frozen=True)
class TaskRun:
    inputs: dict[str, Any]  # by step id
    output: Any
    errors: tuple[str, ...]


class Nunjucks:
    """One Node process rendering with npm's nunjucks as the scaffolder does, a line per batch."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [tool("node"), str(RENDER_TEMPLATE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            cwd=ROOT,
        )

    def exchange(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One line out, one line back: Node answers only once it has read the whole line."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps({"requests": requests}) + "\n")
        stdin.flush()
        line = stdout.readline()
        assert line, "render-template.mjs exited"
        reply = json.loads(line)
        assert "error" not in reply, reply["error"]
        return reply["answers"]

    def render_many(
        self,
        batch: list[tuple[Any, dict[str, Any]]],
        steps: dict[str, dict[str, Any]] | None = None,
    ) -> list[Rendered]:
        """Each (value, form answers) rendered as a step's input, optionally with ``steps``
        (``{id: {"output": {...}}}``) from earlier steps."""
        answers = self.exchange(
            [{"render": value, "parameters": p, "steps": steps or {}} for value, p in batch]
        )
        return [
            Rendered(ABSENT if a.get("absent") else a["value"], tuple(a["errors"])) for a in answers
        ]

    def render(self, value: Any, parameters: dict[str, Any]) -> Rendered:
        [rendered] = self.render_many([(value, parameters)])
        return rendered

    def run_task(
        self,
        template: dict[str, Any],
        parameters: dict[str, Any],
        step_outputs: dict[str, dict[str, Any]],
    ) -> TaskRun:
        """Every step's input rendered in order, as if each step produced ``step_outputs[id]``,
        then the template's output."""
        spec = {"steps": template["spec"]["steps"], "output": template["spec"].get("output", {})}
        [answer] = self.exchange(
            [{"task": spec, "parameters": parameters, "stepOutputs": step_outputs}]
        )
        return TaskRun(answer["inputs"], answer["output"], tuple(answer["errors"]))

    def parse_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """nunjucks' parse tree of each template string (RenderError when it does not parse)."""
        answers = self.exchange([{"parse": text} for text in texts])
        for text, answer in zip(texts, answers, strict=True):
            if "error" in answer:
                raise RenderError(f"{text!r}: {answer['error']}")
        return [answer["ast"] for answer in answers]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


_ENGINE: list[Nunjucks] = []


def nunjucks() -> Nunjucks:
    """The test process's one renderer, started on first use and closed at exit."""
    if not _ENGINE:
        _ENGINE.append(Nunjucks())
        atexit.register(_ENGINE[0].close)
    return _ENGINE[0]


@dataclass(frozen=True)
class Verdict:
    server: bool  # scaffolder-backend's check of a new task (jsonschema)
    browser: bool  # the form's check (ajv 8)
    errors: tuple[str, ...]


class FormChecker:
    """One Node process that validates answers against template.yaml's pages, line by line."""

    def __init__(self, template: Path = TEMPLATE_PATH) -> None:
        self.process = subprocess.Popen(
            [tool("node"), str(FORM_CHECK), str(template)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            cwd=ROOT,
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        header = self.process.stdout.readline()
        assert header, "form-check.mjs failed to start"
        self.summary: dict[str, Any] = json.loads(header)

    def check(self, values: dict[str, Any]) -> Verdict:
        """One set of answers, with the validators' messages."""
        [verdict] = self.check_many([values], explain=True)
        return verdict

    def check_many(self, batch: list[dict[str, Any]], *, explain: bool = False) -> list[Verdict]:
        """Many sets of answers in one exchange (a round trip per answer is slow on a busy
        machine). A thread writes while this one reads, so neither pipe can fill up."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        lines = "".join(json.dumps({"values": v, "explain": explain}) + "\n" for v in batch)

        def write() -> None:
            stdin.write(lines)
            stdin.flush()

        writer = threading.Thread(target=write)
        writer.start()
        answers = [json.loads(stdout.readline()) for _ in batch]
        writer.join()
        return [Verdict(a["server"], a["browser"], tuple(a["errors"])) for a in answers]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def validate_entities(files: list[Path]) -> list[dict]:
    result = subprocess.run(
        [tool("node"), str(NODE_VALIDATOR), *map(str, files)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)
