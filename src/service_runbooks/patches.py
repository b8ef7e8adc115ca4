"""Every change this package makes to another library, fenced in this one module.

Each patch names the library and the version it was written against (the pins of
requirements-dev.txt, which a test holds equal). The installed versions are compared once, at
import, with ``importlib.metadata`` (https://docs.python.org/3/library/importlib.metadata.html):

* a **speed** patch changes how work is done, never what is produced; on another version it
  turns itself off and says so on stderr (the library, the version found, the one expected),
  and the work is done the library's own way: slower, the same output;
* a **correctness** patch (cruft's missing ``_cookiecutter``) is needed for a right result; on
  another version it stops with ``PatchVersionError`` when it is applied, naming both versions.

Nothing outside this module assigns to another library's attributes.
"""

from __future__ import annotations

import functools
import io
import runpy
import sys
import traceback
import types
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TextIO

import jinja2
from jinja2 import Environment, Template
from jinja2.environment import TemplateModule
from jinja2.runtime import Macro
from jinja2.utils import missing
from markupsafe import Markup

from service_runbooks.errors import PatchVersionError, Unkeyable

# ---- the patches and the versions they were written against ----


@dataclass(frozen=True)
class Patch:
    """One change to another library: what it changes, and against which version it was read."""

    name: str
    library: str  # the distribution, as importlib.metadata names it
    written_for: str
    corrects: bool = False  # a correctness patch (else a speed patch)


JINJA_COMPILE_MEMO = Patch("Jinja compile memo (Environment.compile)", "Jinja2", "3.1.6")
JINJA_MODULE_MEMO = Patch("Jinja module memo (Template.make_module)", "Jinja2", "3.1.6")
THEME_LISTING_ONCE = Patch(
    "theme file list once per worker (FileSystemLoader.list_templates)", "Jinja2", "3.1.6"
)
IS_BINARY_ONCE = Patch("binary sniff once per file (generate.is_binary)", "cookiecutter", "2.7.1")
HOOKS_IN_PROCESS = Patch("Python hooks in process (hooks.run_script)", "cookiecutter", "2.7.1")
THEME_DOT_PATHS = Patch("theme dot paths skipped (Files.add_files_from_theme)", "mkdocs", "1.6.1")
EMOJI_INDEX_ONCE = Patch(
    "emoji index once per worker (pymdownx.emoji)", "pymdown-extensions", "11.0.1"
)
CRUFT_COOKIECUTTER_COPY = Patch(
    "cruft's context gets _cookiecutter (prompt_for_config)", "cruft", "2.16.0", corrects=True
)
PATCHES = (
    JINJA_COMPILE_MEMO,
    JINJA_MODULE_MEMO,
    THEME_LISTING_ONCE,
    IS_BINARY_ONCE,
    HOOKS_IN_PROCESS,
    THEME_DOT_PATHS,
    EMOJI_INDEX_ONCE,
    CRUFT_COOKIECUTTER_COPY,
)

# Patch name -> why it is off: the installed library is not the version it was written for.
OFF: dict[str, str] = {}


def installed_version(library: str) -> str | None:
    try:
        return version(library)
    except PackageNotFoundError:
        return None


def check_versions(
    installed: Callable[[str], str | None] = installed_version, out: TextIO | None = None
) -> dict[str, str]:
    """Compare each patch's library with the installed one (``OFF`` records the mismatches);
    each speed patch that is off says so on ``out`` (stderr). The mismatches, by patch name."""
    OFF.clear()
    for patch in PATCHES:
        found = installed(patch.library)
        if found == patch.written_for:
            continue
        OFF[patch.name] = (
            f"{patch.library} {found or '(not installed)'} is installed; the patch "
            f"{patch.name!r} was written for {patch.library} {patch.written_for}"
        )
        if not patch.corrects:
            print(
                f"warning: {OFF[patch.name]}: it is off (same output, slower)",
                file=out or sys.stderr,
            )
    return dict(OFF)


def enabled(patch: Patch) -> bool:
    return patch.name not in OFF


def require(patch: Patch) -> None:
    """A correctness patch on a version it was not written for: stop, naming both versions."""
    if patch.name in OFF:
        raise PatchVersionError(
            f"{OFF[patch.name]}. Without it the result would be wrong, so nothing is done: "
            f"install {patch.library}=={patch.written_for} (requirements-dev.txt), or check the "
            "patch against the new version and update it in service_runbooks/patches.py"
        )


check_versions()


# ---- Jinja: compiled templates and imported modules reused across environments ----
# Reuse Jinja's compiled templates across environments in one process.
#
# Cookiecutter builds a new Jinja environment for every service (and MkDocs one for every site),
# so every template is parsed and compiled again each time: that is most of the cost of a render.
# Compilation is a pure function of the environment's settings and the source, and Jinja's own
# bytecode cache already reuses compiled code across environments the same way. This memo keys
# the code on every setting that changes what the compiler produces, so a hit returns exactly the
# code a fresh compile would, and rendering (which happens per environment, with that
# environment's globals) is unchanged.
#
# A second memo, for this template's renders only (``install_jinja_memos(modules=True)``): a page's
# ``{% import "..." as x with context %}`` runs the imported template's whole body again for
# every file that imports it (Jinja 3.1 compiles it to ``make_module(context.get_all(), True,
# locals)``, which never caches; jinja2/compiler.py ``_import_common``, and
# https://jinja.palletsprojects.com/en/3.1.x/templates/#import-context-behavior). The module
# depends only on its template, the variables and locals it is given, and its environment; so
# per template object (one environment, one service) it is kept per *value* of those inputs,
# compared exactly (types included: ``1``, ``True`` and ``"1"`` differ). Inputs it cannot compare
# by value (any object other than plain data, functions, classes, macros and modules) are never
# memoised. Two assumptions, both true of this template: module bodies are deterministic (no
# random strings, UUIDs or ``{% now %}``), and no page mutates what a module exports.

# Typed as plain callables: Jinja's stubs overload ``compile`` on a literal ``raw``, and the memo
# passes whatever ``raw`` its caller gave.
_ORIGINAL_COMPILE: Callable[..., Any] = Environment.compile
_ORIGINAL_MAKE_MODULE: Callable[..., TemplateModule] = Template.make_module
_CACHE: dict[Hashable, Any] = {}
_MAX_ENTRIES = 50_000
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
    raise Unkeyable(kind)


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
    except (Unkeyable, RecursionError):
        return _ORIGINAL_MAKE_MODULE(self, vars, shared, locals)
    memo = self.__dict__.setdefault(_MODULES_ATTRIBUTE, {})
    try:
        return memo[key][0]
    except KeyError:
        pass
    module = _ORIGINAL_MAKE_MODULE(self, vars, shared, locals)
    memo[key] = (module, kept)
    return module


def install_jinja_memos(modules: bool = False) -> None:
    """Reuse compiled templates in this process from now on (worker processes call this);
    with ``modules``, also the modules this template's pages import with context."""
    if enabled(JINJA_COMPILE_MEMO):
        Environment.compile = _memo_compile  # type: ignore[method-assign]  # the patch itself
    if modules and enabled(JINJA_MODULE_MEMO):
        Template.make_module = _memo_make_module  # type: ignore[method-assign]  # the patch itself


def uninstall_jinja_memos() -> None:
    """Compile every template, and run every imported module, afresh again."""
    Environment.compile = _ORIGINAL_COMPILE  # type: ignore[method-assign]  # undoes the patch
    Template.make_module = _ORIGINAL_MAKE_MODULE  # type: ignore[method-assign]  # undoes it
    _CACHE.clear()


@contextmanager
def jinja_memos(modules: bool = False) -> Iterator[None]:
    """The memos inside the ``with`` block only."""
    already = Environment.compile is _memo_compile, Template.make_module is _memo_make_module
    install_jinja_memos(modules)
    try:
        yield
    finally:
        if already == (False, False):
            uninstall_jinja_memos()


# ---- cookiecutter: each template file sniffed once, this template's hooks in process ----
#
# A Python hook of *this* template runs inside the worker instead of in a new interpreter
# (``run_script_in_process``): cookiecutter renders the hook exactly as before, and the rendered
# file runs with ``runpy`` as ``__main__``, with the project folder as working directory, and a
# non-zero exit raises the same ``FailedHookException`` (cookiecutter 2.7.1, hooks.py:
# run_script). Hooks of any other template, and non-Python hooks, still run as subprocesses.


def _exit_status(exit_: SystemExit) -> int:
    code = exit_.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
    return 1


def _subprocess_run_script() -> Callable[..., None]:
    import cookiecutter.hooks

    return _ORIGINAL_RUN_SCRIPT.setdefault("run_script", cookiecutter.hooks.run_script)


_ORIGINAL_RUN_SCRIPT: dict[str, Callable[..., None]] = {}


def run_script_in_process(script_path: str, cwd: Path | str = ".") -> None:
    """cookiecutter.hooks.run_script, with a Python hook run by this interpreter, in process."""
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.utils import work_in

    if not script_path.endswith(".py"):
        _subprocess_run_script()(script_path, cwd)
        return
    output = io.StringIO()
    saved_path, saved_argv = list(sys.path), sys.argv
    status = 0
    try:
        with work_in(cwd), redirect_stdout(output), redirect_stderr(output):
            sys.argv = [script_path]
            try:
                runpy.run_path(script_path, run_name="__main__")
            except SystemExit as exit_:
                status = _exit_status(exit_)
            except Exception:
                traceback.print_exc()
                status = 1
    finally:
        sys.path[:] = saved_path
        sys.argv = saved_argv
        Path(script_path).unlink(missing_ok=True)  # cookiecutter's rendered copy of the hook
    if status != 0:
        message = f"Hook script failed (exit status: {status})"
        raise FailedHookException(f"{message}\n{output.getvalue().rstrip()}")


def run_hooks_in_process() -> None:
    """From now on, this process runs the template's Python hooks itself (see above)."""
    import cookiecutter.hooks

    if enabled(HOOKS_IN_PROCESS):
        _subprocess_run_script()
        cookiecutter.hooks.run_script = run_script_in_process


def sniff_each_file_once() -> None:
    """Cookiecutter sniffs every template file for binary content once per service; the
    template does not change during a run, so each file is sniffed once per worker."""
    import cookiecutter.generate

    if enabled(IS_BINARY_ONCE):
        cookiecutter.generate.is_binary = functools.lru_cache(maxsize=None)(
            cookiecutter.generate.is_binary
        )


# ---- cruft: the context its renders lack (a correction, not a speed-up) ----


@contextmanager
def cookiecutter_copy_for_cruft() -> Iterator[None]:
    """Give cruft's renders the ``_cookiecutter`` copy that cookiecutter's own CLI provides.

    cruft 2.16 builds its context without it (cruft/_commands/utils/cookiecutter.py calls
    ``prompt_for_config``, imported from cookiecutter.prompt, on a context without it), so this
    template's hook (which reads it to find answers given as templates) fails under plain
    ``cruft update``; inside ``update`` we add it exactly as cookiecutter/main.py does, before
    prompting. PatchVersionError on another cruft.
    """
    require(CRUFT_COOKIECUTTER_COPY)
    from cruft._commands.utils import cookiecutter as cruft_cookiecutter

    original = cruft_cookiecutter.prompt_for_config

    def prompt_with_copy(context: dict[str, Any], no_input: bool = False) -> Any:
        context.setdefault(
            "_cookiecutter",
            {k: v for k, v in context["cookiecutter"].items() if not k.startswith("_")},
        )
        return original(context, no_input)

    cruft_cookiecutter.prompt_for_config = prompt_with_copy
    try:
        yield
    finally:
        cruft_cookiecutter.prompt_for_config = original


# ---- MkDocs builds: the theme's files listed once, the emoji index built once ----


def list_installed_templates_once(installed: list[Path]) -> None:
    """Every build of a run uses the same installed theme, so listing its ~15,000 files
    (Material ships its icons) once per worker instead of once per service changes nothing.
    Folders outside ``installed`` (techdocs-core adds a temporary one per build) are listed
    every time."""
    if not enabled(THEME_LISTING_ONCE):
        return
    original = jinja2.FileSystemLoader.list_templates
    listed: dict[str, list[str]] = {}

    def names_in(searchpath: str) -> list[str]:
        if searchpath in listed:
            return listed[searchpath]
        found = original(jinja2.FileSystemLoader(searchpath))
        if any(Path(searchpath).is_relative_to(root) for root in installed):
            listed[searchpath] = found
        return found

    def list_templates(self: jinja2.FileSystemLoader) -> list[str]:
        return sorted({name for path in self.searchpath for name in names_in(path)})

    jinja2.FileSystemLoader.list_templates = list_templates  # type: ignore[method-assign]  # patch


def skip_dot_paths_for_theme_files() -> None:
    """Let MkDocs' theme-file filter skip the dot paths it refuses anyway, without testing each.

    ``Files.add_files_from_theme`` (mkdocs 1.6.1, structure/files.py) lists every theme file
    and drops, among others, every name matching '.*' or '*/.*' (fnmatch's '*' also matches
    '/'): exactly the names that start with '.' or contain '/.'. Material's 14,000 icons are
    such names; dropping them before the filter gives the same list for a fraction of the work.
    The filter is recognised by its ``__qualname__``, which is why the MkDocs version counts.
    """
    if not enabled(THEME_DOT_PATHS):
        return
    original = Environment.list_templates

    def list_templates(self: Environment, extensions: Any = None, filter_func: Any = None) -> Any:
        if getattr(filter_func, "__qualname__", "") != "Files.add_files_from_theme.<locals>.filter":
            return original(self, extensions, filter_func)
        names = self.loader.list_templates() if self.loader else []
        kept = [n for n in names if not n.startswith(".") and "/." not in n]
        return [n for n in kept if filter_func(n)]

    Environment.list_templates = list_templates  # type: ignore[method-assign]  # the patch itself


def one_emoji_index_per_worker() -> None:
    """Build pymdownx's emoji index once per worker instead of deep-copying it for every page.

    techdocs-core enables ``pymdownx.emoji``, whose index functions (pymdown-extensions 11.0.1,
    pymdownx/emoji.py: ``emojione``, ``gemoji``) return a ``copy.deepcopy`` of a large table for
    every Markdown instance (every page): about a third of a page's build. The
    extension only reads the index (``.get`` lookups and its name), so one copy per worker
    renders the same pages.
    """
    if not enabled(EMOJI_INDEX_ONCE):
        return
    import pymdownx.emoji

    for name in ("emojione", "gemoji"):
        build_index = getattr(pymdownx.emoji, name)
        cache: dict[str, Any] = {}

        def index(options: Any, md: Any, build_index: Any = build_index, cache: Any = cache) -> Any:
            if "index" not in cache:
                cache["index"] = build_index(options, md)
            return cache["index"]

        setattr(pymdownx.emoji, name, index)
