//! The fleet view in each format `rampart merge` writes: JSON (the view
//! itself, and the next night's `--baseline`), HTML (one page for the
//! fleet, linking each API's own page, rendered by the single-scan HTML
//! writer), SARIF (one run — code scanning takes at most 20 runs a file —
//! whose results are the single-scan writer's, each API's endpoints
//! relative to its own base URI), Markdown (a CI job summary) and text.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Value};

use super::merge::Merged;
use super::view::{ApiStatus, FleetView};
use crate::finding::Severity;
use crate::report::html::{esc, STYLE};
use crate::report::{self, BaselineState, Report};
use crate::stack::Stack;

/// The key of an API's finding in `partialFingerprints`: finding ids are
/// stable per API, so the API's name is part of the fleet's key.
pub const FLEET_FINGERPRINT_KEY: &str = "rampartFleetFindingId/v1";

pub fn json(view: &FleetView) -> String {
    let mut out = serde_json::to_string_pretty(view).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}

/// The SARIF results of one API's report: the single-scan writer's, with
/// the API's name in the location and the fingerprint.
pub fn sarif_results(api: &str, report: &Report) -> Vec<Value> {
    let log = report::sarif::log(report);
    let results = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    results
        .into_iter()
        .map(|mut result| {
            let location = &mut result["locations"][0];
            location["physicalLocation"]["artifactLocation"]["uriBaseId"] = json!(api);
            if let Some(name) = location["logicalLocations"][0]["name"].as_str() {
                let qualified = format!("{api}: {name}");
                location["logicalLocations"][0]["fullyQualifiedName"] = json!(qualified);
            }
            let id = result["partialFingerprints"][report::sarif::FINGERPRINT_KEY]
                .as_str()
                .unwrap_or_default()
                .to_string();
            result["partialFingerprints"] = json!({ FLEET_FINGERPRINT_KEY: format!("{api}/{id}") });
            result["properties"]["api"] = json!(api);
            result["properties"]["target"] = json!(report.target);
            result
        })
        .collect()
}

/// One SARIF log for the fleet: the rules as the single-scan writer lists
/// them (help for no particular stack: each result's message carries its
/// API's own fix), every API's results, and a notification per API that
/// could not be scanned.
pub fn sarif(view: &FleetView, merged: &Merged) -> String {
    let neutral = Report {
        schema: report::SCHEMA,
        tool: view.tool.clone(),
        target: String::new(),
        started_at: view.generated_at.clone(),
        duration_ms: 0,
        requests_sent: view.totals.requests_sent,
        stack: Stack::default(),
        score: 100,
        grade: report::Grade::A,
        complete: true,
        incomplete_reasons: Vec::new(),
        pacing: Default::default(),
        endpoints: Vec::new(),
        findings: Vec::new(),
        coverage: Vec::new(),
        changes: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
        baseline: None,
        suppressed: Vec::new(),
        suppression_notices: Vec::new(),
    };
    let mut log = report::sarif::log(&neutral);
    let run = &mut log["runs"][0];
    let mut bases = serde_json::Map::new();
    for (api, uri) in &merged.sarif_bases {
        bases.insert(
            api.clone(),
            json!({"uri": uri, "description": {"text": format!("The base URI of {api}.")}}),
        );
    }
    run["originalUriBaseIds"] = Value::Object(bases);
    run["results"] = Value::Array(merged.sarif_results.clone());
    run["invocations"][0]["toolExecutionNotifications"] = Value::Array(
        view.apis
            .iter()
            .filter(|a| a.status != ApiStatus::Scanned)
            .map(|a| {
                json!({
                    "level": "warning",
                    "message": {"text": format!(
                        "{} ({}) {}: {}",
                        a.api,
                        a.target,
                        a.status.as_str(),
                        a.error.as_deref().unwrap_or("")
                    )},
                })
            })
            .collect(),
    );
    run["properties"] = json!({
        "fleet": true,
        "apis": view.totals.apis,
        "scanned": view.totals.scanned,
        "failed": view.totals.failed,
        "missing": view.totals.missing,
        "grades": view.totals.grades,
        "requestsSent": view.totals.requests_sent,
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}

/// Links from the page at `page` to files named as the merge found them.
struct Links<'a> {
    page_dir: PathBuf,
    merged: &'a Merged,
}

impl Links<'_> {
    fn to(&self, target: &Path) -> String {
        href(&relative(&self.page_dir, target))
    }

    fn page(&self, api: &str) -> Option<String> {
        self.merged.pages.get(api).map(|p| self.to(p))
    }
}

/// The fleet's HTML page. Like the single-scan page it fetches nothing;
/// it links each API's own page and its JSON report, relative to where
/// the page is written.
pub fn html(view: &FleetView, merged: &Merged, page: &Path) -> String {
    let links = Links {
        page_dir: page.parent().map(Path::to_path_buf).unwrap_or_default(),
        merged,
    };
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>Rampart fleet report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    let t = &view.totals;
    let _ = writeln!(
        out,
        "<header>\n<h1>Rampart fleet report</h1>\n<p class=\"meta\">{} APIs · {} scanned · {} failed · \
         {} missing · {} requests · generated {} · rampart {}</p>\n</header>\n<main>",
        t.apis,
        t.scanned,
        t.failed,
        t.missing,
        t.requests_sent,
        esc(&view.generated_at),
        esc(&view.tool.version)
    );
    out.push_str("<section id=\"summary\">\n<div class=\"cards\">\n");
    for severity in Severity::ALL_DESCENDING {
        let _ = writeln!(
            out,
            "<div class=\"card sev-{0}\" id=\"count-{0}\"><b>{1}</b>{0}</div>",
            severity.as_str(),
            t.counts.get(severity)
        );
    }
    for (grade, n) in &t.grades {
        let _ = writeln!(
            out,
            "<div class=\"card\" id=\"grade-{0}\"><b>{n}</b>grade {0}</div>",
            esc(grade)
        );
    }
    out.push_str("</div>\n");
    if let Some(b) = &view.baseline {
        let _ = writeln!(
            out,
            "<p id=\"baseline\">Against <code>{}</code>: <b>{} new</b> · {} unchanged · {} fixed · \
             {} not retested{}{}</p>",
            esc(&b.file),
            b.new,
            b.unchanged,
            b.fixed,
            b.not_retested,
            if b.apis_new.is_empty() {
                String::new()
            } else {
                format!(" · new APIs: {}", esc(&b.apis_new.join(", ")))
            },
            if b.apis_not_rescanned.is_empty() {
                String::new()
            } else {
                format!(" · not rescanned: {}", esc(&b.apis_not_rescanned.join(", ")))
            }
        );
    }
    out.push_str(
        "</section>\n<h2>APIs</h2>\n<table id=\"apis\">\n<tr><th>API</th><th>grade</th>\
                   <th>findings</th><th>new</th><th>fixed</th><th>reports</th></tr>\n",
    );
    for api in &view.apis {
        let worst = api
            .findings
            .first()
            .map(|f| f.severity.as_str())
            .unwrap_or("info");
        let grade = match (api.status, api.grade, api.score) {
            (ApiStatus::Scanned, Some(g), Some(s)) => {
                format!("<b>{}</b> ({s})", esc(&g.to_string()))
            }
            (status, _, _) => format!("<span class=\"badge sev-high\">{}</span>", status.as_str()),
        };
        let counts = if api.status == ApiStatus::Scanned {
            Severity::ALL_DESCENDING
                .iter()
                .filter(|s| api.counts.get(**s) > 0)
                .map(|s| format!("{} {}", api.counts.get(*s), s.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            esc(api.error.as_deref().unwrap_or(""))
        };
        let (new, fixed) = api
            .baseline
            .as_ref()
            .map(|b| (b.new.to_string(), b.fixed.len().to_string()))
            .unwrap_or_default();
        let mut reports = Vec::new();
        if let Some(page) = links.page(&api.api) {
            reports.push(format!("<a href=\"{}\">page</a>", esc(&page)));
        }
        if let Some(report) = &api.report {
            reports.push(format!(
                "<a href=\"{}\">{}</a>",
                esc(&links.to(Path::new(report))),
                if api.status == ApiStatus::Scanned {
                    "json"
                } else {
                    "record"
                }
            ));
        }
        let _ = writeln!(
            out,
            "<tr class=\"sev-{worst}\" id=\"api-{0}\"><td><b>{0}</b><br><span class=\"where muted\">{1}</span></td>\
             <td>{grade}</td><td>{counts}</td><td>{new}</td><td>{fixed}</td><td>{2}</td></tr>",
            esc(&api.api),
            esc(&api.target),
            reports.join(" · ")
        );
    }
    out.push_str("</table>\n<h2>Findings by check</h2>\n");
    if view.checks.is_empty() {
        out.push_str("<p>No findings.</p>\n");
    }
    for check in &view.checks {
        let _ = writeln!(
            out,
            "<section class=\"check sev-{0}\" id=\"check-{1}\">\n<h3>{1} <span class=\"muted\">{2}{3} · \
             {4} finding(s) on {5} API(s){6}</span></h3>\n<table>",
            check.worst.as_str(),
            esc(&check.check),
            check
                .title
                .as_deref()
                .map(|t| format!("{} · ", esc(t)))
                .unwrap_or_default(),
            esc(check.category.as_str()),
            check.findings,
            check.apis.len(),
            if check.new > 0 {
                format!(" · {} new", check.new)
            } else {
                String::new()
            }
        );
        for api in view.apis.iter().filter(|a| check.apis.contains(&a.api)) {
            let page = links.page(&api.api);
            for finding in api.findings.iter().filter(|f| f.check == check.check) {
                let state = match finding.state {
                    Some(BaselineState::New) => " <span class=\"tag new\">new</span>",
                    _ => "",
                };
                let title = match &page {
                    Some(page) => format!(
                        "<a href=\"{}#{}\">{}</a>",
                        esc(page),
                        esc(&finding.id),
                        esc(&finding.title)
                    ),
                    None => esc(&finding.title),
                };
                let _ = writeln!(
                    out,
                    "<tr class=\"sev-{0}\"><td><b>{1}</b></td><td><span class=\"badge\">{0}</span> {title}{state}<br>\
                     <span class=\"where\">{2} {3}</span></td></tr>",
                    finding.severity.as_str(),
                    esc(&api.api),
                    esc(&finding.method),
                    esc(&finding.path)
                );
            }
        }
        out.push_str("</table>\n</section>\n");
    }
    let fixed: Vec<String> = view
        .apis
        .iter()
        .filter_map(|a| a.baseline.as_ref().map(|b| (a, b)))
        .flat_map(|(a, b)| b.fixed.iter().map(move |f| (a, f)))
        .map(|(api, f)| {
            format!(
                "<tr><td><b>{}</b></td><td class=\"sev-{1}\"><span class=\"badge\">{1}</span> {2}<br>\
                 <span class=\"where\">{3}</span> <span class=\"muted\">{4}</span></td></tr>",
                esc(&api.api),
                f.severity.as_str(),
                esc(&f.title),
                esc(&f.endpoint()),
                esc(&f.check)
            )
        })
        .collect();
    let title = format!("Fixed since the baseline ({})", fixed.len());
    report::html::write_list(&mut out, &title, "table", "fixed", &fixed);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// A summary for a CI job's page: totals, the APIs worst first, the
/// checks with findings.
pub fn markdown(view: &FleetView) -> String {
    let t = &view.totals;
    let mut out = String::new();
    let _ = writeln!(out, "## Rampart fleet report\n");
    let _ = writeln!(
        out,
        "{} APIs: {} scanned, {} failed, {} missing · {} findings ({}) · {} requests\n",
        t.apis,
        t.scanned,
        t.failed,
        t.missing,
        t.findings,
        Severity::ALL_DESCENDING
            .iter()
            .map(|s| format!("{} {}", t.counts.get(*s), s.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        t.requests_sent
    );
    if let Some(b) = &view.baseline {
        let _ = writeln!(
            out,
            "Against `{}`: **{} new**, {} unchanged, {} fixed, {} not retested.\n",
            md(&b.file),
            b.new,
            b.unchanged,
            b.fixed,
            b.not_retested
        );
    }
    out.push_str("| API | grade | findings | new | status |\n|---|---|---|---|---|\n");
    let mut apis: Vec<_> = view.apis.iter().collect();
    apis.sort_by_key(|a| (a.status != ApiStatus::Scanned, a.score.unwrap_or(0), &a.api));
    for api in apis {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md(&api.api),
            api.grade
                .map(|g| g.to_string())
                .unwrap_or_else(|| "–".into()),
            api.counts.total(),
            api.baseline
                .as_ref()
                .map(|b| b.new.to_string())
                .unwrap_or_default(),
            match api.status {
                ApiStatus::Scanned => "scanned".to_string(),
                status => format!(
                    "{}: {}",
                    status.as_str(),
                    md(api.error.as_deref().unwrap_or(""))
                ),
            }
        );
    }
    if !view.checks.is_empty() {
        out.push_str("\n| check | worst | findings | APIs |\n|---|---|---|---|\n");
        for check in &view.checks {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                check.check,
                check.worst.as_str(),
                check.findings,
                check.apis.len()
            );
        }
    }
    out
}

/// What `rampart merge` prints when no output goes to standard output's
/// place: one line per API and the totals.
pub fn text(view: &FleetView) -> String {
    let mut out = String::new();
    for api in &view.apis {
        let _ = match api.status {
            ApiStatus::Scanned => writeln!(
                out,
                "{:<32} {} {:>3}  {} finding(s){}",
                api.api,
                api.grade.map_or("?", |g| g.as_str()),
                api.score.unwrap_or(0),
                api.counts.total(),
                api.baseline
                    .as_ref()
                    .map(|b| format!(", {} new, {} fixed", b.new, b.fixed.len()))
                    .unwrap_or_default()
            ),
            status => writeln!(
                out,
                "{:<32} {}: {}",
                api.api,
                status.as_str(),
                crate::sanitize::for_display(api.error.as_deref().unwrap_or(""))
            ),
        };
    }
    let t = &view.totals;
    let _ = writeln!(
        out,
        "{} APIs: {} scanned, {} failed, {} missing; {} finding(s)",
        t.apis, t.scanned, t.failed, t.missing, t.findings
    );
    out
}

/// Markdown table text: pipes and line breaks would end a cell.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A path as a relative URL: each segment percent-encoded where a URL
/// needs it.
fn href(path: &Path) -> String {
    path.components()
        .map(|c| match c {
            Component::ParentDir => "..".to_string(),
            Component::CurDir => ".".to_string(),
            other => other
                .as_os_str()
                .to_string_lossy()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `target` as seen from the directory `from`: both made absolute, the
/// common part dropped, `..` for each directory of `from` left.
fn relative(from: &Path, target: &Path) -> PathBuf {
    let absolute = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        let mut clean = PathBuf::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    clean.pop();
                }
                other => clean.push(other),
            }
        }
        clean
    };
    let (from, target) = (absolute(from), absolute(target));
    let from_parts: Vec<_> = from.components().collect();
    let target_parts: Vec<_> = target.components().collect();
    let common = from_parts
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..from_parts.len() {
        out.push("..");
    }
    for part in &target_parts[common..] {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::merge::{merge, MergeInput};
    use crate::fleet::store::OutDir;
    use crate::report::tests::sample_report;

    #[test]
    fn links_are_relative_to_the_page() {
        assert_eq!(
            relative(Path::new("/r/site"), Path::new("/r/night/a b.json")),
            PathBuf::from("../night/a b.json")
        );
        assert_eq!(href(Path::new("../night/a b.json")), "../night/a%20b.json");
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/x/y.html")),
            PathBuf::from("x/y.html")
        );
    }

    #[test]
    fn every_format_shows_the_fleet_and_escapes_what_servers_sent() {
        let root = tempfile::tempdir().unwrap();
        let night = root.path().join("night");
        let mut report = sample_report();
        report.findings[0].head.title = "<script>alert(1)</script>".into();
        let out = OutDir::open(&night).unwrap();
        out.write_report("orders", &report::json::render(&report))
            .unwrap();
        let mut other = sample_report();
        other.target = "http://users.example/".into();
        out.write_report("users", &report::json::render(&other))
            .unwrap();
        let pages = root.path().join("site/fleet-apis");
        let merged = merge(&MergeInput {
            dirs: &[night],
            fleet: None,
            baseline: None,
            sarif: true,
            pages: Some(&pages),
        })
        .unwrap();
        let view = merged.view.clone().unwrap();

        let page = html(&view, &merged, &root.path().join("site/fleet.html"));
        assert!(page.contains("<a href=\"fleet-apis/orders.html\">page</a>"));
        assert!(page.contains("<a href=\"../night/orders.json\">json</a>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<script"));
        assert!(pages.join("orders.html").is_file());

        let log: Value = serde_json::from_str(&sarif(&view, &merged)).unwrap();
        let run = &log["runs"][0];
        assert_eq!(log["runs"].as_array().unwrap().len(), 1);
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 4);
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        for result in results {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            let base = result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]
                .as_str()
                .unwrap();
            assert!(run["originalUriBaseIds"][base]["uri"].is_string());
            let key = result["partialFingerprints"][FLEET_FINGERPRINT_KEY]
                .as_str()
                .unwrap();
            assert!(key.starts_with(&format!("{base}/RMP-")), "{key}");
        }

        let summary = markdown(&view);
        assert!(summary.contains("| orders | C | 2 |"), "{summary}");
        assert!(
            summary.contains("| `exposure.pii` | high | 2 | 2 |"),
            "{summary}"
        );
        let lines = text(&view);
        assert!(lines.contains("2 APIs: 2 scanned, 0 failed, 0 missing; 4 finding(s)"));
        let read = FleetView::parse(&json(&view)).unwrap();
        assert_eq!(read, view);
    }
}
