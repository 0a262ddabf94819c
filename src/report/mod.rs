//! Reports: the data every renderer receives, and one renderer per format.
//! Renderers know nothing about how a check works.

pub mod finalize;
pub mod groups;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod output;
pub mod sarif;
pub mod score;
pub mod text;
pub mod triage;

use serde::{Deserialize, Deserializer, Serialize};

use crate::checks::coverage::ALL_ENDPOINTS;
use crate::discover::EndpointSource;
pub use crate::engine::Change;
use crate::engine::PacingReport;
use crate::finding::{Finding, Severity};
use crate::stack::Stack;

pub use score::Grade;
pub use triage::{BaselineComparison, BaselineState, FixedFinding, Suppressed, SuppressionNotice};

pub const SCHEMA: &str = "rampart.report/1";

/// What wrote the report; a report read back keeps the version that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "rampart".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportEndpoint {
    pub method: String,
    pub path: String,
    pub source: EndpointSource,
}

/// What one check probed, and each place it skipped with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckCoverage {
    pub check: String,
    /// Endpoints (or the target) the check judged.
    pub probed: usize,
    pub skipped: Vec<Skipped>,
}

/// A place a check did not judge: an endpoint label (`GET /path`),
/// `target`, or `all endpoints` for a check switched off for the scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub endpoint: String,
    pub reason: String,
}

/// Something the user must know about the scan as a whole (e.g. the API's
/// data changed while it ran), with the endpoints it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub message: String,
    pub endpoints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportError {
    pub endpoint: String,
    pub message: String,
}

/// What cut a scan's coverage short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncompleteReason {
    /// Requests got no answer (timeouts, refused or reset connections).
    Errors,
    /// `--max-requests` ran out.
    Budget,
    /// The target throttled and answers were lost to it.
    Throttled,
    /// `--max-duration` ran out.
    Deadline,
    /// The user interrupted the scan.
    Interrupted,
}

/// One reason a scan is incomplete, with the figures behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incomplete {
    pub reason: IncompleteReason,
    pub detail: String,
}

/// The outcome of one scan (the JSON report's schema `rampart.report/1`).
/// [`json::parse`] reads a rendered report back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`]: a report of another schema is refused when read,
    /// rather than half-understood.
    #[serde(deserialize_with = "known_schema")]
    pub schema: SchemaId,
    pub tool: Tool,
    pub target: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub requests_sent: u64,
    pub stack: Stack,
    pub score: u8,
    /// The letter for the score, or `incomplete` when the scan's coverage
    /// was cut short: a letter would read as a verdict on the whole API.
    pub grade: Grade,
    /// False when errors, the budget, throttling, the deadline or an
    /// interruption cut the scan's coverage; `incomplete_reasons` says how.
    #[serde(default = "complete_by_default")]
    pub complete: bool,
    #[serde(default)]
    pub incomplete_reasons: Vec<Incomplete>,
    /// How the scan was paced: the mode, the ceiling, the effective rate
    /// and any throttling.
    #[serde(default)]
    pub pacing: PacingReport,
    pub endpoints: Vec<ReportEndpoint>,
    pub findings: Vec<Finding>,
    /// Per check, what was probed and what was skipped and why (absent
    /// from reports written before it existed).
    #[serde(default)]
    pub coverage: Vec<CheckCoverage>,
    /// Every state change the scan made on the target (only `--active`
    /// scans make any) and whether it was undone.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// What the user must know about the scan as a whole.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    pub errors: Vec<ReportError>,
    /// The findings compared with a previous report (`--baseline`): which
    /// are new, which unchanged, and which were fixed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
    /// Findings a suppression of the project file holds back, each with
    /// the reason given; they count neither in `findings` nor in the score.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppressed>,
    /// Suppressions that no longer suppress (their `until` date passed),
    /// so that an expiry is said, not silently turned into findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppression_notices: Vec<SuppressionNotice>,
}

/// Reports written before the field existed were complete as far as they knew.
fn complete_by_default() -> bool {
    true
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.head.severity == severity)
            .count()
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.head.severity).max()
    }

    /// The worst severity `--fail-on` judges: with a baseline, only new
    /// findings count (a pipeline fails on what a change introduced).
    pub fn worst_to_fail_on(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| self.baseline_state(&f.id) != Some(BaselineState::Unchanged))
            .map(|f| f.head.severity)
            .max()
    }

    /// Whether a finding is new or unchanged against `--baseline`, when
    /// one was given.
    pub fn baseline_state(&self, id: &str) -> Option<BaselineState> {
        self.baseline.as_ref().and_then(|b| b.state(id))
    }

    /// Rewrites the reproduce lines so that a credential placeholder is read
    /// from a shell variable: `-H 'X-API-Key: <alice X-API-Key>'` becomes
    /// `-H "X-API-Key: $ALICE_KEY"`, a line the reader can run once the
    /// variable is set. Only the exact quoted header argument is rewritten:
    /// nothing a server sent ends up inside double quotes.
    pub fn use_shell_variables(&mut self, variables: &[ShellVariable]) {
        for finding in self
            .findings
            .iter_mut()
            .chain(self.suppressed.iter_mut().map(|s| &mut s.finding))
        {
            for line in &mut finding.reproduce {
                for variable in variables {
                    let quoted = format!("-H '{}: {}'", variable.header, variable.placeholder);
                    if line.contains(&quoted) {
                        *line = line.replace(
                            &quoted,
                            &format!("-H \"{}: ${}\"", variable.header, variable.name),
                        );
                    }
                }
            }
        }
    }

    /// How many findings of each severity, worst first.
    /// How many findings the project file holds back, when it holds any,
    /// as the summaries say it.
    pub fn suppressed_line(&self) -> Option<String> {
        (!self.suppressed.is_empty()).then(|| {
            format!(
                "{} finding(s) suppressed by the project file",
                self.suppressed.len()
            )
        })
    }

    pub fn counts(&self) -> [(Severity, usize); 5] {
        Severity::ALL_DESCENDING.map(|s| (s, self.count(s)))
    }

    /// The changes the scan could not undo.
    pub fn changes_left(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| !c.restored)
    }

    /// The checks switched off for the whole scan, grouped by the reason
    /// (e.g. "needs two identities": a scan without identities says which
    /// checks that cost), in the order the reasons first appear.
    pub fn switched_off(&self) -> Vec<(&str, Vec<&str>)> {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for coverage in &self.coverage {
            for skipped in coverage
                .skipped
                .iter()
                .filter(|s| s.endpoint == ALL_ENDPOINTS)
            {
                match groups.iter_mut().find(|(r, _)| *r == skipped.reason) {
                    Some((_, checks)) => checks.push(&coverage.check),
                    None => groups.push((&skipped.reason, vec![&coverage.check])),
                }
            }
        }
        groups
    }
}

/// A credential a reader keeps in a shell variable (see
/// [`Report::use_shell_variables`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellVariable {
    /// The header that carries it, e.g. `X-API-Key`.
    pub header: String,
    /// The placeholder reproduce lines show for it, e.g. `<alice X-API-Key>`.
    pub placeholder: String,
    /// The variable's name, e.g. `ALICE_KEY`: letters, digits and `_` only.
    pub name: String,
}

/// `&'static str`, named so that serde's derive does not take it for text to
/// borrow from the input (it does so for a literal `&str` field): reading
/// hands out [`SCHEMA`] itself, so a parsed report outlives its text.
pub type SchemaId = &'static str;

fn known_schema<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
    expect_schema(deserializer, SCHEMA)
}

/// Reads a document's `schema` field, refusing any but `expected`: a
/// document of another schema is refused rather than half-understood.
pub(crate) fn expect_schema<'de, D: Deserializer<'de>>(
    deserializer: D,
    expected: &'static str,
) -> Result<&'static str, D::Error> {
    let schema = String::deserialize(deserializer)?;
    if schema == expected {
        Ok(expected)
    } else {
        Err(serde::de::Error::custom(format!(
            "schema '{schema}' is not {expected}"
        )))
    }
}

/// Output formats (`--format`, and `FORMAT=FILE` in `--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// For a person at a terminal: summary first, findings by check.
    Text,
    /// The full report, schema `rampart.report/1`.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML: a test case per check and endpoint, for any CI.
    Junit,
    /// One self-contained HTML page to send around.
    Html,
    /// A summary sized for a pull-request comment.
    #[value(alias = "md")]
    Markdown,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Html => "html",
            Format::Markdown => "markdown",
        }
    }
}

/// Renders `report` in `format`. `color` only affects text.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Html => html::render(report),
        Format::Markdown => markdown::render(report),
    }
}

/// Writes `report` in `format` to `out`, as [`render`] would render it;
/// JSON as it is serialised, never whole in memory.
pub fn write(
    report: &Report,
    format: Format,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json::write(report, out),
        _ => out.write_all(render(report, format, color).as_bytes()),
    }
}

/// A small report every renderer's unit tests share: two findings of two
/// checks, coverage with a probe, a skip and a check switched off, and an
/// error.
#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::finding::{
        Category, Confidence, Evidence, EvidenceRequest, EvidenceResponse, FindingHead, Remediation,
    };

    pub fn finding(id: &str, check: &str, severity: Severity, path: &str, body: &str) -> Finding {
        Finding {
            id: id.into(),
            check: check.into(),
            category: crate::checks::find(check)
                .map(|c| c.category)
                .unwrap_or(Category::Configuration),
            head: FindingHead {
                severity,
                confidence: Confidence::Confirmed,
                title: format!("{check} on {path}"),
                description: "What the evidence shows.".into(),
                method: "GET".into(),
                path: path.into(),
                url: format!("http://127.0.0.1:8080{path}"),
                parameter: None,
            },
            evidence: vec![Evidence {
                step: "alice fetches a fresh URL".into(),
                request: EvidenceRequest {
                    method: "GET".into(),
                    url: format!("http://127.0.0.1:8080{path}?rampart_cb=1"),
                    headers: BTreeMap::from([("X-API-Key".into(), "[redacted]".into())]),
                    identity: Some("alice".into()),
                },
                response: EvidenceResponse {
                    status: 200,
                    headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
                    body_excerpt: body.into(),
                },
            }],
            reproduce: vec![format!(
                "curl -s 'http://127.0.0.1:8080{path}?rampart_cb=1' -H 'X-API-Key: <alice X-API-Key>'"
            )],
            remediation: Some(Remediation {
                stack: "flask".into(),
                summary: "Key the cache on the caller.".into(),
                details_markdown: "Use `Vary`.".into(),
            }),
            references: vec!["CWE-524".into()],
            seen_at: Vec::new(),
            seen_count: 0,
        }
    }

    pub fn sample_report() -> Report {
        let findings = vec![
            finding(
                "RMP-aaaaaaaaaaaa",
                "cache.identity-unkeyed",
                Severity::High,
                "/api/account",
                "{\"user\":\"alice\"}",
            ),
            finding(
                "RMP-bbbbbbbbbbbb",
                "exposure.pii",
                Severity::High,
                "/api/users/{user_id}",
                "{\"ssn\":\"[redacted SSN]\"}",
            ),
        ];
        let score = score::score(&findings);
        Report {
            schema: SCHEMA,
            tool: Tool::default(),
            target: "http://127.0.0.1:8080/".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 1234,
            requests_sent: 42,
            stack: Stack::forced("flask"),
            score,
            grade: score::grade(score),
            complete: true,
            incomplete_reasons: Vec::new(),
            pacing: PacingReport::default(),
            endpoints: ["/api/account", "/api/users/{user_id}", "/api/reset"]
                .into_iter()
                .map(|path| ReportEndpoint {
                    method: "GET".into(),
                    path: path.into(),
                    source: EndpointSource::Spec,
                })
                .collect(),
            findings,
            coverage: vec![
                CheckCoverage {
                    check: "cache.identity-unkeyed".into(),
                    probed: 2,
                    skipped: vec![Skipped {
                        endpoint: "GET /api/reset".into(),
                        reason: "looks state-changing (reset)".into(),
                    }],
                },
                CheckCoverage {
                    check: "exposure.pii".into(),
                    probed: 3,
                    skipped: Vec::new(),
                },
                CheckCoverage {
                    check: "authz.bola".into(),
                    probed: 0,
                    skipped: vec![Skipped {
                        endpoint: ALL_ENDPOINTS.into(),
                        reason: "needs two identities".into(),
                    }],
                },
            ],
            changes: Vec::new(),
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
    fn an_incomplete_scan_says_so_in_every_format_and_has_no_letter_grade() {
        let mut report = sample_report();
        report.complete = false;
        report.grade = Grade::Incomplete;
        report.incomplete_reasons = vec![Incomplete {
            reason: IncompleteReason::Budget,
            detail: "the request budget (--max-requests 12) ran out".into(),
        }];
        let text = render(&report, Format::Text, false);
        assert!(text.contains("INCOMPLETE SCAN") && text.contains("--max-requests 12"));
        assert!(text.contains("(incomplete; "), "{text}");
        let markdown = render(&report, Format::Markdown, false);
        assert!(markdown.contains("**Incomplete scan:** the request budget"));
        let html = render(&report, Format::Html, false);
        assert!(html.contains("Incomplete scan:</b> the request budget"));
        let json = render(&report, Format::Json, false);
        assert!(json.contains("\"grade\": \"incomplete\"") && json.contains("\"complete\": false"));
        assert_eq!(json::parse(&json).unwrap(), report);
    }
}
