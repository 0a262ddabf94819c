"""Rampart test target: web-cache poisoning / web-cache deception family.

One Flask app, two twins selected by ``TWIN``:

* ``TWIN=vulnerable`` plants the origin-side half of every cache bug:
  authenticated responses marked publicly cacheable without ``Vary``,
  ``X-Forwarded-Host``/``-Proto``/``-Scheme`` reflected into absolute URLs,
  lenient path matching (``/api/account/x.css``, ``/api/account;.js``,
  ``/api/account%2f.png`` all return the private account), a
  method-override header and a small header-size limit that turn a
  cacheable GET into an (uncache-marked) error, ``utm_content``/``callback``
  reflection with ``;`` accepted as a query separator (parameter cloaking),
  a JSON body honoured on GET (fat GET), and a Flask-Caching view keyed
  without the caller's identity.
* ``TWIN=fixed`` does the safe thing everywhere: ``Cache-Control: private,
  no-store`` + ``Vary: X-API-Key, Authorization`` on authenticated
  responses, forwarded headers ignored, strict routes (404 for the
  deception paths), no method override on GET, ``no-store`` on every error,
  no utm reflection, ``&``-only query parsing, GET bodies ignored, and the
  app-level cache keyed on the caller's identity.

The shared caches (Varnish, nginx) that sit in front of this app are
configured by the sibling ``varnish-*.vcl`` / ``nginx-*.conf.template``
files; see README.md in this directory for the case matrix.

Environment:
    TWIN               vulnerable | fixed          (default vulnerable)
    PORT               TCP port, bound on 127.0.0.1 (default 5000)
    DYNAMODB_ENDPOINT  http://127.0.0.1:<moto port> (required)
    TABLE_PREFIX       DynamoDB table prefix        (default "cache")

Data lives in DynamoDB (moto_server): tables ``<prefix>-users`` and
``<prefix>-credentials``, seeded idempotently at startup.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import unquote_plus

from flask import Flask, Response, g, request
from flask_caching import Cache
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import dynamo  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import health, respond as json_response, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port(default_twin="vulnerable", default_port=5000)
TABLE_PREFIX = os.environ.get("TABLE_PREFIX", "cache")

# ---------------------------------------------------------------------------
# Seed data (fixed values so the Rust tests can use them).
# ---------------------------------------------------------------------------
USERS = [
    {
        "id": "u-alice",
        "name": "Alice Example",
        "email": "alice@example.test",
        "balance": 1337.42,
        "account_id": "acc-alice-0001",
        "iban": "DE89370400440532013000",
        "api_key": "ak_alice_3f9c2e71b8d4",
        "bearer": "tok_alice_5b1e8a9d2c7f",
    },
    {
        "id": "u-bob",
        "name": "Bob Example",
        "email": "bob@example.test",
        "balance": 42.0,
        "account_id": "acc-bob-0002",
        "iban": "GB29NWBK60161331926819",
        "api_key": "ak_bob_8e2d4c6a1f93",
        "bearer": "tok_bob_1c7a9e3b5d20",
    },
]

CATALOG = [
    {"sku": "SKU-100", "name": "Widget", "price": 9.99},
    {"sku": "SKU-200", "name": "Gadget", "price": 24.5},
    {"sku": "SKU-300", "name": "Doohickey", "price": 3.75},
]

USERS_TABLE = dynamo.table_name("users", prefix=TABLE_PREFIX)
CREDS_TABLE = dynamo.table_name("credentials", prefix=TABLE_PREFIX)


def seed():
    dynamo.wait_until_ready(timeout=30)
    users = dynamo.ensure_table(
        USERS_TABLE,
        hash_key="id",
        items=[{k: v for k, v in u.items() if k not in ("api_key", "bearer")} for u in USERS],
    )
    creds = []
    for u in USERS:
        creds.append({"credential": "apikey:" + u["api_key"], "user_id": u["id"]})
        creds.append({"credential": "bearer:" + u["bearer"], "user_id": u["id"]})
    creds_table = dynamo.ensure_table(CREDS_TABLE, hash_key="credential", items=creds)
    return users, creds_table


# ---------------------------------------------------------------------------
# App + WSGI middleware (the vulnerable twin's lenient front door).
# ---------------------------------------------------------------------------
app = Flask(__name__)
app.json.sort_keys = False
cache = Cache(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 60})

MAX_HEADER_VALUE = 2048  # origin limit, far below Varnish's/nginx's 8 KiB


class LenientFrontDoor:
    """Vulnerable twin only.

    * ``X-HTTP-Method-Override`` / ``X-HTTP-Method`` / ``X-Method-Override``
      honoured on *any* method, GET included (the classic mistake: the
      override should only ever apply to POST).
    * Matrix-parameter stripping: ``/api/account;.js`` is routed as
      ``/api/account`` (Spring/Tomcat-style path normalisation).
    """

    OVERRIDE_KEYS = ("HTTP_X_HTTP_METHOD_OVERRIDE", "HTTP_X_HTTP_METHOD", "HTTP_X_METHOD_OVERRIDE")

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        for key in self.OVERRIDE_KEYS:
            value = environ.get(key)
            if value:
                environ["rampart.original_method"] = environ.get("REQUEST_METHOD")
                environ["REQUEST_METHOD"] = value.strip().upper()
                break
        path = environ.get("PATH_INFO", "")
        if ";" in path:
            environ["PATH_INFO"] = path.split(";", 1)[0]
        return self.wsgi_app(environ, start_response)


class StrictFrontDoor:
    """Fixed twin: method override only for POST, nothing else."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        value = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE")
        if value and environ.get("REQUEST_METHOD") == "POST":
            if value.strip().upper() in ("PUT", "PATCH", "DELETE"):
                environ["REQUEST_METHOD"] = value.strip().upper()
        return self.wsgi_app(environ, start_response)


if VULNERABLE:
    # Trust X-Forwarded-Host / X-Forwarded-Proto from anyone (no proxy strips
    # them), and the lenient front door on the outside.
    app.wsgi_app = LenientFrontDoor(ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1))
else:
    app.wsgi_app = StrictFrontDoor(app.wsgi_app)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def current_credential():
    """(kind, value) from X-API-Key or Authorization: Bearer, else None."""
    key = request.headers.get("X-API-Key", "").strip()
    if key:
        return "apikey", key
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
        if token:
            return "bearer", token
    return None


def current_user():
    """The caller's user item, or None. Cached on ``g`` per request."""
    if "rampart_user" in g:
        return g.rampart_user
    user = None
    cred = current_credential()
    if cred is not None:
        kind, value = cred
        row = dynamo.get_item(CREDS_TABLE_OBJ, {"credential": f"{kind}:{value}"})
        if row:
            user = dynamo.get_item(USERS_TABLE_OBJ, {"id": row["user_id"]})
    g.rampart_user = user
    return user


def unauthorized():
    return json_response(
        {"error": "unauthorized", "detail": "send X-API-Key or Authorization: Bearer"},
        401,
        {"WWW-Authenticate": 'Bearer realm="rampart-cache"'},
    )


def private_headers():
    """Headers for authenticated responses."""
    if VULNERABLE:
        # Mistake: explicitly shared-cacheable, no Vary on the credential.
        return {"Cache-Control": "max-age=60"}
    return {"Cache-Control": "private, no-store", "Vary": "X-API-Key, Authorization"}


PUBLIC_CACHE = {"Cache-Control": "public, max-age=60"}


def account_view(user):
    return {
        "id": user["id"],
        "account_id": user["account_id"],
        "name": user["name"],
        "email": user["email"],
        "balance": user["balance"],
    }


def query_params():
    """Query parameters as a dict (last value wins).

    Vulnerable twin: ``;`` is accepted as a separator as well as ``&`` (old
    Python < 3.9.2 / Rails / Bottle behaviour) -> parameter cloaking against
    a cache that splits only on ``&``.
    """
    raw = request.query_string.decode("latin-1")
    parts = re.split(r"[&;]", raw) if VULNERABLE else raw.split("&")
    out = {}
    for part in parts:
        if not part:
            continue
        name, _, value = part.partition("=")
        out[unquote_plus(name)] = unquote_plus(value)
    return out


# ---------------------------------------------------------------------------
# Request hooks
# ---------------------------------------------------------------------------
@app.before_request
def header_size_limit():
    for name, value in request.headers.items():
        if len(value) > MAX_HEADER_VALUE:
            if VULNERABLE:
                # HHO: the origin refuses a header the cache happily forwards;
                # the 400 carries no Cache-Control so the cache's default TTL applies.
                return json_response(
                    {"error": "bad request", "detail": f"header {name} too large"}, 400
                )
            return json_response(
                {"error": "request header fields too large", "header": name},
                431,
                {"Cache-Control": "no-store"},
            )
    return None


@app.after_request
def mark(resp):
    resp.headers["X-Rampart-Twin"] = TWIN
    if "flask_caching_hit_cache" in g:
        resp.headers["X-App-Cache"] = "HIT" if g.flask_caching_hit_cache else "MISS"
    if not VULNERABLE and resp.status_code >= 400:
        resp.headers["Cache-Control"] = "no-store"
    return resp


@app.errorhandler(HTTPException)
def http_error(exc):
    resp = json_response({"error": exc.name, "status": exc.code}, exc.code or 500)
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp


# ---------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------
health(app, TWIN, {"Cache-Control": "no-store"})


@app.get("/api/account")
def account():
    user = current_user()
    if user is None:
        return unauthorized()
    return json_response(account_view(user), 200, private_headers())


if VULNERABLE:
    # Cache deception: any suffix after /api/account still returns the
    # private account (/api/account/x.css, /api/account%2f.png, which the
    # dev server decodes to /api/account/.png). /api/account;.js reaches the
    # plain route through LenientFrontDoor's ';' stripping.
    @app.get("/api/account/<path:suffix>")
    def account_suffix(suffix):  # noqa: ARG001 - suffix deliberately ignored
        return account()


@app.get("/api/wallet")
def wallet():
    """Origin gets the headers (almost) right in both twins: ``private`` and
    ``Vary``.  Only a shared cache that ignores them leaks it."""
    user = current_user()
    if user is None:
        return unauthorized()
    headers = (
        {"Cache-Control": "private, max-age=60", "Vary": "X-API-Key, Authorization"}
        if VULNERABLE
        else private_headers()
    )
    return json_response(
        {"owner": user["id"], "iban": user["iban"], "balance": user["balance"]}, 200, headers
    )


@app.get("/api/links")
def links():
    """Public; absolute URLs built from the request's idea of scheme + host.

    Vulnerable: ProxyFix trusts X-Forwarded-Host / X-Forwarded-Proto and the
    view also honours X-Forwarded-Scheme, so the links can be poisoned.
    Fixed: the Host header only (which every cache keys on).
    """
    if VULNERABLE:
        scheme = request.headers.get("X-Forwarded-Scheme", "").strip() or request.scheme
        host = request.host
    else:
        scheme = request.environ.get("wsgi.url_scheme", "http")
        host = request.environ.get("HTTP_HOST") or f"127.0.0.1:{PORT}"
    base = f"{scheme}://{host}"
    return json_response(
        {
            "self": f"{base}/api/links",
            "account": f"{base}/api/account",
            "catalog": f"{base}/api/catalog",
            "script": f"{base}/static/app.js",
        },
        200,
        PUBLIC_CACHE,
    )


@app.get("/api/catalog")
def catalog():
    """Public and cacheable: the CPDoS victim (see LenientFrontDoor and
    header_size_limit for the two ways to make the vulnerable origin fail)."""
    return json_response({"items": CATALOG}, 200, PUBLIC_CACHE)


@app.get("/api/promo")
def promo():
    """Public and cacheable. Vulnerable: reflects ``utm_content`` (which the
    vulnerable caches strip from the key) and honours JSONP ``callback``
    with ``;`` as an extra query separator (cloaking)."""
    params = query_params()
    body = {"campaign": "spring-sale", "banner": "Spring sale: 20% off"}
    if VULNERABLE:
        if "utm_content" in params:
            body["banner"] = f"Spring sale: 20% off ({params['utm_content']})"
        callback = params.get("callback")
        if callback:
            js = f"{callback}({app.json.dumps(body)});"
            return Response(js, 200, {**PUBLIC_CACHE, "Content-Type": "application/javascript"})
        return json_response(body, 200, PUBLIC_CACHE)
    callback = params.get("callback")
    if callback:
        if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$.]{0,63}", callback):
            return json_response({"error": "invalid callback"}, 400)
        js = f"/**/{callback}({app.json.dumps(body)});"
        return Response(js, 200, {**PUBLIC_CACHE, "Content-Type": "application/javascript"})
    return json_response(body, 200, PUBLIC_CACHE)


@app.get("/api/search")
def search():
    """Public and cacheable. Vulnerable: a JSON body ``{"q": ...}`` on GET
    overrides the ``q`` query parameter (fat GET)."""
    q = request.args.get("q", "")
    if VULNERABLE and request.content_length:
        body = request.get_json(silent=True, force=True)
        if isinstance(body, dict) and "q" in body:
            q = str(body["q"])
    hits = [i for i in CATALOG if q.lower() in i["name"].lower()] if q else []
    return json_response({"q": q, "results": hits}, 200, PUBLIC_CACHE)


def _only_200(resp):
    return getattr(resp, "status_code", 200) == 200


def _identity_cache_key():
    user = current_user()
    who = user["id"] if user else "anonymous"
    qs = request.query_string.decode("latin-1")
    return f"app-cached/{who}/{request.path}?{qs}"


if VULNERABLE:
    # Application-level cache: the key is path + query string only, the
    # caller's identity is not part of it and the auth check runs *inside*
    # the cached function (auth after lookup).
    @app.get("/api/app-cached/me")
    @cache.cached(
        timeout=60, query_string=True, response_filter=_only_200, response_hit_indication=True
    )
    def app_cached_me():
        user = current_user()
        if user is None:
            return unauthorized()
        return json_response(account_view(user), 200, {"Cache-Control": "max-age=60"})

else:

    @app.get("/api/app-cached/me")
    def app_cached_me():
        # Authenticate first, then use a per-identity key.
        if current_user() is None:
            return unauthorized()
        return _app_cached_me_inner()

    @cache.cached(
        timeout=60,
        make_cache_key=lambda *a, **k: _identity_cache_key(),
        response_filter=_only_200,
        response_hit_indication=True,
    )
    def _app_cached_me_inner():
        return json_response(account_view(current_user()), 200, private_headers())


# ---------------------------------------------------------------------------
# OpenAPI
# ---------------------------------------------------------------------------
def _op(summary, secured=False, params=None, tags=("cache",)):
    op = {
        "summary": summary,
        "tags": list(tags),
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
    if secured:
        op["security"] = [{"ApiKeyAuth": []}, {"BearerAuth": []}]
        op["responses"]["401"] = {"description": "Missing or invalid credential"}
    if params:
        op["parameters"] = params
    return {"get": op}


def _qparam(name, description):
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
            "description": description}


OPENAPI = {
    "openapi": "3.0.3",
    "info": {
        "title": "Rampart cache target",
        "version": "1.0.0",
        "description": "Web-cache poisoning / deception target (twin selected by TWIN).",
    },
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "BearerAuth": {"type": "http", "scheme": "bearer"},
        }
    },
    "paths": {
        "/api/health": _op("Liveness probe"),
        "/api/account": _op("The caller's account (name, email, balance)", secured=True),
        "/api/wallet": _op("The caller's wallet (IBAN, balance)", secured=True),
        "/api/app-cached/me": _op("The caller's account via the application cache", secured=True),
        "/api/links": _op("Absolute links for clients"),
        "/api/catalog": _op("Public product catalog"),
        "/api/promo": _op(
            "Current promotion banner",
            params=[
                _qparam("utm_content", "Campaign tracking parameter"),
                _qparam("callback", "JSONP callback name"),
            ],
        ),
        "/api/search": _op("Search the catalog", params=[_qparam("q", "Search term")]),
    },
}


@app.get("/openapi.json")
def openapi():
    return json_response(OPENAPI, 200, {"Cache-Control": "no-store"})


USERS_TABLE_OBJ, CREDS_TABLE_OBJ = seed()

if __name__ == "__main__":
    serve(app, PORT, f"cache target twin={TWIN} port={PORT} tables={TABLE_PREFIX}-*")
