"""Rampart test target: signed URLs and API keys (check families
``signing.*`` and ``apikey.*``).

Reports are downloaded through itsdangerous-signed URLs handed out by
``GET /api/me``; every other route authenticates with an API key.

One Flask app, two twins chosen by env ``TWIN``:

* ``vulnerable`` - the signed token covers only ``{"report": "monthly"}``
  while the report owner travels as a plain ``user_id`` query parameter
  (re-target it to read anyone's report); the token is optional (``if
  token:``), never expires (``loads`` without ``max_age``), is accepted from
  any caller or none, and the view sits behind a Flask-Caching entry keyed on
  the query string *without* the rotating ``token``, looked up before the
  signature is verified (a corrupted token on an already-fetched URL gets the
  cached 200).  API keys are also read from ``?api_key=`` and from an
  ``api_key`` cookie, and ``GET /api/keys/current`` echoes the caller's key.
* ``fixed``      - the token signs ``{"user_id": <id>}``; the download needs a
  valid ``X-API-Key``, verifies the token first with ``max_age=3600``, takes
  the owner from the signed payload (a ``user_id`` parameter must match it)
  and requires it to be the caller; no cache in front of verification (the
  report is memoised on the verified user id).  Keys only in ``X-API-Key``;
  ``/api/keys/current`` shows the last four characters.

See README.md next to this file for the case matrix.

Environment:
    TWIN               vulnerable | fixed            (required)
    PORT               TCP port, bound on 127.0.0.1  (required)
    DYNAMODB_ENDPOINT  http://127.0.0.1:<moto port>  (required)
    TABLE_PREFIX       DynamoDB table-name prefix    (default "signing-<TWIN>":
                       the twins use different key types, N vs S, so they
                       must not share tables)

Tables ``<prefix>-users`` (hash ``user_id``), ``<prefix>-reports`` (hash
``owner_id``: one report per user) and ``<prefix>-credentials`` (hash
``credential``: ``apikey:<key>`` -> ``user_id``, ``api_key``), seeded at
startup.

Test-only routes (``common/testing.py``): ``POST /__test__/reset`` restores
the seed users and reports and empties the report cache.

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from flask import g, request  # noqa: E402
from flask_caching import Cache  # noqa: E402
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer  # noqa: E402

from common import dynamo, openapi, testing  # noqa: E402
from common.twin import parse_id as parse_twin_id, twin_and_port  # noqa: E402
from common.web import create_app, error, respond, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
PREFIX = os.environ.get("TABLE_PREFIX", f"signing-{TWIN}")
ID_TYPE = "N" if VULNERABLE else "S"
tables = dynamo.Tables(PREFIX)


# --------------------------------------------------------------------------
# Seed data (fixed values; the Rust tests use them).
# --------------------------------------------------------------------------
ALICE_KEY = "ak_alice_sign_7a1e"
BOB_KEY = "ak_bob_sign_c3d9"

if VULNERABLE:
    ALICE_ID, BOB_ID = 1, 2
else:
    ALICE_ID = "5b0c7e52-8f3a-4d61-9c2e-a17d3f4e8b90"
    BOB_ID = "c84e19d7-2b6f-4a35-b0d8-6e2f9a1c7d43"

USERS = [
    {"user_id": ALICE_ID, "username": "alice", "email": "alice@signing-reports.example"},
    {"user_id": BOB_ID, "username": "bob", "email": "bob@signing-reports.example"},
]
KEYS = {ALICE_KEY: ALICE_ID, BOB_KEY: BOB_ID}


def seed_reports() -> list:
    return [
        {
            "owner_id": ALICE_ID,
            "report_id": "rpt-alice-2024-05",
            "title": "Monthly statement for alice (May 2024)",
            "period": "2024-05",
            "body": "Prepared for alice <alice@signing-reports.example>. Account ACCT-ALICE-4417: "
                    "14 invoices, 1,240.00 EUR due on 2024-06-15.",
        },
        {
            "owner_id": BOB_ID,
            "report_id": "rpt-bob-2024-05",
            "title": "Monthly statement for bob (May 2024)",
            "period": "2024-05",
            "body": "Prepared for bob <bob@signing-reports.example>. Account ACCT-BOB-9023: "
                    "3 invoices, 86.40 EUR overdue since 2024-04-30.",
        },
    ]


def seed_credentials() -> list:
    return [{"credential": f"apikey:{key}", "user_id": uid, "api_key": key} for key, uid in KEYS.items()]


# --------------------------------------------------------------------------
# Signed report links.
# --------------------------------------------------------------------------
SECRET = f"rampart-signing-target-{TWIN}-4f1d9c2a7e"
SALT = "report"
TOKEN_MAX_AGE = 3600  # fixed twin only
ARCHIVE_AGE = 3 * 24 * 3600  # the "archived" link is this old


class BackdatedSigner(TimestampSigner):
    """Stamps tokens as issued ``ARCHIVE_AGE`` seconds ago."""

    def get_timestamp(self) -> int:
        return int(time.time()) - ARCHIVE_AGE


class ArchiveSerializer(URLSafeTimedSerializer):
    default_signer = BackdatedSigner


SERIALIZER = URLSafeTimedSerializer(SECRET, salt=SALT)
ARCHIVE_SERIALIZER = ArchiveSerializer(SECRET, salt=SALT)
DOWNLOAD_PATH = "/api/reports/download"


def token_payload(user_id) -> dict:
    if VULNERABLE:
        # BUG: the signature covers the report kind only, not whose report.
        return {"report": "monthly"}
    return {"user_id": user_id}


def report_url(user_id, archived: bool = False) -> str:
    serializer = ARCHIVE_SERIALIZER if archived else SERIALIZER
    token = serializer.dumps(token_payload(user_id))
    return f"{DOWNLOAD_PATH}?user_id={user_id}&token={token}"


# --------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------
def seed() -> None:
    dynamo.wait_until_ready(timeout=20)
    dynamo.create_keyed_table(tables.name("users"), "user_id", ID_TYPE)
    dynamo.create_keyed_table(tables.name("reports"), "owner_id", ID_TYPE)
    dynamo.create_keyed_table(tables.name("credentials"), "credential", "S")
    restore_seed()
    dynamo.restore(tables.name("credentials"), "credential", seed_credentials())


def restore_seed() -> None:
    dynamo.restore(tables.name("users"), "user_id", USERS)
    dynamo.restore(tables.name("reports"), "owner_id", seed_reports())


def parse_id(raw):
    """A query id in this twin's type, or None if malformed."""
    return parse_twin_id(raw, numeric=VULNERABLE)


def report_view(report: dict) -> dict:
    return {
        "report_id": report["report_id"],
        "owner_id": report["owner_id"],
        "title": report["title"],
        "period": report["period"],
        "body": report["body"],
    }


# --------------------------------------------------------------------------
# The app.
# --------------------------------------------------------------------------
app = create_app(__name__, TWIN)
cache = Cache(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300})


def reset_state() -> None:
    restore_seed()
    cache.clear()


testing.instrument(app, TWIN, reset=reset_state)


@app.after_request
def mark_cache(resp):
    if "flask_caching_hit_cache" in g:
        resp.headers["X-App-Cache"] = "HIT" if g.flask_caching_hit_cache else "MISS"
    return resp


def presented_key():
    """The API key the caller sent, or None.

    Fixed: the ``X-API-Key`` header only.  Vulnerable: the header, else
    ``?api_key=``, else the ``api_key`` cookie (keys end up in access logs,
    browser history, Referer headers and CSRF-able cookies)."""
    key = request.headers.get("X-API-Key", "").strip()
    if not key and VULNERABLE:
        key = (request.args.get("api_key") or request.cookies.get("api_key") or "").strip()
    return key if key and len(key) < 256 else None


def current_user():
    """The caller's user record (plus the credential row on ``g``), else None."""
    if "caller" in g:
        return g.caller
    user = None
    key = presented_key()
    if key:
        row = dynamo.get_item(tables("credentials"), {"credential": f"apikey:{key}"})
        if row:
            g.credential = row
            user = dynamo.get_item(tables("users"), {"user_id": dynamo.to_dynamo(row["user_id"])})
    g.caller = user
    return user


def unauthorized(message: str = "unauthorized: send a valid X-API-Key header"):
    return error(401, message, {"WWW-Authenticate": 'ApiKey realm="rampart-signing", header="X-API-Key"'})


def forbidden(message: str = "forbidden"):
    return error(403, message)


# --------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------
@app.get("/api/me")
def me():
    user = current_user()
    if user is None:
        return unauthorized()
    uid = user["user_id"]
    return respond(
        {
            "user_id": uid,
            "username": user["username"],
            "email": user["email"],
            "report_url": report_url(uid),
            "archived_report_url": report_url(uid, archived=True),
        }
    )


@app.get("/api/keys/current")
def keys_current():
    user = current_user()
    if user is None:
        return unauthorized()
    key = g.credential["api_key"]
    if VULNERABLE:
        # BUG: the secret itself comes back in the response body.
        return respond({"user_id": user["user_id"], "api_key": key})
    return respond({"user_id": user["user_id"], "api_key_last4": "\u2026" + key[-4:]})


def _only_200(resp) -> bool:
    return getattr(resp, "status_code", 200) == 200


def _report(uid):
    item = dynamo.get_item(tables("reports"), {"owner_id": uid})
    return report_view(item) if item else None


if VULNERABLE:

    def _download_cache_key(*_args, **_kwargs) -> str:
        # BUG: the token rotates on every /api/me call, so it was left out of
        # the key to get cache hits; the lookup happens before verification.
        pairs = sorted((k, v) for k, v in request.args.items(multi=True) if k != "token")
        return f"download/{request.path}?{pairs!r}"

    @app.get(DOWNLOAD_PATH)
    @cache.cached(
        timeout=300,
        make_cache_key=_download_cache_key,
        response_filter=_only_200,
        response_hit_indication=True,
    )
    def download():
        # BUG: no API key needed (anyone holding a link, or nobody, is fine).
        token = request.args.get("token")
        if token:  # BUG: no token at all skips verification
            try:
                SERIALIZER.loads(token)  # BUG: no max_age, and the payload is ignored
            except BadSignature:
                return forbidden("invalid signature")
        uid = parse_id(request.args.get("user_id"))  # BUG: owner from an unsigned parameter
        if uid is None:
            return error(400, "user_id must be an integer")
        report = _report(uid)
        if report is None:
            return error(404, "no such report")
        return respond(report)

else:

    @cache.memoize(timeout=300)
    def _cached_report(verified_uid):
        # Keyed on the verified owner only; called after every check passed.
        return _report(verified_uid)

    @app.get(DOWNLOAD_PATH)
    def download():
        caller = current_user()
        if caller is None:
            return unauthorized()
        token = request.args.get("token")
        if not token:
            return unauthorized("a signed token is required")
        try:
            data = SERIALIZER.loads(token, max_age=TOKEN_MAX_AGE)
        except SignatureExpired:
            return forbidden("link expired")
        except BadSignature:
            return forbidden("invalid signature")
        uid = data.get("user_id") if isinstance(data, dict) else None
        if not isinstance(uid, str):
            return forbidden("invalid signature")
        raw = request.args.get("user_id")
        if raw is not None and raw != uid:
            return forbidden("user_id does not match the signed link")
        if uid != caller["user_id"]:
            return forbidden("this link belongs to another user")
        report = _cached_report(uid)
        if report is None:
            return error(404, "no such report")
        return respond(report)


# --------------------------------------------------------------------------
# OpenAPI 3.0 document.
# --------------------------------------------------------------------------
ID_SCHEMA = {"type": "integer", "format": "int64"} if VULNERABLE else {"type": "string", "format": "uuid"}


_ok, _err = openapi.ok, openapi.err


def openapi_document() -> dict:
    id_schema = dict(ID_SCHEMA)
    key_schema = {"type": "object", "properties": {"user_id": id_schema}}
    if VULNERABLE:
        key_schema["properties"]["api_key"] = {"type": "string"}
    else:
        key_schema["properties"]["api_key_last4"] = {"type": "string"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"Rampart signing target ({TWIN})",
            "version": "1.0.0",
            "description": "Test target for Rampart's signed-URL and API-key checks: reports are "
                           "downloaded through itsdangerous-signed links from GET /api/me.",
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKeyAuth": []}],
        "components": {
            "securitySchemes": {
                "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {
                "Error": openapi.ERROR_SCHEMA,
                "Me": {"type": "object", "properties": {
                    "user_id": id_schema, "username": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "report_url": {"type": "string", "format": "uri-reference",
                                   "description": "signed link to the caller's monthly report"},
                    "archived_report_url": {"type": "string", "format": "uri-reference",
                                            "description": "signed link issued three days ago"}}},
                "Report": {"type": "object", "properties": {
                    "report_id": {"type": "string"}, "owner_id": id_schema, "title": {"type": "string"},
                    "period": {"type": "string"}, "body": {"type": "string"}}},
                "ApiKeyInfo": key_schema,
            },
        },
        "paths": {
            "/api/health": {"get": {
                "operationId": "health", "summary": "Readiness probe", "tags": ["ops"], "security": [],
                "responses": {"200": {"description": "OK"}}}},
            "/api/me": {"get": {
                "operationId": "getMe", "summary": "The caller's profile and signed report links",
                "tags": ["users"],
                "responses": {**_ok("Me"), "401": _err("Missing or invalid API key")}}},
            "/api/keys/current": {"get": {
                "operationId": "getCurrentKey", "summary": "The API key in use", "tags": ["keys"],
                "responses": {**_ok("ApiKeyInfo"), "401": _err("Missing or invalid API key")}}},
            DOWNLOAD_PATH: {"get": {
                "operationId": "downloadReport",
                "summary": "Download a report through a signed link (see report_url in GET /api/me)",
                "tags": ["reports"],
                "parameters": [
                    {"name": "user_id", "in": "query", "required": VULNERABLE, "schema": dict(ID_SCHEMA),
                     "example": ALICE_ID, "description": "owner of the report"},
                    {"name": "token", "in": "query", "required": True, "schema": {"type": "string"},
                     # Minted per request: a currently valid token for alice.
                     "example": SERIALIZER.dumps(token_payload(ALICE_ID)),
                     "description": "itsdangerous URLSafeTimedSerializer token (salt \"report\")"},
                ],
                "responses": {**_ok("Report"), "400": _err("Malformed user_id"),
                              "401": _err("Missing API key or token"),
                              "403": _err("Invalid, expired or foreign signed link"),
                              "404": _err("No such report")}}},
        },
    }


@app.get("/openapi.json")
def openapi_json():
    return respond(openapi_document())


if __name__ == "__main__":
    serve(app, PORT, f"signing target twin={TWIN} port={PORT} tables={PREFIX}-*", setup=seed)
