//! The check runner: which check runs where (passive checks on every
//! exchange, endpoint checks on every endpoint, target-wide checks once), at
//! what concurrency, and the one place every outcome of a check passes
//! through, [`Record::record`]: its findings, why it probed nothing
//! ([`Skip`]) or why it failed. The report's coverage section is gathered
//! there.

use std::sync::{Arc, Mutex, MutexGuard};

use futures::stream::{self, StreamExt};
use tokio::sync::OnceCell;

use super::coverage::{CheckCoverage, Tally, ALL_ENDPOINTS, TARGET};
use super::{injection, CheckMeta, Outcome, ProbeContext, RunsOn, Skip, TargetContext};
use crate::discover::safety::{state_changing_word, PathFilter};
use crate::discover::{Discovered, Endpoint};
use crate::engine::{Engine, EngineError, Exchange};
use crate::facts::volatility::replay;
use crate::facts::{Baselines, Needs, TargetFacts};
use crate::finding::{draft_id, Confidence, FindingDraft};
use crate::report::finalize::Collector;

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
    Exchange(&'a Arc<Exchange>),
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

/// Where a draft came from: what confirming it repeats.
#[derive(Clone)]
enum Origin {
    /// A passive check's judgment of this exchange.
    Exchange(Arc<Exchange>),
    /// An endpoint check's probe of the endpoint with this label.
    Endpoint(String),
    Target,
}

impl Origin {
    /// Where a draft made at `place` came from. Of an exchange only its
    /// request and head are kept (what a repeat needs), not its body.
    fn of(place: Place<'_>) -> Origin {
        match place {
            Place::Exchange(exchange) => Origin::Exchange(Arc::new(exchange.compact())),
            Place::Endpoint(endpoint) => Origin::Endpoint(endpoint.label()),
            Place::Target => Origin::Target,
        }
    }
}

/// What the checks produced so far; shared with the engine's observer,
/// which runs the passive checks on whatever task sent the request.
#[derive(Default)]
struct Record {
    /// Drafts, one per finding, ready for finalisation, each with where
    /// it came from.
    drafts: Mutex<Collector<Origin>>,
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
                if !found.is_empty() {
                    let origin = Origin::of(place);
                    let mut drafts = lock(&self.drafts);
                    for draft in found {
                        drafts.add_with(check, draft, origin.clone());
                    }
                }
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

/// What the runner needs to know about the scan.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// How many identities the scan has.
    pub identities: usize,
    /// `--active`: endpoints that change state are probed too.
    pub active: bool,
    /// `--login-burst`.
    pub allow_burst: bool,
    pub concurrency: usize,
    /// `--include-path` / `--exclude-path`.
    pub paths: PathFilter,
}

/// The passes of a scan's checks, in the order [`Runner::run_stages`] runs
/// them: each pass runs after the last one has finished, so what one pass
/// does to the target cannot disturb another's comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The endpoint checks that only read: their comparisons see the
    /// target as the baselines did.
    Reads,
    /// Every target-wide check once, one after the other (so their traffic
    /// does not disturb a measurement).
    TargetWide,
    /// Under `--active`, the endpoint checks that create, change or delete
    /// data or strain the server: an object created and deleted meanwhile
    /// would otherwise show in, and vanish from, a read check's answers.
    Writes,
    /// The checks that spend the login budget ([`Check::spends_login_budget`]),
    /// last of all: a well-defended API answers their failed logins by
    /// throttling every login from this client for a while, which would
    /// otherwise stall the identities' and throwaway accounts' own logins.
    LoginBudget,
}

impl Stage {
    pub const ORDER: [Stage; 4] = [
        Stage::Reads,
        Stage::TargetWide,
        Stage::Writes,
        Stage::LoginBudget,
    ];

    /// The endpoint stage `check` runs in.
    fn of(check: &CheckMeta) -> Stage {
        if check.check.spends_login_budget() {
            Stage::LoginBudget
        } else if check.mode.needs_active() {
            Stage::Writes
        } else {
            Stage::Reads
        }
    }
}

/// What the scan has ready when the checks run: the engine, the endpoints
/// and their baselines, the facts learned, and the root's answer.
#[derive(Clone, Copy)]
pub struct Prepared<'a> {
    pub engine: &'a Engine,
    pub discovered: &'a Discovered,
    pub baselines: &'a Baselines,
    pub facts: &'a TargetFacts,
    pub root: &'a Arc<Exchange>,
}

/// Runs the selected checks of one scan and keeps what they report.
pub struct Runner {
    /// The selected checks the scan runs, in registry order: not those
    /// switched off for the whole scan (state-changing and disruptive ones
    /// without `--active`, cross-identity ones without enough identities).
    checks: Vec<&'static CheckMeta>,
    settings: Settings,
    record: Arc<Record>,
    /// The injection family's settings and per-scan state.
    injection: injection::Session,
}

impl Runner {
    /// The runner of `selected` for a scan with these `settings`.
    pub fn new(selected: Vec<&'static CheckMeta>, settings: Settings) -> Self {
        let record = Arc::new(Record::default());
        let mut checks = Vec::new();
        {
            let mut tally = lock(&record.tally);
            for check in selected {
                tally.expect(check);
                match switched_off(check, settings.identities, settings.active) {
                    Some(skip) => tally.skipped(check, ALL_ENDPOINTS, skip),
                    None => checks.push(check),
                }
            }
        }
        Runner {
            checks,
            settings: Settings {
                concurrency: settings.concurrency.max(1),
                ..settings
            },
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

    /// Records `endpoints`, which the scan leaves out entirely, as skipped
    /// for `skip` by every check that would have seen them.
    pub fn left_out(&self, endpoints: &[Endpoint], skip: Skip) {
        let mut tally = lock(&self.record.tally);
        for endpoint in endpoints {
            for check in self.checks.iter().filter(|c| c.runs_on != RunsOn::Target) {
                tally.skipped(check, &endpoint.label(), skip.clone());
            }
        }
    }

    /// Why no check (and no baseline) may request `endpoint` in this scan,
    /// if none may: the user's path globs leave it out, it is a read whose
    /// name says it acts (unless the user named it), or it changes state
    /// and the scan is not `--active`.
    pub fn endpoint_skip(&self, endpoint: &Endpoint, base_path: &str) -> Option<Skip> {
        let paths = &self.settings.paths;
        if !paths.admits_endpoint(endpoint, base_path) {
            return Some(Skip::Excluded);
        }
        if let Some(word) = state_changing_word(endpoint) {
            if !paths.names_endpoint(endpoint, base_path) {
                return Some(Skip::LooksStateChanging(word.to_string()));
            }
        }
        (!endpoint.is_read_only() && !self.settings.active).then_some(Skip::NeedsActive)
    }

    /// Runs every endpoint check on every endpoint it may probe (read-only
    /// ones, all of them under `--active`), `concurrency` at a time. An
    /// endpoint no check may request is recorded as skipped by every check
    /// that would have seen it.
    ///
    /// `stage` says which: the endpoint checks of that [`Stage`].
    async fn probe_endpoints(
        &self,
        engine: &Engine,
        discovered: &Discovered,
        baselines: &Baselines,
        facts: &TargetFacts,
        stage: Stage,
    ) {
        let mut probed: Vec<&Endpoint> = Vec::new();
        for endpoint in &discovered.endpoints {
            match self.endpoint_skip(endpoint, &discovered.base_path) {
                // Endpoints left out are recorded once, by the first stage.
                Some(skip) if stage == Stage::Reads => {
                    let mut tally = lock(&self.record.tally);
                    for check in self.checks.iter().filter(|c| c.runs_on != RunsOn::Target) {
                        tally.skipped(check, &endpoint.label(), skip.clone());
                    }
                }
                Some(_) => {}
                None => probed.push(endpoint),
            }
        }
        // Endpoint by endpoint: the checks of one endpoint share its
        // baselines made whole (`Baselines::materialise`), dropped when its
        // last check is done, so at most `concurrency` endpoints hold whole
        // baselines at once.
        let checks: Vec<&'static CheckMeta> = self
            .running(RunsOn::Endpoints)
            .filter(|c| Stage::of(c) == stage)
            .collect();
        let jobs = probed.iter().flat_map(|endpoint| {
            let whole: Arc<OnceCell<Vec<Arc<Exchange>>>> = Arc::default();
            checks
                .iter()
                .map(move |check| (*check, *endpoint, Arc::clone(&whole)))
        });
        stream::iter(jobs)
            .map(|(check, endpoint, whole)| async move {
                let baselines = whole
                    .get_or_init(|| baselines.materialise(engine, endpoint, &discovered.base_path))
                    .await;
                let ctx = ProbeContext {
                    engine,
                    base_path: &discovered.base_path,
                    baselines,
                    facts,
                    allow_burst: self.settings.allow_burst,
                    injection: &self.injection,
                };
                let outcome = check.check.probe(&ctx, endpoint).await;
                (check, endpoint, outcome)
            })
            .buffer_unordered(self.settings.concurrency)
            .for_each(|(check, endpoint, outcome)| {
                self.record
                    .record(check, Place::Endpoint(endpoint), outcome);
                std::future::ready(())
            })
            .await;
    }

    /// Runs every stage of the checks, in [`Stage::ORDER`], telling
    /// `entering` as each begins.
    pub async fn run_stages(&self, prepared: Prepared<'_>, mut entering: impl FnMut(Stage)) {
        let Prepared { engine, facts, .. } = prepared;
        for stage in Stage::ORDER {
            entering(stage);
            match stage {
                Stage::TargetWide => self.probe_target(engine, prepared.root, facts).await,
                _ => {
                    let (discovered, baselines) = (prepared.discovered, prepared.baselines);
                    self.probe_endpoints(engine, discovered, baselines, facts, stage)
                        .await
                }
            }
        }
    }

    /// Runs every target-wide check once: its probes, then its judgment of
    /// what the scan learned.
    async fn probe_target(&self, engine: &Engine, root: &Arc<Exchange>, facts: &TargetFacts) {
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

    /// Confirms every `confirmed` draft, and every draft a passive check
    /// drew from a server error, by repeating its decisive step on a fresh
    /// cache buster: an endpoint check probes the endpoint again, a
    /// target-wide check runs again, a passive check judges a fresh copy of
    /// the exchange it judged (reads only: a write is not sent twice for
    /// this). A draft whose finding does not come back — same check,
    /// endpoint and key, as certain as before — is kept as `tentative`,
    /// saying why: one answer is not proof. A draft the check already
    /// proved twice itself ([`FindingDraft::repeated`]) is not sent again:
    /// a third answer adds requests, not certainty.
    pub async fn confirm(&self, prepared: Prepared<'_>) {
        let Prepared {
            engine,
            discovered,
            baselines,
            facts,
            root,
        } = prepared;
        let pending: Vec<(usize, &'static CheckMeta, Origin)> = lock(&self.record.drafts)
            .iter_mut()
            .enumerate()
            .filter(|(_, (_, draft, origin))| {
                // Also what a passive check read in a server error: a 500
                // can be a moment's accident (or one the scan caused).
                let failed = matches!(origin, Origin::Exchange(e) if e.response.status >= 500);
                !draft.repeated && (draft.head.confidence == Confidence::Confirmed || failed)
            })
            .map(|(i, (check, _, origin))| (i, check, origin.clone()))
            .collect();
        // One repeat per check and place, whatever number of drafts it made.
        let mut repeats: Vec<(&'static CheckMeta, Origin, Vec<usize>)> = Vec::new();
        for (index, check, origin) in pending {
            let same = |(c, o, _): &&mut (&CheckMeta, Origin, Vec<usize>)| {
                c.id == check.id
                    && match (o, &origin) {
                        (Origin::Endpoint(a), Origin::Endpoint(b)) => a == b,
                        (Origin::Target, Origin::Target) => true,
                        (Origin::Exchange(a), Origin::Exchange(b)) => Arc::ptr_eq(a, b),
                        _ => false,
                    }
            };
            match repeats.iter_mut().find(|r| same(r)) {
                Some((_, _, indices)) => indices.push(index),
                None => repeats.push((check, origin, vec![index])),
            }
        }
        let outcomes = stream::iter(repeats)
            .map(|(meta, origin, indices)| {
                let check = self
                    .checks
                    .iter()
                    .find(|c| c.id == meta.id)
                    .map(|c| c.check);
                async move {
                    let Some(check) = check else {
                        return (indices, None);
                    };
                    let again = match &origin {
                        Origin::Endpoint(label) => {
                            let Some(endpoint) =
                                discovered.endpoints.iter().find(|e| &e.label() == label)
                            else {
                                return (indices, None);
                            };
                            let whole = baselines
                                .materialise(engine, endpoint, &discovered.base_path)
                                .await;
                            let ctx = ProbeContext {
                                engine,
                                base_path: &discovered.base_path,
                                baselines: &whole,
                                facts,
                                allow_burst: self.settings.allow_burst,
                                injection: &self.injection,
                            };
                            check.probe(&ctx, endpoint).await
                        }
                        Origin::Target => {
                            let ctx = TargetContext {
                                engine,
                                root,
                                facts,
                                injection: &self.injection,
                            };
                            match check.probe_target(&ctx).await {
                                Ok(mut found) => {
                                    found.extend(
                                        check.judge_target(root, facts).unwrap_or_default(),
                                    );
                                    Ok(found)
                                }
                                Err(skip) => Err(skip),
                            }
                        }
                        Origin::Exchange(exchange) => {
                            match replayed(engine, discovered, exchange).await {
                                Some(Ok(fresh)) => check.inspect(&fresh),
                                Some(Err(skip)) => Err(skip),
                                // A write is not sent again to confirm it.
                                None => return (indices, None),
                            }
                        }
                    };
                    (indices, Some((meta, again)))
                }
            })
            .buffer_unordered(self.settings.concurrency)
            .collect::<Vec<_>>()
            .await;
        let mut collector = lock(&self.record.drafts);
        let mut drafts: Vec<&mut FindingDraft> =
            collector.iter_mut().map(|(_, draft, _)| draft).collect();
        for (indices, again) in outcomes {
            let Some((meta, again)) = again else { continue };
            let found: Vec<(String, Confidence)> = match &again {
                Ok(found) => found
                    .iter()
                    .map(|d| (draft_id(meta.id, d), d.head.confidence))
                    .collect(),
                Err(_) => Vec::new(),
            };
            for index in indices {
                let Some(draft) = drafts.get_mut(index) else {
                    continue;
                };
                let id = draft_id(meta.id, draft);
                if found
                    .iter()
                    .any(|(again, confidence)| *again == id && *confidence >= draft.head.confidence)
                {
                    continue;
                }
                let why = match &again {
                    Ok(_) => "repeating its decisive step on a fresh cache buster did not give the same result"
                        .to_string(),
                    Err(skip) => format!("repeating its decisive step was not possible ({skip})"),
                };
                draft.head.confidence = Confidence::Tentative;
                draft.head.description = format!(
                    "{} Not confirmed: {why}, so this is reported as tentative.",
                    draft.head.description
                );
            }
        }
    }

    /// Everything the checks reported.
    pub fn finish(self) -> Results {
        Results {
            drafts: std::mem::take(&mut *lock(&self.record.drafts)).into_drafts(),
            failures: std::mem::take(&mut *lock(&self.record.failures)),
            coverage: std::mem::take(&mut *lock(&self.record.tally)).finish(),
        }
    }
}

/// A fresh copy of a read a passive check judged: the same request, same
/// caller and the endpoint's sample headers, on a fresh buster. `None` for
/// a write (never sent twice to confirm a finding).
async fn replayed(
    engine: &Engine,
    discovered: &Discovered,
    exchange: &Exchange,
) -> Option<Result<Arc<Exchange>, Skip>> {
    if !matches!(exchange.request.method.as_ref(), "GET" | "HEAD" | "OPTIONS") {
        return None;
    }
    let label = format!("{} {}", exchange.request.method, exchange.endpoint_path());
    let endpoint = discovered.endpoints.iter().find(|e| e.label() == label);
    let probe = replay(engine, exchange, endpoint)?;
    Some(engine.send(probe).await.map_err(Skip::from))
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

    /// The run's checks: one of each hook and mode, with the needs each declares.
    static SELECTED: [CheckMeta; 5] = [
        meta(
            "t.reads",
            Mode::Active,
            RunsOn::Endpoints,
            0,
            Needs::CACHE_PROFILE,
        ),
        meta(
            "t.writes",
            Mode::StateChanging,
            RunsOn::Endpoints,
            0,
            Needs::TLS,
        ),
        meta(
            "t.pair",
            Mode::Active,
            RunsOn::Endpoints,
            2,
            Needs::IDENTITIES,
        ),
        meta(
            "t.watches",
            Mode::Passive,
            RunsOn::Exchanges,
            0,
            Needs::NOTHING,
        ),
        meta("t.whole", Mode::Active, RunsOn::Target, 0, Needs::NOTHING),
    ];
    static WATCHES: &CheckMeta = &SELECTED[3];
    fn selected() -> Vec<&'static CheckMeta> {
        SELECTED.iter().collect()
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
        let discovered = Discovered::of(endpoints);
        let facts = TargetFacts::default();
        let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
        let runner = Runner::new(
            selected(),
            Settings {
                identities: 1,
                active,
                allow_burst: false,
                concurrency: 4,
                paths: PathFilter::default(),
            },
        );
        let needs = runner.needs();
        runner
            .run_stages(
                Prepared {
                    engine: &engine,
                    discovered: &discovered,
                    baselines: &Baselines::new(),
                    facts: &facts,
                    root: &root,
                },
                |_| {},
            )
            .await;
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
        let settings = |active| Settings {
            active,
            concurrency: 1,
            ..Settings::default()
        };
        let quiet = Runner::new(vec![&HEAVY], settings(false));
        assert_eq!(quiet.needs(), Needs::NOTHING);
        let active = Runner::new(vec![&HEAVY], settings(true));
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

    #[test]
    fn reads_that_look_like_actions_and_excluded_paths_are_never_requested() {
        let runner = |include: &[&str], exclude: &[&str], active: bool| {
            Runner::new(
                selected(),
                Settings {
                    identities: 1,
                    active,
                    allow_burst: false,
                    concurrency: 1,
                    paths: PathFilter::new(
                        include.iter().map(|s| s.to_string()).collect(),
                        exclude.iter().map(|s| s.to_string()).collect(),
                    ),
                },
            )
        };
        let reset = Endpoint::discovered("/reset", EndpointSource::Spec);
        let users = Endpoint::discovered("/users", EndpointSource::Spec);
        let plain = runner(&[], &[], true);
        assert_eq!(
            plain.endpoint_skip(&reset, ""),
            Some(Skip::LooksStateChanging("reset".into()))
        );
        assert_eq!(plain.endpoint_skip(&users, ""), None);
        // Named by the user, it is requested; a glob does not name it.
        assert_eq!(
            runner(&["/reset"], &[], false).endpoint_skip(&reset, ""),
            None
        );
        assert!(runner(&["/*"], &[], false)
            .endpoint_skip(&reset, "")
            .is_some());
        let excluded = runner(&[], &["/us*"], false);
        assert_eq!(excluded.endpoint_skip(&users, ""), Some(Skip::Excluded));
        let elsewhere = runner(&["/api/*"], &[], false);
        assert_eq!(elsewhere.endpoint_skip(&users, ""), Some(Skip::Excluded));
        assert_eq!(elsewhere.endpoint_skip(&users, "/api"), None);
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

    /// The GET endpoints at `paths`, as a spec would list them.
    fn discovered(paths: &[&str]) -> Discovered {
        Discovered::of(
            paths
                .iter()
                .map(|p| Endpoint::discovered(p, EndpointSource::Spec))
                .collect(),
        )
    }

    /// An engine for a target nothing listens on.
    fn nowhere() -> Engine {
        Engine::new(EngineConfig::new(
            url::Url::parse("http://127.0.0.1:9/").unwrap(),
        ))
        .unwrap()
    }

    /// Confirms on `GET /stable`; on `GET /once` and `GET /repeated`, only
    /// the first time (the latter's draft says the check repeated its proof).
    struct Flaky(
        std::sync::atomic::AtomicUsize,
        std::sync::atomic::AtomicUsize,
    );

    static FLAKY_META: CheckMeta = CheckMeta {
        check: &FLAKY,
        ..meta(
            "t.flaky",
            Mode::Active,
            RunsOn::Endpoints,
            0,
            Needs::NOTHING,
        )
    };

    #[async_trait]
    impl Check for Flaky {
        async fn probe(&self, _ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
            let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
            let first = match endpoint.path.as_str() {
                "/once" => self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0,
                "/repeated" => self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0,
                _ => true,
            };
            let mut draft = FindingDraft::at_exchange(&root, Severity::High, Confidence::Confirmed)
                .key(endpoint.path.clone())
                .description("Seen.");
            if endpoint.path == "/repeated" {
                draft = draft.repeated();
            }
            draft.head.method = endpoint.method.clone();
            draft.head.path = endpoint.path.clone();
            Ok(if first { vec![draft] } else { Vec::new() })
        }
    }

    static FLAKY: Flaky = Flaky(
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::atomic::AtomicUsize::new(0),
    );

    #[tokio::test]
    async fn a_confirmed_finding_that_does_not_come_back_is_tentative_and_says_why() {
        let engine = nowhere();
        let discovered = discovered(&["/stable", "/once", "/repeated"]);
        let facts = TargetFacts::default();
        let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
        let runner = Runner::new(
            vec![&FLAKY_META],
            Settings {
                concurrency: 2,
                ..Settings::default()
            },
        );
        let prepared = Prepared {
            engine: &engine,
            discovered: &discovered,
            baselines: &Baselines::new(),
            facts: &facts,
            root: &root,
        };
        runner.run_stages(prepared, |_| {}).await;
        runner.confirm(prepared).await;
        let results = runner.finish();
        let mut seen: Vec<(String, Confidence, bool)> = results
            .drafts
            .iter()
            .map(|(_, d)| {
                (
                    d.head.path.clone(),
                    d.head.confidence,
                    d.head
                        .description
                        .contains("Not confirmed: repeating its decisive step"),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ("/once".to_string(), Confidence::Tentative, true),
                // Proven twice by the check itself: not probed again.
                ("/repeated".to_string(), Confidence::Confirmed, false),
                ("/stable".to_string(), Confidence::Confirmed, false),
            ]
        );
        assert_eq!(FLAKY.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn what_a_passive_check_read_in_a_server_error_is_judged_again() {
        let engine = nowhere();
        let discovered = discovered(&[]);
        let runner = Runner::new(selected(), Settings::default());
        let error_page = exchange("http://127.0.0.1:9/x?rampart_cb=1", None, 500, &[], "boom");
        let page = exchange("http://127.0.0.1:9/y?rampart_cb=1", None, 200, &[], "fine");
        for (seen, confidence) in [(&error_page, Confidence::Firm), (&page, Confidence::Firm)] {
            let draft = FindingDraft::at_exchange(seen, Severity::Medium, confidence).key("k");
            runner
                .record
                .record(WATCHES, Place::Exchange(seen), Ok(vec![draft]));
        }
        let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
        runner
            .confirm(Prepared {
                engine: &engine,
                discovered: &discovered,
                baselines: &Baselines::new(),
                facts: &TargetFacts::default(),
                root: &root,
            })
            .await;
        let results = runner.finish();
        let mut seen: Vec<(String, Confidence)> = results
            .drafts
            .iter()
            .map(|(_, d)| (d.head.path.clone(), d.head.confidence))
            .collect();
        seen.sort();
        // Nothing listens: the 500 could not be seen again, so it is only
        // tentative; the 200 was not a candidate and keeps its confidence.
        assert_eq!(
            seen,
            vec![
                ("/x".to_string(), Confidence::Tentative),
                ("/y".to_string(), Confidence::Firm)
            ]
        );
        assert!(results.drafts.iter().any(|(_, d)| d
            .head
            .description
            .contains("repeating its decisive step was not possible")));
    }

    /// Logs its name in [`PROBED`] each time it probes.
    struct Logged(&'static str);

    static PROBED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

    #[async_trait]
    impl Check for Logged {
        async fn probe(&self, _ctx: &ProbeContext<'_>, _endpoint: &Endpoint) -> Outcome {
            lock(&PROBED).push(self.0);
            Err(Skip::NoIdentifier)
        }
    }

    /// A check that logs as `check`, of `mode`, on every endpoint.
    const fn logged(id: &'static str, check: &'static Logged, mode: Mode) -> CheckMeta {
        CheckMeta {
            check,
            ..meta(id, mode, RunsOn::Endpoints, 0, Needs::NOTHING)
        }
    }
    static LOGGED_READS: CheckMeta = logged("t.reads", &Logged("reads"), Mode::Active);
    static LOGGED_WRITES: CheckMeta = logged("t.writes", &Logged("writes"), Mode::StateChanging);

    #[tokio::test]
    async fn checks_that_change_data_run_after_every_read_check_has_finished() {
        let engine = nowhere();
        let mut endpoints = Vec::new();
        for path in ["/a", "/b", "/c", "/d"] {
            endpoints.push(Endpoint::discovered(path, EndpointSource::Spec));
            let mut write = Endpoint::discovered(path, EndpointSource::Spec);
            write.method = "POST".into();
            endpoints.push(write);
        }
        let runner = Runner::new(
            vec![&LOGGED_READS, &LOGGED_WRITES],
            Settings {
                active: true,
                concurrency: 4,
                ..Settings::default()
            },
        );
        let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
        let mut stages = Vec::new();
        runner
            .run_stages(
                Prepared {
                    engine: &engine,
                    discovered: &Discovered::of(endpoints),
                    baselines: &Baselines::new(),
                    facts: &TargetFacts::default(),
                    root: &root,
                },
                |stage| stages.push(stage),
            )
            .await;
        assert_eq!(stages, Stage::ORDER);
        let log = lock(&PROBED).clone();
        let first_write = log.iter().position(|m| *m == "writes");
        assert_eq!(log.len(), 16, "{log:?}");
        assert!(
            first_write.is_some_and(|at| log[at..].iter().all(|m| *m == "writes")),
            "{log:?}"
        );
    }
}
