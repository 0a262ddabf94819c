//! What shared caches say about a response, and what Rampart learns once per
//! target about the cache in front of it.

use std::sync::Arc;

use serde::Serialize;
use url::Url;

use super::{Caller, Engine, Exchange, Probe};

/// A cache's verdict on one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// Reads the cache headers of a response. `Age` alone counts as a hit only
/// when positive; `X-Varnish` with two transaction ids is a hit.
pub fn verdict(exchange: &Exchange) -> (CacheVerdict, Option<String>) {
    let header = |name: &str| exchange.response_header(name).map(str::trim);
    for name in [
        "x-cache",
        "x-cache-status",
        "cf-cache-status",
        "x-proxy-cache",
        "x-drupal-cache",
        "x-cache-lookup",
    ] {
        if let Some(value) = header(name) {
            let upper = value.to_ascii_uppercase();
            let verdict = if upper.contains("HIT") && !upper.contains("MISS") {
                CacheVerdict::Hit
            } else if upper.contains("MISS") || upper.contains("EXPIRED") || upper.contains("STALE")
            {
                CacheVerdict::Miss
            } else if upper.contains("BYPASS")
                || upper.contains("DYNAMIC")
                || upper.contains("PASS")
            {
                CacheVerdict::Bypass
            } else {
                continue;
            };
            return (verdict, Some(format!("{name}: {value}")));
        }
    }
    if let Some(value) = header("cache-status") {
        // RFC 9211: `cache-name; hit` or `cache-name; fwd=miss; stored`.
        let lower = value.to_ascii_lowercase();
        let verdict = if lower.split([';', ',']).any(|p| p.trim() == "hit") {
            CacheVerdict::Hit
        } else if lower.contains("fwd=bypass")
            || lower.contains("fwd=uri-miss") && !lower.contains("stored")
        {
            CacheVerdict::Bypass
        } else {
            CacheVerdict::Miss
        };
        return (verdict, Some(format!("Cache-Status: {value}")));
    }
    if let Some(value) = header("x-varnish") {
        let ids = value.split_whitespace().count();
        let verdict = if ids >= 2 {
            CacheVerdict::Hit
        } else {
            CacheVerdict::Miss
        };
        return (verdict, Some(format!("X-Varnish: {value}")));
    }
    if let Some(hits) =
        header("x-cache-hits").and_then(|v| v.split(',').next()?.trim().parse::<u64>().ok())
    {
        let verdict = if hits > 0 {
            CacheVerdict::Hit
        } else {
            CacheVerdict::Miss
        };
        return (verdict, Some(format!("X-Cache-Hits: {hits}")));
    }
    if let Some(age) = header("age").and_then(|v| v.parse::<u64>().ok()) {
        let verdict = if age > 0 {
            CacheVerdict::Hit
        } else {
            CacheVerdict::Miss
        };
        return (verdict, Some(format!("Age: {age}")));
    }
    (CacheVerdict::Unknown, None)
}

/// What Rampart learned about the target's cache, once, before cache checks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheProfile {
    /// A response carried cache headers, or a repeat request was a hit.
    pub cache_seen: bool,
    /// The header that showed it, e.g. `X-Cache: HIT`.
    pub signal: Option<String>,
    /// A repeated request to the same busted URL was served from cache.
    pub stores_responses: bool,
    /// A different buster value missed the cache: the buster is part of the
    /// key, so probes with a fresh buster cannot touch entries real users get.
    pub buster_keyed: bool,
}

impl CacheProfile {
    /// Requests `url` with one buster twice, then with another buster.
    pub async fn learn(
        engine: &Engine,
        url: &Url,
        caller: &Caller,
        template: Option<String>,
    ) -> CacheProfile {
        let mut profile = CacheProfile::default();
        let busted = engine.buster().bust(url);
        let send = |u: Url| {
            engine.send(
                Probe::get(u)
                    .as_caller(caller.clone())
                    .template(template.clone()),
            )
        };
        let Ok(first) = send(busted.clone()).await else {
            return profile;
        };
        let Ok(second) = send(busted).await else {
            return profile;
        };
        let (first_verdict, first_signal) = verdict(&first);
        let (second_verdict, second_signal) = verdict(&second);
        profile.cache_seen =
            first_verdict != CacheVerdict::Unknown || second_verdict != CacheVerdict::Unknown;
        profile.signal = second_signal.or(first_signal);
        profile.stores_responses = second_verdict == CacheVerdict::Hit;
        if profile.stores_responses {
            if let Ok(third) = send(engine.buster().bust(url)).await {
                profile.buster_keyed = verdict(&third).0 != CacheVerdict::Hit;
            }
        }
        profile
    }

    /// Poisoning probes are safe only when the buster is proven to be keyed.
    pub fn safe_to_poison(&self) -> bool {
        self.stores_responses && self.buster_keyed
    }
}

/// Whether a fetched exchange was served from cache, by headers.
pub fn is_hit(exchange: &Arc<Exchange>) -> bool {
    verdict(exchange).0 == CacheVerdict::Hit
}
