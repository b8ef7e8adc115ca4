"""What an on-call engineer needs around a schema rollback, on the rendered pages: writes stopped
and a backup checked before the down migration (database.md), a one-off pod of the bad image
when its pods are gone (no copy of a StatefulSet pod, the kubectl a copy needs, the rights), the
Prisma recipe for its own version, Flyway's repair after a failed migration, and rolling back a
ConfigMap or Secret change (rollback.md). Each checker returns its problems; a negative control
feeds it the text the pages had before."""

from __future__ import annotations

import itertools
import re

import pytest
from matrix import COMBINATIONS_BY_ID
from runbook_pages import runbook, section

WITH_DATABASE = [c for c, a in COMBINATIONS_BY_ID.items() if a["migration_tool"] != "none"]
# Tools with a down migration the page runs (Prisma has none: it explains instead).
WITH_DOWN_MIGRATION = [
    c for c in WITH_DATABASE if COMBINATIONS_BY_ID[c]["migration_tool"] != "prisma"
]
ROLLBACK_SECTION = "Roll Back the Release's Migrations"
PODS_GONE_SECTION = "When the Bad Release's Pods Are Gone"


def is_stateful(answers: dict[str, str]) -> bool:
    """A StatefulSet, or a chart whose workload is one: its pods mount ReadWriteOnce volumes."""
    return answers["workload"] == "statefulset" or (
        answers["workload"] == "helm"
        and answers.get("chart_workload", "").startswith("statefulset")
    )


# ---- item 19: stop writes, back up, check the backup, then the down migration ----


def schema_window_problems(rollback_section: str) -> list[str]:
    """Stop writes, then the backup, then its restore check, all before the first down migration."""
    steps = {
        "stop writes": rollback_section.find("Stop writes"),
        "scale to zero": rollback_section.find("--replicas="),
        "backup command": rollback_section.find("BACKUP_COMMAND"),
        "restore check": rollback_section.find("RESTORE_CHECK_COMMAND"),
        "down migration": rollback_section.find("\n# Roll back\n"),
    }
    problems = [f"no {name}" for name, at in steps.items() if at < 0]
    if problems:
        return problems
    order = list(steps)
    return [
        f"{first} comes after {then}"
        for first, then in itertools.pairwise(order)
        if steps[first] > steps[then]
    ]


@pytest.mark.parametrize("combo", WITH_DOWN_MIGRATION)
def test_database_page_stops_writes_and_checks_the_backup_before_the_down_migration(
    render_combo, combo: str
) -> None:
    page = runbook(render_combo(combo), "database.md")
    assert schema_window_problems(section(page, ROLLBACK_SECTION)) == []


def test_negative_control_a_backup_only_in_a_checklist_is_caught() -> None:
    before = (
        "A release can add several migrations...\n\n```bash\n# Roll back\n"
        'kubectl exec -it "$POD" -n production -- alembic downgrade "${TARGET:?}"\n```\n'
        "- [ ] Take a snapshot with your database platform's tool\n"
        "1. Stop writes: scale the service to zero\n"
    )
    assert schema_window_problems(before) == [
        "no scale to zero",
        "no backup command",
        "no restore check",
    ]
    reordered = "Stop writes\n--replicas=0\n\n# Roll back\nRESTORE_CHECK_COMMAND BACKUP_COMMAND\n"
    assert schema_window_problems(reordered) == [
        "backup command comes after restore check",
        "restore check comes after down migration",
    ]


# ---- item 9: the one-off pod, kubectl 1.31 for a copy, no copy of a StatefulSet pod, rights ----


def pods_gone_problems(pods_gone_section: str, stateful: bool) -> list[str]:
    """The one-off pod comes first; a copy of a pod only where no volume pins it, with its kubectl
    minimum and -c on each exec into it; the rights to check."""
    problems = []
    one_off = pods_gone_section.find("| kubectl create ")
    copy = pods_gone_section.find("--copy-to=")
    if one_off < 0:
        problems.append("no one-off pod (kubectl create)")
    if 'restartPolicy: "Never"' not in pods_gone_section:
        problems.append("the one-off pod restarts (no restartPolicy Never)")
    if "kubectl auth can-i create pods --subresource=exec" not in pods_gone_section:
        problems.append("no check of the right to exec")
    if "distroless" not in pods_gone_section:
        problems.append("no word on images without sleep")
    if stateful and copy >= 0:
        problems.append("a copy of a StatefulSet pod (its ReadWriteOnce volume)")
    if copy >= 0:
        if one_off >= 0 and copy < one_off:
            problems.append("the copy comes before the one-off pod")
        if "kubectl 1.31 or newer" not in pods_gone_section and "1.31 or Newer" not in (
            pods_gone_section
        ):
            problems.append("no kubectl minimum for --keep-init-containers")
        after_copy = pods_gone_section[copy:]
        if any(" -c " not in line for line in re.findall(r"kubectl exec [^\n]*", after_copy)):
            problems.append("an exec into the copy without -c")
    return problems


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_database_page_runs_the_down_migration_from_a_one_off_pod(render_combo, combo: str) -> None:
    page = runbook(render_combo(combo), "database.md")
    stateful = is_stateful(COMBINATIONS_BY_ID[combo])
    assert pods_gone_problems(section(page, PODS_GONE_SECTION), stateful) == []


def test_negative_control_the_copy_recipe_alone_is_caught() -> None:
    before = (
        '```bash\nkubectl debug "${POD:?}" -n production --copy-to=payments-api-db-rollback '
        '--set-image="${CONTAINER:?}=${BAD_IMAGE:?}" --keep-init-containers=false -- sleep 3600\n'
        'kubectl exec -it "$POD" -n production -- alembic current\n```\n'
    )
    found = pods_gone_problems(before, stateful=True)
    for problem in (
        "no one-off pod (kubectl create)",
        "no check of the right to exec",
        "a copy of a StatefulSet pod (its ReadWriteOnce volume)",
        "no kubectl minimum for --keep-init-containers",
        "an exec into the copy without -c",
    ):
        assert problem in found


# ---- item 10: Prisma's migrate diff, per version, no shadow database needed ----

# The flags each version's `migrate diff` accepts (packages/migrate/src/commands/MigrateDiff.ts
# at prisma 6.19.0 and 7.0.0).
PRISMA_DIFF_FLAGS = {
    "6": {
        "--from-empty",
        "--to-empty",
        "--from-url",
        "--to-url",
        "--from-schema-datamodel",
        "--to-schema-datamodel",
        "--from-schema-datasource",
        "--to-schema-datasource",
        "--from-migrations",
        "--to-migrations",
        "--shadow-database-url",
        "--script",
    },
    "7": {
        "--from-empty",
        "--to-empty",
        "--from-config-datasource",
        "--to-config-datasource",
        "--from-schema",
        "--to-schema",
        "--from-migrations",
        "--to-migrations",
        "--script",
    },
}
DIFF_BY_VERSION = re.compile(r"Prisma (\d+): `(npx --no-install prisma migrate diff [^`]*)`")


def prisma_diff_problems(limits: str) -> list[str]:
    """A recipe per version, each with that version's flags only; --to-migrations only next to
    the shadow database it needs."""
    recipes = dict(DIFF_BY_VERSION.findall(limits))
    problems = [f"no Prisma {v} recipe" for v in PRISMA_DIFF_FLAGS if v not in recipes]
    for version, command in recipes.items():
        flags = set(re.findall(r"--[a-z-]+", command)) - {"--no-install"}
        unknown = flags - PRISMA_DIFF_FLAGS.get(version, set())
        if unknown:
            problems.append(f"Prisma {version} has no {', '.join(sorted(unknown))}")
    for sentence in re.split(r"(?<=[.)])\s", limits):
        if "--to-migrations" in sentence and "shadow" not in sentence:
            problems.append("--to-migrations without its shadow database")
    return problems


PRISMA = [c for c in WITH_DATABASE if COMBINATIONS_BY_ID[c]["migration_tool"] == "prisma"]


@pytest.mark.parametrize("combo", PRISMA)
def test_prisma_recipe_fits_each_version(render_combo, combo: str) -> None:
    page = runbook(render_combo(combo), "database.md")
    assert prisma_diff_problems(section(page, "Limits")) == []


def test_negative_control_the_prisma_7_only_recipe_is_caught() -> None:
    before = (
        "build the SQL that takes the database back to the migrations before it (`npx --no-install "
        "prisma migrate diff --from-config-datasource --to-migrations prisma/migrations --script > "
        "down.sql`, in the previous release's image), review it"
    )
    found = prisma_diff_problems(before)
    assert "no Prisma 6 recipe" in found
    assert "--to-migrations without its shadow database" in found
    mixed = "Prisma 6: `npx --no-install prisma migrate diff --from-config-datasource --script`"
    assert "Prisma 6 has no --from-config-datasource" in prisma_diff_problems(mixed)


# ---- item 26: Flyway's repair after a failed migration without transactional DDL ----


def flyway_repair_problems(limits: str) -> list[str]:
    """When to repair (a Failed row on a database without transactional DDL), what it removes,
    and that the partial changes are undone by hand before it."""
    at = limits.find("`flyway repair`")
    if at < 0:
        return ["no flyway repair"]
    before = limits[:at]
    problems = []
    if "Failed" not in before or "transactional DDL" not in before:
        problems.append("repair without when (a Failed row, no transactional DDL)")
    if "by hand" not in before:
        problems.append("the partial changes are not undone by hand first")
    if "removes the failed row" not in limits[at:]:
        problems.append("not what repair does")
    return problems


@pytest.mark.parametrize("combo", WITH_DATABASE)
def test_flyway_page_says_when_to_repair(render_combo, combo: str) -> None:
    limits = section(runbook(render_combo(combo), "database.md"), "Limits")
    if COMBINATIONS_BY_ID[combo]["migration_tool"] == "flyway":
        assert flyway_repair_problems(limits) == []
    else:
        assert "flyway repair" not in limits


def test_negative_control_another_way_is_caught() -> None:
    before = (
        "it assumes the whole migration succeeded (a failed one on a database without "
        "transactional DDL needs another way)."
    )
    assert flyway_repair_problems(before) == ["no flyway repair"]


# ---- item 18: rolling back a ConfigMap or Secret change ----

CONFIG_SECTION = re.compile(r"#### Rolling Back a ConfigMap or Secret Change\n(.*?)\n#{2,4} ", re.S)


def config_rollback_problems(rollback_page: str, engine_restores_config: bool) -> list[str]:
    """The previous version applied (or, for a release rollback, said restored), then a restart
    so that environment variables and subPath mounts are read again."""
    found = CONFIG_SECTION.search(rollback_page)
    if not found:
        return ["no procedure for a ConfigMap or Secret"]
    text = found.group(1)
    problems = []
    apply_at = text.find("| kubectl apply ")
    restart_at = text.find(" restart ")
    if apply_at < 0:
        problems.append("no apply of the previous version")
    if restart_at < 0:
        problems.append("no restart")
    elif apply_at >= 0 and restart_at < apply_at:
        problems.append("the restart comes before the apply")
    if engine_restores_config and "restored the chart's ConfigMaps and Secrets" not in text:
        problems.append("does not say the release rollback restored them")
    return problems


@pytest.mark.parametrize("combo", list(COMBINATIONS_BY_ID))
def test_rollback_page_rolls_back_a_configmap_change(render_combo, combo: str) -> None:
    page = runbook(render_combo(combo), "rollback.md")
    helm = COMBINATIONS_BY_ID[combo]["workload"] == "helm"
    assert config_rollback_problems(page, engine_restores_config=helm) == []


def test_negative_control_revert_them_yourself_is_caught() -> None:
    before = (
        '!!! note "What an undo restores"\n    `rollout undo` restores the pod template only. '
        "ConfigMaps, Secrets and the replica count are\n    separate objects and are **not** "
        "rolled back: revert them yourself if the bad release changed them.\n\n"
        "### Step 4: Monitor Rollback\n"
    )
    assert config_rollback_problems(before, engine_restores_config=False) == [
        "no procedure for a ConfigMap or Secret"
    ]
    restart_only = (
        "#### Rolling Back a ConfigMap or Secret Change\n"
        "kubectl rollout restart deployment/x\n\n### "
    )
    assert config_rollback_problems(restart_only, engine_restores_config=True) == [
        "no apply of the previous version",
        "does not say the release rollback restored them",
    ]
