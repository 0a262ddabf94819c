//! Reports: the data every renderer receives, and one renderer per format.
//! Renderers know nothing about how a check works.

pub mod finalize;
pub mod json;
pub mod score;
pub mod text;

use serde::Serialize;

use crate::discover::EndpointSource;
use crate::finding::{Finding, Severity};
use crate::stack::Stack;

pub const SCHEMA: &str = "rampart.report/1";

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "rampart",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportEndpoint {
    pub method: String,
    pub path: String,
    pub source: EndpointSource,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportError {
    pub endpoint: String,
    pub message: String,
}

/// The outcome of one scan (the JSON report's schema `rampart.report/1`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
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
