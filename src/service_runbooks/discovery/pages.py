"""What a service's pages name, computed by the template itself from its answers.

The engine module (``engines.jinja``) decides which Helm release and namespace the pages' helm
commands use (the ``helm_release`` answer as given; under Flux the release's namespace is
``flux_namespace``, where helm-controller stores it by default);
running it here, with cookiecutter's own environment, keeps that rule in one place, for
``discover --cluster`` (is what was derived what the pages will print?) and for ``check
--drift`` (what do the pages print?).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import CookiecutterException

from service_runbooks.discovery.answers import ServiceAnswers

ENGINES_MODULE = "{% if False %}engines.jinja{% endif %}"


@dataclass(frozen=True)
class PageEngine:
    """The rendered answers, and the engine's own names for what the pages act on."""

    answers: Mapping[str, Any]
    engine: str  # kubectl-rollout, argo-rollouts, helm, argocd-helm
    helm_release: str
    helm_namespace: str


def page_engine(template: Path, given: Mapping[str, object]) -> PageEngine:
    """The engine module run on ``given`` (the rest as cookiecutter defaults them)."""
    from service_runbooks.cookiecutter_render import build_context, template_module

    answers = build_context(template, given, Path("."))["cookiecutter"]
    engines = template_module(template, ENGINES_MODULE, given)
    return PageEngine(answers, engines.engine_name, engines.helm_release, engines.helm_namespace)


def helm_as_the_pages_print(template: Path, service: ServiceAnswers) -> None:
    """A Helm release derived that the pages would not print as derived (under Flux the template
    runs helm in ``flux_namespace``, so a release stored elsewhere cannot be named yet) is moved
    to the answers not derived, saying what the pages would use."""
    answers = service.answers
    if answers.get("workload") != "helm" or "helm_release" not in answers:
        return
    try:
        engine = page_engine(template, answers)
    except (CookiecutterException, ValueError):
        return  # answers cookiecutter refuses: the fleet reader names them
    release, stored = answers["helm_release"], service.proposed.get("helm_storage_namespace")
    wrong = []
    if engine.helm_release != release:
        wrong.append(f"release {engine.helm_release!r}, not {release!r}")
    if stored is not None and engine.helm_namespace != stored:
        wrong.append(f"namespace {engine.helm_namespace!r}, not {stored!r}")
    if wrong:
        source = service.sources.pop("helm_release")
        del answers["helm_release"]
        service.not_derived["helm_release"] = (
            f"{release!r} ({source}), but with these answers the pages' helm commands would use "
            f"{' and '.join(wrong)} (the template's rule for Helm under Flux); the template "
            "cannot name this release yet"
        )
