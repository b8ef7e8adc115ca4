"""The example services (examples/services/*.yaml) that the project site shows: their answers are
valid and render with cookiecutter, and between them they cover what a reader looks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from matrix import GITOPS, ROOT, WORKLOADS

from service_runbooks.mkdocs_hooks import read_answers

EXAMPLES = sorted((ROOT / "examples" / "services").glob("*.yaml"))


@pytest.mark.parametrize("answers_file", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_renders(render, answers_file: Path) -> None:
    answers = read_answers(answers_file)
    service = render(answers)  # fails when cookiecutter or the validating hook refuses them
    assert service.name == answers_file.stem
    assert (service / "docs" / "index.md").is_file()
    assert (service / "docs" / "runbooks" / "rollback.md").is_file()
    workflow = service / ".github" / "workflows" / "techdocs.yml"
    assert workflow.is_file() == answers.get("publish_techdocs", True)


def test_examples_cover_every_workload_and_gitops_and_a_service_without_database() -> None:
    examples = [read_answers(path) for path in EXAMPLES]
    assert {answers["workload"] for answers in examples} == set(WORKLOADS)
    assert {answers["gitops"] for answers in examples} == set(GITOPS)
    assert "none" in {answers["migration_tool"] for answers in examples}
    assert {answers.get("publish_techdocs", True) for answers in examples} == {True, False}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("service_name: other-name\n", "service_name must be 'broken', the file's name"),
        ("service_name: broken\nworkloads: helm\n", "unknown answer 'workloads'"),
        ("service_name: broken\n_copy_without_render: ['*']\n", "unknown answer"),
        ("service_name: broken\nnamespace: Prod\n", "namespace: 'Prod' is not valid"),
        ("service_name: broken\nowner: '{{ 7 * 7 }}'\n", "must not contain Jinja delimiters"),
        (
            "service_name: broken\npublish_techdocs: 'yes'\n",
            "must be true or false, written without quotes",
        ),
        ("- service_name: broken\n", "expected a mapping of answers"),
    ],
)
def test_bad_example_answers_are_refused_before_rendering(
    tmp_path: Path, text: str, problem: str
) -> None:
    answers_file = tmp_path / "broken.yaml"
    answers_file.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as error:
        read_answers(answers_file)
    assert str(error.value).startswith("broken.yaml: ")
    assert problem in str(error.value)
