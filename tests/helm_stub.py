"""A stand-in for ``helm`` on PATH, for discovery's Helm step (no Helm can be installed here).

``helm template RELEASE CHART [-n NAMESPACE] [-f VALUES]...`` prints
``<rendered>/<RELEASE>.yaml`` after a comment line saying it is a stub (and says so on standard
error too), and records each call (argv, and the text of every values file it was given) as one
JSON line, so a test can check the release, namespace and values discovery passed.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

STUB = """#!{python}
import json, pathlib, sys
args = sys.argv[1:]
values = [pathlib.Path(args[i + 1]).read_text() for i, a in enumerate(args) if a == "-f"]
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": args, "values": values}}) + "\\n")
if args[:1] != ["template"] or len(args) < 3:
    sys.exit("helm stub: only `helm template RELEASE CHART` is canned")
fixture = pathlib.Path({rendered!r}) / (args[1] + ".yaml")
if not fixture.is_file():
    sys.exit(f"helm stub: no fixture {{fixture}} for release {{args[1]}}")
print("helm stub (not Helm): printing " + str(fixture), file=sys.stderr)
print("# Printed by the tests' helm stub, not rendered by Helm: " + fixture.name)
print(fixture.read_text(), end="")
"""


@dataclass(frozen=True)
class HelmStub:
    folder: Path  # put it first on PATH
    log: Path

    def calls(self) -> list[dict[str, list[str]]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def path(self) -> str:
        return f"{self.folder}{os.pathsep}{os.environ.get('PATH', '')}"


def helm_stub(folder: Path, rendered: Path) -> HelmStub:
    """Write the stub as ``folder/helm``, printing the fixtures of ``rendered``."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "helm-calls.jsonl"
    script = folder / "helm"
    script.write_text(STUB.format(python=sys.executable, log=str(log), rendered=str(rendered)))
    script.chmod(0o755)
    return HelmStub(folder, log)
