use std::collections::HashSet;
use std::time::Duration;

use super::fixture::{Config, KeyRule, Speaks, TestCache};
use super::*;
use crate::discover::EndpointSource;
use crate::engine::EngineConfig;

fn ms(values: &[u64]) -> Vec<Duration> {
    values.iter().map(|v| Duration::from_millis(*v)).collect()
}

#[test]
fn timing_alone_needs_every_fresh_key_slow_and_every_repeat_fast() {
    assert!(timing_signal(&ms(&[85, 90]), &ms(&[2, 3, 1, 4])).is_some());
    // One fast fresh key: connection effects, not a cache.
    assert!(timing_signal(&ms(&[85, 3]), &ms(&[2, 3, 1, 4])).is_none());
    // Uniformly slow or uniformly fast origins.
    assert!(timing_signal(&ms(&[80, 82]), &ms(&[79, 81, 80, 83])).is_none());
    assert!(timing_signal(&ms(&[3, 4]), &ms(&[1, 1, 1, 1])).is_none());
    // Three times slower but within jitter.
    assert!(timing_signal(&ms(&[12, 13]), &ms(&[3, 4, 3, 4])).is_none());
    assert!(timing_signal(&[], &ms(&[1])).is_none());
}

/// Baselines for `paths` as the scan takes them (busted, anonymous), then
/// the profile.
async fn profile_with(cache: &TestCache, engine: &Engine, paths: &[&str]) -> CacheProfile {
    profile_within(cache, engine, paths, Baselines::new()).await
}

/// The same, with the baselines kept in `baselines` (and its budget).
async fn profile_within(
    cache: &TestCache,
    engine: &Engine,
    paths: &[&str],
    mut baselines: Baselines,
) -> CacheProfile {
    let endpoints: Vec<Endpoint> = paths
        .iter()
        .map(|p| Endpoint::discovered(p, EndpointSource::Crawl))
        .collect();
    for endpoint in &endpoints {
        let url = engine.buster().bust(&cache.url(&endpoint.path));
        let exchange = engine.send(Probe::get(url)).await.expect("baseline");
        baselines.keep(endpoint.label(), exchange);
    }
    CacheProfile::learn(engine, &endpoints, &baselines).await
}

async fn profile(config: Config, paths: &[&str]) -> (TestCache, CacheProfile) {
    let cache = TestCache::start(config).await;
    let engine = cache.engine();
    let profile = profile_with(&cache, &engine, paths).await;
    (cache, profile)
}

/// The profile of `path` behind a cache keyed by `key` that speaks as
/// `speaks`, and the path's keying.
async fn keying_behind(key: KeyRule, speaks: Speaks, path: &str) -> (CacheProfile, Keying) {
    let config = Config {
        key,
        speaks,
        ..Config::default()
    };
    let (_cache, profile) = profile(config, &[path]).await;
    let keyed = keying(&profile, path);
    (profile, keyed)
}

fn keying(profile: &CacheProfile, path: &str) -> Keying {
    profile
        .path(&format!("GET {path}"))
        .unwrap_or_else(|| panic!("{path} not profiled: {profile:?}"))
        .keying
        .clone()
}

#[tokio::test]
async fn a_cache_keyed_on_the_url_is_keyed_by_the_query_buster() {
    let (_cache, profile) = profile(Config::default(), &["/api/items"]).await;
    assert_eq!(
        keying(&profile, "/api/items"),
        Keying::Keyed(KeyComponent::Query)
    );
    assert!(profile.cache_seen && profile.stores_responses && profile.buster_keyed);
    let path = profile.path("GET /api/items").unwrap();
    assert!(path.reference.is_some());
    assert_eq!(path.plain_unobserved, None);
}

#[tokio::test]
async fn a_baseline_kept_compact_is_requested_again_for_the_proof() {
    let cache = TestCache::start(Config::default()).await;
    let engine = cache.engine();
    // No budget: every baseline is kept without its body.
    let profile = profile_within(&cache, &engine, &["/api/items"], Baselines::with_budget(0)).await;
    assert_eq!(
        keying(&profile, "/api/items"),
        Keying::Keyed(KeyComponent::Query),
        "{profile:?}"
    );
    let path = profile.path("GET /api/items").unwrap();
    assert!(!path.proof.is_empty());
    assert!(
        path.proof.iter().all(|e| e.is_compact()),
        "the proof keeps no body"
    );
}

#[tokio::test]
async fn a_cache_that_ignores_the_query_is_keyed_by_the_encoded_path_and_the_root_is_unsafe() {
    let config = Config {
        key: KeyRule::PathOnly,
        ..Config::default()
    };
    let (cache, profile) = profile(config, &["/api/items", "/"]).await;
    assert_eq!(
        keying(&profile, "/api/items"),
        Keying::Keyed(KeyComponent::PathEncoding)
    );
    let Keying::Unsafe(why) = keying(&profile, "/") else {
        panic!("{profile:?}");
    };
    assert!(why.contains("the query string"), "{why}");
    assert!(why.contains("the Host header"), "{why}");
    // Fresh keys of the encoded path are keys of their own.
    let path = profile.path("GET /api/items").unwrap();
    let engine = cache.engine();
    let key = path.fresh(&engine).unwrap();
    assert!(key.url.path().contains('%'));
    assert_ne!(
        cache.visitor_key(key.url.path()),
        cache.visitor_key("/api/items")
    );
}

#[tokio::test]
async fn a_cache_keyed_on_the_host_only_is_keyed_by_a_fresh_host() {
    let (_, keyed) = keying_behind(KeyRule::HostOnly, Speaks::Headers, "/").await;
    assert_eq!(keyed, Keying::Keyed(KeyComponent::Host));
}

#[tokio::test]
async fn a_cache_that_only_says_age_is_read_from_its_age_growing() {
    let (profile, keyed) = keying_behind(KeyRule::FullUrl, Speaks::AgeOnly, "/api/items").await;
    assert_eq!(keyed, Keying::Keyed(KeyComponent::Query));
    let path = profile.path("GET /api/items").unwrap();
    // The repeat said `Age: 0`; the proof waited for it to grow.
    assert!(
        path.proof.iter().any(|e| signals::age(e) == Some(1)),
        "{path:?}"
    );
}

#[tokio::test]
async fn a_silent_cache_is_found_by_timing_on_the_component_it_keys() {
    let full = Config {
        speaks: Speaks::Silent,
        origin_delay: Duration::from_millis(80),
        ..Config::default()
    };
    let (_cache, profile) = profile(full, &["/api/items"]).await;
    assert_eq!(
        keying(&profile, "/api/items"),
        Keying::Keyed(KeyComponent::Query)
    );
    let signal = profile.signal.clone().unwrap_or_default();
    assert!(signal.starts_with("timing:"), "{signal}");

    // A cache keyed on the path alone: a fresh path (here a path parameter
    // the origin's catch-all route accepts) gives a key of its own.
    let path_keyed = Config {
        key: KeyRule::PathOnly,
        speaks: Speaks::Silent,
        origin_delay: Duration::from_millis(80),
        ..Config::default()
    };
    let cache = TestCache::start(path_keyed).await;
    let engine = cache.engine();
    // A visitor's earlier visit filled the entry the query does not split.
    let _ = engine.send(Probe::get(cache.url("/articles/intro"))).await;
    let profile = profile_with(&cache, &engine, &["/articles/intro"]).await;
    let keying = keying(&profile, "/articles/intro");
    assert!(
        matches!(&keying, Keying::Keyed(c) if !c.keeps_path()),
        "{keying:?}"
    );
}

#[tokio::test]
async fn origins_without_a_cache_are_not_mistaken_for_one() {
    for (speaks, delay) in [
        (Speaks::Silent, 80),
        (Speaks::Silent, 0),
        (Speaks::Headers, 0),
    ] {
        let config = Config {
            speaks,
            stores: false,
            origin_delay: Duration::from_millis(delay),
            ..Config::default()
        };
        let (_cache, profile) = profile(config, &["/api/items"]).await;
        assert!(
            matches!(keying(&profile, "/api/items"), Keying::NotCached(_)),
            "{speaks:?} {delay}: {profile:?}"
        );
        assert!(!profile.stores_responses && !profile.buster_keyed);
        let path = profile.path("GET /api/items").unwrap();
        assert!(path.fresh(&_cache.engine()).is_none());
        assert!(matches!(
            path.usable(),
            Err(crate::checks::Skip::NoCache(_))
        ));
    }
}

#[tokio::test]
async fn the_proof_never_sends_a_request_a_visitor_could_not_send_to_a_visitor_key() {
    for key in [KeyRule::FullUrl, KeyRule::PathOnly, KeyRule::HostOnly] {
        let config = Config {
            key,
            ..Config::default()
        };
        let (cache, _profile) = profile(config, &["/api/items", "/"]).await;
        let visitor_keys = [cache.visitor_key("/api/items"), cache.visitor_key("/")];
        for logged in cache.log() {
            let plain = logged.target == "/api/items" || logged.target == "/";
            if visitor_keys.contains(&logged.key) {
                // Only clean, anonymous requests reach a visitor's entry.
                assert!(
                    !logged.body
                        && logged.headers.iter().all(|(n, _)| [
                            "host",
                            "user-agent",
                            "accept",
                            "accept-encoding"
                        ]
                        .contains(&n.as_str())),
                    "{key:?}: {logged:?}"
                );
                assert!(plain || logged.target.contains("rampart_cb="), "{logged:?}");
            }
        }
    }
}

#[tokio::test]
async fn a_credential_in_the_default_headers_keeps_rampart_from_asking_as_a_visitor() {
    let cache = TestCache::start(Config::default()).await;
    let mut config = EngineConfig::new(cache.url("/"));
    config.rate_per_second = None;
    config.default_headers = vec![("Authorization".into(), "Bearer secret-token".into())];
    let engine = Engine::new(config).unwrap();
    let profile = profile_with(&cache, &engine, &["/api/items"]).await;
    let path = profile.path("GET /api/items").unwrap();
    assert!(path.plain_unobserved.is_some());
    assert!(cache.log().iter().all(|l| l.target.contains("rampart_cb=")));
}

#[tokio::test]
async fn a_quiet_target_stops_paying_for_every_part_of_every_key() {
    let config = Config {
        speaks: Speaks::Silent,
        stores: false,
        ..Config::default()
    };
    let cache = TestCache::start(config).await;
    let engine = cache.engine();
    let paths: Vec<String> = (0..30).map(|i| format!("/articles/story-{i}")).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let profile = profile_with(&cache, &engine, &paths).await;
    assert!(!profile.cache_seen);
    // Paths where timing looked past the query buster: a fresh Host, an
    // encoded or extended path.
    let explored: HashSet<String> = cache
        .log()
        .iter()
        .filter(|l| {
            let host = l
                .headers
                .iter()
                .any(|(n, v)| n == "host" && v.starts_with("rampart"));
            host || l.target.contains('%') || l.target.contains(';')
        })
        .filter_map(|l| {
            let path = super::fixture::decode(l.target.split(['?', ';']).next()?);
            paths.contains(&path.as_str()).then_some(path)
        })
        .collect();
    // The quiet paths, and those already under way when the last of them
    // finished.
    assert!(
        (QUIET_PATHS..=QUIET_PATHS + PROFILE_CONCURRENCY).contains(&explored.len()),
        "{} paths explored",
        explored.len()
    );
}
