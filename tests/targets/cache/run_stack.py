#!/usr/bin/env python3
"""Start the whole cache target stack by hand (for curl demos / debugging).

    .venv/bin/python tests/targets/cache/run_stack.py [--no-varnish] [--no-nginx]

Starts (all on 127.0.0.1, free ports unless given):
  * moto_server (unless DYNAMODB_ENDPOINT is already set),
  * app.py TWIN=vulnerable and TWIN=fixed (separate TABLE_PREFIXes),
  * Varnish vulnerable -> vulnerable app, Varnish fixed -> fixed app,
  * nginx vulnerable   -> vulnerable app, nginx fixed   -> fixed app,
prints the URLs (also as shell exports), and keeps running until Ctrl-C /
SIGTERM, then stops everything it started and removes its scratch dir.

The Rust tests don't use this script: tests/support/proxy.rs does the same
rendering + process management for Varnish and nginx.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# Loopback only: never route anything through an HTTP(S)_PROXY from the env.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CHILD_ENV = {"NO_PROXY": "127.0.0.1,localhost,::1", "no_proxy": "127.0.0.1,localhost,::1",
             "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1"}
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def which(name: str) -> str:
    path = shutil.which(name) or shutil.which(
        name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    )
    if not path:
        raise SystemExit(f"{name} not found")
    return path


def render(template: str, out: str, **values) -> None:
    with open(template) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    with open(out, "w") as f:
        f.write(text)


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    n = 0
    while time.monotonic() < deadline:
        n += 1
        sep = "&" if "?" in url else "?"
        try:
            with OPENER.open(f"{url}{sep}rampart_ready={n}", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s: {last}")


class Stack:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.dir = tempfile.mkdtemp(prefix="rampart-cache-stack-")

    def spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(os.path.join(self.dir, f"{name}.log"), "wb")
        child_env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        child_env.update(CHILD_ENV)
        child_env.update(env or {})
        proc = subprocess.Popen(
            argv, env=child_env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.procs.append((name, proc))
        return proc

    def stop(self, keep_logs: bool = False) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if keep_logs:
            print(f"# logs kept in {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-varnish", action="store_true")
    ap.add_argument("--no-nginx", action="store_true")
    args = ap.parse_args()

    stack = Stack()
    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    failed = True
    urls: dict[str, str] = {}
    try:
        endpoint = os.environ.get("DYNAMODB_ENDPOINT")
        if not endpoint:
            moto_port = free_port()
            moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
            if not os.path.exists(moto):
                moto = which("moto_server")
            stack.spawn("moto", [moto, "-H", "127.0.0.1", "-p", str(moto_port)])
            endpoint = f"http://127.0.0.1:{moto_port}"
            wait_http(f"{endpoint}/moto-api/")
        urls["DYNAMODB_ENDPOINT"] = endpoint

        app_ports = {}
        for twin in ("vulnerable", "fixed"):
            port = free_port()
            app_ports[twin] = port
            stack.spawn(
                f"app-{twin}",
                [sys.executable, os.path.join(HERE, "app.py")],
                {"TWIN": twin, "PORT": str(port), "DYNAMODB_ENDPOINT": endpoint,
                 "TABLE_PREFIX": f"cache-{twin}"},
            )
        for twin, port in app_ports.items():
            wait_http(f"http://127.0.0.1:{port}/api/health")
            urls[f"ORIGIN_{twin.upper()}"] = f"http://127.0.0.1:{port}"

        for twin, port in app_ports.items():
            if not args.no_varnish:
                d = os.path.join(stack.dir, f"varnish-{twin}")
                os.makedirs(d)
                vcl = os.path.join(d, "rampart.vcl")
                render(os.path.join(HERE, f"varnish-{twin}.vcl"), vcl,
                       BACKEND_HOST="127.0.0.1", BACKEND_PORT=port)
                lp = free_port()
                stack.spawn(f"varnish-{twin}", [
                    which("varnishd"), "-F", "-j", "none", "-n", os.path.join(d, "work"),
                    "-a", f"127.0.0.1:{lp}", "-f", vcl, "-s", "malloc,32m", "-T", "none",
                    "-p", "vsl_space=4M", "-p", "thread_pools=1", "-p", "thread_pool_min=10",
                ])
                urls[f"VARNISH_{twin.upper()}"] = f"http://127.0.0.1:{lp}"
            if not args.no_nginx:
                d = os.path.join(stack.dir, f"nginx-{twin}")
                os.makedirs(d)
                conf = os.path.join(d, "nginx.conf")
                lp = free_port()
                render(os.path.join(HERE, f"nginx-{twin}.conf.template"), conf,
                       PREFIX=d, LISTEN_PORT=lp, BACKEND_HOST="127.0.0.1", BACKEND_PORT=port)
                stack.spawn(f"nginx-{twin}", [
                    which("nginx"), "-p", d + "/", "-e", os.path.join(d, "error.log"),
                    "-c", conf, "-g", "daemon off;",
                ])
                urls[f"NGINX_{twin.upper()}"] = f"http://127.0.0.1:{lp}"
        for key, url in urls.items():
            if key.startswith(("VARNISH_", "NGINX_")):
                wait_http(f"{url}/api/health")

        print(f"# cache stack up (logs in {stack.dir}); Ctrl-C to stop", flush=True)
        for key, url in urls.items():
            print(f"export {key}={url}", flush=True)
        while True:
            for name, proc in stack.procs:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited with {proc.returncode}; see {stack.dir}/{name}.log")
            time.sleep(1)
    except KeyboardInterrupt:
        failed = False
    finally:
        stack.stop(keep_logs=failed)


if __name__ == "__main__":
    main()
