"""Real Prometheus and Alertmanager servers (Debian's packages) the tests start on 127.0.0.1, each
on a free port with its storage in a test folder, and the small HTTP servers they talk to: an
exporter Prometheus scrapes, a webhook receiver Alertmanager notifies. Every server is stopped
when its ``with`` block ends."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tools import tool

START_TIMEOUT = 30.0  # seconds a server may take to answer its readiness endpoint


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 0.1 s until it holds; after ``timeout``, fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def _server(argv: list[str], ready_url: str, log: Path) -> Iterator[None]:
    """A server process started from ``argv``, once ``ready_url`` answers 200; stopped after."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: process.poll() is not None or _answers(ready_url),
                START_TIMEOUT,
                f"{argv[0]} at {ready_url}",
            )
            if process.poll() is not None:
                raise AssertionError(f"{argv[0]} exited: {log.read_text(errors='replace')}")
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def _http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """``handler`` served on 127.0.0.1 in a thread; its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---- Alertmanager and a webhook receiver ----


class Webhook:
    """The alerts each notification a webhook receiver got carried, in arrival order."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, str]] = []  # each alert's labels
        self.lock = threading.Lock()

    def received(self) -> list[dict[str, str]]:
        with self.lock:
            return list(self.alerts)


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, Webhook]]:
    """A webhook receiver on 127.0.0.1: its URL, and what it received. The payload is
    Alertmanager's webhook JSON, whose ``alerts`` each hold ``labels``
    (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config)."""
    webhook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with webhook.lock:
                webhook.alerts += [alert["labels"] for alert in body["alerts"]]
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with _http_server(Handler) as port:
        yield f"http://127.0.0.1:{port}/", webhook


def alertmanager_config(webhook_url: str, inhibit_rules: list[dict]) -> dict:
    """Every alert to the webhook at once, one notification per alert: group_by '...' disables
    grouping, and a group waits 1 s before its first notification
    (https://prometheus.io/docs/alerting/latest/configuration/#route)."""
    return {
        "route": {
            "receiver": "webhook",
            "group_by": ["..."],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook_url}]}],
        "inhibit_rules": inhibit_rules,
    }


@contextmanager
def alertmanager(config: Path, folder: Path) -> Iterator[str]:
    """Alertmanager on 127.0.0.1 with ``config``, alone (no cluster gossip: an empty
    --cluster.listen-address); its base URL. Readiness: /-/ready
    (https://prometheus.io/docs/alerting/latest/management_api/)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        tool("prometheus-alertmanager"),  # Debian names the binary so
        f"--config.file={config}",
        f"--storage.path={folder / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with _server(argv, f"{url}/-/ready", folder / "alertmanager.log"):
        yield url


def post_alerts(url: str, alerts: list[dict[str, str]]) -> None:
    """Alerts with these labels, firing now, through Alertmanager's API v2 (POST /api/v2/alerts:
    https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml)."""
    body = json.dumps([{"labels": labels} for labels in alerts]).encode()
    request = urllib.request.Request(
        f"{url}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200, response.read()


# ---- Prometheus and an exporter ----


@contextmanager
def exporter(pages: dict[str, str]) -> Iterator[int]:
    """Prometheus' text format, one page per path (``/app``, ``/kube-state-metrics``...), on
    127.0.0.1; its port (https://prometheus.io/docs/instrumenting/exposition_formats/)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.get(self.path)
            self.send_response(200 if page is not None else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write((page or "").encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    with _http_server(Handler) as port:
        yield port


def query(url: str, promql: str) -> list[dict]:
    """An instant query's result (https://prometheus.io/docs/prometheus/latest/querying/api/)."""
    target = f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(target, timeout=5) as response:
        return list(json.load(response)["data"]["result"])


@contextmanager
def prometheus(config: dict, folder: Path, jobs: int) -> Iterator[str]:
    """Prometheus on 127.0.0.1 with ``config`` and its storage in ``folder``, once each of its
    ``jobs`` scrape jobs has been scraped (``up`` is 1); its base URL. Readiness: /-/ready
    (https://prometheus.io/docs/prometheus/latest/management_api/)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    argv = [
        tool("prometheus"),
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with _server(argv, f"{url}/-/ready", folder / "prometheus.log"):
        wait_until(
            lambda: len(query(url, "up == 1")) == jobs, START_TIMEOUT, "every job's first scrape"
        )
        yield url
