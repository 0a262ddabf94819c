//! The transport checks end to end against a real Flask app that serves
//! HTTPS itself (werkzeug + Python's `ssl`), in two twins
//! (`tests/targets/transport/`, see its README for the case matrix).
//!
//! The certificate comes from a throwaway CA made with the `openssl` CLI
//! ([`support::TestPki`]): RSA-2048/SHA-256, SAN `DNS:localhost,
//! IP:127.0.0.1`, and the server sends leaf + CA. So, scanned as
//! `https://127.0.0.1:PORT/`, the certificate names the host, is not
//! self-signed and comes with its chain: `transport.certificate` has nothing
//! to say (the CA is in no trust store, which is why the scan runs with
//! `--insecure`; Rampart does not judge trust anchors). Python's
//! `ssl.PROTOCOL_TLS_SERVER` context, which werkzeug's `ssl_context=(cert,
//! key)` builds too, accepts TLS 1.2 and 1.3 only and offers AEAD suites
//! (CBC-SHA256/384 suites next to them are not "CBC only"), so
//! `transport.tls-versions` and `transport.weak-ciphers` stay silent on
//! both twins; [`tls_facts_explain_the_silent_tls_checks`] asserts those
//! facts directly with the prober.
//!
//! Needs the test venv (`scripts/test`) and the `openssl` binary.

mod support;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart::tls_probe::{probe, TlsVersion};
use support::{Family, ScanRun, Target, TestPki};

const DATA_STORE: &str = "http://dynamodb.us-east-1.amazonaws.com";

/// The app serves HTTPS itself with a test certificate (hence `--insecure`)
/// and needs no DynamoDB; the scan is crawled, not given a spec.
const TRANSPORT: Family = Family {
    app: "transport/app.py",
    dynamo: false,
    spec: false,
    checks: Some("transport.*"),
    args: &["--insecure", "-q", "--timeout", "5", "--fail-on", "low"],
    ..Family::DEFAULT
};

fn scan_transport(app: &Target) -> ScanRun {
    // The plain-HTTP twin is looked for on a closed port: whatever listens
    // on this machine's port 80 must not change the result.
    let closed = support::free_port().to_string();
    TRANSPORT.scan(&format!("{}/", app.base_url()), &["--http-port", &closed])
}

fn endpoint_paths(run: &ScanRun) -> Vec<&str> {
    run.report
        .endpoints
        .iter()
        .map(|e| e.path.as_str())
        .collect()
}

/// A token no one could guess or find anywhere else in a report.
fn fresh_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let random: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(24)
        .collect();
    format!("at{nanos:x}{random}")
}

struct VulnerableScan {
    run: ScanRun,
    /// The access token the callback put in its redirect URL.
    token: String,
    /// Location of the callback's redirect, as the test itself saw it.
    location: String,
}

/// One scan of the vulnerable twin, shared by the tests below (the app is
/// stopped as soon as the scan is done).
fn vulnerable_scan() -> &'static VulnerableScan {
    static SCAN: OnceLock<VulnerableScan> = OnceLock::new();
    SCAN.get_or_init(|| {
        let pki = TestPki::generate();
        let token = fresh_token();
        let app = TRANSPORT.start_tls("vulnerable", &pki, &[("PLANTED_ACCESS_TOKEN", &token)]);
        // The plants are in place before Rampart looks.
        let root = app.get("/");
        assert_eq!(root.status, 200, "{}", root.body);
        assert_eq!(root.header("strict-transport-security"), None);
        let callback = app.get("/api/oauth/callback");
        assert_eq!(callback.status, 302, "{}", callback.body);
        let location = callback.header("location").unwrap_or("").to_string();
        assert!(location.contains(&token), "{location}");
        let session = app.get("/api/session");
        let cookie = session.header("set-cookie").unwrap_or("").to_string();
        assert!(cookie.starts_with("session="), "{cookie}");
        for flag in ["secure", "httponly", "samesite"] {
            assert!(!cookie.to_ascii_lowercase().contains(flag), "{cookie}");
        }

        let run = scan_transport(&app);
        println!("vulnerable twin:\n{}", run.summary());
        VulnerableScan {
            run,
            token,
            location,
        }
    })
}

#[test]
fn vulnerable_twin_reports_every_planted_transport_mistake() {
    let scan = vulnerable_scan();
    let run = &scan.run;
    let all = run.summary();
    assert_eq!(
        run.exit_code, 1,
        "findings at/above --fail-on low mean exit 1\n{all}"
    );
    assert!(
        run.errors().is_empty(),
        "scan errors: {:?}\n{all}",
        run.errors()
    );
    let paths = endpoint_paths(run);
    for path in [
        "/api/session",
        "/api/orders",
        "/api/status",
        "/api/oauth/callback",
    ] {
        assert!(paths.contains(&path), "{path} not discovered: {paths:?}");
    }

    // No HSTS on the https root.
    let hsts = run.of_check("transport.hsts");
    assert_eq!(hsts.len(), 1, "{all}");
    assert!(
        hsts[0].head.title.contains("Strict Transport Security"),
        "{all}"
    );
    assert!(
        hsts[0]
            .head
            .description
            .contains("no Strict-Transport-Security header"),
        "{all}"
    );
    assert_eq!(hsts[0].head.severity.as_str(), "medium", "{all}");

    // The guest session cookie lacks all three flags (Secure is judged
    // because the exchange was https).
    let cookies = run.of_check("transport.cookie-flags");
    assert_eq!(cookies.len(), 1, "{all}");
    let cookie = cookies[0];
    assert_eq!(cookie.head.path, "/api/session", "{all}");
    assert_eq!(
        cookie.head.parameter.as_deref().unwrap_or(""),
        "session",
        "{all}"
    );
    let title = &cookie.head.title;
    assert!(title.contains("`session`"), "{title}");
    for flag in ["Secure", "HttpOnly", "SameSite"] {
        assert!(title.contains(flag), "{flag} not named in {title:?}");
    }
    assert_eq!(cookie.head.severity.as_str(), "medium", "{all}");

    // http:// links: the data store named by /api/status, and the
    // pagination links of /api/orders.
    let links = run.of_check("transport.insecure-links");
    let store: Vec<_> = links
        .iter()
        .filter(|f| f.head.title == "Data-store endpoint reached over plain HTTP")
        .collect();
    assert_eq!(store.len(), 1, "{all}");
    assert_eq!(store[0].head.path, "/api/status", "{all}");
    assert!(store[0].head.description.contains(DATA_STORE), "{all}");
    let mixed: Vec<_> = links
        .iter()
        .filter(|f| f.head.title == "HTTPS response links to http:// URLs")
        .collect();
    assert_eq!(mixed.len(), 1, "{all}");
    assert_eq!(mixed[0].head.path, "/api/orders", "{all}");
    assert!(
        mixed[0].head.description.contains("http://127.0.0.1:"),
        "{all}"
    );
    // The moved route's 301 points at http://: a downgrade.
    let downgrade: Vec<_> = links
        .iter()
        .filter(|f| f.head.title == "HTTPS redirect downgrades to plain HTTP")
        .collect();
    assert_eq!(downgrade.len(), 1, "{all}");
    assert_eq!(downgrade[0].head.path, "/api/v1/orders", "{all}");
    assert_eq!(downgrade[0].head.severity.as_str(), "medium", "{all}");
    assert_eq!(links.len(), 3, "{all}");

    // The SSO callback's redirect carries the access token in its query.
    let creds = run.of_check("transport.credentials-in-url");
    assert_eq!(creds.len(), 1, "{all}");
    assert_eq!(creds[0].head.path, "/api/oauth/callback", "{all}");
    assert_eq!(
        creds[0].head.parameter.as_deref().unwrap_or(""),
        "access_token",
        "{all}"
    );
    assert!(creds[0].head.title.contains("`access_token`"), "{all}");

    // What must not fire: the certificate is CA-signed for IP:127.0.0.1
    // with its chain, Python's TLS defaults are TLS 1.2+ with AEAD, and the
    // target is https.
    for quiet in [
        "transport.certificate",
        "transport.tls-versions",
        "transport.weak-ciphers",
        "transport.plain-http",
    ] {
        assert!(run.of_check(quiet).is_empty(), "{quiet} fired:\n{all}");
    }
    assert_eq!(run.findings().len(), 6, "{all}");
    for finding in run.findings() {
        assert_eq!(finding.category.as_str(), "cryptography", "{all}");
    }
}

/// The token the API put in its redirect is a credential: the report masks
/// it in the Location header and in werkzeug's redirect page excerpt.
#[test]
fn vulnerable_twin_report_never_repeats_the_access_token() {
    let scan = vulnerable_scan();
    assert!(
        scan.location.contains(&scan.token),
        "plant missing: {}",
        scan.location
    );
    let leaks: Vec<String> = scan
        .run
        .stdout
        .match_indices(&scan.token)
        .map(|(at, _)| {
            let text = &scan.run.stdout;
            let mut start = at.saturating_sub(160);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (at + scan.token.len() + 40).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text[start..end].to_string()
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "the access token from the redirect appears {} time(s) in the JSON report:\n{}",
        leaks.len(),
        leaks.join("\n---\n")
    );
}

#[test]
fn fixed_twin_reports_nothing() {
    let pki = TestPki::generate();
    let app = TRANSPORT.start_tls("fixed", &pki, &[]);
    // The fixed behaviour is really there.
    let root = app.get("/");
    assert_eq!(
        root.header("strict-transport-security"),
        Some("max-age=63072000; includeSubDomains")
    );
    let session = app.get("/api/session");
    let cookie = session.header("set-cookie").unwrap_or("");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let callback = app.get("/api/oauth/callback");
    assert_eq!(callback.status, 302);
    assert_eq!(callback.header("location"), Some("/app"));
    let orders = app.get("/api/orders");
    assert!(
        orders.body.contains("\"https://127.0.0.1:"),
        "{}",
        orders.body
    );
    assert!(!orders.body.contains("http://"), "{}", orders.body);

    let run = scan_transport(&app);
    let all = run.summary();
    println!("fixed twin:\n{all}");
    assert!(
        run.errors().is_empty(),
        "scan errors: {:?}\n{all}",
        run.errors()
    );
    let paths = endpoint_paths(&run);
    assert!(
        paths.contains(&"/api/oauth/callback"),
        "callback not discovered: {paths:?}"
    );
    assert!(run.findings().is_empty(), "{all}");
    assert_eq!(run.exit_code, 0, "{all}");
}

/// Why the TLS checks are silent on werkzeug: what the prober sees.
#[test]
fn tls_facts_explain_the_silent_tls_checks() {
    let pki = TestPki::generate();
    let app = TRANSPORT.start_tls("fixed", &pki, &[]);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let report = runtime
        .block_on(probe(
            "127.0.0.1",
            app.app.port(),
            "127.0.0.1",
            Duration::from_secs(5),
        ))
        .expect("TLS probe of the werkzeug server");
    println!("{report:#?}");
    assert_eq!(
        report.accepted_versions,
        vec![TlsVersion::Tls12, TlsVersion::Tls13]
    );
    assert!(report.weak_ciphers.is_empty(), "{:?}", report.weak_ciphers);
    let cert = report.certificate.as_ref().expect("certificate");
    assert_eq!(cert.chain_len, 2, "leaf + CA sent");
    assert!(!cert.self_signed);
    assert!(cert.issuer.contains("Rampart Test CA"), "{}", cert.issuer);
    assert!(
        cert.ip_addresses.iter().any(|ip| ip == "127.0.0.1"),
        "{:?}",
        cert.ip_addresses
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    assert_eq!(cert.problems("127.0.0.1", now), vec![]);
}
