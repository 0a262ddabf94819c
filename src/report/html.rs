//! One self-contained HTML page (`--format html`) to send around: the
//! verdict, counts by severity and category, a chart of findings by
//! category, then the findings grouped by check, filterable by severity,
//! category and text, each with its evidence, reproduce lines and the fix
//! for the detected stack.
//!
//! Self-contained means no fetch of any kind: the style, the script and
//! the chart (SVG) are inline, and the page's Content-Security-Policy
//! allows nothing else, so a reader's browser contacts no one. Everything
//! that came from the server is HTML-escaped, and the policy lets only the
//! page's own script run (by its hash), so even a slip in escaping could
//! not run a script a server planted.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::groups::{self, CheckGroup};
use super::{BaselineState, Report};
use crate::finding::{Finding, Severity};

pub(crate) const STYLE: &str = r#"
:root { --crit:#7b1fa2; --high:#c62828; --med:#ef6c00; --low:#00838f; --info:#546e7a; --line:#d0d7de; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #fff; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 16px; margin: 0; }
.meta { color: #57606a; margin: 0 0 12px; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 110px; background: var(--bg); }
.card b { display: block; font-size: 24px; }
.sev-critical { --sev: var(--crit); } .sev-high { --sev: var(--high); } .sev-medium { --sev: var(--med); }
.sev-low { --sev: var(--low); } .sev-info { --sev: var(--info); }
.card[class*="sev-"] b, .badge { color: var(--sev); }
.badge { display: inline-block; font-weight: 700; text-transform: uppercase; font-size: 11px; border: 1px solid var(--sev); border-radius: 4px; padding: 0 5px; }
.tag { display: inline-block; font-size: 11px; border-radius: 4px; padding: 0 5px; background: #eaeef2; color: #424a53; }
.tag.new { background: #ffebe9; color: #82071e; }
#chart { max-width: 640px; }
#chart text { font-size: 12px; fill: #1f2328; }
.filters { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: 10px 0; display: flex; flex-wrap: wrap; gap: 12px; align-items: center; z-index: 1; }
.filters input[type=search] { min-width: 240px; padding: 4px 8px; }
section.check { border: 1px solid var(--line); border-left: 5px solid var(--sev); border-radius: 8px; margin: 14px 0; padding: 12px 14px; }
.fix { background: #f0fff4; border: 1px solid #aceebb; border-radius: 6px; padding: 8px 10px; margin: 8px 0; }
.fix details { margin-top: 6px; }
article.finding { border-top: 1px solid var(--line); padding: 10px 0 4px; }
.where { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
td, th { border-top: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
td:first-child { width: 30%; overflow-wrap: anywhere; }
.muted { color: #57606a; }
[hidden] { display: none !important; }
"#;

/// Filters the findings by severity, category and text; reads and writes
/// the choice in the URL's fragment (`#severity=high,critical&q=debug`)
/// so a filtered view can be linked.
const SCRIPT: &str = r#"
(function () {
  "use strict";
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=severity]"));
  var category = document.getElementById("category");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var findings = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.check"));
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (params.has("severity")) {
      var wanted = params.get("severity").split(",");
      boxes.forEach(function (b) { b.checked = wanted.indexOf(b.value) >= 0; });
    }
    if (params.has("category")) { category.value = params.get("category"); }
    if (params.has("q")) { search.value = params.get("q"); }
  }
  function apply() {
    var severities = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var cat = category.value;
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var visible = 0;
    findings.forEach(function (f) {
      var text = f.getAttribute("data-text");
      var ok = severities.indexOf(f.getAttribute("data-severity")) >= 0 &&
        (cat === "" || f.getAttribute("data-category") === cat) &&
        words.every(function (w) { return text.indexOf(w) >= 0; });
      f.hidden = !ok;
      if (ok) { visible += 1; }
    });
    sections.forEach(function (s) {
      s.hidden = !s.querySelector("article.finding:not([hidden])");
    });
    shown.textContent = String(visible);
  }
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  category.addEventListener("change", apply);
  search.addEventListener("input", apply);
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  readHash();
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();
"#;

pub fn render(report: &Report) -> String {
    let groups = groups::by_check(report);
    let script_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; img-src data:; \
         base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>Rampart report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&report.target)
    );
    write_header(&mut out, report);
    out.push_str("<main>\n");
    write_summary(&mut out, report);
    write_filters(&mut out, report);
    if groups.is_empty() {
        out.push_str("<p>No findings.</p>\n");
    }
    for group in &groups {
        write_group(&mut out, report, group);
    }
    write_tail(&mut out, report);
    let _ = write!(
        out,
        "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    out
}

fn write_header(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "<header>\n<h1>Rampart report</h1>\n<p class=\"meta\"><span class=\"where\">{}</span> · \
         stack {} · {} endpoints · {} requests · {} · started {} · rampart {}</p>\n</header>",
        esc(&report.target),
        esc(&report.stack.label()),
        report.endpoints.len(),
        report.requests_sent,
        esc(&groups::duration(report.duration_ms)),
        esc(&report.started_at),
        esc(&report.tool.version)
    );
}

fn write_summary(out: &mut String, report: &Report) {
    out.push_str("<section id=\"summary\">\n<div class=\"cards\">\n");
    let _ = writeln!(
        out,
        "<div class=\"card\" id=\"score\"><b>{}/100</b>score · grade {}</div>",
        report.score,
        esc(&report.grade.to_string())
    );
    for (severity, count) in report.counts() {
        let _ = writeln!(
            out,
            "<div class=\"card sev-{0}\" id=\"count-{0}\"><b>{count}</b>{0}</div>",
            severity.as_str()
        );
    }
    out.push_str("</div>\n");
    if !report.complete {
        out.push_str("<p id=\"incomplete\"><b>Incomplete scan:</b>");
        for cut in &report.incomplete_reasons {
            let _ = write!(out, " {}.", esc(&cut.detail));
        }
        out.push_str("</p>\n");
    }
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            out,
            "<p id=\"baseline\">Against the baseline <code>{}</code>: {}</p>",
            esc(&baseline.file),
            baseline.tally(|new| format!("<b>{new}</b>"))
        );
    }
    for notice in &report.suppression_notices {
        let _ = writeln!(out, "<p class=\"notice\">{}</p>", esc(&notice.line()));
    }
    let categories = groups::by_category(report);
    if !categories.is_empty() {
        out.push_str("<h2>Findings by category</h2>\n");
        write_chart(out, &categories);
    }
    out.push_str("</section>\n");
}

/// A horizontal bar chart, one bar per category, as inline SVG.
fn write_chart(out: &mut String, categories: &[(crate::finding::Category, usize)]) {
    let most = categories.iter().map(|c| c.1).max().unwrap_or(1).max(1);
    let (label_width, bar_width, row) = (170, 400, 24);
    let height = row * categories.len() + 4;
    let _ = writeln!(
        out,
        "<svg id=\"chart\" role=\"img\" aria-label=\"Findings by category\" \
         viewBox=\"0 0 {} {height}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">",
        label_width + bar_width + 50
    );
    for (n, (category, count)) in categories.iter().enumerate() {
        let y = n * row + 2;
        let width = (bar_width * count).div_ceil(most).max(2);
        let _ = writeln!(
            out,
            "<g class=\"bar\" data-category=\"{0}\"><text x=\"{1}\" y=\"{2}\" text-anchor=\"end\">{0}</text>\
             <rect x=\"{3}\" y=\"{4}\" width=\"{width}\" height=\"{5}\" rx=\"3\" fill=\"#0969da\"></rect>\
             <text x=\"{6}\" y=\"{2}\">{count}</text></g>",
            esc(category.as_str()),
            label_width - 8,
            y + 16,
            label_width,
            y + 3,
            row - 8,
            label_width + width + 6
        );
    }
    out.push_str("</svg>\n");
}

fn write_filters(out: &mut String, report: &Report) {
    out.push_str("<h2>Findings by check</h2>\n<div class=\"filters\" id=\"filters\">\n");
    for severity in Severity::ALL_DESCENDING {
        let _ = writeln!(
            out,
            "<label class=\"sev-{0}\"><input type=\"checkbox\" name=\"severity\" value=\"{0}\" checked> \
             <span class=\"badge\">{0}</span></label>",
            severity.as_str()
        );
    }
    out.push_str("<select id=\"category\" aria-label=\"Category\"><option value=\"\">every category</option>");
    for (category, count) in groups::by_category(report) {
        let _ = write!(
            out,
            "<option value=\"{0}\">{0} ({count})</option>",
            esc(category.as_str())
        );
    }
    let _ = writeln!(
        out,
        "</select>\n<input type=\"search\" id=\"search\" placeholder=\"Filter by text (path, title, id…)\" \
         aria-label=\"Filter by text\">\n<span class=\"muted\"><span id=\"shown\">{0}</span> of {0} shown</span>\n</div>",
        report.findings.len()
    );
}

fn write_group(out: &mut String, report: &Report, group: &CheckGroup<'_>) {
    let _ = writeln!(
        out,
        "<section class=\"check sev-{}\" id=\"check-{}\" data-check=\"{}\">\n<h3>{} \
         <span class=\"muted\">{}{} · {} finding(s)</span></h3>",
        group.worst.as_str(),
        esc(group.check),
        esc(group.check),
        esc(group.check),
        group
            .title()
            .map(|t| format!("{} · ", esc(t)))
            .unwrap_or_default(),
        esc(group.category.as_str()),
        group.findings()
    );
    if let Some(remediation) = group.remediation() {
        let _ = writeln!(
            out,
            "<div class=\"fix\"><b>Fix ({}):</b> {}\n<details><summary>How</summary>{}</details>\n\
             <span class=\"muted\">More: <code>rampart explain {}</code></span></div>",
            esc(&remediation.stack),
            inline_code(&remediation.summary),
            markdown_block(&remediation.details_markdown),
            esc(group.check)
        );
    }
    for issue in &group.issues {
        for finding in &issue.findings {
            write_finding(out, report, finding);
        }
    }
    out.push_str("</section>\n");
}

fn write_finding(out: &mut String, report: &Report, finding: &Finding) {
    let searchable = format!(
        "{} {} {} {} {} {}",
        finding.head.title,
        finding.check,
        finding.head.method,
        finding.head.path,
        finding.id,
        finding.head.description
    )
    .to_lowercase();
    let state = match report.baseline_state(&finding.id) {
        Some(BaselineState::New) => " <span class=\"tag new\">new</span>",
        Some(BaselineState::Unchanged) => " <span class=\"tag\">unchanged</span>",
        None => "",
    };
    let _ = writeln!(
        out,
        "<article class=\"finding sev-{0}\" id=\"{1}\" data-severity=\"{0}\" data-category=\"{2}\" data-text=\"{3}\">\n\
         <p><span class=\"badge\">{0}</span> <b>{4}</b> <span class=\"tag\">{5}</span>{state}<br>\
         <span class=\"where\">{6} {7}</span>{8} <span class=\"muted\">{1}</span></p>",
        finding.head.severity.as_str(),
        esc(&finding.id),
        esc(finding.category.as_str()),
        esc(&searchable),
        esc(&finding.head.title),
        esc(finding.head.confidence.as_str()),
        esc(&finding.head.method),
        esc(&finding.head.path),
        finding
            .head
            .parameter
            .as_deref()
            .map(|p| format!(" · parameter <code>{}</code>", esc(p)))
            .unwrap_or_default()
    );
    if !finding.head.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", esc(&finding.head.description));
    }
    if !finding.evidence.is_empty() {
        out.push_str("<details open><summary>Evidence</summary><table>\n");
        for evidence in &finding.evidence {
            let identity = evidence
                .request
                .identity
                .as_deref()
                .map(|i| format!(" as {}", esc(i)))
                .unwrap_or_else(|| " anonymously".to_string());
            let headers: Vec<String> = evidence
                .response
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect();
            let _ = writeln!(
                out,
                "<tr><td>{}<br><span class=\"where\">{} {}</span>{identity}<br>→ HTTP {}</td>\
                 <td><pre>{}</pre><pre>{}</pre></td></tr>",
                esc(&evidence.step),
                esc(&evidence.request.method),
                esc(&evidence.request.url),
                evidence.response.status,
                esc(&headers.join("\n")),
                esc(&evidence.response.body_excerpt)
            );
        }
        out.push_str("</table></details>\n");
    }
    if !finding.reproduce.is_empty() {
        let _ = writeln!(
            out,
            "<p>Reproduce:</p><pre><code>{}</code></pre>",
            esc(&finding.reproduce.join("\n"))
        );
    }
    out.push_str("</article>\n");
}

/// One of the lists after the findings, when it has rows: its title, then
/// a `<table>` or `<ul>` (`tag`) whose element id is `id`, holding `rows`
/// (already HTML).
pub(crate) fn write_list(out: &mut String, title: &str, tag: &str, id: &str, rows: &[String]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>{title}</h2>\n<{tag} id=\"{id}\">");
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    let _ = writeln!(out, "</{tag}>");
}

/// A list item about one place (an endpoint, a request): `html` is what
/// is said of it, already HTML.
fn item_at(place: &str, html: &str) -> String {
    format!(
        "<li><span class=\"where\">{}</span>: {html}</li>",
        esc(place)
    )
}

fn write_tail(out: &mut String, report: &Report) {
    let fixed: Vec<String> = report
        .baseline
        .iter()
        .flat_map(|b| &b.fixed)
        .map(|fixed| {
            format!(
                "<tr><td class=\"sev-{0}\"><span class=\"badge\">{0}</span></td><td>{1}</td>\
                 <td class=\"where\">{2}</td><td class=\"muted\">{3} · {4}</td></tr>",
                fixed.severity.as_str(),
                esc(&fixed.title),
                esc(&fixed.endpoint()),
                esc(&fixed.check),
                esc(&fixed.id)
            )
        })
        .collect();
    let title = format!("Fixed since the baseline ({})", fixed.len());
    write_list(out, &title, "table", "fixed", &fixed);
    let suppressed: Vec<String> = report
        .suppressed
        .iter()
        .map(|held| {
            format!(
                "<tr><td>{}</td><td class=\"where\">{}</td><td>{}{}</td></tr>",
                esc(&held.finding.head.title),
                esc(&held.finding.endpoint()),
                esc(&held.reason),
                held.until
                    .as_deref()
                    .map(|d| format!(" (until {})", esc(d)))
                    .unwrap_or_default()
            )
        })
        .collect();
    let title = format!("Suppressed ({})", suppressed.len());
    write_list(out, &title, "table", "suppressed", &suppressed);
    let not_tested: Vec<String> = report
        .switched_off()
        .into_iter()
        .map(|(reason, checks)| {
            format!(
                "<li><code>{}</code>: {}</li>",
                esc(&checks.join(", ")),
                esc(reason)
            )
        })
        .collect();
    write_list(out, "Not tested", "ul", "not-tested", &not_tested);
    let changes: Vec<String> = report
        .changes
        .iter()
        .map(|change| {
            let state = if change.restored {
                "restored"
            } else {
                "<b>NOT RESTORED</b>"
            };
            item_at(&change.request, &format!("{} — {state}", esc(&change.what)))
        })
        .collect();
    write_list(out, "Changes made", "ul", "changes", &changes);
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|error| item_at(&error.endpoint, &esc(&error.message)))
        .collect();
    let title = format!("Errors ({})", errors.len());
    write_list(out, &title, "ul", "errors", &errors);
}

/// The knowledge base's remediation text (Markdown) as HTML: fenced code
/// blocks become `<pre>`, paragraphs `<p>` with inline code; nothing else
/// of Markdown is interpreted, and everything is escaped first.
fn markdown_block(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, out: &mut String| {
        if !paragraph.is_empty() {
            let _ = write!(out, "<p>{}</p>", inline_code(&paragraph.join(" ")));
            paragraph.clear();
        }
    };
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            if in_code {
                out.push_str("</code></pre>");
            } else {
                flush(&mut paragraph, &mut out);
                out.push_str("<pre><code>");
            }
            in_code = !in_code;
        } else if in_code {
            out.push_str(&esc(line));
            out.push('\n');
        } else if line.trim().is_empty() {
            flush(&mut paragraph, &mut out);
        } else {
            paragraph.push(line.trim());
        }
    }
    if in_code {
        out.push_str("</code></pre>");
    }
    flush(&mut paragraph, &mut out);
    out
}

/// Escaped text with `code` spans.
fn inline_code(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(n, part)| {
            if n % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}

/// Text for HTML content and quoted attribute values.
pub fn esc(raw: &str) -> String {
    escape_markup(raw, "&#39;", "\n", "\t")
}

/// Markup-escaped text for the HTML and XML writers: the five markup
/// characters become references (the apostrophe, newline and tab as the
/// caller needs them); control characters, which neither HTML nor XML 1.0
/// may carry, become visible escapes; the two non-characters XML refuses
/// become U+FFFD.
pub(crate) fn escape_markup(raw: &str, apostrophe: &str, newline: &str, tab: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(apostrophe),
            '\n' => out.push_str(newline),
            '\t' => out.push_str(tab),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn the_page_fetches_nothing_and_allows_only_its_own_script() {
        let html = render(&sample_report());
        for fetch in ["src=", "href=", "url(", "@import", "http-equiv=\"refresh\""] {
            assert!(
                !html.contains(fetch),
                "the page would fetch something: {fetch}"
            );
        }
        assert_eq!(html.matches("<script>").count(), 1);
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
        assert!(html.contains(&format!("script-src 'sha256-{hash}'")));
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn the_page_summarises_charts_and_groups() {
        let html = render(&sample_report());
        for expected in [
            "<b>70/100</b>score · grade C",
            "id=\"count-high\"><b>2</b>high",
            "<g class=\"bar\" data-category=\"data-exposure\">",
            "<section class=\"check sev-high\" id=\"check-exposure.pii\"",
            "data-severity=\"high\" data-category=\"cache-poisoning\"",
            "<b>Fix (flask):</b> Key the cache on the caller.",
            "curl -s &#39;http://127.0.0.1:8080/api/account?rampart_cb=1&#39;",
        ] {
            assert!(html.contains(expected), "{expected}");
        }
    }

    #[test]
    fn server_text_is_escaped_everywhere() {
        let mut report = sample_report();
        let hostile = "</pre><script>alert(1)</script><img src=x onerror=alert(2)>\"'\u{1b}[2J";
        report.findings[0].head.title = hostile.into();
        report.findings[0].head.path = hostile.into();
        report.findings[0].evidence[0].response.body_excerpt = hostile.into();
        report.findings[0].evidence[0]
            .response
            .headers
            .insert("x-evil".into(), hostile.into());
        report.errors[0].message = hostile.into();
        let html = render(&report);
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the page's own script"
        );
        assert!(!html.contains("<img"));
        assert!(!html.contains('\u{1b}'));
        assert!(html.contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn remediation_markdown_becomes_escaped_paragraphs_and_code() {
        assert_eq!(
            markdown_block("Use `a<b>` here.\n\n```python\nx = \"<y>\"\n```"),
            "<p>Use <code>a&lt;b&gt;</code> here.</p><pre><code>x = &quot;&lt;y&gt;&quot;\n</code></pre>"
        );
    }
}
