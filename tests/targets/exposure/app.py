"""Rampart test target: passive data exposure (check family ``exposure.*``).

One Flask app, two twins chosen by env ``TWIN``:

* ``vulnerable`` - every route leaks one planted secret / PII / debug artefact
  (see README.md next to this file for the table of planted cases).
* ``fixed``      - same routes, same response shapes, data made safe.

Both twins carry *decoys* on every route (UUIDs, Luhn-failing 16-digit order
numbers, ISO timestamps, sha256 etags, a phone number, a version string, a
base64 PNG thumbnail, one support e-mail, a ``password_policy`` text, a PEM
*public* key, a git commit sha, ...) that a careless detector would misreport.

Environment:
    TWIN               vulnerable | fixed            (required)
    PORT               TCP port, bound on 127.0.0.1  (required)
    DYNAMODB_ENDPOINT  http://127.0.0.1:<moto port>  (required)
    TABLE_PREFIX       DynamoDB table-name prefix    (default "exposure")

Run: ``python app.py`` (the Rust harness in tests/support does this).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import traceback
import uuid
import zlib
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from boto3.dynamodb.conditions import Key  # noqa: E402
from flask import Flask, abort, jsonify, request  # noqa: E402

from common import dynamo  # noqa: E402
from common.dynamo import ClientError  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import health, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
PREFIX = os.environ.get("TABLE_PREFIX", "exposure")
table = dynamo.Tables(PREFIX)


# --------------------------------------------------------------------------
# Planted values (vulnerable twin only ever shows them; also duplicated in
# tests/exposure_flask.rs, which checks Rampart redacts them in its report).
# --------------------------------------------------------------------------
PLANTED_SSN = "536-22-4187"  # area 536, group 22, serial 4187: valid format
PLANTED_CARD = "4539148803436467"  # Visa, Luhn-valid
PLANTED_AWS_KEY_ID = "AKIAMWUEHVO2UEFYUFTV"
PLANTED_AWS_SECRET = "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"
PLANTED_CLEAR_PASSWORD = "Winter2024!Tulip"
PLANTED_PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAgfo6UbOGRQtXM9sj4Y2zYVjwZ4t0Myd6uuqpTm0BLzKargZx
j4trGar2922TJMtgKoV/8OfQcTxiqbkChbzhNM+zoa4j65Cb8DlzXBcLX4QTo8BA
zlQd72k4g9bMfRgjBVvCB2DtpkHlNB0GsRPnVcWTLyi+TFopy7vDdc22JAY7Hx/R
UbRJ9AqAfVvuBXjjQ1vRWiYyEeB+BESsq/JtaAOHm4KcrVbZMoCDhH3Xz59/mv0t
TZGLPKI6EpsPE6717VGqbNMi3iO0yg16A70vBFQLsJcUjUaCe10Ef40IniNOtFMI
OXNvfr9hV1JdyD0IXlbcqq4rKmMjwavE1JYMaLc0/klArKWy5ExwtUvBvBdEydB2
n2jJmbBcWVAP0zTMpqxzh7pDnJFed+I9NpSlQYJIGoR8j5RfDUC/trH9iMnfY0N5
iLzas/9OvkUy7LLK4BTw+UFk0UGwekYaFofO8GugCn5rTpCN0WjnBFexa7qebOhy
k9UB2YY0HAaVyWDp5BRjXMndPc3B14F6UnLBuZ6Behlz/BOG4YCRpGmDPYrqT2/7
UzXoltSVs3COgbAcRz+3AITWufzl4bqEp3/queoYb1IX5meuvMQT1SGCL7r3QuSG
nKbCbVehD7Fgq0wVKw7ZeI9F0n7kMb+Sxj+aWHpCuMki+74gqwLwz8TDiFTmcDvI
/d7p08B3GsRLgxeI4an5YHTu4Rs8iNe8L+v9OD53u/s+EXqafRyuetyUc0GIZsLm
w7x8HD4BSq24DPfwVYbO3VDO+9yQzhXSb1tZQ4ZmrkpU8ENvpIoK4F34cE8tmi4i
y4mqYVG72ptoymwh5tZU5KWqZ//JTjxYUfUkeuo8SNNyKb5WY302PbWCOHw2LXTx
ow4uUQ+ILj9Sy/xazDfPg0YmJvr3CbupDCjmvV5MCBXtX7pVeJly3vF17HxwxpLk
9w+EJOlC6PtR/WNbz4vB9wQBALxCArjiu/F9UBdf63cwlsjc5x/EgBL+vwGaN2bp
KCI/UaNkqJZ2dy4Z5cYVxXQHBJqfAR/z+Z9eFhRtt6ccdVKwHPTKaTJmg63g1IGs
xavOrKRofMdIqZCME7C7vTYccnE5uHww0hGW08kojmZhF+5/MdTXWtx55xvNq89+
J0OenG+2u8vgwbj9u+QDTF4ShtRSNZLNTV3+i4cjypZaOWRxngF3ELdGILIudpco
Op5YCUIcPfKQeBzCIiNg5oGzN7VmvHmNN0bbk0RS9IVNjxTv/s9663TdL6l1DZkO
+qP17KZXAjhsq4SI4BcZ6sJA0CAPZr8KtQjU864BEEXHvwbV33eL+4ZlUyXZW6Q+
jvr3SiepTVaByszlA6DT/7RNf/gHxkUTHVnJzF+eb1gqFMDnvp2TEfm4W+dVC1IP
5hXGh4Zzh0a94X2tsPm+Coy0inBOirXsfXYMrhbMcHpKTYmgmqcf1W4fFA1yt5Jw
0czb8ZBhBis2BoH/HncLErlRT1mSaQnQ/tRjQA6j537NEcm4JxizUwtOirIn3277
kMKyzIBCHABI3OzNBHbTJOR1KbXl+y6hEWhy/FEOhSQAi0ed7EcJvw==
-----END RSA PRIVATE KEY-----
"""

# Decoy: a PEM *public* key is not a secret (served by both twins).
PUBLIC_KEY_PEM = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEARFihryLd78jHJpDkIL4l
7DfhFSXFSuB2Exbrw9NY2vETjk7KXYcAeHEZIomPeDTNr1wJRGhZIipt9JIm32/g
pj9BUqWQ9i6caO+yNSQ8L1qKjfhe4nkA3LKS+ggrIjfmPloaV5ihNBkczOQj/ALW
eGIP3H/oqCgOS1P0TgAmBXd+guP8hy584Pi1oYVt/x50iS7S041Es7UK+M+WSwCL
MaQTeIQfQeXtQ/P3SJlZDrSmwh0Q40fv+xWOfBLRHTQqkfC1zQEf/ZOGW67QfrwJ
+7kQ/leMiKDonWodDQIrDtdQLwVyZuLzfVf8y6uxW+Z7GL5LLw6Dp+Ln2aiynCyd
5AIDAQAB
-----END PUBLIC KEY-----
"""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _make_service_jwt() -> str:
    """HS256 JWT belonging to *another* service (billing), deterministic."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(
        json.dumps(
            {
                "iss": "https://billing.internal.example",
                "sub": "svc-billing",
                "aud": "ledger-api",
                "scope": "ledger:write payouts:execute",
                "iat": 1717200000,
                "exp": 4102444800,
            },
            separators=(",", ":"),
        ).encode()
    )
    sig = hmac.new(
        b"billing-service-hs256-secret-do-not-share",
        f"{header}.{payload}".encode(),
        hashlib.sha256,
    ).digest()
    return f"{header}.{payload}.{_b64url(sig)}"


PLANTED_SERVICE_JWT = _make_service_jwt()


# --------------------------------------------------------------------------
# Decoys shared by every route (both twins).
# --------------------------------------------------------------------------
def _tiny_png() -> bytes:
    """A real 8x8 RGB gradient PNG (for a base64 ``thumbnail`` decoy)."""
    w = h = 8
    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 32, y * 32, 160)) for x in range(w)) for y in range(h)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


THUMBNAIL = "data:image/png;base64," + base64.b64encode(_tiny_png()).decode()
SUPPORT_EMAIL = "support@rampart-shop.example"
SUPPORT_PHONE = "+1 (415) 555-0132"
API_VERSION = "1.2.3"
BUILD_COMMIT = "e47026f63d9e10ab48d2c8c112830c181f935fe1"  # 40 hex chars, not an AWS secret
PASSWORD_POLICY = (
    "Passwords must be at least 12 characters and include a digit; "
    "they are stored with bcrypt and never returned by the API."
)
# 16-digit numbers that FAIL the Luhn check (not card numbers).
ORDER_NUMBERS = ["4539148803436468", "2024061500001234", "5500005555555558", "1002003004005006"]


def etag_for(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def meta(obj=None) -> dict:
    """Decoy envelope attached to every JSON response."""
    return {
        "request_id": str(uuid.uuid4()),
        "api_version": API_VERSION,
        "build": BUILD_COMMIT,
        "generated_at": "2024-06-01T12:34:56.789Z",
        "etag": etag_for(obj if obj is not None else {}),
        "support": {"email": SUPPORT_EMAIL, "phone": SUPPORT_PHONE},
    }


def respond(payload: dict, status: int = 200):
    body = dict(payload)
    body["meta"] = meta(payload)
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["ETag"] = '"' + body["meta"]["etag"] + '"'
    resp.headers["X-Request-Id"] = body["meta"]["request_id"]
    return resp


# --------------------------------------------------------------------------
# Seed data (stored in DynamoDB on moto, raw: the twins differ in what they show).
# --------------------------------------------------------------------------
BCRYPT_HASHES = [
    "$2b$12$N4z6fc0mX1uHrzjpEOeOlHtfDyY5E6flYJgPapxEzjQiLem1AGYbu",
    "$2b$12$z6XmJ0bdhvz8vURGouyepZVveVbvQ5n8JsxXFwgp2k5M/Ch8PDJI4",
    "$2b$12$IY5sqsPQvA9M6Yr/mmW6INbRwjoKtmFQ2UrKCaKSMVvikat4SnBTd",
    "$2b$12$0UwZflwHis2rzlZ93h4mmHRlWSaIoX1bA2wa6UvAE6fllWlJ8nVEj",
    "$2b$12$3nKSAOcFp7gAM4O7y9MmDC8TiAzaVc1und3rkp75eigVA0Dnuk0v6",
    "$2b$12$TgWkR6HZcokV3twbtM//xNMh9mDEweJZneUujrqLjUyL1cuRZicdc",
    "$2b$12$8F8PHO3ROLmm7hrzcmE3cWjDgKm9b0ZTUgvvJwwswlUhm74KEbBKm",
]

EXAMPLE_USER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
USERS = [
    {
        "id": EXAMPLE_USER_ID,
        "name": "Ada Lovelace",
        "email": "ada.lovelace@mailbox.example",
        "ssn": PLANTED_SSN,
        "password": PLANTED_CLEAR_PASSWORD,
    },
    {"id": "0b1c5e2a-3f4d-4e6a-9b8c-1d2e3f4a5b6c", "name": "Alan Turing",
     "email": "alan.turing@mailbox.example", "ssn": "412-73-0958", "password": "Enigma#1912"},
    {"id": "1f0e9d8c-7b6a-4594-8372-6150f4e3d2c1", "name": "Grace Hopper",
     "email": "grace.hopper@navy-mail.example", "ssn": "301-48-2265", "password": "Cobol!1959"},
    {"id": "2a3b4c5d-6e7f-4801-9a2b-3c4d5e6f7081", "name": "Edsger Dijkstra",
     "email": "e.dijkstra@uni-mail.example", "ssn": "587-19-3302", "password": "GoTo-Harmful68"},
    {"id": "3c4d5e6f-7081-4923-8b4c-5d6e7f809102", "name": "Barbara Liskov",
     "email": "b.liskov@csail-mail.example", "ssn": "046-52-7714", "password": "Substitute!87"},
    {"id": "4d5e6f70-8192-4a34-9c5d-6e7f8091a2b3", "name": "Donald Knuth",
     "email": "knuth@taocp-mail.example", "ssn": "623-08-5541", "password": "TeX-is-3.14159"},
    {"id": "5e6f7081-92a3-4b45-8d6e-7f8091a2b3c4", "name": "Frances Allen",
     "email": "fran.allen@ibm-mail.example", "ssn": "145-66-9031", "password": "Fortran!1957"},
]
for _i, _u in enumerate(USERS):
    _u["password_hash"] = BCRYPT_HASHES[_i]
    _u["created_at"] = f"2023-0{(_i % 9) + 1}-1{_i}T08:15:30Z"
    _u["last_login_at"] = f"2024-05-2{_i}T19:04:11.512+00:00"
    _u["order_number"] = ORDER_NUMBERS[_i % len(ORDER_NUMBERS)]
    _u["avatar_thumbnail"] = THUMBNAIL

EXAMPLE_PAYMENT_ID = "pay_9f8e7d6c5b4a"
PAYMENTS = [
    {
        "id": EXAMPLE_PAYMENT_ID,
        "user_id": EXAMPLE_USER_ID,
        "card_number": PLANTED_CARD,
        "card_brand": "visa",
        "expiry": "09/27",
        "amount": Decimal("129.95"),
        "currency": "USD",
        "order_number": ORDER_NUMBERS[0],
        "merchant_ref": "b7e3c1a0-5d2f-4c8e-9a6b-0f1e2d3c4b5a",
        "captured_at": "2024-05-30T14:02:09Z",
    },
    {
        "id": "pay_1a2b3c4d5e6f",
        "user_id": USERS[1]["id"],
        "card_number": "5425233430109903",  # Mastercard, Luhn-valid
        "card_brand": "mastercard",
        "expiry": "01/26",
        "amount": Decimal("18.00"),
        "currency": "USD",
        "order_number": ORDER_NUMBERS[1],
        "merchant_ref": "c8f4d2b1-6e3a-4d9f-8b7c-1a2b3c4d5e6f",
        "captured_at": "2024-05-31T09:41:57Z",
    },
]

EXAMPLE_ORDER_ID = "ord-7781"
ORDERS = [
    # Malformed legacy record: ``total`` stored as a string.  The vulnerable
    # twin does arithmetic on it and crashes (TypeError -> Werkzeug debugger).
    {
        "id": EXAMPLE_ORDER_ID,
        "order_number": ORDER_NUMBERS[0],
        "user_id": EXAMPLE_USER_ID,
        "items": [{"sku": "WID-001", "qty": 2, "unit_price": Decimal("24.95")}],
        "total": "49.90",
        "discount": Decimal("5.00"),
        "status": "shipped",
        "placed_at": "2024-05-28T10:00:00Z",
    },
    {
        "id": "ord-7782",
        "order_number": ORDER_NUMBERS[2],
        "user_id": USERS[2]["id"],
        "items": [{"sku": "GAD-042", "qty": 1, "unit_price": Decimal("99.00")}],
        "total": Decimal("99.00"),
        "discount": Decimal("0"),
        "status": "processing",
        "placed_at": "2024-05-29T16:45:12Z",
    },
]

PRODUCTS = [
    {"id": "WID-001", "name": "widget", "price": Decimal("24.95")},
    {"id": "GAD-042", "name": "gadget", "price": Decimal("99.00")},
    {"id": "GIZ-007", "name": "gizmo", "price": Decimal("7.50")},
]

CONFIG = [
    {
        "id": "app",
        "service": "orders-api",
        "region": "us-east-1",
        "s3_bucket": "rampart-shop-assets",
        "aws_access_key_id": PLANTED_AWS_KEY_ID,
        "aws_secret_access_key": PLANTED_AWS_SECRET,
        "feature_flags": {"new_checkout": True, "dark_mode": False},
        "password_policy": PASSWORD_POLICY,
    },
    {"id": "integrations", "billing_service_token": PLANTED_SERVICE_JWT},
]

KEYS = [
    {
        "id": "signing",
        "kid": "9b2f6c1e-4d7a-4e3b-8c5d-2f1a0e9d8c7b",
        "algorithm": "RS256",
        "private_key_pem": PLANTED_PRIVATE_KEY,
        "public_key_pem": PUBLIC_KEY_PEM,
        "rotated_at": "2024-04-01T00:00:00Z",
    }
]

AUDIT = [
    {"id": "8d7c6b5a-4e3f-4a1b-9c2d-3e4f5a6b7c8d", "at": "2024-06-01T09:00:00Z",
     "actor": "system", "action": "config.reload", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
    {"id": "9e8d7c6b-5a4f-4b2c-8d3e-4f5a6b7c8d9e", "at": "2024-06-01T09:05:42Z",
     "actor": EXAMPLE_USER_ID, "action": "order.create", "trace_id": "00f067aa0ba902b7a3ce929d0e0e4736"},
    {"id": "af9e8d7c-6b5a-4c3d-9e4f-5a6b7c8d9eaf", "at": "2024-06-01T09:07:03Z",
     "actor": "svc-billing", "action": "payment.capture", "trace_id": "5a6b7c8d9eaf00f067aa0ba902b7a3ce"},
]


def seed() -> None:
    dynamo.wait_until_ready(timeout=20)
    for name, items in (
        ("users", USERS),
        ("payments", PAYMENTS),
        ("orders", ORDERS),
        ("products", PRODUCTS),
        ("config", CONFIG),
        ("keys", KEYS),
        ("audit", AUDIT),
    ):
        dynamo.ensure_table(table.name(name), items=items)


def load(name: str, key: str):
    item = dynamo.get_item(table(name), {"id": key})
    if item is None:
        abort(404)
    return item


# --------------------------------------------------------------------------
# Masking helpers (fixed twin).
# --------------------------------------------------------------------------
def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_ssn(ssn: str) -> str:
    return "***-**-" + ssn[-4:]


def mask_card(card: str) -> str:
    digits = "".join(c for c in card if c.isdigit())
    return "**** **** **** " + digits[-4:]


# --------------------------------------------------------------------------
# The app.
# --------------------------------------------------------------------------
app = Flask(__name__)
app.json.sort_keys = False
health(app, None)


@app.errorhandler(404)
def not_found(_exc):
    return respond({"error": "not found"}, 404)


if not VULNERABLE:

    @app.errorhandler(500)
    def internal_error(_exc):
        app.logger.exception("unhandled error")  # goes to the server log, not the client
        return respond({"error": "internal error"}, 500)


def user_summary(u: dict) -> dict:
    out = {
        "id": u["id"],
        "name": u["name"],
        "email": u["email"] if VULNERABLE else mask_email(u["email"]),
        "created_at": u["created_at"],
        "order_number": u["order_number"],
        "avatar_thumbnail": u["avatar_thumbnail"],
    }
    if VULNERABLE:
        out["password_hash"] = u["password_hash"]
    return out


@app.get("/api/users")
def list_users():
    users = sorted(dynamo.scan_all(table("users")), key=lambda u: u["name"])
    return respond(
        {
            "users": [user_summary(u) for u in users],
            "count": len(users),
            "password_policy": PASSWORD_POLICY,
        }
    )


@app.get("/api/users/<user_id>")
def get_user(user_id: str):
    u = load("users", user_id)
    out = user_summary(u)
    out["last_login_at"] = u["last_login_at"]
    out["ssn"] = u["ssn"] if VULNERABLE else mask_ssn(u["ssn"])
    if VULNERABLE:
        out["password"] = u["password"]
    out["password_policy"] = PASSWORD_POLICY
    out["password_updated_at"] = "2024-03-03T03:03:03Z"
    return respond({"user": out})


@app.get("/api/payments/<payment_id>")
def get_payment(payment_id: str):
    p = load("payments", payment_id)
    card = p["card_number"]
    out = {
        "id": p["id"],
        "user_id": p["user_id"],
        "card_number": card if VULNERABLE else mask_card(card),
        "card_last4": card[-4:],
        "card_brand": p["card_brand"],
        "expiry": p["expiry"],
        "amount": p["amount"],
        "currency": p["currency"],
        "order_number": p["order_number"],
        "merchant_ref": p["merchant_ref"],
        "captured_at": p["captured_at"],
        "receipt_thumbnail": THUMBNAIL,
    }
    return respond({"payment": out})


@app.get("/api/config")
def get_config():
    c = load("config", "app")
    out = {
        "service": c["service"],
        "region": c["region"],
        "s3_bucket": c["s3_bucket"],
        "aws_access_key_id": c["aws_access_key_id"] if VULNERABLE else "[configured]",
        "aws_secret_access_key": c["aws_secret_access_key"] if VULNERABLE else "[configured]",
        "feature_flags": c["feature_flags"],
        "password_policy": c["password_policy"],
        "version": API_VERSION,
        "commit": BUILD_COMMIT,
    }
    return respond({"config": out})


@app.get("/api/keys/signing")
def get_signing_key():
    k = load("keys", "signing")
    out = {
        "kid": k["kid"],
        "algorithm": k["algorithm"],
        "private_key_pem": k["private_key_pem"] if VULNERABLE else "[configured]",
        "public_key_pem": k["public_key_pem"],
        "rotated_at": k["rotated_at"],
        "fingerprint_sha256": hashlib.sha256(k["public_key_pem"].encode()).hexdigest(),
    }
    return respond({"key": out})


@app.get("/api/orders/<order_id>")
def get_order(order_id: str):
    o = load("orders", order_id)
    if VULNERABLE:
        # BUG: legacy records store ``total`` as a string -> TypeError, and with
        # debug=True Werkzeug serves its interactive debugger + traceback.
        net_total = o["total"] - o["discount"]
    else:
        net_total = Decimal(str(o["total"])) - Decimal(str(o["discount"]))
    out = {
        "id": o["id"],
        "order_number": o["order_number"],
        "user_id": o["user_id"],
        "items": o["items"],
        "total": float(net_total),
        "status": o["status"],
        "placed_at": o["placed_at"],
        "thumbnail": THUMBNAIL,
    }
    return respond({"order": out})


@app.get("/api/search")
def search():
    q = request.args.get("q", "")
    try:
        # BUG (both twins): ``name`` is not the table's key, so DynamoDB (moto)
        # rejects the KeyConditionExpression with a ValidationException.
        result = table("products").query(KeyConditionExpression=Key("name").eq(q))
        items = dynamo.from_dynamo(result.get("Items", []))
        return respond({"query": q, "results": items, "count": len(items)})
    except ClientError as exc:
        if VULNERABLE:
            return respond(
                {
                    "error": str(exc),
                    "exception": f"{type(exc).__module__}.{type(exc).__name__}",
                    "traceback": traceback.format_exc(),
                    "query": q,
                },
                500,
            )
        app.logger.warning("search failed: %s", exc)  # server log only
        return respond({"error": "internal error"}, 500)


@app.get("/api/audit")
def get_audit():
    events = sorted(dynamo.scan_all(table("audit")), key=lambda e: e["at"])
    integ = load("config", "integrations")
    return respond(
        {
            "events": events,
            "service": "orders-api",
            "service_token": integ["billing_service_token"] if VULNERABLE else None,
            "service_token_configured": True,
            "client": f"rampart-audit/{API_VERSION}",
        }
    )


# --------------------------------------------------------------------------
# OpenAPI 3.0 document.
# --------------------------------------------------------------------------
def _path_param(name: str, example: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string"}, "example": example}


def _json_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"type": "object"}}}}


def _op(op_id: str, summary: str, tag: str, params=None, extra_responses=None) -> dict:
    responses = {"200": _json_response("OK")}
    responses.update(extra_responses or {})
    op = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": responses}
    if params:
        op["parameters"] = params
    return {"get": op}


def openapi_document() -> dict:
    not_found = {"404": _json_response("Not found")}
    error = {"500": _json_response("Internal error")}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"Rampart exposure target ({TWIN})",
            "version": API_VERSION,
            "description": "Test target for Rampart's passive data-exposure checks.",
        },
        "servers": [{"url": request.host_url.rstrip("/")}],
        "paths": {
            "/api/health": _op("health", "Readiness probe", "ops"),
            "/api/users": _op("listUsers", "List users", "users"),
            "/api/users/{user_id}": _op(
                "getUser", "Get one user", "users",
                [_path_param("user_id", EXAMPLE_USER_ID)], not_found),
            "/api/payments/{payment_id}": _op(
                "getPayment", "Get one payment", "payments",
                [_path_param("payment_id", EXAMPLE_PAYMENT_ID)], not_found),
            "/api/config": _op("getConfig", "Service configuration", "ops"),
            "/api/keys/signing": _op("getSigningKey", "Token signing key", "ops"),
            "/api/orders/{order_id}": _op(
                "getOrder", "Get one order", "orders",
                [_path_param("order_id", EXAMPLE_ORDER_ID)], {**not_found, **error}),
            "/api/search": _op(
                "searchProducts", "Search products by name", "products",
                [{"name": "q", "in": "query", "required": True,
                  "schema": {"type": "string"}, "example": "widget"}], error),
            "/api/audit": _op("getAudit", "Audit log", "ops"),
        },
    }


@app.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


if __name__ == "__main__":
    # The vulnerable twin runs with the debugger on: that is its planted flaw.
    serve(
        app,
        PORT,
        f"exposure target twin={TWIN} port={PORT} tables={PREFIX}-*",
        setup=seed,
        debug=VULNERABLE,
    )
