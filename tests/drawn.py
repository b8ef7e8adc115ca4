"""Values drawn by hypothesis for tests that check them in one batch (one render, one build)."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st


def examples(strategy: st.SearchStrategy, count: int) -> list:
    """``count`` values drawn by hypothesis (generation only: they are checked in one batch)."""
    drawn: list = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: object) -> None:
        drawn.append(value)

    collect()
    return drawn
