"""The plain `cookiecutter --no-input` render invents nothing: no example description, owner or
health URL (the pages say what is not known yet), no database runbook, and a health check that
is the pods' readiness, which a good rollback passes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from matrix import ROOT
from tools import cookiecutter_config, tool

# The example values the defaults held before: an on-call engineer would copy them as facts.
EXAMPLE_VALUES = ("Payments API", "team-payments", "api.example.com")


def rendered_text(service: Path) -> dict[str, str]:
    return {
        path.relative_to(service).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(service.rglob("*"))
        if path.is_file()
    }


def example_values_in(service: Path) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, text in rendered_text(service).items()
        for value in EXAMPLE_VALUES
        if value in text
    ]


@pytest.fixture(scope="module")
def default_service(tmp_path_factory) -> Path:
    """The service the real cookiecutter CLI writes with every default."""
    output = tmp_path_factory.mktemp("default")
    config = cookiecutter_config(tmp_path_factory.mktemp("config"))
    subprocess.run(
        [
            tool("cookiecutter"),
            "--no-input",
            "--config-file",
            str(config),
            "--output-dir",
            str(output),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return output / "payments-api"


def test_the_default_render_holds_no_example_value(default_service: Path) -> None:
    assert example_values_in(default_service) == []
    assert not (default_service / "catalog-info.yaml").exists()
    assert not (default_service / "docs" / "runbooks" / "database.md").exists()
    assert not (default_service / "scripts" / "db-migrations.sh").exists()
    home = (default_service / "docs" / "index.md").read_text(encoding="utf-8")
    assert "not known yet: give the `description` answer" in home
    assert "not known yet: give the `owner` answer" in home
    assert "no HTTP health check is known" in home


def test_the_check_finds_example_values_where_they_are_given(render) -> None:
    """Negative control: the same check over a service given the old example values."""
    given = render(
        {
            "description": "Payments API: takes card payments and refunds.",
            "owner": "team-payments",
            "health_check": "url",
            "health_url": "https://api.example.com/health",
        }
    )
    found = {value for _, value in example_values_in(given)}
    assert found == set(EXAMPLE_VALUES)
