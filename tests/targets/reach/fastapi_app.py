"""Rampart test target: reach, FastAPI edition (an inventory API).

FastAPI publishes its own OpenAPI document at ``/openapi.json``: every
route is in it unless declared with ``include_in_schema=False`` — which is
how undocumented routes usually happen in FastAPI code. Items need an
``X-API-Key`` (a FastAPI dependency).

Twins (env ``TWIN``):

* ``vulnerable`` - ``GET /debug/vars`` (settings with a database URL and
  an AWS key) and ``GET /api/v1/items/{item_id}`` (the old version, no
  key) are left out of the schema; CORS allows every origin matching
  ``http://127\\.0\\.0\\.1.*`` with credentials (a regular expression that
  also matches ``http://127.0.0.1.attacker.example``); uvicorn's
  ``server: uvicorn`` header; the interactive docs at ``/docs``.
* ``fixed`` - neither hidden route; CORS for ``https://app.reach.example``
  only; no ``server`` header; ``nosniff`` on every answer; no ``/docs`` or
  ``/redoc``.

Test-only: ``GET /__test__/methods`` (requests per method, 404s included),
``POST /__test__/reset``. Run: ``python fastapi_app.py``.
"""

from __future__ import annotations

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import uvicorn  # noqa: E402
from fastapi import Depends, FastAPI, Header, HTTPException, Request  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402

from common import watchdog  # noqa: E402
from common.twin import twin_and_port  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()

KEYS = {"ak_alice_reachfa_5e1c": "alice", "ak_bob_reachfa_0b7d": "bob"}
ITEMS = {
    1: {"id": 1, "owner": "alice", "owner_email": "alice@reach-fa.example", "name": "pallet jack", "stock": 3},
    2: {"id": 2, "owner": "alice", "owner_email": "alice@reach-fa.example", "name": "label printer", "stock": 9},
    3: {"id": 3, "owner": "bob", "owner_email": "bob@reach-fa.example", "name": "barcode scanner", "stock": 4},
}

docs = {} if VULNERABLE else {"docs_url": None, "redoc_url": None}
app = FastAPI(title="Reach inventory", version="2.0.0", **docs)

_lock = threading.Lock()
_methods: dict = {}


@app.middleware("http")
async def count_and_harden(request: Request, call_next):
    path = request.url.path
    if not path.startswith("/__test__") and path.rstrip("/") != "/api/health":
        with _lock:
            _methods[request.method] = _methods.get(request.method, 0) + 1
    response = await call_next(request)
    response.headers["X-Rampart-Twin"] = TWIN
    response.headers.setdefault("Cache-Control", "no-store")
    if not VULNERABLE:
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


if VULNERABLE:
    app.add_middleware(CORSMiddleware, allow_origin_regex=r"http://127\.0\.0\.1.*",
                       allow_credentials=True, allow_methods=["*"], allow_headers=["*"])
else:
    app.add_middleware(CORSMiddleware, allow_origins=["https://app.reach.example"],
                       allow_credentials=True, allow_methods=["GET"], allow_headers=["X-API-Key"])


def require_key(x_api_key: str = Header(default="")) -> str:
    user = KEYS.get(x_api_key)
    if user is None:
        raise HTTPException(status_code=401, detail="authentication required")
    return user


@app.get("/api/health")
def health():
    return {"status": "ok", "twin": TWIN}


@app.get("/api/v2/me")
def me(user: str = Depends(require_key)):
    email = next(i["owner_email"] for i in ITEMS.values() if i["owner"] == user)
    return {"username": user, "email": email}


@app.get("/api/v2/items")
def my_items(user: str = Depends(require_key)):
    return [i for i in ITEMS.values() if i["owner"] == user]


@app.get("/api/v2/items/{item_id}", openapi_extra={"parameters": [
    {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}, "example": 1}]})
def item(item_id: int, user: str = Depends(require_key)):
    found = ITEMS.get(item_id)
    if found is None or found["owner"] != user:
        raise HTTPException(status_code=404, detail="no such item")
    return found


if VULNERABLE:

    @app.get("/debug/vars", include_in_schema=False)
    def debug_vars():
        return {"settings": {
            "database_url": "postgresql://inventory:Inv-db-Passw0rd-27@db.internal/inventory",
            "aws_access_key_id": "AKIAZ3REACHFASTAPI9K",
            "environment": "production",
        }}

    @app.get("/api/v1/items/{item_id}", include_in_schema=False)
    def item_v1(item_id: int):
        found = ITEMS.get(item_id)
        if found is None:
            raise HTTPException(status_code=404, detail="no such item")
        return found


@app.get("/__test__/methods", include_in_schema=False)
def test_methods():
    with _lock:
        return dict(_methods)


@app.post("/__test__/reset", include_in_schema=False)
def test_reset():
    with _lock:
        _methods.clear()
    return {"status": "reset"}


if __name__ == "__main__":
    watchdog.start()
    print(f"reach FastAPI target ({TWIN}) on 127.0.0.1:{PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning",
                server_header=VULNERABLE, date_header=True)
