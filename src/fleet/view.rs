//! The fleet view (`rampart merge -o fleet.json`, schema
//! `rampart.fleet/1`): every API with its grade and findings, the findings
//! of the whole fleet grouped by check, totals, and — against the previous
//! night's view — what is new and what was fixed. It holds each finding in
//! brief (id, check, severity, title, endpoint); the evidence stays in the
//! per-API reports it links to, so the view stays small for thousands of
//! APIs and is the next night's `--baseline`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::finding::{Category, Confidence, Finding, Severity};
use crate::report::{BaselineState, FixedFinding, Tool};

pub const FLEET_SCHEMA: &str = "rampart.fleet/1";

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

impl SeverityCounts {
    pub fn of<'a>(severities: impl IntoIterator<Item = &'a Severity>) -> Self {
        let mut counts = SeverityCounts::default();
        for severity in severities {
            counts.add(*severity, 1);
        }
        counts
    }

    pub fn add(&mut self, severity: Severity, n: usize) {
        match severity {
            Severity::Critical => self.critical += n,
            Severity::High => self.high += n,
            Severity::Medium => self.medium += n,
            Severity::Low => self.low += n,
            Severity::Info => self.info += n,
        }
    }

    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    pub fn total(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }

    pub fn merge(&mut self, other: &SeverityCounts) {
        for severity in Severity::ALL_DESCENDING {
            self.add(severity, other.get(severity));
        }
    }
}

/// What became of an API in this fleet run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ApiStatus {
    /// Its report is there.
    Scanned,
    /// It could not be scanned; `error` says why.
    Failed,
    /// It is in the targets file, but no shard left a report or a failure.
    Missing,
}

impl ApiStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A finding in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BriefFinding {
    pub id: String,
    pub check: String,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    pub title: String,
    pub method: String,
    pub path: String,
    /// New or unchanged against the baseline, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<BaselineState>,
}

impl BriefFinding {
    pub fn of(finding: &Finding, state: Option<BaselineState>) -> Self {
        BriefFinding {
            id: finding.id.clone(),
            check: finding.check.clone(),
            category: finding.category,
            severity: finding.head.severity,
            confidence: finding.head.confidence,
            title: finding.head.title.clone(),
            method: finding.head.method.clone(),
            path: finding.head.path.clone(),
            state,
        }
    }

    pub fn fixed(&self) -> FixedFinding {
        FixedFinding {
            id: self.id.clone(),
            check: self.check.clone(),
            severity: self.severity,
            title: self.title.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
        }
    }
}

/// One API of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiEntry {
    /// The target's name in the targets file.
    pub api: String,
    /// Its base URL.
    pub target: String,
    pub status: ApiStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<crate::report::Grade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    pub counts: SeverityCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(default)]
    pub endpoints: usize,
    #[serde(default)]
    pub requests_sent: u64,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Endpoints the scan could not request (the report's `errors`).
    #[serde(default)]
    pub errors: usize,
    /// Why the API could not be scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The per-API JSON report (or failure record), as found by the merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(default)]
    pub findings: Vec<BriefFinding>,
    /// Against the baseline: this API's findings fixed since, and those
    /// whose check did not run this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<ApiBaseline>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiBaseline {
    pub new: usize,
    pub unchanged: usize,
    pub fixed: Vec<FixedFinding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_retested: Vec<FixedFinding>,
}

/// The findings of one check across the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckEntry {
    pub check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub category: Category,
    pub worst: Severity,
    pub findings: usize,
    /// The APIs it was found on, by name.
    pub apis: Vec<String>,
    #[serde(default)]
    pub new: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub apis: usize,
    pub scanned: usize,
    pub failed: usize,
    pub missing: usize,
    pub findings: usize,
    pub counts: SeverityCounts,
    /// Scanned APIs per grade.
    pub grades: BTreeMap<String, usize>,
    pub requests_sent: u64,
}

/// The fleet against the previous night.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetBaseline {
    pub file: String,
    pub new: usize,
    pub unchanged: usize,
    pub fixed: usize,
    pub not_retested: usize,
    /// APIs of the baseline not scanned this time (failed, missing or gone
    /// from the fleet): their findings are neither fixed nor still there.
    #[serde(default)]
    pub apis_not_rescanned: Vec<String>,
    /// APIs scanned now that the baseline did not have a report of.
    #[serde(default)]
    pub apis_new: Vec<String>,
}

/// The whole fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetView {
    #[serde(deserialize_with = "known_schema")]
    pub schema: String,
    pub tool: Tool,
    pub generated_at: String,
    pub totals: Totals,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<FleetBaseline>,
    /// Every API, by name.
    pub apis: Vec<ApiEntry>,
    /// Every check with findings, worst first.
    pub checks: Vec<CheckEntry>,
}

fn known_schema<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    crate::report::expect_schema(deserializer, FLEET_SCHEMA).map(String::from)
}

impl FleetView {
    /// Reads a view that [`super::render::json`] wrote (the `--baseline` of
    /// a merge).
    pub fn parse(text: &str) -> Result<FleetView, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn api(&self, name: &str) -> Option<&ApiEntry> {
        self.apis.iter().find(|a| a.api == name)
    }

    /// The worst severity `--fail-on` judges: with a baseline, only new
    /// findings count.
    pub fn worst_to_fail_on(&self) -> Option<Severity> {
        self.apis
            .iter()
            .flat_map(|a| a.findings.iter())
            .filter(|f| f.state != Some(BaselineState::Unchanged))
            .map(|f| f.severity)
            .max()
    }
}
