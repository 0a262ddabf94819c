"""Rampart test target: RS256 JWTs and a published JWKS on FastAPI
(check ``token.jwt-alg-confusion``).

Tokens are RS256-signed with a key made at startup; the public key is
published at ``GET /.well-known/jwks.json``. Twins chosen by env ``TWIN``:

* ``vulnerable`` - a hand-written verifier dispatches on the token's own
  ``alg``: ``HS*`` tokens are checked with HMAC keyed with the public key's
  PEM text, as old JWT libraries did (algorithm confusion);
* ``fixed``      - ``jwt.decode(token, public_key, algorithms=["RS256"])``.

Routes: ``GET /api/me``, ``GET /api/orders`` (bearer token),
``GET /.well-known/jwks.json``, FastAPI's own ``GET /openapi.json``, and the
test-only ``GET /__test__/credential/<user>`` (not in the OpenAPI document)
-> ``{"header", "value"}``.

Environment: ``TWIN`` (vulnerable | fixed), ``PORT``.
Run: ``python fastapi_app.py`` (the Rust harness does this; uvicorn serves
it on 127.0.0.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import jwt  # noqa: E402
import uvicorn  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from fastapi import FastAPI, Header, HTTPException  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

from common import watchdog  # noqa: E402
from common.twin import twin_and_port  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
KID = "rsa-1"
PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_KEY = PRIVATE_KEY.public_key()
PUBLIC_PEM = PUBLIC_KEY.public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PUBLIC_KEY)), "kid": KID, "alg": "RS256", "use": "sig"}

USERS = {
    "alice": {"id": 1, "username": "alice", "email": "alice@example.test", "plan": "pro"},
    "bob": {"id": 2, "username": "bob", "email": "bob@example.test", "plan": "free"},
}
BY_ID = {u["id"]: u for u in USERS.values()}
ORDERS = {1: [{"order_id": 7001, "item": "lamp", "owner_id": 1}],
          2: [{"order_id": 8001, "item": "desk", "owner_id": 2}]}

app = FastAPI(title=f"Rampart RS256 target ({TWIN})")


@app.middleware("http")
async def mark(request, call_next):
    response = await call_next(request)
    response.headers["X-Rampart-Twin"] = TWIN
    response.headers["Cache-Control"] = "no-store"
    return response


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def confused_decode(token: str) -> dict:
    """The vulnerable verifier: whatever the header says, with one key."""
    header = jwt.get_unverified_header(token)
    alg = str(header.get("alg", ""))
    if alg.startswith("HS"):
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg)
        if digest is None:
            raise jwt.InvalidAlgorithmError(alg)
        head, payload, signature = token.split(".")
        expected = hmac.new(PUBLIC_PEM, f"{head}.{payload}".encode(), digest).digest()
        if not hmac.compare_digest(expected, b64decode(signature)):
            raise jwt.InvalidSignatureError("bad signature")
        claims = json.loads(b64decode(payload))
        if int(claims.get("exp", 0)) < time.time():
            raise jwt.ExpiredSignatureError("expired")
        return claims
    return jwt.decode(token, PUBLIC_KEY, algorithms=[alg])


def caller(authorization: str | None) -> dict:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(status_code=401, detail="authentication required")
    token = authorization[len("Bearer "):].strip()
    try:
        if VULNERABLE:
            claims = confused_decode(token)
        else:
            claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"])
        user = BY_ID.get(int(claims.get("sub", "")))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, json.JSONDecodeError):
        user = None
    if user is None:
        raise HTTPException(status_code=401, detail="invalid token")
    return user


@app.get("/api/health")
def health():
    return {"status": "ok", "twin": TWIN}


@app.get("/api/me")
def me(authorization: str | None = Header(default=None)):
    return caller(authorization)


@app.get("/api/orders")
def orders(authorization: str | None = Header(default=None)):
    return {"orders": ORDERS[caller(authorization)["id"]]}


@app.get("/.well-known/jwks.json")
def jwks():
    return {"keys": [JWK]}


@app.get("/__test__/credential/{name}", include_in_schema=False)
def test_credential(name: str):
    user = USERS.get(name)
    if user is None:
        return JSONResponse({"error": "no such user"}, status_code=404)
    now = int(time.time())
    token = jwt.encode({"sub": str(user["id"]), "username": name, "iat": now, "exp": now + 900},
                       PRIVATE_KEY, algorithm="RS256", headers={"kid": KID})
    return {"header": "Authorization", "value": f"Bearer {token}"}


@app.get("/__test__/methods", include_in_schema=False)
def test_methods():
    return {}


if __name__ == "__main__":
    watchdog.start()
    print(f"token fastapi target twin={TWIN} port={PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
