"""Rampart test target: SQL injection in a FastAPI service on a real database
server, PostgreSQL (psycopg 3) or MariaDB (PyMySQL), chosen by env ``DB``.

One app, two twins chosen by env ``TWIN``, same routes and data on either
database:

* ``vulnerable`` - SQL built with f-strings: a product id in the path
  (errors hidden: blind, boolean), a category in the query string (the
  driver's error returned as ``detail``), a region header (errors hidden),
  an audit lookup whose answer never depends on the query (time only), and
  a JSON search body (error returned).
* ``fixed``      - the same queries with bound parameters (``%s``) and typed
  parameters.

Environment:
    TWIN      vulnerable | fixed                         (required)
    PORT      TCP port, bound on 127.0.0.1               (required)
    DB        postgresql | mariadb                       (required)
    DB_PORT   the database server's port on 127.0.0.1    (required)
    DB_NAME   the twin's database, created if missing    (default "injection_<TWIN>")

Test-only routes (``common/testing.py``): ``GET /__test__/methods``,
``POST /__test__/reset[?counters=1]`` and ``GET /__test__/data`` (a digest of
the tables, to prove a scan changed nothing).

Run: ``python sql_app.py`` (the Rust harness and scripts/bench-injection do this).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from contextlib import contextmanager
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import uvicorn  # noqa: E402
from fastapi import Body, FastAPI, Header, HTTPException  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

from common import testing, watchdog  # noqa: E402
from common.twin import twin_and_port  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
DB = os.environ.get("DB", "")
DB_PORT = int(os.environ.get("DB_PORT", "0") or 0)
DB_NAME = os.environ.get("DB_NAME", f"injection_{TWIN}")
if DB not in ("postgresql", "mariadb") or not DB_PORT:
    sys.exit("DB must be postgresql or mariadb and DB_PORT the server's port")

if DB == "postgresql":
    import psycopg

    DatabaseError = psycopg.Error

    def connect(database: str):
        return psycopg.connect(host="127.0.0.1", port=DB_PORT, user="postgres", dbname=database,
                               autocommit=True, connect_timeout=5)
else:
    import pymysql

    DatabaseError = pymysql.MySQLError

    def connect(database: Optional[str]):
        return pymysql.connect(host="127.0.0.1", port=DB_PORT, user="root", password="", database=database,
                               autocommit=True, connect_timeout=5)

PRODUCTS = [
    (1, "Hammer", "tools", "eu"),
    (2, "Wrench", "tools", "us"),
    (3, "Teapot", "kitchen", "eu"),
    (4, "Kettle", "kitchen", "us"),
    (5, "Notebook", "office", "eu"),
]
STORES = [(1, "Berlin", "eu"), (2, "Lisbon", "eu"), (3, "Boston", "us")]
AUDIT = [(1, "alice", "login"), (2, "bob", "login"), (3, "alice", "export")]


def create_database() -> None:
    if DB == "postgresql":
        with connect("postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    else:
        conn = connect(None)
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{DB_NAME}`")
        conn.close()


@contextmanager
def cursor():
    conn = connect(DB_NAME)
    try:
        if DB == "postgresql":
            with conn.cursor() as cur:
                yield cur
        else:
            with conn.cursor() as cur:
                yield cur
    finally:
        conn.close()


def seed() -> None:
    with cursor() as cur:
        for table in ("products", "stores", "audit_log"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(40), category VARCHAR(40), "
                    "region VARCHAR(8))")
        cur.execute("CREATE TABLE stores (id INTEGER PRIMARY KEY, city VARCHAR(40), region VARCHAR(8))")
        cur.execute("CREATE TABLE audit_log (id INTEGER PRIMARY KEY, username VARCHAR(40), action VARCHAR(40))")
        for row in PRODUCTS:
            cur.execute("INSERT INTO products VALUES (%s, %s, %s, %s)", row)
        for row in STORES:
            cur.execute("INSERT INTO stores VALUES (%s, %s, %s)", row)
        for row in AUDIT:
            cur.execute("INSERT INTO audit_log VALUES (%s, %s, %s)", row)


def rows(query: str, params: tuple = ()) -> list:
    with cursor() as cur:
        cur.execute(query, params) if params else cur.execute(query)
        return list(cur.fetchall())


def product(row) -> dict:
    return {"id": row[0], "name": row[1], "category": row[2], "region": row[3]}


app = FastAPI(title="Injection SQL target", version="1.0", openapi_url=None, docs_url=None, redoc_url=None)
testing.instrument_asgi(app, TWIN, reset=seed)


@app.middleware("http")
async def mark(request, call_next):
    response = await call_next(request)
    response.headers["X-Rampart-Twin"] = TWIN
    response.headers["Cache-Control"] = "no-store"
    return response


@app.get("/api/health")
def health():
    return {"status": "ok", "twin": TWIN, "db": DB}


@app.get("/__test__/data")
def test_data():
    state = {t: [list(map(str, r)) for r in rows(f"SELECT * FROM {t} ORDER BY 1")]
             for t in ("products", "stores", "audit_log")}
    blob = json.dumps(state, sort_keys=True).encode()
    return {"sha256": hashlib.sha256(blob).hexdigest(), "sizes": {k: len(v) for k, v in state.items()}}


def hidden(exc: Exception):
    """Errors the twin does not show."""
    raise HTTPException(status_code=500, detail="internal error") from exc


def shown(exc: Exception):
    """Vulnerable: the driver's message as the detail. Fixed: generic."""
    if VULNERABLE:
        raise HTTPException(status_code=500, detail=f"{type(exc).__module__}.{type(exc).__name__}: {exc}") from exc
    hidden(exc)


if VULNERABLE:
    @app.get("/api/products/{product_id}")
    def product_by_id(product_id: str):
        try:
            found = rows(f"SELECT id, name, category, region FROM products WHERE id = {product_id}")
        except DatabaseError as exc:
            hidden(exc)
        if not found:
            raise HTTPException(status_code=404, detail="no such product")
        return product(found[0])
else:
    @app.get("/api/products/{product_id}")
    def product_by_id(product_id: int):
        found = rows("SELECT id, name, category, region FROM products WHERE id = %s", (product_id,))
        if not found:
            raise HTTPException(status_code=404, detail="no such product")
        return product(found[0])


@app.get("/api/products")
def products(category: str):
    try:
        if VULNERABLE:
            found = rows(f"SELECT id, name, category, region FROM products WHERE category = '{category}' ORDER BY id")
        else:
            found = rows("SELECT id, name, category, region FROM products WHERE category = %s ORDER BY id",
                         (category,))
    except DatabaseError as exc:
        shown(exc)
    return {"products": [product(r) for r in found]}


@app.get("/api/stores")
def stores(x_region: str = Header("eu")):
    try:
        if VULNERABLE:
            found = rows(f"SELECT id, city, region FROM stores WHERE region = '{x_region}' ORDER BY id")
        else:
            found = rows("SELECT id, city, region FROM stores WHERE region = %s ORDER BY id", (x_region,))
    except DatabaseError as exc:
        hidden(exc)
    return {"stores": [{"id": r[0], "city": r[1], "region": r[2]} for r in found]}


@app.get("/api/audit")
def audit(user: str):
    try:
        if VULNERABLE:
            rows(f"SELECT count(*) FROM audit_log WHERE username = '{user}'")
        else:
            rows("SELECT count(*) FROM audit_log WHERE username = %s", (user,))
    except DatabaseError:
        pass
    # The answer never depends on the query: only time can tell.
    return {"status": "recorded"}


@app.post("/api/products/search")
def search(body: dict = Body(...)):
    name = body.get("name")
    if not isinstance(name, str):
        raise HTTPException(status_code=400, detail="name must be a string")
    try:
        if VULNERABLE:
            found = rows(f"SELECT id, name, category, region FROM products WHERE name = '{name}'")
        else:
            found = rows("SELECT id, name, category, region FROM products WHERE name = %s", (name,))
    except DatabaseError as exc:
        shown(exc)
    return {"products": [product(r) for r in found]}


def spec_document() -> dict:
    document = app.openapi()
    # FastAPI leaves examples out of the generated document; add the ones a
    # client would read in the docs.
    examples = {("/api/products/{product_id}", "product_id"): 1, ("/api/products", "category"): "tools",
                ("/api/stores", "x-region"): "eu", ("/api/audit", "user"): "alice"}
    for path, item in document.get("paths", {}).items():
        if path.startswith("/__test__"):
            continue
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                example = examples.get((path, parameter["name"]))
                if example is not None:
                    parameter["example"] = example
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                body["example"] = {"name": "Hammer"}
    document["paths"] = {p: v for p, v in document["paths"].items() if not p.startswith("/__test__")}
    return document


@app.get("/openapi.json", include_in_schema=False)
def openapi_json():
    return JSONResponse(spec_document())


if __name__ == "__main__":
    watchdog.start()
    create_database()
    seed()
    print(f"injection SQL target ({TWIN}, {DB}) on 127.0.0.1:{PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning", access_log=False)
