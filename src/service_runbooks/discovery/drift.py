"""Drift: what each service's pages say, against the live objects of its cluster.

What the pages say is read from the template itself: the service's answers (as rendered, from
its ``.cruft.json``; else the fleet file's, with cookiecutter's defaults) run through the
template's engine module (``engines.jinja``), so the Helm release and its namespace are the ones
the pages print (under Flux, the template's own rule for the release name), never a second copy
of that rule. What the cluster says comes from discovery (cluster.py: the same index, facts and
answers as ``discover --cluster``), and from a few more GETs: the pods the selector finds, the
Helm release's record, the GitOps object and the autoscaler (hpa_name) the pages name.

Each difference names the answer, what the pages say, what the cluster says, and the object it
was read from. Nothing is changed, in the cluster or in the folders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from service_runbooks.cruft_state import read_cruft_state
from service_runbooks.discovery.answers import ServiceAnswers
from service_runbooks.discovery.cluster import ClusterSource, Kubectl, Live, live_workloads
from service_runbooks.discovery.deployers import APPLICATION, HELM_RELEASE, KUSTOMIZATION
from service_runbooks.discovery.facts import WorkloadFacts
from service_runbooks.discovery.pages import PageEngine, page_engine
from service_runbooks.errors import ClusterError
from service_runbooks.fleetfile import Entry

# The template's `workload` values and the kinds they run as (cookiecutter.json's choices).
WORKLOAD_KINDS = {
    "deployment": "Deployment",
    "statefulset": "StatefulSet",
    "argo-rollout": "Rollout",
}
# The autoscaler the pages patch (hpa_name), as the other objects' kinds are written
# (deployers.py): group, kind, and the resource kubectl is asked for.
HPA = ("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers.autoscaling")
# Answers compared as they are, when discovery derived them from the live objects.
COMPARED = ("workload", "gitops", "gitops_app", "flux_namespace")
# Helm 3 labels each release record (a Secret named sh.helm.release.v1.<release>.v<N>, the
# default driver) owner=helm and name=<release>
# (https://helm.sh/docs/topics/advanced/#storage-backends: `kubectl get secret -l owner=helm`;
# the labels and name: https://github.com/helm/helm/blob/main/pkg/storage/driver/secrets.go).
HELM_RECORD_LABELS = "owner=helm,name={release}"


@dataclass(frozen=True)
class Difference:
    """One answer the cluster (or, ``check --drift`` from files, the sources) contradicts: what
    the pages say, what the cluster says, where."""

    answer: str
    pages: str
    cluster: str
    source: str
    against: str = "the cluster says"  # who contradicts the pages, and the verb

    def __str__(self) -> str:
        return (
            f"{self.answer}: the pages say {self.pages!r}, {self.against} {self.cluster} "
            f"({self.source})"
        )


@dataclass
class ServiceDrift:
    name: str
    context: str  # the cluster's context; for files, the sources read
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    against: str = "cluster"  # "cluster" or "sources": how the report names ``context``


@dataclass(frozen=True)
class PageFacts(PageEngine):
    """What a service's pages name, from its answers and the template's engine module."""

    @property
    def workload_ref(self) -> tuple[str, str]:
        """(kind, name) of the workload the pages act on: the chart's for the helm workload."""
        if self.answers["workload"] == "helm":
            kind, _, name = str(self.answers["chart_workload"]).partition("/")
            return {"deployment": "Deployment", "statefulset": "StatefulSet"}.get(kind, kind), name
        # The object's name is workload_name (a Kustomize namePrefix included), which may
        # differ from the component's name; answers from before it existed fall back to it.
        name = self.answers.get("workload_name") or self.answers["service_name"]
        return WORKLOAD_KINDS[self.answers["workload"]], str(name)


def page_facts(template: Path, entry: Entry, output: Path) -> tuple[PageFacts, str]:
    """The pages' facts, and where the answers were read: the service's ``.cruft.json`` (what
    its pages show) when it was rendered, else the fleet file's."""
    state = read_cruft_state(output / entry.name)
    rendered = (state or {}).get("context", {}).get("cookiecutter")
    if isinstance(rendered, dict):
        given = {k: v for k, v in rendered.items() if not str(k).startswith("_")}
        where = f"{output / entry.name}/.cruft.json"
    else:
        given, where = dict(entry.answers), "the fleet file (not rendered yet)"
    engine = page_engine(template, given)
    return PageFacts(**vars(engine)), where


def _pairs(selector: str) -> set[str]:
    return {pair.strip() for pair in selector.split(",") if pair.strip()}


def _match(
    page: PageFacts, live: list[tuple[WorkloadFacts, ServiceAnswers]]
) -> tuple[WorkloadFacts, ServiceAnswers] | None:
    """The live workload the pages act on: same name, the same kind and namespace first."""
    kind, name = page.workload_ref
    found = [pair for pair in live if pair[0].workload.name == name]
    namespace = page.answers["namespace"]

    def rank(pair: tuple[WorkloadFacts, ServiceAnswers]) -> tuple[bool, bool]:
        workload = pair[0].workload
        return (workload.namespace != namespace, workload.kind != kind)

    return min(found, key=rank) if found else None


def _compare_workload(
    page: PageFacts, facts: WorkloadFacts, answers: ServiceAnswers
) -> list[Difference]:
    workload, found = facts.workload, facts.facts.found
    differences = []
    if workload.namespace != page.answers["namespace"]:
        differences.append(
            Difference(
                "namespace",
                page.answers["namespace"],
                repr(workload.namespace),
                workload.cite("metadata.namespace"),
            )
        )
    selector = found.get("selector")
    asked = str(page.answers["app_label_selector"])
    if selector is not None and _pairs(selector.value) != _pairs(asked):
        differences.append(
            Difference("app_label_selector", asked, repr(selector.value), selector.source)
        )
    for name in COMPARED:
        value = page.answers.get(name)
        if name in ("gitops_app", "flux_namespace") and page.answers.get("gitops") == "none":
            continue
        if name == "flux_namespace" and page.answers.get("gitops") != "flux":
            continue
        live = answers.answers.get(name)
        if live is not None and live != value:
            differences.append(Difference(name, str(value), repr(live), answers.sources[name]))
        elif live is None and name == "gitops" and value != "none":
            why = answers.not_derived.get("gitops", "not derived")
            differences.append(
                Difference(name, str(value), f"not derived: {why}", workload.cite("metadata"))
            )
    differences += _compare_hpa(page, answers)
    if page.engine == "helm":
        for name, wanted in (
            ("helm_release", page.helm_release),
            ("helm_storage_namespace", page.helm_namespace),
        ):
            fact = found.get(name)
            if fact is not None and fact.value != wanted:
                differences.append(Difference(name, wanted, repr(fact.value), fact.source))
    return differences


# What the pages say when the answers name no autoscaler (the scaling page patches none).
NO_AUTOSCALER = "no autoscaler (hpa_name is empty)"


def _compare_hpa(page: PageFacts, answers: ServiceAnswers) -> list[Difference]:
    """The autoscaler the pages name (``hpa_name``; empty: none) against the one whose
    scaleTargetRef is the live workload. A named one the cluster lacks is ``_missing_objects``'."""
    named = str(page.answers.get("hpa_name") or "")
    live = answers.answers.get("hpa_name")
    if live is None or live == named:
        return []
    shown = named or NO_AUTOSCALER
    return [Difference("hpa_name", shown, repr(live), answers.sources["hpa_name"])]


def _exists(
    kubectl: Kubectl,
    kind: tuple[str, str, str],
    namespace: str,
    name: str,
) -> bool:
    return bool(kubectl.get(kind[2], namespace, (name,)))


def _gitops_object(page: PageFacts) -> tuple[tuple[str, str, str], str, str] | None:
    """The GitOps object the pages act on: (kind, namespace, name), None without GitOps. Flux
    acts on a HelmRelease for the helm workload, else a Kustomization (engines.jinja)."""
    answers = page.answers
    if answers.get("gitops") == "flux":
        kind = HELM_RELEASE if answers["workload"] == "helm" else KUSTOMIZATION
        return kind, str(answers["flux_namespace"]), str(answers["gitops_app"])
    if answers.get("gitops") == "argocd":
        return APPLICATION, "", str(answers["gitops_app"])
    return None


def _missing_objects(
    page: PageFacts, kubectl: Kubectl, argocd_namespace: str, matched: bool, scope: str
) -> list[Difference]:
    """What the pages rely on that the cluster does not hold (``scope``: where workloads were
    looked for)."""
    context = f"cluster {kubectl.context}"
    namespace = str(page.answers["namespace"])
    differences = []
    if not matched:
        kind, name = page.workload_ref
        differences.append(
            Difference("workload", f"{kind}/{name}", f"no such workload {scope}", context)
        )
    selector = str(page.answers["app_label_selector"])
    if not kubectl.get("pods", namespace, selector=selector):
        differences.append(
            Difference(
                "app_label_selector",
                selector,
                f"no pod matches it in namespace {namespace}",
                f"{context}: pods -l {selector} -n {namespace}",
            )
        )
    if page.engine == "helm":
        labels = HELM_RECORD_LABELS.format(release=page.helm_release)
        if not kubectl.get("secrets", page.helm_namespace, selector=labels):
            differences.append(
                Difference(
                    "helm_release",
                    page.helm_release,
                    f"no release record in namespace {page.helm_namespace} (no Secret "
                    f"sh.helm.release.v1.{page.helm_release}.v<N>)",
                    f"{context}: secrets -l {labels} -n {page.helm_namespace}",
                )
            )
    hpa_name = str(page.answers.get("hpa_name") or "")
    if hpa_name and not _exists(kubectl, HPA, namespace, hpa_name):
        differences.append(
            Difference(
                "hpa_name",
                hpa_name,
                f"no HorizontalPodAutoscaler {namespace}/{hpa_name}",
                f"{context}: {HPA[2]} {hpa_name} -n {namespace}",
            )
        )
    gitops = _gitops_object(page)
    if gitops is not None:
        object_kind, object_namespace, object_name = gitops
        object_namespace = object_namespace or argocd_namespace
        if not _exists(kubectl, object_kind, object_namespace, object_name):
            differences.append(
                Difference(
                    "gitops_app",
                    object_name,
                    f"no {object_kind[1]} {object_namespace}/{object_name}",
                    f"{context}: {object_kind[2]} {object_name} -n {object_namespace}",
                )
            )
    return differences


def drift_of(
    entries: list[Entry],
    template: Path,
    output: Path,
    context: str | None,
    argocd_namespace: str,
) -> list[ServiceDrift]:
    """Every service's differences from its cluster (``context``, else its ``kube_context``
    answer, else the kubeconfig's current context), each cluster read once."""
    pages = [(entry, *page_facts(template, entry, output)) for entry in entries]
    reads = _Reads(argocd_namespace)
    results = []
    for entry, page, where in pages:
        wanted = context or page.answers.get("kube_context") or None
        live, scope = reads.live(wanted, str(page.answers["namespace"]))
        result = ServiceDrift(entry.name, live.kubectl.context, notes=[f"answers from {where}"])
        pairs = list(zip(live.workloads, live.services, strict=True))
        matched = _match(page, pairs)
        if matched is not None:
            result.differences += _compare_workload(page, *matched)
        result.differences += _missing_objects(
            page, live.kubectl, argocd_namespace, matched is not None, scope
        )
        results.append(result)
    return results


@dataclass
class _Reads:
    """Each cluster read once, in every namespace; where the identity may not list at the
    cluster's scope (a Role per namespace), each service's namespace on its own."""

    argocd_namespace: str
    done: dict[tuple[str | None, str | None], Live] = field(default_factory=dict)
    namespaced: set[str | None] = field(default_factory=set)

    def live(self, context: str | None, namespace: str) -> tuple[Live, str]:
        if context not in self.namespaced:
            try:
                return self._read(context, None), "in any namespace"
            except ClusterError as error:
                if not error.forbidden:
                    raise
                self.namespaced.add(context)
        scope = f"in namespace {namespace} (listing every namespace is forbidden)"
        return self._read(context, namespace), scope

    def _read(self, context: str | None, namespace: str | None) -> Live:
        if (context, namespace) not in self.done:
            source = ClusterSource(context, namespace, argocd_namespace=self.argocd_namespace)
            self.done[(context, namespace)] = live_workloads(source)
        return self.done[(context, namespace)]


def report(results: list[ServiceDrift]) -> list[str]:
    lines = []
    for result in results:
        state = "drifted" if result.differences else f"matches the {result.against}"
        lines.append(
            f"{result.name}: {state} ({result.against} {result.context}; {'; '.join(result.notes)})"
        )
        lines += [f"  - {difference}" for difference in result.differences]
    return lines
