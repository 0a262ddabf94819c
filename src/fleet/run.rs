//! One shard of a fleet scan: the shard's targets, `parallel` at a time,
//! each scan a task of its own with its own engine (so each target is
//! paced by its own `rate` and `concurrency`), all of them also bounded by
//! the shard's global rate and concurrency. A finished target's report is
//! written and dropped at once, so memory grows with `parallel`, not with
//! the number of targets. A target that cannot be scanned — unreachable,
//! a bad spec, an identity file that does not load, even a panic in a
//! check — gets a failure record and an event, and the shard goes on.

use std::sync::Arc;
use std::time::Instant;

use futures::stream::{self, StreamExt};

use super::events::{Event, EventSink};
use super::store::{FailureRecord, OutDir, FAILURE_SCHEMA};
use super::targets::{Fleet, FleetTarget};
use super::view::SeverityCounts;
use super::Shard;
use crate::engine::pacing::{PaceMode, Pacer};
use crate::engine::Limits;
use crate::report::triage::Suppression;
use crate::report::{self, Report};
use crate::settings::ScanSettings;

/// The tally of a target's requests bounds nothing.
const TALLY_SLOTS: usize = 1 << 20;

/// Environment lookups for `env:VAR` values of identity files.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How one shard runs.
pub struct ShardPlan {
    pub fleet: Fleet,
    /// The command line over `rampart.toml`, which every target's own
    /// entry overrides.
    pub base: ScanSettings,
    pub shard: Shard,
    /// Targets scanned at once.
    pub parallel: usize,
    /// Requests per second for the whole shard (0: only each target's own).
    pub global_rate: f64,
    /// Requests in flight for the whole shard.
    pub global_concurrency: usize,
    pub resume: bool,
    pub out: OutDir,
    /// The project file's suppressions, applied to every target's report.
    pub suppressions: Vec<Suppression>,
    pub env: EnvLookup,
}

/// What the shard did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardSummary {
    pub targets: usize,
    pub scanned: usize,
    pub failed: usize,
    pub skipped: usize,
    pub requests: u64,
    /// Targets with a finding at or above this severity (for `--fail-on`).
    pub worst: Option<crate::finding::Severity>,
}

enum Outcome {
    Scanned {
        requests: u64,
        worst: Option<crate::finding::Severity>,
    },
    Failed {
        requests: u64,
    },
}

/// Runs the shard to its end and reports what it did.
pub async fn run(plan: ShardPlan, events: EventSink) -> ShardSummary {
    let clock = Instant::now();
    let mine: Vec<FleetTarget> = plan
        .shard
        .select(&plan.fleet.targets, |t| &t.name)
        .into_iter()
        .cloned()
        .collect();
    let mut summary = ShardSummary {
        targets: mine.len(),
        ..ShardSummary::default()
    };
    let mut to_scan = Vec::new();
    let mut skipped = Vec::new();
    for target in mine {
        let complete = plan.resume
            && plan
                .out
                .complete_report(&target.name, target.url.as_str())
                .is_some();
        if complete {
            skipped.push(target);
        } else {
            to_scan.push(target);
        }
    }
    summary.skipped = skipped.len();
    events.emit(Event::ShardStarted {
        fleet: plan.fleet.targets.len(),
        targets: summary.targets,
        to_scan: to_scan.len(),
        skipped: skipped.len(),
        parallel: plan.parallel,
    });
    for target in &skipped {
        events.emit(Event::TargetSkipped {
            api: target.name.clone(),
            target: target.url.to_string(),
            report: plan.out.report_path(&target.name).display().to_string(),
        });
    }
    let shared = Arc::new(Limits::new(
        Pacer::new(
            PaceMode::Steady,
            (plan.global_rate > 0.0).then_some(plan.global_rate),
        ),
        plan.global_concurrency.max(1),
        None,
    ));
    let plan = Arc::new(plan);
    let outcomes: Vec<Outcome> = stream::iter(to_scan)
        .map(|target| {
            let plan = Arc::clone(&plan);
            let shared = Arc::clone(&shared);
            let events = events.clone();
            async move { scan_target(plan, target, shared, events).await }
        })
        .buffer_unordered(plan.parallel.max(1))
        .collect()
        .await;
    for outcome in outcomes {
        match outcome {
            Outcome::Scanned { requests, worst } => {
                summary.scanned += 1;
                summary.requests += requests;
                summary.worst = summary.worst.max(worst);
            }
            Outcome::Failed { requests } => {
                summary.failed += 1;
                summary.requests += requests;
            }
        }
    }
    events.emit(Event::ShardFinished {
        scanned: summary.scanned,
        failed: summary.failed,
        skipped: summary.skipped,
        requests: summary.requests,
        duration_ms: millis(clock),
        peak_rss_kib: super::peak_rss_kib(),
    });
    summary
}

/// Scans one target in a task of its own (a panic in it is that target's
/// failure, not the shard's), writes its report or its failure record and
/// says so.
async fn scan_target(
    plan: Arc<ShardPlan>,
    target: FleetTarget,
    shared: Arc<Limits>,
    events: EventSink,
) -> Outcome {
    let clock = Instant::now();
    let api = target.name.clone();
    let url = target.url.to_string();
    plan.out.remove_leftovers(&api);
    events.emit(Event::TargetStarted {
        api: api.clone(),
        target: url.clone(),
    });
    // Each scan runs on a thread of its own with its own small runtime:
    // the targets use every core, and a panic in one is that target's
    // failure (the thread's), not the shard's. (A scan's future is also
    // not one the multi-threaded runtime could move between threads.)
    let task = {
        let plan = Arc::clone(&plan);
        let target = target.clone();
        tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| (format!("cannot start a runtime: {e}"), 0))?;
            runtime.block_on(scan_one(&plan, &target, shared))
        })
    };
    let result = match task.await {
        Ok(result) => result,
        Err(join) => Err((
            format!(
                "internal error: the scan stopped unexpectedly ({})",
                if join.is_panic() {
                    "panic"
                } else {
                    "cancelled"
                }
            ),
            0,
        )),
    };
    match result {
        Ok((report, json)) => match plan.out.write_report(&api, &json) {
            Ok(path) => {
                let requests = report.requests_sent;
                events.emit(Event::TargetFinished {
                    api,
                    target: url,
                    grade: report.grade,
                    score: report.score,
                    findings: report.findings.len(),
                    counts: SeverityCounts::of(report.findings.iter().map(|f| &f.head.severity)),
                    requests,
                    errors: report.errors.len(),
                    duration_ms: report.duration_ms,
                    report: path.display().to_string(),
                });
                // The report itself is on disk now and dropped here.
                Outcome::Scanned {
                    requests,
                    worst: report.worst(),
                }
            }
            Err(error) => fail(&plan, &events, api, url, error.to_string(), 0, clock),
        },
        Err((error, requests)) => fail(&plan, &events, api, url, error, requests, clock),
    }
}

fn fail(
    plan: &ShardPlan,
    events: &EventSink,
    api: String,
    url: String,
    error: String,
    requests: u64,
    clock: Instant,
) -> Outcome {
    let record = FailureRecord {
        schema: FAILURE_SCHEMA.into(),
        api: api.clone(),
        target: url.clone(),
        error: error.clone(),
        failed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration_ms: millis(clock),
        requests_sent: requests,
    };
    let record_path = match plan.out.write_failure(&record) {
        Ok(path) => path.display().to_string(),
        Err(write_error) => format!("not written: {write_error}"),
    };
    events.emit(Event::TargetFailed {
        api,
        target: url,
        error,
        requests,
        duration_ms: millis(clock),
        record: record_path,
    });
    Outcome::Failed { requests }
}

/// The scan of one target: its settings, its scan, the project's
/// suppressions, its JSON report (redacted). An error is said in one
/// redacted line, with the requests it cost.
async fn scan_one(
    plan: &ShardPlan,
    target: &FleetTarget,
    shared: Arc<Limits>,
) -> Result<(Box<Report>, String), (String, u64)> {
    let settings = target.settings(&plan.base);
    let env = Arc::clone(&plan.env);
    let mut options = settings
        .options(&move |var| env(var))
        .map_err(|e| (e.to_string(), 0))?;
    // The scan's own count is lost with its error; a failure record still
    // says what the target was sent before it failed.
    let tally = Arc::new(Limits::new(
        Pacer::new(PaceMode::Steady, None),
        TALLY_SLOTS,
        None,
    ));
    options.engine.outer_limits = vec![shared, Arc::clone(&tally)];
    let redactor = options.engine.redactor();
    let mut report = crate::scan::run(options).await.map_err(|e| {
        (
            redactor.redact_supplied(&e.to_string()).into_owned(),
            tally.requests_sent(),
        )
    })?;
    let today = chrono::Local::now().date_naive();
    report::triage::suppress(&mut report, &plan.suppressions, today);
    let json = redactor
        .redact_supplied(&report::json::render(&report))
        .into_owned();
    Ok((Box::new(report), json))
}

fn millis(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX)
}
