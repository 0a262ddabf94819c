"""Which twin a target runs and on which port, from the environment the
Rust harness sets (``TWIN``, ``PORT``)."""

from __future__ import annotations

import os
import sys


def twin_and_port() -> tuple[str, bool, int]:
    """``(twin, vulnerable, port)``; exits with a clear message when unset."""
    twin = os.environ.get("TWIN", "")
    if twin not in ("vulnerable", "fixed"):
        sys.exit(f"TWIN must be 'vulnerable' or 'fixed', got {twin!r}")
    port = int(os.environ.get("PORT", "0") or 0)
    if not port:
        sys.exit("PORT must be set")
    return twin, twin == "vulnerable", port
