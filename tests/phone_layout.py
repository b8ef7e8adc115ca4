"""What an on-call engineer needs from a built runbook site in a real browser, phone or desktop:
nothing wider than the screen, a copy button on every code block, code in admonitions at the
size of the body's, no line numbers on short blocks, text blocks (PromQL) wrapped; and where a
heading sits on the first screen. Each check returns the problems it found (none: it holds), so
a test asserts ``== []`` and a negative control asserts it is not empty.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from service_runbooks.phone_lines import PHONE_COLUMNS

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
SHORT_BLOCK_LINES = 5  # a block of this many lines or fewer shows no line numbers

# Material mounts its copy buttons with its script once the page has loaded; this long at most.
COPY_BUTTONS_MS = 5_000

# The code blocks of the page's article (Material's navigation and search hold none). A copy
# button is a button whose data-clipboard-target selects the block's <code>: Material's
# clipboard component (https://squidfunk.github.io/mkdocs-material/reference/code-blocks/#code-copy-button).
_BLOCKS = "document.querySelectorAll('article pre > code')"
_UNCOPYABLE = f"""() => [...{_BLOCKS}].filter(code => ![...code.parentElement
  .querySelectorAll('button[data-clipboard-target]')]
  .some(b => document.querySelector(b.dataset.clipboardTarget) === code))
  .map(code => code.textContent.trim().split('\\n')[0].slice(0, 60))"""

_OVERFLOW = """() => {
  const width = window.innerWidth;
  if (document.scrollingElement.scrollWidth <= width) return null;
  // The widest elements that stick out, to say what to fix.
  const out = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > width + 1
      && !e.closest('pre, .md-typeset__scrollwrap, .md-sidebar, .md-nav'))
    .slice(0, 3).map(e => `${e.tagName.toLowerCase()}.${e.className}`);
  return `${document.scrollingElement.scrollWidth} px wide in ${width} px (${out.join(', ')})`;
}"""

_CODE_SIZES = """() => {
  const size = e => getComputedStyle(e).fontSize;
  const inBox = e => e.closest('.admonition, details');
  const codes = [...document.querySelectorAll('article pre > code')];
  return {body: codes.filter(c => !inBox(c)).map(size), boxed: codes.filter(inBox).map(size)};
}"""

_NUMBERED_SHORT_BLOCKS = """(most) => [...document.querySelectorAll('article .highlighttable')]
  .filter(t => t.querySelectorAll('.linenodiv .normal').length <= most)
  .filter(t => t.querySelector('.linenos').getBoundingClientRect().width > 0)
  .map(t => t.querySelector('code').textContent.trim().split('\\n')[0].slice(0, 60))"""

_CUT_TEXT_BLOCKS = """() => [...document.querySelectorAll('article .language-text pre > code')]
  .filter(c => c.scrollWidth > c.clientWidth + 1)
  .map(c => c.textContent.trim().split('\\n')[0].slice(0, 60))"""

# How many characters of a line each shell block shows without scrolling: the width of its
# code box less its padding, over the width of one character of its font (measured, not assumed).
# A block not shown (a closed <details>, another tab) has no width and is left out.
_SHELL_COLUMNS = """() => [...document.querySelectorAll('article .language-bash pre > code')]
  .filter(code => code.getClientRects().length > 0)
  .map(code => {
    const style = getComputedStyle(code);
    const probe = document.createElement('span');
    probe.textContent = 'x'.repeat(100);
    code.append(probe);
    const character = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const room = code.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return [Math.floor(room / character), code.textContent.trim().split('\\n')[0].slice(0, 60)];
  })"""

_HEADING_TOP = """(title) => {
  const found = [...document.querySelectorAll('article h1, article h2, article h3,'
    + ' article .admonition-title, article summary')]
    .find(e => e.textContent.trim().startsWith(title));
  return found ? found.getBoundingClientRect().top + window.scrollY : null;
}"""


def overflow(page: Page) -> list[str]:
    """The page scrolls sideways (``document.scrollingElement.scrollWidth > innerWidth``)."""
    found = page.evaluate(_OVERFLOW)
    return [found] if found else []


def uncopyable_blocks(page: Page) -> list[str]:
    """The code blocks without a copy button (their first line), once Material's script ran."""
    with suppress(PlaywrightTimeoutError):  # reported below, block by block
        page.wait_for_function(f"({_UNCOPYABLE})().length === 0", timeout=COPY_BUTTONS_MS)
    return page.evaluate(_UNCOPYABLE)


def boxed_code_size_problems(page: Page) -> list[str]:
    """Code blocks in an admonition whose font size differs from those of the page body."""
    sizes = page.evaluate(_CODE_SIZES)
    body = set(sizes["body"])
    return (
        [
            f"{size} in an admonition, {sorted(body)} in the body"
            for size in sorted(set(sizes["boxed"]) - body)
        ]
        if body
        else []
    )


def numbered_short_blocks(page: Page) -> list[str]:
    """Blocks of ``SHORT_BLOCK_LINES`` lines or fewer that show line numbers."""
    return page.evaluate(_NUMBERED_SHORT_BLOCKS, SHORT_BLOCK_LINES)


def cut_text_blocks(page: Page) -> list[str]:
    """Text blocks (a PromQL expression, a command's output) that scroll instead of wrapping."""
    return page.evaluate(_CUT_TEXT_BLOCKS)


def narrow_shell_blocks(page: Page) -> list[str]:
    """Shell blocks that show fewer than ``PHONE_COLUMNS`` characters a line: the commands were
    broken to that width (``service_runbooks.phone_lines``), so a line of them would scroll."""
    return [
        f"{columns} columns: {first}"
        for columns, first in page.evaluate(_SHELL_COLUMNS)
        if columns < PHONE_COLUMNS
    ]


def reading_problems(page: Page) -> list[str]:
    """Every check above on the page as it is shown now."""
    return (
        overflow(page)
        + [f"no copy button: {block}" for block in uncopyable_blocks(page)]
        + boxed_code_size_problems(page)
        + [f"line numbers on a short block: {block}" for block in numbered_short_blocks(page)]
        + [f"cut at the right edge: {block}" for block in cut_text_blocks(page)]
        + [f"commands scroll sideways: {block}" for block in narrow_shell_blocks(page)]
    )


def heading_in_top_half(page: Page, title: str) -> bool:
    """Whether the heading (or admonition title) starting with ``title`` starts in the top half
    of the first screen, before any scrolling: what a reader sees on opening the page."""
    top = page.evaluate(_HEADING_TOP, title)
    return top is not None and top < page.viewport_size["height"] / 2


def site_pages(site: Path) -> list[str]:
    """Every page of a built MkDocs site, as its path under the site's root ("" for home)."""
    pages = [path.parent.relative_to(site).as_posix() for path in site.rglob("index.html")]
    return sorted("" if page == "." else f"{page}/" for page in pages if page != "search")
