//! What a team already decided about findings: a previous report to compare
//! with (`--baseline`) and the suppressions of the project file. Both are
//! applied to a finished report, so every renderer shows the same verdict
//! and `--fail-on` judges only what is new.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{score, Grade, Report};
use crate::checks::coverage::ALL_ENDPOINTS;
use crate::checks::glob_match;
use crate::finding::{Finding, Severity};

/// Whether a finding was already in the baseline report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum BaselineState {
    New,
    Unchanged,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A finding of the baseline report that this scan no longer found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedFinding {
    pub id: String,
    pub check: String,
    pub severity: Severity,
    pub title: String,
    pub method: String,
    pub path: String,
}

impl FixedFinding {
    /// Where it was: `METHOD /path`.
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

impl From<&Finding> for FixedFinding {
    fn from(finding: &Finding) -> Self {
        FixedFinding {
            id: finding.id.clone(),
            check: finding.check.clone(),
            severity: finding.head.severity,
            title: finding.head.title.clone(),
            method: finding.head.method.clone(),
            path: finding.head.path.clone(),
        }
    }
}

/// This scan's findings against a previous report's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    /// The previous report, as given to `--baseline`.
    pub file: String,
    /// Ids of findings the baseline did not have.
    pub new: Vec<String>,
    /// Ids of findings the baseline had too.
    pub unchanged: Vec<String>,
    /// Findings of the baseline this scan tested for and did not find.
    pub fixed: Vec<FixedFinding>,
    /// Findings of the baseline whose check did not run this time: neither
    /// fixed nor still there, as far as this scan can tell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_retested: Vec<FixedFinding>,
}

impl BaselineComparison {
    /// New or unchanged, for a finding of the report (a suppressed one is
    /// neither).
    pub fn state(&self, id: &str) -> Option<BaselineState> {
        if self.unchanged.iter().any(|u| u == id) {
            Some(BaselineState::Unchanged)
        } else if self.new.iter().any(|n| n == id) {
            Some(BaselineState::New)
        } else {
            None
        }
    }

    /// The comparison in one line, as every format shows it after its own
    /// words: "2 new · 5 unchanged · 1 fixed", with " · N not retested"
    /// when some were not; `strong` dresses the count of new findings,
    /// which is what a reader looks for.
    pub fn tally(&self, strong: impl Fn(&str) -> String) -> String {
        let mut line = format!(
            "{} · {} unchanged · {} fixed",
            strong(&format!("{} new", self.new.len())),
            self.unchanged.len(),
            self.fixed.len()
        );
        if !self.not_retested.is_empty() {
            line.push_str(&format!(" · {} not retested", self.not_retested.len()));
        }
        line
    }
}

/// A suppression from the project file: findings of `check` (a glob), on
/// `path` (a glob over the endpoint's template) when given, are accepted
/// for `reason` until the `until` date (inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub check: String,
    pub path: Option<String>,
    pub reason: String,
    pub until: Option<NaiveDate>,
}

impl Suppression {
    fn matches(&self, finding: &Finding) -> bool {
        glob_match(&self.check, &finding.check)
            && self
                .path
                .as_deref()
                .is_none_or(|path| glob_match(path, &finding.head.path))
    }

    fn expired(&self, today: NaiveDate) -> bool {
        self.until.is_some_and(|until| until < today)
    }
}

/// A finding held back by a suppression, with the suppression's word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A suppression that stopped suppressing because its date passed, and
/// how many of this scan's findings it would have held back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressionNotice {
    pub check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub reason: String,
    pub until: String,
    /// Findings reported again because of the expiry.
    pub findings: usize,
}

impl SuppressionNotice {
    /// One line for stderr and the text report.
    pub fn line(&self) -> String {
        let place = match &self.path {
            Some(path) => format!("{} on {path}", self.check),
            None => self.check.clone(),
        };
        format!(
            "suppression of {place} expired on {} ({}): {} finding(s) reported again",
            self.until, self.reason, self.findings
        )
    }
}

/// Moves the findings an active suppression matches into
/// `report.suppressed`, notes each expired one that would have matched,
/// and scores what is left.
pub fn suppress(report: &mut Report, suppressions: &[Suppression], today: NaiveDate) {
    for suppression in suppressions {
        let until = suppression.until.map(|d| d.format("%Y-%m-%d").to_string());
        if suppression.expired(today) {
            report.suppression_notices.push(SuppressionNotice {
                check: suppression.check.clone(),
                path: suppression.path.clone(),
                reason: suppression.reason.clone(),
                until: until.unwrap_or_default(),
                findings: report
                    .findings
                    .iter()
                    .filter(|f| suppression.matches(f))
                    .count(),
            });
            continue;
        }
        let (held, kept): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut report.findings)
            .into_iter()
            .partition(|f| suppression.matches(f));
        report.findings = kept;
        report
            .suppressed
            .extend(held.into_iter().map(|finding| Suppressed {
                finding,
                reason: suppression.reason.clone(),
                until: until.clone(),
            }));
    }
    rescore(report);
}

/// Compares the report's findings with a previous report's, by stable id.
pub fn compare(report: &mut Report, previous: &Report, file: &str) {
    let previous: Vec<FixedFinding> = previous.findings.iter().map(FixedFinding::from).collect();
    compare_with(report, &previous, file);
}

/// [`compare`] with the previous findings in brief, as a fleet view keeps
/// them (the previous night's `rampart merge` output).
pub fn compare_with(report: &mut Report, previous: &[FixedFinding], file: &str) {
    let before: HashSet<&str> = previous.iter().map(|f| f.id.as_str()).collect();
    let now: HashSet<&str> = report
        .findings
        .iter()
        .map(|f| f.id.as_str())
        .chain(report.suppressed.iter().map(|s| s.finding.id.as_str()))
        .collect();
    let (unchanged, new): (Vec<String>, Vec<String>) = report
        .findings
        .iter()
        .map(|f| f.id.clone())
        .partition(|id| before.contains(id.as_str()));
    let (fixed, not_retested): (Vec<&FixedFinding>, Vec<&FixedFinding>) = previous
        .iter()
        .filter(|f| !now.contains(f.id.as_str()))
        .partition(|f| retested(report, &f.check));
    report.baseline = Some(BaselineComparison {
        file: file.to_string(),
        new,
        unchanged,
        fixed: fixed.into_iter().cloned().collect(),
        not_retested: not_retested.into_iter().cloned().collect(),
    });
}

/// Whether this scan ran `check`: a finding of a check that was not
/// selected, or was switched off, did not go away, it went unobserved.
fn retested(report: &Report, check: &str) -> bool {
    report
        .coverage
        .iter()
        .any(|c| c.check == check && !c.skipped.iter().any(|s| s.endpoint == ALL_ENDPOINTS))
}

/// A new score; an incomplete scan keeps its "incomplete" grade whatever
/// is suppressed, since what it did not see is not known to be clean.
fn rescore(report: &mut Report) {
    report.score = score::score(&report.findings);
    report.grade = if report.complete {
        score::grade(report.score)
    } else {
        Grade::Incomplete
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn a_suppression_holds_back_its_findings_until_it_expires() {
        let suppression = Suppression {
            check: "exposure.*".into(),
            path: Some("/api/users/*".into()),
            reason: "test data only".into(),
            until: Some(date("2027-01-31")),
        };
        let mut active = sample_report();
        let before = active.findings.len();
        suppress(
            &mut active,
            std::slice::from_ref(&suppression),
            date("2027-01-31"),
        );
        assert_eq!(active.suppressed.len(), 1);
        assert_eq!(active.suppressed[0].finding.check, "exposure.pii");
        assert_eq!(active.suppressed[0].until.as_deref(), Some("2027-01-31"));
        assert_eq!(active.findings.len(), before - 1);
        assert!(active.suppression_notices.is_empty());
        assert_eq!(active.score, score::score(&active.findings));

        let mut expired = sample_report();
        suppress(&mut expired, &[suppression], date("2027-02-01"));
        assert!(expired.suppressed.is_empty());
        assert_eq!(expired.findings.len(), before);
        assert_eq!(expired.suppression_notices.len(), 1);
        assert_eq!(
            expired.suppression_notices[0].line(),
            "suppression of exposure.* on /api/users/* expired on 2027-01-31 \
             (test data only): 1 finding(s) reported again"
        );
    }

    #[test]
    fn suppressing_findings_of_an_incomplete_scan_leaves_it_incomplete() {
        let mut report = sample_report();
        report.complete = false;
        report.grade = Grade::Incomplete;
        suppress(&mut report, &[], date("2030-01-01"));
        assert_eq!(report.grade, Grade::Incomplete);
        let mut complete = sample_report();
        suppress(&mut complete, &[], date("2030-01-01"));
        assert_eq!(complete.grade, score::grade(complete.score));
    }

    #[test]
    fn a_suppression_without_a_path_holds_every_endpoint_of_its_check() {
        let mut report = sample_report();
        let suppression = Suppression {
            check: "cache.identity-unkeyed".into(),
            path: None,
            reason: "accepted".into(),
            until: None,
        };
        suppress(&mut report, &[suppression], date("2030-01-01"));
        assert!(report
            .findings
            .iter()
            .all(|f| f.check != "cache.identity-unkeyed"));
        assert_eq!(report.suppressed.len(), 1);
    }

    #[test]
    fn findings_are_new_unchanged_or_fixed_against_the_baseline() {
        let previous = sample_report();
        let mut report = sample_report();
        let gone = report.findings.remove(0);
        let mut added = report.findings[0].clone();
        added.id = "RMP-000000000new".into();
        report.findings.push(added);
        compare(&mut report, &previous, "previous.json");
        let baseline = report.baseline.as_ref().expect("compared");
        assert_eq!(baseline.new, vec!["RMP-000000000new".to_string()]);
        assert_eq!(baseline.unchanged.len(), previous.findings.len() - 1);
        assert_eq!(baseline.fixed.len(), 1);
        assert_eq!(baseline.fixed[0].id, gone.id);
        assert_eq!(report.baseline_state(&gone.id), None);
        assert_eq!(
            report.baseline_state("RMP-000000000new"),
            Some(BaselineState::New)
        );
        assert_eq!(
            report.baseline_state(&report.findings[0].id),
            Some(BaselineState::Unchanged)
        );
    }

    #[test]
    fn fail_on_judges_only_new_findings_once_compared() {
        let previous = sample_report();
        let mut report = sample_report();
        assert_eq!(report.worst_to_fail_on(), Some(Severity::High));
        compare(&mut report, &previous, "previous.json");
        assert_eq!(report.worst_to_fail_on(), None);
    }

    #[test]
    fn a_finding_whose_check_did_not_run_is_not_called_fixed() {
        let previous = sample_report();
        let mut report = sample_report();
        let gone = report.findings.remove(0);
        report.coverage.retain(|c| c.check != gone.check);
        compare(&mut report, &previous, "previous.json");
        let baseline = report.baseline.as_ref().expect("compared");
        assert!(baseline.fixed.is_empty());
        assert_eq!(baseline.not_retested[0].id, gone.id);
    }
}
