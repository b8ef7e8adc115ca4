"""Every rule an answer must follow: one source for the hooks, the fleet CLI and the Backstage form.

Plain standard-library Python: cookiecutter's hook imports this module with whatever Python
runs cookiecutter. Each rule is a regular expression that must match the whole answer (written so
it means the same in Python and in JavaScript with the ``u`` flag, as Backstage compiles form
patterns), a maximum length, or a list of choices; a yes/no answer is a boolean rule (JSON
``true``/``false``, as cookiecutter and Backstage's form give it). Nothing else decides validity,
so a JSON schema generated from these rules accepts exactly what the hook accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TypeGuard

# cookiecutter.json owns the answers' names, defaults and choice lists; this module owns what
# makes an answer valid. Choice rules read their choices from it.
TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
COOKIECUTTER_JSON: dict[str, object] = json.loads(
    (TEMPLATE_ROOT / "cookiecutter.json").read_text(encoding="utf-8")
)

# Cookiecutter renders every answer as an unsandboxed Jinja template before any hook runs, so
# no answer may carry Jinja delimiters (CONTRIBUTING.md, "Jinja pitfalls"). Every character
# class below already excludes "{"; free text states it with a look-ahead.
JINJA_DELIMITERS = ("{{", "{%", "{#")
JINJA_REASON = "must not contain Jinja delimiters ({{, {% or {#)"

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
# Dot-separated DNS labels (a DNS-1123 subdomain, without its length cap): a Helm release name,
# a label key's prefix.
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
# Most Kubernetes object names are DNS-1123 subdomains of at most 253 characters
# (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names):
# a Deployment, an Argo Rollouts Rollout, an Argo CD Application (`example.guestbook`), a Flux
# Kustomization or HelmRelease.
_OBJECT_NAME_MAX = 253
_OBJECT_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"  # Backstage metadata.name
_NAMESPACE_PREFIX = r"([a-z0-9]+(-[a-z0-9]+)*/)?"  # Backstage namespace, then "/"
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = "(" + _DNS_SUBDOMAIN + "/)?" + _LABEL_NAME
_LABEL_PAIR = _LABEL_KEY + "=" + _LABEL_NAME
# A URL an on-call engineer can paste into a shell inside single quotes: no quote, no space,
# no backslash, no braces.
_URL = r"https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?([/?#][-A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%]*)?"
# YAML printable text without the characters that do not survive a round trip (C0/C1 controls
# other than tab and newline, line/paragraph separators, BOM, non-characters).
# (Lone surrogates too: they cannot be written to a UTF-8 file.)
_NOT_FREE_TEXT = (
    r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff"
)
# PromQL (https://prometheus.io/docs/prometheus/latest/querying/basics/): metric and label names.
_METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_PROMQL_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
# An equality matcher whose value needs no escaping inside PromQL's double quotes.
_PROMQL_EQUALS = _PROMQL_LABEL + r'="[-A-Za-z0-9_.:/]+"'
# Conditions of ``Rule.only_when``: (field, the choices under which the answer is used).
_ALERTING = ("alerting", (True,))
_HELM = ("workload", ("helm",))
_ROLLOUT = ("workload", ("argo-rollout",))
_SLO = ("slo_alerts", (True,))
_FLUX = ("gitops", ("flux",))
_ARGOCD = ("gitops", ("argocd",))
_NO_GITOPS = ("gitops", ("none",))
_GITOPS = ("gitops", ("argocd", "flux"))
_IN_CLUSTER = ("health_check", ("in-cluster",))
# Spaces spelled out, because Python's and JavaScript's \s differ at the edges.
_SPACES = r"\t\n \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
# A calendar date YYYY-MM-DD from 2000 to 2099 that exists: months of 30 and 31 days, February
# 28 days, and 29 in a leap year (in this range, every year divisible by 4, 2000 included).
_ISO_DATE = (
    r"(?:20[0-9]{2}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)|20(?:[02468][048]|[13579][26])-02-29)"
)
# The default of an answer that is the day of the render (UTC): the `now` tag of cookiecutter's
# TimeExtension, loaded by default (cookiecutter 2.7.1, environment.py: default_extensions;
# https://cookiecutter.readthedocs.io/en/stable/advanced/template_extensions.html).
# cookiecutter.json spells it exactly so; Backstage's form cannot compute it (backstage.py).
TODAY = "{% now 'utc', '%Y-%m-%d' %}"


Condition = tuple[str, tuple[str | bool, ...]]


def conditions_hold(conditions: tuple[Condition, ...], answers: Mapping[str, object]) -> bool:
    """Whether every ``(field, choices)`` holds among ``answers`` (a missing one: its default)."""
    return all(
        answers.get(field, default_answer(field)) in choices for field, choices in conditions
    )


@dataclass(frozen=True)
class Narrowing:
    """A stricter pattern an answer must also match when other answers are as ``when`` says:
    a StatefulSet's name, say, must be a DNS label where other workloads take a subdomain."""

    when: tuple[Condition, ...]
    pattern: str
    reason: str


@dataclass(frozen=True)
class SpecificPrompt:
    """The question ``service-runbooks new`` asks for an answer once the answers it depends on
    are known: ``text`` when every condition of ``when`` holds among them, its ``{fields}``
    filled by ``prompt_terms`` (an earlier answer by its name, or the name of the object it
    chose: ``{workload_kind}``, ``{gitops_object}``). cookiecutter.json's ``__prompts__`` keeps
    the generic question, which Backstage's form and plain cookiecutter show."""

    when: tuple[Condition, ...]
    text: str


@dataclass(frozen=True)
class KindNames:
    """How the tools name the objects the answers choose, for ``SpecificPrompt`` texts. The
    caller gives them from where each is named (the template's engine table, discovery's GitOps
    kinds: ``wizard.kind_names``): this module reads no template and imports no package."""

    workloads: Mapping[str, str]  # a `workload` answer: its kind ("" when a chart names its own)
    gitops_tools: Mapping[str, str]  # a `gitops` answer: the tool ("Argo CD")
    # A `gitops` answer: the kinds of the objects that deploy with it; of several, the one
    # `gitops_kind` names in lowercase, as the flux CLI takes it (`flux suspend helmrelease`:
    # https://fluxcd.io/flux/cmd/flux_suspend_helmrelease/).
    gitops_kinds: Mapping[str, tuple[str, ...]]
    chart_workloads: tuple[str, ...]  # the kinds a Helm chart's workload may be (chart_workload)


@dataclass(frozen=True)
class Rule:
    """What one answer must be. ``pattern`` must match the whole answer."""

    field: str
    summary: str  # the rule in words, for messages and docs
    example: str
    pattern: str | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    required: bool = True
    boolean: bool = False  # a yes/no answer: true or false, never a string
    # ((field, choices), ...): the answer is used only when each of those other answers is one
    # of its choices, so it is checked (and, by `service-runbooks new`, asked) only then: an
    # unused Helm release may not inherit a name too long for one. A yes/no answer's choice is
    # a boolean: ("alerting", (True,)).
    only_when: tuple[Condition, ...] | None = None
    # A fact that decides which commands a page gives (the workload, its namespace, the GitOps
    # layer, the migration tool...): the project's own paths (a fleet entry, ``new --no-input``,
    # ``new --answers``) refuse to take it from cookiecutter.json's default (``missing_deciding``).
    # Plain cookiecutter cannot tell a default from an answer, and keeps its defaults.
    deciding: bool = False
    # Stricter patterns that hold with some other answers only (``Narrowing``); the form
    # compiles them as if/then clauses.
    narrowings: tuple[Narrowing, ...] = ()
    # A deciding fact that names one service's own object (its workload's name): a fleet gives
    # it in each entry, since one value in ``defaults:`` would name the same object for all.
    per_service: bool = False
    # The questions ``new`` asks instead of the generic one once earlier answers decide what the
    # answer names (``SpecificPrompt``), the first whose conditions hold; a prompt may only read
    # answers asked before it (cookiecutter.json's order).
    specific_prompts: tuple[SpecificPrompt, ...] = ()

    def applies(self, answers: Mapping[str, object]) -> bool:
        """Whether ``answers`` use this answer at all (see ``only_when``)."""
        return conditions_hold(self.only_when or (), answers)

    def verdict(self, value: object, answers: Mapping[str, object]) -> str | None:
        """The problem with ``value`` among ``answers``: its rule where it is used (with the
        narrowings that hold), else only what cookiecutter itself would trip on."""
        if not self.applies(answers):
            return self.check_unused(value)
        problem = self.check(value)
        if problem is not None or value == "":
            return problem
        for narrowing in self.narrowings:
            if conditions_hold(narrowing.when, answers) and not re.fullmatch(
                narrowing.pattern, str(value)
            ):
                return narrowing.reason
        return None

    def check_unused(self, value: object) -> str | None:
        """The problem with an answer no file uses: only what cookiecutter itself would trip on."""
        if self.boolean and isinstance(value, bool):  # a yes/no answer of an unused feature
            return None
        if not isinstance(value, str):
            return f"must be a string, got {type(value).__name__}"
        if has_jinja(value):
            return JINJA_REASON
        return None

    def check(self, value: object) -> str | None:
        """The problem with ``value`` in words, or None when it is valid."""
        if self.boolean:
            if isinstance(value, bool):
                return None
            if isinstance(value, str):  # "false" quoted in YAML: say why it is refused
                return "must be true or false, written without quotes (a YAML boolean), not text"
            return "must be true or false"
        if not isinstance(value, str):
            return f"must be a string, got {type(value).__name__}"
        if value == "":
            return "is required" if self.required else None
        if self.choices:
            return None if value in self.choices else f"must be one of: {', '.join(self.choices)}"
        if self.max_length is not None and len(value) > self.max_length:
            return f"is {len(value)} characters long; at most {self.max_length} allowed"
        if has_jinja(value):
            return JINJA_REASON
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return "is not valid"
        return None


def questions(cookiecutter: Mapping[str, object] = COOKIECUTTER_JSON) -> list[str]:
    """Every answer cookiecutter asks for, in its order: ``cookiecutter``'s public keys (not its
    private ``_`` settings nor ``__prompts__``). The one list `new` asks and the form shows."""
    return [key for key in cookiecutter if not key.startswith("_")]


def prompt(
    field: str,
    cookiecutter: Mapping[str, object] = COOKIECUTTER_JSON,
    known: Mapping[str, object] | None = None,
    names: KindNames | None = None,
) -> str:
    """The question for ``field``: with the answers ``known`` so far and the ``names`` of what
    they choose, its rule's first ``SpecificPrompt`` that holds (``Name of the StatefulSet in
    the cluster``); else the generic question cookiecutter asks (``__prompts__``; the field's
    name without), as when a specific one names an answer not known yet."""
    prompts = cookiecutter.get("__prompts__")
    text = prompts.get(field, field) if isinstance(prompts, dict) else field
    generic = str(text["__prompt__"] if isinstance(text, dict) else text)
    rule = RULES_BY_FIELD.get(field)
    if known is None or names is None or rule is None:
        return generic
    terms = prompt_terms(known, names)
    for specific in rule.specific_prompts:
        if all(known.get(name) in choices for name, choices in specific.when):
            with suppress(KeyError):  # a term not known: an empty answer, a kind without a name
                return specific.text.format_map(terms)
    return generic


# The terms a SpecificPrompt may name besides the answers themselves, and the answers each is
# read from (a prompt may name it only after them: tests/test_rules.py holds the order).
DERIVED_TERMS: dict[str, tuple[str, ...]] = {
    "workload_kind": ("workload",),
    "gitops_object": ("gitops", "gitops_kind"),
    "chart_kinds": (),
}


def prompt_terms(known: Mapping[str, object], names: KindNames) -> dict[str, str]:
    """What a ``SpecificPrompt`` text may name: each known answer that is not empty, by its
    field, and the objects the answers chose, by the tools' names: ``workload_kind`` (the
    workload's kind, none for a chart), ``gitops_object`` (``Flux HelmRelease``) and
    ``chart_kinds`` (``Deployment or StatefulSet``)."""
    terms = {field: str(value) for field, value in known.items() if value not in ("", None)}
    kind = names.workloads.get(str(known.get("workload")), "")
    if kind:
        terms["workload_kind"] = kind
    gitops = str(known.get("gitops"))
    tool, kinds = names.gitops_tools.get(gitops, ""), names.gitops_kinds.get(gitops, ())
    chosen = [k for k in kinds if len(kinds) == 1 or k.lower() == known.get("gitops_kind")]
    if tool and len(chosen) == 1:
        terms["gitops_object"] = f"{tool} {chosen[0]}"
    if names.chart_workloads:
        terms["chart_kinds"] = " or ".join(names.chart_workloads)
    return terms


def default_answer(field: str) -> object:
    """What cookiecutter answers for ``field`` when nobody does: a choice list's first item."""
    default = COOKIECUTTER_JSON.get(field, "")
    return default[0] if isinstance(default, list) else default


def _choice(
    field: str,
    summary: str,
    only_when: tuple[Condition, ...] | None = None,
    deciding: bool = False,
) -> Rule:
    """A rule for a choice variable; its choices are the list in cookiecutter.json."""
    listed = COOKIECUTTER_JSON[field]
    if not isinstance(listed, list):
        raise TypeError(f"{field} must be a JSON list of choices in cookiecutter.json")
    choices = tuple(str(choice) for choice in listed)
    return Rule(
        field,
        summary,
        example=choices[0],
        choices=choices,
        only_when=only_when,
        deciding=deciding,
    )


def _boolean(field: str, summary: str) -> Rule:
    """A rule for a yes/no variable (a JSON boolean in cookiecutter.json)."""
    if not isinstance(COOKIECUTTER_JSON[field], bool):
        raise TypeError(f"{field} must be a JSON boolean in cookiecutter.json")
    return Rule(field, summary, example="true", boolean=True)


RULES: tuple[Rule, ...] = (
    Rule(
        "service_name",
        "a Kubernetes DNS-1035 label (it names the Backstage component, the catalog entry and "
        "the pages; the workload has its own answer, workload_name): lowercase letters, digits "
        "and '-', starting with a letter, ending with a letter or digit, at most 63 characters",
        example="payments-api",
        pattern=r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?",
        max_length=63,
    ),
    Rule(
        "description",
        "free text of at most 300 characters for the catalog and the runbooks: any printable "
        "characters, emoji and newlines included, but no other control characters, no Jinja "
        "delimiters, and no leading or trailing whitespace",
        example="Payments API: takes card payments and refunds.",
        pattern=(
            r"(?![\s\S]*(\{\{|\{%|\{#))"  # no Jinja delimiter anywhere
            rf"(?![{_SPACES}])[^{_NOT_FREE_TEXT}]*[^{_SPACES}{_NOT_FREE_TEXT}]"
        ),
        max_length=300,
        # Empty: the pages say the service is not described yet, rather than invent it.
        required=False,
    ),
    Rule(
        "owner",
        "empty while not known (then no catalog-info.yaml is written: Backstage requires an "
        "owner), or a Backstage entity reference to the owning group or user: "
        "[group:|user:][namespace/]name, where name is 1-63 letters, digits and '-', '_' or '.' "
        "inside",
        example="team-payments",
        pattern=r"((group|user):)?" + _NAMESPACE_PREFIX + _OBJECT_NAME,
        max_length=200,
        required=False,
    ),
    Rule(
        "system",
        "empty, or a Backstage entity reference to a System: [system:][namespace/]name",
        example="payments",
        pattern=r"(system:)?" + _NAMESPACE_PREFIX + _OBJECT_NAME,
        max_length=200,
        required=False,
    ),
    _choice("lifecycle", "the Backstage lifecycle of the component"),
    Rule(
        "namespace",
        "a Kubernetes namespace (DNS-1123 label): lowercase letters, digits and '-', starting "
        "and ending with a letter or digit, at most 63 characters",
        example="production",
        pattern=_DNS_LABEL,
        max_length=63,
        deciding=True,
    ),
    Rule(
        "staging_namespace",
        "a Kubernetes namespace (DNS-1123 label) where changes are tried first",
        example="staging",
        pattern=_DNS_LABEL,
        max_length=63,
    ),
    Rule(
        "kube_context",
        "empty (use the current kubectl context), or a kubeconfig context name: letters, "
        "digits and '.', '_', ':', '/', '@', '-', starting with a letter or digit, at most "
        "253 characters",
        example="prod-eu-west-1",
        pattern=r"[A-Za-z0-9][-A-Za-z0-9._:/@]*",
        max_length=253,
        required=False,
    ),
    _choice(
        "workload",
        "how the service runs: a Deployment, a StatefulSet, an Argo Rollouts Rollout, "
        "or a Helm release",
        deciding=True,
    ),
    Rule(
        "workload_name",
        "the workload's name in the cluster, as the deployer builds it (a Kustomize namePrefix "
        "included): a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', each "
        "dot-separated part starting and ending with a letter or digit), at most 253 "
        "characters; a StatefulSet's name must also be a DNS-1123 label (no '.', at most 63 "
        "characters), since its pods' hostnames are built from it",
        example="payments-api",
        pattern=_DNS_SUBDOMAIN,
        max_length=_OBJECT_NAME_MAX,
        deciding=True,
        per_service=True,
        # A Deployment's name is a DNS subdomain; a StatefulSet's must be a DNS label
        # (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#creating-a-deployment,
        # https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#components).
        narrowings=(
            Narrowing(
                (("workload", ("statefulset",)),),
                _DNS_LABEL,
                "is not a DNS-1123 label, which a StatefulSet's name must be (no '.', at most "
                "63 characters)",
            ),
        ),
        specific_prompts=(
            SpecificPrompt(
                (_HELM,),
                "Name of the workload the Helm chart creates, as the chart names it (its "
                "{chart_kinds})",
            ),
            SpecificPrompt(
                (), "Name of the {workload_kind} in the cluster (a Kustomize namePrefix included)"
            ),
        ),
    ),
    Rule(
        "app_label_selector",
        "a Kubernetes equality label selector that finds the service's pods: key=value pairs "
        "separated by ',', keys with an optional DNS prefix and '/'",
        example="app.kubernetes.io/name=payments-api",
        pattern=_LABEL_PAIR + "(," + _LABEL_PAIR + ")*",
        max_length=500,
    ),
    # An HPA's name is a DNS-1123 subdomain like most objects' (the API server's validation of
    # a HorizontalPodAutoscaler uses ValidateObjectMeta with the subdomain rule:
    # https://github.com/kubernetes/kubernetes/blob/v1.32.4/pkg/apis/autoscaling/validation/validation.go,
    # https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names).
    Rule(
        "hpa_name",
        "empty when the service has no autoscaler, or the name of the HorizontalPodAutoscaler "
        "whose scaleTargetRef is the workload: a DNS-1123 subdomain (lowercase letters, digits, "
        "'-' and '.', each dot-separated part starting and ending with a letter or digit), at "
        "most 253 characters",
        example="payments-api",
        pattern=_DNS_SUBDOMAIN,
        max_length=_OBJECT_NAME_MAX,
        # Empty: the pages say the answers name no autoscaler and show how to look for one.
        required=False,
    ),
    _choice(
        "health_check",
        "how the pages and verify.sh check the service's health: readiness (the pods' Ready "
        "condition only: gRPC, exec and TCP probes, or nothing known), in-cluster (an HTTP "
        "probe path and port of the pods, requested through the Kubernetes API server) or url "
        "(an HTTP(S) URL reachable from where the engineer works)",
        deciding=True,
    ),
    Rule(
        "health_url",
        "an http:// or https:// URL of the service's health check, reachable from where the "
        "engineer works, without spaces, quotes, backslashes or braces; checked only with "
        "health_check url",
        example="https://payments-api.example.com/health",
        pattern=_URL,
        max_length=2000,
        only_when=(("health_check", ("url",)),),
        deciding=True,
    ),
    Rule(
        "health_check_path",
        "the HTTP path of the pods' health probe (its httpGet.path): '/' then letters, digits "
        "and - . _ ~ / % + , ; = : @ (no query, spaces, quotes or '$': it goes into a shell "
        "word in double quotes); checked only with health_check in-cluster",
        example="/healthz",
        pattern=r"/[-A-Za-z0-9._~/%+,;=:@]*",
        max_length=1000,
        only_when=(_IN_CLUSTER,),
        deciding=True,
    ),
    Rule(
        "health_check_port",
        "the container port number of the pods' health probe (its httpGet.port), 1 to 65535; "
        "checked only with health_check in-cluster",
        example="8080",
        pattern=r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])",
        max_length=5,
        only_when=(_IN_CLUSTER,),
        deciding=True,
    ),
    _choice(
        "health_check_scheme",
        "the scheme of the pods' health probe (its httpGet.scheme), HTTP or HTTPS; used only "
        "with health_check in-cluster",
        only_when=(_IN_CLUSTER,),
    ),
    Rule(
        "incident_channel",
        "a Slack channel: '#' then 1-80 lowercase letters, digits, '-' or '_'",
        example="#incidents",
        pattern=r"#[a-z0-9][-a-z0-9_]{0,79}",
        max_length=81,
    ),
    _choice(
        "migration_tool",
        "the database migration tool, or none for a service without a database",
        deciding=True,
    ),
    _choice("gitops", "what deploys the service from Git, if anything", deciding=True),
    Rule(
        "gitops_kind",
        "the kind of the Flux object that deploys the service: kustomization or helmrelease; "
        "a helm workload needs helmrelease (a Helm release is helm-controller's only through "
        "a HelmRelease: name that HelmRelease, even when a Kustomization applies it); checked "
        "only with Flux",
        example="kustomization",
        pattern=r"kustomization|helmrelease",
        max_length=13,
        only_when=(_FLUX,),
        deciding=True,
        # The pages roll a helm workload back with `helm rollback` and pause Flux first: only a
        # HelmRelease's suspension stops helm-controller from upgrading the release again
        # (https://fluxcd.io/flux/components/helm/helmreleases/#suspend); a Kustomization's
        # suspension stops only kustomize-controller, which applies manifests and never runs
        # Helm (https://fluxcd.io/flux/components/kustomize/kustomizations/#suspend).
        narrowings=(
            Narrowing(
                (_HELM,),
                r"helmrelease",
                "does not stop a Helm release's reconciliation: with the helm workload under "
                "Flux give helmrelease and name the HelmRelease in gitops_app (a Kustomization "
                "that applies a HelmRelease: name the HelmRelease)",
            ),
        ),
    ),
    Rule(
        "gitops_app",
        "the Argo CD Application or Flux Kustomization/HelmRelease that deploys the service: "
        "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', e.g. example.guestbook), "
        "at most 253 characters; checked only with Argo CD or Flux",
        example="payments-api",
        pattern=_DNS_SUBDOMAIN,
        max_length=_OBJECT_NAME_MAX,
        only_when=(_GITOPS,),
        # Under Flux, gitops_kind (asked before it) says which kind the object is.
        specific_prompts=(
            SpecificPrompt((_GITOPS,), "Name of the {gitops_object} that deploys the service"),
        ),
    ),
    Rule(
        "flux_namespace",
        "the namespace of the Flux objects (DNS-1123 label); checked only with Flux",
        example="flux-system",
        pattern=_DNS_LABEL,
        max_length=63,
        only_when=(_FLUX,),
        specific_prompts=(
            SpecificPrompt((_FLUX,), "Namespace of the {gitops_object} {gitops_app}"),
        ),
    ),
    Rule(
        "helm_release",
        "a Helm release name, used as given: lowercase letters, digits, '-' and '.', starting "
        "and ending with a letter or digit, at most 53 characters; by default the workload's "
        "name, and under Flux helm-controller's own default [<namespace>-]<gitops_app>; checked "
        "only with the helm workload",
        example="payments-api",
        pattern=_DNS_SUBDOMAIN,
        max_length=53,
        only_when=(_HELM,),
        specific_prompts=(
            # helm-controller's own name for a HelmRelease's release
            # (https://fluxcd.io/flux/components/helm/helmreleases/#release-name).
            SpecificPrompt(
                (_FLUX,),
                "Name of the Helm release the {gitops_object} {gitops_app} installs, used as "
                "given (the default is helm-controller's own name for it)",
            ),
            # Argo CD renders a chart with `helm template` and installs no Helm release; the
            # Application names the release it renders with in spec.source.helm.releaseName
            # (https://argo-cd.readthedocs.io/en/stable/user-guide/helm/).
            SpecificPrompt(
                (_ARGOCD,),
                "Release name the {gitops_object} {gitops_app} renders the Helm chart with (its "
                "spec.source.helm.releaseName; Argo CD installs no Helm release), used as given",
            ),
            SpecificPrompt(
                (_NO_GITOPS,), "Name of the Helm release in namespace {namespace}, used as given"
            ),
        ),
    ),
    Rule(
        "chart_workload",
        "the Deployment or StatefulSet the Helm chart creates, as deployment/<name> or "
        "statefulset/<name> (name: a DNS-1123 subdomain); checked only with the helm workload",
        example="deployment/payments-api",
        pattern=r"(deployment|statefulset)/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?",
        max_length=265,
        # Pages and scripts need it too (a StatefulSet's forced rollback), not only the alerts.
        only_when=(_HELM,),
        specific_prompts=(
            SpecificPrompt(
                (_ARGOCD,),
                "The {chart_kinds} the Helm chart of the {gitops_object} "
                "{gitops_app} creates, as kind/name: its alerts watch it, and a StatefulSet "
                "gets the forced rollback",
            ),
            SpecificPrompt(
                (),
                "The {chart_kinds} the Helm chart of release {helm_release} "
                "creates, as kind/name: its alerts watch it, and a StatefulSet gets the forced "
                "rollback",
            ),
        ),
    ),
    Rule(
        "rollout_timeout",
        "how long any command may wait for a rollout: a whole number followed by s, m or h",
        example="5m",
        pattern=r"[1-9][0-9]{0,3}[smh]",
        max_length=5,
    ),
    Rule(
        "pagerduty_service_id",
        "empty, or a PagerDuty service ID: 'P' then 6 uppercase letters or digits",
        example="PABC123",
        pattern=r"P[A-Z0-9]{6}",
        max_length=7,
        required=False,
    ),
    Rule(
        "github_repo",
        "empty, or a GitHub repository as org/repo",
        example="acme/payments-api",
        pattern=r"[A-Za-z0-9]([-A-Za-z0-9]{0,37}[A-Za-z0-9])?/(?!\.\.?$)[-A-Za-z0-9._]{1,100}",
        max_length=140,
        required=False,
    ),
    Rule(
        "dashboard_url",
        "empty, or an http:// or https:// URL of the service's dashboard, without spaces, "
        "quotes, backslashes or braces",
        example="https://grafana.example.com/d/payments-api",
        pattern=_URL,
        max_length=2000,
        required=False,
    ),
    Rule(
        "reviewed_on",
        "the day the runbooks were last reviewed against the running service: a date "
        "YYYY-MM-DD from 2000 to 2099 that exists in the calendar (a review is recorded by "
        "changing this answer, never by editing a page)",
        example="2026-11-02",
        pattern=_ISO_DATE,
        max_length=10,
    ),
    Rule(
        "review_every_days",
        "how many days a review holds: a whole number from 1 to 3650; the next review is due "
        "that many days after reviewed_on",
        example="90",
        pattern=r"(?:[1-9][0-9]{0,2}|[12][0-9]{3}|3[0-5][0-9]{2}|36[0-4][0-9]|3650)",
        max_length=4,
    ),
    _boolean(
        "publish_techdocs",
        "whether the service gets .github/workflows/techdocs.yml, a CI workflow that builds its "
        "TechDocs with techdocs-cli and publishes them to the team's storage",
    ),
)

RULES += (
    _boolean(
        "alerting",
        "whether the service gets Prometheus alerts: monitoring/ (rules file, PrometheusRule, "
        "promtool unit tests), a CI workflow that tests them and a runbook page per alert",
    ),
    Rule(
        "backstage_url",
        "the http:// or https:// base URL of Backstage, without a trailing '/', query or "
        "fragment: each alert's runbook_url is <base>/docs/default/component/<service>/alerts/"
        "<alert>/; checked only with alerting",
        example="https://backstage.example.com",
        pattern=r"https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[-A-Za-z0-9._~]+)*",
        max_length=500,
        only_when=(_ALERTING,),
    ),
    Rule(
        "prometheus_release",
        "the Helm release name of kube-prometheus-stack, the PrometheusRule's release label: "
        "lowercase letters, digits, '-' and '.', at most 53 characters; checked only with alerting",
        example="kube-prometheus-stack",
        pattern=_DNS_SUBDOMAIN,
        max_length=53,
        only_when=(_ALERTING,),
    ),
    Rule(
        "rollouts_namespace_label",
        "a Prometheus label name: the label of the Argo Rollouts controller's metrics that holds "
        "a Rollout's namespace (exported_namespace when a ServiceMonitor scrapes the controller "
        "without honorLabels, namespace with it); checked only with the argo-rollout workload "
        "and alerting",
        example="exported_namespace",
        pattern=_PROMQL_LABEL,
        max_length=100,
        only_when=(_ROLLOUT, _ALERTING),
    ),
    Rule(
        "slo_alerts",
        "whether the service gets the SLO alerts read from its own request metrics (error "
        "budget burn, latency, request metrics gone) beside the workload alerts; checked only "
        "with alerting",
        example="true",
        boolean=True,
        only_when=(_ALERTING,),
    ),
    Rule(
        "slo_target",
        "the availability SLO in percent, from 95 to 99.999 (at most 3 decimals): the share of "
        "requests that must not fail; checked only with alerting and SLO alerts",
        example="99.9",
        pattern=r"9[5-9](\.[0-9]{1,3})?",
        max_length=6,
        only_when=(_ALERTING, _SLO),
    ),
    Rule(
        "request_metric",
        "a Prometheus metric name: the counter of the service's requests; checked only with "
        "alerting and SLO alerts",
        example="http_requests_total",
        pattern=_METRIC_NAME,
        max_length=200,
        only_when=(_ALERTING, _SLO),
    ),
    Rule(
        "metrics_selector",
        "PromQL equality matchers, label=\"value\" separated by ',', that find the service's "
        "own metrics beside its namespace (values: letters, digits, '-', '_', '.', ':', '/'); "
        "checked only with alerting and SLO alerts",
        example='job="payments-api"',
        pattern=_PROMQL_EQUALS + "(," + _PROMQL_EQUALS + ")*",
        max_length=500,
        only_when=(_ALERTING, _SLO),
    ),
    Rule(
        "metrics_namespace_label",
        "a Prometheus label name: the label of the service's own metrics that holds its "
        "namespace (namespace, as kube-prometheus-stack's ServiceMonitors and PodMonitors set "
        "it); checked only with alerting and SLO alerts",
        example="namespace",
        pattern=_PROMQL_LABEL,
        max_length=100,
        only_when=(_ALERTING, _SLO),
    ),
    Rule(
        "error_matcher",
        'one PromQL matcher of a failed request: label="value" or label=~"regex", the value of '
        "letters, digits, '-', '_' and '.', a regex's alternatives separated by '|'; checked "
        "only with alerting and SLO alerts",
        example='code=~"5.."',
        pattern=_PROMQL_LABEL + r'(="[-A-Za-z0-9_.]+"|=~"[-A-Za-z0-9_.]+(\|[-A-Za-z0-9_.]+)*")',
        max_length=200,
        only_when=(_ALERTING, _SLO),
    ),
    Rule(
        "latency_metric",
        "a Prometheus histogram's name without _bucket: the service's request durations in "
        "seconds; checked only with alerting and SLO alerts",
        example="http_request_duration_seconds",
        pattern=_METRIC_NAME,
        max_length=200,
        only_when=(_ALERTING, _SLO),
    ),
    Rule(
        "latency_threshold",
        "seconds, more than 0, at most 3 decimals: the latency alert fires when the 99th "
        "percentile stays above it (make it a bucket bound of the histogram); checked only "
        "with alerting and SLO alerts",
        example="0.5",
        pattern=r"(?!0(\.0+)?$)(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?",
        max_length=8,
        only_when=(_ALERTING, _SLO),
    ),
)

RULES += (
    Rule(
        "kube_prometheus_rules",
        "whether the cluster runs kube-prometheus-stack's default alerts (the kubernetes-mixin's): "
        "then the service gets monitoring/alertmanager-inhibit.yaml, Alertmanager inhibit rules "
        "that silence the mixin's twin of each of its alerts while its own fires; checked only "
        "with alerting",
        example="true",
        boolean=True,
        only_when=(_ALERTING,),
    ),
)

RULES_BY_FIELD: dict[str, Rule] = {rule.field: rule for rule in RULES}


def defaults_from_the_clock() -> tuple[str, ...]:
    """Answers whose cookiecutter.json default is the day of the render (``TODAY``).

    A fleet file must give them: the fleet's fingerprint is taken over the answers it gives, so
    such a default would keep the day of whichever render happened last, a date nobody chose.
    """
    return tuple(field for field, default in COOKIECUTTER_JSON.items() if default == TODAY)


def deciding_fields() -> tuple[str, ...]:
    """The answers that decide which commands a page gives (``Rule.deciding``), in rule order."""
    return tuple(rule.field for rule in RULES if rule.deciding)


def missing_deciding(answers: Mapping[str, object]) -> list[str]:
    """The deciding answers ``answers`` do not give, among those their answers use
    (``Rule.only_when``): each would otherwise be cookiecutter.json's default, a guess."""
    return [
        rule.field
        for rule in RULES
        if rule.deciding and rule.field not in answers and rule.applies(answers)
    ]


# A day written anywhere on Earth is at most one day after UTC's (UTC+14 is the furthest ahead).
AHEAD_OF_UTC = timedelta(days=1)


def review_state(reviewed_on: date, due: date, today: date) -> str:
    """How a review stands on ``today``: "overdue" once the due day has passed (on the day
    itself it is in time), "ahead" when ``reviewed_on`` is later than today in any time zone
    (a typo; the rule cannot know today, nor can the Backstage form), else "in time"."""
    if reviewed_on > today + AHEAD_OF_UTC:
        return "ahead"
    return "overdue" if today > due else "in time"


def review_due(answers: Mapping[str, object]) -> date:
    """The day the next review is due: ``reviewed_on`` plus ``review_every_days``.

    The one computation in Python (the CLI's ``check --stale``, the fleet index); the pages
    compute the same in Jinja (``review_due`` in text.jinja), which a test holds equal.
    ``answers`` must have passed ``validate``; ``review_every_days`` may be left to its default.
    """
    every = answers.get("review_every_days", default_answer("review_every_days"))
    return date.fromisoformat(str(answers["reviewed_on"])) + timedelta(days=int(str(every)))


@dataclass(frozen=True)
class Problem:
    """One answer that breaks its rule."""

    field: str
    value: object
    reason: str
    rule: Rule | None

    def __str__(self) -> str:
        if self.rule is None:
            return f"{self.field}: {self.reason}"
        return f"{self.field}: {self.explain()}"

    def explain(self) -> str:
        """The value (shortened), what is wrong with it, the rule and an example."""
        text = f"{shown(self.value)} {self.reason}"
        if self.rule is not None:
            text += f". Rule: {self.rule.summary}. Example: {self.rule.example}"
        return text


SHOWN_MAX = 80


def shown(value: object, limit: int = SHOWN_MAX) -> str:
    """``value`` as a message may echo it: at most ``limit`` characters, then "…".

    Only text and plain scalars are shown; a list or mapping is named by its type and never
    formatted, since a YAML alias bomb expands to billions of items when formatted.
    """
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    elif value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
    else:
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate(answers: Mapping[str, object]) -> list[Problem]:
    """Every problem with ``answers``, in rule order; empty when all are valid.

    Keys starting with '_' are cookiecutter's own and are ignored. A missing answer counts as
    empty. An answer used only with some workload or GitOps mode (``Rule.only_when``) is held to
    its rule only then. Unknown keys are the caller's business (cookiecutter drops them silently).
    """
    found = (answer_problem(rule.field, answers.get(rule.field, ""), answers) for rule in RULES)
    return [problem for problem in found if problem is not None]


def answer_problem(
    field: str, value: object, answers: Mapping[str, object] | None = None
) -> Problem | None:
    """The one check of one answer: the hook's (``validate``), the fleet file's, ``new``'s (as
    each answer is typed) and the site's examples'; the form compiles the same rules.

    ``answers`` are the answers around it: an answer they do not use (``Rule.only_when``) is
    held only to what cookiecutter itself would trip on (``Rule.check_unused``). Without
    ``answers`` it is held to its rule whether used or not. An answer no rule knows may still
    not be a template; whether an unknown answer is allowed at all is the caller's business.
    """
    rule = RULES_BY_FIELD.get(field)
    if rule is None:
        reason = JINJA_REASON if has_jinja(value) else None
    elif answers is None:
        reason = rule.check(value)
    else:
        reason = rule.verdict(value, answers)
    return None if reason is None else Problem(field, value, reason, rule)


def unknown_fields(answers: Mapping[str, object]) -> list[str]:
    """Answer keys that no rule knows (excluding cookiecutter's private '_' keys)."""
    return [key for key in answers if not key.startswith("_") and key not in RULES_BY_FIELD]


def has_jinja(value: object) -> TypeGuard[str]:
    """True when ``value`` is a string that cookiecutter would evaluate as a template."""
    return isinstance(value, str) and any(d in value for d in JINJA_DELIMITERS)


def given_as_templates(given: Mapping[str, object]) -> list[Problem]:
    """Answers that were given as Jinja templates: cookiecutter evaluated them already.

    ``given`` is cookiecutter's ``_cookiecutter`` (the answers before rendering); a default of
    cookiecutter.json is the template's own, not given.
    """
    return [
        Problem(
            field,
            value,
            "was given as a Jinja template, which cookiecutter evaluates as code; "
            "give plain values only",
            rule=None,
        )
        for field, value in given.items()
        if has_jinja(value) and value != COOKIECUTTER_JSON.get(field)
    ]


def refusal(answers: Mapping[str, object], given: Mapping[str, object]) -> str | None:
    """Why cookiecutter must not render ``answers`` (a report for a person), or None.

    ``given`` is cookiecutter's ``_cookiecutter``, the answers before rendering: an answer given
    as a template was evaluated already. The hook and the Jinja extension both ask this.
    """
    problems = given_as_templates(given) + validate(answers)
    return format_problems(problems) if problems else None


def format_problems(problems: list[Problem]) -> str:
    """A report for a person: one line per problem."""
    lines = [f"ERROR: {len(problems)} invalid answer(s); nothing was generated."]
    lines += [f"  - {problem}" for problem in problems]
    return "\n".join(lines)
