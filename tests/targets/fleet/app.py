"""Rampart test target: a fleet of small APIs in one process (fleet
scanning, ``rampart scan --targets``).

Each port in ``PORTS`` serves an API of its own: its own Flask app, its own
request counters (``GET /__test__/methods``), its own OpenAPI document at
``/openapi.json``. One process keeps twenty APIs cheap to start on a small
machine; to a scanner they are twenty servers.

What each API leaks is chosen by its entry in ``KINDS`` (one per port), so
the fleet has APIs of several grades:

* ``clean``   - nothing to find (keys and card numbers masked);
* ``secrets`` - ``/api/config`` answers a cloud access key and its secret;
* ``pii``     - ``/api/customers`` answers Social Security and card numbers;
* ``debug``   - ``/api/report`` answers a Python traceback with its error;
* ``mixed``   - ``secrets`` and ``pii`` together.

Environment:
    PORTS   comma-separated TCP ports, bound on 127.0.0.1   (required)
    KINDS   comma-separated kinds, one per port             (required)
    DELAY   seconds each API answer waits (default 0): a slower fleet, so
            a test can stop a shard in the middle of it

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from werkzeug.serving import make_server  # noqa: E402

from common import watchdog  # noqa: E402
from common.openapi import ERROR_SCHEMA, err  # noqa: E402
from common.testing import instrument  # noqa: E402
from common.web import create_app, respond  # noqa: E402

KINDS = ("clean", "secrets", "pii", "debug", "mixed")

# Planted values (also in tests/fleet.rs, which looks for their findings).
PLANTED_AWS_KEY_ID = "AKIAMWUEHVO2UEFYUFTV"
PLANTED_AWS_SECRET = "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"
PLANTED_SSNS = ("536-22-4187", "219-09-9999", "457-55-5462")
PLANTED_CARD = "4539148803436467"

CUSTOMERS = [
    {"id": 1, "name": "Ada Park", "email": "ada@customers.example", "ssn": PLANTED_SSNS[0]},
    {"id": 2, "name": "Ben Ruiz", "email": "ben@customers.example", "ssn": PLANTED_SSNS[1]},
    {"id": 3, "name": "Cleo Ng", "email": "cleo@customers.example", "ssn": PLANTED_SSNS[2]},
]
PRODUCTS = [
    {"id": 1, "name": "kettle", "price": 39.5},
    {"id": 2, "name": "teapot", "price": 24.0},
    {"id": 3, "name": "strainer", "price": 6.25},
]
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/reports/app.py", line 88, in build_report\n'
    "    total = row['amount'] - row['refund']\n"
    "TypeError: unsupported operand type(s) for -: 'str' and 'int'\n"
)


def openapi_document(name: str) -> dict:
    def get(op_id: str, summary: str) -> dict:
        return {"get": {"operationId": op_id, "summary": summary, "responses": {
            "200": {"description": "OK",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            "404": err("not found")}}}

    item = get("getProduct", "One product")
    item["get"]["parameters"] = [{"name": "product_id", "in": "path", "required": True,
                                  "schema": {"type": "integer"}, "example": 1}]
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{name} API", "version": "1.0.0"},
        "servers": [{"url": "/"}],
        "paths": {
            "/api/products": get("listProducts", "The catalogue"),
            "/api/products/{product_id}": item,
            "/api/customers": get("listCustomers", "Customers"),
            "/api/config": get("getConfig", "Service configuration"),
            "/api/report": get("getReport", "The monthly report"),
        },
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }


def make_api(index: int, kind: str, delay: float):
    name = f"fleet-{index}"
    app = create_app(name, "vulnerable" if kind != "clean" else "fixed")
    counters = instrument(app, kind)
    leaks_secrets = kind in ("secrets", "mixed")
    leaks_pii = kind in ("pii", "mixed")

    @app.before_request
    def slow_down():
        if delay > 0:
            time.sleep(delay)

    @app.get("/openapi.json")
    def openapi():
        return respond(openapi_document(name))

    @app.get("/api/products")
    def list_products():
        return respond({"products": PRODUCTS, "api": name})

    @app.get("/api/products/<int:product_id>")
    def get_product(product_id: int):
        for product in PRODUCTS:
            if product["id"] == product_id:
                return respond({"product": product})
        return respond({"error": "not found", "status": 404}, 404)

    @app.get("/api/customers")
    def list_customers():
        rows = []
        for c in CUSTOMERS:
            row = {"id": c["id"], "name": c["name"]}
            if leaks_pii:
                row.update(email=c["email"], ssn=c["ssn"], card_number=PLANTED_CARD)
            else:
                row.update(ssn_last4=c["ssn"][-4:], card_last4=PLANTED_CARD[-4:])
            rows.append(row)
        return respond({"customers": rows})

    @app.get("/api/config")
    def get_config():
        return respond({"config": {
            "service": name,
            "region": "eu-west-1",
            "aws_access_key_id": PLANTED_AWS_KEY_ID if leaks_secrets else "[configured]",
            "aws_secret_access_key": PLANTED_AWS_SECRET if leaks_secrets else "[configured]",
        }})

    @app.get("/api/report")
    def get_report():
        if kind == "debug":
            return respond({"error": "TypeError", "traceback": TRACEBACK}, 500)
        return respond({"month": "2026-11", "orders": 412, "refunds": 3})

    return app, counters


def main() -> None:
    ports = [int(p) for p in os.environ.get("PORTS", "").split(",") if p.strip()]
    kinds = [k.strip() for k in os.environ.get("KINDS", "").split(",") if k.strip()]
    if not ports or len(ports) != len(kinds):
        sys.exit("PORTS and KINDS must name as many ports as kinds")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        sys.exit(f"unknown kinds {unknown}; known: {KINDS}")
    delay = float(os.environ.get("DELAY", "0") or 0)
    watchdog.start()
    servers = []
    for index, (port, kind) in enumerate(zip(ports, kinds)):
        app, _ = make_api(index, kind, delay)
        servers.append(make_server("127.0.0.1", port, app, threaded=True))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"fleet: {len(servers)} APIs on 127.0.0.1 ports {ports}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
