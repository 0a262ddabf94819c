"""Rampart test target: reach (the endpoints a spec forgot, and the
configuration around them), a Flask delivery-shop API.

The OpenAPI document (``/openapi.json``) lists twenty operations (the vulnerable twin one more) under
``/api/v2`` (orders, the caller's profile, a catalogue of help pages) and
``/api/health``. Both twins serve all of them; the orders need an
``X-API-Key`` and are scoped to their owner.

Twins (env ``TWIN``):

* ``vulnerable`` - what the spec does not say:
  - ``GET /debug``: the process environment, with a database URL that
    carries its password and AWS keys;
  - ``GET /internal/deliveries``: every delivery with the customer's email
    and address, without authentication (meant for the courier service);
  - ``GET /api/v1/orders/<id>``: the old API version, still answering any
    order to anyone;
  - ``DELETE /api/v2/orders/<id>``: undocumented (``OPTIONS`` names it),
    and it deletes the caller's order;
  - ``GET /api/v2/orders?owner_id=``: an undocumented parameter that lists
    anyone's orders;
  - the spec documents ``GET /api/v2/reports/legacy``, which is not routed;
  - CORS reflects any ``Origin`` with credentials, and pre-flights allow
    every method and header;
  - ``Server: Werkzeug/… Python/…`` and ``X-Powered-By: Flask/3``;
  - ``TRACE`` echoes the request; an unknown route answers with the list
    of the application's routes; no ``X-Content-Type-Options``.
* ``fixed`` - none of the routes above; CORS allows one exact origin
  (``https://app.reach.example``); no ``Server`` or ``X-Powered-By``;
  ``TRACE`` refused; a short generic 404; ``nosniff`` on every answer.

Both twins create orders with ``POST /api/v2/orders`` (``{"item": …}``).

Test-only routes: ``common/testing.py``'s (its reset restores the seed
orders), ``GET /__test__/orders`` (the order ids), plus ``GET /__test__/requests``
(requests per ``METHOD path ?query names !X- header names`` since the last
reset, 404s included).

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from flask import request  # noqa: E402
from werkzeug.serving import WSGIRequestHandler  # noqa: E402

from common import openapi, testing  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import create_app, error, respond, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()

USERS = {
    "ak_alice_reach_41d2": {"id": "u-alice", "username": "alice", "email": "alice@reach-shop.example"},
    "ak_bob_reach_8c3e": {"id": "u-bob", "username": "bob", "email": "bob@reach-shop.example"},
}
ORDERS = {
    1: {"id": 1, "owner": "u-alice", "email": "alice@reach-shop.example",
        "item": "espresso machine", "address": "12 Harbour Road, Portsmouth"},
    2: {"id": 2, "owner": "u-alice", "email": "alice@reach-shop.example",
        "item": "coffee grinder", "address": "12 Harbour Road, Portsmouth"},
    3: {"id": 3, "owner": "u-bob", "email": "bob@reach-shop.example",
        "item": "kettle", "address": "4 Mill Lane, York"},
}
PAGES = [f"page-{n}" for n in range(1, 16)]
TRUSTED_ORIGIN = "https://app.reach.example"

app = create_app(__name__, TWIN)
counters = testing.instrument(app, TWIN, reset=lambda: reset())

# Requests per "METHOD path", for the tests that count what discovery sent.
_paths_lock = threading.Lock()
_paths: dict = {}


def _count_paths(wsgi_app):
    def counted(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/__test__") and path.rstrip("/") != "/api/health":
            query = sorted({pair.split("=", 1)[0] for pair in environ.get("QUERY_STRING", "").split("&")
                            if pair and not pair.startswith("rampart_cb=")})
            headers = sorted(k[5:].replace("_", "-").lower() for k in environ
                             if k.startswith(("HTTP_X_", "HTTP_RAMPART")) or k == "HTTP_ACCEPT_VERSION")
            key = f"{environ.get('REQUEST_METHOD', '?')} {path} ?{','.join(query)} !{','.join(headers)}"
            with _paths_lock:
                _paths[key] = _paths.get(key, 0) + 1
        return wsgi_app(environ, start_response)

    return counted


app.wsgi_app = _count_paths(app.wsgi_app)


@app.get("/__test__/requests")
def test_requests():
    with _paths_lock:
        return respond(dict(_paths))


@app.post("/__test__/reset-paths")
def test_reset_paths():
    with _paths_lock:
        _paths.clear()
    counters.reset()
    return respond({"status": "reset"})


def caller():
    return USERS.get(request.headers.get("X-API-Key", ""))


# ---- the documented API (both twins) ----------------------------------------

@app.get("/api/v2/me")
def me():
    user = caller()
    if user is None:
        return error(401, "authentication required")
    return respond(user)


@app.get("/api/v2/orders")
def my_orders():
    user = caller()
    if user is None:
        return error(401, "authentication required")
    owner = user["id"]
    if VULNERABLE:
        # A support-tool leftover the spec never mentions: whose orders.
        owner = request.args.get("owner_id") or owner
    return respond([o for o in ORDERS.values() if o["owner"] == owner])


@app.get("/api/v2/orders/<int:order_id>")
def order(order_id: int):
    user = caller()
    if user is None:
        return error(401, "authentication required")
    found = ORDERS.get(order_id)
    if found is None or found["owner"] != user["id"]:
        return error(404, "no such order")
    return respond(found)


_orders_lock = threading.Lock()
SEED = {k: dict(v) for k, v in ORDERS.items()}


@app.post("/api/v2/orders")
def place_order():
    user = caller()
    if user is None:
        return error(401, "authentication required")
    body = request.get_json(silent=True) or {}
    item = body.get("item")
    if not isinstance(item, str) or not item:
        return error(400, "item required")
    with _orders_lock:
        new_id = max(ORDERS) + 1
        ORDERS[new_id] = {"id": new_id, "owner": user["id"], "email": user["email"],
                          "item": item[:80], "address": "on file"}
        return respond(ORDERS[new_id], 201)


@app.get("/__test__/orders")
def test_orders():
    with _orders_lock:
        return respond(sorted(ORDERS))


def reset():
    with _orders_lock:
        ORDERS.clear()
        ORDERS.update({k: dict(v) for k, v in SEED.items()})


def _page(name: str):
    def handler():
        return respond({"page": name, "text": f"Help about {name.replace('-', ' ')}."})

    handler.__name__ = f"help_{name.replace('-', '_')}"
    return handler


for _name in PAGES:
    app.add_url_rule(f"/api/v2/help/{_name}", view_func=_page(_name), methods=["GET"])


# ---- what the vulnerable twin does not document -----------------------------

if VULNERABLE:

    @app.get("/debug")
    def debug_dump():
        return respond({
            "env": {
                "FLASK_ENV": "production",
                "DATABASE_URL": "postgresql://shop:Sh0p-db-Passw0rd-91@db.internal:5432/shop",
                "AWS_ACCESS_KEY_ID": "AKIAZ3REACHDEBUG7Q2X",
                "AWS_SECRET_ACCESS_KEY": "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",
            },
            "python": sys.version.split()[0],
        })

    @app.get("/internal/deliveries")
    def deliveries():
        return respond([
            {"order": o["id"], "customer": o["owner"], "email": o["email"], "address": o["address"]}
            for o in ORDERS.values()
        ])

    @app.get("/api/v1/orders/<int:order_id>")
    def order_v1(order_id: int):
        found = ORDERS.get(order_id)
        if found is None:
            return error(404, "no such order")
        return respond(found)

    @app.delete("/api/v2/orders/<int:order_id>")
    def cancel_order(order_id: int):
        user = caller()
        if user is None:
            return error(401, "authentication required")
        with _orders_lock:
            found = ORDERS.get(order_id)
            if found is None or found["owner"] != user["id"]:
                return error(404, "no such order")
            del ORDERS[order_id]
        return "", 204

    @app.before_request
    def trace():
        if request.method == "TRACE":
            lines = [f"TRACE {request.full_path} HTTP/1.1"]
            lines += [f"{k}: {v}" for k, v in request.headers.items()]
            return app.response_class("\r\n".join(lines), 200, mimetype="message/http")
        return None

    @app.errorhandler(404)
    def not_found(_exc):
        routes = sorted(str(rule) for rule in app.url_map.iter_rules())
        return respond({"error": "not found", "available_routes": routes}, 404)


@app.after_request
def configuration(resp):
    origin = request.headers.get("Origin")
    if VULNERABLE:
        resp.headers["X-Powered-By"] = "Flask/3"
        if origin:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Credentials"] = "true"
            if request.method == "OPTIONS":
                resp.headers["Access-Control-Allow-Methods"] = (
                    request.headers.get("Access-Control-Request-Method") or "GET")
                resp.headers["Access-Control-Allow-Headers"] = (
                    request.headers.get("Access-Control-Request-Headers") or "*")
    else:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        if origin == TRUSTED_ORIGIN:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Credentials"] = "true"
            resp.headers["Vary"] = "Origin"
    return resp


class QuietHandler(WSGIRequestHandler):
    """The fixed twin names no server software."""

    def send_header(self, keyword, value):
        if keyword.lower() != "server":
            super().send_header(keyword, value)


# ---- the OpenAPI document --------------------------------------------------

def _operations() -> dict:
    key = [{"apiKey": []}]
    order_param = {"name": "order_id", "in": "path", "required": True,
                   "schema": {"type": "integer"}, "example": 1}
    paths = {
        "/api/health": {"get": {"operationId": "health", "security": [],
                                "responses": {"200": {"description": "OK"}}}},
        "/api/v2/me": {"get": {"operationId": "getMe", "security": key,
                               "responses": openapi.ok("User")}},
        "/api/v2/orders": {
            "get": {"operationId": "listOrders", "security": key,
                    "responses": {"200": {"description": "The caller's orders"}}},
            "post": {"operationId": "placeOrder", "security": key,
                     "requestBody": {"content": {"application/json": {"schema": {
                         "type": "object", "properties": {"item": {"type": "string"}}},
                         "example": {"item": "kettle"}}}},
                     "responses": {"201": {"description": "Placed"}}},
        },
        "/api/v2/orders/{order_id}": {"get": {"operationId": "getOrder", "security": key,
                                              "parameters": [order_param],
                                              "responses": {"200": {"description": "One order"},
                                                            "404": openapi.err("No such order")}}},
    }
    for name in PAGES:
        paths[f"/api/v2/help/{name}"] = {"get": {"operationId": f"help_{name.replace('-', '_')}",
                                                 "security": [],
                                                 "responses": {"200": {"description": "A help page"}}}}
    if VULNERABLE:
        # Documented, never routed: zombie documentation.
        paths["/api/v2/reports/legacy"] = {"get": {"operationId": "legacyReport", "security": key,
                                                   "responses": {"200": {"description": "A report"}}}}
    return paths


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Reach delivery shop", "version": "2.0.0"},
    "components": {
        "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        "schemas": {
            "User": {"type": "object", "properties": {"id": {"type": "string"},
                                                       "username": {"type": "string"},
                                                       "email": {"type": "string"}}},
            "Error": openapi.ERROR_SCHEMA,
        },
    },
    "paths": _operations(),
}


@app.get("/openapi.json")
def spec():
    return respond(SPEC)


if __name__ == "__main__":
    options = {} if VULNERABLE else {"request_handler": QuietHandler}
    serve(app, PORT, f"reach target ({TWIN}) on 127.0.0.1:{PORT}", **options)
