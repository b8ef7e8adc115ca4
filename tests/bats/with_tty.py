"""Run a command with a pseudo-terminal as its standard input, typing INPUT into it.

    python3 with_tty.py INPUT COMMAND [ARG...]

Standard output and error stay as they are (bats captures them); the exit status is the
command's. The scripts take the typed-confirmation path only when stdin is a terminal, so this
is how the tests reach it.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main() -> int:
    typed, command = sys.argv[1], sys.argv[2:]
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(command, stdin=terminal)
        os.close(terminal)
        os.write(controller, typed.encode() + b"\n")
        return process.wait(timeout=60)
    finally:
        os.close(controller)


if __name__ == "__main__":
    sys.exit(main())
