"""Rampart test target: tokens and sessions (check family ``token.*``).

One Flask app; env ``VARIANT`` chooses what authenticates the callers and
``TWIN`` whether it is planted with the weakness or fixed:

============== ========================================= =====================================
VARIANT        vulnerable                                fixed
============== ========================================= =====================================
jwt-weak       HS256 (PyJWT), secret a dictionary word,  random 32-byte secret, 15 minutes,
               tokens valid 30 days (exp checked);       logout puts the token's jti on a
               logout forgets nothing                    denylist
jwt-numeric    HS256, secret a six-digit number, no      random secret, ``exp`` required
               ``exp``, expiry not checked
jwt-alg        ``alg`` taken from the token's header:    ``algorithms=["HS256"]``
               ``none`` (any case) decoded unverified
jwt-unverified ``verify_signature: False``               verified, ``exp`` required
jwt-kid        key read from ``keys/<kid>`` (path        ``kid`` looked up in a dict
               traversal: ``/dev/null`` is an empty key)
session        Flask session, ``SECRET_KEY`` a default   random 32-byte ``SECRET_KEY``
links          report links signed with                  random secret, ``max_age=300``
               ``URLSafeTimedSerializer``, a guessable
               secret, no ``max_age``
============== ========================================= =====================================

Every variant serves ``GET /api/me`` (the caller) and ``GET /api/orders``
(the caller's orders), ``POST /api/login`` (``{"username", "password"}`` ->
``{"token"}``, or a session cookie) and ``POST /api/logout``; ``links`` also
``GET /api/reports`` (the caller's reports with signed download links, API
key ``X-API-Key``) and ``GET /api/reports/download?token=``. ``GET
/openapi.json`` describes them.

Test-only routes (none in the OpenAPI document): ``GET
/__test__/credential/<user>[?expired=1]`` -> ``{"header", "value"}``, the
credential a user authenticates with (an expired JWT on request), and those
of ``common/testing.py`` (request counts per method).

Environment: ``VARIANT``, ``TWIN`` (vulnerable | fixed), ``PORT``.
Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import jwt  # noqa: E402
from flask import request, session  # noqa: E402
from itsdangerous import BadSignature, URLSafeTimedSerializer  # noqa: E402

from common import openapi, testing  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import create_app, error, respond, serve  # noqa: E402

# PyJWT warns about short HMAC keys; the vulnerable twins use them on purpose.
warnings.simplefilter("ignore")

TWIN, VULNERABLE, PORT = twin_and_port()
VARIANT = os.environ.get("VARIANT", "").strip()
VARIANTS = ("jwt-weak", "jwt-numeric", "jwt-alg", "jwt-unverified", "jwt-kid", "session", "links")
if VARIANT not in VARIANTS:
    sys.exit(f"VARIANT must be one of {', '.join(VARIANTS)}, got {VARIANT!r}")

STRONG = secrets.token_urlsafe(32)
SECRETS = {
    "jwt-weak": "supersecret",
    "jwt-numeric": "493817",
    "session": "changeme",
    "links": "development",
}
SECRET = SECRETS.get(VARIANT, STRONG) if VULNERABLE else STRONG

USERS = {
    "alice": {"id": 1, "username": "alice", "email": "alice@example.test", "plan": "pro", "password": "alice-pw-1"},
    "bob": {"id": 2, "username": "bob", "email": "bob@example.test", "plan": "free", "password": "bob-pw-2"},
}
BY_ID = {u["id"]: u for u in USERS.values()}
ORDERS = {1: [{"order_id": 7001, "item": "lamp", "owner_id": 1}],
          2: [{"order_id": 8001, "item": "desk", "owner_id": 2}]}
REPORTS = {1: {"report_id": "r-alice-1", "user_id": 1, "body": "alice's quarterly numbers"},
           2: {"report_id": "r-bob-1", "user_id": 2, "body": "bob's quarterly numbers"}}
API_KEYS = {"ak_alice_tok_51c2": 1, "ak_bob_tok_93e7": 2}

# Revoked token ids (the fixed jwt-weak twin's logout).
REVOKED: set = set()
REVOKED_LOCK = threading.Lock()

# jwt-kid: keys on disk, one file per kid, in the working directory (the
# harness runs each target in its own scratch directory).
KEY_DIR = os.path.abspath("token-keys")
os.makedirs(KEY_DIR, exist_ok=True)
with open(os.path.join(KEY_DIR, "k1"), "w", encoding="utf-8") as f:
    f.write(SECRET)
KEYS_BY_KID = {"k1": SECRET}

app = create_app(__name__, TWIN)
app.secret_key = SECRET if VARIANT == "session" else STRONG
counters = testing.instrument(app, TWIN)
links = URLSafeTimedSerializer(SECRET)


def public(user: dict) -> dict:
    return {k: v for k, v in user.items() if k != "password"}


# --- issuing ---------------------------------------------------------------------


def issue(user: dict, expired: bool = False) -> str:
    now = int(time.time())
    claims = {"sub": str(user["id"]), "username": user["username"], "iat": now}
    headers = None
    if VARIANT == "jwt-weak":
        claims["exp"] = now + (30 * 86400 if VULNERABLE else 900)
        claims["jti"] = secrets.token_hex(8)
    elif VARIANT == "jwt-numeric":
        if not VULNERABLE:
            claims["exp"] = now + 900
    else:
        claims["exp"] = now + 900
    if VARIANT == "jwt-kid":
        headers = {"kid": "k1"}
    if expired:
        claims["iat"] = now - 7200
        claims["exp"] = now - 3600
    return jwt.encode(claims, SECRET, algorithm="HS256", headers=headers)


# --- verifying -------------------------------------------------------------------


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_with_kid(token: str) -> dict:
    """jwt-kid: the key is the file the token's kid names (vulnerable) or
    the dict entry (fixed). Verified by hand: HS256 only."""
    header = jwt.get_unverified_header(token)
    kid = str(header.get("kid", ""))
    if VULNERABLE:
        with open(os.path.join(KEY_DIR, kid), "rb") as key_file:
            key = key_file.read()
    else:
        if kid not in KEYS_BY_KID:
            raise jwt.InvalidTokenError("unknown kid")
        key = KEYS_BY_KID[kid].encode()
    if header.get("alg") != "HS256":
        raise jwt.InvalidTokenError("HS256 only")
    head, payload, signature = token.split(".")
    expected = hmac.new(key, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, b64decode(signature)):
        raise jwt.InvalidSignatureError("bad signature")
    claims = json.loads(b64decode(payload))
    if int(claims.get("exp", 0)) < time.time():
        raise jwt.ExpiredSignatureError("expired")
    return claims


def decode(token: str) -> dict:
    if VARIANT == "jwt-kid":
        return verify_with_kid(token)
    if VARIANT == "jwt-weak":
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        with REVOKED_LOCK:
            if claims.get("jti") in REVOKED:
                raise jwt.InvalidTokenError("revoked")
        return claims
    if VARIANT == "jwt-numeric":
        if VULNERABLE:
            return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
        return jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp"]})
    if VARIANT == "jwt-alg":
        if VULNERABLE:
            alg = jwt.get_unverified_header(token).get("alg", "")
            if str(alg).lower() == "none":
                return jwt.decode(token, options={"verify_signature": False})
            return jwt.decode(token, SECRET, algorithms=[alg])
        return jwt.decode(token, SECRET, algorithms=["HS256"])
    if VARIANT == "jwt-unverified":
        if VULNERABLE:
            return jwt.decode(token, options={"verify_signature": False})
        return jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp"]})
    raise jwt.InvalidTokenError("no JWT in this variant")


def current_user():
    """The caller, or None."""
    if VARIANT == "session":
        user_id = session.get("user_id")
        return BY_ID.get(user_id)
    if VARIANT == "links":
        return BY_ID.get(API_KEYS.get(request.headers.get("X-API-Key", "")))
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    try:
        claims = decode(auth[len("Bearer "):].strip())
    except (jwt.PyJWTError, ValueError, OSError, KeyError, TypeError, json.JSONDecodeError):
        return None
    try:
        return BY_ID.get(int(claims.get("sub", "")))
    except (TypeError, ValueError):
        return None


# --- routes ----------------------------------------------------------------------


@app.get("/api/me")
def me():
    user = current_user()
    if user is None:
        return error(401, "authentication required")
    return respond(public(user))


@app.get("/api/orders")
def orders():
    user = current_user()
    if user is None:
        return error(401, "authentication required")
    return respond({"orders": ORDERS[user["id"]]})


@app.post("/api/login")
def login():
    body = request.get_json(silent=True) or {}
    user = USERS.get(str(body.get("username", "")))
    if user is None or not hmac.compare_digest(user["password"], str(body.get("password", ""))):
        return error(401, "bad credentials")
    if VARIANT == "session":
        session["user_id"] = user["id"]
        return respond({"status": "logged in"})
    if VARIANT == "links":
        return error(404, "log in with an API key")
    return respond({"token": issue(user)})


@app.post("/api/logout")
def logout():
    if VARIANT == "session":
        session.clear()
        return respond({"status": "logged out"})
    auth = request.headers.get("Authorization", "")
    if not VULNERABLE and VARIANT == "jwt-weak" and auth.startswith("Bearer "):
        try:
            claims = decode(auth[len("Bearer "):].strip())
        except jwt.PyJWTError:
            return error(401, "authentication required")
        with REVOKED_LOCK:
            REVOKED.add(claims.get("jti"))
    # The vulnerable twins only ask the client to forget its token.
    return respond({"status": "logged out"})


@app.get("/api/reports")
def reports():
    if VARIANT != "links":
        return error(404, "not found")
    user = current_user()
    if user is None:
        return error(401, "authentication required")
    report = REPORTS[user["id"]]
    token = links.dumps({"report_id": report["report_id"], "user_id": user["id"]})
    return respond({"reports": [{"report_id": report["report_id"],
                                 "download_url": f"/api/reports/download?token={token}"}]})


@app.get("/api/reports/download")
def download():
    if VARIANT != "links":
        return error(404, "not found")
    token = request.args.get("token", "")
    try:
        payload = links.loads(token) if VULNERABLE else links.loads(token, max_age=300)
    except BadSignature:
        return error(403, "invalid link")
    report = REPORTS.get(payload.get("user_id"))
    if report is None or report["report_id"] != payload.get("report_id"):
        return error(404, "no such report")
    return respond(report)


@app.get("/__test__/credential/<name>")
def test_credential(name):
    user = USERS.get(name)
    if user is None:
        return error(404, "no such user")
    if VARIANT == "session":
        cookie = app.session_interface.get_signing_serializer(app).dumps({"user_id": user["id"]})
        return respond({"header": "Cookie", "value": f"session={cookie}"})
    if VARIANT == "links":
        key = next(k for k, v in API_KEYS.items() if v == user["id"])
        return respond({"header": "X-API-Key", "value": key})
    token = issue(user, expired=request.args.get("expired") == "1")
    return respond({"header": "Authorization", "value": f"Bearer {token}"})


def spec() -> dict:
    ok = openapi.ok
    paths = {
        "/api/me": {"get": {"operationId": "me", "responses": {**ok("User"), "401": openapi.err("no credentials")}}},
        "/api/orders": {"get": {"operationId": "orders", "responses": {**ok("Orders"), "401": openapi.err("no credentials")}}},
        "/api/login": {"post": {"operationId": "login", "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
            "responses": {**ok("Token"), "401": openapi.err("bad credentials")}}},
        "/api/logout": {"post": {"operationId": "logout", "responses": ok("Status")}},
    }
    if VARIANT == "links":
        paths["/api/reports"] = {"get": {"operationId": "reports", "responses": ok("Reports")}}
        paths["/api/reports/download"] = {"get": {"operationId": "download", "parameters": [
            {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {**ok("Report"), "403": openapi.err("invalid link")}}}
    obj = {"type": "object"}
    return {
        "openapi": "3.0.3",
        "info": {"title": f"Rampart token target ({VARIANT}, {TWIN})", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"User": obj, "Orders": obj, "Token": obj, "Status": obj, "Reports": obj,
                                   "Report": obj, "Error": openapi.ERROR_SCHEMA}},
    }


@app.get("/openapi.json")
def openapi_json():
    return respond(spec())


if __name__ == "__main__":
    serve(app, PORT, f"token target variant={VARIANT} twin={TWIN} port={PORT}")
