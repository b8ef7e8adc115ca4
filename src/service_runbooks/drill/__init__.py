"""``service-runbooks drill``: every read-only step of a service's runbook pages and scripts run
against its cluster, and every verb its changing steps need asked with ``kubectl auth can-i``;
with ``server_dry_run``, kubectl's changing steps sent as server dry runs. Nothing is changed.

- ``steps.py``: the commands of the rendered pages and scripts (the package's one parser), each
  named by the template's command table (``service_runbooks.command_table``), which says which
  ones change the cluster;
- ``access.py``: the requests a changing command sends, as can-i questions; the dry-run form;
- ``run.py``: running the steps, the tool's error of each failed one, the clients that ran them;
- ``report.py``: the JSON report and the summary; the latest drill of each service read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service_runbooks.drill.report import ServiceDrill
from service_runbooks.errors import DrillError


def rendered_answers(service: Path) -> dict[str, Any]:
    """The answers the service was rendered with (its ``.cruft.json``): what its pages say."""
    from service_runbooks.cruft_state import read_cruft_state

    state = read_cruft_state(service)
    answers = ((state or {}).get("context") or {}).get("cookiecutter")
    if not isinstance(answers, Mapping):
        raise DrillError(
            f"{service}: no .cruft.json with the answers it was rendered with (render it with "
            "`service-runbooks new` or `render`, which write it)"
        )
    return {k: v for k, v in answers.items() if not str(k).startswith("_")}


def service_folders(target: Path, output: Path | None = None) -> list[Path]:
    """The service folders a drill target names: one service folder (it holds docs/ and
    .cruft.json), a folder of them (``render``'s output), or a fleet file with ``output``."""
    if target.is_file():
        if output is None:
            raise DrillError(f"{target}: a fleet file needs --output, the folder `render` wrote")
        from service_runbooks.fleetfile import load_fleet

        return [output / entry.name for entry in load_fleet(target)]
    if not target.is_dir():
        raise DrillError(f"SERVICE_DIR|FLEET: {target} does not exist")
    if (target / ".cruft.json").is_file():
        return [target]
    found = sorted(p for p in target.iterdir() if (p / ".cruft.json").is_file())
    if not found:
        raise DrillError(
            f"{target}: neither a rendered service (no .cruft.json) nor a folder of them"
        )
    return found


def drill_service(
    service: Path,
    context: str | None,
    server_dry_run: bool = False,
    template: Path | None = None,
) -> ServiceDrill:
    """One service's drill. ``context``: None for the service's kube_context, else the
    kubeconfig's current context (read once)."""
    from cookiecutter.exceptions import CookiecutterException
    from jinja2 import TemplateError

    from service_runbooks.command_table import access_checks, page_table, script_table
    from service_runbooks.drill.run import Drill, current_context, ensure_kubectl
    from service_runbooks.template_source import TEMPLATE_ROOT

    ensure_kubectl()
    answers = rendered_answers(service)
    chosen = context or str(answers.get("kube_context") or "") or current_context()
    root = template or TEMPLATE_ROOT
    try:
        tables = {
            "page": page_table(root, answers),
            "script": script_table(root, answers),
            "access": access_checks(root, answers),
        }
    except (CookiecutterException, TemplateError, ValueError) as error:
        raise DrillError(
            f"{service}: this template cannot render its command table with the answers in "
            f".cruft.json ({type(error).__name__}: {error}); render the service again"
        ) from None
    return Drill(service, answers, chosen, server_dry_run).run(tables)
