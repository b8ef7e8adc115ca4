"""Problems found in a fleet file, reported all at once (light: no YAML needed to raise one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FleetProblem:
    """One problem in the fleet file: where, which field (if any), and what is wrong."""

    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.where}: {self.field}: {self.message}"
        return f"{self.where}: {self.message}"


class FleetError(Exception):
    """The fleet file cannot be rendered; ``problems`` says why, all at once."""

    def __init__(self, path: Path, problems: list[FleetProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(format_fleet_problems(path, problems))


def format_fleet_problems(path: Path, problems: list[FleetProblem]) -> str:
    lines = [f"ERROR: {len(problems)} problem(s) in {path}; nothing was rendered."]
    lines += [f"  - {problem}" for problem in problems]
    return "\n".join(lines)
