vcl 4.1;

# Rampart test target -- DELIBERATELY MISCONFIGURED shared cache.
#
# Template: @BACKEND_HOST@ and @BACKEND_PORT@ are replaced at start time
# (tests/support/proxy.rs, tests/targets/cache/run_stack.py).
#
# Planted mistakes (see README.md for the case matrix):
#   1. Caches GET/HEAD even with Authorization / X-API-Key / Cookie
#      ("unset Cookie; return(hash)" skips the builtin pass).
#   2. Hash = URL + Host only: credentials are not part of the key.
#   3. Origin Cache-Control (private, no-store, max-age=0) and Vary are
#      ignored: a TTL is forced and Vary/Set-Cookie are dropped.
#   4. 4xx/5xx answers are cached like any other object (CPDoS).
#   5. Anything ending in a static extension is "always cacheable" for an hour.
#   6. utm_* parameters are removed from the cache key but still sent to the
#      origin (unkeyed parameters; ';' is not a separator for the cache).
#   7. Request headers (X-Forwarded-Host, X-HTTP-Method-Override, ...) go to
#      the origin untouched and are not part of the key.
#   8. GET request bodies are forwarded to the origin (the builtin
#      vcl_backend_fetch would drop them) but never keyed (fat GET).

backend origin {
    .host = "@BACKEND_HOST@";
    .port = "@BACKEND_PORT@";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

sub vcl_recv {
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Mistake 1: cookies are "noise", credentials are ignored.
    unset req.http.Cookie;
    return (hash);
}

sub vcl_hash {
    # Mistakes 2 + 6: URL (minus utm_* params) + Host, nothing else.
    set req.http.X-Rampart-Key = regsuball(req.url, "(?<=[?&])utm_[A-Za-z0-9_]+=[^&]*&?", "");
    set req.http.X-Rampart-Key = regsub(req.http.X-Rampart-Key, "[?&]$", "");
    hash_data(req.http.X-Rampart-Key);
    if (req.http.host) {
        hash_data(req.http.host);
    } else {
        hash_data(server.ip);
    }
    unset req.http.X-Rampart-Key;
    return (lookup);
}

sub vcl_backend_fetch {
    # Mistake 8: skip the builtin "unset bereq.body" for GET.
    return (fetch);
}

sub vcl_backend_response {
    # Mistakes 3 + 4 + 5: force a TTL on everything, errors included, and
    # throw away the origin's Vary / Set-Cookie / Cache-Control: private.
    # Static-looking URLs (mistake 5) get an hour.
    unset beresp.http.Set-Cookie;
    unset beresp.http.Vary;
    if (bereq.url ~ "(?i)\.(css|js|png|jpe?g|gif|svg|ico|woff2?)(\?.*)?$") {
        set beresp.ttl = 1h;
    } else {
        set beresp.ttl = 60s;
    }
    set beresp.grace = 10s;
    set beresp.uncacheable = false;
    return (deliver);
}

sub vcl_hit {
    set req.http.X-Rampart-Cache = "HIT";
}

sub vcl_miss {
    set req.http.X-Rampart-Cache = "MISS";
}

sub vcl_pass {
    set req.http.X-Rampart-Cache = "PASS";
}

sub vcl_deliver {
    set resp.http.X-Cache = req.http.X-Rampart-Cache;
    if (obj.hits > 0) {
        set resp.http.X-Cache-Hits = obj.hits;
    }
    set resp.http.X-Cache-Layer = "varnish-vulnerable";
    unset req.http.X-Rampart-Cache;
}
