"""Rampart test target: injection and unsafe input (check family ``injection.*``).

One Flask app, two twins chosen by env ``TWIN``. Every store is real: SQLite
through SQLAlchemy, DynamoDB on the harness's moto_server, MongoDB queries
through mongomock, Jinja2, a shell, the file system and an HTTP fetcher.

* ``vulnerable`` - SQL built with SQLAlchemy ``text(f"...")``, a DynamoDB
  ``FilterExpression`` with the caller's attribute name pasted in, query
  strings parsed into MongoDB operator objects and a login that passes the
  JSON body to ``find_one``, a template built from input, ``shell=True``
  commands, ``open(os.path.join(DOCS, name))``, a fetcher that fetches any
  (loopback) URL, an e-mail check with a nested-quantifier regex, and a
  500 handler that returns the traceback.
* ``fixed``      - same routes, spec and data: bound parameters, an
  allow-list with ``ExpressionAttributeNames``, flat string values,
  autoescaped templates with input as data, argument vectors, confined file
  reads, a host allow-list, a linear e-mail check, generic errors.

See README.md next to this file for the case matrix.

Safety of the target itself: the fetcher never leaves the machine (any
non-loopback host gets a canned image instead of a request), and the
commands only read (``du``, ``getent``).

Environment:
    TWIN               vulnerable | fixed            (required)
    PORT               TCP port, bound on 127.0.0.1  (required)
    DYNAMODB_ENDPOINT  http://127.0.0.1:<moto port>  (required)
    TABLE_PREFIX       DynamoDB table-name prefix    (default "injection-<TWIN>")

Test-only routes (``common/testing.py``): ``POST /__test__/reset`` restores
the seed data; ``GET /__test__/data`` is a digest of every store, to prove a
scan changed nothing.

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
import traceback
import urllib.request
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mongomock  # noqa: E402
from boto3.dynamodb.conditions import Attr  # noqa: E402
from flask import g, render_template_string, request  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402
from werkzeug.security import safe_join  # noqa: E402

from common import dynamo, openapi, testing  # noqa: E402
from common.dynamo import ClientError  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import create_app, error, respond, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
PREFIX = os.environ.get("TABLE_PREFIX", f"injection-{TWIN}")
tables = dynamo.Tables(PREFIX)
WORKDIR = os.path.abspath(os.getcwd())
DOCS = os.path.join(WORKDIR, "docs")
BACKUPS = os.path.join(WORKDIR, "backups")

KEYS = {"ak_alice_inj_4f1c": "alice", "ak_bob_inj_8a2d": "bob"}

# ---------------------------------------------------------------------------
# Seed data
# ---------------------------------------------------------------------------
POSTS = [
    (1, "Hello world", "ada", "The first post."),
    (2, "Second post", "ada", "More words."),
    (3, "Release notes", "grace", "What changed."),
    (4, "Quarterly report", "grace", "Numbers."),
]
ITEMS = [(1, "kettle", 25), (2, "teapot", 40), (3, "mug", 8)]
ACCOUNTS = [("alice", "alice-pass-1"), ("bob", "bob-pass-2")]
ORDERS = [
    {"order_id": "o-1001", "owner_id": "alice", "category": "books", "state": "new", "total": 12},
    {"order_id": "o-1002", "owner_id": "alice", "category": "games", "state": "shipped", "total": 60},
    {"order_id": "o-1003", "owner_id": "alice", "category": "books", "state": "shipped", "total": 8},
    {"order_id": "o-2001", "owner_id": "bob", "category": "books", "state": "new", "total": 30},
    {"order_id": "o-2002", "owner_id": "bob", "category": "tools", "state": "new", "total": 99},
]
NOTES = [
    {"note_id": "n1", "owner": "alice", "tag": "work", "text": "Quarterly planning"},
    {"note_id": "n2", "owner": "alice", "tag": "home", "text": "Buy tea"},
    {"note_id": "n3", "owner": "bob", "tag": "work", "text": "Bob's draft"},
]
PROFILES = {"alice": {"display_name": "Alice", "email": "alice@example.com"},
            "bob": {"display_name": "Bob", "email": "bob@example.com"}}
SESSION_USERS = [{"username": "alice", "password": "alice-pass-1"}, {"username": "bob", "password": "bob-pass-2"}]

engine = create_engine(f"sqlite:///{os.path.join(WORKDIR, 'injection.db')}", future=True)
mongo = mongomock.MongoClient()["injection"]
profiles: dict = {}


def seed() -> None:
    with engine.begin() as conn:
        for statement in (
            "DROP TABLE IF EXISTS posts",
            "DROP TABLE IF EXISTS items",
            "DROP TABLE IF EXISTS accounts",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, author TEXT, body TEXT)",
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price INTEGER)",
            "CREATE TABLE accounts (username TEXT PRIMARY KEY, password_hash TEXT)",
        ):
            conn.execute(text(statement))
        for row in POSTS:
            conn.execute(text("INSERT INTO posts VALUES (:i, :t, :a, :b)"),
                         {"i": row[0], "t": row[1], "a": row[2], "b": row[3]})
        for row in ITEMS:
            conn.execute(text("INSERT INTO items VALUES (:i, :n, :p)"), {"i": row[0], "n": row[1], "p": row[2]})
        for name, password in ACCOUNTS:
            conn.execute(text("INSERT INTO accounts VALUES (:u, :h)"), {"u": name, "h": digest(password)})
    dynamo.wait_until_ready()
    dynamo.ensure_table(tables.name("orders"), hash_key="order_id")
    dynamo.restore(tables.name("orders"), "order_id", ORDERS)
    mongo.notes.delete_many({})
    mongo.notes.insert_many([dict(n) for n in NOTES])
    mongo.users.delete_many({})
    mongo.users.insert_many([dict(u) for u in SESSION_USERS])
    profiles.clear()
    profiles.update({k: dict(v) for k, v in PROFILES.items()})
    os.makedirs(DOCS, exist_ok=True)
    with open(os.path.join(DOCS, "guide.txt"), "w", encoding="utf-8") as handle:
        handle.write("How to use the service.\n")
    os.makedirs(os.path.join(BACKUPS, "daily"), exist_ok=True)
    with open(os.path.join(BACKUPS, "daily", "db.dump"), "w", encoding="utf-8") as handle:
        handle.write("x" * 2048)


def digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def data_digest() -> dict:
    """Every store's content, hashed: what a read-only scan must not change."""
    with engine.connect() as conn:
        sql = [list(map(list, conn.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all()))
               for t in ("posts", "items", "accounts")]
    orders = sorted(dynamo.scan_all(tables("orders")), key=lambda o: o["order_id"])
    notes = sorted(({k: v for k, v in n.items() if k != "_id"} for n in mongo.notes.find()),
                   key=lambda n: n["note_id"])
    users = sorted(({k: v for k, v in u.items() if k != "_id"} for u in mongo.users.find()),
                   key=lambda u: u["username"])
    state = {"sql": sql, "orders": orders, "notes": notes, "users": users, "profiles": profiles,
             "docs": sorted(os.listdir(DOCS)), "backups": sorted(os.listdir(BACKUPS))}
    blob = json.dumps(state, sort_keys=True, default=str).encode()
    return {"sha256": hashlib.sha256(blob).hexdigest(), "sizes": {k: len(v) for k, v in state.items()}}


# ---------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------
app = create_app(__name__, TWIN)
testing.instrument(app, TWIN, reset=seed)


@app.get("/__test__/data")
def test_data():
    return respond(data_digest())


if VULNERABLE:
    @app.errorhandler(Exception)
    def leaky_error(exc):
        # The classic debugging aid left in: the traceback goes to the caller.
        return respond({"error": "internal error", "trace": traceback.format_exc()}, 500)


@app.before_request
def authenticate():
    open_paths = ("/api/health", "/openapi.json", "/__test__", "/api/login", "/api/session")
    if request.path.startswith(open_paths):
        return None
    user = KEYS.get(request.headers.get("X-API-Key", ""))
    if user is None:
        return error(401, "missing or invalid API key")
    g.user = user
    return None


def store_error(exc: Exception):
    """Vulnerable: the driver's message goes to the caller. Fixed: generic."""
    app.logger.warning("store error: %s", exc)
    if VULNERABLE:
        return error(500, str(exc))
    return error(500, "internal error")


# --- SQL (SQLite through SQLAlchemy) -----------------------------------------
def post_json(row) -> dict:
    return {"id": row[0], "title": row[1], "author": row[2], "body": row[3]}


@app.get("/api/posts/<path:title>")
def post_by_title(title):
    try:
        with engine.connect() as conn:
            if VULNERABLE:
                row = conn.execute(text(f"SELECT id, title, author, body FROM posts WHERE title = '{title}'")).first()
            else:
                row = conn.execute(text("SELECT id, title, author, body FROM posts WHERE title = :t"),
                                   {"t": title}).first()
    except SQLAlchemyError as exc:
        return store_error(exc)
    if row is None:
        return error(404, "no such post")
    return respond(post_json(row))


@app.get("/api/posts")
def posts_by_author():
    author = request.args.get("author", "")
    try:
        with engine.connect() as conn:
            if VULNERABLE:
                rows = conn.execute(text(
                    f"SELECT id, title, author, body FROM posts WHERE author = '{author}' ORDER BY id")).all()
            else:
                rows = conn.execute(text("SELECT id, title, author, body FROM posts WHERE author = :a ORDER BY id"),
                                    {"a": author}).all()
    except SQLAlchemyError:
        # Errors are swallowed here: only the rows can tell.
        rows = []
    return respond({"posts": [post_json(r) for r in rows]})


@app.get("/api/items/<item_id>")
def item(item_id):
    if VULNERABLE:
        number = int(item_id)
    else:
        if not item_id.isdigit() or len(item_id) > 9:
            return error(404, "no such item")
        number = int(item_id)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, name, price FROM items WHERE id = :i"), {"i": number}).first()
    if row is None:
        return error(404, "no such item")
    return respond({"id": row[0], "name": row[1], "price": row[2]})


@app.post("/api/login")
def login():
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    try:
        with engine.connect() as conn:
            if VULNERABLE:
                row = conn.execute(text(
                    f"SELECT username FROM accounts WHERE username = '{username}' "
                    f"AND password_hash = '{digest(password)}'")).first()
            else:
                row = conn.execute(text("SELECT username FROM accounts WHERE username = :u AND password_hash = :h"),
                                   {"u": username, "h": digest(password)}).first()
    except SQLAlchemyError as exc:
        return store_error(exc)
    if row is None:
        return error(401, "invalid credentials")
    return respond({"user": row[0]})


# --- DynamoDB expressions ----------------------------------------------------
FILTERABLE = {"category", "state", "total"}


@app.get("/api/orders")
def orders():
    field = request.args.get("field")
    value = request.args.get("value", "")
    if not field:
        return error(400, "field is required")
    try:
        if VULNERABLE:
            found = dynamo.scan_all(tables("orders"),
                                    FilterExpression=f"owner_id = :me AND {field} = :v",
                                    ExpressionAttributeValues={":me": g.user, ":v": value})
        else:
            if field not in FILTERABLE:
                return error(400, "unknown field")
            found = dynamo.scan_all(tables("orders"),
                                    FilterExpression=Attr("owner_id").eq(g.user) & Attr(field).eq(value))
    except ClientError as exc:
        return store_error(exc)
    found.sort(key=lambda o: o["order_id"])
    return respond({"items": [{"order_id": o["order_id"], "owner": o["owner_id"], "category": o["category"],
                               "state": o["state"], "total": o["total"]} for o in found],
                    "count": len(found)})


# --- MongoDB operators (mongomock) ------------------------------------------
BRACKETS = re.compile(r"^([^\[\]]+)\[([^\[\]]+)\]$")


def nested_args(args) -> dict:
    """Query strings parsed the way Express's ``qs`` does: ``tag[$ne]=x`` is
    ``{"tag": {"$ne": "x"}}``."""
    out: dict = {}
    for key, value in args.items():
        match = BRACKETS.match(key)
        if match:
            out.setdefault(match.group(1), {})
            if isinstance(out[match.group(1)], dict):
                out[match.group(1)][match.group(2)] = value
        else:
            out[key] = value
    return out


@app.get("/api/notes")
def notes():
    if VULNERABLE:
        tag = nested_args(request.args).get("tag", "")
    else:
        tag = request.args.get("tag", "")
    try:
        found = list(mongo.notes.find({"owner": g.user, "tag": tag}).sort("note_id"))
    except (mongomock.OperationFailure, TypeError, ValueError) as exc:
        return store_error(exc)
    return respond({"notes": [{"note_id": n["note_id"], "owner": n["owner"], "tag": n["tag"], "text": n["text"]}
                              for n in found]})


@app.post("/api/session")
def session_login():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "a JSON object is required")
    username, password = body.get("username"), body.get("password")
    if not VULNERABLE and not (isinstance(username, str) and isinstance(password, str)):
        return error(400, "username and password must be strings")
    try:
        user = mongo.users.find_one({"username": username, "password": password})
    except (mongomock.OperationFailure, TypeError, ValueError) as exc:
        return store_error(exc)
    if user is None:
        return error(401, "invalid credentials")
    return respond({"user": user["username"], "token": "session-" + user["username"]})


# --- Templates ----------------------------------------------------------------
@app.get("/api/greeting")
def greeting():
    name = request.args.get("name", "stranger")
    if VULNERABLE:
        rendered = render_template_string("Hello " + name + "!")
    else:
        rendered = render_template_string("Hello {{ name }}!", name=name)
    return respond({"greeting": rendered})


# --- Shell commands -------------------------------------------------------------
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@app.get("/api/admin/backups/size")
def backup_size():
    name = request.args.get("name", "daily")
    if VULNERABLE:
        result = subprocess.run(f"du -sk {BACKUPS}/{name}", shell=True, capture_output=True, text=True, timeout=10)
    else:
        if not SAFE_NAME.match(name):
            return error(400, "invalid backup name")
        result = subprocess.run(["du", "-sk", "--", os.path.join(BACKUPS, name)],
                                capture_output=True, text=True, timeout=10)
    return respond({"output": result.stdout.strip(), "ok": result.returncode == 0})


@app.get("/api/admin/dns")
def dns_check():
    host = request.args.get("host", "localhost")
    if VULNERABLE:
        subprocess.run(f"getent hosts {host} > /dev/null", shell=True, timeout=10)
    else:
        if not re.match(r"^[A-Za-z0-9.-]{1,253}$", host):
            return error(400, "invalid host")
        subprocess.run(["getent", "hosts", "--", host], capture_output=True, timeout=10)
    # The answer never depends on the lookup: only time can tell.
    return respond({"status": "checked"})


# --- Files ------------------------------------------------------------------------
@app.get("/api/docs")
def docs():
    name = request.args.get("name", "guide.txt")
    if VULNERABLE:
        path = os.path.join(DOCS, name)
    else:
        path = safe_join(DOCS, name)
        if path is None:
            return error(404, "no such document")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return respond({"name": name, "content": handle.read(4096)})
    except OSError:
        return error(404, "no such document")


# --- Fetching URLs --------------------------------------------------------------
ALLOWED_IMAGE_HOSTS = {"images.example.com"}
CANNED_IMAGE = {"content_type": "image/png", "size": 1024}


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def fetch_image(url: str):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return error(400, "not an http(s) URL")
    if not VULNERABLE and parts.hostname not in ALLOWED_IMAGE_HOSTS:
        return error(400, "image host not allowed")
    if not loopback(parts.hostname):
        # The test target never leaves the machine: other hosts get a canned image.
        return respond({"url": url, **CANNED_IMAGE})
    with urllib.request.urlopen(url, timeout=3) as fetched:  # noqa: S310 - the planted flaw
        body = fetched.read(4096)
        return respond({"url": url, "content_type": fetched.headers.get("Content-Type"), "size": len(body),
                        "preview": body[:200].decode("utf-8", "replace")})


@app.get("/api/images/preview")
def image_preview():
    try:
        return fetch_image(request.args.get("url", ""))
    except OSError as exc:
        return error(502, f"fetch failed: {type(exc).__name__}")


@app.post("/api/users/me/avatar")
def avatar():
    body = request.get_json(silent=True) or {}
    url = body.get("image_url")
    if not isinstance(url, str):
        return error(400, "image_url must be a string")
    try:
        return fetch_image(url)
    except OSError as exc:
        return error(502, f"fetch failed: {type(exc).__name__}")


# --- E-mail validation ------------------------------------------------------------
# Nested quantifiers: `([.-]?\w+)*` can split a run of letters in exponentially
# many ways when the match fails at the end.
EVIL_EMAIL = re.compile(r"^\w+([.-]?\w+)*@\w+([.-]?\w+)*(\.\w{2,3})+$")
LINEAR_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[A-Za-z]{2,24}")


@app.get("/api/users/me")
def me():
    return respond({"username": g.user, **profiles[g.user]})


@app.patch("/api/users/me")
def update_me():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "a JSON object is required")
    email = body.get("email", profiles[g.user]["email"])
    name = body.get("display_name", profiles[g.user]["display_name"])
    if not isinstance(email, str) or not isinstance(name, str):
        return error(400, "email and display_name must be strings")
    if VULNERABLE:
        valid = EVIL_EMAIL.match(email) is not None
    else:
        valid = len(email) <= 254 and LINEAR_EMAIL.fullmatch(email) is not None
    if not valid or len(name) > 80:
        return error(400, "invalid email or display name")
    profiles[g.user] = {"display_name": name, "email": email}
    return respond({"username": g.user, **profiles[g.user]})


# ---------------------------------------------------------------------------
# OpenAPI
# ---------------------------------------------------------------------------
def q(name: str, example, schema: dict | None = None, required: bool = True, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required, "example": example,
            "schema": schema or {"type": "string"}}


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Injection target", "version": "1.0"},
    "components": {
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        "schemas": {"Error": openapi.ERROR_SCHEMA, "Any": {"type": "object"}},
    },
    "security": [{"key": []}],
    "paths": {
        "/api/posts/{title}": {"get": {"parameters": [q("title", "Hello world", where="path")],
                                       "responses": openapi.ok("Any")}},
        "/api/posts": {"get": {"parameters": [q("author", "ada")], "responses": openapi.ok("Any")}},
        "/api/items/{item_id}": {"get": {"parameters": [q("item_id", 1, {"type": "integer"}, where="path")],
                                         "responses": openapi.ok("Any")}},
        "/api/login": {"post": {"security": [], "responses": openapi.ok("Any"), "requestBody": {"content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                "username": {"type": "string", "example": "alice"},
                "password": {"type": "string", "example": "not-the-password"}}}}}}}},
        "/api/orders": {"get": {"parameters": [q("field", "category"), q("value", "books")],
                                "responses": openapi.ok("Any")}},
        "/api/notes": {"get": {"parameters": [q("tag", "work")], "responses": openapi.ok("Any")}},
        "/api/session": {"post": {"security": [], "responses": openapi.ok("Any"), "requestBody": {"content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "username": {"type": "string", "example": "alice"},
                "password": {"type": "string", "example": "not-the-password"}}}}}}}},
        "/api/greeting": {"get": {"parameters": [q("name", "Ada")], "responses": openapi.ok("Any")}},
        "/api/admin/backups/size": {"get": {"parameters": [q("name", "daily")], "responses": openapi.ok("Any")}},
        "/api/admin/dns": {"get": {"parameters": [q("host", "localhost", {"type": "string", "format": "hostname"})],
                                   "responses": openapi.ok("Any")}},
        "/api/docs": {"get": {"parameters": [q("name", "guide.txt")], "responses": openapi.ok("Any")}},
        "/api/images/preview": {"get": {"parameters": [
            q("url", "https://images.example.com/cat.png", {"type": "string", "format": "uri"})],
            "responses": openapi.ok("Any")}},
        "/api/users/me/avatar": {"post": {"responses": openapi.ok("Any"), "requestBody": {"content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "image_url": {"type": "string", "format": "uri", "example": "https://images.example.com/me.png"}}}}}}}},
        "/api/users/me": {
            "get": {"responses": openapi.ok("Any")},
            "patch": {"responses": openapi.ok("Any"), "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "display_name": {"type": "string", "example": "Alice"},
                    "email": {"type": "string", "format": "email", "example": "alice@example.com"}}}}}}},
        },
    },
}


@app.get("/openapi.json")
def spec():
    return respond(SPEC)


if __name__ == "__main__":
    serve(app, PORT, f"injection target ({TWIN}) on 127.0.0.1:{PORT}", setup=seed)
