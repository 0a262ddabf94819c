//! SARIF 2.1.0 (`--format sarif`), for GitHub code scanning and any SARIF
//! viewer.
//!
//! * One rule per registered check, always all of them and in registry
//!   order, so a rule's index is the same in every report; help text from
//!   the knowledge base.
//! * One result per finding: `ruleIndex` points at its rule, `level` and
//!   `properties.security-severity` come from its severity, its stable id is
//!   its `partialFingerprints` entry (so code scanning tracks it across
//!   runs), and its location names the endpoint twice: as a logical
//!   location (`GET /users/{id}`) and as an artifact URI relative to the
//!   scanned target.
//! * Suppressed findings are results with an external, accepted
//!   suppression; with a baseline every result has its `baselineState`.
//! * A scan with no finding still writes a complete log with `results: []`.

use serde_json::{json, Map, Value};
use url::Url;

use super::{BaselineState, Report};
use crate::checks::{self, CheckMeta};
use crate::finding::{Finding, Severity};
use crate::knowledge;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The `uriBaseId` every artifact location is relative to: the target.
const TARGET_BASE: &str = "TARGET";

/// The key of a finding's stable id in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "rampartFindingId/v1";

pub fn render(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(&log(report)).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}

/// The SARIF log of a report.
pub fn log(report: &Report) -> Value {
    let metas: Vec<&'static CheckMeta> = checks::all().collect();
    let rules: Vec<Value> = metas.iter().map(|meta| rule(meta, report)).collect();
    let mut results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, &metas, report))
        .collect();
    results.extend(report.suppressed.iter().map(|held| {
        let mut value = result(&held.finding, &metas, report);
        value["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": held.reason,
        }]);
        value
    }));
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "warning",
                "message": {"text": format!("{}: {}", e.endpoint, e.message)},
            })
        })
        .chain(
            report
                .suppression_notices
                .iter()
                .map(|n| json!({"level": "note", "message": {"text": n.line()}})),
        )
        .collect();
    let mut run_properties = json!({
        "target": report.target,
        "stack": report.stack.label(),
        "score": report.score,
        "grade": report.grade.to_string(),
        "endpoints": report.endpoints.len(),
        "requestsSent": report.requests_sent,
        "durationMs": report.duration_ms,
    });
    if let Some(baseline) = &report.baseline {
        run_properties["baseline"] = json!({
            "file": baseline.file,
            "new": baseline.new.len(),
            "unchanged": baseline.unchanged.len(),
            "fixed": baseline.fixed.iter().map(|f| &f.id).collect::<Vec<_>>(),
        });
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "rules": rules,
            }},
            "originalUriBaseIds": {
                TARGET_BASE: {
                    "uri": base_uri(&report.target),
                    "description": {"text": "The scanned API's origin."},
                },
            },
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": report.started_at,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": run_properties,
        }],
    })
}

fn rule(meta: &CheckMeta, report: &Report) -> Value {
    let mut value = json!({
        "id": meta.id,
        "name": rule_name(meta.id),
        "shortDescription": {"text": meta.summary},
        "defaultConfiguration": {"level": level(meta.severity)},
        "properties": {
            "tags": ["security", meta.category.as_str(), meta.family()],
            "security-severity": security_severity(meta.severity),
            "precision": "high",
            "problem.severity": problem_severity(meta.severity),
        },
    });
    if let Some(entry) = knowledge::entry(meta.id) {
        let variant = entry.best_variant(&report.stack);
        value["fullDescription"] = json!({"text": entry.summary.trim()});
        let references = entry.references.join("\n- ");
        value["help"] = json!({
            "text": format!(
                "{}\n\nThe attack: {}\n\nFix ({}): {}\n\nrampart explain {}",
                entry.summary.trim(),
                entry.attack.trim(),
                variant.stack,
                variant.summary.trim(),
                meta.id
            ),
            "markdown": format!(
                "{}\n\n## The attack\n{}\n\n## Impact\n{}\n\n## Fix ({})\n{}\n\n{}\n\n## Verify\n{}\n\n## References\n- {}\n",
                entry.summary.trim(),
                entry.attack.trim(),
                entry.impact.trim(),
                variant.stack,
                variant.summary.trim(),
                variant.remediation.trim(),
                variant.verify.trim(),
                references
            ),
        });
    }
    value
}

fn result(finding: &Finding, metas: &[&'static CheckMeta], report: &Report) -> Value {
    let index = metas.iter().position(|m| m.id == finding.check);
    let endpoint = finding.endpoint();
    let mut message = finding.head.title.clone();
    if !finding.head.description.is_empty() {
        message.push_str(". ");
        message.push_str(&finding.head.description);
    }
    if let Some(remediation) = &finding.remediation {
        message.push_str(&format!(
            " Fix ({}): {}",
            remediation.stack, remediation.summary
        ));
    }
    let mut properties = Map::new();
    properties.insert("findingId".into(), json!(finding.id));
    properties.insert("severity".into(), json!(finding.head.severity.as_str()));
    properties.insert(
        "security-severity".into(),
        json!(security_severity(finding.head.severity)),
    );
    properties.insert("confidence".into(), json!(finding.head.confidence.as_str()));
    properties.insert("category".into(), json!(finding.category.as_str()));
    properties.insert("url".into(), json!(finding.head.url));
    if let Some(parameter) = &finding.head.parameter {
        properties.insert("parameter".into(), json!(parameter));
    }
    properties.insert("reproduce".into(), json!(finding.reproduce));
    properties.insert(
        "evidence".into(),
        json!(finding
            .evidence
            .iter()
            .map(|e| format!("{} → HTTP {}", e.step, e.response.status))
            .collect::<Vec<_>>()),
    );
    let mut value = json!({
        "ruleId": finding.check,
        "level": level(finding.head.severity),
        "kind": "fail",
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {"artifactLocation": {
                "uri": relative_uri(&report.target, &finding.head.path),
                "uriBaseId": TARGET_BASE,
            }},
            "logicalLocations": [{
                "name": endpoint,
                "fullyQualifiedName": endpoint,
                "kind": "function",
            }],
        }],
        "partialFingerprints": {FINGERPRINT_KEY: finding.id},
        "properties": properties,
    });
    // A finding of a check this build does not know (a report read back
    // from another version) keeps its rule id and goes without an index.
    if let Some(index) = index {
        value["ruleIndex"] = json!(index);
    }
    if let Some(state) = report.baseline_state(&finding.id) {
        value["baselineState"] = json!(match state {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
        });
    }
    value
}

/// SARIF levels: what code scanning calls error, warning and note.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity`: a CVSS-like score whose band (9.0+
/// critical, 7.0+ high, 4.0+ medium, 0.1+ low) is the severity shown.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn problem_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "recommendation",
    }
}

/// `cache.auth-after-lookup` → `CacheAuthAfterLookup`.
fn rule_name(id: &str) -> String {
    id.split(['.', '-'])
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The target's origin as a base URI (SARIF wants it to end with a
/// slash): findings name endpoints by their path from the origin.
pub(crate) fn base_uri(target: &str) -> String {
    match Url::parse(target) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            url.set_path("/");
            url.to_string()
        }
        Err(_) => target.to_string(),
    }
}

/// The endpoint's path as a URI reference relative to the target, with
/// what a URI may not hold (the braces of a template, spaces) encoded.
fn relative_uri(target: &str, path: &str) -> String {
    let base = base_uri(target);
    let joined = Url::parse(&base).and_then(|b| b.join(path.trim_start_matches('/')));
    match joined {
        Ok(url) if url.as_str().starts_with(&base) => {
            let relative = &url.as_str()[base.len()..];
            if relative.is_empty() {
                ".".to_string()
            } else {
                relative.to_string()
            }
        }
        // A path that leaves the base (`..`) or does not parse is still named,
        // encoded by hand.
        _ => path
            .trim_start_matches('/')
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn rules_are_every_check_and_results_point_at_theirs() {
        let log = log(&sample_report());
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), checks::all().count());
        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), 2);
        for result in results {
            let index = result["ruleIndex"].as_u64().expect("an index") as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            assert_eq!(result["level"], "error");
            assert_eq!(result["properties"]["security-severity"], "8.0");
            assert!(result["partialFingerprints"][FINGERPRINT_KEY]
                .as_str()
                .is_some_and(|id| id.starts_with("RMP-")));
        }
        let location = &results[1]["locations"][0];
        assert_eq!(
            location["physicalLocation"]["artifactLocation"]["uri"],
            "api/users/%7Buser_id%7D"
        );
        assert_eq!(
            location["logicalLocations"][0]["name"],
            "GET /api/users/{user_id}"
        );
        let help = rules[index_of(rules, "exposure.pii")]["help"]["markdown"]
            .as_str()
            .expect("help from the knowledge base");
        assert!(help.contains("## Fix (flask)"), "{help}");
    }

    fn index_of(rules: &[Value], id: &str) -> usize {
        rules.iter().position(|r| r["id"] == id).expect("a rule")
    }

    #[test]
    fn a_scan_without_findings_still_writes_a_whole_log() {
        let mut report = sample_report();
        report.findings.clear();
        let log = log(&report);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn uris_are_relative_to_the_target_and_encoded() {
        assert_eq!(base_uri("http://h:8/api?x=1"), "http://h:8/");
        assert_eq!(relative_uri("http://h:8/", "/a/{id} x"), "a/%7Bid%7D%20x");
        assert_eq!(relative_uri("http://h:8/api/", "/api/x"), "api/x");
        assert_eq!(relative_uri("http://h:8/api/", "/"), ".");
        assert_eq!(rule_name("cache.auth-after-lookup"), "CacheAuthAfterLookup");
    }
}
