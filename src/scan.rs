//! One scan, start to finish. [`run`] conducts the phases in order — prepare
//! the engine and log in, reach the root, discover, baseline, fingerprint
//! the stack, learn the facts the checks need, run the endpoint checks, then
//! the target-wide ones, and finalise — and each phase's work lives in its
//! own module (`discover`, `facts`, `checks::runner`, `report::finalize`).

use std::sync::Arc;
use std::time::Instant;

use futures::stream::{self, StreamExt};
use thiserror::Error;
use url::Url;

use crate::checks::runner::{Runner, Settings};
use crate::checks::Skip;
use crate::checks::{self, injection};
use crate::discover::safety::reads_like_an_action;
use crate::discover::safety::PathFilter;
use crate::discover::{self, DiscoverError, Discovered};
use crate::engine::{Caller, Engine, EngineConfig, EngineError, Exchange, Probe};
use crate::facts::watch::Watch;
use crate::facts::{self, Baselines, Volatility};
use crate::report::finalize::{self, Finished};
use crate::report::{Report, ReportError, Warning};
use crate::stack::Stack;

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
    /// Receives live progress (the binary draws it on a terminal).
    pub progress: Option<ProgressSink>,
}

impl ScanOptions {
    pub fn new(target: Url) -> Self {
        ScanOptions {
            engine: EngineConfig::new(target),
            spec: None,
            include_checks: Vec::new(),
            skip_checks: Vec::new(),
            include_paths: Vec::new(),
            exclude_paths: Vec::new(),
            active: false,
            login_burst: false,
            stack: None,
            injection: injection::Settings::default(),
            notes: None,
            progress: None,
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
    #[error("{0}")]
    Engine(EngineError),
    #[error("no check selected (see `rampart checks`)")]
    NoChecks,
}

/// Runs one scan: its phases, in order.
pub async fn run(options: ScanOptions) -> Result<Report, ScanError> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let clock = Instant::now();
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
    let mut discovered = discover::discover(
        &engine,
        options.spec.as_deref(),
        &first_caller,
        &root,
        &paths,
    )
    .await?;
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

    // Baseline: every read-only endpoint as every caller.
    phase(Phase::Baseline);
    let mut errors: Vec<ReportError> = Vec::new();
    let baselines = baseline(
        &engine,
        &runner,
        &discovered,
        &callers,
        options.engine.concurrency,
        &mut errors,
    )
    .await;
    options.note(&format!(
        "baseline: {} endpoint(s) answered as {} caller(s), {} could not be requested",
        baselines.len(),
        callers.len(),
        errors.len()
    ));

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
    let watch = Watch::choose(
        &learned.references,
        &discovered.endpoints,
        &learned.volatility,
    );
    options.note(&format!(
        "{} endpoints answer identical requests differently; watching {} for a change of data",
        learned.volatility.volatile_count(),
        watch.labels().join(", ")
    ));
    let volatility = learned.volatility;
    let mut changed = learned.changed_during_baseline;

    // Fingerprint the stack, for remediation.
    phase(Phase::Fingerprint);
    let stack = match &options.stack {
        Some(forced) => Stack::forced(forced),
        None => fingerprint(&engine, &first_caller, &root, &baselines).await,
    };
    options.note(&format!("stack: {}", stack.label()));

    // Learn what the checks need to know about the target.
    phase(Phase::Learn);
    let mut facts = facts::learn(&engine, runner.needs(), &discovered.endpoints, &baselines).await;
    facts.volatility = volatility;
    if facts.cache.cache_seen {
        options.note(&format!(
            "cache: {} (stores responses: {}, buster keyed: {})",
            facts.cache.signal.as_deref().unwrap_or("seen"),
            facts.cache.stores_responses,
            facts.cache.buster_keyed
        ));
    }

    // The checks: on every endpoint, then once on the whole target. The
    // passive ones have been judging every exchange all along.
    phase(Phase::Probe);
    runner
        .probe_endpoints(&engine, &discovered, &baselines, &facts)
        .await;
    phase(Phase::TargetWide);
    runner.probe_target(&engine, &root, &facts).await;
    phase(Phase::Finalise);

    // Nothing is confirmed on one answer: each confirmed finding's decisive
    // step once more, on a fresh cache buster.
    runner
        .confirm(&engine, &discovered, &baselines, &facts, &root)
        .await;

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

    // Finalise: findings and errors, redacted, in the report.
    let results = runner.finish();
    options.note(&format!(
        "checks: {} finding draft(s), {} request(s) sent",
        results.drafts.len(),
        engine.requests_sent()
    ));
    errors.extend(results.failures.into_iter().map(ReportError::from));
    errors.extend(facts.tls_failure().map(|message| ReportError {
        endpoint: "TLS".into(),
        message: message.to_string(),
    }));
    Ok(finalize::report(Finished {
        target,
        started_at,
        duration: clock.elapsed(),
        requests_sent: engine.requests_sent(),
        stack,
        endpoints: &discovered.endpoints,
        drafts: results.drafts,
        coverage: results.coverage,
        changes: engine.journal().changes(),
        warnings,
        errors,
        redactor: &engine.redactor(),
    }))
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

/// The stack, from what the scan has seen so far plus one harmless request
/// for a path that cannot exist: default error pages name frameworks.
async fn fingerprint(
    engine: &Engine,
    caller: &Caller,
    root: &Arc<Exchange>,
    baselines: &Baselines,
) -> Stack {
    let mut seen: Vec<Arc<Exchange>> = vec![Arc::clone(root)];
    seen.extend(baselines.values().flatten().cloned());
    let missing = format!("/rampart-{}-not-found", engine.buster().next_token());
    if let Ok(url) = engine.url_for(&missing) {
        if let Ok(exchange) = engine.send(Probe::get(url).as_caller(caller.clone())).await {
            seen.push(exchange);
        }
    }
    Stack::fingerprint(&seen)
}

/// One request per read-only endpoint per caller; checks compare these.
pub(crate) async fn baseline(
    engine: &Engine,
    runner: &Runner,
    discovered: &Discovered,
    callers: &[Caller],
    concurrency: usize,
    errors: &mut Vec<ReportError>,
) -> Baselines {
    let mut jobs = Vec::new();
    let requested = discovered
        .endpoints
        .iter()
        .filter(|e| e.is_read_only() && runner.endpoint_skip(e, &discovered.base_path).is_none());
    for endpoint in requested {
        let Some(path) = endpoint.concrete_path_and_query(&discovered.base_path) else {
            errors.push(ReportError {
                endpoint: endpoint.label(),
                message: "skipped: no example value for a path parameter".into(),
            });
            continue;
        };
        let url = match engine.url_for(&path) {
            Ok(url) => url,
            Err(error) => {
                errors.push(ReportError {
                    endpoint: endpoint.label(),
                    message: error.to_string(),
                });
                continue;
            }
        };
        for caller in callers {
            // Busted, so a baseline never creates or reads a cache entry that
            // real users (or the other callers' baselines) share.
            let mut probe = Probe::get(engine.buster().bust(&url))
                .as_caller(caller.clone())
                .template(Some(endpoint.path.clone()));
            probe.method = endpoint.method.clone();
            probe.headers = endpoint.sample_headers();
            jobs.push((endpoint.label(), probe));
        }
    }
    let results = stream::iter(jobs)
        .map(|(label, probe)| async move { (label, engine.send(probe).await) })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut baselines = Baselines::new();
    for (label, result) in results {
        match result {
            Ok(exchange) => baselines.entry(label).or_default().push(exchange),
            Err(error) => errors.push(ReportError {
                endpoint: label,
                message: error.to_string(),
            }),
        }
    }
    baselines
}
