//! Snapshots of the renderers on a fixed report: any change to what users
//! or CI pipelines read shows up as a reviewed diff.

use std::sync::Arc;
use std::time::Duration;

use rampart::checks::{self, coverage::Tally, Skip};
use rampart::discover::EndpointSource;
use rampart::engine::{
    Exchange, PaceMode, PacingReport, RecordedRequest, RecordedResponse, Redactor,
};
use rampart::finding::{Confidence, FindingDraft, Severity};
use rampart::identity::Identity;
use rampart::report::{
    self, finalize, score, Change, Format, Report, ReportEndpoint, ReportError, Tool, SCHEMA,
};
use rampart::stack::Stack;

fn exchange(identity: Option<&str>, url: &str, status: u16, body: &str) -> Arc<Exchange> {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if identity == Some("alice") {
        headers.push(("X-API-Key".into(), "ak_alice_snapshot_secret".into()));
    }
    Arc::new(Exchange::new(
        RecordedRequest {
            method: "GET".into(),
            url: url.into(),
            headers,
            body: None,
            identity: identity.map(String::from),
        },
        RecordedResponse {
            status,
            http_version: "HTTP/1.1",
            headers: [("content-type", "application/json"), ("x-cache", "HIT")]
                .into_iter()
                .collect(),
            body: body.to_string().into(),
            truncated: false,
        },
        Duration::from_millis(3),
        Some("/api/account".into()),
    ))
}

fn check(id: &str) -> &'static checks::CheckMeta {
    checks::find(id).expect("a registered check")
}

fn fixed_report() -> Report {
    let identities = vec![Identity {
        name: "alice".into(),
        headers: vec![("X-API-Key".into(), "ak_alice_snapshot_secret".into())],
    }];
    let redactor = Redactor::for_inputs(&identities, &[]);
    let primed = exchange(
        Some("alice"),
        "http://127.0.0.1:8080/api/account?rampart_cb=1",
        200,
        r#"{"user":"alice","ssn":"536-22-4187"}"#,
    );
    let served = exchange(
        None,
        "http://127.0.0.1:8080/api/account?rampart_cb=1",
        200,
        r#"{"user":"alice","ssn":"536-22-4187"}"#,
    );
    let drafts = vec![
        (
            check("cache.identity-unkeyed"),
            FindingDraft::at_exchange(&served, Severity::High, Confidence::Confirmed)
                .title("Response cached without the caller's identity: alice's data served to anonymous")
                .description("The cache key does not include the credential.")
                .key("cross-identity")
                .evidence("alice fetches a fresh URL", &primed, None)
                .evidence("anonymous fetches the same URL", &served, None),
        ),
        (
            check("exposure.pii"),
            FindingDraft::at_exchange(&primed, Severity::High, Confidence::Firm)
                .title("US Social Security number returned in clear")
                .description("The response contains 1 Social Security number(s).")
                .key("ssn")
                .evidence("Response returned the data in clear", &primed, Some(20..31)),
        ),
    ];
    let stack = Stack::forced("flask+dynamodb");
    let findings = finalize::findings(drafts, &redactor, &stack);
    let mut tally = Tally::default();
    tally.probed(check("cache.identity-unkeyed"), "GET /api/account");
    tally.skipped(check("authz.bola"), "all endpoints", Skip::NoSecondIdentity);
    tally.skipped(
        check("exposure.pii"),
        "GET /api/reset",
        Skip::LooksStateChanging("reset".into()),
    );
    let score = score::score(&findings);
    Report {
        schema: SCHEMA,
        tool: Tool {
            name: "rampart".into(),
            version: "0.1.0".into(),
        },
        target: "http://127.0.0.1:8080/".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_ms: 1234,
        requests_sent: 42,
        stack,
        score,
        grade: score::grade(score),
        complete: true,
        incomplete_reasons: Vec::new(),
        pacing: PacingReport {
            mode: Some(PaceMode::Adaptive),
            ceiling_per_second: None,
            effective_per_second: 34.0,
            ..PacingReport::default()
        },
        endpoints: vec![ReportEndpoint {
            method: "GET".into(),
            path: "/api/account".into(),
            source: EndpointSource::Spec,
        }],
        findings,
        coverage: finalize::coverage(tally.finish(), &redactor),
        changes: vec![Change {
            request: "PATCH /api/account".into(),
            what: "display_name set on alice's record".into(),
            restored: true,
        }],
        warnings: Vec::new(),
        errors: vec![ReportError {
            endpoint: "GET /api/slow".into(),
            message: "timeout after 10 s".into(),
        }],
        baseline: None,
        suppressed: Vec::new(),
        suppression_notices: Vec::new(),
    }
}

#[test]
fn text_report() {
    let text = report::render(&fixed_report(), Format::Text, false);
    assert!(!text.contains("ak_alice_snapshot_secret") && !text.contains("536-22-4187"));
    insta::assert_snapshot!(text);
}

#[test]
fn json_report() {
    let json = report::render(&fixed_report(), Format::Json, false);
    assert!(!json.contains("ak_alice_snapshot_secret") && !json.contains("536-22-4187"));
    insta::assert_snapshot!(json);
}

#[test]
fn sarif_report() {
    let sarif = report::render(&fixed_report(), Format::Sarif, false);
    assert!(!sarif.contains("ak_alice_snapshot_secret") && !sarif.contains("536-22-4187"));
    // The rules' help text is the knowledge base's, snapshotted elsewhere:
    // keep the results and the run's frame.
    let mut log: serde_json::Value = serde_json::from_str(&sarif).expect("JSON");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .expect("rules");
    assert_eq!(rules.len(), checks::all().count());
    rules.retain(|r| r["id"] == "cache.identity-unkeyed");
    rules[0]["help"] = serde_json::json!("(from the knowledge base)");
    insta::assert_snapshot!(serde_json::to_string_pretty(&log).expect("JSON"));
}

#[test]
fn junit_report() {
    let xml = report::render(&fixed_report(), Format::Junit, false);
    insta::assert_snapshot!(xml);
}

#[test]
fn markdown_report() {
    let markdown = report::render(&fixed_report(), Format::Markdown, false);
    insta::assert_snapshot!(markdown);
}

#[test]
fn json_report_reads_back_as_the_report_that_was_written() {
    let written = fixed_report();
    let json = report::render(&written, Format::Json, false);
    let read = report::json::parse(&json).expect("the JSON report parses");
    assert_eq!(read, written);
}
