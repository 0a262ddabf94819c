"""Rampart test target: trust (findings that are true, stable and harmless).

An online shop API shaped like the public, deliberately vulnerable APIs
Rampart meets in the wild, with the traps they set for a scanner:

* ``GET /api/createdb`` drops the tables, takes a while, and re-creates and
  re-seeds them. Ids come from sequences that survive the drop, as in a
  real SQL database, so every reset gives every user and order new ids;
  requests that arrive while it runs get a 500.
* ``GET /api/logout`` revokes the API key it was called with.
* ``PUT /api/me/password`` changes the caller's password.
* Public by design (``security: []``): ``/api/status`` (a status page with
  a time, a request id and a counter), ``/api/users`` (usernames and
  display names), ``/api/products`` and ``/api/products/{product_id}``
  (a catalogue naming each seller; these handlers never read a credential),
  ``/api/docs`` and ``/openapi.json``.
* Every JSON answer carries ``meta`` with a request id and the time it was
  generated, and an ``X-Request-Id`` header: two identical requests never
  get identical bytes.

Twins (env ``TWIN``):

* ``vulnerable`` - orders are read by the owner id in the path
  (``/api/users/{user_id}/orders``) or the query (``/api/orders?owner_id=``)
  and by order id (``/api/orders/{order_id}``) without any ownership check;
  ``PATCH /api/me`` copies every field into the record (mass assignment).
* ``fixed`` - every order is scoped to the caller; ``PATCH /api/me`` takes
  ``display_name`` only. Nothing in it deserves a finding of medium or
  above (the plain-HTTP note on loopback is info).

Environment: ``TWIN``, ``PORT`` (required), ``DB_PATH`` (default: a file in
a fresh temporary directory). No DynamoDB: the data lives in SQLite.

Test-only routes (``common/testing.py`` plus): ``GET /__test__/state`` (the
users with their key and password hash digests, the orders, and how many
times ``createdb``, ``logout`` and ``password`` ran), ``POST
/__test__/reset`` (seed data back, sequences restarted, counters zeroed with
``?counters=1``).

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from flask import g, request  # noqa: E402

from common import openapi, testing  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import create_app, error, serve  # noqa: E402
from common.web import respond as plain_respond  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
DB_PATH = os.environ.get("DB_PATH") or os.path.join(tempfile.mkdtemp(prefix="rampart-trust-"), "shop.db")

# How long a reset leaves the shop without tables (dropping and re-creating
# a real schema is not instant either).
RESET_SECONDS = 0.4

SEED_USERS = [
    # username, display name, email, API key, password
    ("alice", "Alice A.", "alice@trust-shop.example", "ak_alice_trust_7f3a", "alice-pass-trust"),
    ("bob", "Bob B.", "bob@trust-shop.example", "ak_bob_trust_2c9e", "bob-pass-trust"),
    ("carol", "Carol C.", "carol@trust-shop.example", "ak_carol_trust_5d1b", "carol-pass-trust"),
]
SEED_ORDERS = [
    # owner, item, total
    ("alice", "mechanical keyboard", 129.0),
    ("bob", "noise-cancelling headphones", 249.99),
    ("alice", "usb-c dock", 89.5),
    ("bob", "laptop stand", 39.0),
]
SEED_PRODUCTS = [
    # name, price, seller
    ("walnut desk organiser", 34.0, "carol"),
    ("brass desk lamp", 79.0, "carol"),
    ("felt mouse mat", 12.5, "bob"),
]

_COUNTS_LOCK = threading.Lock()
COUNTS = {"createdb": 0, "logout": 0, "password": 0, "status": 0}


def count(name: str) -> None:
    with _COUNTS_LOCK:
        COUNTS[name] += 1


def password_hash(password: str) -> str:
    return hashlib.sha256(("trust-salt:" + password).encode()).hexdigest()


# --------------------------------------------------------------------------
# SQLite: one connection per request; ids from sequences that a drop of the
# tables does not reset (like PostgreSQL's).
# --------------------------------------------------------------------------
def connect() -> sqlite3.Connection:
    conn = sqlite3.connect(DB_PATH, timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = connect()
    return g.db


def next_id(conn: sqlite3.Connection, name: str) -> int:
    conn.execute("UPDATE sequences SET value = value + 1 WHERE name = ?", (name,))
    return conn.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()[0]


def create_tables(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS users (
            user_id INTEGER PRIMARY KEY, username TEXT UNIQUE, display_name TEXT, email TEXT,
            api_key TEXT UNIQUE, password_hash TEXT, role TEXT, is_admin INTEGER);
        CREATE TABLE IF NOT EXISTS orders (
            order_id INTEGER PRIMARY KEY, owner_id INTEGER, item TEXT, total REAL);
        CREATE TABLE IF NOT EXISTS products (
            product_id INTEGER PRIMARY KEY, name TEXT, price REAL, seller TEXT);
        """
    )


def populate(conn: sqlite3.Connection) -> None:
    ids = {}
    for username, display, email, key, password in SEED_USERS:
        ids[username] = next_id(conn, "users")
        conn.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, 'user', 0)",
            (ids[username], username, display, email, key, password_hash(password)),
        )
    for owner, item, total in SEED_ORDERS:
        conn.execute("INSERT INTO orders VALUES (?, ?, ?, ?)", (next_id(conn, "orders"), ids[owner], item, total))
    for name, price, seller in SEED_PRODUCTS:
        conn.execute("INSERT INTO products VALUES (?, ?, ?, ?)", (next_id(conn, "products"), name, price, seller))


def drop_tables(conn: sqlite3.Connection) -> None:
    conn.executescript("DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS products;")


def seed(restart_sequences: bool = True) -> None:
    conn = connect()
    conn.execute("CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER)")
    for name, start in (("users", 0), ("orders", 1000), ("products", 500)):
        conn.execute("INSERT OR IGNORE INTO sequences VALUES (?, ?)", (name, start))
        if restart_sequences:
            conn.execute("UPDATE sequences SET value = ? WHERE name = ?", (start, name))
    drop_tables(conn)
    create_tables(conn)
    populate(conn)
    conn.close()


# --------------------------------------------------------------------------
# The app.
# --------------------------------------------------------------------------
app = create_app(__name__, TWIN)
testing.instrument(app, TWIN, reset=lambda: reset_state())


def reset_state() -> None:
    seed(restart_sequences=True)
    with _COUNTS_LOCK:
        for name in COUNTS:
            COUNTS[name] = 0


@app.teardown_appcontext
def close_db(_exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def meta() -> dict:
    """What makes every answer unique: a request id and the time."""
    if "request_id" not in g:
        g.request_id = str(uuid.uuid4())
    return {
        "request_id": g.request_id,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds"),
    }


def respond(payload, status: int = 200, headers=None):
    if isinstance(payload, dict):
        payload = {**payload, "meta": meta()}
    resp = plain_respond(payload, status, headers)
    resp.headers["X-Request-Id"] = meta()["request_id"]
    return resp


def fail(status: int, message: str, headers=None):
    """An error answer, with the request id and time every answer carries."""
    return respond({"error": message, "status": status}, status, headers)


# Public by design, and meant to be cached by anyone: the same for every
# caller (request id and time apart).
PUBLIC_CACHE = {"Cache-Control": "public, max-age=30"}


@app.errorhandler(sqlite3.OperationalError)
def database_unavailable(exc):
    # Tables dropped by a reset in progress: the shop is down for a moment.
    app.logger.warning("database error: %s", exc)
    return error(500, "internal error")


def caller():
    """The caller's user row (X-API-Key or Authorization: Bearer <api key>), else None."""
    if "caller" in g:
        return g.caller
    key = request.headers.get("X-API-Key", "").strip()
    auth = request.headers.get("Authorization", "").strip()
    if not key and auth[:7].lower() == "bearer ":
        key = auth[7:].strip()
    row = None
    if key and len(key) < 256:
        row = db().execute("SELECT * FROM users WHERE api_key = ?", (key,)).fetchone()
    g.caller = row
    g.caller_key = key
    return row


def unauthorized():
    return error(401, "unauthorized: send a valid X-API-Key", {"WWW-Authenticate": 'ApiKey realm="trust-shop"'})


def profile(row) -> dict:
    return {
        "user_id": row["user_id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "email": row["email"],
        "role": row["role"],
        "is_admin": bool(row["is_admin"]),
    }


def order_view(row) -> dict:
    return {"order_id": row["order_id"], "owner_id": row["owner_id"], "item": row["item"], "total": row["total"]}


def parse_int(raw):
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


# ---- traps --------------------------------------------------------------
@app.get("/api/createdb")
def createdb():
    """Drops every table and re-creates it with the seed data (new ids)."""
    count("createdb")
    conn = db()
    drop_tables(conn)
    time.sleep(RESET_SECONDS)
    create_tables(conn)
    populate(conn)
    return respond({"message": "Database populated."})


@app.get("/api/logout")
def logout():
    """Revokes the API key it is called with."""
    user = caller()
    if user is None:
        return unauthorized()
    count("logout")
    db().execute("UPDATE users SET api_key = ? WHERE user_id = ?", ("revoked-" + secrets.token_hex(8), user["user_id"]))
    return respond({"message": "Logged out; this API key is revoked."})


@app.put("/api/me/password")
def change_password():
    user = caller()
    if user is None:
        return unauthorized()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("password"), str) or len(body["password"]) < 8:
        return error(400, "password must be a string of at least 8 characters")
    count("password")
    db().execute("UPDATE users SET password_hash = ? WHERE user_id = ?", (password_hash(body["password"]), user["user_id"]))
    return respond({"message": "Password changed."})


# ---- public by design (these handlers never read a credential) -----------
@app.get("/api/status")
def status():
    count("status")
    with _COUNTS_LOCK:
        served = COUNTS["status"]
    return respond({"status": "ok", "time": time.time(), "requests_served": served}, headers=PUBLIC_CACHE)


@app.get("/api/users")
def public_users():
    rows = db().execute("SELECT username, display_name FROM users ORDER BY username").fetchall()
    users = [{"username": r["username"], "display_name": r["display_name"]} for r in rows]
    return respond({"users": users}, headers=PUBLIC_CACHE)


@app.get("/api/products")
def products():
    rows = db().execute("SELECT * FROM products ORDER BY product_id").fetchall()
    return respond({"products": [dict(r) for r in rows]}, headers=PUBLIC_CACHE)


@app.get("/api/products/<product_id>")
def product(product_id: str):
    row = db().execute("SELECT * FROM products WHERE product_id = ?", (parse_int(product_id),)).fetchone()
    if row is None:
        return error(404, "no such product")
    return respond(dict(row))


@app.get("/api/docs")
def docs():
    html = (
        "<!doctype html><html><head><title>Trust shop API</title></head><body>"
        "<h1>Trust shop API</h1><p>See <a href=\"/openapi.json\">the OpenAPI document</a>. "
        "Contact: alice@trust-shop.example.</p></body></html>"
    )
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}


# ---- the caller's own data ------------------------------------------------
@app.post("/api/login")
def login():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "expected a JSON object with username and password")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return error(400, "username and password are required strings")
    row = db().execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    if row is None or row["password_hash"] != password_hash(password):
        return fail(401, "invalid username or password")
    return respond({"api_key": row["api_key"], "user_id": row["user_id"]})


@app.post("/api/register")
def register():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "expected a JSON object")
    username, password, email = body.get("username"), body.get("password"), body.get("email")
    if not all(isinstance(v, str) and v for v in (username, password, email)) or len(password) < 8:
        return error(400, "username, email and a password of 8+ characters are required")
    conn = db()
    if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        return error(409, "username taken")
    key = "ak_" + secrets.token_hex(12)
    user_id = next_id(conn, "users")
    conn.execute(
        "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, 'user', 0)",
        (user_id, username, username, email, key, password_hash(password)),
    )
    return respond({"user_id": user_id, "username": username, "api_key": key}, 201)


@app.get("/api/me")
def me():
    user = caller()
    if user is None:
        return unauthorized()
    return respond(profile(user))


@app.patch("/api/me")
def update_me():
    user = caller()
    if user is None:
        return unauthorized()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "expected a JSON object")
    if VULNERABLE:
        # BUG: every known column in the body is copied into the record.
        allowed = ("display_name", "email", "role", "is_admin")
    else:
        allowed = ("display_name",)
    conn = db()
    for field in allowed:
        if field in body and isinstance(body[field], (str, bool, int)):
            value = int(body[field]) if field == "is_admin" else body[field]
            conn.execute(f"UPDATE users SET {field} = ? WHERE user_id = ?", (value, user["user_id"]))
    row = conn.execute("SELECT * FROM users WHERE user_id = ?", (user["user_id"],)).fetchone()
    out = profile(row)
    ignored = sorted(k for k in body if k not in allowed)
    if ignored:
        out["ignored_fields"] = ignored
    return respond(out)


@app.post("/api/orders")
def create_order():
    user = caller()
    if user is None:
        return unauthorized()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("item"), str):
        return error(400, "item is required")
    conn = db()
    order_id = next_id(conn, "orders")
    total = body.get("total") if isinstance(body.get("total"), (int, float)) else 0.0
    conn.execute("INSERT INTO orders VALUES (?, ?, ?, ?)", (order_id, user["user_id"], body["item"], total))
    return respond(order_view(conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()), 201)


@app.delete("/api/orders/<order_id>")
def delete_order(order_id: str):
    user = caller()
    if user is None:
        return unauthorized()
    conn = db()
    row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (parse_int(order_id),)).fetchone()
    if row is None or row["owner_id"] != user["user_id"]:
        return error(404, "no such order")
    conn.execute("DELETE FROM orders WHERE order_id = ?", (row["order_id"],))
    return "", 204


def orders_of(owner_id) -> list:
    rows = db().execute("SELECT * FROM orders WHERE owner_id = ? ORDER BY order_id", (owner_id,)).fetchall()
    return [order_view(r) for r in rows]


@app.get("/api/users/<user_id>/orders")
def user_orders(user_id: str):
    user = caller()
    if user is None:
        return unauthorized()
    wanted = parse_int(user_id)
    if not VULNERABLE and wanted != user["user_id"]:
        return error(403, "forbidden")
    # Vulnerable: BUG - whose orders comes from the path.
    return respond({"user_id": wanted, "orders": orders_of(wanted)})


@app.get("/api/orders")
def list_orders():
    user = caller()
    if user is None:
        return unauthorized()
    raw = request.args.get("owner_id")
    owner = user["user_id"]
    if raw:
        wanted = parse_int(raw)
        if wanted is None:
            return error(400, "owner_id must be an integer")
        if not VULNERABLE and wanted != owner:
            return error(403, "forbidden")
        # Vulnerable: BUG - the filter is trusted.
        owner = wanted
    return respond({"owner_id": owner, "orders": orders_of(owner)})


@app.get("/api/orders/<order_id>")
def get_order(order_id: str):
    user = caller()
    if user is None:
        return unauthorized()
    row = db().execute("SELECT * FROM orders WHERE order_id = ?", (parse_int(order_id),)).fetchone()
    if row is None or (not VULNERABLE and row["owner_id"] != user["user_id"]):
        return error(404, "no such order")
    # Vulnerable: BUG - any caller reads any order.
    return respond(order_view(row))


# ---- test-only ------------------------------------------------------------
@app.get("/__test__/state")
def test_state():
    conn = connect()
    try:
        users = [
            {
                "username": r["username"],
                "email": r["email"],
                "role": r["role"],
                "is_admin": bool(r["is_admin"]),
                "display_name": r["display_name"],
                "api_key": hashlib.sha256(r["api_key"].encode()).hexdigest()[:16],
                "password_hash": r["password_hash"][:16],
            }
            for r in conn.execute("SELECT * FROM users ORDER BY username")
        ]
        orders = [dict(r) for r in conn.execute("SELECT * FROM orders ORDER BY order_id")]
    except sqlite3.OperationalError as exc:
        return plain_respond({"error": str(exc)}, 503)
    finally:
        conn.close()
    with _COUNTS_LOCK:
        counts = dict(COUNTS)
    return plain_respond({"users": users, "orders": orders, "counts": counts})


# ---- OpenAPI --------------------------------------------------------------
ERRORS = {"401": openapi.err("Missing or invalid API key"), "404": openapi.err("Not found")}
PUBLIC = {"security": []}


def _ok(description: str = "OK") -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}}


def _int_param(name: str, where: str, example: int, required: bool = True) -> dict:
    return {"name": name, "in": where, "required": required, "schema": {"type": "integer"}, "example": example}


def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": f"Trust shop ({TWIN})", "version": "1.0.0"},
        "servers": [{"url": "/"}],
        "security": [{"ApiKeyAuth": []}],
        "components": {
            "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "schemas": {"Error": openapi.ERROR_SCHEMA},
        },
        "paths": {
            "/api/createdb": {"get": {
                "operationId": "createDb", "summary": "Creates and populates the database with dummy data",
                **PUBLIC, "responses": _ok()}},
            "/api/status": {"get": {
                "operationId": "getStatus", "summary": "Service status", **PUBLIC, "responses": _ok()}},
            "/api/users": {"get": {
                "operationId": "listUsers", "summary": "Public member directory (usernames)",
                **PUBLIC, "responses": _ok()}},
            "/api/products": {"get": {
                "operationId": "listProducts", "summary": "The catalogue", **PUBLIC, "responses": _ok()}},
            "/api/products/{product_id}": {"get": {
                "operationId": "getProduct", "summary": "One product", **PUBLIC,
                "parameters": [_int_param("product_id", "path", 501)],
                "responses": {**_ok(), "404": ERRORS["404"]}}},
            "/api/docs": {"get": {
                "operationId": "getDocs", "summary": "API documentation", **PUBLIC,
                "responses": {"200": {"description": "HTML"}}}},
            "/api/login": {"post": {
                "operationId": "login", "summary": "Exchange username and password for the API key", **PUBLIC,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "username": {"type": "string"}, "password": {"type": "string"}}},
                    "example": {"username": "alice", "password": "not-the-password"}}}},
                "responses": {**_ok(), "401": ERRORS["401"]}}},
            "/api/register": {"post": {
                "operationId": "register", "summary": "Sign up", **PUBLIC,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "username": {"type": "string"}, "email": {"type": "string"},
                        "password": {"type": "string"}}},
                    "example": {"username": "dave", "email": "dave@trust-shop.example",
                                "password": "dave-pass-trust"}}}},
                "responses": {"201": {"description": "Created"}}}},
            "/api/logout": {"get": {
                "operationId": "logout", "summary": "Log out (revokes the API key)",
                "responses": {**_ok(), "401": ERRORS["401"]}}},
            "/api/me": {
                "get": {"operationId": "getMe", "summary": "The caller's profile",
                        "responses": {**_ok(), "401": ERRORS["401"]}},
                "patch": {"operationId": "updateMe", "summary": "Update the caller's profile",
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": {"type": "object", "properties": {"display_name": {"type": "string"}}},
                              "example": {"display_name": "Alice A."}}}},
                          "responses": {**_ok(), "401": ERRORS["401"]}},
            },
            "/api/me/password": {"put": {
                "operationId": "changePassword", "summary": "Change the caller's password",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"password": {"type": "string"}}},
                    "example": {"password": "new-password-1234"}}}},
                "responses": {**_ok(), "401": ERRORS["401"]}}},
            "/api/users/{user_id}/orders": {"get": {
                "operationId": "listUserOrders", "summary": "A user's orders",
                "parameters": [_int_param("user_id", "path", 1)],
                "responses": {**_ok(), **ERRORS}}},
            "/api/orders": {
                "get": {"operationId": "listOrders", "summary": "Orders, optionally filtered by owner",
                        "parameters": [_int_param("owner_id", "query", 1, required=False)],
                        "responses": {**_ok(), **ERRORS}},
                "post": {"operationId": "createOrder", "summary": "Place an order",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"type": "object", "properties": {
                                 "item": {"type": "string"}, "total": {"type": "number"}}},
                             "example": {"item": "felt mouse mat", "total": 12.5}}}},
                         "responses": {"201": {"description": "Created"}, "401": ERRORS["401"]}},
            },
            "/api/orders/{order_id}": {
                "get": {"operationId": "getOrder", "summary": "One order",
                        "parameters": [_int_param("order_id", "path", 1001)],
                        "responses": {**_ok(), **ERRORS}},
                "delete": {"operationId": "deleteOrder", "summary": "Cancel one of the caller's orders",
                           "parameters": [_int_param("order_id", "path", 1001)],
                           "responses": {"204": {"description": "Deleted"}, **ERRORS}},
            },
        },
    }


@app.get("/openapi.json")
def openapi_json():
    return plain_respond(openapi_document())


if __name__ == "__main__":
    serve(app, PORT, f"trust target twin={TWIN} port={PORT} db={DB_PATH}", setup=seed)
