//! The machine-readable report (`--format json`), schema `rampart.report/1`,
//! written and read back.

use super::Report;

pub fn render(report: &Report) -> String {
    // Serialising plain data cannot fail; fall back to an empty object to keep
    // the promise of never panicking anyway.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}

/// Writes what [`render`] returns to `out` as it is serialised, without
/// holding the whole text first: the JSON of a report with thousands of
/// findings runs to tens of megabytes.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// Reads a report that [`render`] wrote (for `rampart explain --report` and
/// for tests). Fails on anything else, including another schema version.
pub fn parse(text: &str) -> Result<Report, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::discover::EndpointSource;
    use crate::engine::{PaceMode, PacingReport};
    use crate::finding::{
        Category, Confidence, Evidence, EvidenceRequest, EvidenceResponse, Finding, FindingHead,
        Remediation, Severity,
    };
    use crate::report::{
        Change, CheckCoverage, Grade, Incomplete, IncompleteReason, ReportEndpoint, Skipped,
        Warning, SCHEMA,
    };
    use crate::stack::{Clue, Stack};

    fn evidence(identity: Option<&str>, status: u16) -> Evidence {
        Evidence {
            step: format!("step answered {status}"),
            request: EvidenceRequest {
                method: "GET".into(),
                url: "http://127.0.0.1:8080/api/users/1?rampart_cb=7".into(),
                headers: BTreeMap::from([("X-API-Key".into(), "[redacted]".into())]),
                identity: identity.map(String::from),
            },
            response: EvidenceResponse {
                status,
                headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
                body_excerpt: "{\"ssn\":\"[redacted SSN]\"}".into(),
            },
        }
    }

    /// Every optional part present in one finding and absent in the other,
    /// and a stack with and without the fields the writer leaves out.
    fn report(stack: Stack) -> Report {
        let full = Finding {
            id: "RMP-0123456789ab".into(),
            check: "authz.bola".into(),
            category: Category::Bola,
            head: FindingHead {
                severity: Severity::High,
                confidence: Confidence::Confirmed,
                title: "bob reads alice's user".into(),
                description: "The object is returned to another identity.\nSecond line.".into(),
                method: "GET".into(),
                path: "/api/users/{user_id}".into(),
                url: "http://127.0.0.1:8080/api/users/1".into(),
                parameter: Some("user_id".into()),
            },
            evidence: vec![evidence(Some("alice"), 200), evidence(None, 200)],
            reproduce: vec!["curl -s 'http://127.0.0.1:8080/api/users/1'".into()],
            remediation: Some(Remediation {
                stack: "flask+dynamodb".into(),
                summary: "Scope every read to the caller.".into(),
                details_markdown: "```python\nabort(404)\n```".into(),
            }),
            references: vec!["https://owasp.org/API-Security/".into()],
            seen_at: vec!["GET /api/users/{user_id}".into(), "GET /api/me".into()],
            seen_count: 2,
        };
        let bare = Finding {
            id: "RMP-ba9876543210".into(),
            check: "transport.hsts".into(),
            category: Category::Cryptography,
            head: FindingHead {
                severity: Severity::Info,
                confidence: Confidence::Tentative,
                parameter: None,
                ..full.head.clone()
            },
            evidence: Vec::new(),
            reproduce: Vec::new(),
            remediation: None,
            references: Vec::new(),
            seen_at: Vec::new(),
            seen_count: 0,
        };
        // Every field the sample leaves empty or default, filled.
        Report {
            duration_ms: 987,
            requests_sent: 12,
            stack,
            score: 85,
            grade: Grade::Incomplete,
            complete: false,
            incomplete_reasons: vec![Incomplete {
                reason: IncompleteReason::Throttled,
                detail: "3 probe(s) were still throttled after pausing and retrying".into(),
            }],
            pacing: PacingReport {
                mode: Some(PaceMode::Adaptive),
                ceiling_per_second: Some(100.0),
                effective_per_second: 12.2,
                throttled_responses: 9,
                pauses: 2,
                paused_ms: 3000,
                slowdowns: 3,
                gave_up: false,
            },
            endpoints: vec![ReportEndpoint {
                method: "GET".into(),
                path: "/api/users/{user_id}".into(),
                source: EndpointSource::Crawl,
            }],
            findings: vec![full, bare],
            coverage: vec![CheckCoverage {
                check: "authz.bola".into(),
                probed: 3,
                skipped: vec![Skipped {
                    endpoint: "GET /reset".into(),
                    reason: "looks state-changing (reset)".into(),
                }],
            }],
            changes: vec![Change {
                request: "PATCH /api/users/{user_id}".into(),
                what: "role set on alice's record and restored".into(),
                restored: true,
            }],
            warnings: vec![Warning {
                message: "The API's data changed while Rampart was scanning".into(),
                endpoints: vec!["GET /api/createdb".into()],
            }],
            ..crate::report::tests::sample_report()
        }
    }

    #[test]
    fn a_rendered_report_reads_back_equal() {
        let fingerprinted = Stack {
            framework: Some("flask".into()),
            server: None,
            technologies: vec!["dynamodb".into(), "api-keys".into()],
            evidence: vec![Clue {
                part: "flask".into(),
                confidence: Confidence::Firm,
                seen: "'werkzeug' seen in GET / (server)".into(),
            }],
            forced: false,
        };
        for stack in [fingerprinted, Stack::default(), Stack::forced("nginx")] {
            let written = report(stack);
            let text = render(&written);
            let read = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(read, written);
            // And what is read renders to the very same bytes.
            assert_eq!(render(&read), text);
        }
    }

    #[test]
    fn a_report_written_before_coverage_and_changes_existed_reads_with_none() {
        let text = render(&report(Stack::default()));
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json.as_object_mut().unwrap().remove("coverage");
        json.as_object_mut().unwrap().remove("changes");
        json.as_object_mut().unwrap().remove("warnings");
        let read = parse(&json.to_string()).unwrap();
        assert!(read.coverage.is_empty() && read.changes.is_empty());
    }

    #[test]
    fn a_report_of_another_schema_is_refused() {
        let text = render(&report(Stack::default())).replace(SCHEMA, "rampart.report/2");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("rampart.report/2"), "{error}");
        assert!(parse("{\"findings\": []}").is_err());
    }
}
