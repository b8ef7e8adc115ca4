"""Shared by the Backstage tests: template.yaml as data, its form checked by Backstage's own
validators (tests/node/form-check.mjs), and its step input evaluated for given answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from matrix import ROOT
from nunjucks_subset import render_input

TEMPLATE_PATH = ROOT / "template.yaml"
FORM_CHECK = ROOT / "tests" / "node" / "form-check.mjs"
REPO_URL = "github.com?owner=acme&repo=payments-api-runbooks"
# What a person must type because the form has no default for it: the repository, and the
# review date (cookiecutter's default is today, which a form cannot compute).
TYPED_BY_HAND = {"repoUrl": REPO_URL, "reviewed_on": "2026-11-02"}


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
    return render_input(fetch_step(template)["input"], {"parameters": parameters})


@dataclass(frozen=True)
class Verdict:
    server: bool  # scaffolder-backend's check of a new task (jsonschema)
    browser: bool  # the form's check (ajv 8)
    errors: tuple[str, ...]


class FormChecker:
    """One Node process that validates answers against template.yaml's pages, line by line."""

    def __init__(self, template: Path = TEMPLATE_PATH) -> None:
        node = shutil.which("node")
        assert node is not None, "node is not installed"
        self.process = subprocess.Popen(
            [node, str(FORM_CHECK), str(template)],
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
