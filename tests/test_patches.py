"""The library patches check the versions they were written against: a speed patch on another
version turns itself off and says so, a correctness patch stops with a clear error."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import cookiecutter.generate
import jinja2
import pymdownx.emoji
import pytest
from jinja2 import Environment

from service_runbooks import patches
from service_runbooks.errors import PatchVersionError

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    """requirements-dev.txt's name==version lines, names lowercased."""
    text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def versions_but(library: str, found: str | None) -> Callable[[str], str | None]:
    """The installed versions, except ``library``, which is ``found``."""
    return lambda name: found if name == library else patches.installed_version(name)


@pytest.fixture(autouse=True)
def real_versions_after() -> Iterator[None]:
    yield
    patches.check_versions(out=io.StringIO())


def test_each_patch_is_written_for_the_pinned_and_installed_version() -> None:
    pinned = pins()
    for patch in patches.PATCHES:
        assert pinned[patch.library.lower()] == patch.written_for, patch.name
        assert patches.installed_version(patch.library) == patch.written_for, patch.name
    assert patches.check_versions(out=io.StringIO()) == {}


@pytest.mark.parametrize("patch", [p for p in patches.PATCHES if not p.corrects], ids=str)
def test_a_speed_patch_on_another_version_is_off_and_says_so(patch: patches.Patch) -> None:
    out = io.StringIO()
    patches.check_versions(versions_but(patch.library, "0.0.1"), out)
    warning = out.getvalue()
    assert patch.library in warning and "0.0.1" in warning and patch.written_for in warning
    assert patch.name in warning and "off" in warning
    assert not patches.enabled(patch)
    # Negative control: on its own version it is on, and nothing is said.
    out = io.StringIO()
    patches.check_versions(out=out)
    assert patches.enabled(patch) and out.getvalue() == ""


def test_an_uninstalled_library_turns_its_patch_off() -> None:
    out = io.StringIO()
    patches.check_versions(versions_but("pymdown-extensions", None), out)
    assert "pymdown-extensions (not installed)" in out.getvalue()
    assert not patches.enabled(patches.EMOJI_INDEX_ONCE)


def test_jinja_memos_stay_off_on_another_jinja() -> None:
    patches.check_versions(versions_but("Jinja2", "3.2.0"), io.StringIO())
    with patches.jinja_memos(modules=True):
        assert Environment.compile is patches._ORIGINAL_COMPILE
        assert jinja2.Template.make_module is patches._ORIGINAL_MAKE_MODULE
    # Negative control: on the pinned Jinja they are installed.
    patches.check_versions(out=io.StringIO())
    with patches.jinja_memos(modules=True):
        assert Environment.compile is not patches._ORIGINAL_COMPILE
        assert jinja2.Template.make_module is not patches._ORIGINAL_MAKE_MODULE


def test_the_emoji_and_binary_patches_leave_the_library_alone_when_off(monkeypatch) -> None:
    monkeypatch.setattr(pymdownx.emoji, "gemoji", pymdownx.emoji.gemoji)  # restored after
    monkeypatch.setattr(cookiecutter.generate, "is_binary", cookiecutter.generate.is_binary)
    gemoji, is_binary = pymdownx.emoji.gemoji, cookiecutter.generate.is_binary
    patches.check_versions(
        lambda name: {"pymdown-extensions": "10.0", "cookiecutter": "2.8.0"}.get(
            name, patches.installed_version(name)
        ),
        io.StringIO(),
    )
    patches.one_emoji_index_per_worker()
    patches.sniff_each_file_once()
    assert pymdownx.emoji.gemoji is gemoji and cookiecutter.generate.is_binary is is_binary
    # Negative control: on the pinned versions both are replaced.
    patches.check_versions(out=io.StringIO())
    patches.one_emoji_index_per_worker()
    patches.sniff_each_file_once()
    assert pymdownx.emoji.gemoji is not gemoji
    assert cookiecutter.generate.is_binary is not is_binary


def test_the_cruft_correction_stops_on_another_cruft() -> None:
    patches.check_versions(versions_but("cruft", "2.17.0"), io.StringIO())
    with pytest.raises(PatchVersionError) as raised, patches.cookiecutter_copy_for_cruft():
        pass
    message = str(raised.value)
    assert "cruft 2.17.0 is installed" in message and "cruft 2.16.0" in message
    assert "cruft==2.16.0" in message
    # Negative control: on the pinned cruft the correction applies, and is undone after.
    from cruft._commands.utils import cookiecutter as cruft_cookiecutter

    original = cruft_cookiecutter.prompt_for_config
    patches.check_versions(out=io.StringIO())
    with patches.cookiecutter_copy_for_cruft():
        assert cruft_cookiecutter.prompt_for_config is not original
    assert cruft_cookiecutter.prompt_for_config is original


def test_a_correction_on_another_version_says_nothing_until_it_is_needed() -> None:
    out = io.StringIO()
    assert "cruft" in " ".join(patches.check_versions(versions_but("cruft", "2.17.0"), out))
    assert out.getvalue() == ""  # not a warning: an error, when cruft update runs


def test_no_other_module_assigns_to_another_library() -> None:
    """The fence: only patches.py replaces a library's attributes."""
    assigning = re.compile(
        r"^\s*(jinja2|cookiecutter|pymdownx|cruft|Environment|Template|mkdocs)[\w.]*\.\w+\s*=[^=]"
        r"|setattr\((jinja2|cookiecutter|pymdownx|cruft)",
        re.M,
    )
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "src").rglob("*.py")
        if path.name != "patches.py" and assigning.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    # Negative control: the search finds the patches themselves.
    assert assigning.search((ROOT / "src/service_runbooks/patches.py").read_text("utf-8"))


def test_the_theme_and_hook_patches_leave_the_library_alone_when_off(monkeypatch) -> None:
    import cookiecutter.hooks

    monkeypatch.setattr(Environment, "list_templates", Environment.list_templates)
    monkeypatch.setattr(
        jinja2.FileSystemLoader, "list_templates", jinja2.FileSystemLoader.list_templates
    )
    monkeypatch.setattr(cookiecutter.hooks, "run_script", cookiecutter.hooks.run_script)
    replaced = (
        lambda: Environment.list_templates,
        lambda: jinja2.FileSystemLoader.list_templates,
        lambda: cookiecutter.hooks.run_script,
    )
    before = [get() for get in replaced]
    older = {"mkdocs": "1.5.3", "Jinja2": "3.1.5", "cookiecutter": "2.6.0"}
    patches.check_versions(
        lambda name: older.get(name, patches.installed_version(name)), io.StringIO()
    )
    patches.skip_dot_paths_for_theme_files()
    patches.list_installed_templates_once([])
    patches.run_hooks_in_process()
    assert [get() for get in replaced] == before
    # Negative control: on the pinned versions all three are replaced.
    patches.check_versions(out=io.StringIO())
    patches.skip_dot_paths_for_theme_files()
    patches.list_installed_templates_once([])
    patches.run_hooks_in_process()
    assert all(get() is not old for get, old in zip(replaced, before, strict=True))
