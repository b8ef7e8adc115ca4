"""The fleet's index page: every service with owner, lifecycle and links, filtered as you type.

One static HTML file with the rows rendered in (it works without JavaScript); a few lines of
script filter them by name and owner and keep the filter in the address (``?q=``). Every value
is HTML-escaped: descriptions are free text from the fleet file.

Each card also carries the service's review dates, from the answers it was rendered with (its
.cruft.json, so the index says what the pages say), and the page marks the reviews overdue on
the day it is built, and says which day that was: a static page cannot know later days.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from service_runbooks.cruft_state import read_cruft_state
from service_runbooks.drill.report import LastDrill
from service_runbooks.rules import RULES_BY_FIELD, review_due, review_state

REVIEW_FIELDS = ("reviewed_on", "review_every_days")
# The rollback runbook's address in a service's site: the template's runbooks/rollback.md (the
# runbook list of text.jinja), as MkDocs writes it with use_directory_urls, its default
# (https://www.mkdocs.org/user-guide/configuration/#use_directory_urls).
ROLLBACK_PAGE = "runbooks/rollback/"
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
INDEX_HTML, SERVICES_JSON = "index.html", "services.json"  # in the site folder


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Alert:
    """One alert of a service's monitoring/alerts.yaml, and its page in the service's site."""

    name: str
    severity: str = ""
    page: str | None = None  # relative URL of the alert's page, when the site was built


@dataclass(frozen=True)
class ServiceCard:
    """What the index shows about one service, read from its catalog-info.yaml."""

    name: str
    owner: str = ""
    lifecycle: str = ""
    system: str = ""
    description: str = ""
    docs: str | None = None  # relative URL of its site, when it was built
    rollback: str | None = None  # relative URL of its rollback runbook, when it was built
    links: tuple[Link, ...] = field(default_factory=tuple)
    alerts: tuple[Alert, ...] = field(default_factory=tuple)
    reviewed_on: str = ""  # YYYY-MM-DD; empty when the service was rendered without one
    review_due: str = ""  # reviewed_on plus review_every_days (rules.review_due)
    drill: LastDrill | None = None  # its last `service-runbooks drill` (--drill-reports)

    def review_state(self, today: date) -> str:
        """rules.review_state ("overdue", "ahead", "in time"), or "" without a date."""
        if not self.review_due:
            return ""
        reviewed_on, due = date.fromisoformat(self.reviewed_on), date.fromisoformat(self.review_due)
        return review_state(reviewed_on, due, today)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    """A catalog value shown as text: strings and numbers only (a list or mapping is odd)."""
    plain = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return str(value) if plain else ""


def read_alerts(service: Path, has_site: bool) -> tuple[tuple[Alert, ...], list[str]]:
    """The alerts of monitoring/alerts.yaml (none without the file) and what was odd about it.

    Each alert's page is alerts/<name in lowercase>/ in the service's site, where the template
    puts it (and where its runbook_url points).
    """
    path = service / "monitoring" / "alerts.yaml"
    if not path.is_file():
        return (), []
    try:
        rules = yaml.load(path.read_text(encoding="utf-8"), _Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return (), [f"monitoring/alerts.yaml cannot be read ({type(error).__name__})"]
    groups = _mapping(rules).get("groups")
    if not isinstance(groups, list):
        return (), ["monitoring/alerts.yaml has no list of groups"]
    alerts = []
    for group in groups:
        rules_of_group = _mapping(group).get("rules")
        for rule in rules_of_group if isinstance(rules_of_group, list) else []:
            name = _text(_mapping(rule).get("alert"))
            if name:
                severity = _text(_mapping(_mapping(rule).get("labels")).get("severity"))
                page = f"{service.name}/alerts/{name.lower()}/" if has_site else None
                alerts.append(Alert(name, severity, page))
    return tuple(alerts), []


def read_review(service: Path) -> tuple[str, str, list[str]]:
    """reviewed_on and the due date from the answers in the service's .cruft.json, and what
    was odd about them; empty dates, and no warning, for a service rendered without them."""
    state = read_cruft_state(service) or {}
    answers = _mapping(_mapping(state.get("context")).get("cookiecutter"))
    if "reviewed_on" not in answers:
        return "", "", []
    odd = [
        f".cruft.json: {name}: {reason}"
        for name in REVIEW_FIELDS
        if (reason := RULES_BY_FIELD[name].check(answers.get(name, ""))) is not None
    ]
    if odd:
        return "", "", [f"{'; '.join(odd)} (no review date shown)"]
    return answers["reviewed_on"], review_due(answers).isoformat(), []


def read_card(
    service: Path, has_site: bool, has_rollback: bool = False
) -> tuple[ServiceCard, list[str]]:
    """The card of a service folder and what was odd about its catalog-info.yaml;
    ``has_rollback``: its site holds the rollback runbook (``ROLLBACK_PAGE``).

    A service rendered without an owner has no catalog-info.yaml (the template writes none
    rather than an entity owned by nobody): its card is bare, and that is no warning. An odd
    one (not YAML, or values of the wrong kind) gives a bare card and a warning, never a failed
    build.
    """
    warnings = []
    try:
        entity = yaml.load((service / "catalog-info.yaml").read_text(encoding="utf-8"), _Loader)
    except FileNotFoundError:
        entity = None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        warnings.append(f"catalog-info.yaml cannot be read ({type(error).__name__})")
        entity = None
    if entity is not None and not isinstance(entity, dict):
        warnings.append("catalog-info.yaml is not a mapping")
    entity = _mapping(entity)
    for key in ("metadata", "spec"):
        if entity.get(key) is not None and not isinstance(entity[key], dict):
            warnings.append(f"catalog-info.yaml: {key} is not a mapping")
    metadata, spec = _mapping(entity.get("metadata")), _mapping(entity.get("spec"))
    alerts, alert_warnings = read_alerts(service, has_site)
    warnings += alert_warnings
    reviewed_on, due, review_warnings = read_review(service)
    warnings += review_warnings
    raw_links = metadata.get("links")
    links = [_link(item) for item in raw_links] if isinstance(raw_links, list) else []
    card = ServiceCard(
        name=_text(metadata.get("name")) or service.name,
        owner=_text(spec.get("owner")),
        lifecycle=_text(spec.get("lifecycle")),
        system=_text(spec.get("system")),
        description=_text(metadata.get("description")),
        docs=f"{service.name}/" if has_site else None,
        rollback=f"{service.name}/{ROLLBACK_PAGE}" if has_site and has_rollback else None,
        links=tuple(link for link in links if link is not None),
        alerts=alerts,
        reviewed_on=reviewed_on,
        review_due=due,
    )
    return card, warnings


def _link(item: object) -> Link | None:
    item = _mapping(item)
    url = _text(item.get("url"))
    return Link(_text(item.get("title")) or url, url) if url else None


def clickable(url: str) -> bool:
    """Only http(s) links are links: javascript:, data: and the like are shown as text."""
    try:
        return urlsplit(url.strip()).scheme.lower() in ("http", "https")
    except ValueError:  # not a URL at all (say, "http://[")
        return False


_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:72rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 1rem}
label{font-weight:600;margin-right:.5rem}
input{font:inherit;padding:.4rem .6rem;width:min(28rem,100%);
  border:1px solid #888;border-radius:4px}
table{border-collapse:collapse;width:100%;margin-top:1rem;background:#fff}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f0f0f0}
.lifecycle{font-size:.85rem;padding:.1rem .4rem;border-radius:3px;background:#e8eefc}
.lifecycle-deprecated{background:#fde2e1}.lifecycle-experimental{background:#fff4d6}
.links a{margin-right:.6rem}
.alerts{font-size:.85rem}.alerts a{margin-right:.2rem}
.muted{color:#666}
.review-overdue,.review-ahead{color:#a40e26;font-weight:600}
td{overflow-wrap:anywhere}
.rollback{display:inline-block;margin-top:.3rem;padding:.15rem .6rem;border-radius:4px;
  background:#a40e26;color:#fff;font-weight:600;text-decoration:none}
[hidden]{display:none!important}
@media (max-width:600px){
  main{padding:1rem .75rem}
  thead{display:none}
  table,tbody,tr,td{display:block}
  table{background:none}
  tr{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 .75rem;padding:.5rem .75rem}
  td{border:0;padding:.1rem 0}
  td:first-child{font-size:1.1rem;font-weight:600}
  td:empty{display:none}
  td:not(:first-child)::before{content:attr(data-label) ": ";font-weight:600}
}
.drill-failed{color:#a40e26;font-weight:600}.drill-passed{color:#1a7f37}
.drill-steps{font-size:.85rem}
"""
# Below 600 px wide (a phone), each row is a card: one cell a line, each named by its column
# (data-label); "[hidden]" keeps a filtered-out row hidden although rows are display:block there.

_SCRIPT = """
(function () {
  var input = document.getElementById("q");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tbody tr"));
  var count = document.getElementById("count");
  var none = document.getElementById("none");
  function apply() {
    var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " services";
    none.hidden = shown !== 0;
    var url = new URL(window.location.href);
    if (input.value) { url.searchParams.set("q", input.value); }
    else { url.searchParams.delete("q"); }
    window.history.replaceState(null, "", url);
  }
  input.value = new URL(window.location.href).searchParams.get("q") || "";
  input.addEventListener("input", apply);
  apply();
})();
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _review(card: ServiceCard, today: date) -> str:
    """The review cell: the due date, marked when it has passed (or the date is ahead)."""
    state = card.review_state(today)
    if not state:
        return '<span class="muted">no review date</span>'
    due = f"due {_e(card.review_due)}"
    if state == "overdue":
        return f'<span class="review-overdue">overdue</span> ({due})'
    if state == "ahead":
        return f'<span class="review-ahead">reviewed {_e(card.reviewed_on)}: after today?</span>'
    return due


COLUMNS = ("Service", "Owner", "Lifecycle", "Description", "Links", "Alerts", "Review", "Drill")


def _cell(column: str, content: str, css_class: str = "", data: str = "") -> str:
    """One cell, named by its column (shown before it when rows are cards, on a phone)."""
    attrs = f' class="{css_class}"' if css_class else ""
    return f'<td data-label="{_e(column)}"{attrs}{data}>{content}</td>'


def _drill(card: ServiceCard) -> str:
    """The last drill's cell: when, passed or failed, and the steps that failed."""
    drill = card.drill
    if drill is None:
        return '<span class="muted">no drill</span>'
    when = f'<time datetime="{_e(drill.drilled_at)}">{_e(drill.drilled_at[:10])}</time>'
    if drill.passed:
        return f'<span class="drill-passed">passed</span> {when}'
    steps = ", ".join(_e(step) for step in drill.failed_steps)
    return (
        f'<span class="drill-failed">failed</span> {when}'
        f'<br><span class="drill-steps">failed steps: {steps}</span>'
    )


def _drill_state(card: ServiceCard) -> str:
    if card.drill is None:
        return ""
    return "passed" if card.drill.passed else "failed"


def _row(card: ServiceCard, today: date) -> str:
    name = (
        f'<a class="name" href="{_e(card.docs)}">{_e(card.name)}</a>'
        if card.docs
        else _e(card.name)
    )
    if not card.docs:
        name += ' <span class="muted">(no site)</span>'
    if card.rollback:
        name += f'<br><a class="rollback" href="{_e(card.rollback)}">Rollback</a>'
    links = " ".join(
        f'<a href="{_e(link.url)}">{_e(link.title)}</a>'
        if clickable(link.url)
        else f'<span class="muted">{_e(link.title)}: {_e(link.url)}</span>'
        for link in card.links
    )
    lifecycle = (
        f'<span class="lifecycle lifecycle-{_e(card.lifecycle)}">{_e(card.lifecycle)}</span>'
        if card.lifecycle
        else ""
    )
    system = f'<br><span class="muted">system: {_e(card.system)}</span>' if card.system else ""
    alerts = " ".join(
        (f'<a href="{_e(alert.page)}">{_e(alert.name)}</a>' if alert.page else _e(alert.name))
        + (f' <span class="muted">{_e(alert.severity)}</span>' if alert.severity else "")
        for alert in card.alerts
    )
    search = f"{card.name} {card.owner}".lower()
    review = f' data-review="{_e(card.review_state(today))}"'
    cells = [
        _cell("Service", name),
        _cell("Owner", f"{_e(card.owner)}{system}"),
        _cell("Lifecycle", lifecycle),
        _cell("Description", _e(card.description)),
        _cell("Links", links, "links"),
        _cell("Alerts", alerts, "alerts"),
        _cell("Review", _review(card, today), "review", review),
        _cell("Drill", _drill(card), "drill", f' data-drill="{_drill_state(card)}"'),
    ]
    return f'<tr data-search="{_e(search)}">{"".join(cells)}</tr>'


def ordered(cards: list[ServiceCard]) -> list[ServiceCard]:
    """By name (then by content, for two odd cards of one name): the same order whichever
    order the cards come in, so merged shard indexes equal the whole fleet's."""
    return sorted(cards, key=lambda c: (c.name, json.dumps(asdict(c), sort_keys=True)))


def index_html(cards: list[ServiceCard], today: date, title: str = "Service runbooks") -> str:
    """The page; reviews are judged on ``today``, the day it is built, which it names."""
    rows = "\n".join(_row(card, today) for card in ordered(cards))
    overdue = sum(card.review_state(today) == "overdue" for card in cards)
    as_of = f"{today.isoformat()}, the day this index was built"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>{_e(title)}</h1>
<label for="q">Filter by name or owner</label>
<input id="q" type="search" placeholder="e.g. payments or team-payments" autocomplete="off">
<p id="count" class="muted" aria-live="polite">{len(cards)} services</p>
<p id="reviews">{overdue} of {len(cards)} services overdue for review as of {as_of}.</p>
<table>
<thead><tr>{"".join(f"<th>{_e(column)}</th>" for column in COLUMNS)}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p id="none" hidden>No service matches.</p>
</main>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def with_drills(
    cards: list[ServiceCard], drills: Mapping[str, LastDrill] | None
) -> list[ServiceCard]:
    """The cards with each service's last drill (``--drill-reports``), when drills are given."""
    if drills is None:
        return cards
    return [replace(card, drill=drills.get(card.name, card.drill)) for card in cards]


def write_index(
    site: Path,
    cards: list[ServiceCard],
    today: date,
    drills: Mapping[str, LastDrill] | None = None,
) -> None:
    """The index page (reviews judged on ``today``) and its machine-readable list, in the site
    folder; each card with its last drill, when ``drills`` are given."""
    from service_runbooks.fleet.workdir import write_atomic

    cards = with_drills(cards, drills)
    write_atomic(site / INDEX_HTML, index_html(cards, today))
    write_atomic(site / SERVICES_JSON, services_json(cards))


def services_json(cards: list[ServiceCard]) -> str:
    """The same list for machines, in the same order."""
    listed = [asdict(card) for card in ordered(cards)]
    return json.dumps(listed, indent=2, ensure_ascii=False) + "\n"
