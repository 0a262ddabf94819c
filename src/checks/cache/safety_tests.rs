//! The family's safety promise, proven on a whole scan: no request other
//! than a clean one ever creates an entry a visitor could be served, even
//! behind a cache that ignores the query string (where the buster is no
//! buster at all), and every planted flaw is still found on keys of
//! Rampart's own.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use crate::facts::cache_profile::fixture::{Config, Flaws, KeyRule, Logged, Speaks, TestCache};
use crate::report::Report;

/// The pages visitors use, as the home page links them.
const VISITOR_URLS: &[&str] = &[
    "/",
    "/articles/intro",
    "/catalog/search?q=cache",
    "/contact-us",
];

static CANARY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)rampart[0-9a-f]{6,}").expect("canary regex"));

fn site(key: KeyRule) -> Config {
    Config {
        key,
        speaks: Speaks::Headers,
        store_errors: true,
        origin_delay: Duration::ZERO,
        flaws: Flaws {
            reflect_header: Some("x-forwarded-host"),
            reflect_params: &["q"],
            method_override: true,
            mobile_variant: true,
            strip_matrix: false,
            // Fewer than a batch of guesses: batches must shrink.
            max_headers: Some(24),
            ..Flaws::default()
        },
        paths: &["/", "/articles/*", "/catalog/search", "/contact-us"],
        stores: true,
        links: &["/articles/intro", "/catalog/search?q=cache", "/contact-us"],
    }
}

async fn scan_cache_family(cache: &TestCache) -> Report {
    cache.scan("cache.*").await
}

/// The request carries attacker input: anything beyond the headers every
/// client sends, the buster, the visitor's own sample query and a fresh
/// key component (a fresh Host, an encoded or extended path, a fresh value
/// of the visitor's own parameter), which the keying proof sends and which
/// may look a visitor's entry up, as long as it stores nothing there.
fn attacker_input(logged: &Logged) -> bool {
    let query_clean = logged.target.split_once('?').is_none_or(|(_, q)| {
        q.split('&')
            .all(|p| p.starts_with("rampart_cb=") || p == "q=cache" || p.starts_with("q=rampart"))
    });
    let headers_clean = logged
        .headers
        .iter()
        .all(|(name, value)| match name.as_str() {
            "user-agent" => value.starts_with("rampart/"),
            "host" | "accept" | "accept-encoding" => true,
            _ => false,
        });
    logged.method != "GET" || logged.body || !query_clean || !headers_clean
}

/// A visitor's own request: no attacker input, the target's own Host, a
/// path a visitor uses.
fn visitor_like(logged: &Logged, host: &str) -> bool {
    let path = logged.target.split('?').next().unwrap_or("");
    !attacker_input(logged)
        && logged.headers.iter().any(|(n, v)| n == "host" && v == host)
        && VISITOR_URLS
            .iter()
            .any(|v| v.split('?').next() == Some(path))
}

/// No request with attacker input was even looked up under a visitor's key,
/// every entry a visitor's key holds was stored by a visitor-like request,
/// and none holds a canary now.
fn assert_no_visitor_entry_touched(cache: &TestCache, what: &str) {
    let host = cache.addr.to_string();
    let visitor_keys: Vec<String> = VISITOR_URLS.iter().map(|u| cache.visitor_key(u)).collect();
    let log = cache.log();
    let probes = log.iter().filter(|l| attacker_input(l)).count();
    assert!(probes > 20, "{what}: the scan sent only {probes} probes");
    for logged in &log {
        let visitor_key = visitor_keys.contains(&logged.key);
        assert!(
            !(visitor_key && attacker_input(logged)),
            "{what}: a probe reached a visitor's entry {}: {logged:?}",
            logged.key
        );
        assert!(
            !(visitor_key && logged.stored && !visitor_like(logged, &host)),
            "{what}: an entry visitors get was stored by a request no visitor sends: {logged:?}"
        );
    }
    for key in &visitor_keys {
        if let Some(body) = cache.stored_body(key) {
            assert!(
                !CANARY.is_match(&body) && !body.contains("method not allowed"),
                "{what}: visitors of {key} are served a probe's answer: {body}"
            );
        }
    }
}

fn has(report: &Report, check: &str, path: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.check == check && f.head.path == path)
}

fn summary(report: &Report) -> String {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} — {}",
                f.check, f.head.path, f.head.url, f.head.title
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn behind_a_cache_that_ignores_the_query_no_probe_reaches_a_visitor_entry() {
    let (report, found) = scanned_safely(KeyRule::PathOnly, "path-keyed cache").await;
    // The flaws are still found, each on a key of Rampart's own.
    for (check, path) in [
        ("cache.unkeyed-header", "/articles/intro"),
        ("cache.unkeyed-param", "/catalog/search"),
        ("cache.cached-error", "/contact-us"),
        ("cache.client-class", "/contact-us"),
        ("cache.cached-error", "/articles/intro"),
    ] {
        assert!(has(&report, check, path), "no {check} on {path}:\n{found}");
    }
    // The root has no letter to encode and the Host is not keyed: nothing
    // makes it a key of Rampart's own, so it gets no poisoning probe.
    assert!(
        !report.findings.iter().any(|f| f.head.path == "/"),
        "the unkeyable root was probed:\n{found}"
    );
    // Each finding's URL is a path no visitor asks for.
    for finding in &report.findings {
        let path = crate::engine::exchange::url_path(&finding.head.url);
        assert!(
            !VISITOR_URLS
                .iter()
                .any(|v| v.split('?').next() == Some(path)),
            "{}: shown on a visitor's path",
            finding.head.url
        );
    }
}

/// Scans the site behind a cache keyed by `key`, checks that no probe
/// touched a visitor's entry, and hands back the report and its summary.
async fn scanned_safely(key: KeyRule, what: &str) -> (Report, String) {
    let cache = TestCache::start(site(key)).await;
    let report = scan_cache_family(&cache).await;
    assert_no_visitor_entry_touched(&cache, what);
    let found = summary(&report);
    (report, found)
}

#[tokio::test]
async fn behind_a_cache_keyed_on_the_host_only_every_probe_uses_a_fresh_host() {
    let (report, found) = scanned_safely(KeyRule::HostOnly, "host-keyed cache").await;
    assert!(has(&report, "cache.unkeyed-header", "/"), "{found}");
    assert!(has(&report, "cache.unkeyed-param", "/"), "{found}");
    // Every other page shares the root's entry here, so its own answer
    // cannot be told apart from the root's: it is left alone.
    assert!(
        report.findings.iter().all(|f| f.head.path == "/"),
        "{found}"
    );
}

#[tokio::test]
async fn behind_a_cache_keyed_on_the_url_the_query_buster_does_and_visitors_stay_clean() {
    let (report, found) = scanned_safely(KeyRule::UrlWithoutUtm, "URL-keyed cache").await;
    assert!(has(&report, "cache.unkeyed-header", "/"), "{found}");
    assert!(has(&report, "cache.cached-error", "/contact-us"), "{found}");
}

#[tokio::test]
async fn a_site_without_flaws_behind_a_correct_cache_gets_no_finding() {
    let config = Config {
        flaws: Flaws {
            max_headers: Some(24),
            ..Flaws::default()
        },
        ..site(KeyRule::FullUrl)
    };
    let cache = TestCache::start(Config {
        store_errors: false,
        ..config
    })
    .await;
    let report = scan_cache_family(&cache).await;
    assert!(report.findings.is_empty(), "{}", summary(&report));
    // It was probed all the same: dozens of guesses reached the origin.
    let probes = cache.log().iter().filter(|l| attacker_input(l)).count();
    assert!(probes > 50, "{probes}");
}
