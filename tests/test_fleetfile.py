"""The fleet file's checks, without rendering: every problem found, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_helpers import DECIDING, MUST_GIVE, give_per_service, must_give_yaml
from hostile_inputs import alias_bomb

from service_runbooks.fleet.sync import plan_update
from service_runbooks.fleetfile import FleetError, check_fleet, load_fleet, parse

PAYLOAD = "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}"


# Every fleet file must give reviewed_on (tests/test_review_dates.py) and the deciding facts
# (below); these tests are about other rules, so their files give them in defaults written last,
# which moves no line number. Each entry's own workload name (a per-service deciding fact) is
# given after parsing, which moves none either (give_per_service).
REVIEWED = must_give_yaml()


def problems_of(text: str) -> list[str]:
    data, lines = parse(text if "defaults:" in text else text + REVIEWED)
    _, problems = check_fleet(give_per_service(data), lines)
    return [str(p) for p in problems]


def test_a_good_fleet_merges_defaults_under_each_entry(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "defaults:\n  owner: team-a\n  incident_channel: '#inc'\n  reviewed_on: '2026-10-01'\n"
        + "".join(f"  {field}: {value}\n" for field, value in DECIDING.items())
        + "services:\n  - service_name: one\n    workload_name: one\n"
        "  - service_name: two\n    workload_name: web-two\n    owner: team-b\n"
        "    reviewed_on: 2026-11-02\n",  # unquoted: stays the text written, not a YAML date
        encoding="utf-8",
    )
    entries = load_fleet(fleet)
    common = {"incident_channel": "#inc", **DECIDING}
    assert [e.answers for e in entries] == [
        {"owner": "team-a", **common, "reviewed_on": "2026-10-01", "service_name": "one"}
        | {"workload_name": "one"},
        {"owner": "team-b", **common, "reviewed_on": "2026-11-02", "service_name": "two"}
        | {"workload_name": "web-two"},
    ]
    assert [e.line for e in entries] == [6 + len(DECIDING), 8 + len(DECIDING)]


def test_every_bad_entry_and_field_is_named_at_once() -> None:
    found = problems_of(
        "services:\n"
        "  - service_name: fine\n"
        "  - service_name: Bad_Name\n"
        "    ownr: team-a\n"
        "  - service_name: fine\n"
        "    rollout_timeout: 5\n"
        "  - description: no name\n"
        f'  - service_name: evil\n    description: "{PAYLOAD}"\n'
    )
    assert len(found) == 6, found
    assert found[0].startswith("services[1] 'Bad_Name' (line 3): service_name: 'Bad_Name'")
    assert "ownr: unknown key (did you mean 'owner'?)" in found[1]
    assert (
        "services[2] 'fine' (line 5): service_name: 'fine' is already used by services[0]"
        in (found[3])
    )
    assert "rollout_timeout: is an int (5); this answer must be a string: quote it" in found[2]
    assert found[4] == "services[3] (line 7): service_name: is required in every entry"
    assert "services[4] 'evil' (line 9): description:" in found[5]  # the key's line
    assert "Jinja delimiters" in found[5]


@pytest.mark.parametrize(
    "key", ["_extensions", "_jinja2_env_vars", "__prompts__", "_copy_without_render", "extra"]
)
def test_cookiecutters_private_keys_are_unknown_keys(key: str) -> None:
    found = problems_of(f"services:\n  - service_name: a\n    {key}: x\n")
    assert len(found) == 1 and f"{key}: unknown key" in found[0]


def test_defaults_are_checked_once_and_cannot_name_a_service() -> None:
    found = problems_of(
        f'defaults:\n  service_name: x\n  owner: "{PAYLOAD}"\n  reviewed_on: "2026-11-02"\n'
        + "".join(f"  {field}: {value}\n" for field, value in DECIDING.items())
        + "services:\n  - service_name: a\n"
    )
    assert found == [
        found[0],
        "defaults (line 2): service_name: cannot be a default; name each service",
    ]
    assert found[0].startswith("defaults (line 3): owner:") and "Jinja delimiters" in found[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n", "file: must be a mapping with 'defaults' and 'services'"),
        ("services: []\n", "file: services: must be a non-empty list of services"),
        ("servces: []\nservices: [{service_name: a}]\n", "file: servces: unknown top-level key"),
        ("services:\n  - service_name: a\n    owner: x\n    owner: y\n", "duplicate key 'owner'"),
        ("services:\n  - just-a-string\n", "services[0] (line 2): must be a mapping of answers"),
        ("services:\n  - service_name: a\n    system:\n", "system: is empty (null)"),
    ],
)
def test_malformed_files_are_explained(tmp_path: Path, text: str, message: str) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(text, encoding="utf-8")
    with pytest.raises(FleetError) as raised:
        load_fleet(fleet)
    assert message in str(raised.value)
    assert "nothing was rendered" in str(raised.value)


def test_file_level_three_way_plan(tmp_path: Path) -> None:
    """base = last render (manifest), ours = the folder, theirs = the new render."""
    (tmp_path / "same").write_text("a")
    (tmp_path / "untouched").write_text("old")
    (tmp_path / "edited-template-same").write_text("mine")
    (tmp_path / "edited-template-changed").write_text("mine")
    (tmp_path / "dropped").write_text("old")
    (tmp_path / "already-new").write_text("new")

    def digest(text: str) -> str:
        from hashlib import sha256

        return sha256(text.encode()).hexdigest()

    base = {
        "same": digest("a"),
        "untouched": digest("old"),
        "edited-template-same": digest("old"),
        "edited-template-changed": digest("old"),
        "dropped": digest("old"),
        "already-new": digest("old"),
        "deleted-here": digest("old"),
    }
    theirs = {
        "same": digest("a"),
        "untouched": digest("new"),
        "edited-template-same": digest("old"),
        "edited-template-changed": digest("new"),
        "already-new": digest("new"),
        "deleted-here": digest("new"),
        "added": digest("new"),
    }
    plan = plan_update(tmp_path, base, theirs)
    assert plan.write == ["added", "untouched"]
    assert plan.delete == ["dropped"]
    assert plan.conflicts == [
        "deleted-here (deleted since rendered)",
        "edited-template-changed (edited since rendered)",
    ]


def test_the_example_fleet_is_valid_and_varied() -> None:
    from matrix import ROOT

    entries = load_fleet(ROOT / "examples" / "fleet.yaml")
    assert len(entries) >= 5
    for field in ("workload", "migration_tool", "gitops", "lifecycle"):
        assert len({e.answers.get(field, "default") for e in entries}) >= 3, field


@pytest.mark.parametrize("field", ["description", "publish_techdocs"])
def test_an_alias_bomb_is_named_by_its_type_never_expanded(field: str) -> None:
    found = problems_of(f"services:\n  - service_name: a\n    {field}: {alias_bomb()}\n")
    assert len(found) == 1 and found[0].startswith(f"services[0] 'a' (line 3): {field}: ")
    assert "a list" in found[0] and "lol" not in found[0]


def test_echoed_values_are_capped() -> None:
    name = "a" * 100_000
    found = problems_of(f"services:\n  - service_name: {name}\n")
    assert found and all(len(line) < 1000 for line in found), [len(line) for line in found]
    assert "…" in found[0]


def test_merge_keys_share_defaults() -> None:
    given = {**DECIDING, "namespace": "prod"}
    data, lines = parse(
        "defaults: &base\n  owner: team-a\n  reviewed_on: '2026-11-02'\n"
        + "".join(f"  {field}: {value}\n" for field, value in given.items())
        + "services:\n  - service_name: a\n    <<: *base\n    owner: team-b\n"
    )
    entries, problems = check_fleet(give_per_service(data), lines)
    assert problems == []
    assert entries[0].answers["owner"] == "team-b" and entries[0].answers["namespace"] == "prod"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "services:\n  - service_name: a\n  - service_name: b\n    ? [a, b]\n    : x\n",
            "services[1] (line 3)",
            "key that is a list or mapping",
        ),
        ("services:\n  - service_name: a\n    ? {x: 1}\n    : y\n", "services[0] (line 2)", "key"),
        ("services:\n  - service_name: a\n    <<: 5\n", "services[0] (line 2)", "merging"),
        ("services:\n  - service_name: a\n    <<: *nowhere\n", "file", "alias\n  in line 3"),
        ("services:\n  - service_name: a\n    owner: !!python/name:os.system\n", "services[0]", ""),
        ("services: " + "[" * 5000 + "]" * 5000 + "\n", "file", ""),
    ],
)
def test_every_malformed_file_names_the_entry_and_line(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(text, encoding="utf-8")
    with pytest.raises(FleetError) as raised:
        load_fleet(fleet)
    assert f"  - {where}" in str(raised.value)
    assert message in str(raised.value)


def test_a_file_that_is_not_utf8_is_explained(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_bytes(b"services:\n  - service_name: \xff\n")
    with pytest.raises(FleetError, match="cannot be read as UTF-8"):
        load_fleet(fleet)


# ---- sources: where each answer was read (not an answer) ----


def test_sources_are_kept_apart_from_the_answers() -> None:
    data, lines = parse(
        "services:\n  - service_name: a\n    namespace: shop\n    sources:\n"
        "      namespace: 'deploy/kustomization.yaml: namespace'\n"
        "      service_name: 'deploy/app.yaml: Deployment/a metadata.name'\n" + REVIEWED
    )
    entries, problems = check_fleet(give_per_service(data), lines)
    assert problems == []
    assert "sources" not in entries[0].answers  # never given to cookiecutter
    assert entries[0].sources == {
        "namespace": "deploy/kustomization.yaml: namespace",
        "service_name": "deploy/app.yaml: Deployment/a metadata.name",
    }


@pytest.mark.parametrize(
    ("sources", "field", "message"),
    [
        ("{namspace: 'x: y'}", "sources.namspace", "is not an answer's name (did you mean"),
        ("{workload: [a, b]}", "sources.workload", "is a list; a source is one string"),
        ("{workload: 5}", "sources.workload", "is an int (5); a source is one string"),
        ("{workload: ''}", "sources.workload", "is empty; say where workload was read"),
        ("[namespace]", "sources", "it must be a mapping of answer names"),
        ("'deploy/'", "sources", "it must be a mapping of answer names"),
    ],
    ids=["unknown-answer", "a-list", "an-int", "empty", "a-list-of-names", "a-string"],
)
def test_bad_sources_are_refused_naming_the_entry_and_line(
    sources: str, field: str, message: str
) -> None:
    found = problems_of(
        f"services:\n  - service_name: a\n  - service_name: b\n    sources: {sources}\n"
    )
    assert len(found) == 1, found
    assert found[0].startswith(f"services[1] 'b' (line 4): {field}: "), found[0]  # the key's
    assert message in found[0]


def test_sources_belong_to_an_entry_not_to_defaults() -> None:
    found = problems_of(
        "services:\n  - service_name: a\n" + REVIEWED + "  sources: {namespace: 'x: y'}\n"
    )
    sources_line = 3 + REVIEWED.count("\n")
    assert found == [
        f"defaults (line {sources_line}): sources: belongs to each entry (where that service's "
        "answers were read), not to defaults"
    ]


# ---- the facts that decide which commands a page gives must be given ----


def test_a_name_only_entry_is_refused_naming_each_deciding_fact() -> None:
    data, lines = parse("services:\n  - service_name: a\ndefaults:\n  reviewed_on: '2026-11-02'\n")
    entries, problems = check_fleet(data, lines)
    assert entries == []
    # The list: the workload and its name, the namespace, the health check, the
    # migration tool and GitOps (the Flux object's kind and the health check's details only
    # where they apply: below).
    named = ["namespace", "workload", "workload_name", "health_check", "migration_tool", "gitops"]
    assert [(p.where, p.field) for p in problems] == [
        ("services[0] 'a' (line 2)", field) for field in named
    ]
    for problem in problems:
        assert problem.message.startswith("is not given (in the entry or in defaults:)")
        assert "would be a guess" in problem.message and "Rule: " in problem.message
    # Negative control: the same entry with the facts given is accepted.
    assert problems_of("services:\n  - service_name: a\n") == []


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("gitops: flux", ["gitops_kind"]),
        ("health_check: in-cluster", ["health_check_path", "health_check_port"]),
        ("health_check: url", ["health_url"]),
    ],
    ids=["flux-kind", "in-cluster-probe", "url"],
)
def test_a_deciding_detail_is_required_where_it_applies(given: str, missing: list[str]) -> None:
    """The Flux object's kind under Flux, the probe's path and port for an in-cluster check,
    the URL for a url check: each named when not given, before anything is rendered."""
    found = problems_of(f"services:\n  - service_name: a\n    {given}\n")
    assert [line.split(": is not given")[0] for line in found] == [
        f"services[0] 'a' (line 2): {field}" for field in missing
    ]
    assert all("Rule: " in line for line in found)
    # Negative control: given, the entry is accepted.
    details = {
        "gitops_kind": "kustomization",
        "gitops_app": "a",
        "health_check_path": "/healthz",
        "health_check_port": "8080",
        "health_url": "https://a.example.com/health",
    }
    lines = "".join(f"    {field}: '{details[field]}'\n" for field in missing)
    assert problems_of(f"services:\n  - service_name: a\n    {given}\n{lines}") == []


@pytest.mark.parametrize("missing", list(MUST_GIVE))
def test_a_fact_no_entry_gives_is_said_once_pointing_at_defaults(missing: str) -> None:
    """Every answer a fleet must give (the deciding facts and the review date), not only the
    deciding ones: one line at defaults:, not one per service."""
    others = "".join(f"  {f}: '{v}'\n" for f, v in MUST_GIVE.items() if f != missing)
    text = "services:\n  - service_name: a\n  - service_name: b\n  - service_name: c\n"
    found = problems_of(text + "defaults:\n" + others)
    assert len(found) == 1, found
    assert found[0].startswith(f"defaults (line 5): {missing}: no entry gives it: give it once")
    assert "services[" not in found[0]
    # Negative control: when one entry gives it, each entry that lacks it is named.
    given = f"    {missing}: '{MUST_GIVE[missing]}'\n"
    found = problems_of(text.replace("a\n", "a\n" + given, 1) + "defaults:\n" + others)
    assert [line.split(f": {missing}: ")[0] for line in found] == [
        "services[1] 'b' (line 4)",
        "services[2] 'c' (line 5)",
    ], found


# ---- errors a person reads once: a suggestion, the key's own line, what YAML did ----


def test_a_mistyped_key_gets_one_suggestion_not_every_name() -> None:
    found = problems_of("services:\n  - service_name: a\n    ownr: team-a\n")
    assert found == [
        "services[0] 'a' (line 3): ownr: unknown key (did you mean 'owner'?); "
        "cookiecutter would ignore it silently"
    ]
    found = problems_of("services:\n  - service_name: a\n    sources: {namspace: x}\n")
    assert len(found) == 1 and "(did you mean 'namespace'?)" in found[0]
    assert "service_name" not in found[0] and "incident_channel" not in found[0]
    # Negative control: a key like no answer's name gets the list, its only way forward.
    found = problems_of("services:\n  - service_name: a\n    zzzz: x\n")
    assert len(found) == 1 and "no answer has a similar name" in found[0]
    assert all(name in found[0] for name in MUST_GIVE)


def test_each_problem_names_the_line_of_its_own_key_in_entries_and_defaults() -> None:
    found = problems_of(
        "defaults:\n"
        "  owner: team-a\n"
        "  lifecycle: everywhere\n"  # line 3
        + "".join(f"  {f}: '{v}'\n" for f, v in MUST_GIVE.items())
        + "services:\n"
        "  - service_name: a\n"
        "    description: fine\n"
        "    namespace: Bad_Namespace\n"
        "    sources:\n"
        "      workload: ''\n"
    )
    first = 5 + len(MUST_GIVE)  # the entry's first line
    assert [line.split(": ", 2)[:2] for line in found] == [
        ["defaults (line 3)", "lifecycle"],
        [f"services[0] 'a' (line {first + 2})", "namespace"],
        [f"services[0] 'a' (line {first + 4})", "sources.workload"],
    ], found
    # A key merged in from elsewhere has no line in the entry: the entry's line is named.
    found = problems_of(
        "base: &base {namespace: Bad_Namespace}\nservices:\n  - service_name: a\n    <<: *base\n"
    )
    assert any(line.startswith("services[0] 'a' (line 3): namespace: ") for line in found), found


@pytest.mark.parametrize("value", ["#inc-cart", "#inc-cart  # the team's channel"])
def test_a_value_yaml_reads_as_a_comment_is_explained(value: str) -> None:
    found = problems_of(f"services:\n  - service_name: a\n    incident_channel: {value}\n")
    assert found == [
        "services[0] 'a' (line 3): incident_channel: is empty (null): YAML read "
        f"{value!r} as a comment (an unquoted # after a space starts one), so the key has no "
        'value; write it quoted: incident_channel: "#inc-cart"'
    ]
    # Negative controls: a value that is empty for another reason, or followed by a comment
    # written as one ("# text"), gets no word about comments.
    for empty in ("", " # ask the team"):
        found = problems_of(f"services:\n  - service_name: a\n    incident_channel:{empty}\n")
        assert len(found) == 1 and "comment" not in found[0] and "is empty (null)" in found[0]


def test_a_workload_name_no_entry_gives_is_said_once_pointing_at_each_entry() -> None:
    """The workload's own name differs from service to service: said once, but never
    suggested for defaults:, where one value would name the same workload for every entry."""
    data, lines = parse("services:\n  - service_name: a\n  - service_name: b\n" + REVIEWED)
    _, problems = check_fleet(data, lines)
    assert [(p.where, p.field) for p in problems] == [("defaults (line 4)", "workload_name")]
    assert problems[0].message.startswith("no entry gives it: give it in each entry")
    assert "in defaults:" not in problems[0].message.split(".")[0]
