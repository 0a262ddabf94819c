"""Test-only instrumentation of a target: requests counted per method, named
counters (e.g. how signed requests were judged) and the routes that read and
reset them, for Flask apps (:func:`instrument`) and FastAPI apps
(:func:`instrument_asgi`). None of it is in any OpenAPI document.

    GET  /__test__/methods   request counts per HTTP method: every request
                             except /__test__/* and /api/health, counted in
                             WSGI middleware (so 404/405 count too)
    GET  /__test__/paths     the same requests per method and path:
                             ``[{"method", "path", "count"}]``
    GET  /__test__/<name>    the named counters, when ``named`` is given
    POST /__test__/reset     the app's own ``reset()``; ``?counters=1`` also
                             zeroes every counter
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from flask import Flask, request

from .web import respond

COUNTED_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


class Counters:
    """Thread-safe request and named counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.methods: dict = {}
        self.paths: dict = {}
        self.named: dict = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.methods.clear()
            self.methods.update({m: 0 for m in COUNTED_METHODS})
            self.paths.clear()
            self.named.clear()

    def count(self, name: str) -> None:
        with self._lock:
            self.named[name] = self.named.get(name, 0) + 1

    def count_method(self, method: str, path: str) -> None:
        """Counts one request, unless it is a test-only or health route."""
        if path.startswith("/__test__") or path.rstrip("/") == "/api/health":
            return
        with self._lock:
            self.methods[method] = self.methods.get(method, 0) + 1
            self.paths[(method, path)] = self.paths.get((method, path), 0) + 1

    def by_path(self) -> list:
        """Requests per (method, path), as JSON-ready records."""
        with self._lock:
            return [{"method": m, "path": p, "count": n} for (m, p), n in sorted(self.paths.items())]

    def snapshot(self) -> tuple[dict, dict]:
        with self._lock:
            return dict(self.methods), dict(self.named)

    def middleware(self, wsgi_app):
        def counted(environ, start_response):
            self.count_method((environ.get("REQUEST_METHOD") or "?").upper(), environ.get("PATH_INFO", ""))
            return wsgi_app(environ, start_response)

        return counted


def instrument(
    app: Flask,
    twin: str,
    reset: Optional[Callable[[], None]] = None,
    named: Optional[str] = None,
) -> Counters:
    """Counts ``app``'s requests and adds the test-only routes."""
    counters = Counters()
    app.wsgi_app = counters.middleware(app.wsgi_app)

    @app.get("/__test__/methods")
    def test_methods():
        return respond(counters.snapshot()[0])

    @app.get("/__test__/paths")
    def test_paths():
        return respond(counters.by_path())

    if named:

        @app.get(f"/__test__/{named}")
        def test_named():
            return respond(counters.snapshot()[1])

    @app.post("/__test__/reset")
    def test_reset():
        if reset is not None:
            reset()
        if request.args.get("counters") in ("1", "true", "yes"):
            counters.reset()
        return respond({"status": "reset", "twin": twin})

    return counters


def instrument_asgi(app, twin: str, reset: Optional[Callable[[], None]] = None) -> Counters:
    """:func:`instrument` for a FastAPI app: the same counters (in an HTTP
    middleware) and the same ``/__test__/methods`` and ``/__test__/reset``
    routes, left out of the app's OpenAPI document."""
    from fastapi import Query  # Flask targets need no FastAPI

    counters = Counters()

    @app.middleware("http")
    async def counted(request, call_next):
        counters.count_method(request.method.upper(), request.url.path)
        return await call_next(request)

    @app.get("/__test__/methods", include_in_schema=False)
    def test_methods():
        return counters.snapshot()[0]

    @app.get("/__test__/paths", include_in_schema=False)
    def test_paths():
        return counters.by_path()

    # No annotations: this module's `from __future__ import annotations`
    # would hide their types from FastAPI.
    @app.post("/__test__/reset", include_in_schema=False)
    def test_reset(flag=Query(None, alias="counters")):
        if reset is not None:
            reset()
        if flag in ("1", "true", "yes"):
            counters.reset()
        return {"status": "reset", "twin": twin}

    return counters
