"""MkDocs hooks of the project's own site (the top-level mkdocs.yml; not used by any service).

At every build (`make demo`, `make serve`, the tests):

- each example service's answers (`examples/services/<service>.yaml`) are checked and rendered
  from the template with cookiecutter into `build/examples/` (or
  ``$SERVICE_RUNBOOKS_EXAMPLES_OUT``); its docs join the site under `examples/<service>/`, in
  the nav of its own mkdocs.yml, so the examples never go stale;
- a line ``<!-- generated: NAME -->`` in a page is replaced by that generated block: the variable
  table and the validation rules (from rules.py), the table of alerts (from the template's
  alert entries), and the list of examples;
- a line ``<!-- include: FILE -->`` in a page is replaced by that Markdown file of the repository
  (README.md on the home page, CONTRIBUTING.md on "Contributing"), its links to repository files
  turned into links to the site pages that show them, so one text serves GitHub and the site.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cookiecutter.main import cookiecutter
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from service_runbooks.reference import alerts_table, rules_reference, variables_table
from service_runbooks.rules import RULES_BY_FIELD, TEMPLATE_ROOT, answer_problem, default_answer

EXAMPLES_DIR = TEMPLATE_ROOT / "examples" / "services"
OUTPUT_ENV = "SERVICE_RUNBOOKS_EXAMPLES_OUT"
DEFAULT_OUTPUT = TEMPLATE_ROOT / "build" / "examples"
SITE_FOLDER = "examples"  # where the examples' pages go in the site
NAV_SECTION = "Examples"  # the nav section (in mkdocs.yml) that gets one entry per example
log = logging.getLogger("mkdocs.hooks.examples")  # under "mkdocs", so `mkdocs build` shows it


@dataclass(frozen=True)
class Example:
    """One example service: its answers and the folder cookiecutter rendered it into."""

    answers_file: Path
    answers: dict[str, Any]
    folder: Path

    @property
    def name(self) -> str:
        return str(self.answers["service_name"])

    def answer(self, field: str) -> Any:
        """The answer given, or the template's default (the first choice of a list)."""
        return self.answers.get(field, default_answer(field))


def read_answers(path: Path) -> dict[str, Any]:
    """An example's answers; refuses what cookiecutter would silently drop or evaluate."""
    answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(answers, dict):
        raise ValueError(f"{path.name}: expected a mapping of answers")
    problems = [f"unknown answer {key!r}" for key in answers if key not in RULES_BY_FIELD]
    for field, value in answers.items():
        # Every answer held to its rule, used or not: an example shows only valid answers.
        problem = answer_problem(field, value) if field in RULES_BY_FIELD else None
        if problem is not None:
            problems.append(f"{field}: {value!r} {problem.reason}")
    if answers.get("service_name") != path.stem:
        problems.append(f"service_name must be {path.stem!r}, the file's name")
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))
    return answers


def render_service(answers: dict[str, Any], output: Path) -> Path:
    """Render one service with cookiecutter (its hook validates every answer) into output/."""
    target = output / str(answers["service_name"])
    if target.exists():
        shutil.rmtree(target)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "cookiecutter.yaml"  # keeps replay files out of $HOME
        config.write_text(
            yaml.safe_dump({"cookiecutters_dir": scratch, "replay_dir": scratch}),
            encoding="utf-8",
        )
        folder = cookiecutter(
            str(TEMPLATE_ROOT),
            no_input=True,
            extra_context=answers,
            output_dir=str(output),
            config_file=str(config),
        )
    return Path(folder)


def render_examples(examples_dir: Path, output: Path) -> list[Example]:
    """Every example of examples_dir, rendered; an example that does not render stops the build."""
    examples = []
    for answers_file in sorted(examples_dir.glob("*.yaml")):
        answers = read_answers(answers_file)
        try:
            folder = render_service(answers, output)
        except Exception as error:
            raise PluginError(f"example {answers_file.name} does not render: {error}") from error
        examples.append(Example(answers_file, answers, folder))
    if not examples:
        raise PluginError(f"no example answers (*.yaml) in {examples_dir}")
    return examples


def prefixed(nav: list[Any], prefix: str) -> list[Any]:
    """A service's own nav with every page moved under prefix/ (links to elsewhere kept)."""
    entries: list[Any] = []
    for entry in nav:
        title, value = next(iter(entry.items())) if isinstance(entry, dict) else (None, entry)
        if isinstance(value, list):
            value = prefixed(value, prefix)
        elif "://" not in value:
            value = f"{prefix}/{value}"
        entries.append(value if title is None else {title: value})
    return entries


def example_nav(example: Example) -> dict[str, list[Any]]:
    config = yaml.safe_load((example.folder / "mkdocs.yml").read_text(encoding="utf-8"))
    return {example.name: prefixed(config["nav"], f"{SITE_FOLDER}/{example.name}")}


def nav_section(nav: list[Any], title: str) -> list[Any]:
    for entry in nav:
        if isinstance(entry, dict) and isinstance(entry.get(title), list):
            return entry[title]
    raise PluginError(f"mkdocs.yml: the nav needs a section {title!r} (a list) for the examples")


def alerts_cell(example: Example) -> str:
    """How many alerts the example has, with a link to the first page (the nav lists all)."""
    pages = sorted((example.folder / "docs" / "alerts").glob("*.md"))
    if not pages:
        return "none"
    first = f"{example.name}/alerts/{pages[0].name}"
    return f"[{len(pages)} alerts]({first}), each with its page"


def examples_overview(examples: list[Example]) -> str:
    """The list of examples: what each one runs on, and how to render it yourself."""
    rows = [
        "| Service | Runs as | GitOps | Database migrations | TechDocs CI workflow | Alerts |",
        "|---|---|---|---|---|---|",
    ]
    for example in examples:
        cells = [
            f"[{example.name}]({example.name}/index.md)",
            f"`{example.answer('workload')}`",
            f"`{example.answer('gitops')}`",
            f"`{example.answer('migration_tool')}`",
            "yes" if example.answer("publish_techdocs") else "no",
            alerts_cell(example),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    details = []
    for example in examples:
        answers = [
            f"{key}={json.dumps(value) if isinstance(value, bool) else value}"
            for key, value in example.answers.items()
        ]
        command = " ".join(["cookiecutter --no-input ."] + [shlex.quote(a) for a in answers])
        source = f"examples/{example.answers_file.name}"
        details += [
            f'??? example "Render {example.name} yourself (`{source}`)"',
            "    ```bash",
            f"    {command}",
            "    ```",
            "",
        ]
    return "\n".join(rows) + "\n\n" + "\n".join(details)


INCLUDE = re.compile(r"^<!-- include: (?P<file>[^ ]+) -->$", re.MULTILINE)
# Code, which stays as it is (a fenced block, or an inline code span), or an inline Markdown link
# or image: [text](target) or [text](target "title").
CODE_OR_LINK = re.compile(
    r"(?P<code>^```.*?^```|`[^`\n]+`)"
    r"|(?P<head>!?\[[^\]\n]*\]\()(?P<target>[^)\s]+)(?P<tail>(?: \"[^\"\n]*\")?\))",
    re.MULTILINE | re.DOTALL,
)
URL_OR_ANCHOR = re.compile(r"[a-z][a-z0-9+.-]*:|#|/")
DOCS_FOLDER = "docs/"  # where the repository keeps the site's pages


def included_files(docs_dir: Path) -> dict[str, str]:
    """Each repository file a page includes, and that page (POSIX paths, the page's from docs/)."""
    pages = {}
    for markdown in sorted(docs_dir.rglob("*.md")):
        for match in INCLUDE.finditer(markdown.read_text(encoding="utf-8")):
            pages[match["file"]] = markdown.relative_to(docs_dir).as_posix()
    return pages


def site_page(path: str, included: dict[str, str]) -> str | None:
    """The site page (from docs/) that shows a repository file, or None when none does."""
    path = posixpath.normpath(path)
    if path.startswith(DOCS_FOLDER):
        return path.removeprefix(DOCS_FOLDER)
    return included.get(path)


def site_link(target: str, page: str, included: dict[str, str]) -> str | None:
    """A link of a repository-root file as the site page `page` must write it (None: no page)."""
    if URL_OR_ANCHOR.match(target):
        return target
    path, hash_, anchor = target.partition("#")
    found = site_page(path, included)
    if found is None:
        return None
    return posixpath.relpath(found, posixpath.dirname(page) or ".") + hash_ + anchor


def include(file: str, page: str, included: dict[str, str]) -> str:
    """A repository-root Markdown file's text for the site page `page`, its links relinked."""
    text = (TEMPLATE_ROOT / file).read_text(encoding="utf-8")

    def relink(match: re.Match[str]) -> str:
        if match["code"]:
            return match["code"]
        target = site_link(match["target"], page, included)
        if target is None:
            raise PluginError(
                f"{file} links to {match['target']!r}, which no page of the site shows: link a"
                f" page under {DOCS_FOLDER} or {', '.join(sorted(included))}, or write the path"
                " as code"
            )
        return match["head"] + target + match["tail"]

    return CODE_OR_LINK.sub(relink, text)


# Module state: the examples of the build in progress (MkDocs hooks are plain functions).
_examples: list[Example] = []

GENERATED: dict[str, Callable[[], str]] = {
    "variables": variables_table,
    "rules": rules_reference,
    "alerts": alerts_table,
    "examples": lambda: examples_overview(_examples),
}


def example_of(page: Page) -> str | None:
    """The example service a page belongs to, if it is one of theirs."""
    folder, _, rest = page.file.src_uri.partition("/")
    service = rest.split("/", 1)[0]
    return service if folder == SITE_FOLDER and service in {e.name for e in _examples} else None


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    output = Path(os.environ.get(OUTPUT_ENV) or DEFAULT_OUTPUT)
    _examples[:] = render_examples(EXAMPLES_DIR, output)
    log.info("Rendered %d example services from the template into %s", len(_examples), output)
    section = nav_section(config.nav or [], NAV_SECTION)
    names = {example.name for example in _examples}
    section[:] = [e for e in section if not (isinstance(e, dict) and next(iter(e)) in names)]
    section.extend(example_nav(example) for example in _examples)
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for example in _examples:
        docs = example.folder / "docs"
        for path in sorted(p for p in docs.rglob("*") if p.is_file()):
            uri = f"{SITE_FOLDER}/{example.name}/{path.relative_to(docs).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    # Every example has a "Rollback Procedure": tag its pages with the service's name, which
    # Material shows on the page and in each search result, so a reader knows whose it is.
    service = example_of(page)
    if service is not None:
        page.meta["tags"] = [service]
    if INCLUDE.search(markdown):
        included = included_files(Path(config.docs_dir))
        markdown = INCLUDE.sub(
            lambda match: include(match["file"], page.file.src_uri, included), markdown
        )
    for name, generate in GENERATED.items():
        marker = f"<!-- generated: {name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
