"""Cookiecutter's own machinery, driven once per service: by ``new``, and by ``render`` inside
its worker processes.

``prepare`` builds the context exactly as ``cookiecutter.main.cookiecutter`` does for
``cookiecutter --no-input --default-config TEMPLATE key=value...`` (generate_context, the
``_cookiecutter`` copy, prompt_for_config, the run keys) and checks the rendered answers with
the same rules as the hook. ``render`` hands that context to ``generate_files``, hooks
included. In the fleet's workers (``fleet/render.py``), the speed patches change how work is
done, never what is produced:

* Jinja compiles each template once per worker instead of once per service, and runs each
  module the pages import with context (commands, engines, alerts) once per service instead of
  once per page; each template file is sniffed for binary content once (``patches``).
* A Python hook of *this* template runs inside the worker instead of in a new interpreter
  (``patches.run_script_in_process``). It is the hook's own code, so its checks are the hook's
  checks, byte for byte.
"""

from __future__ import annotations

import io
import os
import sys
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import CookiecutterException
from cookiecutter.generate import generate_context, generate_files
from cookiecutter.prompt import prompt_for_config

from service_runbooks import patches, rules
from service_runbooks.errors import RenderError
from service_runbooks.rules import Problem, validate


def owns_rules(template: Path) -> bool:
    """True when ``template``'s hook would import the rules module this process already has."""
    own = Path(rules.__file__).resolve()
    return own == (template / "src" / "service_runbooks" / "rules.py").resolve()


@contextmanager
def template_on_path(template: Path) -> Iterator[None]:
    """Make ``local_extensions`` importable, as cookiecutter's import patch does."""
    saved = list(sys.path)
    sys.path.insert(0, str(template))
    try:
        yield
    finally:
        sys.path[:] = saved


def build_context(
    template: Path, answers: Mapping[str, object], output_dir: Path
) -> OrderedDict[str, Any]:
    """The context cookiecutter's CLI builds for ``--no-input --default-config`` and ``answers``."""
    context = generate_context(
        context_file=str(template / "cookiecutter.json"),
        default_context={},
        extra_context=dict(answers),
    )
    context["_cookiecutter"] = {
        k: v for k, v in context["cookiecutter"].items() if not k.startswith("_")
    }
    with template_on_path(template):
        context["cookiecutter"].update(prompt_for_config(context, no_input=True))
    context["cookiecutter"]["_template"] = str(template)
    context["cookiecutter"]["_output_dir"] = os.path.abspath(output_dir)
    context["cookiecutter"]["_repo_dir"] = str(template)
    context["cookiecutter"]["_checkout"] = None
    return context


def template_module(template: Path, module_file: str, answers: Mapping[str, object]) -> Any:
    """One of the template's Jinja modules (``engines.jinja``...) as a page that imports it with
    context sees it, for these answers: run by cookiecutter's own environment (with
    cookiecutter.json's ``_extensions``) on the context its CLI builds. Nothing is written."""
    from cookiecutter.environment import StrictEnvironment
    from jinja2 import FileSystemLoader

    with template_on_path(template):
        context = build_context(template, answers, Path("."))
        env = StrictEnvironment(
            context=context,
            keep_trailing_newline=True,
            loader=FileSystemLoader(str(template / "{{cookiecutter.service_name}}")),
            **context["cookiecutter"]["_jinja2_env_vars"],
        )
        return env.get_template(module_file).make_module({"cookiecutter": context["cookiecutter"]})


def prepare(
    template: Path, answers: Mapping[str, object], output_dir: Path
) -> tuple[OrderedDict[str, Any] | None, list[Problem]]:
    """The rendered context and the rules' verdict on it (as the hook will judge it)."""
    try:
        context = build_context(template, answers, output_dir)
    except (CookiecutterException, ValueError) as error:
        return None, [Problem("answers", None, f"cookiecutter refused them: {error}", None)]
    return context, validate(context["cookiecutter"])


def render(template: Path, context: Mapping[str, Any], staging: Path) -> Path:
    """Render one service into ``staging`` (which must not hold it yet); its folder."""
    try:
        with template_on_path(template):
            project = generate_files(
                repo_dir=str(template),
                context=dict(context),
                output_dir=str(staging),
                accept_hooks=True,
            )
    except (CookiecutterException, OSError) as error:
        raise RenderError(str(error)) from error
    return Path(project)


def cruft_update(project: Path, commit: str, answers: Mapping[str, Any]) -> tuple[bool, str]:
    """``cruft update`` (3-way merge of the template's changes) with new answers; ok and log."""
    import cruft

    log = io.StringIO()
    with patches.cookiecutter_copy_for_cruft(), redirect_stdout(log), redirect_stderr(log):
        try:
            ok = cruft.update(
                project_dir=project,
                checkout=commit,
                skip_apply_ask=True,
                allow_untracked_files=True,
                extra_context=dict(answers),
            )
        except Exception as error:  # cruft raises many kinds; the log says which
            print(f"cruft update failed: {error}", file=sys.stderr)
            ok = False
    return ok, log.getvalue()
