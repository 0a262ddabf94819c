"""Rampart test target: HMAC-signed API requests (checks
``signing.request-replay`` and ``signing.partial-coverage``, which sign their
own requests with the recipe from an identity file).

Clients sign every ``/api/*`` request (except ``/api/health``) with
HMAC-SHA256, hex-encoded, in these headers::

    X-Client-Id   the client (alice: cli-alice-7f3a, bob: cli-bob-c91d)
    X-Timestamp   unix seconds
    X-Nonce       a random string (16-128 characters)
    X-Signature   hex HMAC-SHA256 of the string to sign, with the client's secret

One Flask app, two twins chosen by env ``TWIN``:

* ``vulnerable`` - the string to sign is ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE``:
  the query string is not signed, and ``GET /api/orders?user_id=`` picks whose
  orders come back; the timestamp is signed but never compared with the clock
  (an hour-old or an hour-ahead request is fine); nonces are never remembered
  (the same request works any number of times); every client signs with one
  shared "partner" secret, so a request signed by alice and naming bob's
  ``X-Client-Id`` is bob's request; the signature is compared with ``==``.
* ``fixed`` - the string to sign is
  ``METHOD\\nPATH\\nSORTED_QUERY\\nTIMESTAMP\\nNONCE`` where SORTED_QUERY is the
  raw query string's ``&``-separated parts sorted; per-client secrets (looked
  up from ``X-Client-Id``); ``abs(now - timestamp) <= 300``;
  ``hmac.compare_digest``; each nonce is stored with a conditional DynamoDB
  put (``attribute_not_exists``) after the signature verified, so it is
  accepted once; ``user_id`` must be the caller's own id.

See README.md next to this file for the case matrix and the recipes.

Environment:
    TWIN               vulnerable | fixed            (required)
    PORT               TCP port, bound on 127.0.0.1  (required)
    DYNAMODB_ENDPOINT  http://127.0.0.1:<moto port>  (required)
    TABLE_PREFIX       DynamoDB table-name prefix    (default "hmac-<TWIN>")

Tables ``<prefix>-clients`` (hash ``client_id``), ``<prefix>-users`` (hash
``user_id``), ``<prefix>-orders`` (hash ``user_id``, range ``order_id``) and
``<prefix>-nonces`` (hash ``nonce``; fixed twin only), seeded at startup.

Test-only routes (``common/testing.py``, no signature): ``GET
/__test__/verdicts`` counts how signed requests were judged (ok,
bad-signature, expired, replayed, ...); ``POST /__test__/reset`` forgets the
nonces.

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from flask import g, request  # noqa: E402

from common import dynamo, openapi, testing  # noqa: E402
from common.dynamo import ClientError  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import create_app, error, respond, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
PREFIX = os.environ.get("TABLE_PREFIX", f"hmac-{TWIN}")
tables = dynamo.Tables(PREFIX)


# --------------------------------------------------------------------------
# Seed data (fixed values; the Rust tests use them).
# --------------------------------------------------------------------------
ALICE_ID, BOB_ID = "usr-1001", "usr-1002"
ALICE_CLIENT, BOB_CLIENT = "cli-alice-7f3a", "cli-bob-c91d"
# BUG (vulnerable): one secret shared by every client.
PARTNER_SECRET = "hmac-partner-secret-vuln-8d41a7e2"
CLIENT_SECRETS = {
    ALICE_CLIENT: "hmac-alice-secret-fixed-5e2b9c14",
    BOB_CLIENT: "hmac-bob-secret-fixed-a07f3d66",
}
WINDOW = 300  # fixed twin: seconds either side of the server clock

USERS = [
    {"user_id": ALICE_ID, "username": "alice", "email": "alice@hmac-orders.example"},
    {"user_id": BOB_ID, "username": "bob", "email": "bob@hmac-orders.example"},
]
ORDERS = [
    {"user_id": ALICE_ID, "order_id": "ord-alice-0001", "item": "Espresso beans 1 kg", "total": 24},
    {"user_id": ALICE_ID, "order_id": "ord-alice-0002", "item": "Burr grinder", "total": 129},
    {"user_id": ALICE_ID, "order_id": "ord-alice-0003", "item": "Milk jug", "total": 15},
    {"user_id": BOB_ID, "order_id": "ord-bob-0001", "item": "Green tea 250 g", "total": 18},
    {"user_id": BOB_ID, "order_id": "ord-bob-0002", "item": "Cast-iron teapot", "total": 74},
]


def seed_clients() -> list:
    return [
        {
            "client_id": client,
            "user_id": user,
            # The vulnerable twin ignores this column and uses PARTNER_SECRET.
            "secret": CLIENT_SECRETS[client],
        }
        for client, user in ((ALICE_CLIENT, ALICE_ID), (BOB_CLIENT, BOB_ID))
    ]


def seed() -> None:
    dynamo.wait_until_ready(timeout=20)
    dynamo.ensure_table(tables.name("clients"), hash_key="client_id", items=seed_clients())
    dynamo.ensure_table(tables.name("users"), hash_key="user_id", items=USERS)
    dynamo.ensure_table(tables.name("orders"), hash_key="user_id", range_key="order_id", items=ORDERS)
    if not VULNERABLE:
        dynamo.ensure_table(tables.name("nonces"), hash_key="nonce")


def clear_nonces() -> None:
    if VULNERABLE:
        return
    nonces = tables("nonces")
    for row in dynamo.scan_all(nonces):
        nonces.delete_item(Key={"nonce": row["nonce"]})


def remember_nonce(client_id: str, nonce: str) -> bool:
    """True the first time (client, nonce) is seen: an atomic conditional put."""
    try:
        tables("nonces").put_item(
            Item={"nonce": f"{client_id}:{nonce}", "expires_at": int(time.time()) + 2 * WINDOW},
            ConditionExpression="attribute_not_exists(nonce)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise  # fail closed: becomes a 500, never an accepted request
    return True


# --------------------------------------------------------------------------
# The app.
# --------------------------------------------------------------------------
app = create_app(__name__, TWIN)
counters = testing.instrument(app, TWIN, reset=clear_nonces, named="verdicts")


def unauthorized(reason: str, message: str):
    counters.count(reason)
    return error(401, message)


def string_to_sign(ts: str, nonce: str) -> bytes:
    if VULNERABLE:
        # BUG: the query string is not part of what is signed.
        parts = [request.method, request.path, ts, nonce]
    else:
        raw = request.query_string.decode("latin-1")
        query = "&".join(sorted(p for p in raw.split("&") if p))
        parts = [request.method, request.path, query, ts, nonce]
    return "\n".join(parts).encode()


SIGNED_PREFIX = "/api/"
UNSIGNED_PATHS = {"/api/health"}


@app.before_request
def verify_signature():
    if not request.path.startswith(SIGNED_PREFIX) or request.path in UNSIGNED_PATHS:
        return None
    client_id = request.headers.get("X-Client-Id", "").strip()
    ts = request.headers.get("X-Timestamp", "").strip()
    nonce = request.headers.get("X-Nonce", "").strip()
    sent = request.headers.get("X-Signature", "").strip()
    if not client_id or len(client_id) > 64:
        return unauthorized("no-client", "unauthorized: X-Client-Id is required")
    if not ts.isdigit() or len(ts) > 12:
        return unauthorized("bad-timestamp", "unauthorized: X-Timestamp must be unix seconds")
    if not 16 <= len(nonce) <= 128:
        return unauthorized("bad-nonce", "unauthorized: X-Nonce must be 16-128 characters")
    if not sent or len(sent) > 256:
        return unauthorized("no-signature", "unauthorized: X-Signature is required")
    client = dynamo.get_item(tables("clients"), {"client_id": client_id})
    if client is None:
        return unauthorized("unknown-client", "unauthorized: unknown client")
    message = string_to_sign(ts, nonce)
    if VULNERABLE:
        # BUG: no time window (the timestamp is signed, never compared with the clock).
        expected = hmac.new(PARTNER_SECRET.encode(), message, hashlib.sha256).hexdigest()
        if sent != expected:  # BUG: not a constant-time comparison
            return unauthorized("bad-signature", "unauthorized: bad signature")
        # BUG: nonces are never remembered, so a request can be replayed.
    else:
        if abs(time.time() - int(ts)) > WINDOW:
            return unauthorized("expired", "unauthorized: timestamp outside the allowed window")
        expected = hmac.new(client["secret"].encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, sent):
            return unauthorized("bad-signature", "unauthorized: bad signature")
        if not remember_nonce(client_id, nonce):
            return unauthorized("replayed", "unauthorized: nonce already used")
    counters.count("ok")
    g.user_id = client["user_id"]
    return None


def user_view(user: dict) -> dict:
    return {"user_id": user["user_id"], "username": user["username"], "email": user["email"]}


@app.get("/api/me")
def me():
    user = dynamo.get_item(tables("users"), {"user_id": g.user_id})
    if user is None:
        return error(404, "no such user")
    return respond(user_view(user))


@app.get("/api/orders")
def orders():
    raw_limit = request.args.get("limit", "10")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 50:
        return error(400, "limit must be an integer between 1 and 50")
    requested = request.args.get("user_id")
    if VULNERABLE:
        uid = requested or g.user_id  # BUG: whose orders comes from the unsigned query
    else:
        if requested is not None and requested != g.user_id:
            return error(403, "user_id must be the caller's own id")
        uid = g.user_id
    user = dynamo.get_item(tables("users"), {"user_id": uid})
    if user is None:
        return error(404, "no such user")
    items = tables("orders").query(
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": uid},
    ).get("Items", [])
    rows = sorted((dynamo.from_dynamo(i) for i in items), key=lambda o: o["order_id"])
    rows = rows[: int(raw_limit)]
    return respond(
        {
            "user_id": uid,
            "username": user["username"],
            "orders": [{"order_id": o["order_id"], "item": o["item"], "total": o["total"]} for o in rows],
        }
    )


# --------------------------------------------------------------------------
# OpenAPI 3.0 document.
# --------------------------------------------------------------------------
_ok, _err = openapi.ok, openapi.err


def openapi_document() -> dict:
    signed = "Signed request: X-Client-Id, X-Timestamp, X-Nonce and X-Signature (HMAC-SHA256, hex)."
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"Rampart HMAC target ({TWIN})",
            "version": "1.0.0",
            "description": "Test target for Rampart's request-signing checks. " + signed,
        },
        "servers": [{"url": "/"}],
        "security": [{"ClientId": [], "Signature": []}],
        "components": {
            "securitySchemes": {
                "ClientId": {"type": "apiKey", "in": "header", "name": "X-Client-Id"},
                "Signature": {"type": "apiKey", "in": "header", "name": "X-Signature"},
            },
            "schemas": {
                "Error": openapi.ERROR_SCHEMA,
                "Me": {"type": "object", "properties": {
                    "user_id": {"type": "string"}, "username": {"type": "string"},
                    "email": {"type": "string", "format": "email"}}},
                "Orders": {"type": "object", "properties": {
                    "user_id": {"type": "string"}, "username": {"type": "string"},
                    "orders": {"type": "array", "items": {"type": "object", "properties": {
                        "order_id": {"type": "string"}, "item": {"type": "string"},
                        "total": {"type": "integer"}}}}}},
            },
        },
        "paths": {
            "/api/health": {"get": {
                "operationId": "health", "summary": "Readiness probe", "tags": ["ops"], "security": [],
                "responses": {"200": {"description": "OK"}}}},
            "/api/me": {"get": {
                "operationId": "getMe", "summary": "The calling client's user", "tags": ["users"],
                "description": signed,
                "responses": {**_ok("Me"), "401": _err("Missing or invalid signature")}}},
            "/api/orders": {"get": {
                "operationId": "listOrders", "summary": "The caller's orders", "tags": ["orders"],
                "description": signed,
                "parameters": [
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 50}, "example": 10},
                    {"name": "user_id", "in": "query", "required": False, "schema": {"type": "string"},
                     "example": ALICE_ID, "description": "whose orders (must be the caller's own)"},
                ],
                "responses": {**_ok("Orders"), "400": _err("Bad limit"),
                              "401": _err("Missing or invalid signature"),
                              "403": _err("Another user's orders")}}},
        },
    }


@app.get("/openapi.json")
def openapi_json():
    return respond(openapi_document())


if __name__ == "__main__":
    serve(app, PORT, f"hmac target twin={TWIN} port={PORT} tables={PREFIX}-*", setup=seed)
