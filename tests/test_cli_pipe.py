"""A reader that stops reading (``service-runbooks ... | head``) ends the command quietly, as
it ends any shell tool: no traceback, the status SIGPIPE gives (128 + 13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).parent / "service-runbooks"


def _with_closed_stdout(*words: str) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with standard output a pipe nobody reads: its read end is closed first."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [str(CLI), *words], stdout=write_end, stderr=subprocess.PIPE, check=False, timeout=60
        )
    finally:
        os.close(write_end)


MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  selector:
    matchLabels: {app: orders}
  template:
    metadata:
      labels: {app: orders}
    spec:
      containers: [{name: app, image: "ghcr.io/acme/orders:1.0.0"}]
"""


def _sources(tmp_path: Path) -> Path:
    """What ``discover`` prints a fleet file for (on standard output: no --output)."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "deployment.yaml").write_text(MANIFEST, encoding="utf-8")
    return folder


def test_a_closed_pipe_ends_the_command_without_a_traceback(tmp_path: Path) -> None:
    done = _with_closed_stdout("discover", str(_sources(tmp_path)))
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    assert b"BrokenPipeError" not in done.stderr
    assert done.returncode == 141


def test_an_open_pipe_gets_the_whole_output(tmp_path: Path) -> None:
    """Control: the same command with a reader prints the fleet file."""
    command = [str(CLI), "discover", str(_sources(tmp_path))]
    done = subprocess.run(command, capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert b"services:" in done.stdout and b"Deployment/orders" in done.stdout
