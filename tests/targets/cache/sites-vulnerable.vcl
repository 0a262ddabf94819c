vcl 4.1;

import std;

# Rampart test target -- DELIBERATELY MISCONFIGURED Varnish in front of
# sites.py, one listen socket per site (varnishd -a NAME=ADDRESS):
#
#   pathonly  the key is the path alone: the query string is ignored
#   hostonly  the key is the Host header alone
#   standard  the key is URL + Host, but the client's forwarding headers
#             reach the origin and the user agent is not keyed
#
# Everything is stored for 60 s whatever the origin says, errors and
# redirects included; the origin's Vary is dropped. The cache names the site
# in X-Rampart-Site and the key it filed a request under in X-Cache-Key
# (both overwrite whatever a client sent), so the origin can record them;
# the key of every lookup, hit or miss, also goes to the shared-memory log
# (`varnishlog -i VCL_Log`).
#
# Template: @BACKEND_HOST@ and @BACKEND_PORT@ are replaced at start time.

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
    if (req.url ~ "^/api/health") {
        return (pass);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    return (hash);
}

sub vcl_hash {
    if (local.socket == "pathonly") {
        # Mistake: "the query string is only tracking noise".
        set req.http.X-Cache-Key = regsub(req.url, "\?.*$", "");
    } elsif (local.socket == "hostonly") {
        # Mistake: a one-page site, so "the host is enough".
        set req.http.X-Cache-Key = req.http.host;
    } else {
        set req.http.X-Cache-Key = req.http.host + req.url;
    }
    hash_data(req.http.X-Cache-Key);
    std.log("key=" + req.http.X-Cache-Key);
    return (lookup);
}

sub vcl_backend_response {
    unset beresp.http.Set-Cookie;
    unset beresp.http.Vary;
    set beresp.ttl = 60s;
    set beresp.grace = 0s;
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
    set resp.http.X-Cache-Layer = "varnish-sites-vulnerable";
    unset req.http.X-Rampart-Cache;
}
