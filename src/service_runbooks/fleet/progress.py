"""A progress bar on a terminal, nothing elsewhere (logs and CI stay clean)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Advance(Protocol):
    def __call__(self, label: str = "") -> None: ...


@contextmanager
def progress_bar(total: int, description: str, enabled: bool | None = None) -> Iterator[Advance]:
    """Yield ``advance(label)``; shows a bar on stderr only when it is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or total == 0:
        yield lambda label="": None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total, label="")

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, label=label)

        yield advance
