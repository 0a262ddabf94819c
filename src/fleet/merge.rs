//! `rampart merge DIR…`: the output directories of every shard as one
//! fleet view.
//!
//! Each API is read once, from its report (or its failure record), compared
//! with the previous night's view when one is given (the same logic as a
//! single scan's `--baseline`, `report::triage`), rendered to its own HTML
//! page when the fleet gets one, and kept in brief; the full report is
//! dropped before the next API is read, so a merge of thousands of APIs
//! holds one report at a time.
//!
//! The view depends only on what the directories hold, never on how the
//! fleet was split: APIs are sorted by name and their findings by
//! severity, check and endpoint, so the merge of four shards' directories
//! equals the merge of one unsharded run's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use super::store::{self, FailureRecord, Found};
use super::targets::Fleet;
use super::view::{
    ApiBaseline, ApiEntry, ApiStatus, BriefFinding, CheckEntry, FleetBaseline, FleetView,
    SeverityCounts, Totals, FLEET_SCHEMA,
};
use crate::files::FileError;
use crate::finding::Severity;
use crate::report::{self, FixedFinding, Report, Tool};

#[derive(Debug, Error)]
pub enum MergeError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("nothing to merge: no report or failure record in {0}")]
    Empty(String),
}

/// What to merge and what to produce besides the view.
pub struct MergeInput<'a> {
    pub dirs: &'a [PathBuf],
    /// The targets file: its APIs without a report or a failure record
    /// are listed as missing.
    pub fleet: Option<&'a Fleet>,
    /// The previous night's view, and its file name.
    pub baseline: Option<(&'a str, &'a FleetView)>,
    /// Collect every finding as a SARIF result.
    pub sarif: bool,
    /// Where each API's own HTML page is written.
    pub pages: Option<&'a Path>,
}

/// The view, and what the renderers need beyond it.
#[derive(Debug, Default)]
pub struct Merged {
    pub view: Option<FleetView>,
    /// Every finding as a SARIF result of its API (see `render::sarif`).
    pub sarif_results: Vec<Value>,
    /// Each scanned API's base URI, for SARIF's `originalUriBaseIds`.
    pub sarif_bases: Vec<(String, String)>,
    /// Each API's HTML page, where one was written.
    pub pages: BTreeMap<String, PathBuf>,
    /// What the merge noticed and went on from (an unreadable report, an
    /// API found twice), one line each.
    pub warnings: Vec<String>,
}

/// One API's input, chosen among what the directories hold.
enum Source {
    Report {
        path: PathBuf,
        report: Box<Report>,
    },
    Failure {
        path: PathBuf,
        record: FailureRecord,
    },
    Unreadable {
        path: PathBuf,
        error: String,
    },
}

pub fn merge(input: &MergeInput<'_>) -> Result<Merged, MergeError> {
    let mut found: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for dir in input.dirs {
        for (api, entry) in store::list(dir)? {
            found.entry(api).or_default().push(entry);
        }
    }
    if found.is_empty() && input.fleet.is_none() {
        let dirs: Vec<String> = input.dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(MergeError::Empty(dirs.join(", ")));
    }
    if let Some(pages) = input.pages {
        std::fs::create_dir_all(pages)
            .map_err(|e| FileError::write("pages directory", pages, e))?;
    }
    let mut merged = Merged::default();
    let mut apis: Vec<ApiEntry> = Vec::with_capacity(found.len());
    for (api, entries) in found {
        let source = choose(&api, entries, &mut merged.warnings);
        apis.push(read_api(&api, source, input, &mut merged)?);
    }
    if let Some(fleet) = input.fleet {
        for target in &fleet.targets {
            if !apis.iter().any(|a| a.api == target.name) {
                apis.push(missing(&target.name, target.url.as_str()));
            }
        }
        apis.sort_by(|a, b| a.api.cmp(&b.api));
    }
    let baseline = input.baseline.map(|(file, previous)| {
        let mut summary = FleetBaseline {
            file: file.to_string(),
            ..FleetBaseline::default()
        };
        for api in &apis {
            if let Some(b) = &api.baseline {
                summary.new += b.new;
                summary.unchanged += b.unchanged;
                summary.fixed += b.fixed.len();
                summary.not_retested += b.not_retested.len();
            }
            let scanned_before = previous
                .api(&api.api)
                .is_some_and(|p| p.status == ApiStatus::Scanned);
            if api.status == ApiStatus::Scanned && !scanned_before {
                summary.apis_new.push(api.api.clone());
            }
        }
        for before in previous
            .apis
            .iter()
            .filter(|p| p.status == ApiStatus::Scanned)
        {
            let now = apis.iter().find(|a| a.api == before.api);
            if now.is_none_or(|a| a.status != ApiStatus::Scanned) {
                summary.not_retested += before.findings.len();
                summary.apis_not_rescanned.push(before.api.clone());
            }
        }
        summary
    });
    let checks = checks_of(&apis);
    let totals = totals_of(&apis);
    merged.view = Some(FleetView {
        schema: FLEET_SCHEMA.into(),
        tool: Tool::default(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        totals,
        baseline,
        apis,
        checks,
    });
    Ok(merged)
}

/// A complete report wins over a failure record; of two reports (a target
/// scanned by two shards, or twice), the later scan.
fn choose(api: &str, entries: Vec<Found>, warnings: &mut Vec<String>) -> Source {
    let several = entries.len() > 1;
    let mut best: Option<Source> = None;
    for entry in entries {
        let source = match entry {
            Found::Report { path } => match read_report(&path) {
                Ok(report) => Source::Report {
                    path,
                    report: Box::new(report),
                },
                Err(error) => {
                    warnings.push(format!("{}: {error}", path.display()));
                    Source::Unreadable { path, error }
                }
            },
            Found::Failure { path } => match read_failure(&path) {
                Ok(record) => Source::Failure { path, record },
                Err(error) => {
                    warnings.push(format!("{}: {error}", path.display()));
                    Source::Unreadable { path, error }
                }
            },
        };
        best = Some(match best {
            None => source,
            Some(current) => better(current, source),
        });
    }
    if several {
        warnings.push(format!(
            "{api}: found in more than one place; the latest complete report is used"
        ));
    }
    best.unwrap_or_else(|| Source::Unreadable {
        path: PathBuf::new(),
        error: "nothing found".into(),
    })
}

fn better(a: Source, b: Source) -> Source {
    let rank = |s: &Source| match s {
        Source::Report { report, .. } => (2, report.started_at.clone()),
        Source::Failure { record, .. } => (1, record.failed_at.clone()),
        Source::Unreadable { .. } => (0, String::new()),
    };
    if rank(&b) > rank(&a) {
        b
    } else {
        a
    }
}

fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    report::json::parse(&text).map_err(|e| format!("not a Rampart JSON report ({e})"))
}

fn read_failure(path: &Path) -> Result<FailureRecord, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let record: FailureRecord =
        serde_json::from_str(&text).map_err(|e| format!("not a failure record ({e})"))?;
    if record.schema != store::FAILURE_SCHEMA {
        return Err(format!(
            "schema '{}' is not {}",
            record.schema,
            store::FAILURE_SCHEMA
        ));
    }
    Ok(record)
}

fn read_api(
    api: &str,
    source: Source,
    input: &MergeInput<'_>,
    merged: &mut Merged,
) -> Result<ApiEntry, MergeError> {
    let previous = input
        .baseline
        .and_then(|(file, view)| view.api(api).map(|entry| (file, entry)));
    match source {
        Source::Report { path, report } => {
            let mut report = *report;
            let mut api_baseline = None;
            if let Some((file, _)) = input.baseline {
                // An API the previous night could not scan (or did not
                // have) has nothing to compare with: all of it is new.
                let before: Vec<FixedFinding> = previous
                    .filter(|(_, p)| p.status == ApiStatus::Scanned)
                    .map(|(_, p)| p.findings.iter().map(BriefFinding::fixed).collect())
                    .unwrap_or_default();
                report::triage::compare_with(&mut report, &before, file);
                if let Some(comparison) = &report.baseline {
                    api_baseline = Some(ApiBaseline {
                        new: comparison.new.len(),
                        unchanged: comparison.unchanged.len(),
                        fixed: comparison.fixed.clone(),
                        not_retested: comparison.not_retested.clone(),
                    });
                }
            }
            if let Some(pages) = input.pages {
                let page = pages.join(format!("{api}.html"));
                std::fs::write(&page, report::html::render(&report))
                    .map_err(|e| FileError::write("API page", &page, e))?;
                merged.pages.insert(api.to_string(), page);
            }
            if input.sarif {
                merged
                    .sarif_results
                    .extend(super::render::sarif_results(api, &report));
                merged
                    .sarif_bases
                    .push((api.to_string(), report::sarif::base_uri(&report.target)));
            }
            let mut findings: Vec<BriefFinding> = report
                .findings
                .iter()
                .map(|f| BriefFinding::of(f, report.baseline_state(&f.id)))
                .collect();
            findings.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then_with(|| a.check.cmp(&b.check))
                    .then_with(|| a.path.cmp(&b.path))
                    .then_with(|| a.method.cmp(&b.method))
                    .then_with(|| a.id.cmp(&b.id))
            });
            Ok(ApiEntry {
                api: api.to_string(),
                target: report.target.clone(),
                status: ApiStatus::Scanned,
                grade: Some(report.grade),
                score: Some(report.score),
                counts: SeverityCounts::of(report.findings.iter().map(|f| &f.head.severity)),
                stack: Some(report.stack.label()),
                endpoints: report.endpoints.len(),
                requests_sent: report.requests_sent,
                duration_ms: report.duration_ms,
                started_at: Some(report.started_at.clone()),
                errors: report.errors.len(),
                error: None,
                report: Some(path.display().to_string()),
                findings,
                baseline: api_baseline,
            })
        }
        Source::Failure { path, record } => Ok(ApiEntry {
            error: Some(record.error),
            requests_sent: record.requests_sent,
            duration_ms: record.duration_ms,
            started_at: Some(record.failed_at),
            report: Some(path.display().to_string()),
            ..failed(api, &record.target)
        }),
        Source::Unreadable { path, error } => Ok(ApiEntry {
            error: Some(format!("unreadable: {error}")),
            report: Some(path.display().to_string()),
            ..failed(api, "")
        }),
    }
}

fn failed(api: &str, target: &str) -> ApiEntry {
    ApiEntry {
        api: api.to_string(),
        target: target.to_string(),
        status: ApiStatus::Failed,
        grade: None,
        score: None,
        counts: SeverityCounts::default(),
        stack: None,
        endpoints: 0,
        requests_sent: 0,
        duration_ms: 0,
        started_at: None,
        errors: 0,
        error: None,
        report: None,
        findings: Vec::new(),
        baseline: None,
    }
}

fn missing(api: &str, target: &str) -> ApiEntry {
    ApiEntry {
        status: ApiStatus::Missing,
        error: Some("no shard left a report or a failure record".into()),
        ..failed(api, target)
    }
}

/// The fleet's findings by check: the worst check first, then the one
/// with more findings, then by id.
fn checks_of(apis: &[ApiEntry]) -> Vec<CheckEntry> {
    let mut checks: BTreeMap<&str, CheckEntry> = BTreeMap::new();
    for api in apis {
        for finding in &api.findings {
            let entry = checks
                .entry(finding.check.as_str())
                .or_insert_with(|| CheckEntry {
                    check: finding.check.clone(),
                    title: crate::knowledge::entry(&finding.check).map(|e| e.title.clone()),
                    category: finding.category,
                    worst: finding.severity,
                    findings: 0,
                    apis: Vec::new(),
                    new: 0,
                });
            entry.worst = entry.worst.max(finding.severity);
            entry.findings += 1;
            if finding.state == Some(report::BaselineState::New) {
                entry.new += 1;
            }
            if entry.apis.last() != Some(&api.api) {
                entry.apis.push(api.api.clone());
            }
        }
    }
    let mut checks: Vec<CheckEntry> = checks.into_values().collect();
    checks.sort_by(|a, b| {
        b.worst
            .cmp(&a.worst)
            .then_with(|| b.findings.cmp(&a.findings))
            .then_with(|| a.check.cmp(&b.check))
    });
    checks
}

fn totals_of(apis: &[ApiEntry]) -> Totals {
    let mut totals = Totals {
        apis: apis.len(),
        ..Totals::default()
    };
    for api in apis {
        match api.status {
            ApiStatus::Scanned => totals.scanned += 1,
            ApiStatus::Failed => totals.failed += 1,
            ApiStatus::Missing => totals.missing += 1,
        }
        if let Some(grade) = api.grade {
            *totals.grades.entry(grade.to_string()).or_default() += 1;
        }
        totals.counts.merge(&api.counts);
        totals.requests_sent += api.requests_sent;
    }
    totals.findings = totals.counts.total();
    totals
}

/// The worst severity among the view's findings that `--fail-on` judges.
pub fn worst(view: &FleetView) -> Option<Severity> {
    view.worst_to_fail_on()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::store::{OutDir, FAILURE_SCHEMA};
    use crate::report::tests::{finding, sample_report};

    fn write(dir: &Path, api: &str, report: &Report) {
        OutDir::open(dir)
            .unwrap()
            .write_report(api, &report::json::render(report))
            .unwrap();
    }

    fn fail(dir: &Path, api: &str) {
        OutDir::open(dir)
            .unwrap()
            .write_failure(&FailureRecord {
                schema: FAILURE_SCHEMA.into(),
                api: api.into(),
                target: format!("http://{api}.invalid/"),
                error: "cannot reach".into(),
                failed_at: "2026-01-01T00:00:00Z".into(),
                duration_ms: 1,
                requests_sent: 0,
            })
            .unwrap();
    }

    fn view(dirs: &[PathBuf], baseline: Option<(&str, &FleetView)>) -> FleetView {
        merge(&MergeInput {
            dirs,
            fleet: None,
            baseline,
            sarif: false,
            pages: None,
        })
        .expect("merged")
        .view
        .expect("a view")
    }

    /// Without the fields that name where and when the merge ran.
    fn comparable(view: &FleetView) -> FleetView {
        let mut view = view.clone();
        view.generated_at.clear();
        for api in &mut view.apis {
            api.report = None;
        }
        view
    }

    #[test]
    fn the_view_does_not_depend_on_how_the_fleet_was_split() {
        let root = tempfile::tempdir().unwrap();
        let one = root.path().join("one");
        let shards: Vec<PathBuf> = (0..3).map(|n| root.path().join(format!("s{n}"))).collect();
        let names = ["orders", "billing", "users", "auth", "cart"];
        for (n, name) in names.iter().enumerate() {
            let mut report = sample_report();
            report.target = format!("http://{name}.example/");
            report.findings.truncate(n % 3);
            write(&one, name, &report);
            write(&shards[n % 3], name, &report);
        }
        fail(&one, "legacy");
        fail(&shards[1], "legacy");
        let whole = view(&[one], None);
        let split = view(&shards, None);
        assert_eq!(comparable(&whole), comparable(&split));
        assert_eq!(whole.totals.apis, 6);
        assert_eq!(whole.totals.failed, 1);
        assert_eq!(whole.apis[0].api, "auth");
        let legacy = whole.api("legacy").expect("listed");
        assert_eq!(legacy.status, ApiStatus::Failed);
        assert_eq!(legacy.error.as_deref(), Some("cannot reach"));
    }

    #[test]
    fn findings_are_grouped_by_check_across_the_fleet() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b"] {
            let mut report = sample_report();
            report.target = format!("http://{name}.example/");
            write(dir.path(), name, &report);
        }
        let view = view(&[dir.path().to_path_buf()], None);
        assert_eq!(view.checks.len(), 2);
        for check in &view.checks {
            assert_eq!(check.apis, vec!["a", "b"]);
            assert_eq!(check.findings, 2);
        }
        assert_eq!(view.totals.findings, 4);
        assert_eq!(view.totals.grades.get("C"), Some(&2));
    }

    #[test]
    fn new_and_fixed_are_judged_per_api_against_the_previous_night() {
        let root = tempfile::tempdir().unwrap();
        let (monday, tuesday) = (root.path().join("mon"), root.path().join("tue"));
        let mut orders = sample_report();
        write(&monday, "orders", &orders);
        write(&monday, "users", &sample_report());
        write(&monday, "gone", &sample_report());
        let previous = view(&[monday], None);

        // Tuesday: one finding of orders fixed, one new; users the same;
        // gone failed; fresh is new to the fleet.
        orders.findings.remove(0);
        orders.findings.push(finding(
            "RMP-00000000beef",
            "exposure.pii",
            Severity::Critical,
            "/api/admin",
            "{}",
        ));
        write(&tuesday, "orders", &orders);
        write(&tuesday, "users", &sample_report());
        fail(&tuesday, "gone");
        write(&tuesday, "fresh", &sample_report());
        let now = view(&[tuesday], Some(("monday.json", &previous)));
        let orders = now.api("orders").unwrap();
        let b = orders.baseline.as_ref().expect("compared");
        assert_eq!((b.new, b.unchanged, b.fixed.len()), (1, 1, 1));
        assert_eq!(b.fixed[0].id, "RMP-aaaaaaaaaaaa");
        let users = now.api("users").unwrap().baseline.as_ref().unwrap();
        assert_eq!((users.new, users.unchanged, users.fixed.len()), (0, 2, 0));
        let summary = now.baseline.as_ref().expect("summary");
        assert_eq!(summary.new, 1 + 2);
        assert_eq!(summary.fixed, 1);
        assert_eq!(summary.apis_not_rescanned, vec!["gone"]);
        assert_eq!(summary.apis_new, vec!["fresh"]);
        // --fail-on judges only the new findings.
        assert_eq!(now.worst_to_fail_on(), Some(Severity::Critical));
        let pii = now
            .checks
            .iter()
            .find(|c| c.check == "exposure.pii")
            .unwrap();
        assert_eq!(pii.new, 2);
    }

    #[test]
    fn a_report_beats_a_failure_and_garbage_is_a_warning_not_a_stop() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        write(&a, "orders", &sample_report());
        fail(&b, "orders");
        OutDir::open(&b).unwrap();
        std::fs::write(b.join("broken.json"), "{\"half\": ").unwrap();
        let merged = merge(&MergeInput {
            dirs: &[a, b],
            fleet: None,
            baseline: None,
            sarif: false,
            pages: None,
        })
        .unwrap();
        let view = merged.view.unwrap();
        assert_eq!(view.api("orders").unwrap().status, ApiStatus::Scanned);
        assert_eq!(view.api("broken").unwrap().status, ApiStatus::Failed);
        assert_eq!(merged.warnings.len(), 2, "{:?}", merged.warnings);
    }

    #[test]
    fn targets_without_any_output_are_missing() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "orders", &sample_report());
        let fleet = Fleet::parse(
            "[[target]]\nname = \"orders\"\nurl = \"http://127.0.0.1:8080\"\n\
             [[target]]\nname = \"users\"\nurl = \"http://127.0.0.1:8081\"",
            Path::new("fleet.toml"),
        )
        .unwrap();
        let view = merge(&MergeInput {
            dirs: &[dir.path().to_path_buf()],
            fleet: Some(&fleet),
            baseline: None,
            sarif: false,
            pages: None,
        })
        .unwrap()
        .view
        .unwrap();
        assert_eq!(view.api("users").unwrap().status, ApiStatus::Missing);
        assert_eq!(view.totals.missing, 1);
    }
}
