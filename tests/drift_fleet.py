"""A discovered fleet rendered for `check --drift` tests: its sources, fleet file and output,
and the steps those tests take on it (run the check, edit a source, read the caches)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fleet_helpers import run_cli
from matrix import ROOT

# check --drift's cache folder under the output (discovery/filecache.py's users).
CACHE = ".service-runbooks-cache"


@dataclass(frozen=True)
class Rendered:
    repo: Path
    fleet: Path
    out: Path

    def drift(self, check: int) -> str:
        result = run_cli(ROOT, "check", self.fleet, "--output", self.out, "--drift", check=check)
        assert "Traceback" not in result.stderr
        return result.stdout

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.repo / relative
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    def entries(self, folder: str) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in (self.out / CACHE / folder).iterdir()}
