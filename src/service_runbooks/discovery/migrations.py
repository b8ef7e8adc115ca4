"""The application repository's migration tool, from the files each tool needs to run.

Each marker is a file or folder the tool's own docs name as where it looks by default; the
values are the template's ``migration_tool`` choices (cookiecutter.json). Two tools found is
reported, never settled by a guess; none found is ``none``, its source the folders looked at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service_runbooks.discovery.model import Fact, Limits, relative
from service_runbooks.discovery.safefs import head


@dataclass(frozen=True)
class MigrationMarker:
    """One tool's marker found: the template's value and the path that shows it."""

    tool: str
    path: str


@dataclass(frozen=True)
class MigrationFinding:
    """The tool derived (a Fact), or why it could not be (two or more tools found)."""

    fact: Fact | None
    markers: tuple[MigrationMarker, ...]
    problem: str | None = None


# golang-migrate: "{version}_{title}.up.{extension}" and ".down." beside it
# (https://github.com/golang-migrate/migrate/blob/master/MIGRATIONS.md).
_GOLANG_MIGRATE = re.compile(r"(?P<stem>[0-9]+_[^/]*)\.(?P<way>up|down)\.sql")
# Flyway versioned migrations: V<version>__<description>.sql (prefix V, separator "__", suffix
# .sql); an application's default location is classpath:db/migration
# (https://documentation.red-gate.com/fd/reference/configuration/flyway-namespace/flyway-locations-setting).
_FLYWAY_SQL = re.compile(r"V[0-9][0-9._]*__.+\.sql")
# Liquibase's conventional root changelog name (db.changelog-master.yaml/.xml/...), or any
# changelog file whose root element or key is databaseChangeLog
# (https://docs.liquibase.com/concepts/changelogs/home.html).
_LIQUIBASE_MASTER = re.compile(r"db\.changelog-master\.(xml|ya?ml|json|sql)")
_LIQUIBASE_CHANGELOG = re.compile(r".*changelog.*\.(xml|ya?ml|json)", re.IGNORECASE)


def _alembic(files: list[Path], folders: list[Path], limits: Limits) -> list[Path]:
    # alembic.ini is what `alembic` reads by default (https://alembic.sqlalchemy.org/en/latest/tutorial.html).
    return [path for path in files if path.name == "alembic.ini"]


def _django(files: list[Path], folders: list[Path], limits: Limits) -> list[Path]:
    # manage.py runs `migrate`; each app keeps its migrations in <app>/migrations/*.py
    # (https://docs.djangoproject.com/en/stable/topics/migrations/).
    if not any(path.name == "manage.py" for path in files):
        return []
    return sorted(
        {path.parent for path in files if path.parent.name == "migrations" and path.suffix == ".py"}
    )


def _rails(files: list[Path], folders: list[Path], limits: Limits) -> list[Path]:
    # Active Record migrations are Ruby files in db/migrate
    # (https://guides.rubyonrails.org/active_record_migrations.html).
    return sorted(
        {
            path.parent
            for path in files
            if path.suffix == ".rb"
            and path.parent.name == "migrate"
            and path.parent.parent.name == "db"
        }
    )


def _flyway(files: list[Path], folders: list[Path], limits: Limits) -> list[Path]:
    # flyway.conf is the configuration file the Flyway command line reads
    # (https://documentation.red-gate.com/fd/reference/configuration).
    conf = [path for path in files if path.name == "flyway.conf"]
    scripts = {
        path.parent
        for path in files
        if _FLYWAY_SQL.fullmatch(path.name)
        and path.parent.name == "migration"
        and path.parent.parent.name == "db"
    }
    return conf + sorted(scripts)


def _liquibase(files: list[Path], folders: list[Path], limits: Limits) -> list[Path]:
    found = []
    for path in files:
        if _LIQUIBASE_MASTER.fullmatch(path.name) or (
            _LIQUIBASE_CHANGELOG.fullmatch(path.name)
            and b"databaseChangeLog" in head(path, limits.marker_bytes)
        ):
            found.append(path)
    return found


def _prisma(files: list[Path], folders: list[Path], limits: Limits) -> list[Path]:
    # `prisma migrate` keeps its history in prisma/migrations beside prisma/schema.prisma
    # (https://www.prisma.io/docs/orm/prisma-migrate/understanding-prisma-migrate/migration-histories);
    # a schema without that folder is `prisma db push`, which has no migrations to roll back.
    folder_set = set(folders)
    return [
        path
        for path in files
        if path.name == "schema.prisma"
        and path.parent.name == "prisma"
        and path.parent / "migrations" in folder_set
    ]


def _golang_migrate(files: list[Path], folders: list[Path], limits: Limits) -> list[Path]:
    ways: dict[tuple[Path, str], set[str]] = {}
    for path in files:
        match = _GOLANG_MIGRATE.fullmatch(path.name)
        if match:
            ways.setdefault((path.parent, match["stem"]), set()).add(match["way"])
    return sorted({folder for (folder, _), seen in ways.items() if seen == {"up", "down"}})


MarkerFinder = Callable[[list[Path], list[Path], Limits], list[Path]]

# The template's migration_tool value -> how its marker is found.
MARKERS: dict[str, MarkerFinder] = {
    "django": _django,
    "alembic": _alembic,
    "flyway": _flyway,
    "liquibase": _liquibase,
    "rails": _rails,
    "prisma": _prisma,
    "golang-migrate": _golang_migrate,
}

NO_MIGRATIONS = "none"


def find_migration_tool(
    files: list[Path], folders: list[Path], looked_at: list[str], base: Path, limits: Limits
) -> MigrationFinding:
    """The migration tool the walked files show; ``looked_at`` are the sources, as shown."""
    markers = tuple(
        MigrationMarker(tool, relative(path, base))
        for tool, finder in MARKERS.items()
        for path in finder(files, folders, limits)
    )
    tools = sorted({marker.tool for marker in markers})
    if not tools:
        source = "no migration marker found under " + ", ".join(looked_at)
        return MigrationFinding(Fact(NO_MIGRATIONS, source), markers)
    if len(tools) > 1:
        found = "; ".join(f"{marker.tool} ({marker.path})" for marker in markers)
        return MigrationFinding(None, markers, f"more than one migration tool found: {found}")
    paths = ", ".join(marker.path for marker in markers)
    return MigrationFinding(Fact(tools[0], f"{paths}: {tools[0]} migrations"), markers)
