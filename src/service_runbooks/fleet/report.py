"""What can happen to a service in a run, and the summary line that counts it (no imports: the
no-op path prints it before anything heavy is loaded)."""

from __future__ import annotations

from collections.abc import Sequence

RENDERED, UPDATED, MERGED = "rendered", "updated", "merged"
UNCHANGED, REFUSED, FAILED = "unchanged", "refused", "failed"


def summary_line(statuses: Sequence[str]) -> str:
    """``N services: R rendered (new, updated, merged), U unchanged, F refused``."""

    def count(*wanted: str) -> int:
        return sum(status in wanted for status in statuses)

    return (
        f"{len(statuses)} services: {count(RENDERED, UPDATED, MERGED)} rendered "
        f"({count(RENDERED)} new, {count(UPDATED)} updated, {count(MERGED)} merged), "
        f"{count(UNCHANGED)} unchanged, {count(REFUSED, FAILED)} refused"
    )
