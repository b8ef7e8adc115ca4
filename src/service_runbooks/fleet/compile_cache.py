"""Reuse Jinja's compiled templates across environments in one process.

Cookiecutter builds a new Jinja environment for every service (and MkDocs one for every site),
so every template is parsed and compiled again each time: that is most of the cost of a render.
Compilation is a pure function of the environment's settings and the source, and Jinja's own
bytecode cache already reuses compiled code across environments the same way. This memo keys
the code on every setting that changes what the compiler produces, so a hit returns exactly the
code a fresh compile would, and rendering (which happens per environment, with that
environment's globals) is unchanged.

A second memo, for this template's renders only (``install(modules=True)``): a page's
``{% import "..." as x with context %}`` runs the imported template's whole body again for
every file that imports it (Jinja 3.1 compiles it to ``make_module(context.get_all(), True,
locals)``, which never caches; jinja2/compiler.py ``_import_common``, and
https://jinja.palletsprojects.com/en/3.1.x/templates/#import-context-behavior). The module
depends only on its template, the variables and locals it is given, and its environment; so
per template object (one environment, one service) it is kept per *value* of those inputs,
compared exactly (types included: ``1``, ``True`` and ``"1"`` differ). Inputs it cannot compare
by value (any object other than plain data, functions, classes, macros and modules) are never
memoised. Two assumptions, both true of this template: module bodies are deterministic (no
random strings, UUIDs or ``{% now %}``), and no page mutates what a module exports.
"""

from __future__ import annotations

import types
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2 import Environment, Template
from jinja2.environment import TemplateModule
from jinja2.runtime import Macro
from jinja2.utils import missing
from markupsafe import Markup

_ORIGINAL_COMPILE = Environment.compile
_ORIGINAL_MAKE_MODULE = Template.make_module
_CACHE: dict[Hashable, Any] = {}
_MAX_ENTRIES = 50_000
# The module memo relies on how Jinja 3.1 compiles imports and builds modules (checked against
# 3.1.6, the version requirements-dev.txt pins); with any other Jinja it stays off.
_MODULE_MEMO_JINJA = "3.1."
_MODULES_ATTRIBUTE = "_service_runbooks_modules"  # the memo, on the template object it is for
_SCALARS = frozenset({int, float, bool, type(None), Markup})
_MAPPINGS = frozenset({dict, OrderedDict})
_SEQUENCES = frozenset({list, tuple})
_BY_IDENTITY = (
    types.FunctionType,
    types.BuiltinFunctionType,
    type,
    Macro,
    TemplateModule,
    type(missing),
)


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


class _Unkeyable(Exception):
    """An input the module memo cannot compare by value."""


def _frozen(value: Any, kept: list[Any]) -> Hashable:
    """``value`` as a hashable key equal only to an equal value of the same types; objects
    compared by identity are appended to ``kept`` (so their ids stay theirs)."""
    kind = type(value)
    if kind is str:
        return value
    if kind in _SCALARS:
        return (kind, value)
    # A str stands for itself: kept as is without a call (most of the answers are strings).
    if kind in _MAPPINGS:
        return (
            kind,
            tuple(
                (
                    k if type(k) is str else _frozen(k, kept),
                    v if type(v) is str else _frozen(v, kept),
                )
                for k, v in value.items()
            ),
        )
    if kind in _SEQUENCES:
        return (kind, tuple(v if type(v) is str else _frozen(v, kept) for v in value))
    if isinstance(value, _BY_IDENTITY):
        kept.append(value)
        return (id, id(value))
    raise _Unkeyable(kind)


def _memo_make_module(
    self: Template,
    vars: dict[str, Any] | None = None,
    shared: bool = False,
    locals: Mapping[str, Any] | None = None,
) -> TemplateModule:
    if not shared or vars is None:  # not an import with context
        return _ORIGINAL_MAKE_MODULE(self, vars, shared, locals)
    kept: list[Any] = []
    try:
        given = {k: v for k, v in (locals or {}).items() if v is not missing}  # as new_context
        key = (_frozen(vars, kept), _frozen(given, kept))
    except (_Unkeyable, RecursionError):
        return _ORIGINAL_MAKE_MODULE(self, vars, shared, locals)
    memo = self.__dict__.setdefault(_MODULES_ATTRIBUTE, {})
    try:
        return memo[key][0]
    except KeyError:
        pass
    module = _ORIGINAL_MAKE_MODULE(self, vars, shared, locals)
    memo[key] = (module, kept)
    return module


def install(modules: bool = False) -> None:
    """Reuse compiled templates in this process from now on (worker processes call this);
    with ``modules``, also the modules this template's pages import with context."""
    Environment.compile = _memo_compile  # type: ignore[method-assign]
    if modules and jinja2.__version__.startswith(_MODULE_MEMO_JINJA):
        Template.make_module = _memo_make_module  # type: ignore[method-assign]


def uninstall() -> None:
    """Compile every template, and run every imported module, afresh again."""
    Environment.compile = _ORIGINAL_COMPILE  # type: ignore[method-assign]
    Template.make_module = _ORIGINAL_MAKE_MODULE  # type: ignore[method-assign]
    _CACHE.clear()


@contextmanager
def installed(modules: bool = False) -> Iterator[None]:
    """The memos inside the ``with`` block only."""
    already = Environment.compile is _memo_compile, Template.make_module is _memo_make_module
    install(modules)
    try:
        yield
    finally:
        if already == (False, False):
            uninstall()
