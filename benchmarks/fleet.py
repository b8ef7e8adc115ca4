"""Benchmark the fleet CLI against the ways people render and publish many services today.

    python benchmarks/fleet.py --services 200 --build-sizes 50,150

Renders N services three ways in one run, checks the three outputs are identical, and prints
the times and ratios:

1. a shell-style loop of the ``cookiecutter`` CLI (one process per service);
2. a loop of cookiecutter's Python API in this process (``cookiecutter.main.cookiecutter``);
3. ``service-runbooks render`` (one process, worker pool), then again with nothing changed
   (each the best of --repeat runs: a fresh output folder for each first run).

Then, for each size S in --build-sizes, it publishes the first S services two ways and prints
time and output size: ``service-runbooks build`` (one TechDocs site per service, in parallel)
and one MkDocs site holding every service (techdocs-core with its monorepo ``!include`` nav).
A benchmark, not a test: it prints what it measures, including misses.
"""

from __future__ import annotations

import argparse
import filecmp
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from service_runbooks.fleet.lastrun import RECORD
from service_runbooks.fleet.workdir import CRUFT_FILE, FLEET_SERVICES, LOCK_FILE, MANIFEST

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
METADATA = {CRUFT_FILE, MANIFEST}  # in each service folder: what the CLI adds to a render
COOKIECUTTER = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))


def fleet_services(count: int) -> list[dict[str, str]]:
    """``count`` varied services: every workload, migration tool, GitOps and lifecycle cycle."""
    combos = itertools.cycle(
        itertools.product(
            COOKIECUTTER["workload"], COOKIECUTTER["migration_tool"], COOKIECUTTER["gitops"]
        )
    )
    lifecycles = itertools.cycle(COOKIECUTTER["lifecycle"])
    services = []
    for i, (workload, tool, gitops) in zip(range(count), combos, strict=False):
        service = {
            "service_name": f"svc-{i:04d}",
            "description": f"Service {i}: does thing number {i} 🚀",
            "owner": f"team-{i % 17:02d}",
            "lifecycle": next(lifecycles),
            "workload": workload,
            "migration_tool": tool,
            "gitops": gitops,
        }
        if i % 2:
            service["github_repo"] = f"acme/svc-{i:04d}"
            service["pagerduty_service_id"] = f"P{i:06d}"
        services.append(service)
    return services


# The fleet's defaults; reviewed_on must be given in a fleet file (its cookiecutter default is
# the day of the render), and the CLI loops get the same answers.
DEFAULTS = {"incident_channel": "#incidents", "reviewed_on": "2026-11-02"}


def write_fleet(path: Path, services: list[dict[str, str]]) -> None:
    fleet = {"defaults": DEFAULTS, "services": services}
    path.write_text(yaml.safe_dump(fleet, allow_unicode=True, sort_keys=False), "utf-8")


def answers(service: dict[str, str]) -> dict[str, str]:
    return {**DEFAULTS, **service}


def env() -> dict[str, str]:
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PATH": f"{BIN}:{os.environ['PATH']}"}


def cli_loop(services: list[dict[str, str]], out: Path) -> float:
    start = time.perf_counter()
    for service in services:
        args = [f"{k}={v}" for k, v in answers(service).items()]
        subprocess.run(
            [BIN / "cookiecutter", "--no-input", "--default-config", "-o", out, ROOT, *args],
            check=True,
            env=env(),
            stdout=subprocess.DEVNULL,
        )
    return time.perf_counter() - start


def api_loop(services: list[dict[str, str]], out: Path) -> float:
    from cookiecutter.main import cookiecutter

    start = time.perf_counter()
    for service in services:
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context=answers(service),
            output_dir=str(out),
            default_config=True,
        )
    return time.perf_counter() - start


def fleet_render(fleet: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [BIN / "service-runbooks", "render", fleet, "--output", out],
        check=True,
        env=env(),
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def differences(left: Path, right: Path, ignore: set[str]) -> list[str]:
    """Paths whose presence, bytes or executable bit differ between two trees."""
    found = []
    ours_only = [LOCK_FILE, RECORD, FLEET_SERVICES]  # the CLI's own files in the output folder
    comparison = filecmp.dircmp(left, right, ignore=[*ignore, *ours_only])
    stack = [(comparison, Path())]
    while stack:
        cmp, rel = stack.pop()
        found += [str(rel / n) for n in cmp.left_only + cmp.right_only + cmp.funny_files]
        for name in cmp.common_files:
            a, b = Path(cmp.left, name), Path(cmp.right, name)
            same_mode = (a.stat().st_mode & 0o111) == (b.stat().st_mode & 0o111)
            if a.read_bytes() != b.read_bytes() or not same_mode:
                found.append(str(rel / name))
        stack += [(sub, rel / name) for name, sub in cmp.subdirs.items()]
    return found


def tree_size(path: Path) -> tuple[int, int]:
    """(files, apparent bytes) under ``path``."""
    files = size = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size


def monorepo_config(services: Path, names: list[str]) -> Path:
    """One MkDocs site holding every service: techdocs-core's monorepo !include nav."""
    config = services / "mkdocs.yml"
    nav = "\n".join(f"  - {name}: '!include ./{name}/mkdocs.yml'" for name in names)
    config.write_text(
        f"site_name: All runbooks\nnav:\n{nav}\nplugins:\n  - techdocs-core\n", "utf-8"
    )
    (services / "docs").mkdir(exist_ok=True)
    (services / "docs" / "index.md").write_text("# All runbooks\n", "utf-8")
    return config


def bench_build(rendered: Path, size: int, work: Path) -> dict[str, float]:
    services = work / f"services-{size}"
    names = sorted(p.name for p in rendered.iterdir() if p.is_dir())[:size]
    services.mkdir()
    for name in names:
        shutil.copytree(rendered / name, services / name)
    start = time.perf_counter()
    subprocess.run(
        [BIN / "service-runbooks", "build", services, "--site", work / f"sites-{size}"],
        check=True,
        env=env(),
        stdout=subprocess.DEVNULL,
    )
    ours = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(
        [BIN / "service-runbooks", "build", services, "--site", work / f"sites-{size}"],
        check=True,
        env=env(),
        stdout=subprocess.DEVNULL,
    )
    ours_again = time.perf_counter() - start
    config = monorepo_config(services, names)
    start = time.perf_counter()
    # No -q: with it, MkDocs 1.6.1 exits 0 under --strict despite warnings; its log is captured.
    subprocess.run(
        [BIN / "mkdocs", "build", "--strict", "-f", config, "-d", work / f"mono-{size}"],
        check=True,
        capture_output=True,
        env=env(),
    )
    mono = time.perf_counter() - start
    _, ours_bytes = tree_size(work / f"sites-{size}")
    _, mono_bytes = tree_size(work / f"mono-{size}")
    return {
        "ours": ours,
        "ours_again": ours_again,
        "mono": mono,
        "ours_mb": ours_bytes / 1e6,
        "mono_mb": mono_bytes / 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--build-sizes", default="50,150", help="comma list; '' skips the build")
    parser.add_argument("--workdir", type=Path, help="keep the outputs here (default: a temp dir)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="render timings: best of this many (default 3)"
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    services = fleet_services(args.services)
    fleet = work / "fleet.yaml"
    write_fleet(fleet, services)
    n = args.services
    print(f"{n} services, {os.cpu_count()} cores, template {ROOT}, outputs in {work}")

    cli = cli_loop(services, work / "cli")
    print(f"cookiecutter CLI loop   {cli:8.2f} s  ({cli / n * 1000:6.1f} ms/service)")
    api = api_loop(services, work / "api")
    print(f"cookiecutter API loop   {api:8.2f} s  ({api / n * 1000:6.1f} ms/service)")
    # Short timings are noisy on a shared machine: best of --repeat, first runs into fresh folders.
    ours = min(fleet_render(fleet, work / f"ours-{i}") for i in range(args.repeat))
    print(f"service-runbooks render {ours:8.2f} s  ({ours / n * 1000:6.1f} ms/service)")
    again = min(fleet_render(fleet, work / "ours-0") for _ in range(args.repeat))
    print(f"  again, nothing changed {again:7.2f} s")
    for i in range(1, args.repeat):
        shutil.rmtree(work / f"ours-{i}")
    (work / "ours-0").rename(work / "ours")

    diff_api = differences(work / "cli", work / "api", set())
    diff_ours = differences(work / "cli", work / "ours", METADATA)
    identical = not diff_api and not diff_ours
    print(f"outputs identical: {identical}")
    for path in (diff_api + diff_ours)[:20]:
        print(f"  differs: {path}")
    print(f"render vs CLI loop: {cli / ours:6.1f}x faster (target >= 20x)")
    print(f"render vs API loop: {api / ours:6.1f}x faster (target >= 3x)")
    print(f"first vs unchanged rerun: {ours / again:6.1f}x (target >= 20x)")

    sizes = [int(s) for s in args.build_sizes.split(",") if s.strip()]
    for size in sizes:
        if size > n:
            print(f"build at {size}: skipped (only {n} services rendered)")
            continue
        r = bench_build(work / "ours", size, work)
        print(
            f"build {size:4d} services: per-service sites {r['ours']:7.2f} s "
            f"({r['ours_mb']:7.1f} MB; unchanged rebuild {r['ours_again']:5.2f} s), "
            f"one monorepo site {r['mono']:7.2f} s ({r['mono_mb']:7.1f} MB)"
        )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
