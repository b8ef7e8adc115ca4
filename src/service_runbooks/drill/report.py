"""A drill's report: each step with its outcome, as JSON (``--report``) and as a summary; and
the latest drill of each service read back from a folder of reports (``build`` and ``index``
``--drill-reports``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from service_runbooks.errors import DrillReportError

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
REPORT_VERSION = 1
# The kinds of step: a read-only command run; a look-up of what a page's placeholder names; a
# can-i question; a changing command run as a server dry run; a changing command not run; a
# command the table has no entry for.
KINDS = ("read", "find", "access", "dry-run", "change", "unknown")


@dataclass
class Step:
    name: str  # the command table's entry (e.g. "history"), or the can-i question
    kind: str  # one of KINDS
    argv: list[str]  # what runs (or would run)
    where: list[str]  # page or script lines that hold it ("docs/runbooks/rollback.md:42")
    status: str = SKIPPED
    reason: str = ""  # why it failed (NotFound, Forbidden: ..., unknown flag) or was skipped
    error: str = ""  # the tool's own last words, when it failed
    client: str = ""  # the program that ran it, as it names itself (its version line)
    needed_by: list[str] = field(default_factory=list)  # access: the changing entries


@dataclass
class ServiceDrill:
    service: str
    context: str
    drilled_at: str  # ISO 8601, UTC
    server_dry_run: bool
    steps: list[Step] = field(default_factory=list)
    clients: dict[str, str] = field(default_factory=dict)  # tool -> how it names itself

    @property
    def failed(self) -> list[Step]:
        return [step for step in self.steps if step.status == FAILED]

    @property
    def passed(self) -> bool:
        return not self.failed

    def count(self, status: str) -> int:
        return sum(step.status == status for step in self.steps)


def report_json(drills: list[ServiceDrill]) -> str:
    document = {"version": REPORT_VERSION, "services": [asdict(drill) for drill in drills]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def summary_lines(drill: ServiceDrill) -> list[str]:
    """What a person reads: the counts, each failed step with its reason and where it is
    written, the skipped steps' reasons counted, and which client proved which steps."""
    counts = ", ".join(f"{drill.count(s)} {s}" for s in (PASSED, FAILED, SKIPPED))
    mode = ", server dry run" if drill.server_dry_run else ""
    lines = [f"drill {drill.service} (context {drill.context}{mode}, {drill.drilled_at}): {counts}"]
    for step in drill.failed:
        lines.append(f"  FAILED {step.name} [{step.kind}]: {' '.join(step.argv)}")
        lines.append(f"    {step.reason}" + (f": {step.error}" if step.error else ""))
        if step.needed_by:
            lines.append(f"    needed by: {', '.join(step.needed_by)}")
        if step.where:
            lines.append(f"    written at: {', '.join(step.where[:4])}")
    reasons: dict[str, int] = {}
    for step in drill.steps:
        if step.status == SKIPPED:
            reasons[step.reason] = reasons.get(step.reason, 0) + 1
    for reason, number in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  skipped {number}: {reason}")
    by_client: dict[str, int] = {}
    for step in drill.steps:
        if step.client and step.status != SKIPPED:
            by_client[step.client] = by_client.get(step.client, 0) + 1
    for client, number in sorted(by_client.items()):
        lines.append(f"  proven against {client}: {number} step(s)")
    return lines


@dataclass(frozen=True)
class LastDrill:
    """What the fleet index shows of a service's latest drill."""

    drilled_at: str
    passed: bool
    failed_steps: tuple[str, ...] = ()
    context: str = ""


def _steps_of(entry: dict[str, Any], where: str) -> list[dict[str, Any]]:
    steps = entry.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise DrillReportError(f"{where}: steps: not a list of steps")
    return steps


def read_last_drills(folder: Path) -> dict[str, LastDrill]:
    """The latest drill of each service in every ``*.json`` report of ``folder``."""
    latest: dict[str, LastDrill] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DrillReportError(f"{path}: not a drill report ({error})") from error
        services = document.get("services") if isinstance(document, dict) else None
        if not isinstance(services, list):
            raise DrillReportError(f"{path}: services: not a list (is it a drill --report?)")
        for index, entry in enumerate(services):
            where = f"{path}: services[{index}]"
            if not isinstance(entry, dict):
                raise DrillReportError(f"{where}: not a mapping")
            name, when = entry.get("service"), entry.get("drilled_at")
            if not isinstance(name, str) or not isinstance(when, str):
                raise DrillReportError(f"{where}: service and drilled_at must be strings")
            failed = tuple(
                str(step.get("name", ""))
                for step in _steps_of(entry, where)
                if step.get("status") == FAILED
            )
            drill = LastDrill(when, not failed, failed, str(entry.get("context", "")))
            if name not in latest or latest[name].drilled_at < when:
                latest[name] = drill
    return latest
