"""``service-runbooks check --prometheus URL``: every series each rendered rule reads, looked up
in that Prometheus for the service.

The selectors come from each service's rendered ``monitoring/alerts.yaml`` (parsed with
promql-parser, a PromQL parser: https://pypi.org/project/promql-parser/), never from its
answers: what is checked is what Prometheus will evaluate. A selector whose metric is recorded
by a rule of the same file is that rule's output, not Prometheus' input, and is not looked up.
Each other selector is asked as ``count(SELECTOR)`` over the HTTP API's instant query
(https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries). One that finds
nothing is narrowed: the metric alone, then each matcher alone with the metric (and, when each
matches alone, the selector without each one), so the report names the part with no match:
the metric name, ``job``, the namespace label (a matcher on the rule's own namespace), the error
label (a matcher the rule also reads the metric without: the errors among all requests), or
another label, and whether that label exists on the metric at all.

Some series exist only while something is wrong or for objects a service may not have (a
waiting container, a HorizontalPodAutoscaler, a mounted claim), and a healthy service has no
error series yet: when only such a series, or only the error label's value, finds nothing while
its labels exist, the check says so and does not fail.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import promql_parser
import yaml

from service_runbooks.errors import PrometheusError

RULES_FILE = Path("monitoring") / "alerts.yaml"
TIMEOUT = 10.0  # seconds for one answer of the Prometheus API

# PromQL's matching operators (https://prometheus.io/docs/prometheus/latest/querying/basics/#time-series-selectors).
_OPS = (
    (promql_parser.MatchOp.Equal, "="),
    (promql_parser.MatchOp.NotEqual, "!="),
    (promql_parser.MatchOp.Re, "=~"),
    (promql_parser.MatchOp.NotRe, "!~"),
)


def _op(op: promql_parser.MatchOp) -> str:
    """A matcher's operator as PromQL writes it (the library's enum is not hashable)."""
    return next(text for known, text in _OPS if op == known)


# Metrics (by name or name prefix) whose exporter writes a series only while a state holds or
# for objects a service may not have: none now is not an error.
ONLY_SOMETIMES = {
    # https://github.com/kubernetes/kube-state-metrics/issues/1982 (a maintainer: no waiting
    # container, no series); pod-metrics.md: https://github.com/kubernetes/kube-state-metrics/blob/main/docs/metrics/workload/pod-metrics.md
    "kube_pod_container_status_waiting_reason": "only while a container waits",
    "kube_pod_container_status_last_terminated_reason": "only once a container has terminated",
    "kube_pod_spec_volumes_persistentvolumeclaims_info": "only for pods that mount a claim",
    # https://github.com/kubernetes/kube-state-metrics/blob/main/docs/metrics/storage/persistentvolumeclaim-metrics.md
    "kube_persistentvolumeclaim_": "only for PersistentVolumeClaims",
    # https://github.com/kubernetes/kube-state-metrics/blob/main/docs/metrics/workload/horizontalpodautoscaler-metrics.md
    "kube_horizontalpodautoscaler_": "only for a HorizontalPodAutoscaler",
    # one series per mounted claim: https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/metrics/collectors/volume_stats.go
    "kubelet_volume_stats_": "only for mounted PersistentVolumeClaims",
    # https://argoproj.github.io/argo-rollouts/features/controller-metrics/
    "analysis_run_info": "only while AnalysisRuns exist",
}


def only_sometimes(metric: str) -> str | None:
    """Why ``metric`` may have no series on a healthy service, or None when it must have one."""
    for name, why in ONLY_SOMETIMES.items():
        if metric == name or (name.endswith("_") and metric.startswith(name)):
            return why
    return None


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def promql(self) -> str:
        # A PromQL string literal takes Go's escapes, which JSON's are a subset of
        # (https://prometheus.io/docs/prometheus/latest/querying/basics/#string-literals).
        return f"{self.label}{self.op}{json.dumps(self.value, ensure_ascii=False)}"


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...]

    def promql(self, matchers: Iterable[Matcher] | None = None) -> str:
        chosen = self.matchers if matchers is None else tuple(matchers)
        return self.metric + "{" + ",".join(m.promql() for m in chosen) + "}"

    def without(self, matcher: Matcher) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m != matcher)


@dataclass(frozen=True)
class RuleReads:
    """One rule of a rules file and the selectors it reads from Prometheus."""

    kind: str  # "alert" or "recording rule"
    name: str
    namespace: str | None  # the rule's own namespace label
    selectors: tuple[Selector, ...]

    def filters(self, selector: Selector) -> set[Matcher]:
        """The matchers of ``selector`` the rule also reads its metric without."""
        return {
            m
            for m in selector.matchers
            if any(
                other.metric == selector.metric and set(other.matchers) == set(selector.without(m))
                for other in self.selectors
            )
        }


def selectors_in(expr: str) -> list[Selector]:
    """Every vector selector of a PromQL expression (those inside range selectors too), in order.
    ValueError when it does not parse."""
    found: list[Selector] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            # A selector without a name keeps its __name__ matchers (its metric stays "").
            matchers = tuple(
                Matcher(m.name, _op(m.op), m.value)
                for m in node.matchers.matchers
                if m.name != "__name__" or not node.name
            )
            found.append(Selector(node.name or "", matchers))

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return found


def _rules_of(rules_file: Path) -> list[dict]:
    """The rules of a Prometheus rules file (``groups:``, each with ``rules:``); ValueError
    saying why when it is not one (a file edited by hand, say)."""
    try:
        groups = yaml.safe_load(rules_file.read_text(encoding="utf-8"))["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if all(isinstance(r, dict) and ("alert" in r or "record" in r) for r in rules):
            return rules
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ValueError(f"not a Prometheus rules file ({error})") from None
    raise ValueError("not a Prometheus rules file (a rule without alert or record)")


def rules_reads(rules_file: Path) -> list[RuleReads]:
    """Each rule of a Prometheus rules file with the selectors it reads; those of metrics a rule
    of the file records are left out (the rule, not Prometheus, gives them). ValueError saying
    why when the file is not a rules file or an expression does not parse."""
    rules = _rules_of(rules_file)
    recorded = {rule["record"] for rule in rules if "record" in rule}
    reads = []
    for rule in rules:
        kind, name = (
            ("alert", rule["alert"]) if "alert" in rule else ("recording rule", rule["record"])
        )
        try:
            selectors = selectors_in(str(rule.get("expr", "")))
        except ValueError as error:  # promql-parser's parse error
            raise ValueError(f"{kind} {name}: its expression does not parse: {error}") from None
        labels = rule.get("labels")
        namespace = labels.get("namespace") if isinstance(labels, dict) else None
        kept = tuple(dict.fromkeys(s for s in selectors if s.metric not in recorded))
        reads.append(RuleReads(kind, str(name), namespace, kept))
    return reads


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to report, not to follow (it could lead to another scheme)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Prometheus:
    """Instant queries over a Prometheus server's HTTP API, each asked once."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PrometheusError(url, "must be an http:// or https:// URL")
        self.url = url
        self.endpoint = url.rstrip("/") + "/api/v1/query"
        self.opener = urllib.request.build_opener(_NoRedirect)
        self.answers: dict[str, list[dict]] = {}

    def count(self, selector: str) -> int:
        """How many series ``selector`` matches now."""
        result = self.query(f"count({selector})")
        try:
            return int(float(result[0]["value"][1])) if result else 0
        except (KeyError, IndexError, TypeError, ValueError):
            raise PrometheusError(
                self.url, f"{self.endpoint} did not answer as Prometheus' API does"
            ) from None

    def values(self, selector: str, label: str) -> list[str]:
        """The values ``label`` holds on the series ``selector`` matches (at most 5)."""
        found = self.query(f"count by ({label}) ({selector})")
        return sorted(str(r.get("metric", {}).get(label, "")) for r in found)[:5]

    def labels(self, selector: str) -> list[str]:
        """The label names of one series ``selector`` matches."""
        found = self.query(f"topk(1, {selector})")
        return sorted(set(found[0].get("metric", {})) - {"__name__"}) if found else []

    def query(self, promql: str) -> list[dict]:
        """An instant query's result: a list of ``{"metric": {...}, "value": [time, text]}``."""
        if promql not in self.answers:
            self.answers[promql] = self._ask(promql)
        return self.answers[promql]

    def _ask(self, promql: str) -> list[dict]:
        body = urllib.parse.urlencode({"query": promql}).encode()
        request = urllib.request.Request(self.endpoint, data=body, method="POST")
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise PrometheusError(self.url, f"{self.endpoint} answered {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PrometheusError(self.url, f"cannot be reached: {reason}") from None
        except ValueError:
            raise PrometheusError(
                self.url, f"{self.endpoint} did not answer JSON: is it a Prometheus?"
            ) from None
        if not isinstance(answer, dict) or answer.get("status") != "success":
            why = answer.get("error") if isinstance(answer, dict) else None
            raise PrometheusError(self.url, f"refused {promql}: {why or 'no success status'}")
        result = (answer.get("data") or {}).get("result")
        if not isinstance(result, list):
            raise PrometheusError(
                self.url, f"{self.endpoint} did not answer as Prometheus' API does"
            )
        return result


@dataclass(frozen=True)
class Part:
    """One part of a selector with no match, and why."""

    name: str  # "metric name", "job", "namespace label (namespace)", "error label (code)", ...
    detail: str
    benign: bool  # nothing matches now, and nothing is wrong with the selector


@dataclass(frozen=True)
class Finding:
    """A selector that finds nothing, the rules that read it, and the parts with no match."""

    selector: Selector
    rules: tuple[RuleReads, ...]
    parts: tuple[Part, ...]

    @property
    def problem(self) -> bool:
        return not all(part.benign for part in self.parts)


def _part_name(matcher: Matcher, rules: tuple[RuleReads, ...], filters: set[Matcher]) -> str:
    if matcher.label == "job":
        return "job"
    namespaces = {rule.namespace for rule in rules}
    if matcher.op == "=" and matcher.value in namespaces:
        return f"namespace label ({matcher.label})"
    if matcher in filters:
        return f"error label ({matcher.label})"
    return f"label {matcher.label}"


def _culprit(
    prometheus: Prometheus,
    selector: Selector,
    matcher: Matcher,
    together: bool,
    why_absent: str | None,
    filters: set[Matcher],
) -> tuple[str, bool]:
    """What ``matcher`` finds on ``selector``'s metric, in words, and whether that is benign."""
    others = selector.promql(selector.without(matcher))
    if prometheus.count(selector.promql([Matcher(matcher.label, "!=", "")])) == 0:
        carried = ", ".join(prometheus.labels(others) or prometheus.labels(selector.metric))
        return (
            f"no series of {selector.metric} has the label {matcher.label} (its series carry: "
            f"{carried})",
            False,
        )
    against = "the others' series" if together else "series"
    detail = f"{matcher.promql()} matches no {against} of {selector.metric}"
    held = prometheus.values(others, matcher.label) or prometheus.values(
        selector.metric, matcher.label
    )
    detail += f" ({matcher.label} holds: {', '.join(held)})" if held else ""
    if matcher.label != "job" and (why_absent is not None or matcher in filters):
        return detail + (f"; it exists {why_absent}" if why_absent else "; no errors yet"), True
    return detail, False


def diagnose(
    prometheus: Prometheus, rules: tuple[RuleReads, ...], selector: Selector
) -> Finding | None:
    """None when ``selector`` finds a series; else the parts that find nothing."""
    if prometheus.count(selector.promql()) > 0:
        return None
    why_absent = only_sometimes(selector.metric)
    if selector.metric and prometheus.count(selector.metric) == 0:
        detail = f"no series of {selector.metric} in this Prometheus"
        if why_absent:
            detail += f" now; it exists {why_absent}"
        return Finding(selector, rules, (Part("metric name", detail, why_absent is not None),))
    culprits = [m for m in selector.matchers if prometheus.count(selector.promql([m])) == 0]
    together = not culprits
    if together:  # each matches alone: the one whose removal finds series
        culprits = [
            m for m in selector.matchers if prometheus.count(selector.promql(selector.without(m)))
        ]
    filters = {m for rule in rules for m in rule.filters(selector)}
    parts = []
    for matcher in culprits:
        detail, benign = _culprit(prometheus, selector, matcher, together, why_absent, filters)
        parts.append(Part(_part_name(matcher, rules, filters), detail, benign))
    if not parts:
        parts.append(Part("matchers", "no single matcher: together they match nothing", False))
    return Finding(selector, rules, tuple(parts))


@dataclass
class ServiceResult:
    name: str
    rules_file: Path | None  # None: the service has no rendered rules file
    checked: int = 0  # distinct selectors looked up
    findings: list[Finding] = field(default_factory=list)
    unreadable: str = ""  # why its rules file cannot be read

    @property
    def failed(self) -> bool:
        return bool(self.unreadable) or any(finding.problem for finding in self.findings)


def check_service(prometheus: Prometheus, name: str, service_dir: Path) -> ServiceResult:
    """Each distinct selector of the service's rules, asked once, with the rules that read it."""
    rules_file = service_dir / RULES_FILE
    if not rules_file.is_file():
        return ServiceResult(name, None)
    readers: dict[Selector, list[RuleReads]] = {}
    try:
        reads = rules_reads(rules_file)
    except ValueError as error:
        return ServiceResult(name, rules_file, unreadable=str(error))
    for rule in reads:
        for selector in rule.selectors:
            readers.setdefault(selector, []).append(rule)
    result = ServiceResult(name, rules_file, checked=len(readers))
    for selector, rules in readers.items():
        finding = diagnose(prometheus, tuple(rules), selector)
        if finding is not None:
            result.findings.append(finding)
    return result


def _read_by(rules: tuple[RuleReads, ...]) -> str:
    kinds: dict[str, list[str]] = {}
    for rule in rules:
        kinds.setdefault(rule.kind, []).append(rule.name)
    return "; ".join(
        f"{kind}{'s' if len(names) > 1 else ''} {', '.join(names)}" for kind, names in kinds.items()
    )


def report(results: list[ServiceResult], url: str, out: TextIO) -> None:
    for result in results:
        if result.rules_file is None:
            print(
                f"  skipped  {result.name}: no {RULES_FILE} (not rendered, or no alerts)", file=out
            )
            continue
        if result.unreadable:
            print(f"unreadable  {result.name}: {RULES_FILE}: {result.unreadable}", file=out)
        for finding in result.findings:
            tag = "  missing" if finding.problem else "     note"
            print(f"{tag}  {result.name}: {finding.selector.promql()} finds nothing", file=out)
            print(f"           read by {_read_by(finding.rules)}", file=out)
            for part in finding.parts:
                print(f"           {part.name}: {part.detail}", file=out)
    checked = [r for r in results if r.rules_file is not None]
    failing = sum(r.failed for r in checked)
    print(
        f"{len(checked)} services checked against {url}: {len(checked) - failing} clean, "
        f"{failing} with series Prometheus does not have (or a rules file not read)",
        file=out,
    )
