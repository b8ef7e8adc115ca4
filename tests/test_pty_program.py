"""The pty waits of tests/pty_program.py (used by test_new.py's terminal tests): a wrong prompt
or an early end fails at once with what was shown, and a slow exit is waited for, not killed."""

from __future__ import annotations

import sys
import time

import pexpect
import pytest
from pty_program import Screen, waiting_for_input

ASKS_NAME = "name = input('Your name: '); print('Hello', name)"


def program(code: str) -> Screen:
    return Screen(pexpect.spawn(sys.executable, ["-c", code], encoding="utf-8"))


def test_the_expected_prompt_is_found_and_answered() -> None:
    screen = program(ASKS_NAME)
    assert screen.wait_until(lambda text: "Your name: " in text or None, "the question")
    screen.child.sendline("Ada")
    assert screen.wait_for_exit() == 0
    assert "Hello Ada" in screen.text


def test_a_wrong_prompt_fails_once_the_program_waits_showing_what_it_asked() -> None:
    """Negative control: the program waits for an answer to a question the test does not
    expect; the wait fails because it is waiting (not at the end of its patience)."""
    screen = program(ASKS_NAME)
    with pytest.raises(AssertionError, match="waits for input without 'Your age'") as failed:
        screen.wait_until(lambda text: "Your age" in text or None, "'Your age'")
    assert "Your name: " in str(failed.value)
    screen.child.close()


def test_a_program_that_ends_first_fails_the_wait_showing_its_output() -> None:
    screen = program("print('no questions today')")
    with pytest.raises(AssertionError, match="ended before 'Your name'") as failed:
        screen.wait_until(lambda text: "Your name" in text or None, "'Your name'")
    assert "no questions today" in str(failed.value)


def test_a_slow_exit_after_the_output_ends_keeps_its_status() -> None:
    """The program closes its terminal (its three streams), then takes a while to exit: its own
    status is read, not lost to pexpect's close(), which kills a child still alive 0.1 s after
    its terminal closes (ptyprocess ``delayafterclose``). (A control that calls close() alone
    races the child's exit on a busy machine, so none is kept.)"""
    slow_exit = "import os, time\nos.closerange(0, 3)\ntime.sleep(1)\nraise SystemExit(3)"
    assert program(slow_exit).wait_for_exit() == 3


def test_waiting_for_input_tells_reading_the_terminal_from_sleeping() -> None:
    reading, sleeping = program(ASKS_NAME), program("import time; time.sleep(60)")
    reading.wait_until(lambda text: "Your name: " in text or None, "the question")
    reading.wait_until_reading()
    time.sleep(0.5)  # let the sleeper reach its sleep
    assert waiting_for_input(reading.child.pid) is True
    assert waiting_for_input(sleeping.child.pid) is False
    for screen in (reading, sleeping):
        screen.child.close()
