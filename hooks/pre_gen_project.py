"""Refuse bad answers before cookiecutter writes a single file.

The rules live in src/service_runbooks/rules.py (shared with the fleet CLI and the Backstage
form). Answers are read as data through ``tojson``, never pasted into Python source.
"""

import json
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }} """)
# The answers as given, before cookiecutter rendered them: shows what came from the command
# line or extra_context (an answer typed at a prompt is rendered before we can see it). cruft's
# update and diff render without it: then there is nothing given to check.
GIVEN = json.loads(r"""{{ _cookiecutter | default({}) | tojson }} """)
TEMPLATE_DIR = Path(json.loads(r"""{{ template_dir | tojson }} """))

sys.path.insert(0, str(TEMPLATE_DIR / "src"))
from service_runbooks.rules import refusal  # noqa: E402


def main() -> int:
    if (message := refusal(ANSWERS, GIVEN)) is not None:
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
