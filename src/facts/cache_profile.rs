//! What shared caches say about a response, and what Rampart learns once per
//! target about the cache in front of it.

use std::sync::Arc;

use serde::Serialize;
use url::Url;

use super::Baselines;
use crate::engine::{Caller, Engine, Exchange, Probe};

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
    /// Learns the profile from one baseline: a public, successful GET
    /// (anonymous first, one whose cache headers speak first), since even a
    /// correctly configured cache stores those. The default profile (no
    /// cache seen) when there is none.
    pub async fn learn_from(engine: &Engine, baselines: &Baselines) -> CacheProfile {
        let sample = baselines
            .values()
            .flatten()
            .filter(|e| e.request.method == "GET" && e.response.status == 200)
            .min_by_key(|e| {
                let silent = verdict(e).0 == CacheVerdict::Unknown;
                (silent, e.request.identity.is_some())
            });
        let Some(sample) = sample else {
            return CacheProfile::default();
        };
        let Ok(url) = Url::parse(&sample.request.url) else {
            return CacheProfile::default();
        };
        let caller = match &sample.request.identity {
            Some(name) => Caller::Identity(name.clone()),
            None => Caller::Anonymous,
        };
        CacheProfile::learn(engine, &url, &caller, sample.endpoint_template.clone()).await
    }

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
        if profile.cache_seen {
            return profile;
        }
        // Last resort for caches that hide their headers: repeats of one
        // busted URL answered much faster than fresh URLs, every time.
        let busted = Url::parse(&first.request.url).unwrap_or_else(|_| url.clone());
        let mut repeats = vec![second.elapsed];
        for _ in 0..TIMING_REPEATS {
            match send(busted.clone()).await {
                Ok(again) => repeats.push(again.elapsed),
                Err(_) => return profile,
            }
        }
        // Sent after the repeats, on a warm connection: a slow answer here
        // is the origin's work, not connection setup.
        let Ok(fresh) = send(engine.buster().bust(url)).await else {
            return profile;
        };
        let fresh_urls = [first.elapsed, fresh.elapsed];
        if let Some(signal) = timing_signal(&fresh_urls, &repeats) {
            profile.cache_seen = true;
            profile.stores_responses = true;
            profile.buster_keyed = true;
            profile.signal = Some(signal);
        }
        profile
    }

    /// Poisoning probes are safe only when the buster is proven to be keyed.
    pub fn safe_to_poison(&self) -> bool {
        self.stores_responses && self.buster_keyed
    }
}

/// Repeats of the busted URL sent when no header speaks about a cache.
const TIMING_REPEATS: usize = 3;

/// A cache seen by timing alone: every fresh URL is at least three times
/// slower than every repeat, and by a margin no jitter explains. Both
/// fresh URLs being slow also shows the buster is keyed.
pub fn timing_signal(
    fresh_urls: &[std::time::Duration],
    repeats: &[std::time::Duration],
) -> Option<String> {
    const MARGIN: std::time::Duration = std::time::Duration::from_millis(20);
    let slowest_repeat = *repeats.iter().max()?;
    let fastest_fresh = *fresh_urls.iter().min()?;
    (fastest_fresh >= slowest_repeat * 3 && fastest_fresh >= slowest_repeat + MARGIN).then(|| {
        format!(
            "timing: fresh URLs took ≥{} ms, repeats ≤{} ms",
            fastest_fresh.as_millis(),
            slowest_repeat.as_millis()
        )
    })
}

/// Whether a fetched exchange was served from cache, by headers.
pub fn is_hit(exchange: &Arc<Exchange>) -> bool {
    verdict(exchange).0 == CacheVerdict::Hit
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;
    use std::time::Duration;

    use axum::extract::{OriginalUri, State};
    use axum::routing::get;
    use axum::Router;

    use super::*;
    use crate::engine::EngineConfig;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn timing_alone_needs_every_fresh_url_slow_and_every_repeat_fast() {
        assert!(timing_signal(&ms(&[85, 90]), &ms(&[2, 3, 1, 4])).is_some());
        // One fast fresh URL: connection effects, not a cache.
        assert!(timing_signal(&ms(&[85, 3]), &ms(&[2, 3, 1, 4])).is_none());
        // Uniformly slow or uniformly fast origins.
        assert!(timing_signal(&ms(&[80, 82]), &ms(&[79, 81, 80, 83])).is_none());
        assert!(timing_signal(&ms(&[3, 4]), &ms(&[1, 1, 1, 1])).is_none());
        // Three times slower but within jitter.
        assert!(timing_signal(&ms(&[12, 13]), &ms(&[3, 4, 3, 4])).is_none());
        assert!(timing_signal(&[], &ms(&[1])).is_none());
    }

    #[derive(Clone, Copy)]
    enum Origin {
        /// Caches by full URI, says nothing in headers, 80 ms on a miss.
        SilentCache,
        /// Always 80 ms, caches nothing.
        Slow,
        /// Always immediate.
        Fast,
    }

    async fn answer(
        State((origin, seen)): State<(Origin, Arc<Mutex<HashSet<String>>>)>,
        OriginalUri(uri): OriginalUri,
    ) -> &'static str {
        let delay = match origin {
            Origin::SilentCache => {
                let fresh = seen
                    .lock()
                    .map(|mut s| s.insert(uri.to_string()))
                    .unwrap_or(true);
                fresh.then_some(80)
            }
            Origin::Slow => Some(80),
            Origin::Fast => None,
        };
        if let Some(ms) = delay {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        "{\"ok\":true}"
    }

    async fn profile_of(origin: Origin) -> CacheProfile {
        let app = Router::new()
            .route("/api/items", get(answer))
            .with_state((origin, Arc::new(Mutex::new(HashSet::new()))));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut config = EngineConfig::new(Url::parse(&format!("http://{addr}/")).unwrap());
        config.rate_per_second = None;
        let engine = Engine::new(config).unwrap();
        let url = engine.url_for("/api/items").unwrap();
        CacheProfile::learn(&engine, &url, &Caller::Anonymous, None).await
    }

    #[tokio::test]
    async fn a_cache_that_hides_its_headers_is_found_by_timing() {
        let profile = profile_of(Origin::SilentCache).await;
        assert!(profile.cache_seen && profile.stores_responses && profile.buster_keyed);
        assert!(profile.safe_to_poison());
        let signal = profile.signal.unwrap_or_default();
        assert!(signal.starts_with("timing:"), "{signal}");
    }

    #[tokio::test]
    async fn slow_or_fast_origins_without_a_cache_are_not_mistaken_for_one() {
        for origin in [Origin::Slow, Origin::Fast] {
            let profile = profile_of(origin).await;
            assert!(
                !profile.cache_seen && !profile.stores_responses,
                "{profile:?}"
            );
        }
    }
}
