//! The TLS prober against real `openssl s_server` instances on 127.0.0.1,
//! with certificates from the harness's throwaway PKI, and the transport
//! checks end to end against a legacy `s_server` and a modern nginx (the
//! fixed twin).
//!
//! Needs the `openssl` binary (Debian: `apt-get install -y openssl`).

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rampart::finding::Finding;
use rampart::tls_probe::{probe, CertInfo, CertProblem, TlsReport, TlsVersion, Weakness};
use support::proxy::{Nginx, Proxy};
use support::tls::{SServer, TlsProfile};
use support::{free_port, Family, Leaf, Ready, TestPki};

const TIMEOUT: Duration = Duration::from_secs(5);

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `openssl ciphers` with the permissive config: what this build can do.
fn build_ciphers(pki: &TestPki) -> String {
    let out = Command::new("openssl")
        .args(["ciphers", "-v", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
        .env("OPENSSL_CONF", pki.legacy_conf())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn probe_server(server: &SServer) -> TlsReport {
    probe("127.0.0.1", server.port(), "localhost", TIMEOUT)
        .await
        .expect("probe")
}

/// Issues `leaf` from a fresh CA, serves it in `profile` (with the CA after
/// it when `send_chain`) and probes it.
async fn probe_leaf(leaf: Leaf<'_>, send_chain: bool, profile: TlsProfile) -> TlsReport {
    let pki = TestPki::new();
    let cert = pki.leaf(leaf);
    let server = SServer::start(&pki, &cert, send_chain, profile);
    probe_server(&server).await
}

fn problems(report: &TlsReport, host: &str) -> Vec<CertProblem> {
    report
        .certificate
        .as_ref()
        .expect("certificate")
        .problems(host, now_unix())
}

fn weak_classes(report: &TlsReport, version: TlsVersion) -> Vec<Weakness> {
    report
        .weak_ciphers
        .iter()
        .filter(|(v, _)| *v == version)
        .filter_map(|(_, s)| s.weakness)
        .collect()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_server() {
    let report = probe_leaf(Leaf::default(), true, TlsProfile::Modern).await;
    println!("{report:#?}");

    assert_eq!(
        report.accepted_versions,
        vec![TlsVersion::Tls12, TlsVersion::Tls13]
    );
    assert!(report.weak_ciphers.is_empty(), "{:?}", report.weak_ciphers);
    let c: &CertInfo = report.certificate.as_ref().unwrap();
    assert_eq!(c.problems("localhost", now_unix()), vec![]);
    assert!(c.subject.contains("CN=localhost"), "{}", c.subject);
    assert!(c.issuer.contains("Rampart Test CA"), "{}", c.issuer);
    assert_eq!(c.dns_names, vec!["localhost".to_string()]);
    assert_eq!(c.signature_algorithm, "sha256WithRSAEncryption");
    assert_eq!((c.key_type.as_str(), c.key_bits), ("RSA", Some(2048)));
    assert_eq!(c.chain_len, 2);
    assert!(!c.self_signed);
    assert!(c.not_before_unix <= now_unix() && now_unix() < c.not_after_unix);
    // Probing by IP with no IP SAN is a host mismatch.
    assert_eq!(
        c.problems("127.0.0.1", now_unix()),
        vec![CertProblem::WrongHost]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_server() {
    let pki = TestPki::new();
    let cert = pki.leaf(Leaf::default());
    let server = SServer::start(&pki, &cert, true, TlsProfile::Legacy);
    let report = probe_server(&server).await;
    println!("{report:#?}");

    let v = &report.accepted_versions;
    for want in [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12] {
        assert!(v.contains(&want), "{want:?} missing from {v:?}");
    }
    // SSLv3 is compiled out of Debian's OpenSSL 3 (no -ssl3 switch); if a build
    // had it, this server still does not enable it (min_protocol TLSv1).
    assert!(!v.contains(&TlsVersion::Ssl3));
    assert!(!report.weak_ciphers.is_empty());

    // Assert only what this openssl build can do.
    let available = build_ciphers(&pki);
    let has_null = available.contains("Enc=None");
    let has_anon = available.contains("Au=None");
    let has_3des = available.contains("3DES");
    let has_rc4 = available.contains("RC4");
    let has_des = available.lines().any(|l| l.contains("Enc=DES(56)"));
    for version in [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12] {
        let classes = weak_classes(&report, version);
        for (weakness, in_build) in [
            (Weakness::Null, has_null),
            (Weakness::Anonymous, has_anon),
            (Weakness::TripleDes, has_3des),
            (Weakness::Rc4, has_rc4),
            (Weakness::Des, has_des),
        ] {
            assert_eq!(
                classes.contains(&weakness),
                in_build,
                "{version:?} {weakness:?} {classes:?}"
            );
        }
        assert!(
            !classes.contains(&Weakness::Export),
            "EXPORT is gone since OpenSSL 1.1"
        );
        // The server has AEAD at 1.2: CBC is not flagged.
        assert!(!classes.contains(&Weakness::CbcOnly), "{classes:?}");
    }
    println!(
        "this openssl build: NULL={has_null} anon={has_anon} 3DES={has_3des} RC4={has_rc4} DES={has_des}"
    );
    assert!(has_null || has_anon || has_3des || has_rc4);
    // Certificate comes from the TLS 1.2 handshake.
    assert_eq!(problems(&report, "localhost"), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cbc_only_server() {
    let report = probe_leaf(Leaf::default(), true, TlsProfile::CbcOnly).await;
    println!("{report:#?}");

    assert_eq!(
        report.accepted_versions,
        vec![TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12]
    );
    for version in [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12] {
        assert_eq!(weak_classes(&report, version), vec![Weakness::CbcOnly]);
    }
    let names: Vec<&str> = report.weak_ciphers.iter().map(|(_, s)| s.name).collect();
    assert!(
        names
            .iter()
            .all(|n| *n == "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
                || *n == "TLS_RSA_WITH_AES_256_CBC_SHA"),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cbc_preferred_but_aead_available_is_not_cbc_only() {
    let report = probe_leaf(Leaf::default(), true, TlsProfile::CbcPreferred).await;
    assert_eq!(report.accepted_versions, vec![TlsVersion::Tls12]);
    // The broad hello gets CBC (server preference); the extra AEAD-only
    // probe finds GCM, so CBC is not reported.
    assert!(report.weak_ciphers.is_empty(), "{:?}", report.weak_ciphers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_certificate() {
    let report = probe_leaf(
        Leaf {
            dates: Some(("20200101000000Z", "20210101000000Z")),
            ..Leaf::default()
        },
        true,
        TlsProfile::Modern,
    )
    .await;
    assert_eq!(problems(&report, "localhost"), vec![CertProblem::Expired]);
    let c = report.certificate.unwrap();
    assert_eq!(c.not_after_unix, 1_609_459_200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_yet_valid_certificate() {
    let report = probe_leaf(
        Leaf {
            dates: Some(("20900101000000Z", "20910101000000Z")),
            ..Leaf::default()
        },
        true,
        TlsProfile::Modern,
    )
    .await;
    assert_eq!(
        problems(&report, "localhost"),
        vec![CertProblem::NotYetValid]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate() {
    let pki = TestPki::new();
    let cert = pki.self_signed();
    let server = SServer::start(&pki, &cert, false, TlsProfile::Modern);
    let report = probe_server(&server).await;
    assert_eq!(
        problems(&report, "localhost"),
        vec![CertProblem::SelfSigned]
    );
    let c = report.certificate.unwrap();
    assert!(c.self_signed);
    assert_eq!(c.chain_len, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_host_certificate() {
    let report = probe_leaf(
        Leaf {
            san: "DNS:other.example",
            ..Leaf::default()
        },
        true,
        TlsProfile::Modern,
    )
    .await;
    assert_eq!(problems(&report, "localhost"), vec![CertProblem::WrongHost]);
    assert_eq!(problems(&report, "other.example"), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sha1_signed_certificate() {
    let report = probe_leaf(
        Leaf {
            md: "sha1",
            ..Leaf::default()
        },
        true,
        TlsProfile::WeakCert,
    )
    .await;
    assert_eq!(
        problems(&report, "localhost"),
        vec![CertProblem::Sha1Signature]
    );
    assert_eq!(
        report.certificate.unwrap().signature_algorithm,
        "sha1WithRSAEncryption"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_key_certificate() {
    let report = probe_leaf(
        Leaf {
            bits: 1024,
            ..Leaf::default()
        },
        true,
        TlsProfile::WeakCert,
    )
    .await;
    assert_eq!(
        problems(&report, "localhost"),
        vec![CertProblem::WeakKey(1024)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_chain() {
    let report = probe_leaf(Leaf::default(), false, TlsProfile::Modern).await;
    assert_eq!(
        problems(&report, "localhost"),
        vec![CertProblem::IncompleteChain]
    );
}

// ---------------------------------------------------------------------------
// Not-TLS / unreachable peers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn closed_port_is_a_connect_error() {
    let port = free_port(); // bound then released: nobody listens
    let err = probe("127.0.0.1", port, "localhost", TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, rampart::tls_probe::TlsProbeError::Connect { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn http_server_is_not_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        // Answer the five version probes (five versions, nothing accepted) like an
        // HTTP server would.
        listener.set_nonblocking(false).unwrap();
        for _ in 0..5 {
            let Ok((mut s, _)) = listener.accept() else {
                break;
            };
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let err = probe("127.0.0.1", port, "localhost", TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, rampart::tls_probe::TlsProbeError::NotTls { .. }),
        "{err}"
    );
    handle.join().unwrap();
}

#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The kernel completes the TCP handshakes (backlog); nobody ever answers.
    let started = Instant::now();
    let err = probe("127.0.0.1", port, "localhost", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, rampart::tls_probe::TlsProbeError::Timeout { .. }),
        "{err}"
    );
    // A hang guard, not a speed target: the 300 ms timeout must bound the probe.
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(listener);
}

// ---------------------------------------------------------------------------
// End to end: `rampart scan` with the transport checks
// ---------------------------------------------------------------------------

/// nginx with a CA-signed certificate for 127.0.0.1, TLS 1.2/1.3 with AEAD
/// suites only and HSTS: the fixed twin. Also listens on plain HTTP.
struct ModernNginx {
    _nginx: Proxy,
    tls_port: u16,
    /// Plain HTTP that redirects to the TLS port (as it should).
    redirect_port: u16,
    /// Plain HTTP that serves the same content (the mistake).
    serving_port: u16,
}

impl ModernNginx {
    fn start(pki: &TestPki) -> ModernNginx {
        let cert = pki.leaf(Leaf {
            name: "nginx",
            san: "DNS:localhost,IP:127.0.0.1",
            ..Leaf::default()
        });
        let nginx = Nginx::start_config(
            3,
            |prefix, ports| {
                let prefix = prefix.display();
                let (tls_port, redirect_port, serving_port) = (ports[0], ports[1], ports[2]);
                format!(
                    "worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log notice;\n\
                     user root root;\nevents {{ worker_connections 64; }}\n\
                     http {{\n  access_log {prefix}/access.log;\n\
                       client_body_temp_path {prefix}/cb; proxy_temp_path {prefix}/p;\n\
                       fastcgi_temp_path {prefix}/f; uwsgi_temp_path {prefix}/u; scgi_temp_path {prefix}/s;\n\
                       server_tokens off;\n\
                       server {{\n    listen 127.0.0.1:{tls_port} ssl;\n\
                         ssl_certificate {chain};\n    ssl_certificate_key {key};\n\
                         ssl_protocols TLSv1.2 TLSv1.3;\n\
                         ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;\n\
                         add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always;\n\
                         default_type application/json;\n\
                         location / {{ return 200 '{{\"status\":\"ok\"}}'; }}\n  }}\n\
                       server {{\n    listen 127.0.0.1:{redirect_port};\n\
                         return 301 https://127.0.0.1:{tls_port}$request_uri;\n  }}\n\
                       server {{\n    listen 127.0.0.1:{serving_port};\n    default_type application/json;\n\
                         location / {{ return 200 '{{\"status\":\"ok\"}}'; }}\n  }}\n}}\n",
                    // Leaf then CA: the chain a client needs, as a real
                    // deployment sends it.
                    chain = cert.chain.display(),
                    key = cert.key.display(),
                )
            },
            Ready::Tcp,
        );
        let ports = nginx.ports().to_vec();
        ModernNginx {
            _nginx: nginx,
            tls_port: ports[0],
            redirect_port: ports[1],
            serving_port: ports[2],
        }
    }
}

const TRANSPORT: Family = Family {
    spec: false,
    dynamo: false,
    checks: Some("transport.*"),
    args: &["--insecure", "-q", "--timeout", "5"],
    ..Family::DEFAULT
};

/// Runs the transport checks on `url` and returns the report's findings.
/// Scans with the plain-HTTP twin looked for on a closed port, so that
/// whatever listens on this machine's port 80 cannot change the result.
fn scan_transport(url: &str) -> Vec<Finding> {
    let closed = free_port().to_string();
    scan_transport_with(url, &["--http-port", &closed])
}

fn scan_transport_with(url: &str, extra: &[&str]) -> Vec<Finding> {
    let run = TRANSPORT.scan(url, extra);
    // A failed TLS probe would otherwise pass for a clean server.
    assert_eq!(run.errors().len(), 0, "scan errors: {:?}", run.errors());
    run.report.findings
}

fn summary(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} [{}] {}\n", f.check, f.head.severity, f.head.title))
        .collect()
}

#[test]
fn scan_of_a_legacy_tls_server_reports_versions_ciphers_certificate_and_hsts() {
    let pki = TestPki::new();
    // Names `localhost` only: scanned as 127.0.0.1 it is the wrong host.
    let cert = pki.leaf(Leaf::default());
    let server = SServer::start(&pki, &cert, true, TlsProfile::Legacy);
    let findings = scan_transport(&format!("https://127.0.0.1:{}/", server.port()));
    let all = summary(&findings);
    let titled = |check: &str, words: &str| {
        findings
            .iter()
            .any(|f| f.check == check && f.head.title.contains(words))
    };
    assert!(titled("transport.tls-versions", "TLS 1.0"), "{all}");
    assert!(titled("transport.tls-versions", "TLS 1.1"), "{all}");
    assert!(!titled("transport.tls-versions", "TLS 1.2"), "{all}");
    assert!(
        findings.iter().any(|f| f.check == "transport.weak-ciphers"),
        "{all}"
    );
    assert!(
        titled("transport.certificate", "does not name the host"),
        "{all}"
    );
    assert!(
        titled("transport.hsts", "Strict Transport Security"),
        "{all}"
    );
    assert!(
        !findings.iter().any(|f| f.check == "transport.plain-http"),
        "{all}"
    );
    for finding in &findings {
        assert_eq!(finding.category.as_str(), "cryptography", "{all}");
        assert!(finding.remediation.is_some(), "{all}");
    }
}

#[test]
fn scan_of_a_modern_nginx_reports_nothing() {
    let pki = TestPki::new();
    let nginx = ModernNginx::start(&pki);
    // Its plain-HTTP twin redirects to HTTPS, as it should.
    let redirect_port = nginx.redirect_port.to_string();
    let findings = scan_transport_with(
        &format!("https://127.0.0.1:{}/", nginx.tls_port),
        &["--http-port", &redirect_port],
    );
    assert!(findings.is_empty(), "{}", summary(&findings));
    // Scanned by its http:// address, the redirect is not "served over HTTP".
    let findings = scan_transport(&format!("http://127.0.0.1:{}/", nginx.redirect_port));
    assert!(findings.is_empty(), "{}", summary(&findings));
}

#[test]
fn https_api_whose_host_also_serves_plain_http_is_reported() {
    let pki = TestPki::new();
    let nginx = ModernNginx::start(&pki);
    let serving_port = nginx.serving_port.to_string();
    let findings = scan_transport_with(
        &format!("https://127.0.0.1:{}/", nginx.tls_port),
        &["--http-port", &serving_port],
    );
    let twin: Vec<_> = findings
        .iter()
        .filter(|f| f.check == "transport.plain-http")
        .collect();
    assert_eq!(twin.len(), 1, "{}", summary(&findings));
    assert_eq!(twin[0].head.title, "HTTPS API also answers over plain HTTP");
    let description = &twin[0].head.description;
    assert!(description.contains("same content"), "{description}");
    // Loopback: worth knowing, not an alarm.
    assert_eq!(twin[0].head.severity.as_str(), "info");
    let evidence = &twin[0].evidence;
    assert_eq!(evidence.len(), 2);
    let plain_request = &evidence[1].request;
    assert!(
        plain_request
            .url
            .starts_with(&format!("http://127.0.0.1:{serving_port}/")),
        "{plain_request:?}"
    );
    assert_eq!(findings.len(), 1, "{}", summary(&findings));
}

#[test]
fn plain_http_on_loopback_is_reported_as_information() {
    let pki = TestPki::new();
    let nginx = ModernNginx::start(&pki);
    let findings = scan_transport(&format!("http://127.0.0.1:{}/", nginx.serving_port));
    let plain: Vec<_> = findings
        .iter()
        .filter(|f| f.check == "transport.plain-http")
        .collect();
    assert_eq!(plain.len(), 1, "{}", summary(&findings));
    assert_eq!(plain[0].head.severity.as_str(), "info");
    // Nothing TLS-related can be said about a plain-HTTP target.
    assert_eq!(findings.len(), 1, "{}", summary(&findings));
}
