//! Authorization checks against the REAL Flask + DynamoDB (moto_server)
//! target `tests/targets/authz/app.py`, vulnerable and fixed twins.

mod support;

use serde_json::Value;
use support::{http_get, FlaskApp, MotoServer};

const APP: &str = "authz/app.py";
const ALICE: &str = "X-API-Key: ak_alice_authz_51c0";
const BOB: &str = "X-API-Key: ak_bob_authz_9e7d";

fn scan(app: &FlaskApp, extra: &[&str]) -> Value {
    let base = app.base_url();
    let spec = format!("{base}/openapi.json");
    let mut args = vec![
        "--spec",
        &spec,
        "--identity",
        "alice",
        ALICE,
        "--identity",
        "bob",
        BOB,
        "--checks",
        "authz.*",
        "--rate",
        "0",
    ];
    args.extend_from_slice(extra);
    support::scan(&base, &args).report
}

fn find<'a>(report: &'a Value, check: &str, method: &str, path: &str) -> Option<&'a Value> {
    report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["check"] == check && f["method"] == method && f["path"] == path)
}

fn methods(app: &FlaskApp) -> Value {
    serde_json::from_str(&http_get(&app.base_url(), "/__test__/methods").body)
        .expect("method counts")
}

#[test]
fn vulnerable_twin_read_only_scan_finds_every_planted_case_and_sends_only_gets() {
    let moto = MotoServer::start();
    let app = FlaskApp::start(APP, "vulnerable", &moto, &[]);
    let report = scan(&app, &[]);
    let summary = support::summarize_findings(&report);
    let expected = [
        ("authz.bola", "/api/users/{user_id}", "bola"),
        ("authz.bola", "/api/orders/{order_id}", "bola"),
        ("authz.bola", "/api/users/{user_id}/orders", "bola"),
        ("authz.bola", "/api/orders", "bola"),
        (
            "authz.subject-from-url",
            "/api/users/{user_id}/orders",
            "bola",
        ),
        ("authz.subject-from-url", "/api/orders", "bola"),
        (
            "authz.missing-auth",
            "/api/reports/summary",
            "authentication",
        ),
        ("authz.guessable-ids", "/api/orders/{order_id}", "bola"),
        (
            "authz.excessive-exposure",
            "/api/users/{user_id}",
            "property-authorization",
        ),
    ];
    for (check, path, category) in expected {
        let finding = find(&report, check, "GET", path)
            .unwrap_or_else(|| panic!("no {check} on {path}:\n{summary}"));
        assert_eq!(finding["category"], category, "{check} {path}");
    }
    // BOLA evidence names both identities: the owner's own read and the intruder's.
    let bola = find(&report, "authz.bola", "GET", "/api/orders/{order_id}").unwrap();
    let who: Vec<&str> = bola["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["request"]["identity"].as_str())
        .collect();
    assert!(who.contains(&"alice") && who.contains(&"bob"), "{who:?}");
    assert_eq!(bola["confidence"], "confirmed");
    // The stack is recognised, and every finding's fix is written for it.
    assert_eq!(report["stack"]["framework"], "flask");
    assert!(report["stack"]["technologies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "api-keys"));
    for finding in report["findings"].as_array().unwrap() {
        let variant = finding["remediation"]["stack"].as_str().unwrap();
        assert!(
            variant.starts_with("flask"),
            "{} uses the {variant} variant",
            finding["check"]
        );
    }
    // Without --active the target saw only GETs.
    let counts = methods(&app);
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert_eq!(
            counts[method], 0,
            "{method} sent without --active: {counts}"
        );
    }
    assert!(counts["GET"].as_u64().unwrap() > 0);
}

#[test]
fn vulnerable_twin_active_scan_finds_mass_assignment_enumeration_and_no_rate_limit() {
    let moto = MotoServer::start();
    let app = FlaskApp::start(APP, "vulnerable", &moto, &[]);
    let report = scan(&app, &["--active", "--login-burst"]);
    let summary = support::summarize_findings(&report);
    for (check, method, path, category) in [
        (
            "authz.mass-assignment",
            "PATCH",
            "/api/users/{user_id}",
            "property-authorization",
        ),
        (
            "authz.user-enumeration",
            "POST",
            "/api/login",
            "authentication",
        ),
        (
            "authz.login-rate-limit",
            "POST",
            "/api/login",
            "rate-limiting",
        ),
    ] {
        let finding =
            find(&report, check, method, path).unwrap_or_else(|| panic!("no {check}:\n{summary}"));
        assert_eq!(finding["category"], category);
    }
    assert!(!report.to_string().contains("ak_alice_authz_51c0"));
}

#[test]
fn fixed_twin_yields_no_authorization_finding_even_with_active_probes() {
    let moto = MotoServer::start();
    let app = FlaskApp::start(APP, "fixed", &moto, &[]);
    let report = scan(&app, &["--active", "--login-burst"]);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.is_empty(),
        "fixed twin reported:\n{}",
        support::summarize_findings(&report)
    );
}
