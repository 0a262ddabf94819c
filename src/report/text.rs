//! The terminal report: findings grouped by severity, worst first, and a
//! one-line summary. Colour only when asked (stdout is a terminal).

use std::fmt::Write as _;

use super::Report;
use crate::engine::{PaceMode, PacingReport};
use crate::finding::{Finding, Severity};
use crate::sanitize::for_display as shown;

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
        shown(&report.tool.version),
        shown(&report.target)
    );
    let _ = writeln!(
        out,
        "{}",
        p.dim(&format!(
            "stack: {} · {} endpoints · {} requests · {:.1} s · {}",
            shown(&report.stack.label()),
            report.endpoints.len(),
            report.requests_sent,
            report.duration_ms as f64 / 1000.0,
            pace(&report.pacing)
        ))
    );
    if !report.complete {
        let _ = writeln!(out, "\n{}", p.bold("INCOMPLETE SCAN"));
        for cut in &report.incomplete_reasons {
            let _ = writeln!(out, "  {}", shown(&cut.detail));
        }
    }
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
    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            p.bold(&format!("ERRORS ({})", report.errors.len()))
        );
        for error in &report.errors {
            let _ = writeln!(
                out,
                "  {}: {}",
                shown(&error.endpoint),
                shown(&error.message)
            );
        }
    }
    let counts: Vec<String> = Severity::ALL_DESCENDING
        .iter()
        .map(|s| format!("{} {}", report.count(*s), s.as_str()))
        .collect();
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
        "\n{} {} finding(s): {} · score {}/100 ({grade})",
        p.bold("Summary:"),
        report.findings.len(),
        counts.join(", "),
        report.score,
    );
    out
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

fn write_finding(out: &mut String, p: &Palette, finding: &Finding) {
    let _ = writeln!(
        out,
        "  {} {}  {}",
        p.severity(finding.severity, "●"),
        p.bold(&shown(&finding.title)),
        p.dim(&format!(
            "[{}] {}",
            finding.check,
            finding.confidence.as_str()
        ))
    );
    let parameter = finding
        .parameter
        .as_deref()
        .map(|name| format!(" (field/parameter: {})", shown(name)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "    {} {}{}",
        shown(&finding.method),
        shown(&finding.path),
        parameter
    );
    if !finding.description.is_empty() {
        let _ = writeln!(out, "    {}", shown(&finding.description));
    }
    for evidence in &finding.evidence {
        let excerpt: String = evidence
            .response
            .body_excerpt
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let excerpt = truncate_chars(&shown(&excerpt), 160);
        let _ = writeln!(
            out,
            "    {} {} → HTTP {}  {}",
            p.dim("evidence:"),
            shown(&evidence.step),
            evidence.response.status,
            p.dim(&excerpt)
        );
    }
    for line in &finding.reproduce {
        let _ = writeln!(out, "    {} {}", p.dim("reproduce:"), shown(line));
    }
    if let Some(remediation) = &finding.remediation {
        let _ = writeln!(
            out,
            "    {} {} {}",
            p.dim("fix:"),
            shown(&remediation.summary),
            p.dim(&format!(
                "({}; rampart explain {})",
                shown(&remediation.stack),
                finding.check
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
