"""Benchmark discovery and the drift gate over a generated repository of N services.

    python benchmarks/discovery.py --services 1000

The repository holds N services, half as plain manifests (a Deployment and its Service in one
folder), half as Kustomize overlays (a base and a prod overlay setting the namespace and a name
prefix). Prints, measured in the same run, each time with the CPU seconds it took (user +
system: what the machine's other load does not change):

1. the floor: ``kubectl kustomize`` of every overlay alone, one process each, run in parallel
   (as many at once as discovery runs: one per core);
2. ``service-runbooks discover REPO --output FLEET --build-cache OUT/.service-runbooks-cache/
   builds`` (the folder ``check --drift`` keeps its builds in), then ``service-runbooks check
   FLEET --output OUT --drift`` before any service is rendered (the answers only): both
   together against the floor (target: within 1.5x);
3. ``render`` of every service (not timed against anything), then ``check --drift`` over the
   rendered services: the first one parses every page and script of the fleet (its commands'
   objects are checked), and ``discover`` with it against the floor (target: within 1.5x: the
   gate as a fleet runs it once rendered); the next ones (``--runs``, target: under 5 s each)
   neither build nor parse anything unchanged (builds keyed by their sources' digest, pages by
   theirs);
4. one overlay's namespace changed: ``check --drift`` exits 1 naming it, rebuilding that one.

Steps 1 and 2 run ``--repeat`` times, interleaved (each discover with its caches emptied), and
so does the first check of step 3 (its page and result caches emptied); each ratio is of the
same attempt's floor, and the verdict is on their median: the load of a shared machine comes
and goes, and one run of each can land on different sides of it.

A benchmark, not a test: it prints what it measures, including misses, and asserts nothing
about time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = BIN / "service-runbooks"
TARGETS = {"ratio": 1.5, "rerun_seconds": 5.0}

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
{namespace}spec:
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/{name}:1.0.0
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
{namespace}spec:
  selector:
    app: {name}
  ports:
    - port: 80
"""


def write_repository(repo: Path, count: int) -> list[Path]:
    """N services; returns the overlay folders (the roots `kubectl kustomize` builds)."""
    overlays = []
    for number in range(count):
        name = f"svc-{number:04d}"
        if number % 2 == 0:
            folder = repo / "plain" / name
            folder.mkdir(parents=True)
            text = DEPLOYMENT.format(name=name, namespace=f"  namespace: team-{number % 20}\n")
            (folder / "deployment.yaml").write_text(text, encoding="utf-8")
            continue
        base = repo / "kustomize" / name / "base"
        overlay = repo / "kustomize" / name / "overlays" / "prod"
        base.mkdir(parents=True)
        overlay.mkdir(parents=True)
        (base / "deployment.yaml").write_text(
            DEPLOYMENT.format(name=name, namespace=""), encoding="utf-8"
        )
        (base / "kustomization.yaml").write_text("resources:\n  - deployment.yaml\n", "utf-8")
        (overlay / "kustomization.yaml").write_text(
            f"namespace: team-{number % 20}-prod\nnamePrefix: prod-\nresources:\n  - ../../base\n",
            encoding="utf-8",
        )
        overlays.append(overlay)
    return overlays


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    command: list[str | Path], check: int = 0
) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds, the finished process)."""
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(
        [str(word) for word in command], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != check:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{command[:3]} exited {done.returncode}, not {check}")
    return elapsed, _cpu_of_children() - cpu, done


def floor(overlays: list[Path]) -> float:
    """Every overlay built alone with kubectl kustomize, one process each, in parallel."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl is not on PATH")

    def one(folder: Path) -> None:
        subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(one, overlays))
    return time.perf_counter() - start


def fill_in(fleet: Path) -> None:
    """What discovery never sets, given once for all, as a person would before rendering (the
    generated workloads have no probe: their health check is the pods' readiness)."""
    text = fleet.read_text(encoding="utf-8")
    block = (
        'defaults:\n  reviewed_on: "2026-12-01"\n  gitops: "none"\n  health_check: "readiness"\n'
        "services:\n"
    )
    fleet.write_text(text.replace("services:\n", block, 1), encoding="utf-8")


def report_ratio(what: str, ratios: list[float]) -> None:
    ratio = statistics.median(ratios)
    met = "within" if ratio <= TARGETS["ratio"] else "MISSES"
    print(
        f"{what}: median {ratio:.2f}x the builds of {len(ratios)} ({met} the "
        f"{TARGETS['ratio']}x target)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="work here, and keep it")
    parser.add_argument(
        "--runs", type=int, default=3, help="check --drift with nothing changed, this many times"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measure the floor, discover and the first checks this many times, interleaved "
        "(the ratios are their medians: a shared machine's load comes and goes)",
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-discovery-"))
    repo, out = work / "repo", work / "out"
    repo.mkdir(parents=True)
    out.mkdir()
    overlays = write_repository(repo, args.services)
    fleet = repo / "fleet.yaml"
    cache = out / ".service-runbooks-cache" / "builds"  # where check --drift keeps its builds
    print(
        f"{args.services} services ({len(overlays)} Kustomize overlays), "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    drift_command = [CLI, "check", fleet, "--output", out, "--drift"]
    attempts = []  # (floor, discover, answers-only check), each measured anew, interleaved
    for attempt in range(1, args.repeat + 1):
        shutil.rmtree(cache.parent, ignore_errors=True)  # nothing kept from the last attempt
        fleet.unlink(missing_ok=True)
        builds = floor(overlays)
        found, found_cpu, _ = timed(
            [CLI, "discover", repo, "--output", fleet, "--build-cache", cache]
        )
        fill_in(fleet)
        drift, drift_cpu, _ = timed(drift_command)
        attempts.append((builds, found, drift))
        print(
            f"  {attempt}: floor ({len(overlays)} kubectl kustomize builds in parallel) "
            f"{builds:.1f} s; discover {found:.1f} s + check --drift {drift:.1f} s (CPU "
            f"{found_cpu + drift_cpu:.1f} s): {(found + drift) / builds:.2f}x",
            flush=True,
        )
    report_ratio(
        "discover + check --drift, the answers only (nothing rendered yet)",
        [(found + drift) / builds for builds, found, drift in attempts],
    )
    rendering, _, _ = timed([CLI, "render", fleet, "--output", out])
    print(f"render of every service: {rendering:.1f} s", flush=True)
    rendered_ratios = []
    for attempt, (builds, found, _) in enumerate(attempts, start=1):
        for folder in ("commands", "runs"):  # every page parsed again, no result recalled
            shutil.rmtree(cache.parent / folder, ignore_errors=True)
        first, first_cpu, _ = timed(drift_command)
        rendered_ratios.append((found + first) / builds)
        print(
            f"  {attempt}: check --drift over the rendered services, every page parsed: "
            f"{first:.1f} s (CPU {first_cpu:.1f} s); with discover {found + first:.1f} s: "
            f"{rendered_ratios[-1]:.2f}x",
            flush=True,
        )
    report_ratio("discover + check --drift over the rendered services", rendered_ratios)
    again = []
    for _ in range(args.runs):
        seconds, cpu, _ = timed(drift_command)
        again.append(seconds)
        verdict = "within" if seconds < TARGETS["rerun_seconds"] else "MISSES"
        print(
            f"check --drift again, nothing changed: {seconds:.1f} s (CPU {cpu:.1f} s, load "
            f"{os.getloadavg()[0]:.1f}; {verdict} the {TARGETS['rerun_seconds']:g} s target)",
            flush=True,
        )
    if again:
        print(f"  median of {len(again)}: {statistics.median(again):.1f} s", flush=True)
    changed = overlays[0] / "kustomization.yaml"
    changed.write_text(changed.read_text().replace("-prod\n", "-moved\n", 1), encoding="utf-8")
    one, one_cpu, result = timed(drift_command, check=1)
    named = [line for line in result.stdout.splitlines() if line.startswith("  - namespace")]
    print(
        f"one overlay's namespace changed: exit 1 in {one:.1f} s (CPU {one_cpu:.1f} s), "
        f"{len(named)} difference(s)"
    )
    print(f"  {named[0].strip()}" if named else "  (no namespace difference named: a miss)")
    if args.keep is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
