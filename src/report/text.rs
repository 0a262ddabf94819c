//! The terminal report: findings grouped by severity, worst first, and a
//! one-line summary. Colour only when asked (stdout is a terminal).

use std::fmt::Write as _;

use super::Report;
use crate::finding::{Finding, Severity};

struct Palette {
    color: bool,
}

impl Palette {
    fn paint(&self, code: &str, text: &str) -> String {
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
}

pub fn render(report: &Report, color: bool) -> String {
    let p = Palette { color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} — {}",
        p.bold("rampart"),
        report.tool.version,
        report.target
    );
    let _ = writeln!(
        out,
        "{}",
        p.dim(&format!(
            "stack: {} · {} endpoints · {} requests · {:.1} s",
            report.stack.label(),
            report.endpoints.len(),
            report.requests_sent,
            report.duration_ms as f64 / 1000.0
        ))
    );
    for severity in Severity::ALL_DESCENDING {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if findings.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{}",
            p.severity(
                severity,
                &format!("{} ({})", severity.as_str().to_uppercase(), findings.len())
            )
        );
        for finding in findings {
            write_finding(&mut out, &p, finding);
        }
    }
    if !report.changes.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            p.bold(&format!("CHANGES MADE ({})", report.changes.len()))
        );
        for change in &report.changes {
            let state = if change.restored {
                "restored"
            } else {
                "NOT RESTORED"
            };
            let _ = writeln!(out, "  {}: {} — {state}", change.request, change.what);
        }
    }
    let switched_off = report.switched_off();
    if !switched_off.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold("NOT TESTED"));
        for (reason, checks) in switched_off {
            let _ = writeln!(out, "  {}: {reason}", checks.join(", "));
        }
    }
    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            p.bold(&format!("ERRORS ({})", report.errors.len()))
        );
        for error in &report.errors {
            let _ = writeln!(out, "  {}: {}", error.endpoint, error.message);
        }
    }
    let counts: Vec<String> = Severity::ALL_DESCENDING
        .iter()
        .map(|s| format!("{} {}", report.count(*s), s.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "\n{} {} finding(s): {} · score {}/100 ({})",
        p.bold("Summary:"),
        report.findings.len(),
        counts.join(", "),
        report.score,
        report.grade
    );
    out
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
            why.join(", ")
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

fn write_finding(out: &mut String, p: &Palette, finding: &Finding) {
    let _ = writeln!(
        out,
        "  {} {}  {}",
        p.severity(finding.severity, "●"),
        p.bold(&finding.title),
        p.dim(&format!(
            "[{}] {}",
            finding.check,
            finding.confidence.as_str()
        ))
    );
    let parameter = finding
        .parameter
        .as_deref()
        .map(|name| format!(" (field/parameter: {name})"))
        .unwrap_or_default();
    let _ = writeln!(out, "    {} {}{}", finding.method, finding.path, parameter);
    if !finding.description.is_empty() {
        let _ = writeln!(out, "    {}", finding.description);
    }
    for evidence in &finding.evidence {
        let excerpt: String = evidence
            .response
            .body_excerpt
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let excerpt = truncate_chars(&excerpt, 160);
        let _ = writeln!(
            out,
            "    {} {} → HTTP {}  {}",
            p.dim("evidence:"),
            evidence.step,
            evidence.response.status,
            p.dim(&excerpt)
        );
    }
    for line in &finding.reproduce {
        let _ = writeln!(out, "    {} {}", p.dim("reproduce:"), line);
    }
    if let Some(remediation) = &finding.remediation {
        let _ = writeln!(
            out,
            "    {} {} {}",
            p.dim("fix:"),
            remediation.summary,
            p.dim(&format!(
                "({}; rampart explain {})",
                remediation.stack, finding.check
            ))
        );
    }
    let _ = writeln!(out, "    {}", p.dim(&format!("id {}", finding.id)));
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
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
