//! Cache poisoning and deception against REAL shared caches: the Flask app
//! `tests/targets/cache/app.py` (DynamoDB on moto_server) behind Debian's
//! Varnish and nginx `proxy_cache`, each as a vulnerable and a fixed twin.
//!
//! Needs the Python venv, varnishd and nginx (`scripts/test` installs them).

mod support;

use std::collections::BTreeSet;

use rampart::finding::{Finding, Severity};
use rampart::report::Report;
use support::proxy::{self, Nginx, Proxy, Varnish};
use support::{http_get, Family, ScanRun, Target};

const ALICE: &str = "X-API-Key: ak_alice_3f9c2e71b8d4";
const BOB: &str = "X-API-Key: ak_bob_8e2d4c6a1f93";

/// Scanned through the cache in front of the app.
const CACHE: Family = Family {
    app: "cache/app.py",
    checks: Some("cache.*"),
    identities: &[("alice", ALICE), ("bob", BOB)],
    ..Family::DEFAULT
};

/// Every check, as a new user would scan the site behind its cache.
const EVERY_CHECK: Family = Family {
    checks: None,
    ..CACHE
};

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

struct Stack {
    // Drop order: the cache first, then the app and its moto.
    cache: Proxy,
    app: Target,
}

fn start(cache_kind: &str, twin: &str) -> Stack {
    let prefix = format!("cache-{cache_kind}-{twin}");
    let app = CACHE.start_with_env(twin, &[("TABLE_PREFIX", &prefix)]);
    let config = match (cache_kind, twin) {
        ("varnish", "vulnerable") => proxy::VARNISH_VULNERABLE,
        ("varnish", _) => proxy::VARNISH_FIXED,
        ("nginx", "vulnerable") => proxy::NGINX_VULNERABLE,
        _ => proxy::NGINX_FIXED,
    };
    let path = proxy::cache_target_path(config);
    let port = app.app.port();
    let cache = match cache_kind {
        "varnish" => Varnish::start(path, port),
        _ => Nginx::start(path, port),
    };
    Stack { cache, app }
}

fn scan(stack: &Stack) -> ScanRun {
    CACHE.scan(&stack.cache.base_url(), &[])
}

fn has<'a>(report: &'a Report, check: &str, path: &str) -> Option<&'a Finding> {
    report
        .findings
        .iter()
        .find(|f| f.check == check && f.head.path == path)
}

/// What the JSON report says `check` probed and skipped, for a failure
/// message.
fn coverage_of(run: &ScanRun, check: &str) -> String {
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    report["coverage"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["check"] == check))
        .map_or_else(|| "none".into(), |c| c.to_string())
}

fn assert_planted(run: &ScanRun, cache_kind: &str) {
    let report = &run.report;
    let summary = run.summary();
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
        let finding = has(report, check, path).unwrap_or_else(|| {
            panic!(
                "{cache_kind}: no {check} on {path}; findings:\n{summary}\ncoverage of {check}: {}",
                coverage_of(run, check)
            )
        });
        assert_eq!(finding.category.as_str(), category, "{check} {path}");
        assert_eq!(
            finding.head.confidence.as_str(),
            confidence,
            "{check} {path}"
        );
        let reproduce = &finding.reproduce;
        assert!(
            reproduce.len() >= 2,
            "{check}: a repro sequence, not one line"
        );
        assert!(
            reproduce.iter().all(|l| l.starts_with("curl ")),
            "{check}: {reproduce:?}"
        );
        let text = serde_json::to_string(finding).expect("finding as JSON");
        assert!(!text.contains("ak_alice_3f9c2e71b8d4") && !text.contains("ak_bob_8e2d4c6a1f93"));
    }
    for (path, title_word) in [
        ("/api/promo", "cloaking"),
        ("/api/search", "fat GET"),
        ("/api/promo", "utm_content"),
    ] {
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.check == "cache.unkeyed-param"
                    && f.head.path == path
                    && f.head.title.contains(title_word)),
            "{cache_kind}: no unkeyed-param '{title_word}' finding on {path}; findings:\n{summary}"
        );
    }
    let oversized = report.findings.iter().any(|f| {
        f.check == "cache.cached-error"
            && f.head.parameter.as_deref() == Some("X-Rampart-Oversized")
    });
    assert!(
        oversized,
        "{cache_kind}: oversized-header CPDoS not found; findings:\n{summary}"
    );
    // Varnish passes the origin's `Server: Werkzeug` through; nginx replaces
    // it with its own and the app answers errors in JSON, so nothing tells
    // Flask apart there and Rampart must not guess: it speaks nginx.
    let expected_prefix = if cache_kind == "varnish" {
        run.assert_stack("flask", &["api-keys"]);
        "flask"
    } else {
        let stack = &report.stack;
        assert_eq!(stack.framework, None, "{cache_kind}: {stack:?}");
        assert_eq!(stack.server.as_deref(), Some("nginx"), "{stack:?}");
        assert!(
            stack.technologies.iter().any(|t| t == "api-keys"),
            "{stack:?}"
        );
        // The cache is the fix there: the nginx variant.
        "nginx"
    };
    run.assert_fixes(|_, variant| variant.starts_with(expected_prefix));
    // Every probe URL carried a buster (or a unique deception file name).
    for finding in &report.findings {
        for step in &finding.evidence {
            let url = &step.request.url;
            assert!(url.contains("rampart"), "unbusted probe {url}");
        }
    }
}

/// The fixed twin scanned with every check, at the default settings and
/// with no rate limit, deserves nothing of medium or above.
fn assert_nothing_serious(stack: &Stack, cache_kind: &str) {
    for speed in [&[][..], &["--rate", "0"]] {
        let run = EVERY_CHECK.scan(&stack.cache.base_url(), speed);
        let serious = run.unwanted(|f| f.head.severity >= Severity::Medium);
        assert!(
            serious.is_empty(),
            "{cache_kind} fixed twin, every check {speed:?}:\n{}",
            serious.join("\n")
        );
    }
}

fn assert_clean(run: &ScanRun, cache_kind: &str) {
    let cache_findings: Vec<&Finding> = run
        .findings()
        .iter()
        .filter(|f| f.check.starts_with("cache."))
        .collect();
    assert!(
        cache_findings.is_empty(),
        "{cache_kind} fixed twin reported:\n{}",
        run.summary()
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
    let run = scan(&stack);
    assert_planted(&run, "varnish");
    assert_no_live_entry_poisoned(&stack);
}

#[test]
fn varnish_fixed_twin_has_no_cache_findings() {
    let stack = start("varnish", "fixed");
    let run = scan(&stack);
    assert_clean(&run, "varnish");
    assert_nothing_serious(&stack, "varnish");
}

#[test]
fn nginx_vulnerable_twin_every_planted_case_is_confirmed() {
    let stack = start("nginx", "vulnerable");
    let run = scan(&stack);
    assert_planted(&run, "nginx");
    assert_no_live_entry_poisoned(&stack);
}

#[test]
fn nginx_fixed_twin_has_no_cache_findings() {
    let stack = start("nginx", "fixed");
    let run = scan(&stack);
    assert_clean(&run, "nginx");
    assert_nothing_serious(&stack, "nginx");
}
