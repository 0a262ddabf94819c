//! Cache poisoning and deception against REAL shared caches: the Flask app
//! `tests/targets/cache/app.py` (DynamoDB on moto_server) behind Debian's
//! Varnish and nginx `proxy_cache`, each as a vulnerable and a fixed twin.
//!
//! Needs the Python venv, varnishd and nginx (`scripts/test` installs them).

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::proxy::{self, Nginx, Varnish};
use support::{http_get, FlaskApp, MotoServer};

const APP: &str = "cache/app.py";
const ALICE: &str = "X-API-Key: ak_alice_3f9c2e71b8d4";
const BOB: &str = "X-API-Key: ak_bob_8e2d4c6a1f93";

/// Paths the scan touches, requested afterwards without a buster.
const SCANNED_PATHS: &[&str] = &[
    "/api/account",
    "/api/wallet",
    "/api/app-cached/me",
    "/api/links",
    "/api/catalog",
    "/api/promo",
    "/api/search?q=widget",
];

enum Cache {
    Varnish(Varnish),
    Nginx(Nginx),
}

impl Cache {
    fn base_url(&self) -> String {
        match self {
            Cache::Varnish(v) => v.base_url(),
            Cache::Nginx(n) => n.base_url(),
        }
    }
}

struct Stack {
    // Drop order: the cache first, then the app, then moto.
    cache: Cache,
    app: FlaskApp,
    _moto: MotoServer,
}

fn start(cache_kind: &str, twin: &str) -> Stack {
    let moto = MotoServer::start();
    let prefix = format!("cache-{cache_kind}-{twin}");
    let app = FlaskApp::start(APP, twin, &moto, &[("TABLE_PREFIX", &prefix)]);
    let config = match (cache_kind, twin) {
        ("varnish", "vulnerable") => proxy::VARNISH_VULNERABLE,
        ("varnish", _) => proxy::VARNISH_FIXED,
        ("nginx", "vulnerable") => proxy::NGINX_VULNERABLE,
        _ => proxy::NGINX_FIXED,
    };
    let path = proxy::cache_target_path(config);
    let cache = match cache_kind {
        "varnish" => Cache::Varnish(Varnish::start(path, app.port())),
        _ => Cache::Nginx(Nginx::start(path, app.port())),
    };
    Stack {
        cache,
        app,
        _moto: moto,
    }
}

fn scan(stack: &Stack) -> Value {
    let base = stack.cache.base_url();
    let spec = format!("{base}/openapi.json");
    let run = support::scan(
        &base,
        &[
            "--spec",
            &spec,
            "--identity",
            "alice",
            ALICE,
            "--identity",
            "bob",
            BOB,
            "--checks",
            "cache.*",
            "--rate",
            "0",
        ],
    );
    run.report
}

fn findings(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn has(report: &Value, check: &str, path: &str) -> Option<Value> {
    findings(report)
        .into_iter()
        .find(|f| f["check"] == check && f["path"] == path)
        .cloned()
}

fn assert_planted(report: &Value, cache_kind: &str) {
    let summary = support::summarize_findings(report);
    let expect = [
        (
            "cache.identity-unkeyed",
            "/api/account",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.identity-unkeyed",
            "/api/wallet",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.identity-unkeyed",
            "/api/app-cached/me",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.auth-after-lookup",
            "/api/account",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.auth-after-lookup",
            "/api/app-cached/me",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.unkeyed-header",
            "/api/links",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.unkeyed-param",
            "/api/promo",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.unkeyed-param",
            "/api/search",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.cached-error",
            "/api/catalog",
            "cache-poisoning",
            "confirmed",
        ),
        (
            "cache.deception",
            "/api/account",
            "cache-deception",
            "confirmed",
        ),
        (
            "cache.risky-headers",
            "/api/account",
            "cache-poisoning",
            "firm",
        ),
    ];
    for (check, path, category, confidence) in expect {
        let finding = has(report, check, path)
            .unwrap_or_else(|| panic!("{cache_kind}: no {check} on {path}; findings:\n{summary}"));
        assert_eq!(finding["category"], category, "{check} {path}");
        assert_eq!(finding["confidence"], confidence, "{check} {path}");
        let reproduce = finding["reproduce"].as_array().unwrap();
        assert!(
            reproduce.len() >= 2,
            "{check}: a repro sequence, not one line"
        );
        assert!(
            reproduce
                .iter()
                .all(|l| l.as_str().unwrap().starts_with("curl ")),
            "{check}: {reproduce:?}"
        );
        let text = finding.to_string();
        assert!(!text.contains("ak_alice_3f9c2e71b8d4") && !text.contains("ak_bob_8e2d4c6a1f93"));
    }
    for (path, title_word) in [
        ("/api/promo", "cloaking"),
        ("/api/search", "fat GET"),
        ("/api/promo", "utm_content"),
    ] {
        assert!(
            findings(report)
                .iter()
                .any(|f| f["check"] == "cache.unkeyed-param"
                    && f["path"] == path
                    && f["title"].as_str().unwrap().contains(title_word)),
            "{cache_kind}: no unkeyed-param '{title_word}' finding on {path}; findings:\n{summary}"
        );
    }
    let oversized = findings(report)
        .iter()
        .any(|f| f["check"] == "cache.cached-error" && f["parameter"] == "X-Rampart-Oversized");
    assert!(
        oversized,
        "{cache_kind}: oversized-header CPDoS not found; findings:\n{summary}"
    );
    let technologies = report["stack"]["technologies"].to_string();
    assert!(technologies.contains("api-keys"), "{technologies}");
    // Varnish passes the origin's `Server: Werkzeug` through; nginx replaces
    // it with its own and the app answers errors in JSON, so nothing tells
    // Flask apart there and Rampart must not guess: it speaks nginx.
    let expected_prefix = if cache_kind == "varnish" {
        assert_eq!(report["stack"]["framework"], "flask", "{cache_kind}");
        "flask"
    } else {
        assert_eq!(report["stack"]["framework"], Value::Null, "{cache_kind}");
        assert_eq!(report["stack"]["server"], "nginx", "{cache_kind}");
        // The cache is the fix there: the nginx variant.
        "nginx"
    };
    for finding in findings(report) {
        let variant = finding["remediation"]["stack"].as_str().unwrap();
        assert!(
            variant.starts_with(expected_prefix),
            "{cache_kind}: {} uses the {variant} variant",
            finding["check"]
        );
    }
    // Every probe URL carried a buster (or a unique deception file name).
    for finding in findings(report) {
        for step in finding["evidence"].as_array().unwrap() {
            let url = step["request"]["url"].as_str().unwrap();
            assert!(url.contains("rampart"), "unbusted probe {url}");
        }
    }
}

fn assert_clean(report: &Value, cache_kind: &str) {
    let cache_findings: Vec<&Value> = findings(report)
        .into_iter()
        .filter(|f| f["check"].as_str().unwrap_or("").starts_with("cache."))
        .collect();
    assert!(
        cache_findings.is_empty(),
        "{cache_kind} fixed twin reported:\n{}",
        support::summarize_findings(report)
    );
}

/// After the scan, a plain request to every scanned URL, through the cache
/// and without a buster, gets what the origin itself answers.
fn assert_no_live_entry_poisoned(stack: &Stack) {
    let through_cache = stack.cache.base_url();
    let origin = stack.app.base_url();
    for path in SCANNED_PATHS {
        let cached = http_get(&through_cache, path);
        let direct = http_get(&origin, path);
        assert_eq!(
            cached.status, direct.status,
            "{path}: cache answers differently from the origin"
        );
        let body = cached.body.to_lowercase();
        assert!(
            !body.contains("rampart"),
            "{path} serves a Rampart probe's content: {body}"
        );
        let checks: BTreeSet<&str> = ["alice", "bob"]
            .into_iter()
            .filter(|n| body.contains(n))
            .collect();
        assert!(
            checks.is_empty(),
            "{path} serves an identity's data anonymously: {body}"
        );
    }
}

#[test]
fn varnish_vulnerable_twin_every_planted_case_is_confirmed() {
    let stack = start("varnish", "vulnerable");
    let report = scan(&stack);
    assert_planted(&report, "varnish");
    assert_no_live_entry_poisoned(&stack);
}

#[test]
fn varnish_fixed_twin_has_no_cache_findings() {
    let stack = start("varnish", "fixed");
    let report = scan(&stack);
    assert_clean(&report, "varnish");
}

#[test]
fn nginx_vulnerable_twin_every_planted_case_is_confirmed() {
    let stack = start("nginx", "vulnerable");
    let report = scan(&stack);
    assert_planted(&report, "nginx");
    assert_no_live_entry_poisoned(&stack);
}

#[test]
fn nginx_fixed_twin_has_no_cache_findings() {
    let stack = start("nginx", "fixed");
    let report = scan(&stack);
    assert_clean(&report, "nginx");
}
