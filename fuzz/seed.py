#!/usr/bin/env python3
"""Regenerates fuzz/seeds/: the starting corpus of every fuzz target, taken
from the inputs Rampart's own tests use.

- spec: the API descriptions written in src/discover/spec/tests.rs and the
  lab's description (src/lab), plus the YAML form of one;
- detectors: the response bodies of the detector tests (src/detect);
- headers: the header values of the header-reading tests;
- response: whole responses built from those bodies with the headers the
  checks' tests use;
- tls_reply: real replies of `openssl s_server` (TLS 1.2 and 1.3) to a
  ClientHello, and a few cut short.

Run from the repository root: `python3 fuzz/seed.py` (needs `openssl`).
"""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
RAW = re.compile(r'r#+"(.*?)"#+', re.S)


def raw_strings(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return [m.group(1) for m in RAW.finditer(f.read())]


def write(target, name, data):
    directory = os.path.join(SEEDS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def specs():
    found = [s for s in raw_strings("src/discover/spec/tests.rs") if "openapi" in s or "swagger" in s]
    for i, text in enumerate(found):
        write("spec", f"tests-{i:02}", text)
    lab = {
        "openapi": "3.0.3",
        "info": {"title": "lab", "version": "1"},
        "servers": [{"url": "/api"}],
        "paths": {
            "/users/{user_id}": {"get": {"parameters": [
                {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer", "example": 1}}],
                "security": [{"key": []}], "responses": {"200": {"description": "ok"}}}},
            "/orders": {"post": {"requestBody": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Order"}}}}, "responses": {"201": {"description": "made"}}}},
        },
        "components": {
            "schemas": {"Order": {"type": "object", "properties": {
                "item": {"type": "string"}, "count": {"type": "integer", "minimum": 1},
                "owner": {"$ref": "#/components/schemas/Order"}}}},
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }
    write("spec", "lab.json", json.dumps(lab, indent=1))
    yaml = "openapi: 3.0.3\ninfo: {title: y, version: '1'}\npaths:\n  /a/{id}:\n    get:\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}\n      responses: {'200': {description: ok}}\n"
    write("spec", "lab.yaml", yaml)
    write("spec", "swagger2.yaml", "swagger: 2.0\nbasePath: /v1\npaths:\n  /x:\n    get:\n      parameters:\n        - {name: q, in: query, type: string, enum: [a, b]}\n      responses: {'200': {description: ok}}\n")


def bodies():
    out = []
    for path in ["src/detect/secrets.rs", "src/detect/pii.rs", "src/detect/hashes.rs",
                 "src/detect/debug_output.rs", "src/detect/fields.rs", "src/detect/mod.rs",
                 "src/detect/text.rs"]:
        out.extend(raw_strings(path))
    return [b for b in out if len(b) > 8]


def detectors(found):
    for i, body in enumerate(found):
        write("detectors", f"tests-{i:03}", body)


HEADERS = [
    "session=abc; Path=/",
    "s=1; Secure; HttpOnly; SameSite=Lax",
    "id=a; Max-Age=60; Domain=example.test; SameSite=None; Secure",
    "max-age=31536000; includeSubDomains; preload",
    "max-age=300",
    "7",
    "Fri, 02 Jan 2026 03:04:15 GMT",
    "X-Cache: HIT\nAge: 3\nCache-Status: edge; hit; ttl=30",
    "CF-Cache-Status: MISS\nX-Cache-Status: BYPASS",
    "X-Tenant: acme",
    "http://h:1/a/b?c=d#e",
]


def headers():
    for i, value in enumerate(HEADERS):
        write("headers", f"tests-{i:02}", value)


def responses(found):
    heads = [
        "200\ncontent-type: application/json\nset-cookie: sid=s3ss10n; Path=/",
        "500\ncontent-type: text/html; charset=utf-8\nserver: Werkzeug/3.1.3 Python/3.11.7",
        "200\ncontent-type: application/json\nx-cache: HIT\nage: 3\ncache-control: public, max-age=60",
        "302\nlocation: http://127.0.0.1:9/login?access_token=abcd1234\ncontent-length: 0",
        "429\nretry-after: 1\ncontent-type: text/plain",
    ]
    for i, body in enumerate(found):
        write("response", f"tests-{i:03}", heads[i % len(heads)] + "\n\n" + body)


def tls_replies():
    work = tempfile.mkdtemp()
    try:
        key, cert = os.path.join(work, "k.pem"), os.path.join(work, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "30", "-subj", "/CN=api.example.test",
                        "-addext", "subjectAltName=DNS:api.example.test"],
                       check=True, capture_output=True)
        for name, version in [("tls12", ssl.TLSVersion.TLSv1_2), ("tls13", ssl.TLSVersion.TLSv1_3)]:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-key", key,
                                       "-cert", cert, "-quiet"],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                reply = b""
                for _ in range(50):
                    try:
                        reply = handshake_reply(port, version)
                        break
                    except OSError:
                        time.sleep(0.1)
            finally:
                server.terminate()
                server.wait()
            # The first byte of a seed picks the chunk size the reply arrives in.
            write("tls_reply", name, bytes([0xff]) + reply)
            write("tls_reply", name + "-split", bytes([7]) + reply)
            write("tls_reply", name + "-cut", bytes([0xff]) + reply[: len(reply) // 3])
    finally:
        shutil.rmtree(work)


def handshake_reply(port, version):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = version
    context.maximum_version = version
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="api.example.test")
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        pass
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(outgoing.read())
        reply = b""
        conn.settimeout(1)
        try:
            while len(reply) < 65536:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except socket.timeout:
            pass
    return reply


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    specs()
    found = bodies()
    detectors(found)
    headers()
    responses(found)
    tls_replies()
    for target in sorted(os.listdir(SEEDS)):
        print(f"{target}: {len(os.listdir(os.path.join(SEEDS, target)))} seeds")


if __name__ == "__main__":
    main()
