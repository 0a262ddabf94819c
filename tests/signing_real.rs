//! Signed-link and API-key checks (`signing.*`, `apikey.*`) against the REAL
//! Flask + DynamoDB (moto_server) target `tests/targets/signing/app.py`,
//! vulnerable and fixed twins (case matrix in its README.md).
//!
//! * vulnerable twin: a default read-only scan with two identities reports
//!   every planted case with the right check, path, category, severity and
//!   confidence — including the corrupted token answered from the app cache
//!   that runs before verification — never prints a supplied key, and the
//!   target saw nothing but GET/HEAD;
//! * fixed twin: the same scan yields no `signing.*` / `apikey.*` finding
//!   (other families are not this test's business and are filtered out).
//!
//! Needs the Python venv (`scripts/test` creates `.venv`).

mod support;

use rampart::finding::Finding;
use serde_json::Value;
use support::http::query_param;
use support::{Family, ScanRun, Target};

const ALICE_KEY: &str = "ak_alice_sign_7a1e";
const BOB_KEY: &str = "ak_bob_sign_c3d9";
const ALICE: &str = "X-API-Key: ak_alice_sign_7a1e";
const BOB: &str = "X-API-Key: ak_bob_sign_c3d9";
const DOWNLOAD: &str = "/api/reports/download";

/// A default read-only scan (every check family) with alice and bob.
const SIGNING: Family = Family {
    app: "signing/app.py",
    identities: &[("alice", ALICE), ("bob", BOB)],
    ..Family::DEFAULT
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A string in a target's JSON answer.
fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// GET `path` with extra headers: `(status, JSON body)`.
fn get_json(target: &Target, path: &str, headers: &[&str]) -> (u16, Value) {
    let resp = target.request("GET", path, headers);
    (resp.status, resp.json())
}

/// Issue time of an itsdangerous `payload.timestamp.signature` token.
fn itsdangerous_issued_at(token: &str) -> i64 {
    let mut parts = token.rsplitn(3, '.');
    let (_sig, ts) = (parts.next(), parts.next().expect("timestamp segment"));
    let mut bits: u64 = 0;
    let mut nbits = 0;
    let mut value: i64 = 0;
    for c in ts.bytes() {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {ts}"),
        };
        bits = (bits << 6) | u64::from(sextet);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            value = (value << 8) | ((bits >> nbits) & 0xff) as i64;
        }
    }
    value
}

fn findings_of<'a>(run: &'a ScanRun, check: &str) -> Vec<&'a Finding> {
    run.of_check(check)
}

/// Asserts the identifying fields every finding of this family must have.
fn assert_shape(f: &Finding, path: &str, category: &str, severity: &str, ctx: &str) {
    assert_eq!(f.head.method, "GET", "{ctx}: method");
    assert_eq!(f.head.path, path, "{ctx}: path");
    assert_eq!(f.category.as_str(), category, "{ctx}: category");
    assert_eq!(f.head.severity.as_str(), severity, "{ctx}: severity");
    assert_eq!(f.head.confidence.as_str(), "confirmed", "{ctx}: confidence");
    assert!(!f.evidence.is_empty(), "{ctx}: no evidence");
}

/// The single finding of `check`, or a panic listing what was reported.
fn only<'a>(run: &'a ScanRun, check: &str, summary: &str) -> &'a Finding {
    let found = findings_of(run, check);
    assert_eq!(found.len(), 1, "expected one {check}:\n{summary}");
    found[0]
}

fn assert_no_key_in(run: &ScanRun, what: &str) {
    for key in [ALICE_KEY, BOB_KEY] {
        assert!(
            !run.stdout.contains(key),
            "{what}: the report prints the supplied key {key}"
        );
        assert!(
            !run.stderr.contains(key),
            "{what}: stderr prints the supplied key {key}"
        );
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn vulnerable_twin_read_only_scan_reports_every_signing_and_apikey_case() {
    let app = SIGNING.start("vulnerable");

    // The target really hands out the key and the links the scan works on,
    // so the redaction and link assertions below cannot pass vacuously.
    let (status, key) = get_json(&app, "/api/keys/current", &[ALICE]);
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["api_key"], ALICE_KEY, "the key is not reflected: {key}");
    let (status, me) = get_json(&app, "/api/me", &[ALICE]);
    assert_eq!(status, 200, "{me}");
    assert!(
        s(&me, "/report_url").starts_with(DOWNLOAD)
            && s(&me, "/archived_report_url").starts_with(DOWNLOAD),
        "{me}"
    );
    app.reset();

    let run = app.scan(&[]);
    let summary = run.summary();
    let ctx = |check: &str| format!("{check}\nall findings:\n{summary}");

    // The stack as the target shows it: Werkzeug, the API-key header the
    // scan sends, itsdangerous tokens in the links; fixes speak Flask.
    run.assert_stack("flask", &["api-keys", "itsdangerous"]);
    run.assert_fixes(|_, variant| variant.starts_with("flask"));

    // No signing/apikey check failed on the way.
    let errors: Vec<_> = run
        .errors()
        .iter()
        .filter(|e| e.message.starts_with("signing.") || e.message.starts_with("apikey."))
        .collect();
    assert!(errors.is_empty(), "check errors: {errors:?}");

    // signing.unsigned-params: alice's token with user_id changed to bob's
    // id (2) returns bob's report.
    let f = only(&run, "signing.unsigned-params", &summary);
    assert_shape(f, DOWNLOAD, "signature", "high", &ctx("unsigned-params"));
    assert_eq!(
        f.head.parameter.as_deref(),
        Some("user_id"),
        "{}",
        ctx("unsigned-params")
    );
    assert_eq!(query_param(&f.head.url, "user_id"), Some("2"), "{f:?}");
    let changed = &f.evidence[1];
    assert_eq!(changed.request.identity.as_deref(), Some("alice"), "{f:?}");
    assert_eq!(changed.response.status, 200, "{f:?}");
    assert!(
        changed.response.body_excerpt.contains("rpt-bob-2024-05"),
        "the re-targeted link should return bob's report: {f:?}"
    );

    // signing.signature-optional, twice: the token removed (`if token:`) and
    // a corrupted token answered from the cache keyed without `token`.
    let optional = findings_of(&run, "signing.signature-optional");
    for f in &optional {
        assert_shape(f, DOWNLOAD, "signature", "high", &ctx("signature-optional"));
        assert_eq!(f.head.parameter.as_deref(), Some("token"), "{f:?}");
    }
    let removed = optional
        .iter()
        .find(|f| query_param(&f.head.url, "token").is_none())
        .unwrap_or_else(|| panic!("no signature-optional for the removed token:\n{summary}"));
    let genuine = &removed.evidence[0];
    assert_eq!(genuine.response.status, 200, "{removed:?}");
    assert!(query_param(&genuine.request.url, "token").is_some());
    assert_eq!(
        removed.evidence[1].response.body_excerpt, genuine.response.body_excerpt,
        "{removed:?}"
    );
    let cached = optional
        .iter()
        .find(|f| query_param(&f.head.url, "token").is_some())
        .unwrap_or_else(|| {
            panic!("no signature-optional for the corrupted token on a cached URL:\n{summary}")
        });
    let steps = &cached.evidence;
    assert_eq!(steps.len(), 3, "{cached:?}");
    let (genuine, fresh, primed) = (&steps[0], &steps[1], &steps[2]);
    let genuine_url = genuine.request.url.as_str();
    let primed_url = primed.request.url.as_str();
    // The corrupted token went to the very URL (same buster) the genuine
    // request had just fetched, and differs from the genuine token ...
    assert_eq!(primed_url, cached.head.url);
    assert_eq!(
        query_param(primed_url, "rampart_cb"),
        query_param(genuine_url, "rampart_cb"),
        "{cached:?}"
    );
    assert_ne!(
        query_param(primed_url, "token"),
        query_param(genuine_url, "token"),
        "{cached:?}"
    );
    // ... the same corrupted token on a never-fetched URL was refused ...
    assert_eq!(
        query_param(&fresh.request.url, "token"),
        query_param(primed_url, "token")
    );
    assert_ne!(
        query_param(&fresh.request.url, "rampart_cb"),
        query_param(genuine_url, "rampart_cb")
    );
    assert_eq!(fresh.response.status, 403, "{cached:?}");
    // ... and on the primed URL the app's cache answered with the report.
    let app_cache =
        |step: &rampart::finding::Evidence| step.response.headers.get("x-app-cache").cloned();
    assert_eq!(app_cache(genuine).as_deref(), Some("MISS"));
    assert_eq!(primed.response.status, 200, "{cached:?}");
    assert_eq!(app_cache(primed).as_deref(), Some("HIT"), "{cached:?}");
    assert_eq!(
        primed.response.body_excerpt, genuine.response.body_excerpt,
        "{cached:?}"
    );
    assert_eq!(optional.len(), 2, "{}", ctx("signature-optional"));

    // signing.replay: the 3-day-old archived_report_url is still accepted.
    let f = only(&run, "signing.replay", &summary);
    assert_shape(f, DOWNLOAD, "signature", "high", &ctx("replay"));
    assert_eq!(f.head.parameter.as_deref(), Some("token"));
    let token = query_param(&f.head.url, "token").expect("replayed token");
    let age = chrono::Utc::now().timestamp() - itsdangerous_issued_at(token);
    assert!(
        (2 * 86400..4 * 86400).contains(&age),
        "replayed token is {age} s old, expected the 3-day-old archived link: {f:?}"
    );
    assert_eq!(f.evidence[0].response.status, 200);

    // signing.unbound-caller: alice's link returns her report to another caller.
    let f = only(&run, "signing.unbound-caller", &summary);
    assert_shape(f, DOWNLOAD, "signature", "medium", &ctx("unbound-caller"));
    let (own, other) = (&f.evidence[0], &f.evidence[1]);
    assert_eq!(own.request.identity.as_deref(), Some("alice"), "{f:?}");
    assert_ne!(other.request.identity.as_deref(), Some("alice"), "{f:?}");
    assert_eq!(
        own.request.url.split("rampart_cb").next(),
        other.request.url.split("rampart_cb").next(),
        "the same signed link: {f:?}"
    );
    assert_eq!(other.response.status, 200, "{f:?}");
    assert!(other.response.body_excerpt.contains("rpt-alice-2024-05"));

    // apikey.in-query: the key accepted from ?api_key= and from a cookie,
    // without the header, on a key-authenticated route.
    let f = only(&run, "apikey.in-query", &summary);
    let path = f.head.path.as_str();
    assert!(
        path == "/api/me" || path == "/api/keys/current",
        "{}",
        ctx("in-query")
    );
    assert_shape(f, path, "api-key", "medium", &ctx("in-query"));
    let places = f.head.parameter.as_deref().unwrap_or("");
    assert!(
        places.contains("query parameter `api_key`") && places.contains("cookie `api_key`"),
        "both planted placements (query and cookie) expected, got {places:?}"
    );
    for step in f.evidence.iter().skip(1) {
        assert!(step.request.identity.is_none(), "{f:?}");
        assert_eq!(step.response.status, 200, "{f:?}");
    }
    assert_eq!(f.evidence[0].response.status, 401, "{f:?}");

    // apikey.reflected: /api/keys/current echoes the caller's key.
    let f = only(&run, "apikey.reflected", &summary);
    assert_shape(
        f,
        "/api/keys/current",
        "api-key",
        "medium",
        &ctx("reflected"),
    );
    assert_eq!(f.head.parameter.as_deref(), Some("X-API-Key"));

    // Redaction: neither supplied key appears anywhere in the output, though
    // the target echoed alice's in bodies and the scan put it in URLs and
    // cookies.
    assert_no_key_in(&run, "vulnerable twin");
    assert!(
        run.stdout.contains("<alice X-API-Key>"),
        "reproduce lines should name the key, not print it"
    );

    // Without --active the target saw only reads.
    app.assert_only_reads();
}

#[test]
fn fixed_twin_yields_no_signing_or_apikey_finding() {
    let app = SIGNING.start("fixed");

    // The fixed twin hands out working links, so the signing checks have
    // something to probe; it just refuses every misuse.
    let (status, me) = get_json(&app, "/api/me", &[ALICE]);
    assert_eq!(status, 200, "{me}");
    let link = s(&me, "/report_url").to_string();
    let (status, report) = get_json(&app, &format!("{link}&cb=own"), &[ALICE]);
    assert_eq!(status, 200, "alice's own link: {report}");
    assert_eq!(report["report_id"], "rpt-alice-2024-05");
    let (status, _) = get_json(&app, &format!("{link}&cb=own"), &[BOB]);
    assert_eq!(status, 403, "bob with alice's link");
    let (status, _) = get_json(&app, "/api/me?api_key=ak_alice_sign_7a1e", &[]);
    assert_eq!(status, 401, "key in the query");
    app.reset();

    let run = app.scan(&[]);
    let bad = run.unwanted(|f| f.check.starts_with("signing.") || f.check.starts_with("apikey."));
    assert!(
        bad.is_empty(),
        "fixed twin must have no signing.*/apikey.* finding, got:\n{}\nall findings:\n{}",
        bad.join("\n"),
        run.summary()
    );
    assert_no_key_in(&run, "fixed twin");
    app.assert_only_reads();
}
