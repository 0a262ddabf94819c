//! The outside contract of the binary: exit statuses, one-line errors, and
//! no supplied credential in any output.

mod support;

use std::process::Output;

use rampart::lab;
use support::{free_port, rampart};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_one_line_error(output: &Output) {
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(output));
    let text = stderr(output);
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "expected one line, got: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

/// Runs the lab in a background runtime for the duration of a test.
struct Lab {
    runtime: tokio::runtime::Runtime,
    server: Option<lab::LabServer>,
}

impl Lab {
    fn start() -> Lab {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(lab::start()).unwrap();
        Lab {
            runtime,
            server: Some(server),
        }
    }

    fn url(&self) -> String {
        self.server.as_ref().unwrap().base_url().to_string()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

#[test]
fn an_unreachable_target_exits_2_with_one_line() {
    let port = free_port();
    let output = rampart(&["scan", &format!("http://127.0.0.1:{port}/")]);
    assert_one_line_error(&output);
    assert!(stderr(&output).contains("cannot reach"));
}

#[test]
fn a_tls_failure_exits_2_with_one_line() {
    // A plain-HTTP server behind an https:// URL fails the TLS handshake.
    let lab = Lab::start();
    let https = lab.url().replace("http://", "https://");
    let output = rampart(&["scan", &https, "--timeout", "5"]);
    assert_one_line_error(&output);
    assert!(
        stderr(&output).to_lowercase().contains("tls"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_malformed_spec_exits_2_with_one_line() {
    let lab = Lab::start();
    let spec = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(spec.path(), "{ this is: not [ a spec").unwrap();
    let output = rampart(&["scan", &lab.url(), "--spec", spec.path().to_str().unwrap()]);
    assert_one_line_error(&output);
    assert!(stderr(&output).contains("spec"), "{}", stderr(&output));

    let not_api = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_api.path(), "{\"hello\": \"world\"}").unwrap();
    let output = rampart(&[
        "scan",
        &lab.url(),
        "--spec",
        not_api.path().to_str().unwrap(),
    ]);
    assert_one_line_error(&output);
}

#[test]
fn bad_flags_exit_2() {
    assert_eq!(rampart(&["scan"]).status.code(), Some(2));
    assert_eq!(
        rampart(&["scan", "http://127.0.0.1:9", "--rate", "fast"])
            .status
            .code(),
        Some(2)
    );
    assert_one_line_error(&rampart(&["scan", "ftp://127.0.0.1/"]));
    assert_one_line_error(&rampart(&["scan", "http://127.0.0.1:9", "--timeout=-1"]));
    assert_one_line_error(&rampart(&[
        "scan",
        "http://127.0.0.1:9",
        "--identity",
        "alice",
        "no colon here",
    ]));
}

#[test]
fn supplied_credentials_never_appear_in_any_output() {
    let lab = Lab::start();
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("report.json");
    let alice = format!("X-API-Key: {}", lab::ALICE_KEY);
    let bob = format!("X-API-Key: {}", lab::BOB_KEY);
    let tenant_secret = "Authorization: Bearer tenant-secret-token-9931";
    let output = rampart(&[
        "scan",
        &lab.url(),
        "-v",
        "--identity",
        "alice",
        &alice,
        "--identity",
        "bob",
        &bob,
        "--header",
        tenant_secret,
        "-o",
        &format!("json={}", json_path.display()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = std::fs::read_to_string(&json_path).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = stderr(&output);
    for secret in [lab::ALICE_KEY, lab::BOB_KEY, "tenant-secret-token-9931"] {
        for (name, text) in [
            ("stdout", &*stdout),
            ("stderr", &*stderr),
            ("json", &*written),
        ] {
            assert!(!text.contains(secret), "{secret} leaked into {name}");
        }
    }
    let report = rampart::report::json::parse(&written).unwrap();
    assert_eq!(report.schema, "rampart.report/1");
    // The credential shows up as a placeholder in reproduction lines.
    assert!(written.contains("<alice X-API-Key>") || written.contains("<bob X-API-Key>"));
}

#[test]
fn checks_lists_every_registered_check() {
    let output = rampart(&["checks"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for check in rampart::checks::all() {
        assert!(text.contains(check.id), "{} missing", check.id);
    }
}

#[test]
fn explain_prints_the_requested_stack_variant() {
    let output = rampart(&["explain", "exposure.debug-page", "--stack", "flask"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("## Fix (flask)"), "{text}");
    assert_one_line_error(&rampart(&["explain", "no.such-check"]));
}

#[test]
fn explain_reads_a_finding_from_a_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.json");
    let output = rampart(&["demo", "-q", "-o", &format!("json={}", path.display())]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = std::fs::read_to_string(&path).unwrap();
    let report = rampart::report::json::parse(&text).unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.check == "exposure.debug-page")
        .expect("the demo reports a debug page");
    let stack = &finding.remediation.as_ref().expect("a remediation").stack;

    let output = rampart(&[
        "explain",
        &finding.id,
        "--report",
        &path.display().to_string(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = String::from_utf8_lossy(&output.stdout);
    let first = format!(
        "{} — {} {}",
        finding.id, finding.head.method, finding.head.path
    );
    assert_eq!(shown.lines().next(), Some(first.as_str()), "{shown}");
    assert!(shown.contains(&finding.head.title), "{shown}");
    assert!(shown.contains(&format!("## Fix ({stack})")), "{shown}");

    // An id the report does not hold, and a file that is not a report.
    let missing = rampart(&[
        "explain",
        "RMP-000000000000",
        "--report",
        &path.display().to_string(),
    ]);
    assert_one_line_error(&missing);
    assert!(stderr(&missing).contains("no finding RMP-000000000000"));
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"findings\": []}").unwrap();
    let output = rampart(&[
        "explain",
        &finding.id,
        "--report",
        &other.display().to_string(),
    ]);
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("not a Rampart JSON report"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn demo_reports_every_planted_exposure_and_fail_on_sets_status_1() {
    let output = rampart(&["demo", "--format", "json", "--fail-on", "high"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = rampart::report::json::parse(&String::from_utf8_lossy(&output.stdout)).unwrap();
    let has = |check: &str, path: &str| {
        report
            .findings
            .iter()
            .any(|f| f.check == check && f.head.path == path)
    };
    assert!(has("exposure.secrets", "/api/config"));
    assert!(has("exposure.pii", "/api/users/{user_id}"));
    assert!(has("exposure.pii", "/api/payments/{payment_id}"));
    assert!(has("exposure.pii", "/api/users"));
    assert!(has("exposure.password-hashes", "/api/users"));
    assert!(has("exposure.debug-page", "/api/orders/{order_id}"));
    assert!(has("exposure.debug-page", "/api/search"));
    assert!(has("exposure.plaintext-fields", "/api/users/{user_id}"));
    assert!(has("transport.credentials-in-url", "/api/sso/callback"));
    assert!(has("injection.nosql", "/api/purchases"));
    assert!(has("injection.template", "/api/greeting"));
    assert!(has("transport.insecure-links", "/api/status"));
    assert!(has("transport.cookie-flags", "/api/session"));
    assert!(has("transport.plain-http", "/"));
    // The token the lab's callback put in its redirect is masked everywhere.
    assert!(!String::from_utf8_lossy(&output.stdout).contains("lab-access-7f3c9a1e5b"));
    assert_eq!(report.stack.framework.as_deref(), Some("flask"));
}
