"""What discovery must derive from each fixture repository under tests/fixtures/discovery/.

Written from the fixtures' manifests and the tools' docs, not from discovery's output: each
answer is (value, source). ``mismatches`` compares a discovery run with it, and is itself
checked against wrong expectations (a wrong name, a wrong label) in test_discovery.py.
"""

from __future__ import annotations

from pathlib import Path

from service_runbooks.discovery import Discovery

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"

_NONE = ("none", "no migration marker found under .")
# Where the Application/reports build is read: its root, built with its kustomize settings.
REPORTS = "deploy/reports (kubectl kustomize, with Application/reports kustomize settings): "
NO_NAME = "(no service_name)"

# fixture -> service_name -> answer -> (value, source)
EXPECTED: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    "plain": {
        "carts": {
            "service_name": ("carts", "deploy/carts.yaml: Deployment/carts metadata.name"),
            "namespace": ("sock-shop", "deploy/carts.yaml: Deployment/carts metadata.namespace"),
            "workload": ("deployment", "deploy/carts.yaml: Deployment/carts kind"),
            # matchLabels (name=carts), not metadata.labels (app=carts-metadata-only)
            "app_label_selector": (
                "name=carts",
                "deploy/carts.yaml: Deployment/carts spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
            # no jobLabel: the job is the Service's name
            "metrics_selector": (
                'job="carts"',
                "deploy/carts.yaml: ServiceMonitor/carts-metrics spec.selector selects "
                "Service/carts: job is the Service's name",
            ),
        },
        "carts-db": {
            "service_name": (
                "carts-db",
                "deploy/carts-db.yaml: StatefulSet/carts-db metadata.name",
            ),
            "namespace": (
                "sock-shop",
                "deploy/carts-db.yaml: StatefulSet/carts-db metadata.namespace",
            ),
            "workload": ("statefulset", "deploy/carts-db.yaml: StatefulSet/carts-db kind"),
            "app_label_selector": (
                "name=carts-db",
                "deploy/carts-db.yaml: StatefulSet/carts-db spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
        },
        "unrelated": {
            "service_name": (
                "unrelated",
                "deploy/carts-db.yaml: Deployment/unrelated metadata.name",
            ),
            "namespace": ("other", "deploy/carts-db.yaml: Deployment/unrelated metadata.namespace"),
            "workload": ("deployment", "deploy/carts-db.yaml: Deployment/unrelated kind"),
            "app_label_selector": (
                "name=unrelated",
                "deploy/carts-db.yaml: Deployment/unrelated spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
        },
    },
    "kustomize": {
        # namePrefix prod-, namespace from the overlay, commonLabels added to the selector
        "prod-frontend": {
            "service_name": (
                "prod-frontend",
                "deploy/overlays/prod (kubectl kustomize): Deployment/prod-frontend metadata.name",
            ),
            "namespace": ("shop-prod", "deploy/overlays/prod/kustomization.yaml: namespace"),
            "workload": (
                "deployment",
                "deploy/overlays/prod (kubectl kustomize): Deployment/prod-frontend kind",
            ),
            "app_label_selector": (
                "app.kubernetes.io/name=frontend,env=prod",
                "deploy/overlays/prod (kubectl kustomize): Deployment/prod-frontend "
                "spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
            # jobLabel: metrics-job names the Service's label metrics-job: storefront
            "metrics_selector": (
                'job="storefront"',
                "deploy/overlays/prod (kubectl kustomize): Service/prod-frontend "
                "metadata.labels['metrics-job'] (named by ServiceMonitor/prod-frontend "
                "spec.jobLabel)",
            ),
            # the base's HPA, renamed by namePrefix like the Deployment it scales (references
            # to renamed objects follow: https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/nameprefix/)
            "hpa_name": (
                "prod-frontend",
                "deploy/overlays/prod (kubectl kustomize): HorizontalPodAutoscaler/prod-frontend "
                "spec.scaleTargetRef",
            ),
        },
        # `labels:` without includeSelectors leaves the selector alone
        "staging-frontend": {
            "service_name": (
                "staging-frontend",
                "deploy/overlays/staging (kubectl kustomize): Deployment/staging-frontend "
                "metadata.name",
            ),
            "namespace": ("shop-staging", "deploy/overlays/staging/kustomization.yaml: namespace"),
            "workload": (
                "deployment",
                "deploy/overlays/staging (kubectl kustomize): Deployment/staging-frontend kind",
            ),
            "app_label_selector": (
                "app.kubernetes.io/name=frontend",
                "deploy/overlays/staging (kubectl kustomize): Deployment/staging-frontend "
                "spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
            "metrics_selector": (
                'job="storefront"',
                "deploy/overlays/staging (kubectl kustomize): Service/staging-frontend "
                "metadata.labels['metrics-job'] (named by ServiceMonitor/staging-frontend "
                "spec.jobLabel)",
            ),
            "hpa_name": (
                "staging-frontend",
                "deploy/overlays/staging (kubectl kustomize): "
                "HorizontalPodAutoscaler/staging-frontend spec.scaleTargetRef",
            ),
        },
    },
    "statefulset": {
        "ledger": {
            "service_name": ("ledger", "k8s/ledger.yaml: StatefulSet/ledger metadata.name"),
            "namespace": ("payments", "k8s/ledger.yaml: StatefulSet/ledger metadata.namespace"),
            "workload": ("statefulset", "k8s/ledger.yaml: StatefulSet/ledger kind"),
            "app_label_selector": (
                "app=ledger,tier=db",
                "k8s/ledger.yaml: StatefulSet/ledger spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
            # a PodMonitor without jobLabel: <namespace>/<name> of the PodMonitor
            "metrics_selector": (
                'job="monitoring/ledger"',
                "k8s/ledger.yaml: PodMonitor/ledger metadata: job is <namespace>/<name> of the "
                "PodMonitor",
            ),
        },
        "ledger-archive": {
            "service_name": (
                "ledger-archive",
                "k8s/ledger.yaml: StatefulSet/ledger-archive metadata.name",
            ),
            "namespace": (
                "payments",
                "k8s/ledger.yaml: StatefulSet/ledger-archive metadata.namespace",
            ),
            "workload": ("statefulset", "k8s/ledger.yaml: StatefulSet/ledger-archive kind"),
            "app_label_selector": (
                "app=ledger-archive",
                "k8s/ledger.yaml: StatefulSet/ledger-archive spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
        },
    },
    "rollout": {
        "checkout": {
            "service_name": ("checkout", "rollout.yaml: Rollout/checkout metadata.name"),
            "workload": ("argo-rollout", "rollout.yaml: Rollout/checkout kind"),
            "migration_tool": _NONE,
            # a PodMonitor whose jobLabel names a pod label
            "metrics_selector": (
                'job="checkout-api"',
                "rollout.yaml: Rollout/checkout spec.template.metadata.labels['metrics-job'] "
                "(named by PodMonitor/checkout spec.jobLabel)",
            ),
        },
    },
    "catalog": {
        # the Component's name, not the Deployment's (found by backstage.io/kubernetes-id)
        "payments": {
            "service_name": ("payments", "catalog-info.yaml: Component/payments metadata.name"),
            "owner": (
                "group:default/team-payments",
                "catalog-info.yaml: Component/payments spec.owner",
            ),
            "system": ("billing", "catalog-info.yaml: Component/payments spec.system"),
            "lifecycle": ("production", "catalog-info.yaml: Component/payments spec.lifecycle"),
            "namespace": (
                "payments-prod",
                "deploy/deployment.yaml: Deployment/payments-api-server metadata.namespace",
            ),
            "workload": (
                "deployment",
                "deploy/deployment.yaml: Deployment/payments-api-server kind",
            ),
            "app_label_selector": (
                "app.kubernetes.io/name=payments-api,app.kubernetes.io/instance=payments",
                "deploy/deployment.yaml: Deployment/payments-api-server spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
            "pagerduty_service_id": (
                "PXYZ789",
                "catalog-info.yaml: Component/payments "
                'metadata.annotations["pagerduty.com/service-id"]',
            ),
            "github_repo": (
                "acme/payments",
                "catalog-info.yaml: Component/payments "
                'metadata.annotations["github.com/project-slug"]',
            ),
        },
        "payments-worker": {
            "service_name": (
                "payments-worker",
                "deploy/deployment.yaml: Deployment/payments-worker metadata.name",
            ),
            "namespace": (
                "payments-prod",
                "deploy/deployment.yaml: Deployment/payments-worker metadata.namespace",
            ),
            "workload": ("deployment", "deploy/deployment.yaml: Deployment/payments-worker kind"),
            "app_label_selector": (
                "app.kubernetes.io/name=payments-worker,app.kubernetes.io/instance=payments",
                "deploy/deployment.yaml: Deployment/payments-worker spec.selector.matchLabels",
            ),
            "migration_tool": _NONE,
        },
    },
}


EXPECTED["gitops"] = {
    # Argo CD: the Deployment has no namespace; the Application's destination gives it
    "checkout": {
        "service_name": (
            "checkout",
            "deploy/checkout/deployment.yaml: Deployment/checkout metadata.name",
        ),
        "namespace": (
            "shop",
            "apps/checkout.yaml: Application/checkout spec.destination.namespace",
        ),
        "workload": ("deployment", "deploy/checkout/deployment.yaml: Deployment/checkout kind"),
        "app_label_selector": (
            "app=checkout",
            "deploy/checkout/deployment.yaml: Deployment/checkout spec.selector.matchLabels",
        ),
        "migration_tool": _NONE,
        "gitops": ("argocd", "apps/checkout.yaml: Application/checkout spec.source.path"),
        "gitops_app": ("checkout", "apps/checkout.yaml: Application/checkout metadata.name"),
    },
    # Flux: spec.targetNamespace wins over the overlay's namespace: payments
    "payments": {
        "service_name": (
            "payments",
            "deploy/payments/overlays/prod (kubectl kustomize): Deployment/payments metadata.name",
        ),
        "namespace": (
            "payments-live",
            "clusters/prod/payments.yaml: Kustomization/payments spec.targetNamespace",
        ),
        "workload": (
            "deployment",
            "deploy/payments/overlays/prod (kubectl kustomize): Deployment/payments kind",
        ),
        "app_label_selector": (
            "app=payments",
            "deploy/payments/overlays/prod (kubectl kustomize): Deployment/payments "
            "spec.selector.matchLabels",
        ),
        "migration_tool": _NONE,
        "gitops": ("flux", "clusters/prod/payments.yaml: Kustomization/payments spec.path"),
        "gitops_app": (
            "payments",
            "clusters/prod/payments.yaml: Kustomization/payments metadata.name",
        ),
        "flux_namespace": (
            "flux-system",
            "clusters/prod/payments.yaml: Kustomization/payments metadata.namespace",
        ),
    },
    # the Application changes the build (a name prefix): built with its settings applied
    "team-reports": {
        "service_name": ("team-reports", REPORTS + "Deployment/team-reports metadata.name"),
        "namespace": ("analytics", REPORTS + "Deployment/team-reports metadata.namespace"),
        "workload": ("deployment", REPORTS + "Deployment/team-reports kind"),
        "app_label_selector": (
            "app=reports",
            REPORTS + "Deployment/team-reports spec.selector.matchLabels",
        ),
        "migration_tool": _NONE,
        "gitops": ("argocd", "apps/checkout.yaml: Application/reports spec.source.path"),
        "gitops_app": ("reports", "apps/checkout.yaml: Application/reports metadata.name"),
    },
}


# The answer model's own answers (issue 21, section 1), from the same manifests: each
# workload's name as built (a namePrefix included; the catalog's component may differ), and its
# health check read from its probe (an httpGet probe: in-cluster with its path, port and scheme,
# a named port as the container's number; an exec, gRPC or TCP probe: readiness).
PROBE = "spec.template.spec.containers[0]."


def _named(fixture: str, service: str, where: str, kind: str, name: str) -> None:
    EXPECTED[fixture][service]["workload_name"] = (name, f"{where}{kind}/{name} metadata.name")


def _probe(fixture: str, service: str, where: str, probe: str, *http: str) -> None:
    source = f"{where}{PROBE}{probe}"
    answers = EXPECTED[fixture][service]
    if not http:
        answers["health_check"] = ("readiness", source)
        return
    answers["health_check"] = ("in-cluster", source)
    for field, value in zip(("path", "port", "scheme"), http, strict=True):
        answers[f"health_check_{field}"] = (value, source)


_named("plain", "carts", "deploy/carts.yaml: ", "Deployment", "carts")
_probe(
    "plain",
    "carts",
    "deploy/carts.yaml: Deployment/carts ",
    "readinessProbe",
    "/health",
    "8080",
    "HTTP",
)  # port: http, the container's port named http
_named("plain", "carts-db", "deploy/carts-db.yaml: ", "StatefulSet", "carts-db")
_probe("plain", "carts-db", "deploy/carts-db.yaml: StatefulSet/carts-db ", "readinessProbe")
_named("plain", "unrelated", "deploy/carts-db.yaml: ", "Deployment", "unrelated")
for _env in ("prod", "staging"):
    _where = f"deploy/overlays/{_env} (kubectl kustomize): "
    _named("kustomize", f"{_env}-frontend", _where, "Deployment", f"{_env}-frontend")
    _probe(
        "kustomize",
        f"{_env}-frontend",
        f"{_where}Deployment/{_env}-frontend ",
        "readinessProbe",
        "/_healthz",
        "8080",
        "HTTP",
    )
_named("catalog", "payments", "deploy/deployment.yaml: ", "Deployment", "payments-api-server")
_probe(
    "catalog",
    "payments",
    "deploy/deployment.yaml: Deployment/payments-api-server ",
    "livenessProbe",
    "/livez",
    "8443",
    "HTTPS",
)
_named("catalog", "payments-worker", "deploy/deployment.yaml: ", "Deployment", "payments-worker")
_named("statefulset", "ledger", "k8s/ledger.yaml: ", "StatefulSet", "ledger")
_probe("statefulset", "ledger", "k8s/ledger.yaml: StatefulSet/ledger ", "readinessProbe")  # exec
_named("statefulset", "ledger-archive", "k8s/ledger.yaml: ", "StatefulSet", "ledger-archive")
_probe(
    "statefulset",
    "ledger-archive",
    "k8s/ledger.yaml: StatefulSet/ledger-archive ",
    "readinessProbe",
)  # gRPC
_named("rollout", "checkout", "rollout.yaml: ", "Rollout", "checkout")
_named("gitops", "checkout", "deploy/checkout/deployment.yaml: ", "Deployment", "checkout")
_named(
    "gitops",
    "payments",
    "deploy/payments/overlays/prod (kubectl kustomize): ",
    "Deployment",
    "payments",
)
_named("gitops", "team-reports", REPORTS, "Deployment", "team-reports")
# Flux's kind, lowercase as the answer's choices spell it.
EXPECTED["gitops"]["payments"]["gitops_kind"] = (
    "kustomization",
    "clusters/prod/payments.yaml: Kustomization/payments kind",
)


# The namespace label of the service's own metrics (scrapelabels.py): the Prometheus Operator's
# `namespace` when a monitor scrapes the pods without relabeling it
# (https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.Endpoint).
OPERATOR_LABEL = " (no relabeling: the operator's namespace label)"


def _scraped(fixture: str, service: str, source: str, label: str = "namespace") -> None:
    EXPECTED[fixture][service]["metrics_namespace_label"] = (label, source)


_scraped(
    "plain",
    "carts",
    f"deploy/carts.yaml: ServiceMonitor/carts-metrics endpoints[0]{OPERATOR_LABEL}",
)
for _overlay in ("prod", "staging"):
    _scraped(
        "kustomize",
        f"{_overlay}-frontend",
        f"deploy/overlays/{_overlay} (kubectl kustomize): ServiceMonitor/{_overlay}-frontend "
        f"endpoints[0]{OPERATOR_LABEL}",
    )
_scraped(
    "rollout",
    "checkout",
    f"rollout.yaml: PodMonitor/checkout podMetricsEndpoints[0]{OPERATOR_LABEL}",
)
_scraped(
    "statefulset",
    "ledger",
    f"k8s/ledger.yaml: PodMonitor/ledger podMetricsEndpoints[0]{OPERATOR_LABEL}",
)

# How the sources have the metrics scraped: a ServiceMonitor copying the namespace to
# kubernetes_namespace, the Argo Rollouts controller scraped with honorLabels, a plain
# prometheus.yml and a ConfigMap holding one (Prometheus's relabel_config: action replace by
# default; https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config).
_ORDERS = "orders.yaml: Deployment/orders "
_CHECKOUT = "orders.yaml: Rollout/checkout "
EXPECTED["monitoring/operator"] = {
    "orders": {
        "service_name": ("orders", f"{_ORDERS}metadata.name"),
        "workload_name": ("orders", f"{_ORDERS}metadata.name"),
        "namespace": ("shop", f"{_ORDERS}metadata.namespace"),
        "workload": ("deployment", f"{_ORDERS}kind"),
        "app_label_selector": ("app=orders", f"{_ORDERS}spec.selector.matchLabels"),
        "migration_tool": _NONE,
        "metrics_selector": (
            'job="orders"',
            "orders.yaml: ServiceMonitor/orders spec.selector selects Service/orders: job is "
            "the Service's name",
        ),
        "metrics_namespace_label": (
            "kubernetes_namespace",
            "orders.yaml: ServiceMonitor/orders endpoints[0] relabelings",
        ),
    },
    "checkout": {
        "service_name": ("checkout", f"{_CHECKOUT}metadata.name"),
        "workload_name": ("checkout", f"{_CHECKOUT}metadata.name"),
        "namespace": ("shop", f"{_CHECKOUT}metadata.namespace"),
        "workload": ("argo-rollout", f"{_CHECKOUT}kind"),
        "app_label_selector": ("app=checkout", f"{_CHECKOUT}spec.selector.matchLabels"),
        "migration_tool": _NONE,
        "metrics_selector": (
            'job="shop/checkout"',
            "orders.yaml: PodMonitor/checkout metadata: job is <namespace>/<name> of the "
            "PodMonitor",
        ),
        "metrics_namespace_label": (
            "namespace",
            f"orders.yaml: PodMonitor/checkout podMetricsEndpoints[0]{OPERATOR_LABEL}",
        ),
        "rollouts_namespace_label": (
            "namespace",
            "controller.yaml: ServiceMonitor/argo-rollouts endpoints[0].honorLabels "
            "(honorLabels: true)",
        ),
    },
}
_CARTS = "carts.yaml: Deployment/carts "
_WEB = "web.yaml: Deployment/web "
EXPECTED["monitoring/scrape-config"] = {
    "carts": {
        "service_name": ("carts", f"{_CARTS}metadata.name"),
        "workload_name": ("carts", f"{_CARTS}metadata.name"),
        "namespace": ("sock-shop", f"{_CARTS}metadata.namespace"),
        "workload": ("deployment", f"{_CARTS}kind"),
        "app_label_selector": ("name=carts", f"{_CARTS}spec.selector.matchLabels"),
        "migration_tool": _NONE,
        "metrics_namespace_label": (
            "kubernetes_namespace",
            "prometheus/prometheus.yml: the Prometheus configuration scrape_configs[0] "
            "(job 'kubernetes-service-endpoints')",
        ),
    },
}
EXPECTED["monitoring/configmap"] = {
    "web": {
        "service_name": ("web", f"{_WEB}metadata.name"),
        "workload_name": ("web", f"{_WEB}metadata.name"),
        "namespace": ("storefront", f"{_WEB}metadata.namespace"),
        "workload": ("deployment", f"{_WEB}kind"),
        "app_label_selector": ("app=web", f"{_WEB}spec.selector.matchLabels"),
        "migration_tool": _NONE,
        "metrics_namespace_label": (
            "k8s_namespace_name",
            "web.yaml: ConfigMap/prometheus-server data['prometheus.yml'] scrape_configs[0] "
            "(job 'kubernetes-pods')",
        ),
    },
}


def mismatches(expected: dict[str, dict[str, tuple[str, str]]], found: Discovery) -> list[str]:
    """Every difference between the expected services and a discovery run, in words."""
    services = {service.name or NO_NAME: service for service in found.services}
    problems = [f"{name}: not discovered" for name in expected if name not in services]
    problems += [
        f"{name}: discovered but not expected" for name in services if name not in expected
    ]
    for name, answers in expected.items():
        service = services.get(name)
        if service is None:
            continue
        got = {key: (value, service.sources[key]) for key, value in service.answers.items()}
        for key in sorted(set(answers) | set(got)):
            if answers.get(key) != got.get(key):
                problems.append(f"{name}: {key}: expected {answers.get(key)}, got {got.get(key)}")
    return problems
