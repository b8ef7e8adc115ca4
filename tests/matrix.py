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

# Optional answers, given on every other combination so both branches render.
OPTIONAL_ANSWERS = {
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
            if (i + j) % 2:
                row.update(OPTIONAL_ANSWERS)
            rows.append(row)
    return rows


COMBINATIONS: list[dict[str, str]] = _pairwise()


def combo_id(answers: dict[str, str]) -> str:
    optional = "+opts" if "kube_context" in answers else ""
    return f"{answers['workload']}-{answers['migration_tool']}-{answers['gitops']}{optional}"


COMBINATIONS_BY_ID = {combo_id(c): c for c in COMBINATIONS}
