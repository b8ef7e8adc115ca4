"""The 32-render matrix as one digest per file, to prove a refactoring changes no page or script.

    .venv/bin/python tests/matrix_digest.py > before.json      # on the commit before the change
    .venv/bin/python tests/matrix_digest.py > after.json       # after it
    .venv/bin/python tests/matrix_digest.py --compare before.json after.json

Each combination of `tests/matrix.py` (and each example service) is rendered with the
cookiecutter API, `reviewed_on` pinned so the digest does not change with the day, and every
file's SHA-256 recorded by combination and path. `--keep DIR` leaves the rendered trees there for
a `diff -r`. `--compare` lists every file added, removed or changed, exit 1 when any.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter
from matrix import COMBINATIONS_BY_ID, ROOT

PINNED = {"reviewed_on": "2026-01-15"}


def answer_sets() -> dict[str, dict[str, str]]:
    """Every matrix combination, and every example service as its file gives it."""
    sets = {combo: {**answers, **PINNED} for combo, answers in COMBINATIONS_BY_ID.items()}
    for example in sorted((ROOT / "examples" / "services").glob("*.yaml")):
        answers = yaml.safe_load(example.read_text(encoding="utf-8"))
        sets[f"example-{example.stem}"] = {**PINNED, **{k: v for k, v in answers.items()}}
    return sets


def digest_tree(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def render_all(keep: Path | None) -> dict[str, dict[str, str]]:
    digests = {}
    with tempfile.TemporaryDirectory() as scratch:
        out = keep or Path(scratch)
        for name, answers in answer_sets().items():
            target = out / name
            target.mkdir(parents=True, exist_ok=True)
            project = cookiecutter(
                str(ROOT), no_input=True, extra_context=answers, output_dir=str(target)
            )
            digests[name] = digest_tree(Path(project))
    return digests


def compare(before: dict, after: dict) -> list[str]:
    lines = []
    for combo in sorted(set(before) | set(after)):
        old, new = before.get(combo, {}), after.get(combo, {})
        for path in sorted(set(old) | set(new)):
            if path not in new:
                lines.append(f"{combo}: removed {path}")
            elif path not in old:
                lines.append(f"{combo}: added {path}")
            elif old[path] != new[path]:
                lines.append(f"{combo}: changed {path}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="leave the rendered trees in this folder")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        differences = compare(before, after)
        print("\n".join(differences) or "identical")
        return 1 if differences else 0
    json.dump(render_all(args.keep), sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
