//! The check runner: which check runs where (passive checks on every
//! exchange, endpoint checks on every endpoint, target-wide checks once), at
//! what concurrency, and the one place every outcome of a check passes
//! through, [`Record::record`]: its findings, why it probed nothing
//! ([`Skip`]) or why it failed. The report's coverage section is gathered
//! there.

use std::sync::{Arc, Mutex, MutexGuard};

use futures::stream::{self, StreamExt};

use super::coverage::{CheckCoverage, Tally, ALL_ENDPOINTS, TARGET};
use super::{injection, CheckMeta, Outcome, ProbeContext, RunsOn, Skip, TargetContext};
use crate::discover::{Discovered, Endpoint};
use crate::engine::{Engine, EngineError, Exchange};
use crate::facts::{Baselines, Needs, TargetFacts};
use crate::finding::FindingDraft;

/// Finding drafts, each with the check that made it.
pub type Drafts = Vec<(&'static CheckMeta, FindingDraft)>;

/// A check that could not finish on an endpoint or on the target.
#[derive(Debug, Clone)]
pub struct Failure {
    pub check: &'static CheckMeta,
    /// The endpoint's label (`GET /path`), or `target`.
    pub place: String,
    pub error: EngineError,
}

/// Everything the checks of one scan reported.
#[derive(Debug, Default)]
pub struct Results {
    pub drafts: Drafts,
    pub failures: Vec<Failure>,
    /// Per check, in registry order: what it probed and what it skipped.
    pub coverage: Vec<CheckCoverage>,
}

/// Where a check ran.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// A passive check, on one captured exchange.
    Exchange(&'a Exchange),
    Endpoint(&'a Endpoint),
    Target,
}

impl Place<'_> {
    fn label(self) -> String {
        match self {
            Place::Exchange(exchange) => {
                format!("{} {}", exchange.request.method, exchange.endpoint_path())
            }
            Place::Endpoint(endpoint) => endpoint.label(),
            Place::Target => TARGET.into(),
        }
    }

    /// Whether a skip here says something about an endpoint of the scan.
    /// Exchanges that belong to no endpoint (the root, discovery's
    /// guesses) count when judged but are not listed when skipped.
    fn names_an_endpoint(self) -> bool {
        match self {
            Place::Exchange(exchange) => exchange.endpoint_template.is_some(),
            Place::Endpoint(_) | Place::Target => true,
        }
    }
}

/// What the checks produced so far; shared with the engine's observer,
/// which runs the passive checks on whatever task sent the request.
#[derive(Default)]
struct Record {
    drafts: Mutex<Drafts>,
    failures: Mutex<Vec<Failure>>,
    tally: Mutex<Tally>,
}

impl Record {
    /// Every outcome of every check passes here.
    fn record(&self, check: &'static CheckMeta, place: Place<'_>, outcome: Outcome) {
        let label = place.label();
        match outcome {
            Ok(found) => {
                lock(&self.tally).probed(check, &label);
                lock(&self.drafts).extend(found.into_iter().map(|d| (check, d)));
            }
            Err(Skip::Failed(error)) => {
                lock(&self.tally).skipped(check, &label, Skip::Failed(error.clone()));
                lock(&self.failures).push(Failure {
                    check,
                    place: label,
                    error,
                });
            }
            Err(skip) if place.names_an_endpoint() => {
                lock(&self.tally).skipped(check, &label, skip);
            }
            Err(_) => {}
        }
    }
}

/// A poisoned lock only means another task panicked mid-push; what it
/// holds is still worth reporting.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the selected checks of one scan and keeps what they report.
pub struct Runner {
    /// The selected checks the scan runs, in registry order: not those
    /// switched off for the whole scan (state-changing and disruptive ones
    /// without `--active`, cross-identity ones without enough identities).
    checks: Vec<&'static CheckMeta>,
    /// `--active`: endpoints that change state are probed too.
    active: bool,
    /// `--login-burst`.
    allow_burst: bool,
    concurrency: usize,
    record: Arc<Record>,
    /// The injection family's settings and per-scan state.
    injection: injection::Session,
}

impl Runner {
    /// The runner of `selected` for a scan with `identities` identities.
    pub fn new(
        selected: Vec<&'static CheckMeta>,
        identities: usize,
        active: bool,
        allow_burst: bool,
        concurrency: usize,
    ) -> Self {
        let record = Arc::new(Record::default());
        let mut checks = Vec::new();
        {
            let mut tally = lock(&record.tally);
            for check in selected {
                tally.expect(check);
                match switched_off(check, identities, active) {
                    Some(skip) => tally.skipped(check, ALL_ENDPOINTS, skip),
                    None => checks.push(check),
                }
            }
        }
        Runner {
            checks,
            active,
            allow_burst,
            concurrency: concurrency.max(1),
            record,
            injection: injection::Session::default(),
        }
    }

    /// The injection family's settings for this scan (budgets, collaborator).
    pub fn with_injection(mut self, settings: injection::Settings) -> Self {
        self.injection = injection::Session::new(settings);
        self
    }

    /// How many finding drafts the checks have made so far (before
    /// de-duplication), for a progress display.
    pub fn drafts_counter(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let record = Arc::clone(&self.record);
        move || lock(&record.drafts).len()
    }

    /// What the checks that will run need learned about the target.
    pub fn needs(&self) -> Needs {
        self.checks
            .iter()
            .fold(Needs::NOTHING, |needs, c| needs.and(c.needs))
    }

    fn running(&self, runs_on: RunsOn) -> impl Iterator<Item = &'static CheckMeta> + '_ {
        self.checks
            .iter()
            .copied()
            .filter(move |c| c.runs_on == runs_on)
    }

    /// Lets the passive checks judge every exchange the engine captures,
    /// whoever sent it, from now on.
    pub fn watch(&self, engine: &mut Engine) {
        let passive: Vec<&'static CheckMeta> = self.running(RunsOn::Exchanges).collect();
        let record = Arc::clone(&self.record);
        engine.observe(move |exchange: &Arc<Exchange>| {
            for check in &passive {
                record.record(
                    check,
                    Place::Exchange(exchange),
                    check.check.inspect(exchange),
                );
            }
        });
    }

    /// Why no check may request `endpoint` in this scan, if none may.
    pub fn endpoint_skip(&self, endpoint: &Endpoint) -> Option<Skip> {
        (!endpoint.is_read_only() && !self.active).then_some(Skip::NeedsActive)
    }

    /// Runs every endpoint check on every endpoint it may probe (read-only
    /// ones, all of them under `--active`), `concurrency` at a time. An
    /// endpoint no check may request is recorded as skipped by every check
    /// that would have seen it.
    pub async fn probe_endpoints(
        &self,
        engine: &Engine,
        discovered: &Discovered,
        baselines: &Baselines,
        facts: &TargetFacts,
    ) {
        let mut probed: Vec<&Endpoint> = Vec::new();
        for endpoint in &discovered.endpoints {
            match self.endpoint_skip(endpoint) {
                Some(skip) => {
                    let mut tally = lock(&self.record.tally);
                    for check in self.checks.iter().filter(|c| c.runs_on != RunsOn::Target) {
                        tally.skipped(check, &endpoint.label(), skip.clone());
                    }
                }
                None => probed.push(endpoint),
            }
        }
        let jobs: Vec<(&'static CheckMeta, &Endpoint)> = self
            .running(RunsOn::Endpoints)
            .flat_map(|check| probed.iter().map(move |e| (check, *e)))
            .collect();
        let none: Vec<Arc<Exchange>> = Vec::new();
        stream::iter(jobs)
            .map(|(check, endpoint)| {
                let ctx = ProbeContext {
                    engine,
                    base_path: &discovered.base_path,
                    baselines: baselines.get(&endpoint.label()).unwrap_or(&none),
                    facts,
                    allow_burst: self.allow_burst,
                    injection: &self.injection,
                };
                async move {
                    let outcome = check.check.probe(&ctx, endpoint).await;
                    (check, endpoint, outcome)
                }
            })
            .buffer_unordered(self.concurrency)
            .for_each(|(check, endpoint, outcome)| {
                self.record
                    .record(check, Place::Endpoint(endpoint), outcome);
                std::future::ready(())
            })
            .await;
    }

    /// Runs every target-wide check once (its probes, then its judgment of
    /// what the scan learned), one after the other, after the endpoint
    /// checks (so their traffic does not disturb a measurement).
    pub async fn probe_target(&self, engine: &Engine, root: &Arc<Exchange>, facts: &TargetFacts) {
        let ctx = TargetContext {
            engine,
            root,
            facts,
            injection: &self.injection,
        };
        for check in self.running(RunsOn::Target) {
            let outcome = match check.check.probe_target(&ctx).await {
                Ok(mut found) => match check.check.judge_target(root, facts) {
                    Ok(more) => {
                        found.extend(more);
                        Ok(found)
                    }
                    // A judgment that could not be made leaves what the
                    // probes found; with nothing found, its reason stands.
                    Err(skip) if found.is_empty() => Err(skip),
                    Err(_) => Ok(found),
                },
                Err(skip) => Err(skip),
            };
            self.record.record(check, Place::Target, outcome);
        }
    }

    /// Everything the checks reported.
    pub fn finish(self) -> Results {
        Results {
            drafts: std::mem::take(&mut *lock(&self.record.drafts)),
            failures: std::mem::take(&mut *lock(&self.record.failures)),
            coverage: std::mem::take(&mut *lock(&self.record.tally)).finish(),
        }
    }
}

/// Why `check` cannot run at all in a scan with `identities` identities
/// (and `--active` or not).
fn switched_off(check: &CheckMeta, identities: usize, active: bool) -> Option<Skip> {
    if check.mode.needs_active() && !active {
        return Some(Skip::NeedsActive);
    }
    if identities >= check.min_identities {
        return None;
    }
    Some(match check.min_identities {
        1 => Skip::NoIdentity,
        _ => Skip::NoSecondIdentity,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::checks::probe::fixtures::exchange;
    use crate::checks::Check;
    use crate::checks::Mode;
    use crate::discover::EndpointSource;
    use crate::engine::EngineConfig;
    use crate::finding::{Category, Confidence, Severity};
    use crate::identity::Identity;

    /// A check that reports where it ran, fails on `POST /fails` and skips
    /// `GET /skipped` (every hook: the runner calls only the one its
    /// `runs_on` names).
    struct Echo;

    fn draft(place: &str) -> FindingDraft {
        let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
        FindingDraft::at_exchange(&root, Severity::Low, Confidence::Firm).key(place)
    }

    #[async_trait]
    impl Check for Echo {
        async fn probe_target(&self, _ctx: &TargetContext<'_>) -> Outcome {
            Ok(vec![draft("target")])
        }

        async fn probe(&self, _ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
            match endpoint.path.as_str() {
                "/fails" => Err(EngineError::Timeout(Duration::from_secs(1)))?,
                "/skipped" => Err(Skip::NoIdentifier),
                _ => Ok(vec![draft(&endpoint.label())]),
            }
        }
    }

    const fn meta(
        id: &'static str,
        mode: Mode,
        runs_on: RunsOn,
        min_identities: usize,
        needs: Needs,
    ) -> CheckMeta {
        CheckMeta {
            check: &Echo,
            id,
            category: Category::Configuration,
            severity: Severity::Low,
            summary: "test",
            mode,
            runs_on,
            min_identities,
            needs,
        }
    }

    static READS: CheckMeta = meta(
        "t.reads",
        Mode::Active,
        RunsOn::Endpoints,
        0,
        Needs::CACHE_PROFILE,
    );
    static WRITES: CheckMeta = meta(
        "t.writes",
        Mode::StateChanging,
        RunsOn::Endpoints,
        0,
        Needs::TLS,
    );
    static PAIR: CheckMeta = meta(
        "t.pair",
        Mode::Active,
        RunsOn::Endpoints,
        2,
        Needs::IDENTITIES,
    );
    static WATCHES: CheckMeta = meta(
        "t.watches",
        Mode::Passive,
        RunsOn::Exchanges,
        0,
        Needs::NOTHING,
    );
    static WHOLE: CheckMeta = meta("t.whole", Mode::Active, RunsOn::Target, 0, Needs::NOTHING);
    fn selected() -> Vec<&'static CheckMeta> {
        vec![&READS, &WRITES, &PAIR, &WATCHES, &WHOLE]
    }

    type Pairs = Vec<(&'static str, String)>;

    /// What a run over `GET /a`, `GET /skipped`, `POST /b` and `POST /fails`
    /// with one identity gave: the needs, (check, place) of every draft and
    /// failure, and each check's coverage as (check, probed, skipped).
    async fn run(active: bool) -> (Needs, Pairs, Pairs, Vec<(&'static str, usize, Pairs)>) {
        let mut config = EngineConfig::new(url::Url::parse("http://127.0.0.1:9/").unwrap());
        config.identities = vec![Identity {
            name: "alice".into(),
            headers: Vec::new(),
        }];
        let engine = Engine::new(config).unwrap();
        let mut endpoints = vec![
            Endpoint::discovered("/a", EndpointSource::Spec),
            Endpoint::discovered("/skipped", EndpointSource::Spec),
        ];
        for path in ["/b", "/fails"] {
            let mut write = Endpoint::discovered(path, EndpointSource::Spec);
            write.method = "POST".into();
            endpoints.push(write);
        }
        let discovered = Discovered {
            endpoints,
            base_path: String::new(),
            spec: None,
            spec_source: None,
        };
        let facts = TargetFacts::default();
        let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
        let runner = Runner::new(selected(), 1, active, false, 4);
        let needs = runner.needs();
        runner
            .probe_endpoints(&engine, &discovered, &Baselines::new(), &facts)
            .await;
        runner.probe_target(&engine, &root, &facts).await;
        let results = runner.finish();
        let mut drafts: Vec<_> = results
            .drafts
            .iter()
            .map(|(c, d)| (c.id, d.key.clone()))
            .collect();
        drafts.sort();
        let failures = results
            .failures
            .iter()
            .map(|f| (f.check.id, f.place.clone()))
            .collect();
        let coverage = results
            .coverage
            .iter()
            .map(|c| {
                let skipped = c
                    .skipped
                    .iter()
                    .map(|(place, skip)| (skip.kind(), place.clone()))
                    .collect();
                (c.check.id, c.probed, skipped)
            })
            .collect();
        (needs, drafts, failures, coverage)
    }

    fn pairs(expected: &[(&'static str, &str)]) -> Pairs {
        let mut pairs: Pairs = expected.iter().map(|(c, p)| (*c, p.to_string())).collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn disruptive_checks_run_only_with_active() {
        static HEAVY: CheckMeta = meta(
            "t.heavy",
            Mode::Disruptive,
            RunsOn::Endpoints,
            0,
            Needs::SIGNED_LINKS,
        );
        let quiet = Runner::new(vec![&HEAVY], 0, false, false, 1);
        assert_eq!(quiet.needs(), Needs::NOTHING);
        let active = Runner::new(vec![&HEAVY], 0, true, false, 1);
        assert_eq!(active.needs(), Needs::SIGNED_LINKS);
    }

    #[tokio::test]
    async fn read_only_scans_probe_read_only_endpoints_with_the_checks_that_can_run() {
        let (needs, drafts, failures, coverage) = run(false).await;
        // The state-changing check and the pair check are out: their needs
        // are not learned.
        assert_eq!(needs, Needs::CACHE_PROFILE);
        assert_eq!(
            drafts,
            pairs(&[("t.reads", "GET /a"), ("t.whole", "target")])
        );
        assert!(failures.is_empty());
        let writes = [
            ("needs --active", "POST /b"),
            ("needs --active", "POST /fails"),
        ];
        assert_eq!(
            coverage,
            vec![
                ("t.reads", 1, {
                    let mut skipped = pairs(&writes);
                    skipped.insert(0, ("no identifier found", "GET /skipped".into()));
                    skipped
                }),
                ("t.writes", 0, pairs(&[("needs --active", ALL_ENDPOINTS)])),
                (
                    "t.pair",
                    0,
                    pairs(&[("needs two identities", ALL_ENDPOINTS)])
                ),
                // The passive check saw no exchange: nothing probed, and
                // the endpoints no one may request are named.
                ("t.watches", 0, pairs(&writes)),
                ("t.whole", 1, Vec::new()),
            ]
        );
    }

    #[tokio::test]
    async fn active_scans_probe_every_endpoint_and_keep_each_failure_with_its_place() {
        let (needs, drafts, failures, coverage) = run(true).await;
        assert!(needs.includes(Needs::TLS));
        assert_eq!(
            drafts,
            pairs(&[
                ("t.reads", "GET /a"),
                ("t.reads", "POST /b"),
                ("t.writes", "GET /a"),
                ("t.writes", "POST /b"),
                ("t.whole", "target"),
            ])
        );
        assert_eq!(
            failures,
            pairs(&[("t.reads", "POST /fails"), ("t.writes", "POST /fails")])
        );
        let (check, probed, skipped) = &coverage[0];
        assert_eq!((*check, *probed), ("t.reads", 2));
        assert_eq!(
            *skipped,
            vec![
                ("no identifier found", "GET /skipped".to_string()),
                ("failed", "POST /fails".to_string())
            ]
        );
    }
}
