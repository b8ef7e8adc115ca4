"""Killing the fleet CLI with SIGKILL leaves no worker process behind (issue 11 item 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fleet_helpers import cli_env, copy_template, run_cli, write_fleet

SERVICES = [{"service_name": f"svc-{i}"} for i in range(16)]


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc; zombies are not alive)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, what: str, limit: float = 120.0) -> None:
    """Poll until ``condition()`` holds; the limit only keeps a broken run from hanging."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("workers")
    template = copy_template(root / "template")
    fleet = write_fleet(root / "fleet.yaml", SERVICES)
    run_cli(template, "render", fleet, "--output", root / "rendered", "--jobs", "2")
    return template, fleet, root


@pytest.mark.parametrize("command", ["render", "build"])
def test_sigkill_of_the_cli_leaves_no_worker(
    fleet: tuple[Path, Path, Path], command: str, tmp_path: Path
) -> None:
    template, fleet_file, root = fleet
    if command == "render":
        args = ["render", str(fleet_file), "--output", str(tmp_path / "out")]
    else:
        args = ["build", str(root / "rendered"), "--site", str(tmp_path / "site")]
    cli = subprocess.Popen(
        [sys.executable, "-m", "service_runbooks", *args, "--jobs", "2"],
        env=cli_env(template),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(children(cli.pid)) >= 2 or cli.poll() is not None, "workers")
        workers = children(cli.pid)
        assert len(workers) >= 2, "the run ended before its workers could be seen"
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait()
        wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to end", 60)
        assert [pid for pid in workers if alive(pid)] == []
    finally:
        if cli.poll() is None:
            cli.kill()
