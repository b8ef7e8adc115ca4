"""The drill in CI and in the fleet's index: the per-service and fleet workflows' scheduled drill
job passes GitHub's workflow schema and its steps run here (against the fake API server); ``build``
and ``index --drill-reports`` put each service's last drill into ``services.json``, and the index
shows a failed drill, with its failed steps, in Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_services import CONTEXT, served
from drill_services import access_documents, drill_cluster, render_services, role_from, stub_tools
from fleet_helpers import copy_template, run_cli, write_fleet
from github_workflow import load_workflow, run_step, step
from playwright.sync_api import Browser

from service_runbooks.cli import main
from service_runbooks.fleet.index_page import read_card, services_json

DRILL_WORKFLOW = Path(".github") / "workflows" / "drill.yml"
SECRET = "RUNBOOKS_DRILL_KUBECONFIG"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_services(tmp_path_factory.mktemp("drill-ci"))


@pytest.fixture(scope="module")
def reports(services: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Drill reports: search drilled against a cluster without its Deployment (failed), then
    checkout against a matching one (passed), each in its own file."""
    folder = tmp_path_factory.mktemp("reports")
    work = tmp_path_factory.mktemp("drill-runs")
    with pytest.MonkeyPatch.context() as monkeypatch:
        stub_tools(work, monkeypatch)
        broken = drill_cluster()
        del broken.objects[("deployments", "search", "search")]
        for name, cluster in (("search", broken), ("checkout", drill_cluster())):
            role = role_from(access_documents(services / name))
            with served(work / f"home-{name}", monkeypatch, cluster, role):
                report = folder / f"{name}.json"
                main(["drill", str(services / name), "--context", CONTEXT, "--report", str(report)])
    return folder


def schema_check(*files: Path) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(cli), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


# --- the per-service workflow -----------------------------------------------------------------


def test_the_service_drill_workflow_passes_the_schema(services: Path) -> None:
    files = [services / name / DRILL_WORKFLOW for name in ("search", "checkout", "payments-api")]
    result = schema_check(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = load_workflow(services / "search", DRILL_WORKFLOW)
    assert [entry["cron"] for entry in workflow["on"]["schedule"]] == ["17 6 * * 1-5"]
    drill = step(workflow, "drill", "Drill")
    assert drill["env"]["DRILL_KUBECONFIG"] == f"${{{{ secrets.{SECRET} }}}}"
    assert SECRET in (services / "search" / DRILL_WORKFLOW).read_text()  # documented at the top
    assert step(workflow, "drill", "Keep the report")["if"] == "always()"


def test_a_drill_job_without_a_schedule_fails_the_schema(services: Path, tmp_path: Path) -> None:
    """Negative control: a schedule entry without its cron is refused."""
    workflow = yaml.safe_load((services / "search" / DRILL_WORKFLOW).read_text())
    workflow[True]["schedule"] = [{"crontab": "17 6 * * 1-5"}]
    doctored = tmp_path / "drill.yml"
    doctored.write_text(yaml.safe_dump({"on": workflow.pop(True), **workflow}, sort_keys=False))
    assert schema_check(doctored).returncode == 1


def test_the_service_drill_step_drills_the_service(
    services: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's Drill step, run as GitHub runs it, with the secret's kubeconfig: the report is
    written, exit 0; without the secret it stops, naming it."""
    service = shutil.copytree(services / "search", tmp_path / "search")
    workflow = load_workflow(service, DRILL_WORKFLOW)
    workflow.setdefault("env", {})
    stub_tools(tmp_path, monkeypatch)
    role = role_from(access_documents(service))
    bin_dir = str(Path(sys.executable).parent)
    with served(tmp_path / "home", monkeypatch, drill_cluster(), role) as api:
        secret = api.kubeconfig.read_text()
        env = {
            "DRILL_KUBECONFIG": secret,
            "DRILL_TARGET": ".",
            "DRILL_REPORT": "drill-report.json",
            "RUNNER_TEMP": str(tmp_path),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        }
        done = run_step(workflow, "drill", "Drill", service, env)
        missing = run_step(workflow, "drill", "Drill", service, {**env, "DRILL_KUBECONFIG": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((service / "drill-report.json").read_text())
    assert report["services"][0]["service"] == "search"
    assert missing.returncode == 1
    assert f"set the secret {SECRET}" in missing.stdout


@pytest.mark.parametrize(
    ("template", "found"),
    [
        ("https://github.com/acme/service-runbooks.git", "repo=acme/service-runbooks"),
        ("git@github.com:acme/service-runbooks.git", "repo=acme/service-runbooks"),
        ("/home/me/service-runbooks", None),
    ],
)
def test_the_service_drill_job_installs_the_template_it_was_rendered_from(
    services: Path, tmp_path: Path, template: str, found: str | None
) -> None:
    workflow = load_workflow(services / "search", DRILL_WORKFLOW)
    find = step(workflow, "drill", "Find the template")
    assert find["shell"] == "python"
    (tmp_path / ".cruft.json").write_text(json.dumps({"template": template, "commit": "abc123"}))
    output = tmp_path / "github-output"
    done = subprocess.run(
        [sys.executable, "-c", find["run"]],
        cwd=tmp_path,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    if found is None:
        assert done.returncode == 1
        assert "is not a GitHub repository" in done.stdout
    else:
        assert done.returncode == 0, done.stderr
        assert output.read_text().splitlines() == [found, "commit=abc123"]


# --- the fleet workflow -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_template(tmp_path_factory.mktemp("template") / "service-runbooks")


def fleet_workflow(template: Path, repo: Path, shards: int) -> tuple[Path, dict[str, Any]]:
    repo.mkdir(parents=True)
    write_fleet(repo / "fleet.yaml", [{"service_name": "orders"}])
    run_cli(
        template, "workflow", "fleet.yaml", "--shards", str(shards),
        "--template-repo", "acme/service-runbooks", cwd=repo,
    )  # fmt: skip
    path = repo / ".github" / "workflows" / "runbooks.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return path, workflow


@pytest.mark.parametrize("shards", [1, 3])
def test_the_fleet_workflow_drills_on_its_schedule(
    template: Path, services: Path, tmp_path: Path, shards: int
) -> None:
    """A scheduled drill job of its own (the per-service workflow's schedule and drill step);
    the index job shows the last drill's reports."""
    path, workflow = fleet_workflow(template, tmp_path / "repo", shards)
    result = schema_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    service = load_workflow(services / "search", DRILL_WORKFLOW)
    assert workflow["on"]["schedule"] == service["on"]["schedule"]
    drill = workflow["jobs"]["drill"]
    assert drill["if"] == (
        "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    )
    names = [s["name"] for s in drill["steps"]]
    assert names.index("Render the fleet") < names.index("Drill every service")
    fleet_step = step(workflow, "drill", "Drill every service")
    service_step = step(service, "drill", "Drill")
    assert fleet_step["run"] == service_step["run"]
    assert fleet_step["env"]["DRILL_KUBECONFIG"] == service_step["env"]["DRILL_KUBECONFIG"]
    assert fleet_step["env"]["DRILL_TARGET"] == "${{ env.RUNBOOKS_SERVICES }}"
    keep = step(workflow, "drill", "Keep the drill's reports")
    assert keep["if"] == "always()" and keep["with"]["name"] == "runbooks-drill"
    index = step(workflow, "index", "Build the fleet index")
    assert index["run"].endswith("--drill-reports drill-reports")
    assert workflow["jobs"]["index"]["permissions"]["actions"] == "read"
    assert "gh run download" in step(workflow, "index", "Get the last drill's reports")["run"]


def test_the_index_job_gets_the_last_drill_or_none(template: Path, tmp_path: Path) -> None:
    """The index job's step, with a stub gh: the newest finished run's reports; with no drill
    run yet, an empty folder (the index then shows no drill)."""
    _, workflow = fleet_workflow(template, tmp_path / "repo", 1)
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text(
        "#!/usr/bin/env bash\n"
        'echo "$*" >>"$GH_LOG"\n'
        'if [[ $1 == run && $2 == list ]]; then printf "%s\\n" $GH_RUNS; exit 0; fi\n'
        'if [[ $1 == run && $2 == download && $3 == "$GH_HAS" ]]; then\n'
        '  dir=${@: -1}; echo "{}" >"$dir/drill.json"; exit 0; fi\n'
        "exit 1\n"
    )
    gh.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    log = tmp_path / "gh.log"
    env = {
        "PATH": f"{gh.parent}{os.pathsep}{os.environ['PATH']}",
        "GH_LOG": str(log),
        "GITHUB_REPOSITORY": "acme/fleet",
    }
    done = run_step(
        workflow,
        "index",
        "Get the last drill's reports",
        work,
        {**env, "GH_RUNS": "7 9", "GH_HAS": "7"},
    )
    assert done.returncode == 0, done.stderr
    assert (work / "drill-reports" / "drill.json").is_file()
    downloads = [line for line in log.read_text().splitlines() if "download" in line]
    assert [line.split()[2] for line in downloads] == ["9", "7"]  # the newest first
    shutil.rmtree(work / "drill-reports")
    done = run_step(workflow, "index", "Get the last drill's reports", work, {**env, "GH_RUNS": ""})
    assert done.returncode == 0 and list((work / "drill-reports").iterdir()) == []


# --- services.json and the index page ---------------------------------------------------------


@pytest.fixture(scope="module")
def fleet_index(services: Path, reports: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``index`` over one shard's services.json (the rendered services' cards, no sites), with
    --drill-reports."""
    work = tmp_path_factory.mktemp("index")
    cards = [read_card(folder, has_site=False)[0] for folder in sorted(services.iterdir())]
    shard = work / "services.json"
    shard.write_text(services_json(cards))
    site = work / "site"
    assert main(["index", str(shard), "--site", str(site), "--drill-reports", str(reports)]) == 0
    return site


def test_services_json_holds_each_services_last_drill(fleet_index: Path) -> None:
    cards = {card["name"]: card for card in json.loads((fleet_index / "services.json").read_text())}
    search, checkout = cards["search"]["drill"], cards["checkout"]["drill"]
    assert search["passed"] is False and search["context"] == CONTEXT
    assert {"history", "image", "replicas"} <= set(search["failed_steps"])
    assert checkout["passed"] is True and checkout["failed_steps"] == []
    assert cards["payments-api"]["drill"] is None  # never drilled
    assert search["drilled_at"].endswith("Z")


def test_the_index_shows_a_failed_drill_in_a_browser(fleet_index: Path, browser: Browser) -> None:
    page = browser.new_page()
    page.goto((fleet_index / "index.html").as_uri())
    header = page.locator("thead th").all_inner_texts()
    assert header[-1] == "Drill"

    def cell(name: str) -> Any:
        return page.locator("tbody tr", has=page.locator(f"td:first-child:text-is('{name}')"))

    search = cell("search").locator("td.drill")
    assert search.get_attribute("data-drill") == "failed"
    text = search.inner_text()
    assert text.startswith("failed ") and "failed steps: " in text
    assert "history" in text and "image" in text
    assert search.locator(".drill-failed").is_visible()
    color = search.locator(".drill-failed").evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(164, 14, 38)"  # the index's red, as for overdue reviews
    checkout = cell("checkout").locator("td.drill")
    assert checkout.get_attribute("data-drill") == "passed"
    assert checkout.inner_text().startswith("passed ")
    assert cell("payments-api").locator("td.drill").inner_text() == "no drill"
    page.close()


def test_a_later_drill_replaces_an_earlier_one(reports: Path, tmp_path: Path) -> None:
    from service_runbooks.drill.report import read_last_drills

    folder = shutil.copytree(reports, tmp_path / "reports")
    later = json.loads((folder / "search.json").read_text())
    later["services"][0]["drilled_at"] = "2999-01-01T00:00:00Z"
    for step_ in later["services"][0]["steps"]:
        step_["status"] = "passed" if step_["status"] == "failed" else step_["status"]
    (folder / "later.json").write_text(json.dumps(later))
    drills = read_last_drills(folder)
    assert drills["search"].passed and drills["search"].drilled_at.startswith("2999")


def test_a_bad_drill_report_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Negative control: a file that is not a drill report stops index, naming it."""
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "notes.json").write_text('{"services": "none"}')
    shard = tmp_path / "services.json"
    shard.write_text("[]")
    status = main(
        ["index", str(shard), "--site", str(tmp_path / "site"), "--drill-reports", str(folder)]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "notes.json: services: not a list" in err and "nothing was written" in err
    assert not (tmp_path / "site").exists()
    assert (
        main(["index", str(shard), "--site", str(tmp_path / "s"), "--drill-reports", str(shard)])
        == 2
    )
    assert "--drill-reports: " in capsys.readouterr().err


def test_build_takes_the_drill_reports(services: Path, reports: Path, tmp_path: Path) -> None:
    """``build --drill-reports``: the whole build's services.json and index carry them too."""
    one = tmp_path / "services"
    shutil.copytree(services / "search", one / "search")
    site = tmp_path / "site"
    assert main(["build", str(one), "--site", str(site), "--drill-reports", str(reports)]) == 0
    (card,) = json.loads((site / "services.json").read_text())
    assert card["drill"]["passed"] is False
    assert 'data-drill="failed"' in (site / "index.html").read_text()
