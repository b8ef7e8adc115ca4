"""Jinja extensions cookiecutter loads for this template (``_extensions`` in cookiecutter.json)."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

TEMPLATE_DIR = Path(__file__).resolve().parent
# The folder cookiecutter renders into the project folder, named by a template.
SKELETON = next(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir() and "{{" in p.name)


class TemplateDirExtension(Extension):
    """Gives templates ``template_dir``: this template's absolute folder.

    Cookiecutter's ``_repo_dir`` is relative when the template was given as a relative path, and
    hooks run from the new project's folder, so the hook would not find the rules module.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = str(TEMPLATE_DIR)


class InvalidAnswers(FailedHookException):
    """Answers refused before the project folder exists.

    A subclass of the hook's exception, so callers see what a refusing hook gives them, and
    cookiecutter's command line prints the message and exits 1 without a traceback (it catches
    FailedHookException; cookiecutter/cli.py).
    """


class RefuseBadAnswersExtension(Extension):
    """Check every answer while cookiecutter renders the project folder's name.

    Cookiecutter 2.7 creates the project folder (parents included, for a name holding '/')
    before the pre-generate hook runs, and a refusing hook removes only the last part
    (cookiecutter/generate.py, ``render_and_create_dir``). Rendering the name comes first, so a
    check there leaves nothing on disk. The hook checks again (cruft renders without it).
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["_refuse_bad_answers"] = _refuse_bad_answers

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        # The folder name is rendered from a string (no template name); nothing else is.
        if name is None and source == SKELETON:
            return "{{ _refuse_bad_answers() }}" + source
        return source


_PAGE_END = re.compile(r"\.md(\{%[^%]*%\})?$")


class PhoneLinesExtension(Extension):
    """Breaks the long commands of every page of the service's site for a phone, in one place:
    each ``docs/**.md`` template renders inside ``{% filter phone_lines %}``, whichever macro
    printed its commands (``service_runbooks.phone_lines`` says how and at what width)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        sys.path.insert(0, str(TEMPLATE_DIR / "src"))
        try:
            from service_runbooks.phone_lines import fold_page
        finally:
            sys.path.remove(str(TEMPLATE_DIR / "src"))
        environment.filters["phone_lines"] = fold_page

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        # The filter tags go on the first and last lines, so error line numbers stay the page's.
        # An optional page's name ends in its condition: docs/alerts/{% if ... %}x.md{% endif %}.
        if name is not None and name.startswith("docs/") and _PAGE_END.search(name):
            return "{% filter phone_lines %}" + source + "{% endfilter %}"
        return source


@pass_context
def _refuse_bad_answers(context: Context) -> str:
    answers: Mapping[str, Any] = context.get("cookiecutter") or {}
    given: Mapping[str, Any] = context.get("_cookiecutter") or {}
    sys.path.insert(0, str(TEMPLATE_DIR / "src"))
    try:
        from service_runbooks.rules import refusal
    finally:
        sys.path.remove(str(TEMPLATE_DIR / "src"))
    if (message := refusal(answers, given)) is not None:
        raise InvalidAnswers(message)
    output = answers.get("_output_dir")
    if isinstance(output, str) and Path(output).exists() and not Path(output).is_dir():
        raise InvalidAnswers(
            f"ERROR: --output-dir: {output} is not a folder; nothing was generated."
        )
    return ""
