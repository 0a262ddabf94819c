//! Passive data-exposure checks (`exposure.*`) against the REAL Flask target
//! `tests/targets/exposure/app.py` backed by DynamoDB on moto_server.
//!
//! * vulnerable twin: every planted case (see tests/targets/exposure/README.md)
//!   must be reported with the right check, severity, path template and title,
//!   and the report must not contain the raw secrets (redaction);
//! * fixed twin: same routes and shapes with safe data plus decoys: no
//!   `exposure.*` finding at all.
//!
//! Needs the Python venv (`scripts/test` creates `.venv`).

mod support;

use rampart::finding::Finding;
use support::{Family, Target};

/// Every check, no identities: the passive checks need none.
const EXPOSURE: Family = Family {
    app: "exposure/app.py",
    args: &[],
    ..Family::DEFAULT
};

// Planted values: must match tests/targets/exposure/app.py.
const PLANTED_SSN: &str = "536-22-4187";
const PLANTED_CARD: &str = "4539148803436467";
const PLANTED_CARD_SPACED: &str = "4539 1488 0343 6467";
const PLANTED_AWS_KEY_ID: &str = "AKIAMWUEHVO2UEFYUFTV";
const PLANTED_AWS_SECRET: &str = "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";
/// The base64 body lines of the planted RSA private key (a few of them are
/// enough to prove the body was not copied into the report).
const PLANTED_PRIVATE_KEY_LINES: &[&str] = &[
    "MIIEpAIBAAKCAQEAgfo6UbOGRQtXM9sj4Y2zYVjwZ4t0Myd6uuqpTm0BLzKargZx",
    "j4trGar2922TJMtgKoV/8OfQcTxiqbkChbzhNM+zoa4j65Cb8DlzXBcLX4QTo8BA",
    "UzXoltSVs3COgbAcRz+3AITWufzl4bqEp3/queoYb1IX5meuvMQT1SGCL7r3QuSG",
    "kMKyzIBCHABI3OzNBHbTJOR1KbXl+y6hEWhy/FEOhSQAi0ed7EcJvw==",
];

/// One planted case the vulnerable twin must yield a finding for.
struct Expected {
    what: &'static str,
    check: &'static str,
    /// Any of these severities is accepted (only one unless the spec leaves
    /// it open).
    severities: &'static [&'static str],
    path: &'static str,
    /// The title must contain at least one of these (case-insensitive).
    title_any: &'static [&'static str],
}

const EXPECTED: &[Expected] = &[
    Expected {
        what: "readable SSN field (no field-level encryption)",
        check: "exposure.plaintext-fields",
        severities: &["low"],
        path: "/api/users/{user_id}",
        title_any: &["ssn"],
    },
    Expected {
        what: "readable card number field (no field-level encryption)",
        check: "exposure.plaintext-fields",
        severities: &["low"],
        path: "/api/payments/{payment_id}",
        title_any: &["card_number"],
    },
    Expected {
        what: "bulk e-mail addresses in the user list",
        check: "exposure.pii",
        severities: &["medium"],
        path: "/api/users",
        title_any: &["email", "e-mail"],
    },
    Expected {
        what: "bcrypt password hashes in the user list",
        check: "exposure.password-hashes",
        severities: &["high"],
        path: "/api/users",
        title_any: &["password"],
    },
    Expected {
        what: "US Social Security number",
        check: "exposure.pii",
        severities: &["high"],
        path: "/api/users/{user_id}",
        title_any: &["Social Security"],
    },
    Expected {
        what: "clear-text `password` field (plus hash) on the user",
        check: "exposure.password-hashes",
        severities: &["high", "critical"],
        path: "/api/users/{user_id}",
        title_any: &["password"],
    },
    Expected {
        what: "full Luhn-valid card number",
        check: "exposure.pii",
        severities: &["high"],
        path: "/api/payments/{payment_id}",
        title_any: &["card"],
    },
    Expected {
        what: "AWS access key id + secret access key",
        check: "exposure.secrets",
        severities: &["critical"],
        path: "/api/config",
        title_any: &["AWS"],
    },
    Expected {
        what: "PEM RSA private key",
        check: "exposure.secrets",
        severities: &["critical"],
        path: "/api/keys/signing",
        title_any: &["private key"],
    },
    Expected {
        what: "Werkzeug interactive debugger page",
        check: "exposure.debug-page",
        severities: &["critical"],
        path: "/api/orders/{order_id}",
        title_any: &["debugger"],
    },
    Expected {
        what: "botocore ClientError message + Python traceback in a 500",
        check: "exposure.debug-page",
        severities: &["medium"],
        path: "/api/search",
        title_any: &["traceback", "ClientError"],
    },
    Expected {
        what: "another service's JWT",
        check: "exposure.secrets",
        severities: &["medium"],
        path: "/api/audit",
        title_any: &["JWT"],
    },
];

fn matches(f: &Finding, e: &Expected) -> bool {
    let title = f.head.title.to_lowercase();
    f.check == e.check
        && f.head.path == e.path
        && e.severities.contains(&f.head.severity.as_str())
        && e.title_any
            .iter()
            .any(|k| title.contains(&k.to_lowercase()))
}

/// Sanity check that the target really serves what the test expects, so a
/// broken target cannot make the redaction assertions pass vacuously.
fn assert_target_serves_planted_values(app: &Target) {
    let get = |path: &str| {
        let r = app.get(path);
        (r.status, r.body)
    };
    let (st, body) = get("/api/users/7c9e6679-7425-40de-944b-e07fc1f90ae7");
    assert_eq!(st, 200, "user route: {body}");
    assert!(
        body.contains(PLANTED_SSN),
        "target does not serve the planted SSN: {body}"
    );
    let (st, body) = get("/api/payments/pay_9f8e7d6c5b4a");
    assert_eq!(st, 200, "payment route: {body}");
    assert!(
        body.contains(PLANTED_CARD),
        "target does not serve the planted card: {body}"
    );
    let (st, body) = get("/api/config");
    assert_eq!(st, 200, "config route: {body}");
    assert!(
        body.contains(PLANTED_AWS_SECRET) && body.contains(PLANTED_AWS_KEY_ID),
        "config: {body}"
    );
    let (st, body) = get("/api/keys/signing");
    assert_eq!(st, 200, "signing key route: {body}");
    for line in PLANTED_PRIVATE_KEY_LINES {
        assert!(
            body.contains(line),
            "target does not serve private key line {line}: {body}"
        );
    }
    let (st, body) = get("/api/orders/ord-7781");
    assert_eq!(
        st, 500,
        "order route should crash into the debugger: {body:.300}"
    );
    assert!(
        body.contains("Werkzeug Debugger"),
        "no Werkzeug debugger page: {body:.500}"
    );
}

#[test]
fn vulnerable_twin_exposures_are_reported_and_redacted() {
    let app = EXPOSURE.start_with_env("vulnerable", &[("TABLE_PREFIX", "exposure-vuln")]);
    assert_target_serves_planted_values(&app);

    let run = app.scan(&[]);
    let findings = run.findings();
    let summary = run.summary();

    // Flask and DynamoDB are recognised from what the target shows (the
    // Werkzeug server header, botocore's error text), and fixes follow them.
    run.assert_stack("flask", &["dynamodb"]);
    // (Checks of other families without a DynamoDB variant take their
    // Flask or generic one.)
    run.assert_fixes(|check, variant| {
        if check.starts_with("exposure.") {
            variant == "flask+dynamodb"
        } else {
            matches!(variant, "flask+dynamodb" | "flask" | "generic")
        }
    });

    // Every planted case is found with the right check/severity/path/title.
    let mut missing = Vec::new();
    for e in EXPECTED {
        if !findings.iter().any(|f| matches(f, e)) {
            missing.push(format!(
                "  {} -> expected check={} severity∈{:?} path={} title∋any{:?}",
                e.what, e.check, e.severities, e.path, e.title_any
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "missing findings on the vulnerable twin:\n{}\nreported findings:\n{summary}\nerrors: {:?}\nstderr:\n{}",
        missing.join("\n"),
        run.errors(),
        run.stderr
    );

    // Shape of every exposure finding.
    // (The report parsed, so every finding has an id, a confidence, evidence
    // steps with a request URL and a response status, and reproduce lines.)
    for f in findings.iter().filter(|f| f.check.starts_with("exposure.")) {
        let ctx = format!("finding {} {} {}", f.check, f.head.path, f.head.title);
        assert_eq!(f.category.as_str(), "data-exposure", "{ctx}: category");
        assert_eq!(f.head.method, "GET", "{ctx}: method");
        assert!(f.id.starts_with("RMP-"), "{ctx}: id {}", f.id);
        assert!(
            f.head.url.starts_with(&app.base_url()),
            "{ctx}: url {:?} should start with {}",
            f.head.url,
            app.base_url()
        );
        assert!(
            !f.evidence.is_empty(),
            "{ctx}: evidence must be a non-empty array"
        );
        for ev in &f.evidence {
            assert!(
                !ev.request.url.is_empty(),
                "{ctx}: evidence.request.url: {ev:?}"
            );
        }
        assert!(f.remediation.is_some(), "{ctx}: remediation missing");
    }

    // Redaction: the raw planted secrets never appear in the report.
    let text = serde_json::to_string(&run.report).expect("serialize report");
    let mut leaked = Vec::new();
    for (what, value) in [
        ("AWS secret access key", PLANTED_AWS_SECRET),
        ("SSN", PLANTED_SSN),
        ("card number", PLANTED_CARD),
        ("card number (spaced)", PLANTED_CARD_SPACED),
    ] {
        if text.contains(value) || run.stdout.contains(value) {
            leaked.push(format!("{what} ({value})"));
        }
    }
    for line in PLANTED_PRIVATE_KEY_LINES {
        if text.contains(line) || run.stdout.contains(line) {
            leaked.push(format!("private key body line {line}"));
        }
    }
    assert!(
        leaked.is_empty(),
        "report leaks raw secrets (must be redacted): {leaked:?}\nfindings:\n{summary}"
    );
}

#[test]
fn fixed_twin_has_no_exposure_findings() {
    let app = EXPOSURE.start_with_env("fixed", &[("TABLE_PREFIX", "exposure-fixed")]);

    // The fixed twin really is fixed (and still serves the decoys).
    let user = app.get("/api/users/7c9e6679-7425-40de-944b-e07fc1f90ae7");
    assert_eq!(user.status, 200, "{}", user.body);
    assert!(
        user.body.contains("***-**-4187") && !user.body.contains(PLANTED_SSN),
        "{}",
        user.body
    );
    assert!(
        user.body.contains("password_policy"),
        "decoy missing: {}",
        user.body
    );
    let search = app.get("/api/search?q=widget");
    assert_eq!(search.status, 500, "{}", search.body);
    assert!(!search.body.contains("Traceback"), "{}", search.body);

    let run = app.scan(&[]);
    let bad = run.unwanted(|f| f.check.starts_with("exposure."));
    assert!(
        bad.is_empty(),
        "fixed twin must have no exposure.* findings (decoys misreported?), got:\n{}\nfull report findings:\n{}",
        bad.join("\n"),
        run.summary()
    );
}
