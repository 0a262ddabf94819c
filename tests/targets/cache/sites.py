"""Rampart test target: web sites behind caches Rampart did not build.

One process per twin serves five small sites. The cache in front names the
site in ``X-Rampart-Site`` (it sets the header itself, whatever a client
sent); a request without it goes to the Flask-Caching site, which runs
without a shared cache in front.

=============  =====================================  ================================
site           cache in front                         planted in the vulnerable twin
=============  =====================================  ================================
``pathonly``   Varnish keyed on the path only         ``X-Forwarded-Host`` in article
               (the query string is ignored)          links; ``q`` reflected by the
                                                      search page (unkeyed query); an
                                                      oversized header answered 400
                                                      and cached (CPDoS)
``hostonly``   Varnish keyed on the Host only         ``X-Forwarded-Host`` in the
                                                      landing page's links
``shop``       Varnish keyed on URL and Host          a root that only redirects, its
                                                      ``Location`` built from
                                                      ``X-Forwarded-Host``; a page that
                                                      varies by browser class without
                                                      ``Vary``
``news``       nginx ``proxy_cache`` with a custom    ``ref`` reflected (the key keeps
               key (host, path and ``page`` only)     only ``page``); ``X-Forwarded-Host``
                                                      in links
``appcache``   Flask-Caching keyed on                 ``X-Forwarded-Prefix`` in script
               ``request.path`` (no shared cache)     URLs of cached pages
=============  =====================================  ================================

The fixed twin serves the same pages without trusting forwarding headers,
reflecting ``ref`` or varying by the raw user agent (it reads the device
class the fixed cache computes and says ``Vary``), and answers errors with
``no-store``; the fixed caches key on the whole URL and Host.

Test-only routes (never behind a cache, in no document):
    GET  /__test__/requests  every request the origin received: site,
                             method, raw URI, headers, the key the cache
                             filed it under (``X-Cache-Key``, set by the
                             cache) and the Flask-Caching keys it set
    POST /__test__/reset     forgets them and empties the Flask-Caching cache

Environment: ``TWIN`` (vulnerable | fixed), ``PORT``.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from flask import Flask, Response, redirect, request, url_for
from flask_caching import Cache
from markupsafe import escape
from werkzeug.middleware.proxy_fix import ProxyFix

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common.twin import twin_and_port  # noqa: E402
from common.web import health, respond, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()

PUBLIC = {"Cache-Control": "public, max-age=60"}
# Origin header limit: far below the 8-16 KiB caches accept.
MAX_HEADER_VALUE = 2048
# A page the application cache saves the origin from rendering again.
RENDER_SECONDS = 0.4


def page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>{escape(title)}</title>{head}</head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def html(content: str, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(content, status, {"Content-Type": "text/html; charset=utf-8", **PUBLIC})
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def site_app(name: str) -> Flask:
    """A site's Flask app: health route, twin marker, errors as HTML with
    no-store in the fixed twin (and cacheable in the vulnerable one)."""
    app = Flask(f"{name}-{TWIN}")
    health(app, TWIN, {"Cache-Control": "no-store"})

    @app.after_request
    def mark(resp):
        resp.headers["X-Rampart-Twin"] = TWIN
        if not VULNERABLE and resp.status_code >= 400:
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.before_request
    def header_size_limit():
        for header, value in request.headers.items():
            if len(value) > MAX_HEADER_VALUE:
                if VULNERABLE:
                    return html(page("Bad request", f"<p>header {escape(header)} too large</p>"), 400)
                return Response("request header too large", 431, {"Cache-Control": "no-store"})
        return None

    return app


def trust_forwarded_host(app: Flask, **prefix) -> None:
    """The vulnerable twin believes X-Forwarded-Host from anyone."""
    if VULNERABLE:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_host=1, **prefix)


# ---------------------------------------------------------------------------
# pathonly: a small magazine behind Varnish keyed on the path only.
# ---------------------------------------------------------------------------
pathonly = site_app("pathonly")
trust_forwarded_host(pathonly)
ARTICLES = {
    "cache-basics": "What a shared cache keeps, and for how long.",
    "edge-rules": "Rules at the edge decide what is stored.",
}


@pathonly.get("/")
def pathonly_home():
    links = "".join(f'<li><a href="/articles/{slug}">{slug}</a></li>' for slug in ARTICLES)
    body = (
        f"<ul>{links}</ul>"
        '<a href="/search-results?q=varnish">search</a> <a href="/contact-us">contact</a>'
    )
    return html(page("The cache magazine", body))


@pathonly.get("/articles/<slug>")
def pathonly_article(slug):
    if slug not in ARTICLES:
        return html(page("Not found", ""), 404)
    here = url_for("pathonly_article", slug=slug, _external=True)
    origin = f"//{request.host}" if VULNERABLE else ""
    head = (
        f'<link rel="canonical" href="{escape(here)}">'
        f'<script src="{escape(origin)}/static/magazine.js"></script>'
    )
    return html(page(slug, f"<p>{escape(ARTICLES[slug])}</p>", head))


@pathonly.get("/search-results")
def pathonly_search():
    q = request.args.get("q", "")
    hits = [s for s, text in ARTICLES.items() if q and q.lower() in (s + text).lower()]
    items = "".join(f'<li><a href="/articles/{s}">{s}</a></li>' for s in hits)
    shown = f"<p>Results for {escape(q)}</p>" if VULNERABLE else "<p>Results</p>"
    return html(page("Search", f"{shown}<ul>{items}</ul>"))


@pathonly.get("/contact-us")
def pathonly_contact():
    return html(page("Contact us", "<p>Write to the editors.</p>"))


# ---------------------------------------------------------------------------
# hostonly: a landing page behind Varnish keyed on the Host only.
# ---------------------------------------------------------------------------
hostonly = site_app("hostonly")
trust_forwarded_host(hostonly)


@hostonly.get("/")
def hostonly_landing():
    here = f"{request.scheme}://{request.host}/" if VULNERABLE else "/"
    head = f'<link rel="canonical" href="{escape(here)}"><meta property="og:url" content="{escape(here)}">'
    return html(page("Launching soon", "<p>Leave us your address.</p>", head))


# ---------------------------------------------------------------------------
# shop: a root that only redirects, and a page per browser class.
# ---------------------------------------------------------------------------
shop = site_app("shop")
trust_forwarded_host(shop)
PRODUCTS = {"widget": "A widget.", "gadget": "A gadget."}


@shop.get("/")
def shop_root():
    if VULNERABLE:
        return redirect(url_for("shop_home", _external=True), 302)
    return redirect("/en/", 302)


def device_class() -> str:
    """Vulnerable: sniffed from the raw user agent. Fixed: the class the
    cache in front computed and keys on."""
    if VULNERABLE:
        agent = request.headers.get("User-Agent", "")
        return "mobile" if any(w in agent for w in ("Mobile", "iPhone", "Android")) else "desktop"
    value = request.headers.get("X-UA-Device", "desktop")
    return value if value in ("mobile", "desktop") else "desktop"


@shop.get("/en/")
def shop_home():
    layout = device_class()
    items = "".join(f'<li><a href="/en/products/{p}">{p}</a></li>' for p in PRODUCTS)
    if layout == "mobile":
        body = f'<nav class="burger">menu</nav><ul class="cards">{items}</ul>'
    else:
        body = f'<nav class="bar">home | products | cart</nav><ul class="grid">{items}</ul>'
    headers = {} if VULNERABLE else {"Vary": "X-UA-Device"}
    return html(page(f"Shop ({layout})", body), headers=headers)


@shop.get("/en/products/<slug>")
def shop_product(slug):
    if slug not in PRODUCTS:
        return html(page("Not found", ""), 404)
    return html(page(slug, f"<p>{escape(PRODUCTS[slug])}</p>"))


# ---------------------------------------------------------------------------
# news: behind nginx whose key keeps the host, the path and `page` only.
# ---------------------------------------------------------------------------
news = site_app("news")
trust_forwarded_host(news)
STORIES = ["Caches and keys", "Edges and origins", "Hosts and headers"]


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100 else 1


@news.get("/")
def news_home():
    return html(page("News", '<a href="/news?page=1&amp;ref=home">latest</a>'))


@news.get("/news")
def news_list():
    number = page_number()
    here = url_for("news_list", page=number, _external=True)
    items = "".join(f"<li>{escape(s)}</li>" for s in STORIES)
    body = f"<ol>{items}</ol>"
    ref = request.args.get("ref", "")
    if VULNERABLE and ref:
        body += f"<p>Welcome, reader from {escape(ref)}</p>"
    head = f'<link rel="canonical" href="{escape(here)}">' if VULNERABLE else ""
    return html(page(f"News, page {number}", body, head))


# ---------------------------------------------------------------------------
# appcache: Flask-Caching keyed on request.path, no shared cache in front.
# ---------------------------------------------------------------------------
appcache = site_app("appcache")
# ProxyFix's prefix support makes url_for() honour X-Forwarded-Prefix.
if VULNERABLE:
    appcache.wsgi_app = ProxyFix(appcache.wsgi_app, x_prefix=1)
cache = Cache(appcache, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 60})


def rendered(title: str, text: str) -> str:
    time.sleep(RENDER_SECONDS)
    script = url_for("static", filename="greeter.js")
    return page(title, f"<p>{escape(text)}</p>", f'<script src="{escape(script)}"></script>')


@appcache.get("/")
def appcache_home():
    body = '<a href="/hello/world">hello</a> <a href="/about-us">about</a>'
    return html(page("Greeter", body), headers={"Cache-Control": "no-store"})


@appcache.get("/hello/<name>")
@cache.cached(timeout=60)
def appcache_hello(name):
    return html(rendered(f"Hello {name}", f"Nice to meet you, {name}."))


@appcache.get("/about-us")
@cache.cached(timeout=60)
def appcache_about():
    return html(rendered("About us", "We greet people."))


# ---------------------------------------------------------------------------
# Dispatch, and what the origin received.
# ---------------------------------------------------------------------------
SITES = {
    "pathonly": pathonly,
    "hostonly": hostonly,
    "standard": shop,
    "news": news,
    "appcache": appcache,
}
RECORDS: list = []
RECORDS_LOCK = threading.Lock()
CURRENT = threading.local()


def record_app_cache_keys() -> None:
    """Flask-Caching's backend, wrapped: every key a request makes it set."""
    backend = cache.cache
    original = backend.set

    def recording_set(key, value, timeout=None):
        record = getattr(CURRENT, "record", None)
        if record is not None:
            record["app_cache_keys"].append(key)
        return original(key, value, timeout)

    backend.set = recording_set


test_routes = Flask(f"test-{TWIN}")


@test_routes.get("/__test__/requests")
def test_requests():
    with RECORDS_LOCK:
        return respond(list(RECORDS))


@test_routes.post("/__test__/reset")
def test_reset():
    with RECORDS_LOCK:
        RECORDS.clear()
    with appcache.app_context():
        cache.clear()
    return respond({"status": "reset"})


class Sites:
    """Routes each request to its site and records what it carried."""

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/__test__/"):
            return test_routes(environ, start_response)
        site = environ.get("HTTP_X_RAMPART_SITE", "appcache")
        app = SITES.get(site)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such site"]
        if path == "/api/health":
            return app(environ, start_response)
        record = {
            "site": site,
            "method": environ.get("REQUEST_METHOD", ""),
            "uri": environ.get("REQUEST_URI") or path,
            "headers": {
                key[5:].replace("_", "-").lower(): value
                for key, value in environ.items()
                if key.startswith("HTTP_")
            },
            "body": int(environ.get("CONTENT_LENGTH") or 0) > 0,
            "cache_key": environ.get("HTTP_X_CACHE_KEY"),
            "app_cache_keys": [],
        }
        with RECORDS_LOCK:
            RECORDS.append(record)
        CURRENT.record = record
        try:
            return app(environ, start_response)
        finally:
            CURRENT.record = None


record_app_cache_keys()
dispatcher = Flask(f"sites-{TWIN}")
dispatcher.wsgi_app = Sites()

if __name__ == "__main__":
    serve(dispatcher, PORT, f"cache sites twin={TWIN} port={PORT}")
