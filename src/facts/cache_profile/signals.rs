//! What a response says about the caches it passed through: a verdict (hit,
//! miss, bypass) from the headers caches and CDNs add, the stored object's
//! identity where the cache exposes one, and the mere presence of a cache or
//! CDN when it says nothing about this response.

use crate::engine::Exchange;

/// A cache's verdict on one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheVerdict {
    /// Served from cache.
    Hit,
    /// Looked up and not found (so it may be stored now).
    Miss,
    /// The cache declined to store or serve it (pass, bypass, dynamic).
    Bypass,
    /// No cache header said anything.
    Unknown,
}

/// Headers whose value names a hit or a miss in words (`HIT`, `TCP_MISS`,
/// `Hit from cloudfront`, `STALE`, …). Multi-layer values list the layer
/// nearest the client last (`MISS, HIT`).
const WORDED: &[&str] = &[
    "x-cache",
    "x-cache-status",
    "cf-cache-status",
    "x-proxy-cache",
    "x-drupal-cache",
    "x-cache-lookup",
    "akamai-cache-status",
    "x-litespeed-cache",
    "x-sucuri-cache",
    "x-vercel-cache",
    "cdn-cache",
    "x-nginx-cache",
    "x-varnish-cache",
    "x-rack-cache",
    "x-edge-cache",
    "x-cdn-cache",
];

/// Headers that show a cache or CDN is in the path without saying whether
/// this response came from it.
const PRESENCE: &[&str] = &[
    "x-served-by",
    "x-cache-key",
    "x-true-cache-key",
    "x-check-cacheable",
    "x-akamai-request-id",
    "x-amz-cf-id",
    "x-amz-cf-pop",
    "cf-ray",
    "x-fastly-request-id",
    "x-timer",
    "x-vercel-id",
    "x-nf-request-id",
    "x-azure-ref",
    "x-iinfo",
    "x-sucuri-id",
    "x-cache-hits",
];

/// `Via` and `Server` values naming a caching proxy or a CDN.
const CACHE_NAMES: &[&str] = &[
    "varnish",
    "squid",
    "cache",
    "cloudfront",
    "cloudflare",
    "akamai",
    "fastly",
    "apachetrafficserver",
    "ats/",
    "nginx-cache",
    "vegur",
];

fn header<'a>(exchange: &'a Exchange, name: &str) -> Option<&'a str> {
    exchange.response_header(name).map(str::trim)
}

/// Reads a worded status (`HIT`, `TCP_REFRESH_MISS`, `MISS, HIT`, `fresh`,
/// `miss, store`): the layer nearest the client decides.
fn worded(value: &str) -> Option<CacheVerdict> {
    let nearest = value.rsplit(',').next().unwrap_or(value);
    let words: Vec<String> = nearest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let has = |w: &str| {
        words
            .iter()
            .any(|x| x == w || x.ends_with(&format!("_{w}")))
    };
    let has_part = |w: &str| words.iter().any(|x| x.contains(w));
    if has_part("MISS") || has("EXPIRED") || has("STORE") {
        Some(CacheVerdict::Miss)
    } else if has_part("HIT")
        || has("STALE")
        || has("UPDATING")
        || has("REVALIDATED")
        || has("FRESH")
    {
        Some(CacheVerdict::Hit)
    } else if has("BYPASS")
        || has("DYNAMIC")
        || has("PASS")
        || has("UNCACHEABLE")
        || has("DISABLED")
        || has("NONE")
    {
        Some(CacheVerdict::Bypass)
    } else {
        None
    }
}

/// Reads the cache headers of a response. `Age` alone counts as a hit only
/// when positive; `X-Varnish` with two transaction ids is a hit.
pub fn verdict(exchange: &Exchange) -> (CacheVerdict, Option<String>) {
    for name in WORDED {
        if let Some(value) = header(exchange, name) {
            if let Some(verdict) = worded(value) {
                return (verdict, Some(format!("{name}: {value}")));
            }
        }
    }
    // Flask-Caching's `response_hit_indication`.
    if let Some(value) = header(exchange, "hit_cache") {
        let verdict = if value.eq_ignore_ascii_case("true") {
            CacheVerdict::Hit
        } else {
            CacheVerdict::Miss
        };
        return (verdict, Some(format!("hit_cache: {value}")));
    }
    if let Some(value) = header(exchange, "cache-status") {
        // RFC 9211: one member per cache, the one nearest the client last:
        // `cache-name; hit` or `cache-name; fwd=miss; stored`.
        let lower = value.to_ascii_lowercase();
        let nearest = lower.rsplit(',').next().unwrap_or(&lower);
        let params: Vec<&str> = nearest.split(';').map(str::trim).collect();
        let verdict = if params.contains(&"hit") {
            CacheVerdict::Hit
        } else if params.contains(&"fwd=bypass")
            || (params.contains(&"fwd=uri-miss") && !params.contains(&"stored"))
        {
            CacheVerdict::Bypass
        } else {
            CacheVerdict::Miss
        };
        return (verdict, Some(format!("Cache-Status: {value}")));
    }
    // Counts: a second transaction id, a hit count, an age above zero.
    let counted = [
        header(exchange, "x-varnish").map(|v| {
            let ids = v.split_whitespace().count() as u64;
            (ids.saturating_sub(1), format!("X-Varnish: {v}"))
        }),
        hits_count(exchange).map(|n| (n, format!("X-Cache-Hits: {n}"))),
        age(exchange).map(|n| (n, format!("Age: {n}"))),
    ];
    match counted.into_iter().flatten().next() {
        Some((0, signal)) => (CacheVerdict::Miss, Some(signal)),
        Some((_, signal)) => (CacheVerdict::Hit, Some(signal)),
        None => (CacheVerdict::Unknown, None),
    }
}

/// The `Age` header, in seconds.
pub fn age(exchange: &Exchange) -> Option<u64> {
    header(exchange, "age")?.parse().ok()
}

/// How often the stored object was served (`X-Cache-Hits`; the layer
/// nearest the client, last).
pub fn hits_count(exchange: &Exchange) -> Option<u64> {
    header(exchange, "x-cache-hits")?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The identity of the stored object that answered, where the cache shows
/// it: Varnish's `X-Varnish: <this request> <request that stored it>`, or
/// the request's own id on a miss (it stores the object it fetches).
pub fn object_id(exchange: &Exchange) -> Option<String> {
    let ids: Vec<&str> = header(exchange, "x-varnish")?.split_whitespace().collect();
    ids.get(1).or(ids.first()).map(|id| id.to_string())
}

/// The header that shows a cache or CDN handled the response when no
/// verdict could be read, e.g. `Via: 1.1 varnish` or `X-Served-By`.
pub fn presence(exchange: &Exchange) -> Option<String> {
    for name in PRESENCE {
        if let Some(value) = header(exchange, name) {
            return Some(format!("{name}: {value}"));
        }
    }
    for name in ["via", "server"] {
        if let Some(value) = header(exchange, name) {
            let lower = value.to_ascii_lowercase().replace(' ', "");
            if CACHE_NAMES.iter().any(|n| lower.contains(n)) {
                return Some(format!("{name}: {value}"));
            }
        }
    }
    None
}

/// Whether a fetched exchange was served from cache, by headers.
pub fn is_hit(exchange: &Exchange) -> bool {
    verdict(exchange).0 == CacheVerdict::Hit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;

    fn read(headers: &[(&str, &str)]) -> CacheVerdict {
        verdict(&exchange("http://h/", None, 200, headers, "")).0
    }

    #[test]
    fn vendors_words_are_read_nearest_layer_last() {
        use CacheVerdict::*;
        let cases: &[(&[(&str, &str)], CacheVerdict)] = &[
            (&[("X-Cache", "HIT")], Hit),
            (&[("X-Cache", "TCP_MEM_HIT")], Hit),
            (&[("X-Cache", "Hit from cloudfront")], Hit),
            (&[("X-Cache", "RefreshHit from cloudfront")], Hit),
            (&[("X-Cache", "Miss from cloudfront")], Miss),
            (&[("X-Cache", "TCP_REFRESH_MISS")], Miss),
            (&[("X-Cache", "HIT, MISS")], Miss),
            (&[("X-Cache", "MISS, HIT")], Hit),
            (&[("CF-Cache-Status", "DYNAMIC")], Bypass),
            (&[("CF-Cache-Status", "STALE")], Hit),
            (&[("CF-Cache-Status", "EXPIRED")], Miss),
            (&[("X-Cache-Status", "BYPASS")], Bypass),
            (&[("X-Cache-Status", "REVALIDATED")], Hit),
            (&[("X-Rack-Cache", "miss, store")], Miss),
            (&[("X-Rack-Cache", "fresh")], Hit),
            (&[("X-Vercel-Cache", "PRERENDER")], Unknown),
            (&[("Akamai-Cache-Status", "Hit from child")], Hit),
            (&[("hit_cache", "True")], Hit),
            (&[("Cache-Status", "ExampleCache; hit")], Hit),
            (
                &[("Cache-Status", "Origin; fwd=miss; stored, Edge; hit")],
                Hit,
            ),
            (&[("Cache-Status", "Edge; fwd=uri-miss")], Bypass),
            (&[("Cache-Status", "Edge; fwd=uri-miss; stored")], Miss),
            (&[("X-Varnish", "32770 3")], Hit),
            (&[("X-Varnish", "32770")], Miss),
            (&[("X-Cache-Hits", "0, 3")], Hit),
            (&[("Age", "0")], Miss),
            (&[("Age", "12")], Hit),
            (&[("Via", "1.1 varnish")], Unknown),
        ];
        for (headers, expected) in cases {
            assert_eq!(read(headers), *expected, "{headers:?}");
        }
    }

    #[test]
    fn object_identity_and_presence_are_read_where_shown() {
        let hit = exchange("http://h/", None, 200, &[("X-Varnish", "9 5")], "");
        let miss = exchange("http://h/", None, 200, &[("X-Varnish", "7")], "");
        assert_eq!(object_id(&hit).as_deref(), Some("5"));
        assert_eq!(object_id(&miss).as_deref(), Some("7"));
        let via = exchange(
            "http://h/",
            None,
            200,
            &[("Via", "1.1 varnish (Varnish/7.1)")],
            "",
        );
        assert_eq!(
            presence(&via).as_deref(),
            Some("via: 1.1 varnish (Varnish/7.1)")
        );
        let fastly = exchange("http://h/", None, 200, &[("X-Served-By", "cache-fra1")], "");
        assert!(presence(&fastly).is_some());
        let plain = exchange("http://h/", None, 200, &[("Server", "gunicorn")], "");
        assert_eq!(presence(&plain), None);
    }
}
