"""Evaluate the ``${{ }}`` expressions of template.yaml as Backstage would, for tests.

Backstage renders a step's input with Nunjucks (variables as ``${{ ... }}``; ``{% %}`` and
``{# #}`` keep their Nunjucks meaning) and compiles expressions to JavaScript. Nunjucks is not
installed here, so this is a deliberately small evaluator that supports exactly what
template.yaml uses, and raises ``Unsupported`` for anything else:

- template strings: text with ``${{ EXPR }}`` inside; text may not hold ``{%`` or ``{#``;
- ``EXPR``: single-quoted string literals without escapes, references ``a.b.c``, ``or``, ``+``
  and parentheses;
- ``or`` is JavaScript's ``||`` (``''``, ``false``, ``null``, ``0`` and undefined are false);
  ``+`` joins strings only; a missing reference is undefined;
- a string that is one expression and nothing else keeps the expression's type (Backstage wraps
  it in ``| dump`` and parses the JSON back), and undefined drops the key; in other strings
  undefined and null render as ``''`` and a result of ``''`` drops the key too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Unsupported(ValueError):
    """Syntax or a value outside the subset this evaluator knows."""


class _Undefined:
    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()


@dataclass(frozen=True)
class Literal:
    value: str


@dataclass(frozen=True)
class Ref:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Concat:
    operands: tuple[Expr, ...]


Expr = Literal | Ref | Or | Concat

_TOKEN = re.compile(
    r"\s*(?:(?P<literal>'[^'\\]*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op>[()+]))"
)


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while source[position:].strip():
        match = _TOKEN.match(source, position)
        if match is None:
            raise Unsupported(f"unsupported syntax at {source[position:]!r}")
        kind = match.lastgroup or ""
        text = match.group(kind)
        tokens.append(("or", text) if kind == "name" and text == "or" else (kind, text))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise Unsupported("unexpected end of expression")
        self.index += 1
        return token

    def expression(self) -> Expr:
        left = self.concat()
        while self.peek() == ("or", "or"):
            self.take()
            left = Or(left, self.concat())
        return left

    def concat(self) -> Expr:
        operands = [self.atom()]
        while self.peek() == ("op", "+"):
            self.take()
            operands.append(self.atom())
        return operands[0] if len(operands) == 1 else Concat(tuple(operands))

    def atom(self) -> Expr:
        kind, text = self.take()
        if kind == "literal":
            return Literal(text[1:-1])
        if kind == "name":
            return Ref(tuple(text.split(".")))
        if (kind, text) == ("op", "("):
            inner = self.expression()
            if self.take() != ("op", ")"):
                raise Unsupported("missing ')'")
            return inner
        raise Unsupported(f"unexpected {text!r}")


def parse_expression(source: str) -> Expr:
    """The expression inside ``${{ }}``, parsed."""
    parser = _Parser(source)
    expression = parser.expression()
    if parser.peek() is not None:
        raise Unsupported(f"unexpected {parser.peek()[1]!r} in {source!r}")
    return expression


def parse_template(text: str) -> list[str | Expr]:
    """A template string as text parts and parsed expressions, in order."""
    parts: list[str | Expr] = []
    position = 0
    while (start := text.find("${{", position)) != -1:
        end = text.find("}}", start + 3)
        if end == -1:
            raise Unsupported(f"unclosed ${{{{ in {text!r}")
        if start > position:
            parts.append(text[position:start])
        parts.append(parse_expression(text[start + 3 : end]))
        position = end + 2
    if position < len(text):
        parts.append(text[position:])
    for part in parts:
        if isinstance(part, str) and ("{%" in part or "{#" in part):
            raise Unsupported(f"Nunjucks tags or comments in {text!r}")
    return parts


def _truthy(value: Any) -> bool:
    return value not in (UNDEFINED, None, False, "", 0)


def evaluate(expression: Expr, context: Mapping[str, Any]) -> Any:
    """The value of ``expression`` with JavaScript semantics."""
    if isinstance(expression, Literal):
        return expression.value
    if isinstance(expression, Ref):
        value: Any = context
        for name in expression.path:
            value = value.get(name, UNDEFINED) if isinstance(value, Mapping) else UNDEFINED
        return value
    if isinstance(expression, Or):
        left = evaluate(expression.left, context)
        return left if _truthy(left) else evaluate(expression.right, context)
    values = [evaluate(operand, context) for operand in expression.operands]
    if not all(isinstance(value, str) for value in values):
        raise Unsupported(f"'+' on non-strings: {values!r}")
    return "".join(values)


def _as_text(value: Any) -> str:
    if value is UNDEFINED or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    raise Unsupported(f"rendering {value!r} as text")


def render_string(text: str, context: Mapping[str, Any]) -> Any:
    """One string of a step's input, rendered; ``UNDEFINED`` when Backstage would drop it."""
    parts = parse_template(text)
    if len(parts) == 1 and not isinstance(parts[0], str):
        return evaluate(parts[0], context)
    rendered = "".join(
        part if isinstance(part, str) else _as_text(evaluate(part, context)) for part in parts
    )
    return UNDEFINED if rendered == "" else rendered


def render_input(value: Any, context: Mapping[str, Any]) -> Any:
    """A step's input (any JSON value), rendered as Backstage does before calling the action."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, Mapping):
        rendered = {key: render_input(item, context) for key, item in value.items()}
        return {key: item for key, item in rendered.items() if item is not UNDEFINED}
    if isinstance(value, list):
        return [None if (item := render_input(x, context)) is UNDEFINED else item for x in value]
    return value


def expressions(value: Any) -> list[Expr]:
    """Every ``${{ }}`` expression inside a JSON value, parsed."""
    if isinstance(value, str):
        return [part for part in parse_template(value) if not isinstance(part, str)]
    if isinstance(value, Mapping):
        return [e for item in value.values() for e in expressions(item)]
    if isinstance(value, list):
        return [e for item in value for e in expressions(item)]
    return []


def literals(expression: Expr) -> list[str]:
    """The string literals inside ``expression``."""
    if isinstance(expression, Literal):
        return [expression.value]
    if isinstance(expression, Or):
        return literals(expression.left) + literals(expression.right)
    if isinstance(expression, Concat):
        return [text for operand in expression.operands for text in literals(operand)]
    return []


def refs(expression: Expr) -> list[tuple[str, ...]]:
    """The references inside ``expression``."""
    if isinstance(expression, Ref):
        return [expression.path]
    if isinstance(expression, Or):
        return refs(expression.left) + refs(expression.right)
    if isinstance(expression, Concat):
        return [path for operand in expression.operands for path in refs(operand)]
    return []


def concats(expression: Expr) -> list[Concat]:
    """The ``+`` chains inside ``expression``."""
    if isinstance(expression, Concat):
        return [expression] + [c for operand in expression.operands for c in concats(operand)]
    if isinstance(expression, Or):
        return concats(expression.left) + concats(expression.right)
    return []
