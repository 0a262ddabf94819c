//! Snapshots of both renderers on a fixed report: any change to what users
//! or CI pipelines read shows up as a reviewed diff.

use std::sync::Arc;
use std::time::Duration;

use rampart::checks::{self, coverage::Tally, Skip};
use rampart::discover::EndpointSource;
use rampart::engine::{Exchange, RecordedRequest, RecordedResponse, Redactor};
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
            http_version: "HTTP/1.1".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-cache".into(), "HIT".into()),
            ],
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
        errors: vec![ReportError {
            endpoint: "GET /api/slow".into(),
            message: "timeout after 10 s".into(),
        }],
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
fn json_report_reads_back_as_the_report_that_was_written() {
    let written = fixed_report();
    let json = report::render(&written, Format::Json, false);
    let read = report::json::parse(&json).expect("the JSON report parses");
    assert_eq!(read, written);
}
