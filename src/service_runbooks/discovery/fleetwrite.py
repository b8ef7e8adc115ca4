"""The discovered services as a fleet file (the format ``render`` reads: fleetfile.py).

Each entry holds the answers derived and a ``sources:`` mapping (answer -> where it was read);
the answers that could not be derived, and the proposed ones the template cannot take yet, are
YAML comments under it, so the file stays loadable and says what is left to give.

Values are written as JSON strings, which are YAML double-quoted scalars
(https://yaml.org/spec/1.2.2/#731-double-quoted-style): no value can break out of its line.
"""

from __future__ import annotations

import json
from typing import Any

from service_runbooks.discovery.answers import ServiceAnswers


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)


def _comment(text: str) -> str:
    """One line of comment text: control characters and non-ASCII escaped, never a newline."""
    return json.dumps(text, ensure_ascii=True)[1:-1]


def entry_lines(service: ServiceAnswers, proposed_as_answers: bool = False) -> list[str]:
    """One ``services:`` item: answers, ``sources:``, then comments for the rest."""
    answers = dict(service.answers)
    sources = dict(service.sources)
    if proposed_as_answers:
        answers.update(service.proposed)
        sources.update(service.proposed_sources)
    lines: list[str] = []
    for index, (name, value) in enumerate(answers.items()):
        lines.append(f"{'  - ' if index == 0 else '    '}{name}: {_scalar(value)}")
    if not lines:
        lines.append("  - {}")
    if sources:
        lines.append("    sources:")
        lines += [f"      {name}: {_scalar(source)}" for name, source in sources.items()]
    if service.not_derived:
        lines.append("    # not derived (give these by hand):")
        lines += [f"    #   {name}: {_comment(why)}" for name, why in service.not_derived.items()]
    if service.proposed and not proposed_as_answers:
        lines.append("    # derived, for answers the template does not have yet:")
        for name, value in service.proposed.items():
            where = service.proposed_sources[name]
            lines.append(f"    #   {name}: {_scalar(value)}  <- {_comment(where)}")
    return lines


def fleet_text(
    services: list[ServiceAnswers],
    header: list[str] | None = None,
    proposed_as_answers: bool = False,
) -> str:
    """The whole fleet file: a comment header, then ``services:``."""
    lines = [f"# {_comment(line)}" for line in header or []]
    lines.append("services:")
    if not services:
        lines[-1] = "services: []"
    for service in services:
        lines += entry_lines(service, proposed_as_answers)
    return "\n".join(lines) + "\n"
