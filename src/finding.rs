//! The vocabulary of results: what a check reports and how the report names it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use strum::{IntoStaticStr, VariantArray};

use crate::engine::Exchange;

/// How bad a finding is; ordered so that `Critical > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(clap::ValueEnum, IntoStaticStr, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL_DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// One step worse (critical stays critical).
    pub fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How sure Rampart is: `Confirmed` means the exploit itself was reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum Confidence {
    Tentative,
    Firm,
    Confirmed,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The report's category names (part of the outside contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(IntoStaticStr, VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum Category {
    CachePoisoning,
    CacheDeception,
    Bola,
    FunctionAuthorization,
    Authentication,
    PropertyAuthorization,
    DataExposure,
    Cryptography,
    Signature,
    ApiKey,
    InputValidation,
    Ssrf,
    RateLimiting,
    Configuration,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One step of proof as a check saw it: the raw exchange plus why it matters.
///
/// Drafts carry raw exchanges; only the scan's finaliser turns them into
/// report evidence, so redaction happens in one place and no check can forget it.
#[derive(Debug, Clone)]
pub struct EvidenceStep {
    pub step: String,
    pub exchange: Arc<Exchange>,
    /// Byte range of the response body worth showing (the match), if any.
    pub focus: Option<std::ops::Range<usize>>,
}

/// What a finding says and where it was found: the part a check's draft and
/// the finished finding share (a finding's JSON holds these fields at its top
/// level).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FindingHead {
    pub severity: Severity,
    pub confidence: Confidence,
    pub title: String,
    pub description: String,
    pub method: String,
    /// Endpoint template when known, otherwise the concrete path.
    pub path: String,
    pub url: String,
    pub parameter: Option<String>,
}

impl FindingHead {
    /// Where it was found: `METHOD /path`.
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What a check returns: everything about a finding except what the scan adds
/// (stable id, redacted evidence, reproduction lines, remediation).
#[derive(Debug, Clone)]
pub struct FindingDraft {
    pub head: FindingHead,
    /// What distinguishes this finding from others of the same check on the
    /// same endpoint (e.g. "ssn" vs "card"); part of the stable id. Never a secret.
    pub key: String,
    pub evidence: Vec<EvidenceStep>,
    /// Technologies the check itself recognised while proving the finding
    /// (e.g. the database behind an injectable query), which the scan's
    /// fingerprint may not have seen; they refine the remediation variant.
    pub stack_hints: Vec<String>,
    /// The check itself sent the step that proves the finding again on a
    /// fresh cache buster and shows both answers in the evidence, so the
    /// runner's confirmation need not send it all once more.
    pub repeated: bool,
    /// One root cause wherever it shows (a cookie set site-wide, an
    /// identifier scheme): drafts of the same check and key are one finding
    /// whatever the endpoint, its id independent of the endpoint, and
    /// `seen_at` lists where it was seen.
    pub site_wide: bool,
    /// For a site-wide draft: the endpoints (`GET /path`) it was seen on,
    /// at most [`MAX_SEEN_AT`] of them.
    pub seen_at: std::collections::BTreeSet<String>,
    /// For a site-wide draft: on how many endpoints it was seen in all.
    pub seen_count: usize,
}

/// Endpoints a site-wide finding lists.
pub const MAX_SEEN_AT: usize = 200;

impl FindingDraft {
    /// A draft located at the endpoint the exchange was sent for.
    pub fn at_exchange(
        exchange: &Arc<Exchange>,
        severity: Severity,
        confidence: Confidence,
    ) -> Self {
        FindingDraft {
            head: FindingHead {
                severity,
                confidence,
                title: String::new(),
                description: String::new(),
                method: exchange.request.method.to_string(),
                path: exchange.endpoint_path().to_string(),
                url: exchange.request.url.clone(),
                parameter: None,
            },
            key: String::new(),
            evidence: Vec::new(),
            stack_hints: Vec::new(),
            repeated: false,
            site_wide: false,
            seen_at: std::collections::BTreeSet::new(),
            seen_count: 0,
        }
    }

    /// Marks the draft as one root cause across the target (see
    /// [`FindingDraft::site_wide`]).
    pub fn site_wide(mut self) -> Self {
        self.site_wide = true;
        self
    }

    /// The endpoint this draft was made at, as `seen_at` lists it.
    pub fn place(&self) -> String {
        self.head.endpoint()
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.head.title = title.into();
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.head.description = description.into();
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    pub fn parameter(mut self, parameter: impl Into<String>) -> Self {
        self.head.parameter = Some(parameter.into());
        self
    }

    /// Marks the draft as confirmed by the check's own repeat of its
    /// decisive step (see [`FindingDraft::repeated`]).
    pub fn repeated(mut self) -> Self {
        self.repeated = true;
        self
    }

    /// A technology the check recognised (see [`FindingDraft::stack_hints`]).
    pub fn stack_hint(mut self, technology: impl Into<String>) -> Self {
        let technology = technology.into();
        if !self.stack_hints.contains(&technology) {
            self.stack_hints.push(technology);
        }
        self
    }

    pub fn evidence(
        mut self,
        step: impl Into<String>,
        exchange: &Arc<Exchange>,
        focus: Option<std::ops::Range<usize>>,
    ) -> Self {
        self.evidence.push(EvidenceStep {
            step: step.into(),
            exchange: Arc::clone(exchange),
            focus,
        });
        self
    }
}

/// The stable id of a draft of `check`: a site-wide draft's does not depend
/// on the endpoint it was seen at.
pub fn draft_id(check: &str, draft: &FindingDraft) -> String {
    if draft.site_wide {
        stable_id(check, "*", "*", &draft.key)
    } else {
        stable_id(check, &draft.head.method, &draft.head.path, &draft.key)
    }
}

/// A stable identifier: the same weakness found by two scans gets the same id,
/// so CI can track and suppress findings across runs.
pub fn stable_id(check: &str, method: &str, path: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [check, method, path, key] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    format!("RMP-{}", &hex::encode(digest)[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_id_depends_on_every_part_and_nothing_else() {
        let a = stable_id("exposure.pii", "GET", "/users/{id}", "ssn");
        assert_eq!(a, stable_id("exposure.pii", "GET", "/users/{id}", "ssn"));
        assert_ne!(a, stable_id("exposure.pii", "GET", "/users/{id}", "card"));
        assert_ne!(a, stable_id("exposure.pii", "POST", "/users/{id}", "ssn"));
        // Field boundaries matter: "ab"+"c" is not "a"+"bc".
        assert_ne!(stable_id("ab", "c", "", ""), stable_id("a", "bc", "", ""));
        assert!(a.starts_with("RMP-") && a.len() == 16);
    }

    /// The names the text reports print are the JSON report's names.
    #[test]
    fn every_name_is_the_json_name() {
        fn json(value: impl Serialize) -> String {
            serde_json::to_value(value)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }
        for severity in Severity::ALL_DESCENDING {
            assert_eq!(severity.as_str(), json(severity));
            assert_eq!(severity.to_string(), json(severity));
        }
        for confidence in Confidence::VARIANTS {
            assert_eq!(confidence.as_str(), json(confidence));
        }
        for category in Category::VARIANTS {
            assert_eq!(category.as_str(), json(category));
        }
        assert_eq!(Category::ApiKey.as_str(), "api-key");
    }

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
    }
}

/// A request as shown in a report (credentials redacted).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvidenceRequest {
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// A response as shown in a report (secrets masked, body cut to an excerpt).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvidenceResponse {
    pub status: u16,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body_excerpt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub step: String,
    pub request: EvidenceRequest,
    pub response: EvidenceResponse,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Remediation {
    /// The knowledge variant used, e.g. "flask+dynamodb" or "generic".
    pub stack: String,
    pub summary: String,
    pub details_markdown: String,
}

/// A finished finding, as every reporter receives it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub id: String,
    pub check: String,
    pub category: Category,
    #[serde(flatten)]
    pub head: FindingHead,
    pub evidence: Vec<Evidence>,
    pub reproduce: Vec<String>,
    pub remediation: Option<Remediation>,
    pub references: Vec<String>,
    /// A site-wide finding: the endpoints it was seen on (at most
    /// [`MAX_SEEN_AT`]), `method` and `path` naming the first of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_at: Vec<String>,
    /// A site-wide finding: on how many endpoints it was seen in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seen_count: usize,
}

impl Finding {
    /// Where it was found: `METHOD /path`.
    pub fn endpoint(&self) -> String {
        self.head.endpoint()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
