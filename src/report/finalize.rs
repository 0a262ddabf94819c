//! Drafts become findings: stable ids, de-duplication (the first draft of
//! an id wins), redacted evidence, `curl` lines that reproduce each step,
//! remediation for the detected stack, and the in-transit severity step.
//! Redaction happens here, once, so no check can forget it.

use std::collections::HashSet;
use std::time::Duration;

use url::Url;

use super::{
    score, CheckCoverage, Report, ReportEndpoint, ReportError, Skipped, Tool, Warning, SCHEMA,
};
use crate::checks::coverage;
use crate::checks::runner::{Drafts, Failure};
use crate::checks::CheckMeta;
use crate::discover::Endpoint;
use crate::engine::scope::is_loopback;
use crate::engine::{Change, Exchange, Redactor};
use crate::finding::{
    stable_id, Category, Evidence, EvidenceRequest, EvidenceResponse, Finding, FindingDraft,
    Remediation, Severity,
};
use crate::knowledge;
use crate::stack::Stack;

/// How a scan ended, before its findings are finalised.
pub struct Finished<'a> {
    pub target: &'a Url,
    /// When the scan started (RFC 3339, seconds).
    pub started_at: String,
    pub duration: Duration,
    pub requests_sent: u64,
    pub stack: Stack,
    pub endpoints: &'a [Endpoint],
    pub drafts: Drafts,
    /// What each check probed and skipped.
    pub coverage: Vec<coverage::CheckCoverage>,
    /// The state changes the scan made.
    pub changes: Vec<Change>,
    /// What the user must know about the scan as a whole.
    pub warnings: Vec<Warning>,
    /// What could not be probed, in the order it happened.
    pub errors: Vec<ReportError>,
    /// Redacts what the scan's inputs and the target's answers hold secret.
    pub redactor: &'a Redactor,
}

/// The report of a finished scan: its findings finalised, scored and graded,
/// its errors de-duplicated and redacted.
pub fn report(scan: Finished<'_>) -> Report {
    let findings = findings(scan.drafts, scan.redactor, &scan.stack);
    let score = score::score(&findings);
    Report {
        schema: SCHEMA,
        tool: Tool::default(),
        target: scan.target.to_string(),
        started_at: scan.started_at,
        duration_ms: u64::try_from(scan.duration.as_millis()).unwrap_or(u64::MAX),
        requests_sent: scan.requests_sent,
        stack: scan.stack,
        score,
        grade: score::grade(score),
        endpoints: scan
            .endpoints
            .iter()
            .map(|e| ReportEndpoint {
                method: e.method.clone(),
                path: e.path.clone(),
                source: e.source,
            })
            .collect(),
        findings,
        coverage: coverage(scan.coverage, scan.redactor),
        changes: scan
            .changes
            .into_iter()
            .map(|change| Change {
                request: scan.redactor.redact_text(&change.request),
                what: scan.redactor.redact_text(&change.what),
                restored: change.restored,
            })
            .collect(),
        warnings: scan
            .warnings
            .into_iter()
            .map(|w| Warning {
                message: scan.redactor.redact_text(&w.message),
                endpoints: w
                    .endpoints
                    .iter()
                    .map(|e| scan.redactor.redact_text(e))
                    .collect(),
            })
            .collect(),
        errors: errors(scan.errors, scan.redactor),
        baseline: None,
        suppressed: Vec::new(),
        suppression_notices: Vec::new(),
    }
}

/// Each check's coverage, its reasons redacted (a failure's message may
/// quote what the target sent).
pub fn coverage(checks: Vec<coverage::CheckCoverage>, redactor: &Redactor) -> Vec<CheckCoverage> {
    checks
        .into_iter()
        .map(|c| CheckCoverage {
            check: c.check.id.to_string(),
            probed: c.probed,
            skipped: c
                .skipped
                .into_iter()
                .map(|(endpoint, skip)| Skipped {
                    endpoint: redactor.redact_text(&endpoint),
                    reason: redactor.redact_text(&skip.to_string()),
                })
                .collect(),
        })
        .collect()
}

/// What could not be probed, each once, redacted.
pub fn errors(mut errors: Vec<ReportError>, redactor: &Redactor) -> Vec<ReportError> {
    let mut seen = HashSet::new();
    errors.retain(|e| seen.insert((e.endpoint.clone(), e.message.clone())));
    for error in &mut errors {
        error.message = redactor.redact_text(&error.message);
    }
    errors
}

impl From<Failure> for ReportError {
    fn from(failure: Failure) -> Self {
        ReportError {
            endpoint: failure.place,
            message: format!("{}: {}", failure.check.id, failure.error),
        }
    }
}

/// Drafts become findings: stable ids, de-duplication, redacted evidence,
/// reproduction lines and remediation. Of the drafts of one id the most
/// certain wins, then the worst, then the one whose evidence reads first:
/// never the one that happened to finish first, so the report does not
/// depend on the scan's speed.
pub fn findings(drafts: Drafts, redactor: &Redactor, stack: &Stack) -> Vec<Finding> {
    let mut drafts: Vec<(String, &'static CheckMeta, FindingDraft)> = drafts
        .into_iter()
        .map(|(check, draft)| {
            let id = stable_id(check.id, &draft.method, &draft.path, &draft.key);
            (id, check, draft)
        })
        .collect();
    drafts.sort_by(|(a_id, _, a), (b_id, _, b)| {
        a_id.cmp(b_id)
            .then_with(|| b.confidence.cmp(&a.confidence))
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| evidence_order(a).cmp(&evidence_order(b)))
    });
    let mut seen = HashSet::new();
    let mut findings: Vec<Finding> = drafts
        .into_iter()
        .filter_map(|(id, check, draft)| {
            seen.insert(id.clone())
                .then(|| finalize(id, check, draft, redactor, stack))
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.confidence.cmp(&a.confidence))
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.id.cmp(&b.id))
    });
    findings
}

/// What orders two drafts of one finding that are equally certain and bad:
/// their evidence steps and who sent each (not the URLs, whose cache
/// busters differ from run to run).
fn evidence_order(draft: &FindingDraft) -> Vec<(String, String, u16)> {
    draft
        .evidence
        .iter()
        .map(|step| {
            (
                step.step.clone(),
                step.exchange.request.identity.clone().unwrap_or_default(),
                step.exchange.response.status,
            )
        })
        .collect()
}

/// Exposed data that also crossed a network unencrypted was exposed twice:
/// to the caller and to everyone on the path. Loopback traffic never leaves
/// the machine, so a local development target keeps its severity.
fn in_transit_severity(
    category: Category,
    url: &str,
    severity: Severity,
) -> (Severity, Option<&'static str>) {
    let over_network_in_clear =
        Url::parse(url).is_ok_and(|u| u.scheme() == "http" && !is_loopback(&u));
    if category == Category::DataExposure && over_network_in_clear && severity.raised() != severity
    {
        (
            severity.raised(),
            Some("Severity raised one step: the response travelled over plain HTTP."),
        )
    } else {
        (severity, None)
    }
}

fn finalize(
    id: String,
    check: &'static CheckMeta,
    draft: FindingDraft,
    redactor: &Redactor,
    stack: &Stack,
) -> Finding {
    let entry = knowledge::entry(check.id);
    let remediation = entry.map(|entry| {
        let variant = entry.best_variant(&with_hints(stack, &draft.stack_hints));
        Remediation {
            stack: variant.stack.clone(),
            summary: variant.summary.clone(),
            details_markdown: variant.remediation.clone(),
        }
    });
    let category = check.category;
    let (severity, transit_note) = in_transit_severity(category, &draft.url, draft.severity);
    let description = match transit_note {
        Some(note) => format!("{} {note}", draft.description),
        None => draft.description.clone(),
    };
    Finding {
        id,
        check: check.id.to_string(),
        category,
        severity,
        confidence: draft.confidence,
        title: redactor.redact_text(&draft.title),
        description: redactor.redact_text(&description),
        method: draft.method,
        path: redactor.redact_text(&draft.path),
        url: redactor.redact_text(&draft.url),
        parameter: draft.parameter.map(|p| redactor.redact_text(&p)),
        reproduce: draft
            .evidence
            .iter()
            .map(|step| curl_line(&step.exchange, redactor))
            .collect(),
        evidence: draft
            .evidence
            .iter()
            .map(|step| evidence(&step.step, &step.exchange, step.focus.clone(), redactor))
            .collect(),
        remediation,
        references: entry.map(|e| e.references.clone()).unwrap_or_default(),
    }
}

/// The scan's stack plus what one finding's check recognised itself.
fn with_hints(stack: &Stack, hints: &[String]) -> Stack {
    let mut stack = stack.clone();
    for hint in hints {
        if !stack.technologies.contains(hint) {
            stack.technologies.push(hint.clone());
        }
    }
    stack
}

const EXCERPT_CONTEXT: usize = 240;

fn evidence(
    step: &str,
    exchange: &Exchange,
    focus: Option<std::ops::Range<usize>>,
    redactor: &Redactor,
) -> Evidence {
    let body = exchange.body_text();
    let (start, end) = match focus {
        Some(range) => (
            range.start.saturating_sub(EXCERPT_CONTEXT),
            range.end.saturating_add(EXCERPT_CONTEXT).min(body.len()),
        ),
        None => (0, body.len().min(2 * EXCERPT_CONTEXT)),
    };
    let start = floor_char_boundary(body, start.min(body.len()));
    let end = floor_char_boundary(body, end.max(start));
    let mut excerpt = String::new();
    if start > 0 {
        excerpt.push('…');
    }
    excerpt.push_str(&redactor.redact_excerpt(body, exchange.body_json(), start..end));
    if end < body.len() {
        excerpt.push('…');
    }
    Evidence {
        step: step.to_string(),
        request: EvidenceRequest {
            method: exchange.request.method.clone(),
            url: redactor.redact_text(&exchange.request.url),
            // The user's credentials carry the label of the reproduce lines
            // (`<alice X-API-Key>`), so evidence and reproduce lines name an
            // identity the same way; any other credential is `[redacted]`.
            headers: exchange
                .request
                .headers
                .iter()
                .map(|(n, v)| {
                    let named = redactor.placeholders(v);
                    let shown = if named != v.as_str() {
                        redactor.redact_text(&named)
                    } else {
                        redactor.redact_header(n, v)
                    };
                    (n.clone(), shown)
                })
                .collect(),
            identity: exchange.request.identity.clone(),
        },
        response: EvidenceResponse {
            status: exchange.response.status,
            headers: exchange
                .response
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), redactor.redact_header(n, v)))
                .collect(),
            body_excerpt: excerpt,
        },
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// A `curl` line that repeats the request, credentials as placeholders.
pub fn curl_line(exchange: &Exchange, redactor: &Redactor) -> String {
    let mut parts = vec!["curl -s".to_string()];
    if exchange.request.method != "GET" {
        parts.push(format!("-X {}", exchange.request.method));
    }
    parts.push(shell_quote(&redactor.placeholders(&exchange.request.url)));
    for (name, value) in &exchange.request.headers {
        parts.push(format!(
            "-H {}",
            shell_quote(&format!(
                "{name}: {}",
                redactor.placeholder_header(name, value)
            ))
        ));
    }
    if let Some(body) = &exchange.request.body {
        let text = String::from_utf8_lossy(body);
        parts.push(format!(
            "--data-binary {}",
            shell_quote(&redactor.placeholders(&text))
        ));
    }
    parts.join(" ")
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineError;
    use crate::identity::Identity;

    #[test]
    fn failures_become_errors_once_each_and_redacted() {
        let redactor = Redactor::for_inputs(
            &[Identity {
                name: "alice".into(),
                headers: vec![("X-API-Key".into(), "ak_alice_secret_42".into())],
            }],
            &[],
        );
        let failure = Failure {
            check: crate::checks::find("authz.bola").expect("registered"),
            place: "GET /api/orders/{id}".into(),
            error: EngineError::Http("echoed ak_alice_secret_42".into()),
        };
        let error = ReportError::from(failure);
        let reported = errors(vec![error.clone(), error], &redactor);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].endpoint, "GET /api/orders/{id}");
        assert_eq!(
            reported[0].message,
            "authz.bola: HTTP error: echoed [redacted]"
        );
    }

    #[test]
    fn of_one_findings_drafts_the_most_certain_wins_whatever_the_order() {
        use crate::checks::probe::fixtures::exchange;
        use crate::finding::Confidence;
        let check = crate::checks::find("exposure.pii").expect("registered");
        let url = "http://127.0.0.1:9/api/users?rampart_cb=1";
        let draft = |who: Option<&str>, severity, confidence| {
            let seen = exchange(url, who, 200, &[], "{}");
            FindingDraft::at_exchange(&seen, severity, confidence)
                .key("email")
                .evidence("seen", &seen, None)
        };
        let weak = draft(Some("bob"), Severity::Low, Confidence::Firm);
        let strong = draft(Some("alice"), Severity::Medium, Confidence::Confirmed);
        let tie = draft(None, Severity::Medium, Confidence::Confirmed);
        let redactor = Redactor::default();
        let stack = Stack::default();
        let mut winners = Vec::new();
        for order in [
            vec![weak.clone(), strong.clone(), tie.clone()],
            vec![tie.clone(), weak.clone(), strong.clone()],
            vec![strong, tie, weak],
        ] {
            let drafts = order.into_iter().map(|d| (check, d)).collect();
            let found = findings(drafts, &redactor, &stack);
            assert_eq!(found.len(), 1);
            winners.push((
                found[0].severity,
                found[0].confidence,
                found[0].evidence[0].request.identity.clone(),
            ));
        }
        assert!(winners.windows(2).all(|w| w[0] == w[1]), "{winners:?}");
        assert_eq!(winners[0].1, Confidence::Confirmed);
    }

    #[test]
    fn data_exposed_over_plain_http_off_the_machine_is_one_step_worse() {
        let raised = in_transit_severity(
            Category::DataExposure,
            "http://api.example.com/u/1",
            Severity::High,
        );
        assert_eq!(raised.0, Severity::Critical);
        assert!(raised.1.is_some());
        for (category, url) in [
            (Category::DataExposure, "https://api.example.com/u/1"),
            (Category::DataExposure, "http://127.0.0.1:5000/u/1"),
            (Category::DataExposure, "http://localhost/u/1"),
            (Category::Bola, "http://api.example.com/u/1"),
        ] {
            assert_eq!(
                in_transit_severity(category, url, Severity::High),
                (Severity::High, None),
                "{url}"
            );
        }
        assert_eq!(
            in_transit_severity(
                Category::DataExposure,
                "http://api.example.com/",
                Severity::Critical
            ),
            (Severity::Critical, None)
        );
    }
}
