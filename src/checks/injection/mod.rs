//! Injection and unsafe input handling: input that reaches a SQL query, a
//! DynamoDB or MongoDB expression, a template, a shell, a file path or an
//! outgoing request, and input that crashes the handler.
//!
//! Every check works input by input ([`inputs::inputs`]: path, query,
//! header and cookie parameters, JSON and form body fields, id-like
//! segments of crawled paths) and proves evaluation, never mere reflection:
//! a database error the ordinary request does not produce, a true/false
//! pair that answers like the ordinary value and an impossible one, a delay
//! proportional to the one asked for, an arithmetic result only an engine
//! could compute, a callback to Rampart's own listener, a file's contents.
//!
//! Safe by construction: payloads only read (no `DROP`/`DELETE`/`UPDATE`/
//! `INSERT`, no stacked queries, no `OR`-tautology against a write
//! operation); only read operations are probed unless `--active`; each
//! check spends at most `--injection-param-budget` requests per input and
//! the family at most `--injection-budget` per scan ([`Session`]).

pub mod command;
pub mod compare;
pub mod fingerprints;
pub mod inputs;
pub mod listener;
pub mod malformed_input;
pub mod nosql;
pub mod path_traversal;
pub mod profile;
pub mod redos;
pub mod session;
pub mod sql;
pub mod ssrf;
pub mod template;
pub mod timing;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

pub use inputs::{Input, Payload, Place};
pub use session::{Session, Settings};

use crate::checks::{Check, CheckMeta, Family, Outcome, ProbeContext, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, EngineError, Exchange};
use crate::finding::{Confidence, FindingDraft, Severity};
use inputs::Shape;
use profile::Profile;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &sql::META,
        &nosql::META,
        &template::META,
        &command::META,
        &path_traversal::META,
        &ssrf::META,
        &redos::META,
        &malformed_input::META,
    ],
};

/// Why probing an input stopped.
#[derive(Debug)]
pub enum Halt {
    /// The check spent its requests for this input.
    ParamBudget,
    /// The family spent its requests for this scan.
    ScanBudget,
    /// The input cannot be probed (no value, nothing it can carry).
    Unbuildable,
    Engine(EngineError),
}

impl From<EngineError> for Halt {
    fn from(error: EngineError) -> Self {
        Halt::Engine(error)
    }
}

/// Who the family's probes are sent as: the first identity (an
/// authenticated caller reaches more code), else anonymous.
fn caller(ctx: &ProbeContext<'_>) -> Caller {
    ctx.identities()
        .into_iter()
        .next()
        .unwrap_or(Caller::Anonymous)
}

/// One check probing one input of one endpoint: sends payloads within the
/// budgets and builds the finding.
pub struct Point<'p, 'a> {
    pub ctx: &'p ProbeContext<'a>,
    pub endpoint: &'p Endpoint,
    pub input: &'p Input,
    pub shape: &'p Shape,
    pub caller: Caller,
    left: AtomicU32,
}

impl Point<'_, '_> {
    pub fn session(&self) -> &Session {
        self.ctx.injection
    }

    /// Sends the endpoint's request with this input carrying `payload`;
    /// `None` when the payload cannot travel in this input.
    pub async fn send(&self, payload: &Payload) -> Result<Option<Arc<Exchange>>, Halt> {
        let spent = self
            .left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(1)
            });
        if spent.is_err() {
            return Err(Halt::ParamBudget);
        }
        self.send_shared(payload).await
    }

    /// [`Point::send`] on the family's budget only (the profile's requests,
    /// which every check shares).
    pub(crate) async fn send_shared(
        &self,
        payload: &Payload,
    ) -> Result<Option<Arc<Exchange>>, Halt> {
        let Some(probe) = self
            .shape
            .probe(self.ctx, &self.caller, self.input, payload)
        else {
            return Ok(None);
        };
        if !self.session().take() {
            return Err(Halt::ScanBudget);
        }
        if !self.endpoint.is_read_only() && self.session().first_write_to(&self.endpoint.label()) {
            // Rampart cannot know what a write operation did with its probes
            // (created a record, updated one), so it says so once.
            self.ctx.engine.journal().made(
                self.endpoint.label(),
                "injection probes sent (the ordinary body and altered values); \
                 whatever they created or changed was not undone",
            );
        }
        Ok(Some(self.ctx.engine.send(probe).await?))
    }

    /// Response times to time a delay against: the profile's, or — when
    /// those are slow enough to ask for more than the shortest delay (a cold
    /// start, a burst of other probes) — three ordinary requests sent now,
    /// one after the other, which say how fast the endpoint answers now.
    pub async fn latencies(&self, profile: &Profile) -> Result<Vec<std::time::Duration>, Halt> {
        let known = profile.latencies();
        if timing::delay_for(&known, self.ctx.engine.timeout()) == Some(timing::MIN_DELAY) {
            return Ok(known);
        }
        let mut fresh = Vec::new();
        for _ in 0..3 {
            if let Some(answer) = self
                .send(&Payload::text(profile.base_value.clone()))
                .await?
            {
                fresh.push(answer.elapsed);
            }
        }
        Ok(if fresh.is_empty() { known } else { fresh })
    }

    /// The input's profile, learned by whichever check asks first.
    pub async fn profile(&self) -> Result<Arc<Profile>, Halt> {
        let key = format!("{} {}", self.endpoint.label(), self.input.key());
        let slot = self.session().profile_slot(&key);
        let learned = slot
            .get_or_init(|| async { profile::learn(self).await.ok().map(Arc::new) })
            .await;
        learned.clone().ok_or(Halt::Unbuildable)
    }

    /// The scan's baseline for this caller, when it is exactly the
    /// ordinary request (so it need not be sent again).
    pub(crate) fn reusable_baseline(&self, ordinary: bool) -> Option<Arc<Exchange>> {
        if !ordinary || self.input.in_body() {
            return None;
        }
        let baseline = self.ctx.baseline(&self.caller)?;
        let text = self.shape.value_of(self.input)?;
        let probe = self
            .shape
            .probe(self.ctx, &self.caller, self.input, &Payload::Text(text))?;
        let unbusted = |url: &str| compare::normalise(url, &[]);
        (unbusted(probe.url.as_str()) == unbusted(&baseline.request.url)
            && probe.method == baseline.request.method)
            .then(|| Arc::clone(baseline))
    }

    /// A finding at `exchange`, naming this input.
    pub fn draft(
        &self,
        exchange: &Arc<Exchange>,
        severity: Severity,
        confidence: Confidence,
    ) -> FindingDraft {
        FindingDraft::at_exchange(exchange, severity, confidence)
            .parameter(self.input.parameter())
            .key(self.input.key())
    }
}

/// An injection check that works input by input.
#[async_trait]
pub(crate) trait InputCheck: Send + Sync {
    /// The check as the registry holds it.
    const META: &'static CheckMeta;
    /// Why an endpoint without any input this check wants is skipped.
    const NOTHING_TO_PROBE: &'static str = "no input to probe";

    /// Whether this input is worth this check's requests: by default any
    /// but a true/false one, which a payload cannot ride on.
    fn wants(&self, _endpoint: &Endpoint, input: &Input) -> bool {
        !input.is_boolean()
    }

    /// Probes one input; at most one finding per input.
    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt>;
}

/// Every input check runs the same way: [`probe_inputs`] calls its
/// [`InputCheck::probe_input`] for each input it wants.
#[async_trait]
impl<C: InputCheck> Check for C {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        probe_inputs(C::META, self, ctx, endpoint).await
    }
}

/// The option that raises the family's budget, for coverage notes.
const BUDGET_OPTION: &str = "--injection-budget";
/// The option that lets the checks probe write operations.
const WRITES_OPTION: &str = "--injection-writes";

/// Runs `check` (described by `meta`) on every input of `endpoint` it wants.
/// A spent family budget stops the check for the rest of the scan, and the
/// endpoints it did not finish say so in the coverage; an input that fails
/// leaves the others to be probed.
pub(crate) async fn probe_inputs<C: InputCheck>(
    meta: &'static CheckMeta,
    check: &C,
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
) -> Outcome {
    if ctx.injection.was_cut_short(meta.id) {
        return Err(Skip::BudgetSpent(BUDGET_OPTION));
    }
    if !endpoint.is_read_only() && !ctx.injection.settings().writes {
        return Err(Skip::NeedsOptIn(WRITES_OPTION));
    }
    let wanted: Vec<Input> = inputs::inputs(endpoint)
        .into_iter()
        .filter(|input| check.wants(endpoint, input))
        .collect();
    if wanted.is_empty() {
        return Err(Skip::NotApplicable(C::NOTHING_TO_PROBE));
    }
    let shape = Shape::of(ctx, endpoint).ok_or(Skip::NoSampleValue)?;
    let caller = caller(ctx);
    let mut found = Vec::new();
    let mut probed = false;
    let mut cut = false;
    let mut failure: Option<EngineError> = None;
    for input in &wanted {
        let point = Point {
            ctx,
            endpoint,
            input,
            shape: &shape,
            caller: caller.clone(),
            left: AtomicU32::new(ctx.injection.settings().param_budget),
        };
        match check.probe_input(&point).await {
            Ok(draft) => {
                probed = true;
                found.extend(draft);
            }
            Err(Halt::ParamBudget) => probed = true,
            Err(Halt::Unbuildable) => {}
            Err(Halt::ScanBudget) => {
                ctx.injection.mark_cut_short(meta.id);
                cut = true;
                break;
            }
            Err(Halt::Engine(error)) if error.is_fatal_for_target() => {
                failure = Some(error);
                break;
            }
            Err(Halt::Engine(error)) => {
                failure.get_or_insert(error);
            }
        }
    }
    match (found.is_empty(), cut, failure) {
        (false, _, _) => Ok(found),
        (true, true, _) => Err(Skip::BudgetSpent(BUDGET_OPTION)),
        (true, false, Some(error)) => Err(Skip::Failed(error)),
        (true, false, None) if !probed => Err(Skip::Missing("no usable value for its inputs")),
        (true, false, None) => Ok(found),
    }
}

/// A payload shown in a finding's text: short, on one line.
pub(crate) fn shown(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > 120 {
        let cut: String = one_line.chars().take(117).collect();
        format!("`{cut}…`")
    } else {
        format!("`{one_line}`")
    }
}

/// Where `needle` first appears in the body.
pub(crate) fn focus(exchange: &Exchange, needle: &str) -> Option<std::ops::Range<usize>> {
    crate::checks::probe::focus_on(exchange, needle)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Scripted targets for the family's unit tests, on the shared
    //! fixtures: a handler sees each request's method and query and answers
    //! as the test says; one check is scanned on one endpoint.

    use axum::extract::Request;
    use axum::Router;

    use super::{CheckMeta, FindingDraft, Settings, Skip};
    use crate::checks::probe::fixtures::{self, reply_raw, Scanned, Setup, Target};

    /// What the handler sees of one request.
    #[derive(Debug, Clone)]
    pub struct Seen {
        pub method: String,
        /// The decoded query pairs, without the cache buster.
        pub query: Vec<(String, String)>,
    }

    impl Seen {
        pub fn arg(&self, name: &str) -> Option<&str> {
            self.query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// A target that answers every request with `handler`'s status and JSON text.
    pub async fn serve(
        handler: impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static,
    ) -> Target {
        let app = Router::new().fallback(move |request: Request| {
            let handler = handler.clone();
            async move {
                let query =
                    url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                        .filter(|(n, _)| n != "rampart_cb")
                        .map(|(n, v)| (n.into_owned(), v.into_owned()))
                        .collect();
                let seen = Seen {
                    method: request.method().to_string(),
                    query,
                };
                let (status, text) = handler(&seen);
                reply_raw(status, "application/json", &text)
            }
        });
        fixtures::serve(app).await
    }

    /// `meta`'s check scanned on the one endpoint `line` describes (as
    /// `fixtures::endpoint` reads it, then `adjust`ed), anonymously, with
    /// `settings`: its findings (or why it skipped) and the requests it sent.
    pub async fn run_with(
        meta: &'static CheckMeta,
        target: &Target,
        line: &str,
        settings: Settings,
        adjust: impl FnOnce(&mut crate::discover::Endpoint),
    ) -> (Result<Vec<FindingDraft>, Skip>, u64) {
        let mut setup = Setup::new(&[], &[line]);
        setup.injection = settings;
        adjust(&mut setup.endpoints[0]);
        let Scanned {
            drafts,
            skipped,
            sent,
            ..
        } = fixtures::scan(meta, target, setup).await;
        match skipped.into_iter().next() {
            Some((_, skip)) => (Err(skip), sent),
            None => (Ok(drafts), sent),
        }
    }

    /// [`run_with`] on the endpoint as `line` describes it.
    pub async fn run(
        meta: &'static CheckMeta,
        target: &Target,
        line: &str,
        settings: Settings,
    ) -> (Result<Vec<FindingDraft>, Skip>, u64) {
        run_with(meta, target, line, settings, |_| {}).await
    }

    /// What a check made of both twins of one scripted target.
    pub struct Twins {
        /// The one finding on the flawed twin.
        pub finding: FindingDraft,
        /// The requests it sent to the flawed twin, and to the fixed one.
        pub sent: (u64, u64),
    }

    /// `meta`'s check on the endpoint `line` describes of the flawed twin
    /// (`twin(true)`), where it must report exactly one finding, and of the
    /// fixed twin (`twin(false)`), where it must report none.
    pub async fn twins<H>(meta: &'static CheckMeta, twin: impl Fn(bool) -> H, line: &str) -> Twins
    where
        H: Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static,
    {
        let (finding, flawed) = found_once(meta, twin(true), line).await;
        let fixed = found_nothing(meta, twin(false), line).await;
        Twins {
            finding,
            sent: (flawed, fixed),
        }
    }

    /// `meta`'s check, with the default settings, on the endpoint `line`
    /// describes of a target that answers with `handler`: the one finding it
    /// must report, and the requests it sent.
    pub async fn found_once(
        meta: &'static CheckMeta,
        handler: impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static,
        line: &str,
    ) -> (FindingDraft, u64) {
        let target = serve(handler).await;
        let (found, sent) = run(meta, &target, line, Settings::default()).await;
        let mut found = found.expect("probed");
        assert_eq!(found.len(), 1, "{found:#?}");
        (found.remove(0), sent)
    }

    /// Like [`found_once`], for a target where the check must find nothing:
    /// the requests it sent.
    pub async fn found_nothing(
        meta: &'static CheckMeta,
        handler: impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static,
        line: &str,
    ) -> u64 {
        let target = serve(handler).await;
        let (found, sent) = run(meta, &target, line, Settings::default()).await;
        let found = found.expect("probed");
        assert!(found.is_empty(), "{found:#?}");
        sent
    }
}
