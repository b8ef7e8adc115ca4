"""Facts from Backstage ``catalog-info.yaml``: the Component entity and its annotations.

Field meanings: https://backstage.io/docs/features/software-catalog/descriptor-format#kind-component
(metadata.name, spec.owner, spec.system, spec.lifecycle); annotations:
``pagerduty.com/service-id`` (https://pagerduty.github.io/backstage-plugin-docs/getting-started/backstage/),
``github.com/project-slug`` (https://backstage.io/docs/features/software-catalog/well-known-annotations#githubcomproject-slug),
and the Kubernetes plugin's ``backstage.io/kubernetes-id``, ``-namespace`` and
``-label-selector`` (https://backstage.io/docs/features/kubernetes/configuration#surfacing-your-kubernetes-components-as-part-of-an-entity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service_runbooks.discovery.collect import Collected
from service_runbooks.discovery.model import DiscoveryError, Fact, KubeObject, Limits, SourceProblem
from service_runbooks.discovery.safefs import read_bytes
from service_runbooks.discovery.yamlload import load_documents
from service_runbooks.errors import TooLarge, YamlProblem

KUBERNETES_ID = "backstage.io/kubernetes-id"
KUBERNETES_NAMESPACE = "backstage.io/kubernetes-namespace"
KUBERNETES_SELECTOR = "backstage.io/kubernetes-label-selector"

# Fact name -> where it sits in the entity: ("spec", key), ("metadata", key) or an annotation.
CATALOG_FIELDS: dict[str, tuple[str, str]] = {
    "component_name": ("metadata", "name"),
    "owner": ("spec", "owner"),
    "system": ("spec", "system"),
    "lifecycle": ("spec", "lifecycle"),
    "pagerduty_service_id": ("annotation", "pagerduty.com/service-id"),
    "github_repo": ("annotation", "github.com/project-slug"),
    "kubernetes_id": ("annotation", KUBERNETES_ID),
    "kubernetes_namespace": ("annotation", KUBERNETES_NAMESPACE),
    "kubernetes_label_selector": ("annotation", KUBERNETES_SELECTOR),
}


@dataclass
class Component:
    """One Component entity: its facts, each with its source."""

    name: str
    file: str
    facts: dict[str, Fact] = field(default_factory=dict)

    def annotation(self, name: str) -> str | None:
        for fact_name, (place, key) in CATALOG_FIELDS.items():
            if place == "annotation" and key == name and fact_name in self.facts:
                return str(self.facts[fact_name].value)
        return None


def _field_value(entity: Mapping[str, Any], place: str, key: str) -> Any:
    if place == "annotation":
        annotations = (entity.get("metadata") or {}).get("annotations") or {}
        return annotations.get(key) if isinstance(annotations, Mapping) else None
    section = entity.get(place) or {}
    return section.get(key) if isinstance(section, Mapping) else None


def _field_path(place: str, key: str) -> str:
    return f'metadata.annotations["{key}"]' if place == "annotation" else f"{place}.{key}"


def component_from_entity(entity: Mapping[str, Any], shown_as: str) -> Component | None:
    """The Component's facts; other kinds (System, API, Group...) are not services."""
    if entity.get("kind") != "Component":
        return None
    name = (entity.get("metadata") or {}).get("name")
    if not isinstance(name, str):
        return None
    component = Component(name, shown_as)
    for fact_name, (place, key) in CATALOG_FIELDS.items():
        value = _field_value(entity, place, key)
        if isinstance(value, str) and value:
            source = f"{shown_as}: Component/{name} {_field_path(place, key)}"
            component.facts[fact_name] = Fact(value, source)
    return component


def read_components(collected: Collected, limits: Limits) -> list[Component]:
    """Every Component of every catalog file (a file may hold several entities)."""
    components, problems = [], []
    for path in collected.catalog_files:
        shown_as = collected.shown(path)
        try:
            documents = load_documents(
                read_bytes(path, limits.bytes_per_file, shown_as), shown_as, limits
            )
        except (TooLarge, YamlProblem) as error:
            problems.append(error.problem)
            continue
        except OSError as error:
            problems.append(SourceProblem(shown_as, f"cannot be read ({error.strerror})"))
            continue
        for document in documents:
            component = (
                component_from_entity(document, shown_as) if isinstance(document, Mapping) else None
            )
            if component is not None:
                components.append(component)
    if problems:
        raise DiscoveryError(problems)
    return components


def parse_equality_selector(text: str) -> dict[str, str] | None:
    """``k=v,k2=v2`` as a mapping; None when it holds anything but equality pairs."""
    pairs = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not key or value.startswith("=") or "!" in key:
            return None
        pairs[key.strip()] = value.strip()
    return pairs


def _labels(obj: KubeObject, *path: str) -> Mapping[str, Any]:
    labels = obj.get(*path)
    return labels if isinstance(labels, Mapping) else {}


def describes(component: Component, workload: KubeObject) -> bool:
    """Whether the Component names the workload the way Backstage's Kubernetes plugin finds it:
    its label selector selects the pods (the selector takes precedence over the id), or its
    kubernetes-id is the workload's ``backstage.io/kubernetes-id`` label; a namespace annotation
    must then match too. Without either annotation, only the same name counts
    (https://backstage.io/docs/features/kubernetes/configuration#surfacing-your-kubernetes-components-as-part-of-an-entity)."""
    namespace = component.annotation(KUBERNETES_NAMESPACE)
    if namespace is not None and namespace != workload.namespace:
        return False
    selector_text = component.annotation(KUBERNETES_SELECTOR)
    if selector_text is not None:
        selector = parse_equality_selector(selector_text)
        pods = _labels(workload, "spec", "template", "metadata", "labels")
        return selector is not None and all(pods.get(k) == v for k, v in selector.items())
    kubernetes_id = component.annotation(KUBERNETES_ID)
    if kubernetes_id is not None:
        return kubernetes_id in (
            _labels(workload, "metadata", "labels").get(KUBERNETES_ID),
            _labels(workload, "spec", "template", "metadata", "labels").get(KUBERNETES_ID),
        )
    return component.name == workload.name


def component_for(
    components: list[Component], workload: KubeObject, workloads: list[KubeObject]
) -> Component | None:
    """The one Component describing the workload; with one Component and one workload and no
    annotation saying otherwise, that Component."""
    matching = [component for component in components if describes(component, workload)]
    if len(matching) == 1:
        return matching[0]
    if not matching and len(components) == 1 and len(workloads) == 1:
        only = components[0]
        if not any(only.annotation(name) for name in (KUBERNETES_ID, KUBERNETES_SELECTOR)):
            return only
    return None
