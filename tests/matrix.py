"""The option combinations the suite renders: every pair of workload, migration tool and GitOps
values at least once (32 renders instead of all 96), with the optional answers varied too."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COOKIECUTTER_JSON = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
WORKLOADS: list[str] = COOKIECUTTER_JSON["workload"]
MIGRATION_TOOLS: list[str] = COOKIECUTTER_JSON["migration_tool"]
GITOPS: list[str] = COOKIECUTTER_JSON["gitops"]

# Answers every combination gives: the template's defaults leave them empty (the pages then say
# they are not known), and the catalog entry is written only with an owner.
GIVEN_ANSWERS = {
    "description": "Payments API: takes card payments and refunds.",
    "owner": "team-payments",
}
# The health check, cycled over the combinations so each kind meets every engine.
HEALTH_CHECKS: list[dict[str, str]] = [
    {"health_check": "url", "health_url": "https://api.example.com/health"},
    {"health_check": "in-cluster", "health_check_path": "/healthz", "health_check_port": "8080"},
    {"health_check": "readiness"},
]
# Optional answers, given on every other combination so both branches render: a workload name
# apart from the component's proves that every command naming the workload uses it, and an
# autoscaler's name that every command acting on it names it instead of asking the reader.
OPTIONAL_ANSWERS = {
    "workload_name": "payments-api-v2",
    "hpa_name": "payments-api-v2-cpu",
    "kube_context": "prod-eu-west-1",
    "system": "payments",
    "pagerduty_service_id": "PABC123",
    "github_repo": "acme/payments-api",
    "dashboard_url": "https://grafana.example.com/d/payments-api?orgId=1&from=now-1h",
}


def _pairwise() -> list[dict[str, str]]:
    """One row per (workload, migration tool); GitOps cycles so every pair with it appears too."""
    rows = []
    for i, workload in enumerate(WORKLOADS):
        for j, tool in enumerate(MIGRATION_TOOLS):
            row = {"workload": workload, "migration_tool": tool, "gitops": GITOPS[(i + j) % 3]}
            row.update(GIVEN_ANSWERS)
            row.update(HEALTH_CHECKS[len(rows) % len(HEALTH_CHECKS)])
            if (i + j) % 2:
                row.update(OPTIONAL_ANSWERS)
            rows.append(row)
    return rows


COMBINATIONS: list[dict[str, str]] = _pairwise()


def combo_id(answers: dict[str, str]) -> str:
    optional = "+opts" if "kube_context" in answers else ""
    return f"{answers['workload']}-{answers['migration_tool']}-{answers['gitops']}{optional}"


COMBINATIONS_BY_ID = {combo_id(c): c for c in COMBINATIONS}
