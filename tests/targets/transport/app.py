"""Rampart test target: transport-level mistakes of an HTTPS API (check family
``transport.*``: the passive and target-wide checks HSTS, cookie flags,
insecure links and credentials in URLs).

The app serves HTTPS itself (werkzeug's development server with an
``ssl.SSLContext`` built from ``TLS_CERT``/``TLS_KEY``); there is no
TLS-terminating proxy in front of it.

One Flask app, two twins chosen by env ``TWIN``:

* ``vulnerable`` - no ``Strict-Transport-Security``; the session cookie is
  set with werkzeug's ``set_cookie`` defaults plus ``httponly=False`` (no
  ``Secure``, ``HttpOnly`` or ``SameSite``); absolute links are built with a
  hard-coded ``http`` scheme (``url_for(..., _external=True,
  _scheme="http")``, the classic "PUBLIC_URL_SCHEME=http" misconfiguration);
  the storage client is configured with a plain-HTTP DynamoDB endpoint and
  ``/api/status`` reports it; the demo SSO callback redirects to
  ``/app?access_token=<token>`` (implicit-flow style token in the URL).
* ``fixed``      - ``Strict-Transport-Security: max-age=63072000;
  includeSubDomains`` on every response; cookies carry ``Secure; HttpOnly;
  SameSite=Lax``; links are built as ``https``; the storage endpoint is
  ``https://``; the callback redirects to ``/app`` and hands the token over
  in a ``Secure; HttpOnly; SameSite=Lax`` cookie.

See README.md next to this file for the case matrix.

No DynamoDB is used: the storage configuration is only reported, never
contacted, so the app needs neither moto nor network access.

Environment:
    TWIN                  vulnerable | fixed                    (required)
    PORT                  TCP port, bound on 127.0.0.1          (required)
    TLS_CERT              PEM file: leaf certificate followed by its
                          issuing CA (the chain the server sends) (required)
    TLS_KEY               PEM file: the leaf's private key        (required)
    PLANTED_ACCESS_TOKEN  value of the access token the vulnerable callback
                          puts in the redirect URL (default: a fresh random
                          token per request); the test sets it so it can
                          check the report does not repeat it

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import os
import secrets
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from flask import jsonify, redirect, request, url_for  # noqa: E402

from common.twin import twin_and_port  # noqa: E402
from common.web import create_app, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
TLS_CERT = os.environ.get("TLS_CERT", "")
TLS_KEY = os.environ.get("TLS_KEY", "")
if not (TLS_CERT and os.path.isfile(TLS_CERT) and TLS_KEY and os.path.isfile(TLS_KEY)):
    sys.exit(f"TLS_CERT and TLS_KEY must name PEM files, got {TLS_CERT!r} and {TLS_KEY!r}")

# The mistakes, as configuration values.
LINK_SCHEME = "http" if VULNERABLE else "https"
DYNAMODB_ENDPOINT = (
    "http://dynamodb.us-east-1.amazonaws.com"
    if VULNERABLE
    else "https://dynamodb.us-east-1.amazonaws.com"
)
HSTS = "max-age=63072000; includeSubDomains"

ORDERS = [
    {"order_id": f"ord-{n:04d}", "item": item, "quantity": qty}
    for n, (item, qty) in enumerate(
        [("widget", 2), ("gadget", 1), ("sprocket", 5), ("flange", 3), ("gizmo", 1)], start=1
    )
]
PAGE_SIZE = 2

app = create_app(__name__, TWIN)


@app.after_request
def transport_headers(resp):
    if not VULNERABLE:
        resp.headers["Strict-Transport-Security"] = HSTS
    return resp


def set_session_cookie(resp, name: str, value: str) -> None:
    if VULNERABLE:
        # "The SPA reads the token from document.cookie": HttpOnly turned
        # off, and neither Secure nor SameSite set (werkzeug's defaults).
        resp.set_cookie(name, value, path="/", httponly=False)
    else:
        resp.set_cookie(name, value, path="/", secure=True, httponly=True, samesite="Lax")


def external(endpoint: str, **values) -> str:
    """An absolute link, built with the configured scheme."""
    return url_for(endpoint, _external=True, _scheme=LINK_SCHEME, **values)


# --------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------
@app.get("/")
@app.get("/api")
def index():
    # Relative hrefs: what Rampart's crawler follows (an http:// link on an
    # https target is out of its scope).
    return jsonify(
        {
            "service": "transport-target",
            "twin": TWIN,
            "_links": {
                "self": {"href": "/api"},
                "health": {"href": "/api/health"},
                "session": {"href": "/api/session"},
                "orders": {"href": "/api/orders"},
                "status": {"href": "/api/status"},
                "sso_callback": {"href": "/api/oauth/callback"},
                "legacy_orders": {"href": "/api/v1/orders"},
            },
        }
    )


@app.get("/api/session")
def session():
    """Starts a guest session (a fresh opaque session id in a cookie)."""
    resp = jsonify({"session": "started", "user": "guest"})
    set_session_cookie(resp, "session", secrets.token_urlsafe(24))
    return resp


@app.get("/api/orders")
def orders():
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    start = (page - 1) * PAGE_SIZE
    items = ORDERS[start : start + PAGE_SIZE]
    links = {"self": external("orders", page=page)}
    if start + PAGE_SIZE < len(ORDERS):
        links["next"] = external("orders", page=page + 1)
    if page > 1:
        links["prev"] = external("orders", page=page - 1)
    return jsonify({"items": items, "page": page, "links": links})


@app.get("/api/status")
def status():
    return jsonify(
        {
            "status": "ok",
            "storage": {
                "engine": "dynamodb",
                "region": "us-east-1",
                "table": "transport-orders",
                "table_endpoint": DYNAMODB_ENDPOINT,
            },
        }
    )


@app.get("/api/oauth/callback")
def oauth_callback():
    """Demo SSO: completes the login (any or no ``code``) and sends the
    browser to the app with its access token."""
    token = os.environ.get("PLANTED_ACCESS_TOKEN") or secrets.token_urlsafe(24)
    if VULNERABLE:
        return redirect(f"/app?access_token={token}&token_type=bearer", code=302)
    resp = redirect("/app", code=302)
    set_session_cookie(resp, "app_session", token)
    return resp


@app.get("/api/v1/orders")
def legacy_orders():
    """The old route moved; the vulnerable twin's redirect is built with the
    configured link scheme, i.e. http:// (a downgrade)."""
    return redirect(external("orders"), code=301)


@app.get("/app")
def single_page_app():
    return jsonify({"app": "orders", "signed_in": True})


def tls_context() -> ssl.SSLContext:
    # What werkzeug's ``ssl_context=(cert, key)`` builds, spelled out:
    # PROTOCOL_TLS_SERVER with Python's defaults (TLS 1.2+, AEAD-first ciphers).
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS_CERT, TLS_KEY)
    return ctx


if __name__ == "__main__":
    serve(app, PORT, f"transport target twin={TWIN} port={PORT} (https)", ssl_context=tls_context())
