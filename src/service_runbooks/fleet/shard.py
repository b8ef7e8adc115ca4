"""``--shard K/N``: a stable partition of a fleet by service name.

A service's shard is a hash of its name alone, never its position in the fleet file, so adding,
removing or reordering services moves no other service to another shard, and every run (on any
machine, in any Python process: no PYTHONHASHSEED) puts a service in the same shard.

What stays fleet-wide in a shard's run: the fleet file is read and checked whole, the fleet
record (``.service-runbooks-services.json``) names every service, and a service is retired only
when the whole fleet file no longer names it (then the shard of its name reports and prunes it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

_SPEC = re.compile(r"(\d+)/(\d+)")
T = TypeVar("T")


def shard_of(name: str, count: int) -> int:
    """The shard (1 to ``count``) that holds the service ``name``."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    return int(digest, 16) % count + 1


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (both counted from 1)."""

    index: int
    count: int

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``K/N`` with 1 <= K <= N; ValueError saying the rule otherwise."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"must be K/N, two whole numbers (e.g. 2/3), got {text!r}")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count:
        raise ValueError(f"must be K/N with 1 <= K <= N (e.g. 2/3), got {text!r}")
    return Shard(index, count)


def in_shard(shard: Shard | None, name: str) -> bool:
    """Whether a run of ``shard`` (None: the whole fleet) handles the service ``name``."""
    return shard is None or shard.holds(name)


def select(shard: Shard | None, items: Iterable[T], name: Callable[[T], str]) -> list[T]:
    """The items of ``shard``'s services, in their order."""
    return [item for item in items if in_shard(shard, name(item))]
