"""What the targets' Flask apps share: JSON answers and errors, the twin
marker, the health route, and how an app is served.

Every app lives in ``tests/targets/<family>/app.py`` and is started by the
Rust harness (tests/support) with ``TWIN`` and ``PORT`` in its environment.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from . import watchdog


def respond(payload, status: int = 200, headers: Optional[Mapping[str, str]] = None):
    """``payload`` as JSON with ``status`` and extra ``headers``."""
    resp = jsonify(payload)
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def error(status: int, message: str, headers: Optional[Mapping[str, str]] = None):
    """The targets' error body: ``{"error": message, "status": status}``."""
    return respond({"error": message, "status": status}, status, headers)


def json_errors(app: Flask) -> None:
    """Every error as JSON: HTTP errors by name (405 with its ``Allow``), and
    anything unexpected as a bare 500 whose details go to the server log
    only."""

    @app.errorhandler(HTTPException)
    def http_error(exc):
        resp = error(exc.code or 500, (exc.name or "error").lower())
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def internal_error(exc):
        app.logger.exception("unhandled error: %s", exc)
        return error(500, "internal error")


def health(app: Flask, twin: Optional[str], headers: Optional[Mapping[str, str]] = None) -> None:
    """``GET /api/health``: the readiness probe the harness polls."""
    body = {"status": "ok"} if twin is None else {"status": "ok", "twin": twin}

    @app.get("/api/health")
    def api_health():
        return respond(body, 200, headers)


def create_app(name: str, twin: str) -> Flask:
    """A Flask app answering JSON in insertion order, errors as JSON, every
    response marked with its twin and ``Cache-Control: no-store`` (unless it
    set its own), and the health route."""
    app = Flask(name)
    app.json.sort_keys = False
    json_errors(app)

    @app.after_request
    def mark(resp):
        resp.headers["X-Rampart-Twin"] = twin
        # An answer that chose its own caching (a public page) keeps it.
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    health(app, twin)
    return app


def serve(
    app: Flask,
    port: int,
    banner: str,
    setup: Optional[Callable[[], None]] = None,
    **run_options,
) -> None:
    """Exit with the test binary that started us (``RAMPART_PARENT_PID``),
    run ``setup`` (seeding), say ``banner`` and serve on 127.0.0.1 without
    the reloader."""
    watchdog.start()
    if setup is not None:
        setup()
    print(banner, flush=True)
    options = {"debug": False, "threaded": True, **run_options}
    app.run(host="127.0.0.1", port=port, use_reloader=False, **options)
