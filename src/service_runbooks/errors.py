"""Every exception the package raises, each with the exit status the command line gives it.

Light on purpose (standard library only, no YAML, no cookiecutter): the command line's no-op
path imports it. The command line prints ``error.report()`` and exits with ``error.exit_code``;
a command never maps an exception to a status itself. The template's own
``local_extensions.py`` keeps ``InvalidAnswers``: cookiecutter loads that file by itself, from
the template's folder, before this package is importable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

# The exit statuses of every command (each command's usage page under docs/usage/).
EXIT_OK = 0
EXIT_FAILED = 1  # a service was refused or failed, or (check) is behind or drifted
EXIT_INVALID = 2  # the command line, the answers or the fleet file are wrong: nothing written
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it


class ServiceRunbooksError(Exception):
    """A refusal or failure the command line reports in words, without a traceback."""

    exit_code: ClassVar[int] = EXIT_FAILED

    def report(self) -> str:
        """What the command line prints on stderr."""
        return f"ERROR: {self}"


@dataclass(frozen=True)
class FleetProblem:
    """One problem in the answers given: where, which field (if any), and what is wrong."""

    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.where}: {self.field}: {self.message}"
        return f"{self.where}: {self.message}"


def format_fleet_problems(path: Path, problems: list[FleetProblem]) -> str:
    lines = [f"ERROR: {len(problems)} problem(s) in {path}; nothing was rendered."]
    lines += [f"  - {problem}" for problem in problems]
    return "\n".join(lines)


class FleetError(ServiceRunbooksError):
    """The fleet file cannot be rendered; ``problems`` says why, all at once."""

    exit_code = EXIT_INVALID

    def __init__(self, path: Path, problems: list[FleetProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(format_fleet_problems(path, problems))

    def report(self) -> str:
        return str(self)  # already a whole report, "ERROR: ..." and one line per problem


class Refused(ServiceRunbooksError):
    """``new``: the answers or the output folder cannot be used; nothing was written."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[FleetProblem]) -> None:
        self.problems = problems
        lines = [f"ERROR: {len(problems)} problem(s) in the answers; nothing was written."]
        super().__init__("\n".join(lines + [f"  - {problem}" for problem in problems]))

    def report(self) -> str:
        return str(self)


class ParseError(ServiceRunbooksError):
    """A YAML file of answers cannot be read; ``where`` names the entry when known."""

    exit_code = EXIT_INVALID

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


class RenderError(ServiceRunbooksError):
    """Cookiecutter refused or failed to render a service."""

    exit_code = EXIT_FAILED


class Busy(ServiceRunbooksError):
    """Another run holds the output folder."""

    exit_code = EXIT_FAILED


class WorkflowError(ServiceRunbooksError):
    """A bad option of ``workflow``; the message names it and the rule."""

    exit_code = EXIT_INVALID

    def report(self) -> str:
        return f"ERROR: {self}; nothing was written"


class ShardIndexError(ServiceRunbooksError):
    """A shard's services.json cannot be merged; the message names the file and the entry."""

    exit_code = EXIT_INVALID

    def report(self) -> str:
        return f"ERROR: SHARD: {self}; nothing was written"


class TemplateError(ServiceRunbooksError, ValueError):
    """cookiecutter.json holds something the generator cannot express in a Backstage form."""

    exit_code = EXIT_INVALID

    def report(self) -> str:
        return f"error: {self}"


class PatchVersionError(ServiceRunbooksError):
    """A correction of another library meets a version it was not written for (patches.py)."""

    exit_code = EXIT_FAILED


class Unkeyable(Exception):  # control flow inside patches.py, never reported
    """An input the Jinja module memo cannot compare by value (patches.py)."""


@dataclass(frozen=True)
class SourceProblem:
    """Why one discovery source (a file, a Kustomize root) cannot be read."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class DiscoveryError(ServiceRunbooksError):
    """Discovery cannot go on; ``problems`` names every source that failed, all at once."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[SourceProblem]) -> None:
        self.problems = problems
        lines = [f"ERROR: {len(problems)} source(s) cannot be read; nothing was discovered."]
        lines += [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))

    def report(self) -> str:
        return str(self)


class SourceUnreadable(ServiceRunbooksError):
    """One discovery source cannot be read (too large, not YAML); a DiscoveryError collects it."""

    exit_code = EXIT_INVALID

    def __init__(self, problem: SourceProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class TooLarge(SourceUnreadable):
    """A source is over its size limit (bytes, documents or files)."""


class YamlProblem(SourceUnreadable):
    """A source is not the safe YAML discovery reads."""


class CommandSyntaxError(ServiceRunbooksError, ValueError):
    """A shell line the command parser cannot split into words (an unclosed quote or ``$(``)."""

    exit_code = EXIT_INVALID


class NothingDiscovered(ServiceRunbooksError):
    """``discover`` read its sources but found no workload a runbook can serve."""

    exit_code = EXIT_INVALID

    def report(self) -> str:
        return (
            f"ERROR: no Deployment, StatefulSet or Argo Rollouts Rollout found in {self}; "
            "nothing was written"
        )


class WrittenMeanwhile(ServiceRunbooksError):
    """``discover --output``: the file appeared while discovery ran; it is left as it is."""

    exit_code = EXIT_INVALID

    def report(self) -> str:
        return f"ERROR: --output: {self} appeared while discovering; nothing is written over it"


class ClusterError(ServiceRunbooksError):
    """A cluster cannot be read (no kubectl, an unknown context, an API server out of reach, a
    list refused); the message names the context and the type."""

    exit_code = EXIT_INVALID

    def __init__(
        self, context: str | None, what: str, message: str, forbidden: bool = False
    ) -> None:
        where = f"cluster {context}" if context else "the kubeconfig"
        super().__init__(f"{where}: {what}: {message}")
        self.context = context
        self.what = what
        self.forbidden = forbidden  # the API server refused it (403): the identity may not

    def report(self) -> str:
        return f"ERROR: {self}; nothing was discovered"


class PrometheusError(ServiceRunbooksError):
    """``check --prometheus``: the server cannot be asked (a URL that is not http(s), out of
    reach, not a Prometheus API); the message names the URL."""

    exit_code = EXIT_INVALID

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where

    def report(self) -> str:
        return f"ERROR: --prometheus: {self}; the check stopped"


class DrillError(ServiceRunbooksError):
    """``drill`` cannot start: a service folder without the answers it was rendered with, no
    kubectl, no context; the message names the folder or option and the rule."""

    exit_code = EXIT_INVALID

    def report(self) -> str:
        return f"ERROR: {self}; nothing was drilled"


class DrillReportError(ServiceRunbooksError):
    """A drill report (``--drill-reports``) cannot be read; the message names the file and the
    entry."""

    exit_code = EXIT_INVALID

    def report(self) -> str:
        return f"ERROR: --drill-reports: {self}; nothing was written"


class UnsplittableLine(ValueError):
    """A logical shell line shlex cannot split (``commands``); its message names the part that
    fails. Kept per line in a cache, so the caller adds the line number (CommandSyntaxError)."""
