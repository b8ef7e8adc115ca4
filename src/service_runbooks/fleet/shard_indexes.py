"""``service-runbooks index``: the fleet's index from the indexes of its shards.

Each ``build --shard K/N`` writes the index of its own services (``services.json`` and
``index.html``). This reads the shards' ``services.json``, checks each card against the card
type (a file from another version or a hand edit is refused, not half shown) and writes the
``index.html`` and ``services.json`` a whole ``build`` writes for the same services.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from service_runbooks.drill.report import LastDrill
from service_runbooks.errors import ShardIndexError
from service_runbooks.fleet.index_page import SERVICES_JSON, ServiceCard, with_drills, write_index


def _value(hint: Any, value: object, where: str) -> object:
    """``value`` as the card field typed ``hint`` holds it; ShardIndexError when it is not."""
    if isinstance(hint, type) and is_dataclass(hint):
        return _from_json(hint, value, where)
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:  # tuple[X, ...]: a JSON list of X
        if not isinstance(value, list):
            raise ShardIndexError(f"{where}: must be a list")
        return tuple(_value(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if origin is types.UnionType:  # X | None
        if value is None and type(None) in args:
            return None
        return _value(next(a for a in args if a is not type(None)), value, where)
    if not isinstance(value, hint):
        raise ShardIndexError(f"{where}: must be {getattr(hint, '__name__', hint)}")
    return value


def _from_json(cls: type, data: object, where: str) -> Any:
    """A dataclass from the JSON object ``asdict`` made of one, keys and types checked."""
    names = [f.name for f in fields(cls)]
    if not isinstance(data, dict) or sorted(data) != sorted(names):
        raise ShardIndexError(f"{where}: must be an object with the keys {', '.join(names)}")
    hints = get_type_hints(cls)
    return cls(**{name: _value(hints[name], data[name], f"{where}.{name}") for name in names})


def _relative_url(url: str | None, where: str) -> None:
    """A site's or an alert page's address must stay inside the fleet site: a relative path,
    never a scheme (``javascript:``), a host or an absolute path."""
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("/", "\\")):
        raise ShardIndexError(f"{where}: must be a relative path inside the site, got {url!r}")


def _iso_date(text: str, where: str) -> None:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ShardIndexError(f"{where}: must be a date YYYY-MM-DD, got {text!r}") from None


def _checked(card: ServiceCard, where: str) -> ServiceCard:
    """What the index will print as links and judge as dates, checked as ``build`` writes it."""
    _relative_url(card.docs, f"{where}.docs")
    _relative_url(card.rollback, f"{where}.rollback")
    for i, alert in enumerate(card.alerts):
        _relative_url(alert.page, f"{where}.alerts[{i}].page")
    if bool(card.reviewed_on) != bool(card.review_due):
        raise ShardIndexError(
            f"{where}: reviewed_on and review_due must be both given or both empty"
        )
    for name in ("reviewed_on", "review_due"):
        if getattr(card, name):
            _iso_date(getattr(card, name), f"{where}.{name}")
    return card


def read_cards(source: Path) -> list[ServiceCard]:
    """The cards of one shard's services.json (or of the site folder holding it)."""
    path = source / SERVICES_JSON if source.is_dir() else source
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ShardIndexError(f"{path}: cannot be read as JSON ({error})") from None
    if not isinstance(data, list):
        raise ShardIndexError(f"{path}: must be a list of services (a `build` writes it)")
    return [
        _checked(_from_json(ServiceCard, item, f"{path}: [{i}]"), f"{path}: [{i}]")
        for i, item in enumerate(data)
    ]


def merge(sources: list[Path]) -> list[ServiceCard]:
    """Every shard's cards; ShardIndexError when a service comes from two of them."""
    cards: list[ServiceCard] = []
    seen: dict[str, Path] = {}
    for source in sources:
        for card in read_cards(source):
            if card.name in seen:
                raise ShardIndexError(
                    f"{source}: {card.name} is also in {seen[card.name]} (the same shard "
                    "given twice, or shards of different shard counts?)"
                )
            seen[card.name] = source
            cards.append(card)
    return cards


def merge_indexes(
    sources: list[Path],
    site: Path,
    today: date,
    drills: Mapping[str, LastDrill] | None = None,
) -> list[ServiceCard]:
    """Write ``site``/index.html and services.json for every shard's services; the cards.
    Reviews are judged on ``today`` (the day of the merge, as a whole ``build`` would); each
    service's last drill comes from ``drills`` when given, else from its shard's card.

    Everything is read and checked before anything is written.
    """
    cards = merge(sources)
    site.mkdir(parents=True, exist_ok=True)
    write_index(site, cards, today, drills)
    return with_drills(cards, drills)
