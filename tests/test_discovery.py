"""Discovery, step by step and end to end, over the fixture repositories.

Steps apart: sources in -> what was collected; collected -> objects (the real `kubectl
kustomize`); objects in -> relations and facts; facts in -> answers; answers -> a fleet file the
fleet reader accepts. End to end: each fixture gives the expected answers with their sources
(discovery_expected.py). Negative controls: wrong expectations are caught, links out of a source
are not followed, unreadable files and failing builds are errors naming them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from discovery_expected import EXPECTED, FIXTURES, mismatches
from tools import tool

from service_runbooks.discovery import (
    DISCOVERED_ANSWERS,
    BuildCache,
    DiscoveryError,
    Fact,
    Facts,
    KubeObject,
    Limits,
    Origin,
    answers_for,
    build,
    collect,
    derive_facts,
    discover,
    index_objects,
    relations_for,
)
from service_runbooks.discovery.facts import WorkloadFacts
from service_runbooks.discovery.index import selector_matches
from service_runbooks.discovery.kustomize import build_all, plan_builds
from service_runbooks.discovery.migrations import MARKERS, NO_MIGRATIONS
from service_runbooks.fleetfile import answer_problems
from service_runbooks.rules import RULES_BY_FIELD


@pytest.fixture(scope="module", autouse=True)
def _kubectl() -> None:
    tool("kubectl")


def run(fixture: str, *sources: str) -> Any:
    root = FIXTURES / fixture
    return discover([root / source for source in sources or (".",)], root)


def obj(body: dict[str, Any], file: str = "m.yaml") -> KubeObject:
    metadata = body["metadata"]
    namespace = metadata.get("namespace")
    return KubeObject(
        body["apiVersion"], body["kind"], metadata["name"], namespace, body, Origin(file)
    )


def deployment(name: str, labels: dict[str, str], namespace: str | None = "shop") -> KubeObject:
    return obj(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": dict(labels)},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {"containers": [{"name": name, "image": "x:1"}]},
                },
            },
        }
    )


# --- step 1: collect -----------------------------------------------------------------------


def test_collect_sorts_kustomize_roots_from_plain_manifests() -> None:
    root = FIXTURES / "kustomize"
    collected = collect([root], root)
    shown = [collected.shown(r.folder) for r in collected.kustomize_roots]
    assert shown == ["deploy/base", "deploy/overlays/prod", "deploy/overlays/staging"]
    assert collected.manifest_files == []  # files under a root are the root's
    plan = plan_builds(collected)
    assert [collected.shown(folder) for folder in plan.to_build] == [
        "deploy/overlays/prod",
        "deploy/overlays/staging",
    ]


def test_collect_plain_and_catalog() -> None:
    root = FIXTURES / "catalog"
    collected = collect([root], root)
    assert [collected.shown(p) for p in collected.manifest_files] == ["deploy/deployment.yaml"]
    assert [collected.shown(p) for p in collected.catalog_files] == ["catalog-info.yaml"]


MIGRATION_FIXTURES = {
    "django": "django",
    "alembic": "alembic",
    "flyway-conf": "flyway",
    "flyway-sql": "flyway",
    "liquibase-master": "liquibase",
    "liquibase-changelog": "liquibase",
    "rails": "rails",
    "prisma": "prisma",
    "golang-migrate": "golang-migrate",
    "none": NO_MIGRATIONS,
    "prisma-push-only": NO_MIGRATIONS,  # schema.prisma without prisma/migrations: db push
}


@pytest.mark.parametrize("fixture", sorted(MIGRATION_FIXTURES))
def test_migration_marker(fixture: str) -> None:
    root = FIXTURES / "migrations" / fixture
    finding = collect([root], root).migration
    assert finding is not None and finding.fact is not None
    assert finding.fact.value == MIGRATION_FIXTURES[fixture]
    if finding.fact.value == NO_MIGRATIONS:
        assert finding.fact.source == "no migration marker found under ."
    else:  # the source names the marker's path
        assert finding.markers[0].path in finding.fact.source


def test_two_migration_tools_are_reported_not_guessed() -> None:
    root = FIXTURES / "migrations" / "two-tools"
    finding = collect([root], root).migration
    assert finding is not None and finding.fact is None
    assert finding.problem is not None
    assert "alembic (alembic.ini)" in finding.problem and "rails (db/migrate)" in finding.problem


def test_every_migration_tool_of_the_template_has_a_marker() -> None:
    """The markers cover cookiecutter.json's migration_tool list (through rules.py), no more."""
    choices = RULES_BY_FIELD["migration_tool"].choices
    assert {*MARKERS, NO_MIGRATIONS} == set(choices)


def _outside_tree(tmp_path: Path) -> tuple[Path, Path]:
    source, outside = tmp_path / "repo", tmp_path / "outside"
    (source / "deploy").mkdir(parents=True)
    outside.mkdir()
    shutil.copy(FIXTURES / "plain" / "deploy" / "carts.yaml", outside / "secret.yaml")
    return source, outside


def test_a_link_out_of_the_source_is_not_followed(tmp_path: Path) -> None:
    source, outside = _outside_tree(tmp_path)
    shutil.copy(FIXTURES / "rollout" / "rollout.yaml", source / "deploy" / "rollout.yaml")
    os.symlink(outside / "secret.yaml", source / "deploy" / "linked.yaml")
    os.symlink(outside, source / "deploy" / "linked-folder")
    found = discover([source], source)
    assert [service.name for service in found.services] == ["checkout"]
    assert found.links_not_followed == [
        "deploy/linked-folder: a linked folder; not followed",
        "deploy/linked.yaml: a link to outside the source; not followed",
    ]


def test_a_link_inside_the_source_is_read(tmp_path: Path) -> None:
    source, _ = _outside_tree(tmp_path)
    shutil.copy(FIXTURES / "rollout" / "rollout.yaml", source / "rollout.yaml")
    os.symlink(source / "rollout.yaml", source / "deploy" / "again.yml")
    collected = collect([source], source)
    assert sorted(collected.shown(p) for p in collected.manifest_files) == [
        "deploy/again.yml",
        "rollout.yaml",
    ]


def test_a_kustomize_base_outside_the_sources_is_refused(tmp_path: Path) -> None:
    source, outside = _outside_tree(tmp_path)
    (outside / "kustomization.yaml").write_text("resources:\n- secret.yaml\n")
    (source / "deploy" / "kustomization.yaml").write_text("resources:\n- ../../outside\n")
    with pytest.raises(DiscoveryError) as caught:
        discover([source], source)
    assert str(caught.value.problems[0]) == (
        "deploy/kustomization.yaml: resources: '../../outside' is outside the sources given; "
        "not built"
    )


def test_a_remote_kustomize_resource_is_not_fetched(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- https://github.com/acme/app//deploy?ref=v1\n"
    )
    with pytest.raises(DiscoveryError, match="is remote; discovery reads only the sources given"):
        discover([tmp_path], tmp_path)


# --- step 2: build -------------------------------------------------------------------------


def test_build_runs_kustomize_for_the_overlays_only() -> None:
    root = FIXTURES / "kustomize"
    built = build(collect([root], root))
    assert built.roots_built == ["deploy/overlays/prod", "deploy/overlays/staging"]
    assert built.roots_as_bases == ["deploy/base"]
    names = {(o.kind, o.namespace, o.name) for o in built.objects}
    assert ("Deployment", "shop-prod", "prod-frontend") in names
    assert ("HorizontalPodAutoscaler", "shop-staging", "staging-frontend") in names
    assert not any(o.name == "frontend" for o in built.objects)  # the base is never built alone


def test_builds_are_cached_by_their_inputs(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "kustomize", tmp_path / "k")
    collected = collect([tmp_path / "k"], tmp_path / "k")
    plan = plan_builds(collected)
    cache = BuildCache(tmp_path / "cache")
    first = build_all(plan, collected, cache=cache)
    again = build_all(plan, collected, cache=BuildCache(tmp_path / "cache"))
    assert [r.cached for r in first] == [False, False]
    assert [r.cached for r in again] == [True, True]
    assert [r.output for r in again] == [r.output for r in first]
    base_deployment = tmp_path / "k" / "deploy" / "base" / "deployment.yaml"
    base_deployment.write_text(base_deployment.read_text().replace("1.2.0", "1.3.0"))
    changed = build_all(plan, collected, cache=cache)
    assert [r.cached for r in changed] == [False, False]  # a base's change rebuilds its overlays
    assert all(b"example/frontend:1.3.0" in (r.output or b"") for r in changed)


def test_a_failing_build_gives_the_tools_error_naming_the_root(tmp_path: Path) -> None:
    root = tmp_path / "deploy" / "broken"
    root.mkdir(parents=True)
    shutil.copy(FIXTURES / "kustomize" / "deploy" / "base" / "hpa.yaml", root / "hpa.yaml")
    (root / "kustomization.yaml").write_text(
        "resources:\n- hpa.yaml\npatches:\n- path: missing-patch.yaml\n"
    )
    with pytest.raises(DiscoveryError) as caught:
        discover([tmp_path], tmp_path)
    (problem,) = caught.value.problems
    assert problem.where == "deploy/broken"
    assert problem.message.startswith("kubectl kustomize failed (exit 1): ")
    assert "missing-patch.yaml" in problem.message  # the tool's own words
    assert "Traceback" not in str(caught.value)


def test_a_resource_missing_from_the_sources_is_refused_before_building(tmp_path: Path) -> None:
    """Kustomize would take a path it cannot find for a remote repository and clone it."""
    (tmp_path / "kustomization.yaml").write_text("resources:\n- example.com/acme/app\n")
    with pytest.raises(DiscoveryError) as caught:
        discover([tmp_path], tmp_path)
    assert [str(problem) for problem in caught.value.problems] == [
        "kustomization.yaml: resources: 'example.com/acme/app' is not in the sources (kustomize "
        "would try it as a remote repository); not built"
    ]


def test_a_remote_patch_is_not_fetched(tmp_path: Path) -> None:
    """`kubectl kustomize` fetches a patch path that is an http(s) URL."""
    (tmp_path / "kustomization.yaml").write_text(
        "patches:\n- path: http://127.0.0.1:9/patch.yaml\n"
        "configMapGenerator:\n- name: c\n  files: [key=https://example.com/x]\n"
        "transformers:\n- ../elsewhere\n"
        "- |-\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata: {name: l}\n"
    )
    with pytest.raises(DiscoveryError) as caught:
        discover([tmp_path], tmp_path)
    # the inline transformer config is not a path, and is left to kustomize
    assert [problem.where for problem in caught.value.problems] == [
        "kustomization.yaml: patches[0].path",
        "kustomization.yaml: configMapGenerator[0].files",
        "kustomization.yaml: transformers",
    ]


def _one_problem(tmp_path: Path, text: bytes, limits: Limits | None = None) -> str:
    (tmp_path / "deploy").mkdir(exist_ok=True)
    (tmp_path / "deploy" / "app.yaml").write_bytes(text)
    with pytest.raises(DiscoveryError) as caught:
        discover([tmp_path], tmp_path, limits)
    assert "Traceback" not in str(caught.value)
    (problem,) = caught.value.problems
    assert problem.where == "deploy/app.yaml"
    return problem.message


def test_malformed_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    message = _one_problem(tmp_path, b"kind: Deployment\nmetadata: {name: [unclosed\n")
    assert message.startswith("is not valid YAML: ") and "line 3" in message


def test_an_oversized_file_is_not_read(tmp_path: Path) -> None:
    message = _one_problem(tmp_path, b"a: b\n" * 100, Limits(bytes_per_file=100))
    assert message == "is larger than 100 bytes; not read"


def test_too_many_documents_are_not_read(tmp_path: Path) -> None:
    message = _one_problem(tmp_path, b"a: b\n---\n" * 10, Limits(documents_per_file=5))
    assert message == "holds more than 5 YAML documents; not read"


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    assert _one_problem(tmp_path, b"a: \xff\xfe\n").startswith("is not UTF-8 text")


def test_python_tags_are_refused_by_the_safe_loader(tmp_path: Path) -> None:
    message = _one_problem(tmp_path, b"a: !!python/object/apply:os.system ['true']\n")
    assert "could not determine a constructor" in message


def test_an_alias_bomb_is_never_expanded(tmp_path: Path) -> None:
    """A billion-laughs HPA bound: every fact keeps only text and numbers, so nothing formats
    the bomb, and the run ends at once with the HPA not derived."""
    levels = ["  - &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)
    ]
    hpa = (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "metadata: {name: web}\nbomb:\n" + "\n".join(levels) + "\n"
        "spec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: *a8\n"
    )
    (tmp_path / "bomb.yaml").write_text(hpa)
    (tmp_path / "web.yaml").write_text(
        yaml.safe_dump(deployment("web", {"app": "web"}, namespace=None).body)
    )
    (workload,) = discover([tmp_path], tmp_path).workloads
    assert workload.facts.missing["hpa"] == (
        "HorizontalPodAutoscaler/web spec.minReplicas or spec.maxReplicas is not a number"
    )


def test_a_list_holding_itself_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("&l {apiVersion: v1, kind: List, items: [*l]}\n")
    found = discover([tmp_path], tmp_path)
    assert found.services == []


def test_a_helm_chart_no_gitops_object_installs_is_listed_not_rendered(tmp_path: Path) -> None:
    """A chart's templates are Go templates, never read as manifests; without an object saying
    how it is installed (release, namespace, values) it is not rendered."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 1.0.0\n")
    (chart / "templates" / "deployment.yaml").write_text("metadata:\n  name: {{ .Release.Name }}\n")
    found = discover([tmp_path], tmp_path)
    assert found.services == []
    assert found.not_built == [
        "chart: a Helm chart no Argo CD Application or Flux HelmRelease in the sources installs, "
        "so its release, namespace and values are unknown and it is not rendered; give "
        "helm_release and chart_workload"
    ]


def test_without_kubectl_plain_manifests_are_read_and_kustomize_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert [s.name for s in run("rollout").services] == ["checkout"]
    with pytest.raises(DiscoveryError) as caught:
        run("kustomize")
    assert [str(problem) for problem in caught.value.problems] == [
        "kubectl: kubectl is not on PATH; Kustomize roots are built with `kubectl kustomize`"
    ]


def test_a_source_with_too_many_files_is_refused(tmp_path: Path) -> None:
    for index in range(6):
        (tmp_path / f"f{index}.txt").write_text("x")
    with pytest.raises(DiscoveryError, match="holds more than 5 files; name a smaller folder"):
        discover([tmp_path], tmp_path, Limits(files_walked=5))


def test_a_source_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError, match="missing: does not exist"):
        discover([tmp_path / "missing"], tmp_path)


# --- step 3: index and resolve -------------------------------------------------------------


def test_selector_semantics() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({}, labels)  # an empty LabelSelector matches everything
    assert selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "web", "x": "y"}}, labels)
    expressions = [
        ({"key": "app", "operator": "In", "values": ["web", "api"]}, True),
        ({"key": "app", "operator": "NotIn", "values": ["web"]}, False),
        ({"key": "tier", "operator": "Exists"}, True),
        ({"key": "gone", "operator": "DoesNotExist"}, True),
        ({"key": "app", "operator": "Gt", "values": ["1"]}, False),  # unknown: selects nothing
    ]
    for expression, expected in expressions:
        assert selector_matches({"matchExpressions": [expression]}, labels) is expected


def _hpa(target: str) -> KubeObject:
    return obj(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": f"hpa-{target}", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "maxReplicas": 4},
        }
    )


def _service(name: str, selector: dict[str, str] | None, labels: dict[str, str] | None = None):
    spec = {} if selector is None else {"selector": selector}
    metadata = {"name": name, "namespace": "shop", "labels": labels or {}}
    return obj({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec})


def _pdb(name: str, selector: Any) -> KubeObject:
    spec = {} if selector is None else {"selector": selector}
    return obj(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": spec,
        }
    )


def test_relations_follow_refs_and_selectors() -> None:
    web = deployment("web", {"app": "web"})
    objects = [
        web,
        deployment("web-other-ns", {"app": "web"}, namespace="elsewhere"),
        _hpa("web"),
        _hpa("api"),  # another target: not web's
        _service("web", {"app": "web"}),
        _service("external", None),  # no selector: endpoints managed elsewhere, selects none
        _service("api", {"app": "api"}),
        _pdb("null-selector", None),  # policy/v1: a null selector selects no pods
        _pdb("everything", {}),  # policy/v1: an empty selector selects every pod
        _pdb("web", {"matchLabels": {"app": "web"}}),
    ]
    relations = relations_for(index_objects(objects), web)
    assert [o.name for o in relations.hpas] == ["hpa-web"]
    assert [o.name for o in relations.services] == ["web"]
    assert [o.name for o in relations.pdbs] == ["everything", "web"]


def _monitor(kind: str, name: str, namespace: str | None, spec: dict[str, Any]) -> KubeObject:
    metadata = {"name": name, "namespace": namespace}
    body = {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": metadata}
    return obj({**body, "spec": spec})


def _job(objects: list[KubeObject]) -> Facts:
    (found,) = derive_facts(index_objects(objects))
    return found.facts


def test_service_monitor_job_is_the_services_name_or_its_job_label() -> None:
    web = deployment("web", {"app": "web"})
    service = _service("web-svc", {"app": "web"}, {"app": "web", "team-job": "shop-web"})
    select = {"selector": {"matchLabels": {"app": "web"}}}
    plain = _monitor("ServiceMonitor", "sm", "shop", select)
    named = _monitor("ServiceMonitor", "sm", "shop", {**select, "jobLabel": "team-job"})
    missing = _monitor("ServiceMonitor", "sm", "shop", {**select, "jobLabel": "absent"})
    assert _job([web, service, plain]).found["metrics_job"].value == "web-svc"
    assert _job([web, service, named]).found["metrics_job"].value == "shop-web"
    # a jobLabel the Service does not carry falls back to the Service's name
    assert _job([web, service, missing]).found["metrics_job"].value == "web-svc"


def test_service_monitor_namespace_selector() -> None:
    web = deployment("web", {"app": "web"})
    service = _service("web-svc", {"app": "web"}, {"app": "web"})
    select = {"selector": {"matchLabels": {"app": "web"}}}
    elsewhere = _monitor("ServiceMonitor", "sm", "monitoring", select)  # its own namespace only
    names = {**select, "namespaceSelector": {"matchNames": ["shop"]}}
    listed = _monitor("ServiceMonitor", "sm", "monitoring", names)
    every = {**select, "namespaceSelector": {"any": True}}
    anywhere = _monitor("ServiceMonitor", "sm", "monitoring", every)
    assert "metrics_job" in _job([web, service, elsewhere]).missing
    assert _job([web, service, listed]).found["metrics_job"].value == "web-svc"
    assert _job([web, service, anywhere]).found["metrics_job"].value == "web-svc"


def test_pod_monitor_job_and_what_cannot_be_derived() -> None:
    web = deployment("web", {"app": "web"})
    select = {"selector": {"matchLabels": {"app": "web"}}}
    pod_monitor = _monitor("PodMonitor", "pm", "shop", select)
    assert _job([web, pod_monitor]).found["metrics_job"].value == "shop/pm"
    relabel = {**select, "podMetricsEndpoints": [{"relabelings": [{"targetLabel": "job"}]}]}
    rewritten = _job([web, _monitor("PodMonitor", "pm", "shop", relabel)])
    assert rewritten.missing["metrics_job"] == "PodMonitor/pm rewrites job in its relabelings"
    two = _job([web, pod_monitor, _monitor("PodMonitor", "pm2", "shop", select)])
    assert two.missing["metrics_job"].startswith("more than one Prometheus job scrapes the pods")


def _rollout(name: str, labels: dict[str, str]) -> KubeObject:
    body = deployment(name, labels).body
    return obj({**body, "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout"})


def _endpoint_label(endpoint: dict[str, Any]) -> Facts:
    web = deployment("web", {"app": "web"})
    spec = {"selector": {"matchLabels": {"app": "web"}}, "podMetricsEndpoints": [endpoint]}
    return _job([web, _monitor("PodMonitor", "pm", "shop", spec)])


COPY = {"sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "kubernetes_namespace"}


@pytest.mark.parametrize(
    ("endpoint", "label"),
    [
        # Negative control: no relabeling leaves the operator's label, the answer's default.
        ({"port": "http"}, "namespace"),
        ({"relabelings": [COPY]}, "kubernetes_namespace"),
        (
            {"relabelings": [COPY, {"action": "labeldrop", "regex": "namespace"}]},
            "kubernetes_namespace",
        ),
        # after the scrape: the series' own namespace label copied
        (
            {"metricRelabelings": [{"sourceLabels": ["namespace"], "targetLabel": "k8s_ns"}]},
            "k8s_ns",
        ),
        # a relabeling of another label leaves the namespace where it is
        (
            {
                "relabelings": [
                    {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}
                ]
            },
            "namespace",
        ),
    ],
    ids=["none", "copied", "renamed", "metric-copy", "other-label"],
)
def test_the_namespace_label_a_monitor_scrapes_with(endpoint: dict[str, Any], label: str) -> None:
    found = _endpoint_label(endpoint).found["metrics_namespace_label"]
    assert found.value == label
    assert found.source.startswith("m.yaml: PodMonitor/pm podMetricsEndpoints[0]")


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ({"relabelings": [{"action": "labeldrop", "regex": "namespace"}]}, "no label keeps"),
        (
            {
                "relabelings": [
                    {"sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "namespace"}
                ]
            },
            "a relabeling writes 'namespace' from something else",
        ),
        (
            {
                "relabelings": [
                    {**COPY, "replacement": "ns-$1"},
                    {"action": "labeldrop", "regex": "namespace"},
                ]
            },
            "no label keeps",  # a changed value is no copy of the namespace
        ),
        (
            # the __meta_ labels are gone after the scrape: this copies nothing
            {"metricRelabelings": [COPY, {"action": "labeldrop", "regex": "namespace"}]},
            "no label keeps",
        ),
    ],
    ids=["dropped", "overwritten", "changed-value", "meta-after-scrape"],
)
def test_a_namespace_label_rewritten_is_not_derived(endpoint: dict[str, Any], reason: str) -> None:
    facts = _endpoint_label(endpoint)
    assert "metrics_namespace_label" not in facts.found
    assert reason in facts.missing["metrics_namespace_label"]


def test_monitors_that_disagree_on_the_namespace_label_derive_none() -> None:
    web = deployment("web", {"app": "web"})
    select = {"selector": {"matchLabels": {"app": "web"}}}
    plain = _monitor("PodMonitor", "a", "shop", {**select, "podMetricsEndpoints": [{}]})
    copied = {**select, "podMetricsEndpoints": [{"relabelings": [COPY]}]}
    facts = _job([web, plain, _monitor("PodMonitor", "b", "shop", copied)])
    assert "metrics_namespace_label" not in facts.found
    assert "different labels" in facts.missing["metrics_namespace_label"]


def _controller_monitor(endpoint: dict[str, Any]) -> KubeObject:
    labels = {"app.kubernetes.io/name": "argo-rollouts"}
    spec = {"selector": {"matchLabels": labels}, "endpoints": [endpoint]}
    return _monitor("ServiceMonitor", "argo-rollouts", "argo-rollouts", spec)


def test_the_rollouts_controllers_namespace_label_follows_honor_labels() -> None:
    checkout = _rollout("checkout", {"app": "checkout"})
    honored = _job([checkout, _controller_monitor({"honorLabels": True})])
    assert honored.found["rollouts_namespace_label"].value == "namespace"
    assert "honorLabels: true" in honored.found["rollouts_namespace_label"].source
    # Negative controls: without honorLabels the operator's namespace label renames it
    # (Prometheus's honor_labels: false), and no controller monitor derives nothing.
    renamed = _job([checkout, _controller_monitor({"port": "metrics"})])
    assert renamed.found["rollouts_namespace_label"].value == "exported_namespace"
    assert "rollouts_namespace_label" not in _job([checkout]).found
    # The answer is the argo-rollout workload's only.
    web = deployment("web", {"app": "web"})
    assert (
        "rollouts_namespace_label"
        not in _job([web, _controller_monitor({"honorLabels": True})]).found
    )


def _scrape_config(role: str) -> KubeObject:
    keep = f"__meta_kubernetes_{role}_annotation_prometheus_io_scrape"
    job = {
        "job_name": f"kubernetes-{role}s",
        "relabel_configs": [
            {"source_labels": [keep], "action": "keep", "regex": True},  # unquoted, as often
            {
                "source_labels": ["__meta_kubernetes_namespace"],
                "target_label": "kubernetes_namespace",
            },
        ],
    }
    data = {"prometheus.yml": yaml.safe_dump({"scrape_configs": [job]})}
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "prom", "namespace": "mon"},
    }
    return obj({**body, "data": data})


def test_a_scrape_config_names_the_label_only_for_what_it_keeps() -> None:
    web = deployment("web", {"app": "web"})
    annotated = _service("web", {"app": "web"})
    annotated.body["metadata"]["annotations"] = {"prometheus.io/scrape": "true"}
    found = _job([web, annotated, _scrape_config("service")]).found["metrics_namespace_label"]
    assert found.value == "kubernetes_namespace"
    assert found.source == (
        "m.yaml: ConfigMap/prom data['prometheus.yml'] scrape_configs[0] "
        "(job 'kubernetes-services')"
    )
    # Negative controls: a Service without the annotation, and a pod job for pods without it,
    # are not scraped by these jobs: nothing derived.
    plain = _service("web", {"app": "web"})
    assert "metrics_namespace_label" not in _job([web, plain, _scrape_config("service")]).found
    assert "metrics_namespace_label" not in _job([web, annotated, _scrape_config("pod")]).found


# --- step 4: facts -------------------------------------------------------------------------


def test_facts_of_the_plain_fixture() -> None:
    found = run("plain")
    carts = next(w for w in found.workloads if w.workload.name == "carts").facts.found
    assert carts["selector"].value == "name=carts"  # not metadata.labels' app=...
    assert carts["health_check"].value == {
        "kind": "in-cluster",
        "path": "/health",
        "port": 8080,  # the named port http, resolved
        "scheme": "HTTP",
        "probe": "readinessProbe",
        "container": "carts",
    }
    assert carts["services"].value == ["carts"]
    assert carts["pdb"].value == [{"minAvailable": 1, "name": "carts"}]
    # the datastore and the CronJob share app.kubernetes.io/part-of; Deployment/unrelated is in
    # another namespace
    assert carts["siblings"].value == ["StatefulSet/carts-db", "CronJob/carts-cleanup"]


def test_facts_of_the_statefulset_fixture() -> None:
    facts = {w.workload.name: w.facts.found for w in run("statefulset").workloads}
    assert facts["ledger"]["update_strategy"].value == "OnDelete"
    assert facts["ledger"]["update_strategy"].source == (
        "k8s/ledger.yaml: StatefulSet/ledger spec.updateStrategy.type"
    )
    assert facts["ledger"]["health_check"].value["kind"] == "readiness"  # exec probe
    assert facts["ledger-archive"]["update_strategy"].value == "RollingUpdate partition=2"
    assert facts["ledger-archive"]["health_check"].value["handler"] == "grpc"


def test_facts_of_the_hpa() -> None:
    prod = next(w for w in run("kustomize").workloads if w.workload.name == "prod-frontend")
    assert prod.facts.found["hpa"].value == {"name": "prod-frontend", "min": 3, "max": 12}
    assert prod.facts.found["hpa"].source == (
        "deploy/overlays/prod (kubectl kustomize): HorizontalPodAutoscaler/prod-frontend "
        "spec.scaleTargetRef"
    )


def test_what_the_rollout_fixture_cannot_give() -> None:
    (rollout,) = run("rollout").workloads
    missing = rollout.facts.missing
    assert "namespace" not in rollout.facts.found  # never guessed as `default`
    assert "current context's namespace, which is not guessed" in missing["namespace"]
    assert "matchExpressions" in missing["selector"]


# --- step 5: answers -----------------------------------------------------------------------


def _facts(**found: tuple[Any, str]) -> WorkloadFacts:
    facts = Facts()
    for name, (value, source) in found.items():
        facts.add(name, value, source)
    return WorkloadFacts(deployment("web", {"app": "web"}), facts)


def test_answers_from_facts() -> None:
    answers = answers_for(
        _facts(
            workload_kind=("StatefulSet", "f: kind"),
            workload_name=("db", "f: name"),
            namespace=("shop", "f: ns"),
            selector=("app=db", "f: sel"),
            metrics_job=("shop/db", "f: pm"),
            lifecycle=("prod", "c: lifecycle"),  # not one of the template's choices
            hpa=({"name": "db", "min": 1, "max": 3}, "f: hpa"),
        )
    )
    assert answers.answers == {
        "service_name": "db",
        "workload_name": "db",
        "namespace": "shop",
        "workload": "statefulset",
        "app_label_selector": "app=db",
        "metrics_selector": 'job="shop/db"',
        "hpa_name": "db",
    }
    assert answers.sources["metrics_selector"] == "f: pm"
    assert answers.sources["hpa_name"] == "f: hpa"
    assert answers.sources["workload_name"] == "f: name"
    assert answers.not_derived["lifecycle"].startswith("'prod' from c: lifecycle must be one of")
    # The probe's details are answers of an in-cluster check only: never listed as missing.
    details = {"health_check_path", "health_check_port", "health_check_scheme"}
    assert set(answers.not_derived) == set(DISCOVERED_ANSWERS) - set(answers.answers) - details
    # facts the template has no answer for stay apart, under proposed names
    assert answers.proposed == {
        "hpa_min_replicas": "1",
        "hpa_max_replicas": "3",
    }


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (
            {"kind": "in-cluster", "path": "/healthz", "port": 8080, "scheme": "HTTPS"},
            {
                "health_check": "in-cluster",
                "health_check_path": "/healthz",
                "health_check_port": "8080",
                "health_check_scheme": "HTTPS",
            },
        ),
        ({"kind": "readiness", "handler": "grpc"}, {"health_check": "readiness"}),
    ],
    ids=["http-probe", "grpc-probe"],
)
def test_the_health_check_is_an_answer_with_its_probe_details(
    check: dict[str, Any], expected: dict[str, str]
) -> None:
    """An httpGet probe gives the in-cluster check with its path, port and scheme; a gRPC (or
    exec, TCP) probe gives the readiness check and no details; each with the probe's source."""
    answers = answers_for(
        _facts(
            workload_kind=("Deployment", "f: kind"),
            workload_name=("web", "f: name"),
            health_check=(check, "f: readinessProbe"),
        )
    )
    given = {k: v for k, v in answers.answers.items() if k.startswith("health_check")}
    assert given == expected
    assert {answers.sources[k] for k in given} == {"f: readinessProbe"}
    assert not {k for k in answers.proposed if k.startswith("health")}


def test_the_flux_kind_is_an_answer_as_its_choices_spell_it() -> None:
    """Flux's kind is written lowercase (kustomization, helmrelease), as the rule's choices;
    a Kustomization in front of a helm workload breaks the rule: not derived, saying why."""

    def derived(kind: str, chart: bool) -> tuple[dict[str, str], dict[str, str]]:
        found = {
            "workload_kind": ("Deployment", "f: kind"),
            "workload_name": ("web", "f: name"),
            "gitops": ("flux", "k: kind"),
            "gitops_app": ("web", "k: name"),
            "gitops_kind": (kind, "k: kind"),
        }
        if chart:
            found["chart_workload"] = ("deployment/web", "h: chart")
        answers = answers_for(_facts(**found))
        return answers.answers, answers.not_derived

    answers, _ = derived("Kustomization", chart=False)
    assert answers["gitops_kind"] == "kustomization"
    answers, _ = derived("HelmRelease", chart=True)
    assert answers["gitops_kind"] == "helmrelease"
    # Negative control: a Kustomization with the helm workload is refused by the rule.
    answers, not_derived = derived("Kustomization", chart=True)
    assert "gitops_kind" not in answers
    assert "does not stop a Helm release's reconciliation" in not_derived["gitops_kind"]


def test_a_namespace_the_catalog_contradicts_is_not_an_answer() -> None:
    answers = answers_for(
        _facts(
            workload_kind=("Deployment", "f: kind"),
            workload_name=("web", "f: name"),
            namespace=("shop", "f: ns"),
            kubernetes_namespace=("shop-prod", "c: ns"),
        )
    )
    assert "namespace" not in answers.answers
    assert answers.not_derived["namespace"] == (
        "the manifests say 'shop' (f: ns) but the catalog says 'shop-prod' (c: ns)"
    )


# --- end to end ----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_discover_end_to_end(fixture: str) -> None:
    assert mismatches(EXPECTED[fixture], run(fixture)) == []


def test_wrong_expectations_are_caught() -> None:
    """Negative control for the comparison: a wrong name and a wrong label are reported."""
    found = run("kustomize")
    expected = {name: dict(answers) for name, answers in EXPECTED["kustomize"].items()}
    prod = expected.pop("prod-frontend")
    expected["frontend"] = prod  # the name without the namePrefix
    wrong_label = dict(expected["staging-frontend"])
    _, source = wrong_label["app_label_selector"]
    wrong_label["app_label_selector"] = ("app=frontend", source)  # the base's usual guess
    expected["staging-frontend"] = wrong_label
    problems = mismatches(expected, found)
    assert "frontend: not discovered" in problems
    assert "prod-frontend: discovered but not expected" in problems
    assert any(p.startswith("staging-frontend: app_label_selector: expected") for p in problems)


def test_sources_from_several_folders(tmp_path: Path) -> None:
    """Manifests from one folder and the migration marker from the application's repository."""
    found = discover([FIXTURES / "statefulset", FIXTURES / "migrations" / "flyway-sql"], FIXTURES)
    ledger = next(s for s in found.services if s.name == "ledger")
    assert ledger.answers["migration_tool"] == "flyway"
    assert ledger.sources["migration_tool"] == (
        "migrations/flyway-sql/src/main/resources/db/migration: flyway migrations"
    )
    assert ledger.sources["service_name"] == (
        "statefulset/k8s/ledger.yaml: StatefulSet/ledger metadata.name"
    )


def test_gitops_not_found_or_not_linked_is_never_guessed(tmp_path: Path) -> None:
    plain = run("plain").services[0]
    assert "no Argo CD Application or Flux" in plain.not_derived["gitops"]
    assert plain.not_derived["flux_namespace"] == (
        "used with gitops flux only, and gitops is not derived"
    )
    shutil.copy(FIXTURES / "rollout" / "rollout.yaml", tmp_path / "rollout.yaml")
    (tmp_path / "app.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: checkout}\n"
        "spec: {source: {path: elsewhere}, syncPolicy: {automated: {selfHeal: true}}}\n"
    )
    found = discover([tmp_path], tmp_path)
    assert found.services[0].not_derived["gitops"] == (
        "none of the GitOps objects in the sources deploys '.' (paths read from the repository "
        "root): Application/checkout (app.yaml); give gitops and gitops_app"
    )
    assert "checkout: gitops: none of the GitOps objects" in "\n".join(found.not_derived_lines())


def test_gitops_facts_and_what_a_build_change_applies_or_retracts(tmp_path: Path) -> None:
    workloads = {w.workload.name: w.facts for w in run("gitops").workloads}
    reverts = "gitops_reverts_by_hand_changes"
    assert workloads["checkout"].found[reverts].value == "true"  # selfHeal: true
    assert workloads["payments"].found[reverts].value == "true"  # Flux reconciles each interval
    # The Application's kustomize namePrefix is applied (a generated overlay over its root).
    reports = workloads["team-reports"]
    assert reports.found[reverts].value == "false"  # no automated sync
    assert reports.found["workload_name"].value == "team-reports"
    assert reports.found["namespace"].value == "analytics"
    assert reports.found["namespace"].source == (
        "deploy/reports (kubectl kustomize, with Application/reports kustomize settings): "
        "Deployment/team-reports metadata.namespace"
    )
    # A setting discovery does not apply (patches) still retracts what the manifests say.
    repo = Path(shutil.copytree(FIXTURES / "gitops", tmp_path / "gitops"))
    apps = repo / "apps" / "checkout.yaml"
    apps.write_text(
        apps.read_text().replace("namePrefix: team-", "patches: [{path: p.yaml}]"), "utf-8"
    )
    retracted = {w.workload.name: w.facts for w in discover([repo], repo).workloads}["reports"]
    assert "workload_name" not in retracted.found and "namespace" not in retracted.found
    assert retracted.missing["selector"] == (
        "Application/reports (apps/checkout.yaml) changes the build (spec.source.kustomize), "
        "which discovery does not apply; give it"
    )


def test_two_gitops_objects_for_one_workload_are_reported(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "rollout" / "rollout.yaml", tmp_path / "rollout.yaml")
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\n"
            "spec: {source: {path: .}}\n"
        )
    (service,) = discover([tmp_path], tmp_path).services
    assert service.not_derived["gitops"] == (
        "more than one GitOps object deploys Rollout/checkout: Application/a (a.yaml), "
        "Application/b (b.yaml)"
    )
    assert "gitops_app" not in service.answers


def test_two_workloads_of_one_name_are_reported(tmp_path: Path) -> None:
    for namespace in ("blue", "green"):
        (tmp_path / f"{namespace}.yaml").write_text(
            yaml.safe_dump(deployment("web", {"app": "web"}, namespace=namespace).body)
        )
    found = discover([tmp_path], tmp_path)
    assert found.notes == ["service_name 'web' is derived for 2 workloads; name each entry apart"]
    assert "# service_name 'web' is derived for 2 workloads" in found.fleet_text()


# --- the fleet file ------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_the_fleet_file_holds_answers_sources_and_comments(fixture: str) -> None:
    found = run(fixture)
    text = found.fleet_text()
    data = yaml.safe_load(text)
    assert len(data["services"]) == len(found.services)
    for written, service in zip(data["services"], found.services, strict=True):
        entry = dict(written)
        assert entry.pop("sources") == service.sources
        assert entry == service.answers
        # every answer is one the fleet reader accepts, by the rules
        assert answer_problems(service.name or "", entry) == []
        for name in service.not_derived:
            assert f"    #   {name}: " in text


def test_hostile_values_stay_inside_their_line(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "rollout" / "rollout.yaml", tmp_path / "rollout.yaml")
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: checkout\n"
        'spec:\n  owner: "x\\nservices: []\\n# "\n  lifecycle: production\n'
    )
    found = discover([tmp_path], tmp_path)
    text = found.fleet_text()
    (service,) = yaml.safe_load(text)["services"]
    assert service["lifecycle"] == "production"
    assert "owner" not in service  # refused by its rule, listed as a comment on one line
    assert "#   owner: 'x\\\\nservices: []\\\\n# ' from catalog-info.yaml" in text


def test_fleet_answers_name_objects_of_the_built_manifests() -> None:
    """Each entry's workload and selector point at a built object and select its pods."""
    for fixture in sorted(EXPECTED):
        found = run(fixture)
        for service, workload in zip(found.services, found.workloads, strict=True):
            selector = service.answers.get("app_label_selector")
            if selector is None:
                continue
            pairs = dict(pair.split("=", 1) for pair in selector.split(","))
            labels = workload.workload.get("spec", "template", "metadata", "labels")
            assert all(labels.get(k) == v for k, v in pairs.items()), (fixture, service.name)


def test_facts_carry_their_source_everywhere() -> None:
    for fixture in sorted(EXPECTED):
        for workload in run(fixture).workloads:
            for name, fact in workload.facts.found.items():
                assert isinstance(fact, Fact) and fact.source, (fixture, name)
