"""What runbook pages must and must not hold, shared by the rollback page's tests and the other
runbooks' tests: each migration tool's commands and limits, the words of the tools a service
does not use, and the seed's emoji decoded with the wrong charset."""

from __future__ import annotations

import re

# The seed's emoji decoded with the wrong charset ("\u00fc\u00ee..." was a red circle).
GARBLED = re.compile("\u00fc\u00ee|\u00fc\u00fc|\u201a\u00f6|\u00d4\u220f")


MIGRATION_COMMANDS = {
    "django": ["python manage.py showmigrations", 'python manage.py migrate "${APP_LABEL:?}"'],
    "alembic": ["alembic current", "alembic history --verbose", 'alembic downgrade "${TARGET:?}"'],
    "flyway": ["flyway info", 'flyway -target="${TARGET:?}" undo'],
    "liquibase": [
        'liquibase rollback-sql --tag="${TAG:?}"',
        'liquibase rollback --tag="${TAG:?}"',
        'liquibase rollback-count-sql --count="${COUNT:?}"',
        'liquibase rollback-count --count="${COUNT:?}"',
    ],
    "rails": ["bin/rails db:migrate:status", 'bin/rails db:migrate VERSION="${TARGET:?}"'],
    "prisma": ["npx --no-install prisma migrate status", "prisma migrate resolve --rolled-back"],
    "golang-migrate": ['-database "$DATABASE_URL" version', '-database "$DATABASE_URL" goto "$1"'],
}


MIGRATION_LIMITS = {
    "flyway": "paid editions",
    "prisma": "no down migrations",
    "django": "IrreversibleError",
}


# Words that must not appear on a page for a service that does not use the tool.
TOOL_WORDS = {
    "helm": re.compile(r"\bhelm\b", re.IGNORECASE),
    "argo-rollout": re.compile(r"argo rollouts", re.IGNORECASE),
    "argocd": re.compile(r"argo ?cd", re.IGNORECASE),
    "flux": re.compile(r"\bflux\b", re.IGNORECASE),
}
