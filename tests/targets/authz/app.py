"""Rampart test target: authorization (check family ``authz.*``).

One Flask app, two twins chosen by env ``TWIN``:

* ``vulnerable`` - sequential integer ids, objects fetched by the id in the
  URL without an ownership check (BOLA), the subject (user id / owner id)
  taken from the path or query instead of the credential, a report open to
  anyone, whole user records serialised (password hash, admin flag, internal
  notes), PATCH bodies copied into the record (mass assignment), and a login
  that tells unknown users from wrong passwords and never slows down.
* ``fixed``      - same routes and spec, UUIDs, every object scoped to the
  caller, an explicit public view, an ``email``-only allow-list, one generic
  401 for every failed login and HTTP 429 after 5 failures per
  (username, client IP) within a minute.

See README.md next to this file for the case matrix.

Environment:
    TWIN               vulnerable | fixed            (required)
    PORT               TCP port, bound on 127.0.0.1  (required)
    DYNAMODB_ENDPOINT  http://127.0.0.1:<moto port>  (required)
    TABLE_PREFIX       DynamoDB table-name prefix    (default "authz-<TWIN>":
                       the twins use different key types, N vs S, so they
                       must not share tables)

Tables ``<prefix>-users`` (hash ``user_id``), ``<prefix>-orders`` (hash
``order_id``, GSI ``owner_id-index`` on ``owner_id``) and
``<prefix>-credentials`` (hash ``credential``: ``apikey:<key>`` /
``bearer:<token>`` -> ``user_id``), seeded at startup.

Test-only routes (``common/testing.py``): ``POST /__test__/reset`` restores
the seed users and orders and clears the login limiter.

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sys
import threading
import time
from collections import deque
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from boto3.dynamodb.conditions import Key  # noqa: E402
from flask import g, request  # noqa: E402

from common import dynamo, openapi, testing  # noqa: E402
from common.twin import parse_id as parse_twin_id, twin_and_port  # noqa: E402
from common.web import create_app, error, respond, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
PREFIX = os.environ.get("TABLE_PREFIX", f"authz-{TWIN}")
ID_TYPE = "N" if VULNERABLE else "S"
OWNER_INDEX = "owner_id-index"
tables = dynamo.Tables(PREFIX)


# --------------------------------------------------------------------------
# Password hashes: bcrypt-looking ("$2b$12$" + 22-char salt + 31-char hash,
# bcrypt's base64 alphabet) but computed with HMAC-SHA256 so no bcrypt
# dependency is needed to verify them.
# --------------------------------------------------------------------------
_STD_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = str.maketrans(_STD_B64, _BCRYPT_B64)


def hash_password(password: str, salt: str) -> str:
    digest = hmac.new(salt.encode(), password.encode(), hashlib.sha256).digest()
    text = base64.b64encode(digest).decode().rstrip("=").translate(_TO_BCRYPT)
    return f"$2b$12${salt}{text[:31]}"


def verify_password(password: str, stored: str) -> bool:
    salt = stored[7:29]
    return hmac.compare_digest(hash_password(password, salt), stored)


# Verified against for unknown users in the fixed twin (same work either way).
DUMMY_HASH = hash_password("no-such-user", "Zq1bN7xW3cV9kL2mP5sR8t")

# --------------------------------------------------------------------------
# Seed data (fixed values; the Rust tests use them).
# --------------------------------------------------------------------------
ALICE_KEY = "ak_alice_authz_51c0"
BOB_KEY = "ak_bob_authz_9e7d"
PASSWORDS = {"alice": "alice-pass-2024", "bob": "bob-pass-2024"}

if VULNERABLE:
    ALICE_ID, BOB_ID = 1, 2
    ALICE_ORDERS, BOB_ORDERS = (1001, 1003), (1002, 1004)
else:
    ALICE_ID = "dace2b20-aad4-49bf-8beb-4ce28876972f"
    BOB_ID = "37bb83ba-3be2-4f5b-8c26-b3f96dab6a52"
    ALICE_ORDERS = ("45f4d47c-c29f-4efe-8d48-df1583523784", "454c2708-9db1-41a5-aff9-8d81a1a4527b")
    BOB_ORDERS = ("bbe883dc-555b-45df-a253-6235ee112f25", "b6455084-778c-496b-a65d-5f73dfea657f")


def seed_users() -> list:
    return [
        {
            "user_id": ALICE_ID,
            "username": "alice",
            "email": "alice@authz-shop.example",
            "role": "user",
            "is_admin": False,
            "balance": Decimal("250"),
            "password_hash": hash_password(PASSWORDS["alice"], "Kp3vR8sT1wX6yZ0aB4cD7e"),
            "internal_notes": "KYC verified 2023-11-02; credit limit raised by support ticket #4471",
        },
        {
            "user_id": BOB_ID,
            "username": "bob",
            "email": "bob@authz-shop.example",
            "role": "user",
            "is_admin": False,
            "balance": Decimal("100"),
            "password_hash": hash_password(PASSWORDS["bob"], "Lm9nQ2rS5tU8vW1xY4zA6b"),
            "internal_notes": "chargeback filed 2024-03-18; manual review before refunds",
        },
    ]


def seed_orders() -> list:
    return [
        {"order_id": ALICE_ORDERS[0], "owner_id": ALICE_ID, "item": "mechanical keyboard", "total": Decimal("129.00")},
        {"order_id": BOB_ORDERS[0], "owner_id": BOB_ID, "item": "noise-cancelling headphones", "total": Decimal("249.99")},
        {"order_id": ALICE_ORDERS[1], "owner_id": ALICE_ID, "item": "usb-c dock", "total": Decimal("89.50")},
        {"order_id": BOB_ORDERS[1], "owner_id": BOB_ID, "item": "laptop stand", "total": Decimal("39.00")},
    ]


def seed_credentials() -> list:
    return [
        {"credential": f"apikey:{ALICE_KEY}", "user_id": ALICE_ID},
        {"credential": f"apikey:{BOB_KEY}", "user_id": BOB_ID},
    ]


# --------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------
def seed() -> None:
    dynamo.wait_until_ready(timeout=20)
    dynamo.create_keyed_table(tables.name("users"), "user_id", ID_TYPE)
    dynamo.create_keyed_table(tables.name("orders"), "order_id", ID_TYPE, index=(OWNER_INDEX, "owner_id"))
    dynamo.create_keyed_table(tables.name("credentials"), "credential", "S")
    restore_seed()
    dynamo.put_items(tables("credentials"), seed_credentials())


def restore_seed() -> None:
    dynamo.restore(tables.name("users"), "user_id", seed_users())
    dynamo.restore(tables.name("orders"), "order_id", seed_orders())


def parse_id(raw: str):
    """A path/query id in this twin's type, or None if malformed."""
    return parse_twin_id(raw, numeric=VULNERABLE)


def orders_of(owner_id) -> list:
    """Secondary-index query: every order whose ``owner_id`` equals ``owner_id``."""
    kwargs = {"IndexName": OWNER_INDEX, "KeyConditionExpression": Key("owner_id").eq(owner_id)}
    out = []
    while True:
        page = tables("orders").query(**kwargs)
        out.extend(dynamo.from_dynamo(i) for i in page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(out, key=lambda o: str(o["order_id"]).zfill(40))


# --------------------------------------------------------------------------
# Login rate limiter (fixed twin): 5 failures per (username, IP) per minute.
# --------------------------------------------------------------------------
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = 60.0
_LIMIT_LOCK = threading.Lock()
_FAILURES: dict = {}


def _bucket(key) -> deque:
    now = time.monotonic()
    q = _FAILURES.setdefault(key, deque())
    while q and now - q[0] > LOGIN_WINDOW:
        q.popleft()
    return q


def login_retry_after(key) -> int:
    """Seconds to wait if ``key`` is locked out, else 0."""
    with _LIMIT_LOCK:
        q = _bucket(key)
        if len(q) < LOGIN_MAX_FAILURES:
            return 0
        return max(1, int(LOGIN_WINDOW - (time.monotonic() - q[0])) + 1)


def login_failed(key) -> None:
    with _LIMIT_LOCK:
        _bucket(key).append(time.monotonic())


def login_succeeded(key) -> None:
    with _LIMIT_LOCK:
        _FAILURES.pop(key, None)


def reset_limiter() -> None:
    with _LIMIT_LOCK:
        _FAILURES.clear()


# --------------------------------------------------------------------------
# The app.
# --------------------------------------------------------------------------
def reset_state() -> None:
    restore_seed()
    reset_limiter()


app = create_app(__name__, TWIN)
testing.instrument(app, TWIN, reset=reset_state)


def current_user():
    """The caller's user record (X-API-Key or Authorization: Bearer), else None."""
    if "caller" in g:
        return g.caller
    user = None
    credential = None
    key = request.headers.get("X-API-Key", "").strip()
    auth = request.headers.get("Authorization", "").strip()
    if key:
        credential = f"apikey:{key}"
    elif auth[:7].lower() == "bearer " and auth[7:].strip():
        credential = f"bearer:{auth[7:].strip()}"
    if credential and len(credential) < 512:
        row = dynamo.get_item(tables("credentials"), {"credential": credential})
        if row:
            user = dynamo.get_item(tables("users"), {"user_id": dynamo.to_dynamo(row["user_id"])})
    g.caller = user
    return user


def unauthorized():
    return error(
        401,
        "unauthorized: send a valid X-API-Key or Authorization: Bearer <token>",
        {"WWW-Authenticate": 'Bearer realm="rampart-authz"'},
    )


def forbidden():
    return error(403, "forbidden")


def self_view(user: dict) -> dict:
    """What a user may see of their own record (the explicit view)."""
    return {
        "user_id": user["user_id"],
        "username": user["username"],
        "email": user["email"],
        "role": user["role"],
        "balance": user["balance"],
    }


def order_view(order: dict) -> dict:
    return {
        "order_id": order["order_id"],
        "owner_id": order["owner_id"],
        "item": order["item"],
        "total": order["total"],
    }


# --------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------
@app.post("/api/login")
def login():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "expected a JSON object with username and password")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return error(400, "username and password are required strings")

    users = [u for u in dynamo.scan_all(tables("users")) if u.get("username") == username]
    user = users[0] if users else None

    if VULNERABLE:
        # BUG: distinct answers reveal which accounts exist; no throttling.
        if user is None:
            return error(404, "unknown user")
        if not verify_password(password, user["password_hash"]):
            return error(401, "wrong password")
    else:
        limiter_key = (username.lower(), request.remote_addr or "?")
        wait = login_retry_after(limiter_key)
        if wait:
            return error(429, "too many failed login attempts, try again later", {"Retry-After": str(wait)})
        ok = verify_password(password, user["password_hash"] if user else DUMMY_HASH) and user is not None
        if not ok:
            login_failed(limiter_key)
            return error(401, "invalid username or password")
        login_succeeded(limiter_key)

    token = "tok_" + secrets.token_urlsafe(24)
    dynamo.put_items(tables("credentials"), [{"credential": f"bearer:{token}", "user_id": user["user_id"]}])
    return respond({"token": token, "token_type": "Bearer", "user_id": user["user_id"]})


@app.get("/api/me")
def me():
    user = current_user()
    if user is None:
        return unauthorized()
    return respond(self_view(user))


@app.get("/api/users/<user_id>")
def get_user(user_id: str):
    caller = current_user()
    if caller is None:
        return unauthorized()
    uid = parse_id(user_id)
    if VULNERABLE:
        # BUG: whose profile comes from the URL, not the credential, and the
        # whole record is serialised (password_hash, is_admin, internal_notes).
        if uid is None:
            return error(404, "no such user")
        item = tables("users").get_item(Key={"user_id": uid}).get("Item")
        if item is None:
            return error(404, "no such user")
        return respond(dynamo.from_dynamo(item))
    if uid != caller["user_id"]:
        return forbidden()
    return respond(self_view(caller))


@app.patch("/api/users/<user_id>")
def update_user(user_id: str):
    caller = current_user()
    if caller is None:
        return unauthorized()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "expected a JSON object")
    uid = parse_id(user_id)
    if VULNERABLE:
        # BUG: no ownership check and every field in the body is copied into
        # the record (role, is_admin, balance, ...): mass assignment.
        if uid is None or dynamo.get_item(tables("users"), {"user_id": uid}) is None:
            return error(404, "no such user")
        fields = {k: v for k, v in body.items() if k != "user_id" and isinstance(k, str) and k}
        if fields:
            names = {f"#f{i}": k for i, k in enumerate(fields)}
            values = {f":v{i}": dynamo.to_dynamo(v) for i, v in enumerate(fields.values())}
            tables("users").update_item(
                Key={"user_id": uid},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        updated = dynamo.get_item(tables("users"), {"user_id": uid})
        return respond(updated)
    if uid != caller["user_id"]:
        return forbidden()
    ignored = sorted(k for k in body if k != "email")
    if "email" in body:
        email = body["email"]
        if not isinstance(email, str) or "@" not in email or len(email) > 254:
            return error(400, "email must be an e-mail address")
        tables("users").update_item(
            Key={"user_id": uid},
            UpdateExpression="SET email = :e",
            ExpressionAttributeValues={":e": email},
        )
    updated = dynamo.get_item(tables("users"), {"user_id": uid})
    out = self_view(updated)
    if ignored:
        out["ignored_fields"] = ignored
    return respond(out)


@app.get("/api/users/<user_id>/orders")
def user_orders(user_id: str):
    caller = current_user()
    if caller is None:
        return unauthorized()
    uid = parse_id(user_id)
    if VULNERABLE:
        # BUG: the owner to query for comes from the path.
        if uid is None:
            return error(404, "no such user")
        owner = uid
    else:
        if uid != caller["user_id"]:
            return forbidden()
        owner = caller["user_id"]
    orders = [order_view(o) for o in orders_of(owner)]
    return respond({"user_id": owner, "orders": orders, "count": len(orders)})


@app.get("/api/orders")
def list_orders():
    caller = current_user()
    if caller is None:
        return unauthorized()
    raw = request.args.get("owner_id")
    owner = caller["user_id"]
    if raw is not None and raw != "":
        wanted = parse_id(raw)
        if VULNERABLE:
            # BUG: the index query trusts the owner_id filter from the query string.
            if wanted is None:
                return error(400, "owner_id must be an integer")
            owner = wanted
        elif wanted != caller["user_id"]:
            return forbidden()
    orders = [order_view(o) for o in orders_of(owner)]
    return respond({"owner_id": owner, "orders": orders, "count": len(orders)})


@app.get("/api/orders/<order_id>")
def get_order(order_id: str):
    caller = current_user()
    if caller is None:
        return unauthorized()
    oid = parse_id(order_id)
    item = None
    if oid is not None:
        item = dynamo.get_item(tables("orders"), {"order_id": oid})
    if item is None:
        return error(404, "no such order")
    if not VULNERABLE and item["owner_id"] != caller["user_id"]:
        # Same answer as a missing order: existence is not revealed either.
        return error(404, "no such order")
    # Vulnerable: BUG - any authenticated caller gets any order.
    return respond(order_view(item))


@app.get("/api/reports/summary")
def reports_summary():
    if VULNERABLE:
        # BUG: no authentication at all (any or no credential is fine).
        users = sorted(dynamo.scan_all(tables("users")), key=lambda u: str(u["user_id"]))
        scope = "all"
    else:
        caller = current_user()
        if caller is None:
            return unauthorized()
        users = [caller]
        scope = "caller"
    rows = []
    for u in users:
        orders = orders_of(u["user_id"])
        spent = sum(Decimal(str(o["total"])) for o in orders)
        rows.append(
            {
                "user_id": u["user_id"],
                "username": u["username"],
                "email": u["email"],
                "order_count": len(orders),
                "total_spent": float(spent),
            }
        )
    return respond({"scope": scope, "users": rows, "user_count": len(rows)})


# --------------------------------------------------------------------------
# OpenAPI 3.0 document.
# --------------------------------------------------------------------------
ID_SCHEMA = {"type": "integer", "format": "int64"} if VULNERABLE else {"type": "string", "format": "uuid"}
ERRORS = {
    "401": openapi.err("Missing or invalid credential"),
    "403": openapi.err("Not your object"),
    "404": openapi.err("Not found"),
}
_ok = openapi.ok


def _path_param(name: str, example) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": dict(ID_SCHEMA), "example": example}


def openapi_document() -> dict:
    id_schema = dict(ID_SCHEMA)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"Rampart authz target ({TWIN})",
            "version": "1.0.0",
            "description": "Test target for Rampart's authorization checks (BOLA, missing auth, "
                           "mass assignment, excessive exposure, login hardening).",
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKeyAuth": []}, {"BearerAuth": []}],
        "components": {
            "securitySchemes": {
                "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "token from POST /api/login"},
            },
            "schemas": {
                "Error": openapi.ERROR_SCHEMA,
                "User": {"type": "object", "properties": {
                    "user_id": id_schema, "username": {"type": "string"},
                    "email": {"type": "string", "format": "email"}, "role": {"type": "string"},
                    "balance": {"type": "number"}}},
                "UserUpdate": {"type": "object", "properties": {
                    "email": {"type": "string", "format": "email"}}},
                "Order": {"type": "object", "properties": {
                    "order_id": id_schema, "owner_id": id_schema, "item": {"type": "string"},
                    "total": {"type": "number"}}},
                "OrderList": {"type": "object", "properties": {
                    "owner_id": id_schema, "user_id": id_schema, "count": {"type": "integer"},
                    "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}}},
                "Summary": {"type": "object", "properties": {
                    "scope": {"type": "string"}, "user_count": {"type": "integer"},
                    "users": {"type": "array", "items": {"type": "object"}}}},
                "Login": {"type": "object", "required": ["username", "password"], "properties": {
                    "username": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
                "Token": {"type": "object", "properties": {
                    "token": {"type": "string"}, "token_type": {"type": "string"}, "user_id": id_schema}},
            },
        },
        "paths": {
            "/api/health": {"get": {
                "operationId": "health", "summary": "Readiness probe", "tags": ["ops"], "security": [],
                "responses": {"200": {"description": "OK"}}}},
            "/api/login": {"post": {
                "operationId": "login", "summary": "Exchange username + password for a bearer token",
                "tags": ["auth"], "security": [],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Login"},
                    "example": {"username": "alice", "password": "not-the-password"}}}},
                "responses": {**_ok("Token"),
                              "400": ERRORS["404"] | {"description": "Malformed body"},
                              "401": ERRORS["401"] | {"description": "Invalid username or password"},
                              "429": {"description": "Too many failed attempts"}}}},
            "/api/me": {"get": {
                "operationId": "getMe", "summary": "The caller's profile", "tags": ["users"],
                "responses": {**_ok("User"), "401": ERRORS["401"]}}},
            "/api/users/{user_id}": {
                "get": {
                    "operationId": "getUser", "summary": "A user's profile", "tags": ["users"],
                    "parameters": [_path_param("user_id", ALICE_ID)],
                    "responses": {**_ok("User"), **ERRORS}},
                "patch": {
                    "operationId": "updateUser", "summary": "Update a user's profile (email)",
                    "tags": ["users"],
                    "parameters": [_path_param("user_id", ALICE_ID)],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/UserUpdate"},
                        "example": {"email": "alice@authz-shop.example"}}}},
                    "responses": {**_ok("User"), "400": ERRORS["404"] | {"description": "Invalid body"},
                                  **ERRORS}},
            },
            "/api/users/{user_id}/orders": {"get": {
                "operationId": "listUserOrders", "summary": "A user's orders", "tags": ["orders"],
                "parameters": [_path_param("user_id", ALICE_ID)],
                "responses": {**_ok("OrderList"), **ERRORS}}},
            "/api/orders": {"get": {
                "operationId": "listOrders", "summary": "Orders, optionally filtered by owner",
                "tags": ["orders"],
                "parameters": [{"name": "owner_id", "in": "query", "required": False,
                                "schema": dict(ID_SCHEMA), "example": ALICE_ID,
                                "description": "owner to list orders for (defaults to the caller)"}],
                "responses": {**_ok("OrderList"), **ERRORS}}},
            "/api/orders/{order_id}": {"get": {
                "operationId": "getOrder", "summary": "One order", "tags": ["orders"],
                "parameters": [_path_param("order_id", ALICE_ORDERS[0])],
                "responses": {**_ok("Order"), **ERRORS}}},
            "/api/reports/summary": {"get": {
                "operationId": "getSummaryReport", "summary": "Per-user order summary", "tags": ["reports"],
                "responses": {**_ok("Summary"), "401": ERRORS["401"]}}},
        },
    }


@app.get("/openapi.json")
def openapi_json():
    return respond(openapi_document())


if __name__ == "__main__":
    serve(app, PORT, f"authz target twin={TWIN} port={PORT} tables={PREFIX}-*", setup=seed)
