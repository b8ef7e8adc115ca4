"""Waiting on a program in a pseudo-terminal (pexpect) without timing it: a wait ends at once
when the program exits, soon when it sits waiting for input that the test's expected text never
asked for (a wrong prompt), and only after a generous, load-scaled patience when it is still
working (a busy machine slows a program down; it does not make it wrong)."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pexpect

# Seconds a working program may go without showing what a test waits for, on a machine no busier
# than its cores; patience() scales it up by the load.
PATIENCE = 120
# Seconds a program may wait for input without having shown what the test waits for: time for
# the terminal to hand over a line the test typed (the kernel does that asynchronously).
WAITING_GRACE = 10
# read(2)'s number per machine: arch/x86/entry/syscalls/syscall_64.tbl
# (https://github.com/torvalds/linux/blob/master/arch/x86/entry/syscalls/syscall_64.tbl) and the
# generic table arm64 uses, include/uapi/asm-generic/unistd.h (__NR_read 63,
# https://github.com/torvalds/linux/blob/master/include/uapi/asm-generic/unistd.h).
READ_SYSCALL = {"x86_64": 0, "aarch64": 63}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colours and cursor moves: not what a person reads

Found = TypeVar("Found")


def patience() -> float:
    """PATIENCE, times the load per core when the machine is busier than its cores."""
    load_per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    return PATIENCE * max(1.0, load_per_core)


def waiting_for_input(pid: int) -> bool | None:
    """Whether process ``pid`` sleeps in read(2) on its standard input (file descriptor 0);
    None where that cannot be told (another machine, a kernel without the file, no access).

    /proc/PID/stat's state ("S": sleeping, https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html)
    and /proc/PID/syscall (the call's number, then its arguments, the first being the file
    descriptor; "running" when not blocked:
    https://man7.org/linux/man-pages/man5/proc_pid_syscall.5.html)."""
    read_number = READ_SYSCALL.get(platform.machine())
    if read_number is None:
        return None
    try:
        # The state is the field after the parenthesised command name.
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        call = Path(f"/proc/{pid}/syscall").read_text().split()
    except FileNotFoundError:
        return False  # ended
    except OSError:
        return None
    return state == "S" and call[:2] == [str(read_number), "0x0"]


class Screen:
    """What a program in a pseudo-terminal has shown, as a person reads it."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.raw = ""
        self.ended = False  # the program closed the terminal: it has shown all it will

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw).replace("\r\n", "\n")

    def read_more(self) -> bool:
        """Take what the program showed in the next second; False once it has ended."""
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=1)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            self.ended = True
        return not self.ended

    def wait_until(self, found: Callable[[str], Found | None], what: str, since: int = 0) -> Found:
        """Read until ``found(text)`` holds something and return it; fail naming ``what`` and
        showing the text from ``since`` when the program ends first, waits for input longer
        than WAITING_GRACE, or works past patience()."""
        start = time.monotonic()
        waiting_since: float | None = None
        while True:
            result = found(self.text)
            if result is not None:
                return result
            reading = self.read_more()
            result = found(self.text)
            if result is not None:
                return result
            if not reading:
                raise AssertionError(f"ended before {what}:\n{self.text[since:]}")
            now = time.monotonic()
            if waiting_for_input(self.child.pid):
                waiting_since = now if waiting_since is None else waiting_since
                if now - waiting_since > WAITING_GRACE:
                    raise AssertionError(f"waits for input without {what}:\n{self.text[since:]}")
            else:
                waiting_since = None
            if now - start > patience():
                raise AssertionError(f"no {what} in {now - start:.0f} s:\n{self.text[since:]}")

    def wait_for_exit(self, since: int = 0) -> int | None:
        """Wait for the program to end (as wait_until does) and return its exit status.

        After the end of its output, wait() lets it exit: close() alone kills a program still
        alive 0.1 s after its terminal closed (ptyprocess's ``delayafterclose``,
        https://github.com/pexpect/ptyprocess/blob/master/ptyprocess/ptyprocess.py), which a
        busy machine may not yet have let finish exiting."""
        self.wait_until(lambda _text: True if self.ended else None, "its end", since)
        status = self.child.wait()
        self.child.close()
        return status

    def wait_until_reading(self) -> None:
        """Until the program waits for input: after a question, its ``input()`` has started.

        A question is shown just before ``input()`` starts reading; a Ctrl-C sent in between
        is left pending by CPython until some input arrives (a person is never that fast): its
        C handler only sets a flag that the interpreter checks between bytecodes
        (https://docs.python.org/3/library/signal.html#execution-of-python-signal-handlers).
        Where waiting_for_input() cannot tell, sleeping ("S") is taken as waiting."""
        start = time.monotonic()
        while not self._reading():
            if not self.child.isalive():
                raise AssertionError(f"ended instead of waiting for input:\n{self.text}")
            if time.monotonic() - start > patience():
                raise AssertionError(f"never waited for input:\n{self.text}")
            time.sleep(0.01)

    def _reading(self) -> bool:
        reading = waiting_for_input(self.child.pid)
        if reading is not None:
            return reading
        stat = Path(f"/proc/{self.child.pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] == "S"
