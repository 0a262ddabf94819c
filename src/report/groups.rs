//! The findings as people read them: grouped by check, and within a check
//! one entry per distinct finding with every endpoint it was found on, so
//! the same weakness is not repeated once per endpoint. The text, Markdown
//! and HTML reports all read this view.

use super::Report;
use crate::finding::{Category, Confidence, Finding, Severity};

/// The findings of one check.
pub struct CheckGroup<'a> {
    pub check: &'a str,
    pub category: Category,
    pub worst: Severity,
    pub issues: Vec<Issue<'a>>,
}

impl CheckGroup<'_> {
    pub fn findings(&self) -> usize {
        self.issues.iter().map(|i| i.findings.len()).sum()
    }

    /// The knowledge base's title for the check, when it has one.
    pub fn title(&self) -> Option<&'static str> {
        crate::knowledge::entry(self.check).map(|e| e.title.as_str())
    }

    /// The fix every finding of the check shares (the variant is chosen per
    /// stack, so one scan has one), from the first finding that has one.
    pub fn remediation(&self) -> Option<&crate::finding::Remediation> {
        self.issues
            .iter()
            .flat_map(|i| i.findings.iter())
            .find_map(|f| f.remediation.as_ref())
    }
}

/// One weakness (same title and severity) and every finding of it, one per
/// endpoint or parameter, in report order.
pub struct Issue<'a> {
    pub title: &'a str,
    pub severity: Severity,
    pub confidence: Confidence,
    pub findings: Vec<&'a Finding>,
}

impl<'a> Issue<'a> {
    /// The finding whose evidence stands for the issue.
    pub fn first(&self) -> &'a Finding {
        self.findings[0]
    }
}

/// The findings grouped by check, the worst check first (then the one with
/// more findings, then by id); issues inside a check worst first.
pub fn by_check(report: &Report) -> Vec<CheckGroup<'_>> {
    by_check_of(&report.findings)
}

pub fn by_check_of(findings: &[Finding]) -> Vec<CheckGroup<'_>> {
    let mut groups: Vec<CheckGroup<'_>> = Vec::new();
    for finding in findings {
        let at = match groups.iter().position(|g| g.check == finding.check) {
            Some(at) => at,
            None => {
                groups.push(CheckGroup {
                    check: &finding.check,
                    category: finding.category,
                    worst: finding.head.severity,
                    issues: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[at];
        group.worst = group.worst.max(finding.head.severity);
        match group
            .issues
            .iter_mut()
            .find(|i| i.title == finding.head.title && i.severity == finding.head.severity)
        {
            Some(issue) => {
                issue.confidence = issue.confidence.max(finding.head.confidence);
                issue.findings.push(finding);
            }
            None => group.issues.push(Issue {
                title: &finding.head.title,
                severity: finding.head.severity,
                confidence: finding.head.confidence,
                findings: vec![finding],
            }),
        }
    }
    for group in &mut groups {
        group.issues.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.confidence.cmp(&a.confidence))
        });
    }
    groups.sort_by(|a, b| {
        b.worst
            .cmp(&a.worst)
            .then_with(|| b.findings().cmp(&a.findings()))
            .then_with(|| a.check.cmp(b.check))
    });
    groups
}

/// How many findings of each category, most first (ties by name).
pub fn by_category(report: &Report) -> Vec<(Category, usize)> {
    let mut counts: Vec<(Category, usize)> = Vec::new();
    for finding in &report.findings {
        match counts.iter_mut().find(|(c, _)| *c == finding.category) {
            Some((_, n)) => *n += 1,
            None => counts.push((finding.category, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_str().cmp(b.0.as_str())));
    counts
}

/// The worst findings, one per issue, for a summary table.
pub fn top<'a>(groups: &'a [CheckGroup<'a>], limit: usize) -> Vec<&'a Issue<'a>> {
    let mut issues: Vec<&Issue<'_>> = groups.iter().flat_map(|g| g.issues.iter()).collect();
    issues.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.confidence.cmp(&a.confidence))
    });
    issues.truncate(limit);
    issues
}

/// A duration as a person reads it: milliseconds under a second, tenths
/// of seconds under a minute, then minutes and seconds.
pub fn duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => {
            let seconds = ms / 1000;
            format!("{} min {:02} s", seconds / 60, seconds % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{finding, sample_report};

    #[test]
    fn one_weakness_on_many_endpoints_is_one_issue_listing_them() {
        let mut report = sample_report();
        for (n, path) in ["/a", "/b", "/c"].iter().enumerate() {
            let mut f = finding(
                &format!("RMP-00000000000{n}"),
                "cache.risky-headers",
                Severity::Low,
                path,
                "{}",
            );
            f.head.title = "Caller-specific response without Cache-Control: private".into();
            report.findings.push(f);
        }
        let groups = by_check(&report);
        let risky = groups
            .iter()
            .find(|g| g.check == "cache.risky-headers")
            .expect("grouped");
        assert_eq!(risky.issues.len(), 1);
        assert_eq!(risky.issues[0].findings.len(), 3);
        assert_eq!(risky.findings(), 3);
        // Worst check first; the low one last.
        assert_eq!(groups.last().map(|g| g.check), Some("cache.risky-headers"));
        assert_eq!(top(&groups, 2).len(), 2);
        assert!(top(&groups, 10).iter().all(|i| i.severity >= Severity::Low));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(480), "480 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(125_000), "2 min 05 s");
    }
}
