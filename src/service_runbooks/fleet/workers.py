"""Worker processes end when the command that started them dies, even by SIGKILL.

A ProcessPoolExecutor's workers wait on a pipe that every worker holds open, so a parent
killed without cleanup leaves them waiting, adopted by init, forever. On Linux the kernel
signals a child when its parent dies if the child asked with ``prctl(PR_SET_PDEATHSIG)``
(https://man7.org/linux/man-pages/man2/prctl.2.html); elsewhere a thread watches the parent.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        threading.Event().wait(1.0)
    os._exit(1)


def die_with_parent() -> None:
    """Call first thing in a worker: end this process when its parent ends."""
    starter = multiprocessing.parent_process()  # recorded when the worker was started
    parent = starter.pid if starter is not None and starter.pid else os.getppid()
    if os.getppid() != parent:  # already gone
        os._exit(1)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(1)
            return
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()
