"""Every rendered catalog-info.yaml passes Backstage's own @backstage/catalog-model validation."""

from __future__ import annotations

from pathlib import Path

import yaml
from backstage_helpers import validate_entities
from matrix import COMBINATIONS, GIVEN_ANSWERS, OPTIONAL_ANSWERS


def test_every_catalog_entity_is_valid(render) -> None:
    files = [render(answers) / "catalog-info.yaml" for answers in COMBINATIONS]
    files.append(render({"owner": "group:default/team-payments", "system": "system:payments"}))
    files[-1] = files[-1] / "catalog-info.yaml"
    results = validate_entities(files)
    assert len(results) == len(files)
    invalid = [r for r in results if not r["valid"]]
    assert invalid == []


def test_the_validator_rejects_what_backstage_rejects(tmp_path: Path, render) -> None:
    entity = yaml.safe_load(
        (render(GIVEN_ANSWERS) / "catalog-info.yaml").read_text(encoding="utf-8")
    )
    entity["metadata"]["name"] = "Payments API!"
    bad = tmp_path / "catalog-info.yaml"
    bad.write_text(yaml.safe_dump(entity), encoding="utf-8")
    [result] = validate_entities([bad])
    assert not result["valid"]
    assert '"metadata.name" is not valid' in result["message"]


def test_annotations_and_links_appear_only_when_given(render) -> None:
    bare = yaml.safe_load(
        (render({**GIVEN_ANSWERS, "alerting": False}) / "catalog-info.yaml").read_text(
            encoding="utf-8"
        )
    )
    full = yaml.safe_load(
        (render({**GIVEN_ANSWERS, **OPTIONAL_ANSWERS}) / "catalog-info.yaml").read_text(
            encoding="utf-8"
        )
    )
    assert bare["metadata"]["annotations"] == {
        "backstage.io/techdocs-ref": "dir:.",
        "backstage.io/kubernetes-id": "payments-api",
        "backstage.io/kubernetes-namespace": "production",
        "backstage.io/kubernetes-label-selector": "app=payments-api",
    }
    assert "links" not in bare["metadata"] and "system" not in bare["spec"]
    annotations = full["metadata"]["annotations"]
    assert annotations["pagerduty.com/service-id"] == "PABC123"
    assert annotations["github.com/project-slug"] == "acme/payments-api"
    assert {link["url"] for link in full["metadata"]["links"]} == {
        OPTIONAL_ANSWERS["dashboard_url"],
        "https://github.com/acme/payments-api",
    }
    assert full["spec"] == {
        "type": "service",
        "lifecycle": "production",
        "owner": "team-payments",
        "system": "payments",
    }


def test_without_an_owner_no_entity_is_written_and_the_home_page_says_how_to_register(
    render, tmp_path: Path
) -> None:
    """Backstage requires spec.owner: an entity without one would not validate (the negative
    control below), so a service whose owner is not known yet gets no catalog-info.yaml."""
    service = render({})
    assert not (service / "catalog-info.yaml").exists()
    home = (service / "docs" / "index.md").read_text(encoding="utf-8")
    assert "Not in the Backstage catalog yet" in home and "`owner` answer" in home
    owned = render(GIVEN_ANSWERS)
    assert "Not in the Backstage catalog yet" not in (owned / "docs" / "index.md").read_text(
        encoding="utf-8"
    )
    entity = yaml.safe_load((owned / "catalog-info.yaml").read_text(encoding="utf-8"))
    del entity["spec"]["owner"]
    ownerless = tmp_path / "catalog-info.yaml"
    ownerless.write_text(yaml.safe_dump(entity), encoding="utf-8")
    [result] = validate_entities([ownerless])
    assert not result["valid"] and "owner" in result["message"]
