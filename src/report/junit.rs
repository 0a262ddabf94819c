//! JUnit XML (`--format junit`), the test report every CI understands.
//!
//! One test suite per check, one test case per place the check judged:
//! each endpoint for the checks that run on endpoints and on every
//! exchange (the coverage section counts places but does not list the
//! probed ones, so passive checks get a case per endpoint of the scan, plus
//! any other place they found something), `target` for the target-wide
//! ones. A place with findings
//! fails (one `<failure>` naming them all), a place the check skipped is
//! `<skipped>` with the coverage reason, and a check switched off for the
//! scan is one skipped case, `all endpoints`. Reports without a coverage
//! section (written before it existed) fall back to the findings alone.

use std::fmt::Write as _;

use super::html::escape_markup;
use super::{CheckCoverage, Report};
use crate::checks::coverage::{ALL_ENDPOINTS, TARGET};
use crate::checks::{self, RunsOn};
use crate::finding::Finding;

/// One test case: a check at one place.
struct Case<'a> {
    place: String,
    findings: Vec<&'a Finding>,
    skipped: Option<&'a str>,
}

struct Suite<'a> {
    check: &'a str,
    cases: Vec<Case<'a>>,
}

pub fn render(report: &Report) -> String {
    let suites = suites(report);
    let count = |f: &dyn Fn(&Case<'_>) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|s| s.cases.iter())
            .filter(|c| f(c))
            .count()
    };
    let tests = count(&|_| true);
    let failures = count(&|c| !c.findings.is_empty());
    let skipped = count(&|c| c.skipped.is_some() && c.findings.is_empty());
    let seconds = report.duration_ms as f64 / 1000.0;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"rampart {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" \
         skipped=\"{skipped}\" time=\"{seconds:.3}\">",
        attr(&report.target)
    );
    for suite in &suites {
        let failures = suite
            .cases
            .iter()
            .filter(|c| !c.findings.is_empty())
            .count();
        let skipped = suite
            .cases
            .iter()
            .filter(|c| c.skipped.is_some() && c.findings.is_empty())
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" \
             skipped=\"{skipped}\" time=\"0\" timestamp=\"{}\">",
            attr(suite.check),
            suite.cases.len(),
            attr(report.started_at.trim_end_matches('Z'))
        );
        for case in &suite.cases {
            write_case(&mut out, suite.check, case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn write_case(out: &mut String, check: &str, case: &Case<'_>) {
    let _ = write!(
        out,
        "    <testcase classname=\"rampart.{}\" name=\"{}\" time=\"0\"",
        attr(check),
        attr(&case.place)
    );
    if case.findings.is_empty() {
        match case.skipped {
            Some(reason) => {
                let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>", attr(reason));
                out.push_str("    </testcase>\n");
            }
            None => out.push_str("/>\n"),
        }
        return;
    }
    let worst = case
        .findings
        .iter()
        .map(|f| f.head.severity)
        .max()
        .map(|s| s.as_str())
        .unwrap_or("info");
    let titles: Vec<&str> = case
        .findings
        .iter()
        .map(|f| f.head.title.as_str())
        .collect();
    let _ = writeln!(
        out,
        ">\n      <failure message=\"{}\" type=\"{worst}\">{}</failure>",
        attr(&titles.join("; ")),
        text(&failure_text(&case.findings))
    );
    out.push_str("    </testcase>\n");
}

/// Each finding: its severity, title, id, evidence steps, reproduce lines
/// and fix.
fn failure_text(findings: &[&Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let _ = writeln!(
            out,
            "[{}] {} ({}, {})",
            finding.head.severity,
            finding.head.title,
            finding.id,
            finding.head.confidence.as_str()
        );
        if !finding.head.description.is_empty() {
            let _ = writeln!(out, "{}", finding.head.description);
        }
        for evidence in &finding.evidence {
            let _ = writeln!(
                out,
                "evidence: {} → HTTP {}",
                evidence.step, evidence.response.status
            );
        }
        for line in &finding.reproduce {
            let _ = writeln!(out, "reproduce: {line}");
        }
        if let Some(remediation) = &finding.remediation {
            let _ = writeln!(out, "fix ({}): {}", remediation.stack, remediation.summary);
        }
        out.push('\n');
    }
    out
}

fn suites(report: &Report) -> Vec<Suite<'_>> {
    let mut suites: Vec<Suite<'_>> = report
        .coverage
        .iter()
        .map(|coverage| Suite {
            check: &coverage.check,
            cases: cases(report, coverage),
        })
        .collect();
    // Findings of a check without coverage (an older report) still show.
    for finding in &report.findings {
        if !suites.iter().any(|s| s.check == finding.check) {
            suites.push(Suite {
                check: &finding.check,
                cases: Vec::new(),
            });
        }
    }
    for suite in &mut suites {
        // A target-wide check judged the target once: its findings are that
        // case's, whatever endpoint they name.
        let target_wide = checks::find(suite.check).is_some_and(|c| c.runs_on == RunsOn::Target)
            && suite.cases.iter().any(|c| c.place == TARGET);
        for finding in report.findings.iter().filter(|f| f.check == suite.check) {
            let place = if target_wide {
                TARGET.to_string()
            } else {
                finding.endpoint()
            };
            match suite.cases.iter_mut().find(|c| c.place == place) {
                Some(case) => case.findings.push(finding),
                None => suite.cases.push(Case {
                    place,
                    findings: vec![finding],
                    skipped: None,
                }),
            }
        }
    }
    suites
}

/// The places one check judged or skipped, as test cases (without their
/// findings yet).
fn cases<'a>(report: &'a Report, coverage: &'a CheckCoverage) -> Vec<Case<'a>> {
    let skip_of = |place: &str| {
        coverage
            .skipped
            .iter()
            .find(|s| s.endpoint == place)
            .map(|s| s.reason.as_str())
    };
    if let Some(reason) = skip_of(ALL_ENDPOINTS) {
        return vec![Case {
            place: ALL_ENDPOINTS.into(),
            findings: Vec::new(),
            skipped: Some(reason),
        }];
    }
    let runs_on = checks::find(&coverage.check).map(|c| c.runs_on);
    let mut places: Vec<String> = match runs_on {
        Some(RunsOn::Target) => vec![TARGET.to_string()],
        // Endpoint and passive checks judge every endpoint of the scan.
        _ => report
            .endpoints
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect(),
    };
    for skipped in &coverage.skipped {
        if !places.contains(&skipped.endpoint) {
            places.push(skipped.endpoint.clone());
        }
    }
    places
        .into_iter()
        .map(|place| Case {
            skipped: skip_of(&place),
            place,
            findings: Vec::new(),
        })
        .collect()
}

/// Text for an XML attribute value (newlines and tabs kept as references,
/// which attribute normalisation would otherwise turn into spaces).
fn attr(raw: &str) -> String {
    escape_markup(raw, "&apos;", "&#10;", "&#9;")
}

/// Text for XML character data.
fn text(raw: &str) -> String {
    escape_markup(raw, "'", "\n", "\t")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn a_case_per_check_and_endpoint_with_failures_and_skips() {
        let xml = render(&sample_report());
        // identity-unkeyed: three endpoints, one failing, one skipped.
        assert!(xml.contains(
            "<testsuite name=\"cache.identity-unkeyed\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""
        ), "{xml}");
        assert!(xml.contains("name=\"GET /api/reset\" time=\"0\">\n      <skipped message=\"looks state-changing (reset)\"/>"));
        // A check switched off is one skipped case.
        assert!(xml.contains(
            "name=\"all endpoints\" time=\"0\">\n      <skipped message=\"needs two identities\"/>"
        ));
        assert!(xml
            .contains("<failure message=\"exposure.pii on /api/users/{user_id}\" type=\"high\">"));
        assert!(xml.starts_with("<?xml"));
        assert!(
            xml.contains("tests=\"7\" failures=\"2\" errors=\"0\" skipped=\"2\""),
            "{xml}"
        );
    }

    #[test]
    fn markup_and_control_characters_from_a_server_are_escaped() {
        assert_eq!(attr("a<b>&\"'\n"), "a&lt;b&gt;&amp;&quot;&apos;&#10;");
        assert_eq!(text("x\u{1b}[31m\u{0}"), "x\\u{1b}[31m\\u{0}");
        assert_eq!(text("]]><x>"), "]]&gt;&lt;x&gt;");
        assert_eq!(text("\u{fffe}"), "\u{fffd}");
    }
}
