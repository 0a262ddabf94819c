vcl 4.1;

# Rampart test target -- correctly configured Varnish in front of sites.py
# (the fixed twin of sites-vulnerable.vcl), with the same sockets:
#
#   * the key is URL + Host on every socket (the builtin vcl_hash), plus, on
#     the shop's socket, a device class Varnish computes from the user
#     agent, passes to the origin in X-UA-Device and hashes; towards
#     clients the origin's `Vary: X-UA-Device` becomes `Vary: User-Agent`;
#   * client forwarding and method-override headers never reach the origin;
#   * the origin's Cache-Control and Vary are honoured (builtin
#     vcl_backend_response) and errors are never stored.

backend origin {
    .host = "@BACKEND_HOST@";
    .port = "@BACKEND_PORT@";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

sub vcl_recv {
    set req.http.X-Rampart-Site = local.socket;
    unset req.http.X-Cache-Key;
    unset req.http.X-Forwarded-Host;
    unset req.http.X-Forwarded-Server;
    unset req.http.X-Forwarded-Scheme;
    unset req.http.X-Forwarded-Proto;
    unset req.http.X-Forwarded-Port;
    unset req.http.X-Forwarded-Prefix;
    unset req.http.X-Original-URL;
    unset req.http.X-Rewrite-URL;
    unset req.http.X-HTTP-Method-Override;
    unset req.http.X-HTTP-Method;
    unset req.http.X-Method-Override;
    unset req.http.Forwarded;
    if (local.socket == "standard") {
        if (req.http.User-Agent ~ "(?i)mobile|iphone|android") {
            set req.http.X-UA-Device = "mobile";
        } else {
            set req.http.X-UA-Device = "desktop";
        }
    } else {
        unset req.http.X-UA-Device;
    }
    if (req.url ~ "^/api/health") {
        return (pass);
    }
    # Fall through to the builtin vcl_recv (which passes anything that is
    # not GET/HEAD and anything with a cookie or a credential).
}

sub vcl_hash {
    set req.http.X-Cache-Key = req.http.host + req.url;
    if (req.http.X-UA-Device) {
        hash_data(req.http.X-UA-Device);
        set req.http.X-Cache-Key = req.http.X-Cache-Key + "|" + req.http.X-UA-Device;
    }
    # No return: the builtin vcl_hash adds the URL and the Host.
}

sub vcl_backend_response {
    if (beresp.status >= 400) {
        set beresp.ttl = 0s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
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
    if (resp.http.Vary ~ "(?i)X-UA-Device") {
        set resp.http.Vary = regsub(resp.http.Vary, "(?i)X-UA-Device", "User-Agent");
    }
    set resp.http.X-Cache = req.http.X-Rampart-Cache;
    if (obj.hits > 0) {
        set resp.http.X-Cache-Hits = obj.hits;
    }
    set resp.http.X-Cache-Layer = "varnish-sites-fixed";
    unset req.http.X-Rampart-Cache;
}
