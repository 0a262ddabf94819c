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

use crate::checks::{CheckMeta, Family, ProbeContext, TargetContext};
use crate::discover::Endpoint;
use crate::engine::{Caller, EngineError, Exchange};
use crate::finding::{Confidence, FindingDraft, Severity};
use inputs::Shape;
use profile::Profile;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &sql::Sql,
        &nosql::NoSql,
        &template::Template,
        &command::Command,
        &path_traversal::PathTraversal,
        &ssrf::Ssrf,
        &redos::Redos,
        &malformed_input::MalformedInput,
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
        Ok(Some(self.ctx.engine.send(probe).await?))
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
pub(crate) trait InputCheck: Sync {
    fn meta(&self) -> &'static CheckMeta;

    /// Whether this input is worth this check's requests.
    fn wants(&self, _endpoint: &Endpoint, _input: &Input) -> bool {
        true
    }

    /// Probes one input; at most one finding per input.
    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt>;
}

/// Runs `check` on every input of `endpoint` it wants. A spent family
/// budget stops the check for the rest of the scan (and is reported by
/// [`cut_short`]); an input that fails leaves the others to be probed.
pub(crate) async fn probe_inputs<C: InputCheck>(
    check: &C,
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
) -> Result<Vec<FindingDraft>, EngineError> {
    let meta = check.meta();
    if ctx.injection.was_cut_short(meta.id) {
        return Ok(Vec::new());
    }
    let Some(shape) = Shape::of(ctx, endpoint) else {
        return Ok(Vec::new());
    };
    let caller = caller(ctx);
    let mut found = Vec::new();
    let mut failure: Option<EngineError> = None;
    for input in inputs::inputs(endpoint) {
        if !check.wants(endpoint, &input) {
            continue;
        }
        let point = Point {
            ctx,
            endpoint,
            input: &input,
            shape: &shape,
            caller: caller.clone(),
            left: AtomicU32::new(ctx.injection.settings().param_budget),
        };
        match check.probe_input(&point).await {
            Ok(draft) => found.extend(draft),
            Err(Halt::ParamBudget | Halt::Unbuildable) => {}
            Err(Halt::ScanBudget | Halt::Engine(EngineError::BudgetExhausted)) => {
                ctx.injection.mark_cut_short(meta.id);
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
    match failure {
        Some(error) if found.is_empty() => Err(error),
        _ => Ok(found),
    }
}

/// The error a check reports once per scan when the family's budget cut
/// its probing short.
pub(crate) fn cut_short(
    meta: &'static CheckMeta,
    ctx: &TargetContext<'_>,
) -> Result<Vec<FindingDraft>, EngineError> {
    if ctx.injection.was_cut_short(meta.id) {
        let settings = ctx.injection.settings();
        return Err(EngineError::BudgetSpent(format!(
            "the injection checks' request budget ({} requests, --injection-budget) was spent; \
             {} stopped before probing every input",
            settings.scan_budget, meta.id
        )));
    }
    Ok(Vec::new())
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
    //! A scriptable in-process API for the family's unit tests: a handler
    //! that sees each request's method and query and answers as the test
    //! says, on 127.0.0.1.

    use std::sync::{Arc, Mutex};

    use axum::extract::Request;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use url::Url;

    use super::*;
    use crate::checks::Check;
    use crate::discover::{EndpointSource, ParamLocation, Parameter};
    use crate::engine::{Engine, EngineConfig};
    use crate::facts::TargetFacts;

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

    pub type Handler = Arc<dyn Fn(&Seen) -> (u16, String) + Send + Sync>;

    /// A running scripted API; stops when dropped.
    pub struct Api {
        pub url: Url,
        pub seen: Arc<Mutex<Vec<Seen>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Api {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    pub async fn serve(handler: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Api {
        let handler: Handler = Arc::new(handler);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = Arc::clone(&seen);
        let app = axum::Router::new().fallback(move |request: Request| {
            let handler = Arc::clone(&handler);
            let log = Arc::clone(&log);
            async move {
                let (parts, _) = request.into_parts();
                let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                    .filter(|(n, _)| n != "rampart_cb")
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect();
                let seen = Seen {
                    method: parts.method.to_string(),
                    query,
                };
                let (status, text) = handler(&seen);
                log.lock().unwrap_or_else(|p| p.into_inner()).push(seen);
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response: Response = (status, text).into_response();
                response.headers_mut().insert(
                    "content-type",
                    axum::http::HeaderValue::from_static("application/json"),
                );
                response
            }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Api {
            url: Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a URL"),
            seen,
            task,
        }
    }

    /// A GET endpoint with one parameter.
    pub fn endpoint(path: &str, name: &str, location: ParamLocation, sample: &str) -> Endpoint {
        let mut endpoint = Endpoint::discovered(path, EndpointSource::Spec);
        endpoint.parameters.push(Parameter {
            name: name.into(),
            location,
            required: true,
            sample: Some(sample.into()),
            schema_type: None,
            format: None,
            pattern: None,
            enum_values: Vec::new(),
        });
        endpoint
    }

    /// Runs `check` on `endpoint` of `api` with the given settings, as the
    /// runner would (no baselines).
    pub async fn run(
        check: &dyn Check,
        api: &Api,
        endpoint: &Endpoint,
        settings: Settings,
    ) -> (Result<Vec<FindingDraft>, EngineError>, u64) {
        let mut config = EngineConfig::new(api.url.clone());
        config.rate_per_second = None;
        let engine = Engine::new(config).expect("an engine");
        let facts = TargetFacts::default();
        let session = Session::new(settings);
        let ctx = ProbeContext {
            engine: &engine,
            base_path: "",
            baselines: &[],
            facts: &facts,
            allow_burst: false,
            injection: &session,
        };
        let result = check.probe(&ctx, endpoint).await;
        (result, engine.requests_sent())
    }

    pub fn query_endpoint(path: &str, name: &str, sample: &str) -> Endpoint {
        endpoint(path, name, ParamLocation::Query, sample)
    }
}
