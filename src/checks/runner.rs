//! The check runner: which check runs where (passive checks on every
//! exchange, endpoint checks on every endpoint, target-wide checks once), at
//! what concurrency, and the one place every outcome of a check passes
//! through, [`Record::record`]: its findings or why it failed. Whatever the
//! report says per check (a coverage section, say) is gathered there.

use std::sync::{Arc, Mutex, MutexGuard};

use futures::stream::{self, StreamExt};

use super::{injection, Check, CheckMeta, Mode, ProbeContext, TargetContext};
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

/// Where a check ran.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// A passive check, on one captured exchange.
    Exchange,
    Endpoint(&'a Endpoint),
    Target,
}

impl Place<'_> {
    fn label(self) -> String {
        match self {
            Place::Exchange => "exchange".into(),
            Place::Endpoint(endpoint) => endpoint.label(),
            Place::Target => "target".into(),
        }
    }
}

/// What the checks produced so far; shared with the engine's observer,
/// which runs the passive checks on whatever task sent the request.
#[derive(Default)]
struct Record {
    drafts: Mutex<Drafts>,
    failures: Mutex<Vec<Failure>>,
}

impl Record {
    /// Every outcome of every check passes here.
    fn record(
        &self,
        check: &'static CheckMeta,
        place: Place<'_>,
        outcome: Result<Vec<FindingDraft>, EngineError>,
    ) {
        match outcome {
            Ok(found) if found.is_empty() => {}
            Ok(found) => lock(&self.drafts).extend(found.into_iter().map(|d| (check, d))),
            Err(error) => lock(&self.failures).push(Failure {
                check,
                place: place.label(),
                error,
            }),
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
    /// The selected checks the scan may run (state-changing and disruptive
    /// ones only with `--active`), in registry order.
    checks: Vec<&'static dyn Check>,
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
    pub fn new(
        selected: Vec<&'static dyn Check>,
        active: bool,
        allow_burst: bool,
        concurrency: usize,
    ) -> Self {
        Runner {
            checks: selected
                .into_iter()
                .filter(|c| !c.meta().mode.needs_active() || active)
                .collect(),
            active,
            allow_burst,
            concurrency: concurrency.max(1),
            record: Arc::default(),
            injection: injection::Session::default(),
        }
    }

    /// The injection family's settings for this scan (budgets, collaborator).
    pub fn with_injection(mut self, settings: injection::Settings) -> Self {
        self.injection = injection::Session::new(settings);
        self
    }

    /// What the checks that will run need learned about the target.
    pub fn needs(&self) -> Needs {
        self.checks
            .iter()
            .fold(Needs::NOTHING, |needs, c| needs.and(c.meta().needs))
    }

    /// Lets the passive checks judge every exchange the engine captures,
    /// whoever sent it, from now on.
    pub fn watch(&self, engine: &mut Engine) {
        let passive: Vec<&'static dyn Check> = self
            .checks
            .iter()
            .copied()
            .filter(|c| c.meta().mode == Mode::Passive)
            .collect();
        let record = Arc::clone(&self.record);
        engine.observe(move |exchange: &Arc<Exchange>| {
            for check in &passive {
                record.record(check.meta(), Place::Exchange, Ok(check.inspect(exchange)));
            }
        });
    }

    /// Runs every endpoint check on every endpoint it may probe (read-only
    /// ones, all of them under `--active`), `concurrency` at a time.
    pub async fn probe_endpoints(
        &self,
        engine: &Engine,
        discovered: &Discovered,
        baselines: &Baselines,
        facts: &TargetFacts,
    ) {
        let identities = engine.identities().len();
        let jobs: Vec<(&'static dyn Check, &Endpoint)> = self
            .checks
            .iter()
            .copied()
            .filter(|c| c.meta().mode != Mode::Passive && identities >= c.meta().min_identities)
            .flat_map(|check| {
                discovered
                    .endpoints
                    .iter()
                    .filter(|e| e.is_read_only() || self.active)
                    .map(move |e| (check, e))
            })
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
                    let outcome = check.probe(&ctx, endpoint).await;
                    (check, endpoint, outcome)
                }
            })
            .buffer_unordered(self.concurrency)
            .for_each(|(check, endpoint, outcome)| {
                self.record
                    .record(check.meta(), Place::Endpoint(endpoint), outcome);
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
        for check in &self.checks {
            let mut outcome = check.probe_target(&ctx).await;
            if let Ok(found) = &mut outcome {
                found.extend(check.judge_target(root, facts));
            }
            self.record.record(check.meta(), Place::Target, outcome);
        }
    }

    /// Everything the checks reported: the drafts, then the failures.
    pub fn finish(self) -> (Drafts, Vec<Failure>) {
        let drafts = std::mem::take(&mut *lock(&self.record.drafts));
        let failures = std::mem::take(&mut *lock(&self.record.failures));
        (drafts, failures)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::checks::probe::fixtures::exchange;
    use crate::discover::EndpointSource;
    use crate::engine::EngineConfig;
    use crate::finding::{Category, Confidence, Severity};
    use crate::identity::Identity;

    /// A check that reports where it ran, or fails on `POST /fails`.
    struct Echo(&'static CheckMeta);

    fn draft(place: &str) -> FindingDraft {
        let root = exchange("http://127.0.0.1:9/?rampart_cb=1", None, 200, &[], "{}");
        FindingDraft::at_exchange(&root, Severity::Low, Confidence::Firm).key(place)
    }

    #[async_trait]
    impl Check for Echo {
        fn meta(&self) -> &'static CheckMeta {
            self.0
        }

        async fn probe_target(
            &self,
            _ctx: &TargetContext<'_>,
        ) -> Result<Vec<FindingDraft>, EngineError> {
            Ok(vec![draft("target")])
        }

        async fn probe(
            &self,
            _ctx: &ProbeContext<'_>,
            endpoint: &Endpoint,
        ) -> Result<Vec<FindingDraft>, EngineError> {
            match endpoint.path.as_str() {
                "/fails" => Err(EngineError::Timeout(Duration::from_secs(1))),
                _ => Ok(vec![draft(&endpoint.label())]),
            }
        }
    }

    const fn meta(id: &'static str, mode: Mode, min_identities: usize, needs: Needs) -> CheckMeta {
        CheckMeta {
            id,
            category: Category::Configuration,
            severity: Severity::Low,
            summary: "test",
            mode,
            min_identities,
            needs,
        }
    }

    static READS: CheckMeta = meta("t.reads", Mode::Active, 0, Needs::CACHE_PROFILE);
    static WRITES: CheckMeta = meta("t.writes", Mode::StateChanging, 0, Needs::TLS);
    static PAIR: CheckMeta = meta("t.pair", Mode::Active, 2, Needs::IDENTITIES);
    static WATCHES: CheckMeta = meta("t.watches", Mode::Passive, 0, Needs::NOTHING);
    static CHECKS: [Echo; 4] = [Echo(&READS), Echo(&WRITES), Echo(&PAIR), Echo(&WATCHES)];

    fn selected() -> Vec<&'static dyn Check> {
        CHECKS.iter().map(|c| c as &dyn Check).collect()
    }

    /// (check, place) of every draft and failure of a run over `GET /a`,
    /// `POST /b` and `POST /fails` with one identity.
    async fn run(
        active: bool,
    ) -> (
        Needs,
        Vec<(&'static str, String)>,
        Vec<(&'static str, String)>,
    ) {
        let mut config = EngineConfig::new(url::Url::parse("http://127.0.0.1:9/").unwrap());
        config.identities = vec![Identity {
            name: "alice".into(),
            headers: Vec::new(),
        }];
        let engine = Engine::new(config).unwrap();
        let mut endpoints = vec![Endpoint::discovered("/a", EndpointSource::Spec)];
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
        let runner = Runner::new(selected(), active, false, 4);
        let needs = runner.needs();
        runner
            .probe_endpoints(&engine, &discovered, &Baselines::new(), &facts)
            .await;
        runner.probe_target(&engine, &root, &facts).await;
        let (drafts, failures) = runner.finish();
        let mut drafts: Vec<_> = drafts.iter().map(|(c, d)| (c.id, d.key.clone())).collect();
        drafts.sort();
        let failures = failures
            .iter()
            .map(|f| (f.check.id, f.place.clone()))
            .collect();
        (needs, drafts, failures)
    }

    fn pairs(expected: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut pairs: Vec<_> = expected.iter().map(|(c, p)| (*c, p.to_string())).collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn disruptive_checks_run_only_with_active() {
        static HEAVY: CheckMeta = meta("t.heavy", Mode::Disruptive, 0, Needs::SIGNED_LINKS);
        static CHECK: Echo = Echo(&HEAVY);
        let quiet = Runner::new(vec![&CHECK as &dyn Check], false, false, 1);
        assert_eq!(quiet.needs(), Needs::NOTHING);
        let active = Runner::new(vec![&CHECK as &dyn Check], true, false, 1);
        assert_eq!(active.needs(), Needs::SIGNED_LINKS);
    }

    #[tokio::test]
    async fn read_only_scans_probe_read_only_endpoints_with_the_checks_that_can_run() {
        let (needs, drafts, failures) = run(false).await;
        // The state-changing check is out: its needs are not learned.
        assert_eq!(needs, Needs::CACHE_PROFILE.and(Needs::IDENTITIES));
        assert_eq!(
            drafts,
            pairs(&[
                ("t.reads", "GET /a"),
                // Target-wide checks run whatever the identities.
                ("t.reads", "target"),
                ("t.pair", "target"),
                ("t.watches", "target"),
            ])
        );
        assert!(failures.is_empty());
    }

    #[tokio::test]
    async fn active_scans_probe_every_endpoint_and_keep_each_failure_with_its_place() {
        let (needs, drafts, failures) = run(true).await;
        assert!(needs.includes(Needs::TLS));
        assert_eq!(
            drafts,
            pairs(&[
                ("t.reads", "GET /a"),
                ("t.reads", "POST /b"),
                ("t.reads", "target"),
                ("t.writes", "GET /a"),
                ("t.writes", "POST /b"),
                ("t.writes", "target"),
                ("t.pair", "target"),
                ("t.watches", "target"),
            ])
        );
        assert_eq!(
            failures.len(),
            2,
            "t.reads and t.writes on POST /fails: {failures:?}"
        );
        assert!(failures.contains(&("t.writes", "POST /fails".to_string())));
    }
}
