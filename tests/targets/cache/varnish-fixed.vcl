vcl 4.1;

# Rampart test target -- correctly configured shared cache (the "fixed" twin
# of varnish-vulnerable.vcl).
#
# Template: @BACKEND_HOST@ and @BACKEND_PORT@ are replaced at start time.
#
#   * Requests carrying Authorization / X-API-Key / Cookie are passed, never
#     looked up or stored.
#   * Key = full URL (every query parameter) + Host (builtin vcl_hash).
#   * Origin Cache-Control / Vary / Set-Cookie are respected (builtin
#     vcl_backend_response), nothing gets a forced TTL.
#   * Error responses (>= 400) are never cached.
#   * GET bodies are dropped before the fetch (builtin vcl_backend_fetch),
#     so a body can't change a cached response.
#   * Forwarded-host style headers from the client are removed.

backend origin {
    .host = "@BACKEND_HOST@";
    .port = "@BACKEND_PORT@";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

sub vcl_recv {
    # Nothing the client says about forwarding is trusted.
    unset req.http.X-Forwarded-Host;
    unset req.http.X-Forwarded-Scheme;
    unset req.http.X-Forwarded-Proto;
    unset req.http.X-Forwarded-Port;
    unset req.http.X-Original-URL;
    unset req.http.X-Rewrite-URL;

    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # A cacheable GET must stay a GET all the way to the origin.
    unset req.http.X-HTTP-Method-Override;
    unset req.http.X-HTTP-Method;
    unset req.http.X-Method-Override;
    if (req.http.Authorization || req.http.X-API-Key || req.http.Cookie) {
        return (pass);
    }
    # Fall through to the builtin vcl_recv (which also passes on
    # Authorization/Cookie) and the builtin vcl_hash (URL + Host).
}

sub vcl_backend_response {
    if (beresp.status >= 400) {
        # Never store an error, and don't keep a hit-for-miss marker either.
        set beresp.ttl = 0s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # Fall through to the builtin: Cache-Control private/no-store/no-cache,
    # Set-Cookie and Vary: * all make the object uncacheable; Vary is
    # honoured for the variants that are stored.
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
    set resp.http.X-Cache-Layer = "varnish-fixed";
    unset req.http.X-Rampart-Cache;
}
