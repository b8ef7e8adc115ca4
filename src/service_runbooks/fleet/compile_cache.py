"""Reuse Jinja's compiled templates across environments in one process.

Cookiecutter builds a new Jinja environment for every service (and MkDocs one for every site),
so every template is parsed and compiled again each time: that is most of the cost of a render.
Compilation is a pure function of the environment's settings and the source, and Jinja's own
bytecode cache already reuses compiled code across environments the same way. This memo keys
the code on every setting that changes what the compiler produces, so a hit returns exactly the
code a fresh compile would, and rendering (which happens per environment, with that
environment's globals) is unchanged.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from jinja2 import Environment

_ORIGINAL_COMPILE = Environment.compile
_CACHE: dict[Hashable, Any] = {}
_MAX_ENTRIES = 50_000


def _signature(env: Environment) -> Hashable:
    """Everything about ``env`` that the lexer, parser or code generator reads."""
    return (
        type(env),
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        tuple(sorted((key, type(ext)) for key, ext in env.extensions.items())),
        env.optimized,
        env.finalize,
        env.autoescape,
        env.is_async,
        env.code_generator_class,
        frozenset(env.filters),
        frozenset(env.tests),
    )


def _memo_compile(
    self: Environment,
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    if not isinstance(source, str):  # an already parsed template (nodes.Template): no reuse
        return _ORIGINAL_COMPILE(self, source, name, filename, raw, defer_init)
    key = (_signature(self), source, name, filename, raw, defer_init)
    try:
        return _CACHE[key]
    except KeyError:
        pass
    code = _ORIGINAL_COMPILE(self, source, name, filename, raw, defer_init)
    if len(_CACHE) >= _MAX_ENTRIES:
        _CACHE.clear()
    _CACHE[key] = code
    return code


def install() -> None:
    """Reuse compiled templates in this process from now on (worker processes call this)."""
    Environment.compile = _memo_compile  # type: ignore[method-assign]


def uninstall() -> None:
    """Compile every template afresh again."""
    Environment.compile = _ORIGINAL_COMPILE  # type: ignore[method-assign]
    _CACHE.clear()


@contextmanager
def installed() -> Iterator[None]:
    """Reuse compiled templates inside the ``with`` block only."""
    already = Environment.compile is _memo_compile
    install()
    try:
        yield
    finally:
        if not already:
            uninstall()
