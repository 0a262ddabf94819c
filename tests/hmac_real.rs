//! Request-signing checks that sign their own requests with a recipe from
//! the identity file (`signing.request-replay`, `signing.partial-coverage`)
//! against the REAL Flask + DynamoDB (moto_server) target
//! `tests/targets/hmac/app.py`, vulnerable and fixed twins (case matrix in
//! its README.md).
//!
//! * the signer agrees with Python's `hmac` on the target's scheme;
//! * a broken recipe stops `rampart scan` with exit status 2 and one line
//!   that names the problem and never the secret;
//! * vulnerable twin: a default read-only scan with alice and bob (secrets
//!   from the environment) reports every planted case — replay, no time
//!   window either way, the unsigned `user_id`, the caller not bound — with
//!   category `signature`, confidence `confirmed` and evidence, never
//!   prints a secret, and the target saw nothing but GETs;
//! * fixed twin: the same scan yields none of these findings, though the
//!   target's verdict counters prove the probes were sent and refused.
//!
//! Needs the Python venv (`scripts/test` creates `.venv`).

mod support;

use std::path::Path;
use std::process::Command;

use rampart::finding::{Evidence, Finding, Severity};
use support::http::query_param;
use support::{Family, ScanRun, Target};

const HMAC: Family = Family {
    app: "hmac/app.py",
    ..Family::DEFAULT
};
const ALICE_CLIENT: &str = "cli-alice-7f3a";
const BOB_CLIENT: &str = "cli-bob-c91d";
/// The vulnerable twin's one secret shared by every client.
const PARTNER_SECRET: &str = "hmac-partner-secret-vuln-8d41a7e2";
/// The fixed twin's per-client secrets.
const ALICE_SECRET: &str = "hmac-alice-secret-fixed-5e2b9c14";
const BOB_SECRET: &str = "hmac-bob-secret-fixed-a07f3d66";
const ORDERS: &str = "/api/orders";
const ME: &str = "/api/me";
const CHECKS: [&str; 2] = ["signing.request-replay", "signing.partial-coverage"];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The identity file for one twin. Each twin's scheme is what its server
/// verifies: the vulnerable one signs no query, the fixed one the sorted query.
fn identity_file(dir: &Path, twin: &str) -> String {
    let canonical = if twin == "vulnerable" {
        r"{method}\n{path}\n{timestamp}\n{nonce}"
    } else {
        r"{method}\n{path}\n{sorted_query}\n{timestamp}\n{nonce}"
    };
    let text = format!(
        r#"
[[identity]]
name = "alice"
headers = {{ "X-Client-Id" = "{ALICE_CLIENT}" }}
[identity.signing]
secret = "env:RAMPART_TEST_ALICE_HMAC"
algorithm = "hmac-sha256"
encoding = "hex"
header = "X-Signature"
timestamp_header = "X-Timestamp"
nonce_header = "X-Nonce"
canonical = "{canonical}"

[[identity]]
name = "bob"
headers = {{ "X-Client-Id" = "{BOB_CLIENT}" }}
[identity.signing]
secret = "env:RAMPART_TEST_BOB_HMAC"
timestamp_header = "X-Timestamp"
nonce_header = "X-Nonce"
canonical = "{canonical}"
"#
    );
    let path = dir.join(format!("ids-{twin}.toml"));
    std::fs::write(&path, text).expect("write identity file");
    path.display().to_string()
}

fn secrets(twin: &str) -> [(&'static str, &'static str); 2] {
    if twin == "vulnerable" {
        [
            ("RAMPART_TEST_ALICE_HMAC", PARTNER_SECRET),
            ("RAMPART_TEST_BOB_HMAC", PARTNER_SECRET),
        ]
    } else {
        [
            ("RAMPART_TEST_ALICE_HMAC", ALICE_SECRET),
            ("RAMPART_TEST_BOB_HMAC", BOB_SECRET),
        ]
    }
}

/// A default read-only scan (every check) as alice and bob from the
/// identity file, also writing the report to a file and notes to stderr.
fn scan(target: &Target, dir: &Path) -> (ScanRun, String) {
    let twin = target.twin().to_string();
    let ids = identity_file(dir, &twin);
    let report_path = dir.join(format!("report-{twin}.json"));
    let output = format!("json={}", report_path.display());
    let env = secrets(&twin);
    let run = target.scan_with_env(&["--identity-file", &ids, "-v", "--output", &output], &env);
    let written = std::fs::read_to_string(&report_path).expect("report file");
    (run, written)
}

fn header<'a>(step: &'a Evidence, name: &str) -> &'a str {
    step.request.headers.get(name).map_or("", String::as_str)
}

fn findings<'a>(run: &'a ScanRun, check: &str, path: &str) -> Vec<&'a Finding> {
    run.of_check(check)
        .into_iter()
        .filter(|f| f.head.path == path)
        .collect()
}

/// The one finding of `check` on `path` whose parameter is `parameter` and
/// whose title contains `title`.
fn one<'a>(
    run: &'a ScanRun,
    check: &str,
    path: &str,
    parameter: &str,
    title: &str,
    summary: &str,
) -> &'a Finding {
    let found: Vec<&Finding> = findings(run, check, path)
        .into_iter()
        .filter(|f| f.head.parameter.as_deref() == Some(parameter) && f.head.title.contains(title))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {check} on {path} ({parameter}, {title:?}):\n{summary}"
    );
    found[0]
}

/// The fields every finding of these checks must have, and the control
/// steps: an accepted signed request, then a refused corrupted signature.
fn assert_shape(f: &Finding, severity: &str) {
    assert_eq!(f.head.method, "GET", "{f:?}");
    assert_eq!(f.category.as_str(), "signature", "{f:?}");
    assert_eq!(f.head.severity.as_str(), severity, "{f:?}");
    assert_eq!(f.head.confidence.as_str(), "confirmed", "{f:?}");
    let steps = &f.evidence;
    assert_eq!(steps.len(), 3, "{f:?}");
    let (genuine, corrupted, proof) = (&steps[0], &steps[1], &steps[2]);
    assert_eq!(genuine.request.identity.as_deref(), Some("alice"), "{f:?}");
    assert_eq!(genuine.response.status, 200, "{f:?}");
    assert_eq!(corrupted.response.status, 401, "{f:?}");
    assert!(
        corrupted.response.body_excerpt.contains("bad signature"),
        "{f:?}"
    );
    assert_eq!(proof.response.status, 200, "{f:?}");
    for step in steps {
        // The signature itself is shown redacted; the time and nonce are not.
        assert_eq!(header(step, "X-Signature"), "[redacted]", "{f:?}");
        assert!(!header(step, "X-Timestamp").is_empty(), "{f:?}");
        assert!(!header(step, "X-Nonce").is_empty(), "{f:?}");
    }
    assert!(!f.reproduce.is_empty());
}

fn assert_no_secret(text: &str, what: &str) {
    for secret in [PARTNER_SECRET, ALICE_SECRET, BOB_SECRET] {
        assert!(!text.contains(secret), "{what} shows the secret {secret}");
    }
    for client in [ALICE_CLIENT, BOB_CLIENT] {
        assert!(
            !text.contains(client),
            "{what} shows the supplied X-Client-Id {client}"
        );
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn signer_matches_python_hmac_on_the_targets_scheme() {
    use rampart::identity::signing::{SignOptions, SignedParts, SigningEntry, SigningRecipe};

    let entry: SigningEntry = toml::from_str(
        r#"
        secret = "ignored"
        timestamp_header = "X-Timestamp"
        nonce_header = "X-Nonce"
        canonical = "{method}\n{path}\n{sorted_query}\n{timestamp}\n{nonce}"
        "#,
    )
    .expect("entry");
    let recipe = SigningRecipe::from_entry(&entry, ALICE_SECRET).expect("recipe");
    let sent = SignedParts {
        method: "GET".into(),
        url: url::Url::parse("http://127.0.0.1:1/api/orders?user_id=usr-1001&limit=10").unwrap(),
        body: None,
    };
    let options = SignOptions {
        timestamp: Some(1_700_000_000),
        nonce: Some("0123456789abcdef".into()),
        ..SignOptions::default()
    };
    let headers = recipe.signing_headers(&sent, &[], &options, 0);
    let signature = &headers
        .iter()
        .find(|(n, _)| n == "X-Signature")
        .expect("signature header")
        .1;
    // What the fixed twin computes, by Python's own hmac module.
    let script = "import hashlib, hmac, sys\n\
        msg = 'GET\\n/api/orders\\nlimit=10&user_id=usr-1001\\n1700000000\\n0123456789abcdef'\n\
        print(hmac.new(sys.argv[1].encode(), msg.encode(), hashlib.sha256).hexdigest())";
    let out = Command::new("python3")
        .args(["-c", script, ALICE_SECRET])
        .output()
        .expect("python3 is needed for the test suite");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), signature);
    // A fixed vector too, so the test stands without Python.
    assert_eq!(
        signature,
        "836476e173fc425c815bc1d7183fcecfca0002d3e4fa0f83fd3f3493793c66a5"
    );
}

#[test]
fn broken_recipes_stop_the_scan_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "a-secret-nobody-may-see-31c9";
    let cases = [
        (
            r#"canonical = "{method}\n{pathh}""#,
            "unknown placeholder {pathh}",
        ),
        (
            "algorithm = \"hmac-md5\"\ncanonical = \"{path}\"",
            "unknown algorithm 'hmac-md5'",
        ),
        (
            r#"canonical = "{path}\n{timestamp}""#,
            "`timestamp_header` is not set",
        ),
        (
            "secret_encoding = \"hex\"\ncanonical = \"{path}\"",
            "not valid hex",
        ),
    ];
    for (n, (extra, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad{n}.toml"));
        std::fs::write(
            &path,
            format!(
                "[[identity]]\nname = \"alice\"\n[identity.signing]\nsecret = \"env:RAMPART_TEST_SECRET\"\n{extra}\n"
            ),
        )
        .expect("write");
        let out = support::rampart_with_env(
            &[
                "scan",
                "http://127.0.0.1:9",
                "--identity-file",
                &path.display().to_string(),
            ],
            &[("RAMPART_TEST_SECRET", secret)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
        assert!(stderr.contains("identity 'alice'"), "{stderr}");
        assert!(!stderr.contains(secret), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    // The secret's variable is not set.
    let path = dir.path().join("missing.toml");
    std::fs::write(
        &path,
        "[[identity]]\nname = \"alice\"\n[identity.signing]\nsecret = \"env:RAMPART_TEST_UNSET_HMAC\"\ncanonical = \"{path}\"\n",
    )
    .expect("write");
    let out = support::rampart(&[
        "scan",
        "http://127.0.0.1:9",
        "--identity-file",
        &path.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("RAMPART_TEST_UNSET_HMAC"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn vulnerable_twin_reports_replay_window_coverage_and_caller_binding() {
    let target = HMAC.start("vulnerable");
    let dir = tempfile::tempdir().expect("tempdir");
    target.reset();

    let started = now();
    let (run, written) = scan(&target, dir.path());
    let summary = run.summary();

    // Werkzeug and the X-Signature header the recipe adds: Flask + HMAC,
    // and the signing fixes are the flask+hmac ones.
    run.assert_stack("flask", &["hmac"]);
    run.assert_fixes(|check, variant| {
        variant.starts_with("flask") && (!check.starts_with("signing.") || variant.contains("hmac"))
    });

    let errors: Vec<_> = run
        .errors()
        .iter()
        .filter(|e| e.message.starts_with("signing."))
        .collect();
    assert!(errors.is_empty(), "check errors: {errors:?}");

    // signing.request-replay on both signed endpoints: the identical
    // request twice, and correctly signed requests an hour off either way.
    for path in [ME, ORDERS] {
        let reuse = one(
            &run,
            "signing.request-replay",
            path,
            "X-Nonce",
            "replayed unchanged",
            &summary,
        );
        assert_shape(reuse, "medium");
        let (first, again) = (&reuse.evidence[0], &reuse.evidence[2]);
        assert_eq!(first.request.url, again.request.url);
        assert_eq!(
            query_param(&first.request.url, "rampart_cb"),
            query_param(&again.request.url, "rampart_cb")
        );
        for name in ["X-Timestamp", "X-Nonce"] {
            assert_eq!(header(first, name), header(again, name), "{reuse:?}");
        }
        assert_eq!(
            first.response.body_excerpt, again.response.body_excerpt,
            "{reuse:?}"
        );

        for (title, severity, offset) in [
            ("an hour old", "high", -3600),
            ("an hour in the future", "medium", 3600),
        ] {
            let f = one(
                &run,
                "signing.request-replay",
                path,
                "X-Timestamp",
                title,
                &summary,
            );
            assert_shape(f, severity);
            let sent: i64 = header(&f.evidence[2], "X-Timestamp")
                .parse()
                .expect("unix seconds");
            let expected = started + offset;
            assert!(
                (expected - 5..=now() + offset + 5).contains(&sent),
                "{title}: X-Timestamp {sent}, expected about {expected}: {f:?}"
            );
        }
        assert_eq!(
            findings(&run, "signing.request-replay", path).len(),
            3,
            "{summary}"
        );
    }

    // signing.partial-coverage: alice's signature with user_id changed to
    // bob's id returns bob's orders (the query is not signed).
    let f = one(
        &run,
        "signing.partial-coverage",
        ORDERS,
        "user_id",
        "outside the request signature",
        &summary,
    );
    assert_shape(f, "high");
    assert_eq!(
        query_param(&f.head.url, "user_id"),
        Some("usr-1002"),
        "{f:?}"
    );
    let (genuine, forged) = (&f.evidence[0], &f.evidence[2]);
    assert_eq!(
        query_param(&genuine.request.url, "user_id"),
        Some("usr-1001")
    );
    assert!(genuine.response.body_excerpt.contains("ord-alice-0001"));
    assert_eq!(forged.request.identity.as_deref(), Some("alice"), "{f:?}");
    assert!(
        forged.response.body_excerpt.contains("ord-bob-0001"),
        "the forged request should return bob's orders: {f:?}"
    );

    // signing.partial-coverage: alice's signature with bob's X-Client-Id is
    // bob's request (one secret shared by every client).
    let f = one(
        &run,
        "signing.partial-coverage",
        ME,
        "X-Client-Id",
        "does not bind the caller",
        &summary,
    );
    assert_shape(f, "high");
    let swapped = &f.evidence[2];
    assert_eq!(swapped.request.identity.as_deref(), Some("alice"), "{f:?}");
    assert!(
        swapped
            .response
            .body_excerpt
            .contains(r#""username":"bob""#),
        "{f:?}"
    );
    assert!(
        f.reproduce
            .get(2)
            .is_some_and(|line| line.contains("<bob X-Client-Id>")),
        "the reproduce line should name bob's client id, not print it: {f:?}"
    );
    assert_eq!(
        findings(&run, "signing.partial-coverage", ORDERS).len()
            + findings(&run, "signing.partial-coverage", ME).len(),
        2,
        "{summary}"
    );

    // The target verified the scan's signatures (Rampart and Python agree).
    let verdicts = target.get("/__test__/verdicts").json();
    assert!(verdicts["ok"].as_u64().unwrap_or(0) >= 10, "{verdicts}");

    for (text, what) in [
        (&run.stdout, "stdout"),
        (&run.stderr, "stderr"),
        (&written, "report file"),
    ] {
        assert_no_secret(text, what);
    }
    assert!(!run.stderr.is_empty(), "-v prints notes on stderr");
    target.assert_only_reads();
}

#[test]
fn fixed_twin_yields_no_replay_or_coverage_finding() {
    let target = HMAC.start("fixed");
    let dir = tempfile::tempdir().expect("tempdir");
    target.reset();

    let (run, written) = scan(&target, dir.path());
    let bad = run.unwanted(|f| f.check.starts_with("signing."));
    assert!(
        bad.is_empty(),
        "fixed twin must have no signing.* finding, got:\n{}\nall findings:\n{}",
        bad.join("\n"),
        run.summary()
    );
    let serious = run.unwanted(|f| f.head.severity >= Severity::Medium);
    assert!(
        serious.is_empty(),
        "fixed twin, every check, nothing of medium or above:\n{}",
        serious.join("\n")
    );
    // The coverage section names every check; findings and errors must not.
    for check in CHECKS {
        assert!(
            run.report.findings.iter().all(|f| f.check != *check)
                && run.report.errors.iter().all(|e| !e.message.contains(check)),
            "{check} appears in the report's findings or errors"
        );
    }

    // Not vacuous: the probes reached the target and were refused for the
    // right reasons, after correctly signed requests were accepted.
    let verdicts = target.get("/__test__/verdicts").json();
    let count = |name: &str| verdicts[name].as_u64().unwrap_or(0);
    assert!(count("ok") >= 4, "signed requests accepted: {verdicts}");
    assert!(count("replayed") >= 2, "replays refused: {verdicts}");
    assert!(count("expired") >= 4, "out-of-window refused: {verdicts}");
    assert!(
        count("bad-signature") >= 4,
        "corrupted, tampered and swapped requests refused: {verdicts}"
    );

    for (text, what) in [
        (&run.stdout, "stdout"),
        (&run.stderr, "stderr"),
        (&written, "report file"),
    ] {
        assert_no_secret(text, what);
    }
    target.assert_only_reads();

    // The same at no rate limit: the finding set does not hang on speed.
    let ids = identity_file(dir.path(), "fixed");
    let unthrottled =
        target.scan_with_env(&["--identity-file", &ids, "--rate", "0"], &secrets("fixed"));
    let serious = unthrottled.unwanted(|f| f.head.severity >= Severity::Medium);
    assert!(
        serious.is_empty(),
        "fixed twin at --rate 0, nothing of medium or above:\n{}",
        serious.join("\n")
    );
}
