//! Drafts become findings: stable ids, de-duplication (the first draft of
//! an id wins), redacted evidence, `curl` lines that reproduce each step,
//! remediation for the detected stack, and the in-transit severity step.
//! Redaction happens here, once, so no check can forget it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::{
    score, CheckCoverage, Grade, Incomplete, Report, ReportEndpoint, ReportError, Skipped, Tool,
    Warning, SCHEMA,
};
use crate::checks::coverage;
use crate::checks::runner::{Drafts, Failure};
use crate::checks::CheckMeta;
use crate::discover::Endpoint;
use crate::engine::exchange::Cut;
use crate::engine::redact::{apply_masks, mask_spans};
use crate::engine::scope::is_loopback;
use crate::engine::{Change, Exchange, PacingReport, Redactor};
use crate::finding::{
    draft_id, Category, Evidence, EvidenceRequest, EvidenceResponse, EvidenceStep, Finding,
    FindingDraft, FindingHead, Remediation, Severity, MAX_SEEN_AT,
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
    /// What cut the scan's coverage short; empty when nothing did.
    pub incomplete: Vec<Incomplete>,
    pub pacing: PacingReport,
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
        grade: if scan.incomplete.is_empty() {
            score::grade(score)
        } else {
            Grade::Incomplete
        },
        complete: scan.incomplete.is_empty(),
        incomplete_reasons: scan.incomplete,
        pacing: scan.pacing,
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

/// Drafts as checks report them, kept ready for finalisation while the scan
/// runs: one per stable id (the one [`findings`] would pick), a site-wide
/// draft merged with the others of its id into one that lists where each
/// was seen, and each kept draft's evidence cut to the excerpt the report
/// will show. What a scan holds for its findings is then bounded by the
/// number of distinct findings, not by how often each recurs or how large
/// the bodies behind them were.
///
/// `T` is what the caller keeps with each draft (the runner: where it came
/// from, to confirm it); it follows the draft that stands for the finding.
#[derive(Debug)]
pub struct Collector<T = ()> {
    drafts: Vec<(&'static CheckMeta, FindingDraft, T)>,
    index: HashMap<String, usize>,
    /// Every place each site-wide draft (by index) was seen at, to count
    /// each endpoint once however often its answers show the cause.
    places: HashMap<usize, HashSet<String>>,
}

impl<T> Default for Collector<T> {
    fn default() -> Self {
        Collector {
            drafts: Vec::new(),
            index: HashMap::new(),
            places: HashMap::new(),
        }
    }
}

impl Collector {
    pub fn add(&mut self, check: &'static CheckMeta, draft: FindingDraft) {
        self.add_with(check, draft, ());
    }
}

impl<T> Collector<T> {
    /// Keeps `draft` (and `extra` with it) if it is the first of its id or
    /// ranks before the one kept; a site-wide draft adds its place.
    pub fn add_with(&mut self, check: &'static CheckMeta, draft: FindingDraft, extra: T) {
        let id = draft_id(check.id, &draft);
        let Some(&at) = self.index.get(&id) else {
            self.index.insert(id, self.drafts.len());
            if draft.site_wide {
                self.places
                    .insert(self.drafts.len(), HashSet::from([draft.place()]));
            }
            self.drafts
                .push((check, seen_first(slim_draft(draft)), extra));
            return;
        };
        let (_, kept, kept_extra) = &mut self.drafts[at];
        if !draft.site_wide {
            if ranks_before(&draft, kept) {
                *kept = slim_draft(draft);
                *kept_extra = extra;
            }
            return;
        }
        let place = draft.place();
        if !self.places.entry(at).or_default().insert(place.clone()) {
            return;
        }
        kept.seen_count += 1;
        // The most certain, then worst, draft stands for the finding, and of
        // equals the one seen at the endpoint that sorts first, whatever the
        // order the answers came in: the same scan reads the same twice.
        let first = kept.seen_at.first().is_none_or(|first| &place < first);
        let stands = ranks_before(&draft, kept) || (!ranks_before(kept, &draft) && first);
        if kept.seen_at.len() < MAX_SEEN_AT || first {
            kept.seen_at.insert(place);
            if kept.seen_at.len() > MAX_SEEN_AT {
                kept.seen_at.pop_last();
            }
        }
        if stands {
            let mut replacement = slim_draft(draft);
            replacement.seen_at = std::mem::take(&mut kept.seen_at);
            replacement.seen_count = kept.seen_count;
            *kept = replacement;
            *kept_extra = extra;
        }
    }

    /// The drafts kept, each with what was kept with it.
    pub fn iter_mut(
        &mut self,
    ) -> impl Iterator<Item = (&'static CheckMeta, &mut FindingDraft, &T)> + '_ {
        self.drafts
            .iter_mut()
            .map(|(check, draft, extra)| (*check, draft, &*extra))
    }

    pub fn into_drafts(self) -> Drafts {
        self.drafts
            .into_iter()
            .map(|(check, draft, _)| (check, draft))
            .collect()
    }

    /// Drafts kept so far (one per finding).
    pub fn len(&self) -> usize {
        self.drafts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.drafts.is_empty()
    }
}

/// A site-wide draft starts its own list of places.
fn seen_first(mut draft: FindingDraft) -> FindingDraft {
    if draft.site_wide && draft.seen_at.is_empty() {
        draft.seen_at.insert(draft.place());
        draft.seen_count = 1;
    }
    draft
}

fn slim_draft(mut draft: FindingDraft) -> FindingDraft {
    draft.evidence = draft.evidence.into_iter().map(slim).collect();
    draft
}

/// One evidence step reduced to what its excerpt needs: the part of the
/// body text the report will show, what to mask in it (every secret and
/// personal datum, detected on the whole body, as when the report is
/// written), and the request and response head.
pub fn slim(step: EvidenceStep) -> EvidenceStep {
    if step.exchange.cut().is_some() {
        return step;
    }
    // Read in a copy: the answer may be one the scan keeps (a baseline),
    // which must not keep the tree parsed here for the rest of the scan.
    let exchange = step.exchange.unparsed();
    let body = exchange.body_text();
    let range = excerpt_range(body, step.focus.clone());
    let masks = mask_spans(body, exchange.body_json(), range.clone());
    EvidenceStep {
        step: step.step,
        exchange: Arc::new(exchange.window(range, masks)),
        focus: None,
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
            let id = draft_id(check.id, &draft);
            (id, check, draft)
        })
        .collect();
    drafts.sort_by(|(a_id, _, a), (b_id, _, b)| a_id.cmp(b_id).then_with(|| rank(a, b)));
    let mut seen = HashSet::new();
    let mut findings: Vec<Finding> = drafts
        .into_iter()
        .filter_map(|(id, check, draft)| {
            seen.insert(id.clone())
                .then(|| finalize(id, check, seen_first(draft), redactor, stack))
        })
        .collect();
    findings.sort_by(|a, b| {
        b.head
            .severity
            .cmp(&a.head.severity)
            .then_with(|| b.head.confidence.cmp(&a.head.confidence))
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.head.path.cmp(&b.head.path))
            .then_with(|| a.id.cmp(&b.id))
    });
    findings
}

/// What orders two drafts of one finding that are equally certain and bad:
/// their evidence steps and who sent each (not the URLs, whose cache
/// busters differ from run to run).
/// The order of two drafts of one finding: the most certain first, then
/// the worst, then the one whose evidence reads first.
fn rank(a: &FindingDraft, b: &FindingDraft) -> std::cmp::Ordering {
    b.head
        .confidence
        .cmp(&a.head.confidence)
        .then_with(|| b.head.severity.cmp(&a.head.severity))
        .then_with(|| evidence_order(a).cmp(&evidence_order(b)))
}

/// Whether `a` stands for its finding rather than `b`.
fn ranks_before(a: &FindingDraft, b: &FindingDraft) -> bool {
    rank(a, b) == std::cmp::Ordering::Less
}

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
    let head = draft.head;
    let (severity, transit_note) = in_transit_severity(category, &head.url, head.severity);
    let description = match transit_note {
        Some(note) => format!("{} {note}", head.description),
        None => head.description,
    };
    Finding {
        id,
        check: check.id.to_string(),
        category,
        head: FindingHead {
            severity,
            confidence: head.confidence,
            title: redactor.redact_text(&head.title),
            description: redactor.redact_text(&description),
            method: head.method,
            path: redactor.redact_text(&head.path),
            url: redactor.redact_text(&head.url),
            parameter: head.parameter.map(|p| redactor.redact_text(&p)),
        },
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
        seen_at: draft
            .seen_at
            .iter()
            .map(|place| redactor.redact_text(place))
            .collect(),
        seen_count: draft.seen_count,
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

/// The part of a body text a finding's evidence shows: the focus with some
/// context either side, or the start.
fn excerpt_range(body: &str, focus: Option<std::ops::Range<usize>>) -> std::ops::Range<usize> {
    let (start, end) = match focus {
        Some(range) => (
            range.start.saturating_sub(EXCERPT_CONTEXT),
            range.end.saturating_add(EXCERPT_CONTEXT).min(body.len()),
        ),
        None => (0, body.len().min(2 * EXCERPT_CONTEXT)),
    };
    let start = floor_char_boundary(body, start.min(body.len()));
    let end = floor_char_boundary(body, end.max(start));
    start..end
}

fn evidence(
    step: &str,
    exchange: &Exchange,
    focus: Option<std::ops::Range<usize>>,
    redactor: &Redactor,
) -> Evidence {
    let body = exchange.body_text();
    // A slimmed step holds its excerpt, already masked; a whole one is cut here.
    let (range, shown, total) = match exchange.cut() {
        Some(Cut::Window {
            start,
            end,
            full_len,
        }) => {
            let masked = apply_masks(body, 0..body.len(), exchange.masks());
            let shown = redactor.redact_supplied(&masked).into_owned();
            (*start..*end, shown, *full_len)
        }
        Some(Cut::Compact { len, .. }) => (0..0, String::new(), *len),
        None => {
            let range = excerpt_range(body, focus);
            let shown = redactor.redact_excerpt(body, exchange.body_json(), range.clone());
            (range, shown, body.len())
        }
    };
    let mut excerpt = String::new();
    if range.start > 0 {
        excerpt.push('…');
    }
    excerpt.push_str(&shown);
    if range.end < total {
        excerpt.push('…');
    }
    Evidence {
        step: step.to_string(),
        request: EvidenceRequest {
            method: exchange.request.method.to_string(),
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
                .map(|(n, v)| (n.to_owned(), redactor.redact_header(n, v)))
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
    use crate::finding::Confidence;
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

    fn check(id: &str) -> &'static CheckMeta {
        crate::checks::find(id).expect("registered")
    }

    #[test]
    fn a_site_wide_cause_is_one_finding_listing_where_it_was_seen() {
        use crate::checks::probe::fixtures::exchange;
        let cookie = check("transport.cookie-flags");
        let mut collector = Collector::default();
        for path in ["/b", "/c", "/a", "/b"] {
            let seen = exchange(
                &format!("http://h{path}?rampart_cb=1"),
                None,
                200,
                &[],
                "{}",
            );
            let draft = FindingDraft::at_exchange(&seen, Severity::Low, Confidence::Confirmed)
                .key("cookie-sid")
                .site_wide()
                .evidence("set", &seen, None);
            collector.add(cookie, draft);
        }
        let drafts = collector.into_drafts();
        assert_eq!(drafts.len(), 1);
        let findings = findings(drafts, &Redactor::default(), &Stack::default());
        let finding = &findings[0];
        assert_eq!(
            finding.head.path, "/a",
            "the first place in order stands for it"
        );
        assert_eq!(finding.seen_at, vec!["GET /a", "GET /b", "GET /c"]);
        assert_eq!(finding.seen_count, 3);
        assert_eq!(
            finding.id,
            crate::finding::stable_id("transport.cookie-flags", "*", "*", "cookie-sid")
        );
    }

    #[test]
    fn kept_drafts_hold_their_excerpt_masked_not_the_body() {
        use crate::checks::probe::fixtures::exchange;
        let body = format!(
            r#"{{"padding": "{}", "ssn": "536-22-4187", "more": "{}"}}"#,
            "p".repeat(5000),
            "m".repeat(5000)
        );
        let leaked = exchange("http://h/u?rampart_cb=1", None, 200, &[], &body);
        let at = body.find("536-22-4187").expect("in the body");
        let draft = FindingDraft::at_exchange(&leaked, Severity::High, Confidence::Firm)
            .key("ssn")
            .evidence("leak", &leaked, Some(at..at + 11));
        let mut collector = Collector::default();
        collector.add(check("exposure.pii"), draft.clone());
        collector.add(check("exposure.pii"), draft);
        let drafts = collector.into_drafts();
        assert_eq!(drafts.len(), 1, "one draft per id");
        let kept = &drafts[0].1.evidence[0].exchange;
        assert!(
            kept.response.body.len() < 1000,
            "{}",
            kept.response.body.len()
        );
        assert!(kept
            .masks()
            .iter()
            .any(|(_, _, masked)| masked.contains("SSN")));
        let shown = findings(drafts, &Redactor::default(), &Stack::default());
        let excerpt = &shown[0].evidence[0].response.body_excerpt;
        assert!(
            excerpt.starts_with('…') && excerpt.ends_with('…'),
            "{excerpt}"
        );
        assert!(excerpt.contains("\"ssn\"") && !excerpt.contains("536-22-4187"));
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
                found[0].head.severity,
                found[0].head.confidence,
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
