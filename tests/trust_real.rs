//! Findings that are true, stable and harmless, against the REAL Flask +
//! SQLite shop `tests/targets/trust/app.py`: a `GET /api/createdb` that
//! drops and re-seeds the database (new ids every time), a `GET
//! /api/logout` that revokes the key it is called with, a password change,
//! public-by-design lists, a catalogue whose handlers read no credential,
//! and answers that all carry a request id and a time. Every scan runs at
//! the default settings unless it says otherwise.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use rampart::finding::Severity;
use serde_json::Value;
use support::{Family, ScanRun, Target};

const ALICE_KEY: &str = "ak_alice_trust_7f3a";
const BOB_KEY: &str = "ak_bob_trust_2c9e";

const TRUST: Family = Family {
    app: "trust/app.py",
    dynamo: false,
    spec: true,
    checks: None,
    identities: &[
        ("alice", "X-API-Key: ak_alice_trust_7f3a"),
        ("bob", "X-API-Key: ak_bob_trust_2c9e"),
    ],
    args: &[],
};

/// The shop's data: users (key and password digests included) and orders,
/// and how often the traps ran.
fn state(target: &Target) -> (Value, Value) {
    let resp = target.get("/__test__/state");
    assert_eq!(resp.status, 200, "state: {}", resp.body);
    let state: Value = serde_json::from_str(&resp.body).expect("state JSON");
    let data = serde_json::json!({"users": state["users"], "orders": state["orders"]});
    (data, state["counts"].clone())
}

/// The traps never ran: no reset, no revoked key, no password change.
/// Throwaway accounts an `--active` scan registers through the sign-up
/// (to try privileged fields on an account of its own) are the one thing
/// left behind, and the report's changes name each of them.
fn assert_untouched(target: &Target, before: &Value, run: &ScanRun) {
    let (mut after, counts) = state(target);
    if let Some(users) = after["users"].as_array_mut() {
        users.retain(|u| {
            let Some(name) = u["username"].as_str().filter(|n| n.starts_with("rampart")) else {
                return true;
            };
            assert!(
                run.report.changes.iter().any(|c| c.what.contains(name)),
                "throwaway account {name} not in the report's changes: {:#?}",
                run.report.changes
            );
            false
        });
    }
    assert_eq!(&after, before, "the scan changed the shop's data");
    for trap in ["createdb", "logout", "password"] {
        assert_eq!(counts[trap], 0, "{trap} ran: {counts}\n{}", run.summary());
    }
    // And the identities still work.
    for key in [ALICE_KEY, BOB_KEY] {
        let me = target.request("GET", "/api/me", &[&format!("X-API-Key: {key}")]);
        assert_eq!(me.status, 200, "{key} no longer works: {}", me.body);
    }
}

/// Every change the scan made was put back (the objects it created are
/// deleted again), but for the throwaway accounts it registered.
fn assert_only_throwaway_accounts_left(run: &ScanRun) {
    for change in &run.report.changes {
        assert!(
            change.restored || change.what.starts_with("registered the throwaway account"),
            "{change:?}"
        );
    }
}

fn ids(run: &ScanRun) -> BTreeSet<String> {
    run.findings().iter().map(|f| f.id.clone()).collect()
}

fn skipped_reason<'a>(run: &'a ScanRun, check: &str, endpoint: &str) -> Option<&'a str> {
    run.report
        .coverage
        .iter()
        .find(|c| c.check == check)?
        .skipped
        .iter()
        .find(|s| s.endpoint == endpoint)
        .map(|s| s.reason.as_str())
}

#[test]
fn a_read_only_scan_finds_the_same_at_any_speed_and_destroys_nothing() {
    let target = TRUST.start("vulnerable");
    let (before, _) = state(&target);
    let default = target.scan(&[]);
    assert_untouched(&target, &before, &default);
    let summary = default.summary();
    for (check, path) in [
        ("authz.bola", "/api/orders/{order_id}"),
        ("authz.bola", "/api/users/{user_id}/orders"),
        ("authz.bola", "/api/orders"),
        ("authz.subject-from-url", "/api/users/{user_id}/orders"),
        ("authz.subject-from-url", "/api/orders"),
    ] {
        let finding = default
            .find(check, "GET", path)
            .unwrap_or_else(|| panic!("no {check} on {path}:\n{summary}"));
        assert_eq!(
            finding.head.confidence.as_str(),
            "confirmed",
            "{check} {path}"
        );
        // Every cross-identity claim carries its anonymous control.
        let control = finding
            .evidence
            .iter()
            .find(|e| e.request.identity.is_none())
            .unwrap_or_else(|| panic!("{check} {path} has no anonymous control"));
        assert_eq!(control.response.status, 401, "{check} {path}");
        assert!(control.step.contains("without any credential is refused"));
    }
    // The reads that act were left out, and the report says why.
    assert_eq!(
        skipped_reason(&default, "authz.missing-auth", "GET /api/createdb"),
        Some("looks state-changing (create)")
    );
    assert_eq!(
        skipped_reason(&default, "exposure.debug-page", "GET /api/logout"),
        Some("looks state-changing (logout)")
    );
    assert!(
        default.report.warnings.is_empty(),
        "{:?}",
        default.report.warnings
    );
    // Public by design: a list of usernames is a note, not a breach.
    let users = default
        .find("authz.missing-auth", "GET", "/api/users")
        .unwrap_or_else(|| panic!("no note on the public user list:\n{summary}"));
    assert_eq!(users.head.severity, Severity::Low, "{}", users.head.title);

    // The same target without any rate limit: the very same findings.
    let unlimited = target.scan(&["--rate", "0"]);
    assert_untouched(&target, &before, &unlimited);
    assert_eq!(
        ids(&default),
        ids(&unlimited),
        "default rate:\n{summary}\n--rate 0:\n{}",
        unlimited.summary()
    );
}

#[test]
fn an_active_scan_keeps_credentials_puts_back_what_it_changed_and_says_so() {
    let target = TRUST.start("vulnerable");
    let (before, _) = state(&target);
    let run = target.scan(&["--active"]);
    assert_untouched(&target, &before, &run);
    let summary = run.summary();
    let mass = run
        .find("authz.mass-assignment", "PATCH", "/api/me")
        .unwrap_or_else(|| panic!("no mass assignment:\n{summary}"));
    assert!(
        mass.head.description.contains("put the record back"),
        "{}",
        mass.head.description
    );
    assert!(
        run.report.changes.contains(&rampart::report::Change {
            request: "PATCH /api/me".into(),
            what: "role, is_admin set on alice's record and put back (2 times)".into(),
            restored: true,
        }),
        "{:#?}",
        run.report.changes
    );
    assert_only_throwaway_accounts_left(&run);
    assert_eq!(
        skipped_reason(&run, "authz.mass-assignment", "PUT /api/me/password"),
        Some("would change an identity's credentials (password)")
    );
}

#[test]
fn the_fixed_twin_yields_nothing_of_medium_or_above_at_any_speed_read_only_or_active() {
    let target = TRUST.start("fixed");
    let (before, _) = state(&target);
    for extra in [&[][..], &["--rate", "0"], &["--active"]] {
        let run = target.scan(extra);
        let unwanted = run.unwanted(|f| f.head.severity >= Severity::Medium);
        assert!(
            unwanted.is_empty(),
            "{extra:?} reported:\n{}",
            unwanted.join("\n")
        );
        assert_untouched(&target, &before, &run);
        assert_only_throwaway_accounts_left(&run);
    }
}

#[test]
fn a_read_that_changes_the_data_is_named_when_the_user_asks_for_it() {
    let target = TRUST.start("fixed");
    let run = target.scan(&[
        "--checks",
        "authz.*",
        "--include-path",
        "/api/*,/api/createdb",
    ]);
    let (_, counts) = state(&target);
    assert!(counts["createdb"].as_u64() > Some(0), "{counts}");
    let warning = run
        .report
        .warnings
        .first()
        .unwrap_or_else(|| panic!("no warning; stderr:\n{}", run.stderr));
    assert!(
        warning.message.contains("data changed"),
        "{}",
        warning.message
    );
    assert_eq!(warning.endpoints, vec!["GET /api/createdb".to_string()]);
    assert!(
        run.stderr.contains("warning: The API's data changed"),
        "{}",
        run.stderr
    );
}

/// Every `reproduce` line of a real report, run with the real keys in place
/// of its placeholders, gets the status the evidence claims.
#[test]
fn every_reproduce_line_reproduces_its_step() {
    let target = TRUST.start("vulnerable");
    let run = target.scan(&["--checks", "authz.*"]);
    let mut replayed = 0;
    for finding in run.findings() {
        assert_eq!(
            finding.reproduce.len(),
            finding.evidence.len(),
            "{}",
            finding.head.title
        );
        for (line, evidence) in finding.reproduce.iter().zip(&finding.evidence) {
            let command = line
                .replace("<alice X-API-Key>", ALICE_KEY)
                .replace("<bob X-API-Key>", BOB_KEY);
            assert!(!command.contains('<'), "unfilled placeholder: {line}");
            let output = Command::new("sh")
                .arg("-c")
                .arg(format!("{command} -o /dev/null -w '%{{http_code}}'"))
                .output()
                .expect("curl runs");
            let status = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                status,
                evidence.response.status.to_string(),
                "{} — {}: {line}",
                finding.check,
                evidence.step
            );
            replayed += 1;
        }
    }
    assert!(replayed >= 10, "only {replayed} lines:\n{}", run.summary());
}
