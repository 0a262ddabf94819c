//! Authorization checks against the REAL Flask + DynamoDB (moto_server)
//! target `tests/targets/authz/app.py`, vulnerable and fixed twins.

mod support;

use support::Family;

const ALICE: &str = "X-API-Key: ak_alice_authz_51c0";
const BOB: &str = "X-API-Key: ak_bob_authz_9e7d";

const AUTHZ: Family = Family {
    app: "authz/app.py",
    checks: Some("authz.*"),
    identities: &[("alice", ALICE), ("bob", BOB)],
    ..Family::DEFAULT
};

#[test]
fn vulnerable_twin_read_only_scan_finds_every_planted_case_and_sends_only_gets() {
    let target = AUTHZ.start("vulnerable");
    let run = target.scan(&[]);
    let summary = run.summary();
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
        let finding = run
            .find(check, "GET", path)
            .unwrap_or_else(|| panic!("no {check} on {path}:\n{summary}"));
        assert_eq!(finding.category.as_str(), category, "{check} {path}");
    }
    // BOLA evidence names both identities: the owner's own read and the intruder's.
    let bola = run
        .find("authz.bola", "GET", "/api/orders/{order_id}")
        .unwrap();
    let who: Vec<&str> = bola
        .evidence
        .iter()
        .filter_map(|e| e.request.identity.as_deref())
        .collect();
    assert!(who.contains(&"alice") && who.contains(&"bob"), "{who:?}");
    assert_eq!(bola.head.confidence.as_str(), "confirmed");
    // The stack is recognised, and every finding's fix is written for it.
    run.assert_stack("flask", &["api-keys"]);
    run.assert_fixes(|_, variant| variant.starts_with("flask"));
    // Without --active the target saw only GETs.
    let counts = target.method_counts();
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert_eq!(
            counts.get(method),
            Some(&0),
            "{method} sent without --active: {counts:?}"
        );
    }
    assert!(counts["GET"] > 0);
}

#[test]
fn vulnerable_twin_active_scan_finds_mass_assignment_enumeration_and_no_rate_limit() {
    let target = AUTHZ.start("vulnerable");
    let run = target.scan(&["--active", "--login-burst"]);
    let summary = run.summary();
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
        let finding = run
            .find(check, method, path)
            .unwrap_or_else(|| panic!("no {check}:\n{summary}"));
        assert_eq!(finding.category.as_str(), category);
    }
    assert!(!run.stdout.contains("ak_alice_authz_51c0"));
}

#[test]
fn fixed_twin_yields_no_authorization_finding_even_with_active_probes() {
    let target = AUTHZ.start("fixed");
    let run = target.scan(&["--active", "--login-burst"]);
    assert!(
        run.findings().is_empty(),
        "fixed twin reported:\n{}",
        run.summary()
    );
}
