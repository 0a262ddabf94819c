"""Shared DynamoDB helper for Rampart's Python test targets.

Every target app (exposure, cache, authorization, signing, ...) keeps its data
in DynamoDB served by a local ``moto_server`` started by the Rust test harness
(tests/support/mod.rs).  The harness passes the endpoint in the environment:

    DYNAMODB_ENDPOINT=http://127.0.0.1:<port>

Usage from an app living in ``tests/targets/<family>/app.py``::

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from common import dynamo

    users = dynamo.ensure_table(dynamo.table_name("users"), hash_key="id",
                                items=[{"id": "u1", "name": "Ada"}])
    item = dynamo.from_dynamo(users.get_item(Key={"id": "u1"}).get("Item"))

Only loopback endpoints are accepted: the test targets must never talk to real
AWS.  Credentials are the dummy value "testing" (moto accepts anything).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from decimal import Decimal
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

REGION = "us-east-1"
DUMMY_CREDENTIAL = "testing"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def endpoint() -> str:
    """The moto endpoint from ``DYNAMODB_ENDPOINT``; refuses non-loopback hosts."""
    url = os.environ.get("DYNAMODB_ENDPOINT")
    if not url:
        raise RuntimeError(
            "DYNAMODB_ENDPOINT is not set (expected http://127.0.0.1:<moto port>)"
        )
    host = urlparse(url).hostname or ""
    if host not in _LOOPBACK_HOSTS and not host.startswith("127."):
        raise RuntimeError(f"DYNAMODB_ENDPOINT must be a loopback address, got {url!r}")
    return url


_LOCK = threading.Lock()
_SESSION: Optional[boto3.session.Session] = None
_CLIENTS: dict = {}


def _session() -> boto3.session.Session:
    """One shared boto3 Session (creating one costs ~150 ms of model loading).
    Callers hold ``_LOCK``: sessions are not thread-safe, the clients and
    resources made from them are used per call."""
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session(
            aws_access_key_id=DUMMY_CREDENTIAL,
            aws_secret_access_key=DUMMY_CREDENTIAL,
            aws_session_token=DUMMY_CREDENTIAL,
            region_name=REGION,
        )
    return _SESSION


def _config() -> Config:
    # Fail fast: a test target should never hang on a dead moto.
    return Config(
        connect_timeout=2,
        read_timeout=10,
        retries={"max_attempts": 2, "mode": "standard"},
    )


def resource():
    """A fresh boto3 DynamoDB *resource* bound to the local moto endpoint.

    Resources are not thread-safe, so call this per request/thread (cheap:
    ~5 ms once the shared session is warm) rather than sharing one."""
    with _LOCK:
        return _session().resource("dynamodb", endpoint_url=endpoint(), config=_config())


def client():
    """The shared, thread-safe boto3 DynamoDB *client* for the endpoint."""
    url = endpoint()
    with _LOCK:
        c = _CLIENTS.get(url)
        if c is None:
            c = _CLIENTS[url] = _session().client("dynamodb", endpoint_url=url, config=_config())
        return c


def table_name(name: str, prefix: Optional[str] = None, default_prefix: str = "app") -> str:
    """``<prefix>-<name>``; prefix from the argument, else env ``TABLE_PREFIX``,
    else ``default_prefix``.  Lets several apps share one moto server."""
    if prefix is None:
        prefix = os.environ.get("TABLE_PREFIX", default_prefix)
    return f"{prefix}-{name}" if prefix else name


def wait_until_ready(timeout: float = 20.0) -> None:
    """Block until moto answers ListTables (or raise after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            client().list_tables(Limit=1)
            return
        except (EndpointConnectionError, ClientError, OSError) as exc:  # pragma: no cover
            last = exc
            time.sleep(0.2)
    raise RuntimeError(f"DynamoDB endpoint {endpoint()} not ready after {timeout}s: {last}")


def ensure_table(
    name: str,
    hash_key: str = "id",
    range_key: Optional[str] = None,
    key_types: Optional[Mapping[str, str]] = None,
    items: Optional[Iterable[Mapping[str, Any]]] = None,
):
    """Create table ``name`` if missing (PAY_PER_REQUEST), optionally seed it,
    and return the boto3 Table resource.

    ``key_types`` maps key attribute names to DynamoDB scalar types
    ("S", "N" or "B"); keys default to "S".  Seeding is idempotent because
    put_item overwrites items with the same key.
    """
    key_types = dict(key_types or {})
    ddb = resource()
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attrs = [{"AttributeName": hash_key, "AttributeType": key_types.get(hash_key, "S")}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": key_types.get(range_key, "S")})
    try:
        table = ddb.create_table(
            TableName=name,
            KeySchema=schema,
            AttributeDefinitions=attrs,
            BillingMode="PAY_PER_REQUEST",
        )
        table.wait_until_exists()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        table = ddb.Table(name)
    if items is not None:
        put_items(table, items)
    return table


def put_items(table, items: Iterable[Mapping[str, Any]]) -> int:
    """Batch-write ``items`` (floats converted to Decimal); returns the count."""
    count = 0
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=to_dynamo(dict(item)))
            count += 1
    return count


def get_item(table, key: Mapping[str, Any]) -> Optional[dict]:
    """``GetItem`` returning a plain-Python dict (Decimals converted) or None."""
    item = table.get_item(Key=dict(key)).get("Item")
    return from_dynamo(item) if item is not None else None


def scan_all(table, **kwargs) -> list:
    """Full paginated scan, items converted with :func:`from_dynamo`."""
    out: list = []
    while True:
        page = table.scan(**kwargs)
        out.extend(from_dynamo(i) for i in page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return out
        kwargs["ExclusiveStartKey"] = start


def create_keyed_table(
    name: str, hash_key: str, key_type: str, index: Optional[tuple[str, str]] = None
) -> None:
    """Create table ``name`` keyed on ``hash_key`` of DynamoDB type
    ``key_type`` ("S" or "N"), with an optional global secondary index
    ``(index_name, attribute)`` on an attribute of the same type. A table
    that already exists with another key type stops the app: twins whose ids
    differ in type must not share tables (give each its own TABLE_PREFIX)."""
    attrs = [{"AttributeName": hash_key, "AttributeType": key_type}]
    kwargs = {}
    if index:
        index_name, attribute = index
        attrs.append({"AttributeName": attribute, "AttributeType": key_type})
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index_name,
                "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    try:
        resource().create_table(
            TableName=name,
            KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
            AttributeDefinitions=attrs,
            BillingMode="PAY_PER_REQUEST",
            **kwargs,
        ).wait_until_exists()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        existing = client().describe_table(TableName=name)["Table"]
        types = {a["AttributeName"]: a["AttributeType"] for a in existing["AttributeDefinitions"]}
        if types.get(hash_key) != key_type:
            sys.exit(
                f"table {name} exists with {hash_key} of type {types.get(hash_key)}, this twin needs "
                f"{key_type}: give each twin its own TABLE_PREFIX"
            )


def restore(name: str, key: str, items: Iterable[Mapping[str, Any]]) -> None:
    """Put the seed ``items`` back into table ``name`` and drop every other
    item (``key`` is the table's hash key)."""
    items = list(items)
    table = resource().Table(name)
    wanted = {item[key] for item in items}
    for row in scan_all(table):
        if row[key] not in wanted:
            table.delete_item(Key={key: to_dynamo(row[key])})
    put_items(table, items)


class Tables:
    """One app's tables, ``<prefix>-<name>``.

    ``tables.name("users")`` is the full name; ``tables("users")`` the boto3
    Table, one per request and thread inside a Flask request (resources are
    not thread-safe), a fresh one outside."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def name(self, short: str) -> str:
        return table_name(short, prefix=self.prefix)

    def __call__(self, short: str):
        from flask import g, has_request_context

        if not has_request_context():
            return resource().Table(self.name(short))
        cache = g.setdefault("rampart_tables", {})
        if short not in cache:
            if "rampart_ddb" not in g:
                g.rampart_ddb = resource()
            cache[short] = g.rampart_ddb.Table(self.name(short))
        return cache[short]


def delete_table(name: str) -> None:
    """Drop a table if it exists (handy for tests that need a clean slate)."""
    try:
        client().delete_table(TableName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise


def to_dynamo(value: Any) -> Any:
    """Recursively convert floats to Decimal (boto3 rejects floats)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Recursively convert Decimal to int/float and sets to sorted lists, so
    items can be passed straight to ``flask.jsonify``."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_dynamo(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(from_dynamo(v) for v in value)
    return value


__all__: Sequence[str] = (
    "REGION",
    "endpoint",
    "resource",
    "client",
    "table_name",
    "wait_until_ready",
    "ensure_table",
    "put_items",
    "get_item",
    "scan_all",
    "create_keyed_table",
    "restore",
    "Tables",
    "delete_table",
    "to_dynamo",
    "from_dynamo",
    "ClientError",
)
