"""Jinja extensions cookiecutter loads for this template (``_extensions`` in cookiecutter.json)."""

from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension


class TemplateDirExtension(Extension):
    """Gives templates ``template_dir``: this template's absolute folder.

    Cookiecutter's ``_repo_dir`` is relative when the template was given as a relative path, and
    hooks run from the new project's folder, so the hook would not find the rules module.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = str(Path(__file__).resolve().parent)
