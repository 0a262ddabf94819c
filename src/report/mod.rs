//! Reports: the data every renderer receives, and one renderer per format.
//! Renderers know nothing about how a check works.

pub mod finalize;
pub mod json;
pub mod score;
pub mod text;

use serde::{Deserialize, Deserializer, Serialize};

use crate::checks::coverage::ALL_ENDPOINTS;
use crate::discover::EndpointSource;
pub use crate::engine::Change;
use crate::finding::{Finding, Severity};
use crate::stack::Stack;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportError {
    pub endpoint: String,
    pub message: String,
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
    pub grade: char,
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
    pub errors: Vec<ReportError>,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
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

/// `&'static str`, named so that serde's derive does not take it for text to
/// borrow from the input (it does so for a literal `&str` field): reading
/// hands out [`SCHEMA`] itself, so a parsed report outlives its text.
pub type SchemaId = &'static str;

fn known_schema<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
    let schema = String::deserialize(deserializer)?;
    if schema == SCHEMA {
        Ok(SCHEMA)
    } else {
        Err(serde::de::Error::custom(format!(
            "schema '{schema}' is not {SCHEMA}"
        )))
    }
}

/// Output formats (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Renders `report` in `format`. `color` only affects text.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => json::render(report),
    }
}
