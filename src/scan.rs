//! One scan, start to finish. [`run`] conducts the phases in order — prepare
//! the engine and log in, reach the root, discover, baseline, fingerprint
//! the stack, learn the facts the checks need, run the endpoint checks, then
//! the target-wide ones, and finalise — and each phase's work lives in its
//! own module (`discover`, `facts`, `checks::runner`, `report::finalize`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use thiserror::Error;
use url::Url;

use crate::checks::runner::{Prepared, Runner, Settings, Stage};
use crate::checks::Skip;
use crate::checks::{self, injection};
use crate::discover::import::{self, Import, ImportError};
use crate::discover::safety::reads_like_an_action;
use crate::discover::safety::PathFilter;
use crate::discover::shadow;
use crate::discover::{self, DiscoverError, Discovered};
use crate::engine::{
    Caller, Engine, EngineConfig, EngineError, EngineStats, Exchange, Probe, StopReason, StopSignal,
};
use crate::facts::baselines::{baseline_probe, DEFAULT_BASELINE_MEMORY};
use crate::facts::cache_profile::CacheProfile;
use crate::facts::{self, Baselines, Needs, Volatility};
use crate::report::finalize::{self, Finished};
use crate::report::{Incomplete, IncompleteReason, Report, ReportError, Warning};
use crate::stack::{Fingerprinter, Stack};

/// Where progress notes go.
pub type NoteSink = Box<dyn Fn(&str) + Send + Sync>;

/// Where live progress goes (the binary draws it on a terminal). Called
/// at each phase and after each exchange, from whichever task sent it.
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// The phases of a scan, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Reach,
    Discover,
    Baseline,
    Fingerprint,
    Learn,
    Probe,
    TargetWide,
    Changes,
    Finalise,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Reach => "reaching the target",
            Phase::Discover => "discovering endpoints",
            Phase::Baseline => "baseline requests",
            Phase::Fingerprint => "fingerprinting the stack",
            Phase::Learn => "learning the target",
            Phase::Probe => "probing endpoints",
            Phase::TargetWide => "target-wide checks",
            Phase::Changes => "checks that change data",
            Phase::Finalise => "writing the report",
        }
    }
}

/// Where a scan is: its phase, the requests used of the budget and the
/// findings so far (drafts, before de-duplication).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub requests: u64,
    pub budget: Option<u64>,
    pub findings: usize,
}

/// Feeds a [`ProgressSink`]: the phase is set by the conductor, the
/// request count rises with every exchange the engine captures and is
/// made exact (failed requests included) at each phase.
#[derive(Clone)]
struct Meter {
    sink: ProgressSink,
    phase: Arc<std::sync::Mutex<Phase>>,
    requests: Arc<std::sync::atomic::AtomicU64>,
    budget: Option<u64>,
    findings: Arc<dyn Fn() -> usize + Send + Sync>,
}

impl Meter {
    fn emit(&self) {
        let phase = *self
            .phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (self.sink)(Progress {
            phase,
            requests: self.requests.load(std::sync::atomic::Ordering::Relaxed),
            budget: self.budget,
            findings: (self.findings)(),
        });
    }

    fn exchange(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.emit();
    }

    fn phase(&self, phase: Phase, requests_sent: u64) {
        *self
            .phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = phase;
        self.requests
            .fetch_max(requests_sent, std::sync::atomic::Ordering::Relaxed);
        self.emit();
    }
}

/// Everything one scan needs to know, already validated.
pub struct ScanOptions {
    /// How the engine reaches the target: the target itself, identities,
    /// default headers, bounds and TLS settings.
    pub engine: EngineConfig,
    /// `--spec`: an OpenAPI/Swagger file or URL.
    pub spec: Option<String>,
    /// `--har`, `--postman`, `--endpoints`: endpoints from files.
    pub imports: Vec<Import>,
    pub include_checks: Vec<String>,
    pub skip_checks: Vec<String>,
    /// `--include-path`: when given, only endpoints whose path matches.
    pub include_paths: Vec<String>,
    /// `--exclude-path`: endpoints never requested.
    pub exclude_paths: Vec<String>,
    /// `--active`: state-changing probes are allowed.
    pub active: bool,
    /// Allow a bounded burst of failed logins (rate-limit check).
    pub login_burst: bool,
    /// `--stack`: the remediation variant, instead of fingerprinting.
    pub stack: Option<String>,
    /// The injection checks' budgets and collaborator URL.
    pub injection: injection::Settings,
    /// Receives progress notes (the binary prints them with `-v`).
    pub notes: Option<NoteSink>,
    /// What the offline recovery of token secrets may try.
    pub crack: facts::CrackSettings,
    /// Receives live progress (the binary draws it on a terminal).
    pub progress: Option<ProgressSink>,
    /// `--max-duration`: the scan stops sending after this long and reports
    /// what it has.
    pub max_duration: Option<Duration>,
    /// Memory the baselines may hold whole (see `facts::baselines`).
    pub baseline_memory: usize,
}

impl ScanOptions {
    pub fn new(target: Url) -> Self {
        ScanOptions {
            engine: EngineConfig::new(target),
            spec: None,
            imports: Vec::new(),
            include_checks: Vec::new(),
            skip_checks: Vec::new(),
            include_paths: Vec::new(),
            exclude_paths: Vec::new(),
            active: false,
            login_burst: false,
            stack: None,
            injection: injection::Settings::default(),
            notes: None,
            crack: facts::CrackSettings::default(),
            progress: None,
            max_duration: None,
            baseline_memory: DEFAULT_BASELINE_MEMORY,
        }
    }

    fn note(&self, text: &str) {
        if let Some(notes) = &self.notes {
            notes(text);
        }
    }
}

/// Failures that stop a scan before it could judge anything (exit status 2).
#[derive(Debug, Error)]
pub enum ScanError {
    #[error("cannot reach {target}: {error}")]
    Unreachable { target: String, error: EngineError },
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("{0}")]
    Engine(EngineError),
    #[error("no check selected (see `rampart checks`)")]
    NoChecks,
}

/// Gives the stop signal when `--max-duration` runs out; dropping it
/// (the scan is over) cancels the timer.
struct Deadline(Option<tokio::task::JoinHandle<()>>);

impl Deadline {
    fn start(limit: Option<Duration>, signal: &StopSignal) -> Deadline {
        Deadline(limit.map(|limit| {
            let signal = signal.clone();
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                signal.stop(StopReason::Deadline);
            })
        }))
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(timer) = self.0.take() {
            timer.abort();
        }
    }
}

/// Runs one scan: its phases, in order.
pub async fn run(options: ScanOptions) -> Result<Report, ScanError> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let clock = Instant::now();
    let _deadline = Deadline::start(options.max_duration, &options.engine.stop);
    let target = &options.engine.target;
    let unreachable = |error| ScanError::Unreachable {
        target: target.to_string(),
        error,
    };

    // Prepare: the checks, the engine they watch, the identities' logins.
    let selected = checks::select(&options.include_checks, &options.skip_checks);
    if selected.is_empty() {
        return Err(ScanError::NoChecks);
    }
    // A file that cannot be imported is a usage error: before any request.
    let imported = import::load_all(&options.imports, target)?;
    let paths = PathFilter::new(options.include_paths.clone(), options.exclude_paths.clone());
    let runner = Runner::new(
        selected,
        Settings {
            identities: options.engine.identities.len(),
            active: options.active,
            allow_burst: options.login_burst,
            concurrency: options.engine.concurrency,
            paths: paths.clone(),
        },
    )
    .with_injection(options.injection.clone());
    let mut engine = Engine::new(options.engine.clone()).map_err(ScanError::Engine)?;
    runner.watch(&mut engine);
    let meter = options.progress.clone().map(|sink| Meter {
        sink,
        phase: Arc::new(std::sync::Mutex::new(Phase::Reach)),
        requests: Arc::default(),
        budget: options.engine.max_requests,
        findings: Arc::new(runner.drafts_counter()),
    });
    if let Some(meter) = meter.clone() {
        engine.observe(move |_| meter.exchange());
    }
    let engine = engine;
    let phase = |phase: Phase| {
        if let Some(meter) = &meter {
            meter.phase(phase, engine.requests_sent());
        }
    };
    phase(Phase::Reach);
    engine.login_all().await.map_err(|error| match error {
        EngineError::Login(_) => ScanError::Engine(error),
        error => unreachable(error),
    })?;
    let callers = engine.callers();
    let first_caller = callers.first().cloned().unwrap_or(Caller::Anonymous);

    // Reach the root: a target that does not answer stops the scan here.
    let root = engine
        .send(Probe::get(engine.buster().bust(target)).as_caller(first_caller.clone()))
        .await
        .map_err(unreachable)?;
    options.note(&format!(
        "target answered HTTP {} in {} ms",
        root.response.status,
        root.elapsed.as_millis()
    ));

    // Discover the endpoints.
    phase(Phase::Discover);
    let mut errors = ScanErrors::default();
    let mut discovered = discover::discover(
        &engine,
        options.spec.as_deref(),
        &first_caller,
        &root,
        &paths,
    )
    .await?;
    for (place, error) in std::mem::take(&mut discovered.failures) {
        errors.engine(place, "discovery", &error);
    }
    if !imported.is_empty() {
        let count = imported.len();
        let added = discovered.absorb(imported).len();
        options.note(&format!(
            "imports: {count} request(s), {added} endpoint(s) not known before"
        ));
    }
    // Shadow endpoints: hidden paths, other API versions, methods an
    // Allow header names. Each one found is an endpoint every check sees.
    let mut reach = shadow::probe(
        &engine,
        &first_caller,
        &discovered,
        &paths,
        options.engine.concurrency,
        options.engine.max_requests,
    )
    .await;
    let shadowed: Vec<_> = reach.shadowed.iter().map(|s| s.endpoint.clone()).collect();
    let added = discovered.absorb(shadowed).len();
    options.note(&format!(
        "shadow endpoints: {} answered, {added} new, {} request(s)",
        reach.shadowed.len(),
        reach.requests
    ));
    // What the user's globs leave out is not in the report's endpoints,
    // but the coverage names it.
    let (chosen, left_out): (Vec<_>, Vec<_>) = discovered
        .endpoints
        .into_iter()
        .partition(|e| paths.admits_endpoint(e, &discovered.base_path));
    discovered.endpoints = chosen;
    if !left_out.is_empty() {
        options.note(&format!(
            "{} endpoint(s) left out by --include-path/--exclude-path",
            left_out.len()
        ));
        runner.left_out(&left_out, Skip::Excluded);
    }
    options.note(&format!(
        "{} endpoints ({})",
        discovered.endpoints.len(),
        discovered.origin()
    ));

    // Baseline: every read-only endpoint as every caller. Each answer is
    // read whole as it arrives — for the stack's fingerprint and the facts
    // the checks need — and then kept within the baselines' memory budget.
    phase(Phase::Baseline);
    let mut fingerprinter = Fingerprinter::default();
    fingerprinter.see(&root);
    let mut learner = facts::Learner::new(&engine, runner.needs(), &discovered.endpoints);
    let errors_before = errors.count();
    let baselines = baseline_streaming(
        &engine,
        &runner,
        &discovered,
        &callers,
        Baselines::with_budget(options.baseline_memory),
        |exchange| {
            fingerprinter.see(exchange);
            learner.see(exchange);
        },
        &mut errors,
        options.engine.concurrency,
    )
    .await;
    options.note(&format!(
        "baseline: {} endpoint(s) answered as {} caller(s), {} could not be requested",
        baselines.len(),
        callers.len(),
        errors.count() - errors_before
    ));
    if baselines.compacted() > 0 {
        options.note(&format!(
            "{} baseline(s) past the memory budget kept compact; requested again before their checks",
            baselines.compacted()
        ));
    }

    // Each answered endpoint once more: what changes between identical
    // requests (ids, times) is set aside by every comparison, and a few
    // answers are kept to tell, at the end, whether the data changed.
    let learned = Volatility::learn(
        &engine,
        &discovered.endpoints,
        &baselines,
        options.engine.concurrency,
    )
    .await;
    let watch = learned.watch;
    options.note(&format!(
        "{} endpoints answer identical requests differently; watching {} for a change of data",
        learned.volatility.volatile_count(),
        watch.labels().join(", ")
    ));
    let volatility = learned.volatility;
    let mut changed = learned.changed_during_baseline;

    // Documented operations the server does not route at all.
    reach.zombies = shadow::zombies(&engine, &first_caller, &discovered, &baselines, &reach).await;
    if !reach.zombies.is_empty() {
        options.note(&format!(
            "{} documented operation(s) not routed",
            reach.zombies.len()
        ));
    }

    // Fingerprint the stack, for remediation.
    phase(Phase::Fingerprint);
    let stack = match &options.stack {
        Some(forced) => Stack::forced(forced),
        None => {
            fingerprint(&engine, &first_caller, &mut fingerprinter, &mut errors).await;
            fingerprinter.finish()
        }
    };
    options.note(&format!("stack: {}", stack.label()));

    // Learn what the checks need to know about the target.
    phase(Phase::Learn);
    let note = |text: &str| options.note(text);
    let learning = facts::Learning {
        crack: &options.crack,
        notes: &note,
    };
    let mut facts = learner.finish(&baselines, &learning).await;
    facts.volatility = volatility;
    // Hidden parameters: names that change an answer, guessed in batches
    // where no shared cache could keep a guess's answer for visitors (the
    // cache profile says where); the checks that read parameters see them
    // from here on.
    let mining_cache = if runner.needs().includes(Needs::CACHE_PROFILE) {
        None
    } else {
        let mining = discover::params::candidates(&discovered, &baselines, &first_caller);
        Some(CacheProfile::learn(&engine, &mining, &baselines).await)
    };
    let cache = mining_cache.as_ref().unwrap_or(&facts.cache);
    reach.hidden = discover::params::mine(
        &engine,
        &mut discovered,
        &baselines,
        &facts.volatility,
        cache,
        &first_caller,
        options.engine.concurrency,
    )
    .await;
    if !reach.hidden.is_empty() {
        options.note(&format!(
            "hidden parameters: {}",
            reach
                .hidden
                .iter()
                .map(|h| format!("{} on {}", h.name, h.endpoint))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    facts.reach = reach;
    if facts.cache.cache_seen {
        options.note(&format!(
            "cache: {} (stores responses: {}, buster keyed: {})",
            facts.cache.signal.as_deref().unwrap_or("seen"),
            facts.cache.stores_responses,
            facts.cache.buster_keyed
        ));
    }

    // The checks, stage by stage: reads, target-wide, writes, failed
    // logins. The passive ones have been judging every exchange all along.
    let prepared = Prepared {
        engine: &engine,
        discovered: &discovered,
        baselines: &baselines,
        facts: &facts,
        root: &root,
    };
    runner
        .run_stages(prepared, |stage| {
            phase(match stage {
                Stage::Reads => Phase::Probe,
                Stage::TargetWide => Phase::TargetWide,
                Stage::Writes | Stage::LoginBudget => Phase::Changes,
            })
        })
        .await;
    phase(Phase::Finalise);

    // Nothing is confirmed on one answer: each confirmed finding's decisive
    // step once more, on a fresh cache buster.
    runner.confirm(prepared).await;

    // Did a read change the API's data? (An --active scan changes it on
    // purpose and says how in its changes.)
    let mut warnings = Vec::new();
    if !options.active {
        for label in watch.changed(&engine).await {
            if !changed.contains(&label) {
                changed.push(label);
            }
        }
        if !changed.is_empty() {
            warnings.push(data_changed(&changed, &baselines));
        }
    }

    // Finalise: findings and errors, redacted, in the report. What the
    // checks worked from goes first: the report is built beside none of it.
    drop(baselines);
    let results = runner.finish();
    options.note(&format!(
        "checks: {} finding draft(s), {} request(s) sent",
        results.drafts.len(),
        engine.requests_sent()
    ));
    for failure in results.failures {
        if failure.error.is_not_sent() {
            errors.engine(failure.place, failure.check.id, &failure.error);
        } else {
            errors.list.push(ReportError::from(failure));
        }
    }
    if let Some(message) = facts.tls_failure() {
        errors.note("TLS", message);
    }
    drop(facts);
    // What cut the scan short, if anything did.
    let duration = clock.elapsed();
    let stats = engine.stats();
    let incomplete = incompleteness(&stats, options.engine.max_requests, options.max_duration);
    for cut in &incomplete {
        options.note(&format!("incomplete: {}", cut.detail));
    }
    Ok(finalize::report(Finished {
        target,
        started_at,
        duration,
        requests_sent: stats.requests_sent,
        stack,
        endpoints: &discovered.endpoints,
        drafts: results.drafts,
        coverage: results.coverage,
        changes: engine.journal().changes(),
        warnings,
        errors: errors.into_list(),
        redactor: &engine.redactor(),
        incomplete,
        pacing: engine.pacing_report(duration),
    }))
}

/// The report's errors as they are gathered: each failure with its place,
/// except probes that were never sent (budget spent, scan stopped, a target
/// that only throttles), which repeat one cause for every later probe and
/// are counted once per cause.
#[derive(Default)]
struct ScanErrors {
    list: Vec<ReportError>,
    not_sent: BTreeMap<String, usize>,
}

impl ScanErrors {
    /// A request that failed at `place`, while `during` (a phase or a
    /// check id) was working.
    fn engine(&mut self, place: String, during: &str, error: &EngineError) {
        if error.is_not_sent() {
            *self.not_sent.entry(error.to_string()).or_default() += 1;
        } else {
            self.list.push(ReportError {
                endpoint: place,
                message: format!("{during}: {error}"),
            });
        }
    }

    fn note(&mut self, place: &str, message: &str) {
        self.list.push(ReportError {
            endpoint: place.to_string(),
            message: message.to_string(),
        });
    }

    /// Failures so far, each probe not sent counted.
    fn count(&self) -> usize {
        self.list.len() + self.not_sent.values().sum::<usize>()
    }

    fn into_list(mut self) -> Vec<ReportError> {
        for (message, count) in self.not_sent {
            self.list.push(ReportError {
                endpoint: "scan".into(),
                message: format!("{count} probe(s) {message}"),
            });
        }
        self.list
    }
}

/// What cut the scan's coverage short, from what the engine went through.
fn incompleteness(
    stats: &EngineStats,
    budget: Option<u64>,
    max_duration: Option<Duration>,
) -> Vec<Incomplete> {
    let mut cuts = Vec::new();
    let mut cut = |reason, detail: String| cuts.push(Incomplete { reason, detail });
    match stats.stopped {
        Some(StopReason::Deadline) => cut(
            IncompleteReason::Deadline,
            format!(
                "--max-duration ({} s) ran out; the scan stopped sending and reports what it had",
                max_duration.map_or(0.0, |d| d.as_secs_f64())
            ),
        ),
        Some(StopReason::Interrupted) => cut(
            IncompleteReason::Interrupted,
            "interrupted; the scan stopped sending and reports what it had".into(),
        ),
        None => {}
    }
    if stats.refused_budget > 0 {
        cut(
            IncompleteReason::Budget,
            format!(
                "the request budget (--max-requests {}) ran out; {} probe(s) were not sent",
                budget.unwrap_or(stats.requests_sent),
                stats.refused_budget
            ),
        );
    }
    if stats.gave_up_throttled {
        cut(
            IncompleteReason::Throttled,
            "the target kept throttling (429/Retry-After) and Rampart stopped sending".into(),
        );
    } else if stats.throttled_answers > 0 {
        cut(
            IncompleteReason::Throttled,
            format!(
                "{} probe(s) were still throttled after pausing and retrying",
                stats.throttled_answers
            ),
        );
    }
    if stats.transport_failures > 0 {
        cut(
            IncompleteReason::Errors,
            format!(
                "{} request(s) got no answer (timeouts, refused or reset connections); see errors",
                stats.transport_failures
            ),
        );
    }
    cuts
}

/// The warning that the data of the `changed` endpoints changed during a
/// read-only scan, naming as suspects the reads whose answers report an
/// action ("Database populated.").
fn data_changed(changed: &[String], baselines: &Baselines) -> Warning {
    let suspects: Vec<String> = baselines
        .iter()
        .filter(|(_, exchanges)| {
            exchanges.iter().any(|e| {
                (200..300).contains(&e.response.status) && reads_like_an_action(e.body_text())
            })
        })
        .map(|(label, _)| label.clone())
        .collect();
    let blame = if suspects.is_empty() {
        "No answer says which request did it; every endpoint requested is listed in the report."
            .to_string()
    } else {
        format!(
            "Suspects (their answers report an action): {}; exclude them with --exclude-path.",
            suspects.join(", ")
        )
    };
    Warning {
        message: format!(
            "The API's data changed while Rampart was scanning ({} answered with other data \
             than before): a read it sent has a side effect, and findings that compare answers \
             may be unreliable. {blame}",
            changed.join(", ")
        ),
        endpoints: suspects,
    }
}

/// Adds to what the fingerprinter saw one harmless request for a path that
/// cannot exist: default error pages name frameworks.
async fn fingerprint(
    engine: &Engine,
    caller: &Caller,
    fingerprinter: &mut Fingerprinter,
    errors: &mut ScanErrors,
) {
    let missing = format!("/rampart-{}-not-found", engine.buster().next_token());
    if let Ok(url) = engine.url_for(&missing) {
        match engine.send(Probe::get(url).as_caller(caller.clone())).await {
            Ok(exchange) => fingerprinter.see(&exchange),
            Err(error) => errors.engine(
                "GET /rampart-{token}-not-found".into(),
                "fingerprint",
                &error,
            ),
        }
    }
}

/// One request per read-only endpoint per caller, which checks compare
/// their probes with (default memory budget, nothing read on the way): for
/// the check fixtures, which run one check through the scan's own steps.
#[cfg(test)]
pub(crate) async fn baseline(
    engine: &Engine,
    runner: &Runner,
    discovered: &Discovered,
    callers: &[Caller],
    concurrency: usize,
    errors: &mut Vec<ReportError>,
) -> Baselines {
    let mut failed = ScanErrors::default();
    let baselines = baseline_streaming(
        engine,
        runner,
        discovered,
        callers,
        Baselines::new(),
        |_| {},
        &mut failed,
        concurrency,
    )
    .await;
    errors.extend(failed.into_list());
    baselines
}

/// One request per read-only endpoint per caller. Each answer, in order
/// and as it comes, goes to `read` whole, then into `baselines` (which
/// keeps it whole or compact).
#[allow(clippy::too_many_arguments)]
async fn baseline_streaming(
    engine: &Engine,
    runner: &Runner,
    discovered: &Discovered,
    callers: &[Caller],
    mut baselines: Baselines,
    mut read: impl FnMut(&Arc<Exchange>),
    errors: &mut ScanErrors,
    concurrency: usize,
) -> Baselines {
    let mut jobs = Vec::new();
    let requested = discovered
        .endpoints
        .iter()
        .filter(|e| e.is_read_only() && runner.endpoint_skip(e, &discovered.base_path).is_none());
    for endpoint in requested {
        let Some(path) = endpoint.concrete_path_and_query(&discovered.base_path) else {
            errors.note(
                &endpoint.label(),
                "skipped: no example value for a path parameter",
            );
            continue;
        };
        let url = match engine.url_for(&path) {
            Ok(url) => url,
            Err(error) => {
                errors.note(&endpoint.label(), &error.to_string());
                continue;
            }
        };
        for caller in callers {
            let probe = baseline_probe(engine, endpoint, &url, caller.clone());
            jobs.push((endpoint.label(), probe));
        }
    }
    stream::iter(jobs)
        .map(|(label, probe)| async move { (label, engine.send(probe).await) })
        .buffered(concurrency.max(1))
        .for_each(|(label, result)| {
            match result {
                Ok(exchange) => {
                    read(&exchange);
                    baselines.keep(label, exchange);
                }
                Err(error) => errors.engine(label, "baseline", &error),
            }
            std::future::ready(())
        })
        .await;
    baselines
}
