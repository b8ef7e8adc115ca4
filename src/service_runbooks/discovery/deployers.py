"""Who deploys a live object, from the marks the deployers write on what they manage.

Objects read from a cluster (``Origin.live``) carry no source path to match a GitOps object's
path against (gitops.py does that for files); instead each tool labels or annotates what it
applies, and those marks name the Helm release, the Flux object or the Argo CD Application:

- Helm 3 writes ``meta.helm.sh/release-name`` and ``meta.helm.sh/release-namespace`` on every
  object of a release, and refuses to adopt an object without them
  (https://github.com/helm/helm/blob/main/pkg/action/validate.go, checkOwnership and
  setMetadataVisitor; Helm 3.2's release notes: https://github.com/helm/helm/releases/tag/v3.2.0).
  Helm 3 stores a release's record in the release's namespace
  (https://helm.sh/docs/faq/changes_since_helm2/#release-names-are-now-scoped-to-the-namespace).
- Flux's helm-controller labels what a HelmRelease installs ``helm.toolkit.fluxcd.io/name`` and
  ``helm.toolkit.fluxcd.io/namespace`` (its post-renderer:
  https://github.com/fluxcd/helm-controller/pull/238), and installs through Helm, so Helm's
  marks are there too; the kustomize-controller labels what a Kustomization applies
  ``kustomize.toolkit.fluxcd.io/name`` and ``kustomize.toolkit.fluxcd.io/namespace`` ("List
  all Kubernetes objects reconciled from a Kustomization":
  https://github.com/fluxcd/kustomize-controller/blob/main/docs/spec/v1beta2/kustomizations.md).
- Argo CD tracks by the annotation ``argocd.argoproj.io/tracking-id``
  (``<app>:<group>/<Kind>:<namespace>/<name>``; an annotation naming another object is not
  tracking it), or by the label ``app.kubernetes.io/instance`` (the default before Argo CD 3.0),
  which Helm charts set too (https://argo-cd.readthedocs.io/en/stable/user-guide/resource_tracking/,
  https://helm.sh/docs/chart_best_practices/labels/#standard-labels): the label alone is taken
  as Argo CD's only when an Application of that name exists. The app is ``<namespace>_<name>``
  for an Application outside Argo CD's own namespace, else its bare name
  (Application.InstanceName:
  https://github.com/argoproj/argo-cd/blob/master/pkg/apis/application/v1alpha1/types.go).

Then the object they name is read itself (its release name, storage namespace, self-heal), and
its absence is reported, never guessed around.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service_runbooks.discovery.gitops import GitOpsLink, argo_sources, gitops_facts
from service_runbooks.discovery.index import ObjectIndex, group_of
from service_runbooks.discovery.model import Facts, KubeObject

HELM_RELEASE_NAME = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
FLUX_HELM_GROUP = "helm.toolkit.fluxcd.io"
FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
ARGOCD_TRACKING_ID = "argocd.argoproj.io/tracking-id"
ARGOCD_INSTANCE_LABEL = "app.kubernetes.io/instance"
ARGOCD_GROUP = "argoproj.io"
# Argo CD's own namespace, as its install manifests create it
# (https://argo-cd.readthedocs.io/en/stable/getting_started/#1-install-argo-cd).
ARGOCD_NAMESPACE = "argocd"

# (API group, kind, plural as kubectl is given it) of the objects the marks name.
HELM_RELEASE = (FLUX_HELM_GROUP, "HelmRelease", "helmreleases.helm.toolkit.fluxcd.io")
KUSTOMIZATION = (
    FLUX_KUSTOMIZE_GROUP,
    "Kustomization",
    "kustomizations.kustomize.toolkit.fluxcd.io",
)
APPLICATION = (ARGOCD_GROUP, "Application", "applications.argoproj.io")


@dataclass(frozen=True)
class Named:
    """A GitOps object a workload's marks name, and where the marks are written."""

    tool: str  # the template's `gitops` value: flux or argocd
    kind: tuple[str, str, str]  # HELM_RELEASE, KUSTOMIZATION or APPLICATION
    namespace: str
    name: str
    found_by: str  # the workload's fields that name it, cited
    label_only: bool = False  # Argo CD's instance label alone, which Helm charts set too

    def describe(self) -> str:
        return f"{self.kind[1]} {self.namespace}/{self.name}"


def _text(mapping: object, key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    return value if isinstance(value, str) and value else None


def _label(obj: KubeObject, key: str) -> str | None:
    return _text(obj.get("metadata", "labels"), key)


def _annotation(obj: KubeObject, key: str) -> str | None:
    return _text(obj.get("metadata", "annotations"), key)


def _label_field(key: str) -> str:
    return f"metadata.labels[{key!r}]"


def _annotation_field(key: str) -> str:
    return f"metadata.annotations[{key!r}]"


def helm_release_of(obj: KubeObject) -> tuple[str, str | None] | None:
    """(release, release namespace) from Helm's annotations, None when Helm did not install it."""
    release = _annotation(obj, HELM_RELEASE_NAME)
    return (release, _annotation(obj, HELM_RELEASE_NAMESPACE)) if release else None


def _flux(obj: KubeObject) -> Named | str | None:
    """The HelmRelease, else the Kustomization, the labels name; a half label is a problem."""
    for kind, group in ((HELM_RELEASE, FLUX_HELM_GROUP), (KUSTOMIZATION, FLUX_KUSTOMIZE_GROUP)):
        name, namespace = _label(obj, f"{group}/name"), _label(obj, f"{group}/namespace")
        if name and namespace:
            fields = f"{_label_field(group + '/name')}, {_label_field(group + '/namespace')}"
            return Named("flux", kind, namespace, name, obj.cite(fields))
        if name or namespace:
            where = f"{obj.kind}/{obj.namespace}/{obj.name}"
            return f"{where} has only one of the labels {group}/name and {group}/namespace"
    return None


def _argocd_app(value: str, argocd_namespace: str) -> tuple[str, str]:
    namespace, _, name = value.rpartition("_")  # app names are DNS labels: no "_"
    return (namespace or argocd_namespace), name


def _argocd(obj: KubeObject, argocd_namespace: str) -> Named | str | None:
    """The Application the tracking annotation names (when it names this very object), else
    the one the instance label names, when the object has no Helm release (whose charts set
    that label to the release's name)."""
    tracking = _annotation(obj, ARGOCD_TRACKING_ID)
    if tracking:
        app, _, rest = tracking.partition(":")
        group_kind, _, namespace_name = rest.partition(":")
        here = f"{group_of(obj.api_version)}/{obj.kind}:{obj.namespace or ''}/{obj.name}"
        if not app or f"{group_kind}:{namespace_name}" != here:
            return (
                f"{obj.cite(_annotation_field(ARGOCD_TRACKING_ID))} is {tracking!r}, which does "
                f"not name this object ({here}): Argo CD does not track an object by it"
            )
        namespace, name = _argocd_app(app, argocd_namespace)
        return Named(
            "argocd",
            APPLICATION,
            namespace,
            name,
            obj.cite(_annotation_field(ARGOCD_TRACKING_ID)),
        )
    instance = _label(obj, ARGOCD_INSTANCE_LABEL)
    if instance and helm_release_of(obj) is None:
        namespace, name = _argocd_app(instance, argocd_namespace)
        found_by = (
            f"{obj.cite(_label_field(ARGOCD_INSTANCE_LABEL))} (a label Helm charts set too, so "
            "alone it does not prove Argo CD)"
        )
        return Named("argocd", APPLICATION, namespace, name, found_by, label_only=True)
    return None


def named_by(obj: KubeObject, argocd_namespace: str = ARGOCD_NAMESPACE) -> list[Named | str]:
    """Every GitOps object the marks of ``obj`` name, and the problems with its marks. The
    instance label alone counts only without a mark of its own tool's: a manifest applied by
    Flux often carries it as one of Kubernetes' recommended labels
    (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/)."""
    found = [item for item in (_flux(obj), _argocd(obj, argocd_namespace)) if item is not None]
    if any(isinstance(item, Named) and not item.label_only for item in found):
        found = [item for item in found if not (isinstance(item, Named) and item.label_only)]
    return found


def _lookup(index: ObjectIndex, named: Named) -> KubeObject | None:
    obj = index.get(named.kind[1], named.namespace, named.name)
    return obj if obj is not None and group_of(obj.api_version) == named.kind[0] else None


def _flux_release(release: KubeObject) -> tuple[str, str, str, str]:
    """(release name, its source, storage namespace, its source) of a HelmRelease, with Flux's
    defaults: the name ``[<targetNamespace>-]<name>``, stored in the HelmRelease's namespace
    (https://fluxcd.io/flux/components/helm/helmreleases/#release-name,
    https://fluxcd.io/flux/components/helm/helmreleases/#storage-namespace; GetReleaseName and
    GetStorageNamespace in https://github.com/fluxcd/helm-controller/blob/main/api/v2/helmrelease_types.go)."""
    named = _text(release.get("spec"), "releaseName")
    target = _text(release.get("spec"), "targetNamespace")
    if named:
        name, name_source = named, release.cite("spec.releaseName")
    else:
        name = f"{target}-{release.name}" if target else release.name
        default = "<targetNamespace>-<name>" if target else "<name>"
        name_source = f"{release.cite('spec.releaseName')} (absent: Flux's default {default}" + (
            f", spec.targetNamespace {target!r})" if target else ")"
        )
    for field_path in ("status.storageNamespace", "spec.storageNamespace"):
        stored = _text(release.get(*field_path.split(".")[:-1]), field_path.split(".")[-1])
        if stored:
            return name, name_source, stored, release.cite(field_path)
    absent = "(absent: Flux's default, the HelmRelease's own namespace)"
    stored_source = f"{release.cite('spec.storageNamespace')} {absent}"
    return name, name_source, release.namespace or "", stored_source


def _helm_facts(
    facts: Facts, workload: KubeObject, release: KubeObject | None, under_flux: bool
) -> None:
    """The Helm release a workload belongs to, from Helm's annotations; under Flux, checked
    against the HelmRelease (a release name the two disagree on is not derived), whose storage
    namespace is not the release's own, so it is not derived while the HelmRelease is missing."""
    marks = helm_release_of(workload)
    if marks is None:
        return
    name, namespace = marks
    name_source = workload.cite(_annotation_field(HELM_RELEASE_NAME))
    _chart_workload(facts, workload, f"installed by Helm release {name!r}")
    if release is None:
        facts.add("helm_release", name, name_source)
        if under_flux:
            facts.lack("helm_storage_namespace", "the HelmRelease that installed it is missing")
            return
        if namespace:
            facts.add(
                "helm_storage_namespace",
                namespace,
                f"{workload.cite(_annotation_field(HELM_RELEASE_NAMESPACE))} (Helm keeps a "
                "release's record in its namespace)",
            )
        return
    expected, expected_source, stored, stored_source = _flux_release(release)
    if expected != name:
        facts.lack(
            "helm_release",
            f"{name_source} is {name!r} but {expected_source} gives {expected!r}; give it",
        )
        return
    facts.add("helm_release", name, f"{name_source}; {expected_source}")
    facts.add("helm_storage_namespace", stored, stored_source)


# The kinds a chart's workload may be for the template (rules.py's chart_workload).
CHART_WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def _chart_workload(facts: Facts, workload: KubeObject, how: str) -> None:
    """``deployment/<name>``: a chart made the workload (a Rollout from a chart keeps the
    argo-rollout workload, whose rollback is the Rollouts plugin's)."""
    if workload.kind in CHART_WORKLOAD_KINDS:
        value = f"{workload.kind.lower()}/{workload.name}"
        facts.add("chart_workload", value, f"{workload.cite('metadata.name')} ({how})")


def _argocd_facts(facts: Facts, app: KubeObject, workload: KubeObject) -> None:
    """Argo CD's own facts beyond gitops.py's: the kind, whether it prunes
    (syncPolicy.automated.prune: https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/),
    and whether it renders a Helm chart (a source's ``chart``, or its ``helm`` settings:
    https://argo-cd.readthedocs.io/en/stable/user-guide/helm/), which leaves no Helm release."""
    facts.add("gitops_kind", app.kind, app.cite("kind"))
    for field_path, source in argo_sources(app):
        for key in ("chart", "helm"):
            if source.get(key):
                _chart_workload(facts, workload, f"rendered by {app.cite(f'{field_path}.{key}')}")
    automated = app.get("spec", "syncPolicy", "automated")
    prune = isinstance(automated, Mapping) and automated.get("prune") is True
    prune_source = app.cite("spec.syncPolicy.automated.prune")
    facts.add("gitops_prunes", "true" if prune else "false", prune_source)


def _unmarked(workload: KubeObject) -> str:
    reason = (
        f"{workload.kind}/{workload.namespace}/{workload.name} carries no Flux or Argo CD mark: "
        "not deployed by GitOps, or by a tool discovery does not read; give it"
    )
    instance = _label(workload, ARGOCD_INSTANCE_LABEL)
    release = helm_release_of(workload)
    if instance and release:
        reason += (
            f" (its label {ARGOCD_INSTANCE_LABEL}={instance!r} is not taken as Argo CD's: Helm "
            f"installed it, as release {release[0]!r}, and Helm charts set that label too)"
        )
    return reason


def _missing(named: Named) -> str:
    if named.label_only:
        return (
            f"{named.found_by}; the cluster has no Application {named.namespace}/{named.name}, "
            "so it is not taken as Argo CD's; give gitops"
        )
    return (
        f"{named.found_by} names {named.describe()}, which the cluster does not hold (or "
        "kubectl may not read); give gitops and gitops_app"
    )


def apply_deployers(
    facts: Facts,
    workload: KubeObject,
    index: ObjectIndex,
    argocd_namespace: str = ARGOCD_NAMESPACE,
) -> None:
    """The GitOps and Helm facts of a live workload, from its marks and the objects they name."""
    found = named_by(workload, argocd_namespace)
    problems = [item for item in found if isinstance(item, str)]
    named = [item for item in found if isinstance(item, Named)]
    if problems:
        facts.lack("gitops", "; ".join(problems))
    elif len(named) > 1:
        both = ", ".join(f"{item.describe()} ({item.found_by})" for item in named)
        facts.lack("gitops", f"both Flux and Argo CD marks are on the workload: {both}")
    elif not named:
        facts.lack("gitops", _unmarked(workload))
    target = named[0] if len(named) == 1 and not problems else None
    obj = _lookup(index, target) if target else None
    if target is not None and obj is None:
        facts.lack("gitops", _missing(target))
    under_flux = target is not None and target.kind == HELM_RELEASE
    _helm_facts(facts, workload, obj if under_flux else None, under_flux)
    if target is None or obj is None:
        return
    found_by = target.found_by
    if target.label_only:
        found_by += f", confirmed by {obj.cite('metadata.name')}"
    gitops_facts(facts, GitOpsLink(target.tool, obj, obj.get("spec") or {}, "spec"), found_by)
    if target.tool == "argocd":
        _argocd_facts(facts, obj, workload)
