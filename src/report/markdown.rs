//! A Markdown summary sized for a pull-request comment: the verdict, counts
//! by severity, what is new against the baseline, then each check's
//! findings in a collapsed section. GitHub refuses comments longer than
//! 65,536 characters, so sections that would not fit are left out and a
//! closing note says how many.
//!
//! Everything the server sent is escaped: GitHub renders HTML and Markdown
//! in comments, so a path or title must not be able to add a link, an image
//! or markup.

use std::fmt::Write as _;

use super::groups::{self, CheckGroup};
use super::Report;
use crate::finding::Severity;
use crate::sanitize::for_display;

/// GitHub's limit on the body of an issue or pull-request comment.
pub const COMMENT_LIMIT: usize = 65_536;

pub fn render(report: &Report) -> String {
    render_within(report, COMMENT_LIMIT)
}

/// The summary in at most `limit` characters (Unicode scalar values, as
/// GitHub counts them).
pub fn render_within(report: &Report, limit: usize) -> String {
    let groups = groups::by_check(report);
    let mut out = summary(report);
    let mut sections: Vec<String> = groups.iter().map(|g| section(report, g)).collect();
    if let Some(fixed) = fixed_section(report) {
        sections.push(fixed);
    }
    // Room for the note that says what did not fit.
    let reserve = 400;
    let mut used = out.chars().count();
    let mut left_out = 0usize;
    let mut findings_left_out = 0usize;
    for (n, text) in sections.iter().enumerate() {
        let size = text.chars().count();
        if left_out == 0 && used + size + reserve <= limit {
            out.push_str(text);
            used += size;
        } else {
            left_out += 1;
            findings_left_out += groups.get(n).map(|g| g.findings()).unwrap_or(0);
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n> **Shortened to fit a comment:** {left_out} more section(s) with \
             {findings_left_out} finding(s) are in the full report \
             (`--format html`, `json` or `sarif`)."
        );
    }
    out
}

fn summary(report: &Report) -> String {
    let mut out = String::new();
    let verdict = match report.findings.len() {
        0 => "no findings".to_string(),
        1 => "1 finding".to_string(),
        n => format!("{n} findings"),
    };
    let _ = writeln!(
        out,
        "## Rampart: {verdict} · score {}/100 ({})\n",
        report.score, report.grade
    );
    if !report.complete {
        let reasons: Vec<&str> = report
            .incomplete_reasons
            .iter()
            .map(|cut| cut.detail.as_str())
            .collect();
        let _ = writeln!(out, "**Incomplete scan:** {}\n", reasons.join("; "));
    }
    let _ = writeln!(
        out,
        "{} · stack {} · {} endpoints · {} requests · {}\n",
        code(&report.target),
        code(&report.stack.label()),
        report.endpoints.len(),
        report.requests_sent,
        groups::duration(report.duration_ms)
    );
    let counts = report.counts();
    let _ = writeln!(
        out,
        "| {} |\n|{}\n| {} |\n",
        counts
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        "---:|".repeat(counts.len()),
        counts
            .iter()
            .map(|(_, n)| n.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            out,
            "Against the baseline: {}\n",
            baseline.tally(|new| format!("**{new}**"))
        );
    }
    if let Some(line) = report.suppressed_line() {
        let _ = writeln!(out, "{line}.\n");
    }
    for notice in &report.suppression_notices {
        let _ = writeln!(out, "> {}\n", text(&notice.line()));
    }
    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "{} endpoint(s) could not be probed (see the full report).\n",
            report.errors.len()
        );
    }
    out
}

fn section(report: &Report, group: &CheckGroup<'_>) -> String {
    let mut out = String::new();
    let title = group
        .title()
        .map(|t| format!(" — {}", text(t)))
        .unwrap_or_default();
    let new = match &report.baseline {
        Some(_) => {
            let new = group
                .issues
                .iter()
                .flat_map(|i| i.findings.iter())
                .filter(|f| report.baseline_state(&f.id) == Some(super::BaselineState::New))
                .count();
            format!(", {new} new")
        }
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "<details><summary><b>{}</b> ({}, {} finding(s){new}){title}</summary>\n",
        group.check,
        group.worst.as_str(),
        group.findings()
    );
    out.push_str(TABLE_HEAD);
    for issue in &group.issues {
        for finding in &issue.findings {
            let state = match report.baseline_state(&finding.id) {
                Some(super::BaselineState::New) => " **new**",
                _ => "",
            };
            let title = format!("{}{state}", cell(&finding.head.title));
            row(
                &mut out,
                issue.severity,
                &title,
                &finding.endpoint(),
                &finding.id,
            );
        }
    }
    let first = group.issues[0].first();
    if let Some(line) = first.reproduce.last() {
        let _ = writeln!(out, "\nReproduce:\n\n```sh\n{}\n```", fence(line));
    }
    if let Some(remediation) = group.remediation() {
        let _ = writeln!(
            out,
            "\n**Fix ({}):** {} (`rampart explain {}`)",
            text(&remediation.stack),
            with_code(&remediation.summary),
            group.check
        );
    }
    out.push_str("\n</details>\n\n");
    out
}

/// The head of a table of findings, one [`row`] each.
const TABLE_HEAD: &str = "| severity | finding | endpoint | id |\n|---|---|---|---|\n";

/// One finding in a table: `title` is already Markdown, `endpoint` is not.
fn row(out: &mut String, severity: Severity, title: &str, endpoint: &str, id: &str) {
    let _ = writeln!(
        out,
        "| {} | {title} | {} | `{id}` |",
        severity.as_str(),
        cell(endpoint)
    );
}

fn fixed_section(report: &Report) -> Option<String> {
    let baseline = report.baseline.as_ref()?;
    if baseline.fixed.is_empty() {
        return None;
    }
    let mut out = format!(
        "<details><summary><b>Fixed since the baseline</b> ({})</summary>\n\n{TABLE_HEAD}",
        baseline.fixed.len()
    );
    for fixed in &baseline.fixed {
        row(
            &mut out,
            fixed.severity,
            &cell(&fixed.title),
            &fixed.endpoint(),
            &fixed.id,
        );
    }
    out.push_str("\n</details>\n\n");
    Some(out)
}

/// Server text as Markdown prose: control characters made visible, then
/// every character that could start markup escaped.
fn text(raw: &str) -> String {
    let shown = for_display(raw);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            // Enough to stop emphasis, links, images, tables, headings,
            // code and autolinks (`http:`, `www.`, `a@b`).
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '|' | '~' | '.' | '@' | ':' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Prose whose `code` spans stay code (the knowledge base's summaries).
fn with_code(raw: &str) -> String {
    raw.split('`')
        .enumerate()
        .map(|(n, part)| if n % 2 == 1 { code(part) } else { text(part) })
        .collect()
}

/// Text inside a table cell (escaped prose on one line).
fn cell(raw: &str) -> String {
    text(raw)
}

/// Short text as inline code (the target, the stack). A backtick would end
/// the span and a pipe a table cell; angle brackets are replaced too, so
/// no reader has to know which of HTML and code spans wins.
fn code(raw: &str) -> String {
    let shown = for_display(raw)
        .replace(['`', '\n', '\r'], "'")
        .replace('|', "¦")
        .replace('<', "‹")
        .replace('>', "›");
    format!("`{shown}`")
}

/// A line inside a fenced block: only a fence could end the block early.
fn fence(raw: &str) -> String {
    for_display(raw).replace("```", "'''")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::report::tests::{finding, sample_report};

    #[test]
    fn a_comment_summarises_and_groups_by_check() {
        let markdown = render(&sample_report());
        assert!(markdown.starts_with("## Rampart: 2 findings · score 70/100 (C)"));
        for expected in [
            "| critical | high | medium | low | info |",
            "| 0 | 2 | 0 | 0 | 0 |",
            "<b>exposure.pii</b>",
            "**Fix (flask):** Key the cache on the caller\\.",
            "|---:|---:|---:|---:|---:|\n",
        ] {
            assert!(markdown.contains(expected), "{expected}");
        }
        assert_eq!(with_code("Use `a.b` now."), "Use `a.b` now\\.");
    }

    #[test]
    fn a_huge_report_is_shortened_with_a_note_and_stays_under_the_limit() {
        let mut report = sample_report();
        for n in 0..3000 {
            let check = ["exposure.pii", "cache.risky-headers", "authz.bola"][n % 3];
            let mut f = finding(
                &format!("RMP-{n:012}"),
                check,
                Severity::Medium,
                &format!("/api/items/{n}/details/with/a/long/path"),
                "{}",
            );
            f.head.title = format!("A finding with a long title number {n}, to fill the comment");
            report.findings.push(f);
        }
        let markdown = render(&report);
        assert!(markdown.chars().count() <= COMMENT_LIMIT);
        assert!(
            markdown.contains("**Shortened to fit a comment:**"),
            "no note"
        );
        // Short reports are left whole.
        let whole = render(&sample_report());
        assert!(!whole.contains("Shortened"));
        // And a tiny limit still keeps the summary and the note.
        let tiny = render_within(&report, 3000);
        assert!(tiny.chars().count() <= 3000, "{}", tiny.chars().count());
        assert!(tiny.contains("## Rampart:") && tiny.contains("Shortened"));
    }

    #[test]
    fn server_text_cannot_add_markup() {
        let mut report = sample_report();
        report.findings[0].head.title =
            "<img src=x onerror=alert(1)> [click](http://evil) | x".into();
        report.findings[0].head.path = "/a`b|c</details>".into();
        let markdown = render(&report);
        assert!(!markdown.contains("<img"), "{markdown}");
        assert!(!markdown.contains("[click](http"), "{markdown}");
        assert!(markdown.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!markdown.contains("c</details>"));
    }
}
