"""Benchmark the fleet CLI at scale, against the way people render many services today.

    python benchmarks/fleet.py --services 1000 --shards 4

Prints, in one run, for N varied services:

1. the cookiecutter CLI loop (one process per service) and the cookiecutter API loop, each timed
   on a sample of --sample services and scaled to N (said so in the output), their outputs
   compared byte for byte with ``service-runbooks render``'s for the sample;
2. ``service-runbooks render`` of the whole fleet (best of --repeat, each into a fresh folder),
   then again with nothing changed, and the ratios against the loops;
3. ``service-runbooks build`` of the whole fleet, again with nothing changed, and the disk the
   fleet site uses (``du -sk``, which counts a hard-linked file once) per service, and what it
   is made of (pages, search index, folders, the shared theme and the rest);
4. the same render and build for each of --shards shards (``--shard K/N``), run one after
   another, each into its own folders as a CI matrix job would: the longest shard is what an
   N-job matrix waits for;
5. build time and disk per service for the first --scale-at services against all N (they grow
   linearly when the per-service figures stay flat);
6. optionally (--monorepo-sizes) one MkDocs site holding the first S services, for comparison.

Every command's peak memory is the largest resident set of its process or any worker it waited
for (``ru_maxrss`` from wait4; for children Linux reports the largest one, not the sum:
https://man7.org/linux/man-pages/man2/getrusage.2.html). A benchmark, not a test: it prints
what it measures, including misses.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from service_runbooks.fleet.lastrun import RECORD
from service_runbooks.fleet.workdir import CRUFT_FILE, FLEET_SERVICES, LOCK_FILE, MANIFEST
from service_runbooks.rules import RULES_BY_FIELD, default_answer, missing_deciding

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLI = BIN / "service-runbooks"
METADATA = {CRUFT_FILE, MANIFEST}  # in each service folder: what the CLI adds to a render
COOKIECUTTER = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
TARGETS = {"cli": 50.0, "api": 3.0, "rerun": 20.0, "disk_mb": 0.6, "shard": 0.3}


@dataclass(frozen=True)
class Run:
    """One command: wall time, and the peak resident set of its largest process (MB)."""

    seconds: float
    peak_mb: float

    def __str__(self) -> str:
        return f"{self.seconds:8.2f} s  (peak {self.peak_mb:5.0f} MB)"


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
            # The workload's own name is each service's (rules.Rule.per_service).
            "workload_name": f"svc-{i:04d}",
        }
        if gitops == "flux":  # the Flux object's kind is a deciding fact under Flux
            service["gitops_kind"] = "helmrelease" if workload == "helm" else "kustomization"
        if i % 2:
            service["github_repo"] = f"acme/svc-{i:04d}"
            service["pagerduty_service_id"] = f"P{i:06d}"
        services.append(service)
    return services


# The fleet's defaults; reviewed_on must be given in a fleet file (its cookiecutter default is
# the day of the render), and so must the deciding facts (rules.Rule.deciding: each service
# gives its own, the rest take cookiecutter.json's values here); the CLI loops get the same answers.
PER = {field for field, rule in RULES_BY_FIELD.items() if rule.per_service}
DEFAULTS = {
    **{field: str(default_answer(field)) for field in missing_deciding({}) if field not in PER},
    "incident_channel": "#incidents",
    "reviewed_on": "2026-11-02",
}


def write_fleet(path: Path, services: list[dict[str, str]]) -> Path:
    fleet = {"defaults": DEFAULTS, "services": services}
    path.write_text(yaml.safe_dump(fleet, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def answers(service: dict[str, str]) -> dict[str, str]:
    return {**DEFAULTS, **service}


def env() -> dict[str, str]:
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PATH": f"{BIN}:{os.environ['PATH']}"}


def run(command: Sequence[str | Path]) -> Run:
    """Run a command to completion (output discarded, failure raised), timed and measured."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(part) for part in command],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    # wait4 reports this child's usage, ru_maxrss in KiB on Linux:
    # https://man7.org/linux/man-pages/man2/wait4.2.html
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))}: exit {process.returncode}\n{errors}")
    return Run(seconds, usage.ru_maxrss / 1024)


def cli_loop(services: list[dict[str, str]], out: Path) -> float:
    start = time.perf_counter()
    for service in services:
        args = [f"{k}={v}" for k, v in answers(service).items()]
        run([BIN / "cookiecutter", "--no-input", "--default-config", "-o", out, ROOT, *args])
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


def disk_mb(*paths: Path) -> float:
    """``du -sk`` of the folders together (a file hard-linked twice counts once), in MB."""
    result = subprocess.run(
        ["du", "-skc", *map(str, paths)], check=True, capture_output=True, text=True
    )
    return int(result.stdout.splitlines()[-1].split()[0]) * 1024 / 1e6


def render(fleet: Path, out: Path, *extra: str) -> Run:
    return run([CLI, "render", fleet, "--output", out, *extra])


def build(services: Path, site: Path, *extra: str) -> Run:
    return run([CLI, "build", services, "--site", site, *extra])


def bench_loops(args: argparse.Namespace, services: list[dict[str, str]], work: Path) -> dict:
    """The cookiecutter loops on a sample, scaled to the whole fleet."""
    sample = services[: args.sample]
    n, k = len(services), len(sample)
    cli = cli_loop(sample, work / "cli") / k * n
    api = api_loop(sample, work / "api") / k * n
    print(f"cookiecutter CLI loop   {cli:8.2f} s  ({cli / n * 1000:6.1f} ms/service; timed on {k}")
    print(f"                                   services and scaled to {n})")
    print(f"cookiecutter API loop   {api:8.2f} s  ({api / n * 1000:6.1f} ms/service; same sample)")
    return {"cli": cli, "api": api, "sample": [s["service_name"] for s in sample]}


def bench_render(args: argparse.Namespace, fleet: Path, n: int, work: Path) -> tuple[Run, Run]:
    # Short timings are noisy on a shared machine: best of --repeat, first runs into fresh folders.
    first = min((render(fleet, work / f"ours-{i}") for i in range(args.repeat)), key=seconds)
    print(f"render, whole fleet     {first}  ({first.seconds / n * 1000:6.1f} ms/service)")
    again = min((render(fleet, work / "ours-0") for _ in range(args.repeat)), key=seconds)
    print(f"  again, nothing changed{again}")
    for i in range(1, args.repeat):
        shutil.rmtree(work / f"ours-{i}")
    (work / "ours-0").rename(work / "ours")
    return first, again


def seconds(result: Run) -> float:
    return result.seconds


def check_identical(loops: dict, work: Path) -> bool:
    found = []
    for name in loops["sample"]:
        found += differences(work / "cli" / name, work / "api" / name, set())
        found += differences(work / "cli" / name, work / "ours" / name, METADATA)
    print(f"outputs identical (the {len(loops['sample'])} sampled services): {not found}")
    for path in found[:20]:
        print(f"  differs: {path}")
    return not found


def disk_by_kind(site: Path) -> dict[str, int]:
    """Bytes a site folder holds on disk (allocated blocks), by kind, each inode once as ``du``
    counts it; a file hard-linked from the build's store counts under its name in a site."""
    seen: set[int] = set()
    kinds: dict[str, int] = {}
    for root, folders, files in os.walk(site):  # never follows links
        folders.sort(key=lambda name: (name.startswith("."), name))  # the store's names last
        for name, is_folder in [*((f, True) for f in folders), *((f, False) for f in files)]:
            info = os.lstat(os.path.join(root, name))
            if info.st_ino in seen:
                continue
            seen.add(info.st_ino)
            kind = (
                "folders"
                if is_folder
                else "pages"
                if name.endswith(".html")
                else "search index"
                if name == "search_index.json"
                else "theme and the rest"
            )
            kinds[kind] = kinds.get(kind, 0) + info.st_blocks * 512  # st_blocks: 512-byte units
    return kinds


def bench_build(services: Path, site: Path, n: int, label: str) -> tuple[Run, Run, float]:
    first = build(services, site)
    mb = disk_mb(site)
    print(f"build, {label:17s}{first}  ({first.seconds / n * 1000:6.1f} ms/service)")
    print(f"  fleet site on disk    {mb:8.1f} MB  ({mb / n:6.2f} MB/service; du -sk)")
    kinds = disk_by_kind(site)
    parts = ", ".join(f"{kind} {size / n / 1e6:.2f}" for kind, size in sorted(kinds.items()))
    print(f"  a service, by kind:   {parts} MB")
    again = build(services, site)
    print(f"  again, nothing changed{again}")
    return first, again, mb


def bench_shards(fleet: Path, count: int, n: int, work: Path, whole: float) -> None:
    """Each shard rendered and built into its own folders, one after another."""
    print(f"{count} shards, run one after another (each as one CI matrix job would):")
    longest = longest_build = 0.0
    total_mb = 0.0
    for index in range(1, count + 1):
        spec = f"{index}/{count}"
        out, site = work / f"shard-{index}" / "out", work / f"shard-{index}" / "site"
        rendered = render(fleet, out, "--shard", spec)
        built = build(out, site, "--shard", spec)
        size = sum(1 for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
        mb = disk_mb(site)
        total_mb += mb
        longest = max(longest, rendered.seconds + built.seconds)
        longest_build = max(longest_build, built.seconds)
        print(f"  shard {spec}: {size:5d} services; render {rendered}; build {built}; {mb:.1f} MB")
    print(
        f"  longest shard: render + build {longest:.2f} s, build {longest_build:.2f} s = "
        f"{longest_build / whole:.2f} x the whole build (target <= {TARGETS['shard']})"
    )
    print(f"  shards' sites on disk {total_mb:.1f} MB ({total_mb / n:.2f} MB/service)")


def first_services(rendered: Path, size: int, services: Path) -> list[str]:
    """Copy the first ``size`` rendered services (by name) into ``services``; their names."""
    names = sorted(p.name for p in rendered.iterdir() if p.is_dir())[:size]
    services.mkdir()
    for name in names:
        shutil.copytree(rendered / name, services / name)
    return names


def bench_scale(rendered: Path, size: int, work: Path, whole: tuple[float, float], n: int) -> None:
    """Build the first ``size`` services alone: per-service time and disk against all ``n``."""
    services = work / f"services-{size}"
    first_services(rendered, size, services)
    result = build(services, work / f"sites-{size}")
    mb = disk_mb(work / f"sites-{size}")
    for count, secs, total in [(size, result.seconds, mb), (n, *whole)]:
        print(
            f"  build of {count:5d}: {secs / count * 1000:7.1f} ms/service, "
            f"{total / count:5.2f} MB/service on disk"
        )
    added = n - size  # the slope between the two: what each further service costs
    print(
        f"  each service beyond {size}: {(whole[0] - result.seconds) / added * 1000:7.1f} ms, "
        f"{(whole[1] - mb) / added:5.2f} MB on disk (the shared theme is paid once)"
    )


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


def bench_monorepo(rendered: Path, size: int, work: Path) -> None:
    services = work / f"mono-services-{size}"
    names = first_services(rendered, size, services)
    ours = build(services, work / f"mono-ours-{size}")
    config = monorepo_config(services, names)
    # No -q: with it, MkDocs 1.6.1 exits 0 under --strict despite warnings; its log is captured.
    mono = run([BIN / "mkdocs", "build", "--strict", "-f", config, "-d", work / f"mono-{size}"])
    print(
        f"build {size:4d} services: per-service sites {ours.seconds:7.2f} s "
        f"({disk_mb(work / f'mono-ours-{size}'):7.1f} MB), one monorepo site {mono.seconds:7.2f} s "
        f"({disk_mb(work / f'mono-{size}'):7.1f} MB)"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--shards", type=int, default=4, help="0 skips the sharded runs")
    parser.add_argument(
        "--sample", type=int, default=20, help="services the cookiecutter loops are timed on"
    )
    parser.add_argument(
        "--scale-at", type=int, help="a smaller fleet to compare per-service figures (N/5)"
    )
    parser.add_argument(
        "--monorepo-sizes", default="", help="comma list: also build one MkDocs site of S"
    )
    parser.add_argument("--workdir", type=Path, help="keep the outputs here (default: a temp dir)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="render timings: best of this many (default 3)"
    )
    args = parser.parse_args()
    args.sample = max(1, min(args.sample, args.services))
    args.scale_at = args.scale_at or max(1, args.services // 5)
    return args


def main() -> int:
    args = parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    services = fleet_services(args.services)
    fleet = write_fleet(work / "fleet.yaml", services)
    n = args.services
    print(f"{n} services, {os.cpu_count()} cores, template {ROOT}, outputs in {work}")

    loops = bench_loops(args, services, work)
    first, again = bench_render(args, fleet, n, work)
    identical = check_identical(loops, work)
    print(
        f"render vs CLI loop: {loops['cli'] / first.seconds:6.1f}x faster "
        f"(the loop scaled from {len(loops['sample'])} services; target >= {TARGETS['cli']:g}x)"
    )
    print(f"render vs API loop: {loops['api'] / first.seconds:6.1f}x faster (same sample)")
    print(f"first vs unchanged re-run: {first.seconds / again.seconds:6.1f}x")

    built, _, mb = bench_build(work / "ours", work / "site", n, "whole fleet")
    print(f"  disk per service: {mb / n:.2f} MB (target <= {TARGETS['disk_mb']} MB)")
    if args.shards:
        bench_shards(fleet, args.shards, n, work, built.seconds)
    if args.scale_at < n:
        print(f"linearity: the first {args.scale_at} services built alone, then all {n}:")
        bench_scale(work / "ours", args.scale_at, work, (built.seconds, mb), n)
    for size in [int(s) for s in args.monorepo_sizes.split(",") if s.strip()]:
        if size <= n:
            bench_monorepo(work / "ours", size, work)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
