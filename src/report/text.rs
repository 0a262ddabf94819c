//! The terminal report, for a person skimming it: the summary first
//! (target, stack, counts by severity, the worst findings in a short
//! table), then the findings grouped by check, each weakness once with the
//! endpoints it was found on. Colour only when asked (stdout is a terminal
//! and `NO_COLOR` is unset); whatever the server sent is shown with its
//! control characters made visible, never sent to the terminal.

use std::fmt::Write as _;

use super::groups::{self, CheckGroup, Issue};
use super::Report;
use crate::engine::{PaceMode, PacingReport};
use crate::finding::Severity;
use crate::sanitize::for_display as shown;

struct Palette {
    color: bool,
}

impl Palette {
    fn paint(&self, code: &str, text: &str) -> String {
        // Callers pass server text through `shown` first; escapes are ours only.
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(&self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;36",
            Severity::Info => "1;37",
        };
        self.paint(code, text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// The title of one of the lists after the findings, with its length.
    fn heading(&self, out: &mut String, title: &str, count: usize) {
        let _ = writeln!(out, "\n{}", self.bold(&format!("{title} ({count})")));
    }
}

pub fn render(report: &Report, color: bool) -> String {
    let p = Palette { color };
    let mut out = String::new();
    let groups = groups::by_check(report);
    write_summary(&mut out, &p, report, &groups);
    if !groups.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold("FINDINGS BY CHECK"));
        for group in &groups {
            write_group(&mut out, &p, report, group);
        }
    }
    if let Some(baseline) = report.baseline.as_ref().filter(|b| !b.fixed.is_empty()) {
        p.heading(&mut out, "FIXED SINCE THE BASELINE", baseline.fixed.len());
        for fixed in &baseline.fixed {
            let _ = writeln!(
                out,
                "  {} {}  {}  {}",
                p.severity(fixed.severity, &format!("{:<8}", fixed.severity.as_str())),
                shown(&fixed.title),
                shown(&fixed.endpoint()),
                p.dim(&format!("[{}] {}", fixed.check, fixed.id))
            );
        }
    }
    if !report.suppressed.is_empty() {
        p.heading(&mut out, "SUPPRESSED", report.suppressed.len());
        for held in &report.suppressed {
            let until = held
                .until
                .as_deref()
                .map(|d| format!(" until {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}  {}",
                shown(&held.finding.head.title),
                shown(&held.finding.endpoint()),
                p.dim(&format!(
                    "{}{until}: {}",
                    held.finding.id,
                    shown(&held.reason)
                ))
            );
        }
    }
    if !report.warnings.is_empty() {
        p.heading(&mut out, "WARNINGS", report.warnings.len());
        for warning in &report.warnings {
            let _ = writeln!(out, "  {}", warning.message);
        }
    }
    if !report.changes.is_empty() {
        p.heading(&mut out, "CHANGES MADE", report.changes.len());
        for change in &report.changes {
            let state = if change.restored {
                "restored"
            } else {
                "NOT RESTORED"
            };
            let _ = writeln!(
                out,
                "  {}: {} — {state}",
                shown(&change.request),
                shown(&change.what)
            );
        }
    }
    let switched_off = report.switched_off();
    if !switched_off.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold("NOT TESTED"));
        for (reason, checks) in switched_off {
            let _ = writeln!(out, "  {}: {}", checks.join(", "), shown(reason));
        }
    }
    if !report.errors.is_empty() {
        p.heading(&mut out, "ERRORS", report.errors.len());
        for error in &report.errors {
            let _ = writeln!(
                out,
                "  {}: {}",
                shown(&error.endpoint),
                shown(&error.message)
            );
        }
    }
    out
}

/// What a person reads first: where, what, how bad, and the worst
/// findings in a short table.
fn write_summary(out: &mut String, p: &Palette, report: &Report, groups: &[CheckGroup<'_>]) {
    let _ = writeln!(
        out,
        "{} {} — {}",
        p.bold("rampart"),
        shown(&report.tool.version),
        shown(&report.target)
    );
    let _ = writeln!(
        out,
        "{}",
        p.dim(&format!(
            "stack: {} · {} endpoints · {} requests · {} · {}",
            shown(&report.stack.label()),
            report.endpoints.len(),
            report.requests_sent,
            groups::duration(report.duration_ms),
            pace(&report.pacing)
        ))
    );
    let counts: Vec<String> = report
        .counts()
        .iter()
        .map(|(severity, n)| {
            let text = format!("{n} {}", severity.as_str());
            if *n > 0 {
                p.severity(*severity, &text)
            } else {
                text
            }
        })
        .collect();
    // An incomplete scan's grade is no verdict; the letter is only for
    // what was scanned.
    let grade = if report.complete {
        report.grade.to_string()
    } else {
        format!(
            "incomplete; {} on what was scanned",
            super::score::grade(report.score)
        )
    };
    let _ = writeln!(
        out,
        "{} {}/100 ({grade}) · {} finding(s): {}",
        p.bold("score"),
        report.score,
        report.findings.len(),
        counts.join(" · ")
    );
    if !report.complete {
        let _ = writeln!(out, "\n{}", p.bold("INCOMPLETE SCAN"));
        for cut in &report.incomplete_reasons {
            let _ = writeln!(out, "  {}", shown(&cut.detail));
        }
    }
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            out,
            "baseline {}: {}",
            shown(&baseline.file),
            baseline.tally(str::to_string)
        );
    }
    if let Some(line) = report.suppressed_line() {
        let _ = writeln!(out, "{line} (listed under SUPPRESSED)");
    }
    for notice in &report.suppression_notices {
        let _ = writeln!(out, "{} {}", p.bold("note:"), shown(&notice.line()));
    }
    if groups.is_empty() {
        let _ = writeln!(out, "\nNo findings.");
        return;
    }
    let top = groups::top(groups, TOP_ROWS);
    let _ = writeln!(out, "\n{}", p.bold("TOP FINDINGS"));
    let check_width = top.iter().map(|i| i.first().check.len()).max().unwrap_or(5);
    for issue in &top {
        let first = issue.first();
        let more = match issue.findings.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        let _ = writeln!(
            out,
            "  {}  {:<check_width$}  {}  {}",
            p.severity(issue.severity, &format!("{:<8}", issue.severity.as_str())),
            first.check,
            truncate_chars(&shown(issue.title), 70),
            p.dim(&format!(
                "{} {}{more}",
                shown(&first.head.method),
                truncate_chars(&shown(&first.head.path), 50)
            ))
        );
    }
    let issues: usize = groups.iter().map(|g| g.issues.len()).sum();
    if issues > top.len() {
        let _ = writeln!(out, "  … and {} more below", issues - top.len());
    }
}

/// Rows of the summary's table of the worst findings.
const TOP_ROWS: usize = 10;

fn write_group(out: &mut String, p: &Palette, report: &Report, group: &CheckGroup<'_>) {
    let _ = writeln!(
        out,
        "\n{} {}  {}",
        p.severity(group.worst, "■"),
        p.bold(group.check),
        p.dim(&format!(
            "{} · {} finding(s){}",
            group.category.as_str(),
            group.findings(),
            group.title().map(|t| format!(" · {t}")).unwrap_or_default()
        ))
    );
    if let Some(remediation) = group.remediation() {
        let _ = writeln!(
            out,
            "  {} {} {}",
            p.dim("fix:"),
            shown(&remediation.summary),
            p.dim(&format!(
                "({}; rampart explain {})",
                shown(&remediation.stack),
                group.check
            ))
        );
    }
    for issue in &group.issues {
        write_issue(out, p, report, issue);
    }
}

fn write_issue(out: &mut String, p: &Palette, report: &Report, issue: &Issue<'_>) {
    let first = issue.first();
    let _ = writeln!(
        out,
        "  {} {}  {}",
        p.severity(issue.severity, &format!("● {}", issue.severity.as_str())),
        p.bold(&shown(issue.title)),
        p.dim(issue.confidence.as_str())
    );
    for finding in &issue.findings {
        let parameter = match &finding.head.parameter {
            Some(name) => format!(" (parameter: {})", shown(name)),
            None => String::new(),
        };
        let state = report
            .baseline_state(&finding.id)
            .map(|s| format!(" [{}]", s.as_str()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {}{parameter}  {}{state}",
            shown(&finding.endpoint()),
            p.dim(&finding.id)
        );
    }
    if !first.head.description.is_empty() {
        let _ = writeln!(out, "    {}", shown(&first.head.description));
    }
    let on = if issue.findings.len() > 1 {
        format!(
            " ({} {})",
            shown(&first.head.method),
            shown(&first.head.path)
        )
    } else {
        String::new()
    };
    for evidence in &first.evidence {
        let excerpt: String = evidence
            .response
            .body_excerpt
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "    {} {} → HTTP {}  {}",
            p.dim(&format!("evidence{on}:")),
            shown(&evidence.step),
            evidence.response.status,
            p.dim(&truncate_chars(&shown(&excerpt), 160))
        );
    }
    for line in &first.reproduce {
        let _ = writeln!(out, "    {} {}", p.dim("reproduce:"), shown(line));
    }
}

/// The coverage table `-v` prints: per check, what it probed and skipped,
/// and the reasons it skipped, most frequent first.
pub fn coverage_table(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .coverage
        .iter()
        .map(|c| c.check.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(out, "{:<width$}  probed  skipped  why", "check");
    for coverage in &report.coverage {
        let mut reasons: Vec<(usize, &str)> = Vec::new();
        for skipped in &coverage.skipped {
            let reason = short_reason(&skipped.reason);
            match reasons.iter_mut().find(|(_, r)| *r == reason) {
                Some((count, _)) => *count += 1,
                None => reasons.push((1, reason)),
            }
        }
        reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        let why: Vec<String> = reasons
            .iter()
            .map(|(count, reason)| match count {
                1 => reason.to_string(),
                n => format!("{reason} ×{n}"),
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:>6}  {:>7}  {}",
            coverage.check,
            coverage.probed,
            coverage.skipped.len(),
            shown(&why.join(", "))
        );
    }
    out
}

/// A reason without its details (what is in brackets, what follows a
/// colon), so that reasons of one kind count together.
fn short_reason(reason: &str) -> &str {
    let cut = [" (", ": "]
        .iter()
        .filter_map(|mark| reason.find(mark))
        .min()
        .unwrap_or(reason.len());
    &reason[..cut]
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The effective rate and how it was kept, e.g. `212 req/s (adaptive)`.
fn pace(pacing: &PacingReport) -> String {
    let mode = match (pacing.mode, pacing.ceiling_per_second) {
        (Some(PaceMode::Adaptive), Some(ceiling)) => format!("adaptive, ceiling {ceiling}/s"),
        (Some(PaceMode::Adaptive), None) => "adaptive".to_string(),
        (Some(PaceMode::Steady), Some(ceiling)) => format!("steady {ceiling}/s"),
        (Some(PaceMode::Steady), None) => "unlimited".to_string(),
        (None, _) => "pace unknown".to_string(),
    };
    let mut text = format!("{:.0} req/s ({mode})", pacing.effective_per_second);
    if pacing.throttled_responses > 0 {
        text.push_str(&format!(
            " · throttled {} time(s), paused {:.1} s",
            pacing.throttled_responses,
            pacing.paused_ms as f64 / 1000.0
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CheckCoverage, Skipped};

    fn skipped(endpoint: &str, reason: &str) -> Skipped {
        Skipped {
            endpoint: endpoint.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn the_coverage_table_counts_reasons_of_one_kind_together() {
        let coverage = vec![
            CheckCoverage {
                check: "authz.bola".into(),
                probed: 2,
                skipped: vec![
                    skipped("GET /a", "no identifier found"),
                    skipped("GET /reset", "looks state-changing (reset)"),
                    skipped("GET /seed", "looks state-changing (seed)"),
                    skipped("GET /x", "failed: timeout after 10 s"),
                ],
            },
            CheckCoverage {
                check: "exposure.pii".into(),
                probed: 7,
                skipped: Vec::new(),
            },
        ];
        let json = serde_json::json!({
            "schema": "rampart.report/1", "tool": {"name": "rampart", "version": "0"},
            "target": "http://h/", "started_at": "", "duration_ms": 0, "requests_sent": 0,
            "stack": {"technologies": []}, "score": 100, "grade": "A", "endpoints": [], "findings": [], "errors": []
        });
        let mut report: Report = serde_json::from_value(json).expect("a minimal report");
        report.coverage = coverage;
        let table = coverage_table(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "check         probed  skipped  why");
        assert_eq!(
            lines[1],
            "authz.bola         2        4  looks state-changing ×2, no identifier found, failed"
        );
        assert_eq!(lines[2], "exposure.pii       7        0  ");
    }
}
