"""Which twin a target runs and on which port, from the environment the
Rust harness sets (``TWIN``, ``PORT``), and the twins' id conventions."""

from __future__ import annotations

import os
import sys
from typing import Optional


def twin_and_port(
    default_twin: Optional[str] = None, default_port: Optional[int] = None
) -> tuple[str, bool, int]:
    """``(twin, vulnerable, port)``; exits with a clear message when unset
    and there is no default."""
    twin = os.environ.get("TWIN", default_twin or "").strip().lower()
    if twin not in ("vulnerable", "fixed"):
        sys.exit(f"TWIN must be 'vulnerable' or 'fixed', got {twin!r}")
    port = int(os.environ.get("PORT", "") or default_port or 0)
    if not port:
        sys.exit("PORT must be set")
    return twin, twin == "vulnerable", port


def parse_id(raw, numeric: bool):
    """A path or query id: a short non-negative integer when the twin uses
    sequential ids (``numeric``), else any non-empty string of up to 64
    characters; None when malformed."""
    raw = (raw or "").strip()
    if numeric:
        return int(raw) if raw.isdigit() and len(raw) < 12 else None
    return raw if 0 < len(raw) <= 64 else None
