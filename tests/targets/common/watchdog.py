"""Parent-death watchdog for test targets.

The Rust harness (tests/support/mod.rs) kills its children on Drop, but if the
test binary itself is SIGKILLed (e.g. a CI timeout) Drop never runs.  The
harness therefore exports ``RAMPART_PARENT_PID``; a target that calls
:func:`start` exits as soon as its parent process is gone, so no orphaned
servers keep ports or moto tables alive.  Without the variable it is a no-op,
so apps still run fine by hand.
"""

from __future__ import annotations

import os
import threading
import time

ENV_VAR = "RAMPART_PARENT_PID"


def start(interval: float = 0.5) -> bool:
    """Start the daemon watchdog thread; returns True if it was armed."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw.isdigit():
        return False
    expected = int(raw)
    if os.getppid() != expected:
        # Started through an intermediate process (shell, wrapper): fall back
        # to polling the given pid directly.
        def alive() -> bool:
            try:
                os.kill(expected, 0)
                return True
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
    else:
        def alive() -> bool:
            return os.getppid() == expected

    def run() -> None:
        while True:
            if not alive():
                os._exit(0)
            time.sleep(interval)

    threading.Thread(target=run, name="parent-watchdog", daemon=True).start()
    return True
