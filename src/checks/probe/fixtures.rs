//! In-process fixtures for the checks' unit tests, one set for every family.
//!
//! - **Answers without a server** — [`exchange`] (a GET and its answer) and
//!   [`Answer`] for anything less plain (a request header, another method,
//!   a body cut at the cap): what a passive check's `inspect` or a pure
//!   judgment receives; [`inspected`] and [`judged`] return what those
//!   hooks find.
//! - **In-process targets** — [`serve`] runs an axum `Router` on
//!   127.0.0.1 for as long as the returned [`Target`] lives; [`SharedCache`]
//!   puts a cache in front of it; [`ALICE`] and [`BOB`] are the identities
//!   a target recognises with [`caller`]; [`reply`] answers with JSON.
//! - **One check, scanned** — [`scan`] runs one check against a target the
//!   way `scan::run` does (root, baseline, the facts the check needs, the
//!   check runner), with the endpoints given instead of discovered, and
//!   returns its drafts before finalisation and where it skipped
//!   ([`Scanned`]).
//!
//! A check's tests then read as its twins: the flawed target gets the
//! finding, the fixed one and the broken ones (errors, non-JSON, cut
//! bodies) get none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};
use url::Url;

use crate::checks::runner::{Prepared, Runner, Settings};
use crate::checks::{Check, CheckMeta, Skip};
use crate::discover::safety::PathFilter;
use crate::discover::{
    Discovered, Endpoint, EndpointSource, ParamLocation, Parameter, ValueSchema,
};
use crate::engine::{
    Caller, Engine, EngineConfig, Exchange, HeaderList, Probe, RecordedRequest, RecordedResponse,
};
use crate::facts::{self, TargetFacts};
use crate::finding::{FindingDraft, Severity};
use crate::identity::Identity;

// ---- answers without a server ---------------------------------------------

/// An engine for a target nothing listens on: enough to plan probes
/// (URLs, busters, canaries) without sending any.
pub(crate) fn engine() -> Engine {
    let target = Url::parse("http://127.0.0.1:9/").expect("a valid URL");
    Engine::new(EngineConfig::new(target)).expect("an engine")
}

/// A target-wide context over `engine`, `root` and `facts` with a fresh
/// injection session (leaked: it lives as long as the test).
pub(crate) fn target_context<'a>(
    engine: &'a Engine,
    root: &'a Arc<Exchange>,
    facts: &'a TargetFacts,
) -> crate::checks::TargetContext<'a> {
    crate::checks::TargetContext {
        engine,
        root,
        facts,
        injection: Box::leak(Box::default()),
    }
}

/// A GET of `url` (as `identity`, when given) answered with `status`,
/// `headers` and `body`.
pub(crate) fn exchange(
    url: &str,
    identity: Option<&str>,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Arc<Exchange> {
    let mut answer = Answer::new(status, body).at(url).headers(headers);
    answer.request.identity = identity.map(String::from);
    answer.exchange()
}

/// The same exchange, its request sent with `headers`.
pub(crate) fn sent_with(exchange: Arc<Exchange>, headers: &[(&str, &str)]) -> Arc<Exchange> {
    let mut exchange = Arc::into_inner(exchange).expect("a fixture nobody else holds");
    exchange.request.headers = pairs(headers);
    Arc::new(exchange)
}

fn pairs(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// An exchange built step by step: `Answer::new(200, body)` is an
/// anonymous GET of `http://api.example.test/api/items` so answered.
pub(crate) struct Answer {
    request: RecordedRequest,
    response: RecordedResponse,
}

impl Answer {
    pub fn new(status: u16, body: &str) -> Self {
        Answer {
            request: RecordedRequest {
                method: "GET".into(),
                url: "http://api.example.test/api/items?rampart_cb=1".into(),
                headers: Vec::new(),
                body: None,
                identity: None,
            },
            response: RecordedResponse {
                status,
                http_version: "HTTP/1.1",
                headers: HeaderList::default(),
                body: Bytes::copy_from_slice(body.as_bytes()),
                truncated: false,
            },
        }
    }

    /// Sent to `url`.
    pub fn at(mut self, url: &str) -> Self {
        self.request.url = url.into();
        self
    }

    /// Sent with `method`.
    pub fn method(mut self, method: &str) -> Self {
        self.request.method = method.to_owned().into();
        self
    }

    /// Sent as `identity` with one of its headers.
    pub fn sent_as(mut self, identity: &str, header: (&str, &str)) -> Self {
        self.request.identity = Some(identity.into());
        self.request.headers.extend(pairs(&[header]));
        self
    }

    /// Answered with these headers too.
    pub fn headers(mut self, headers: &[(&str, &str)]) -> Self {
        self.response.headers.extend(headers.iter().copied());
        self
    }

    /// The body was cut at the engine's cap.
    pub fn truncated(mut self) -> Self {
        self.response.truncated = true;
        self
    }

    pub fn exchange(self) -> Arc<Exchange> {
        Arc::new(Exchange::new(
            self.request,
            self.response,
            Duration::ZERO,
            None,
        ))
    }
}

/// What a passive check finds in one answer (nothing when it skips it).
pub(crate) fn inspected(check: &dyn Check, exchange: &Arc<Exchange>) -> Vec<FindingDraft> {
    check.inspect(exchange).unwrap_or_default()
}

/// What a target-judging check finds in the root answer and the facts
/// (nothing when it skips the target).
pub(crate) fn judged(
    check: &dyn Check,
    root: &Arc<Exchange>,
    facts: &TargetFacts,
) -> Vec<FindingDraft> {
    check.judge_target(root, facts).unwrap_or_default()
}

// ---- in-process targets ---------------------------------------------------

/// An identity the fixture targets know: its API key (sent in
/// [`KEY_HEADER`]) and what its own profile says about it.
#[derive(Debug)]
pub(crate) struct Persona {
    pub name: &'static str,
    pub key: &'static str,
    pub user_id: &'static str,
    pub email: &'static str,
}

/// The header the personas' keys travel in.
pub(crate) const KEY_HEADER: &str = "X-API-Key";

pub(crate) const ALICE: Persona = Persona {
    name: "alice",
    key: "alice-key-5f2c8e71",
    user_id: "u-1001",
    email: "alice@example.test",
};

pub(crate) const BOB: Persona = Persona {
    name: "bob",
    key: "bob-key-93d04a6b",
    user_id: "u-1002",
    email: "bob@example.test",
};

impl Persona {
    /// The identity Rampart scans as.
    pub fn identity(&self) -> Identity {
        Identity {
            name: self.name.into(),
            headers: vec![(KEY_HEADER.into(), self.key.into())],
        }
    }

    /// Its profile, as a `/me` endpoint returns it: the values the scan
    /// learns to recognise the persona by.
    pub fn profile(&self) -> Value {
        json!({"user_id": self.user_id, "username": self.name, "email": self.email})
    }
}

/// Every persona.
pub(crate) const PERSONAS: [&Persona; 2] = [&ALICE, &BOB];

/// The persona whose key the request carries, if any.
pub(crate) fn caller(headers: &HeaderMap) -> Option<&'static Persona> {
    let key = headers.get(KEY_HEADER)?.to_str().ok()?;
    PERSONAS.into_iter().find(|p| p.key == key)
}

/// The personas' `GET /api/me`: the caller's profile, 401 without a known
/// key. Where a scan learns who the identities are.
pub(crate) fn me() -> Router {
    Router::new().route(
        "/api/me",
        axum::routing::get(|headers: HeaderMap| async move {
            match caller(&headers) {
                Some(persona) => reply(200, persona.profile()),
                None => reply(401, json!({"error": "authentication required"})),
            }
        }),
    )
}

/// A JSON answer with `status`.
pub(crate) fn reply(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// An answer with any body: HTML error pages, JSON cut short.
pub(crate) fn reply_raw(status: u16, content_type: &'static str, body: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", content_type)], body.to_string()).into_response()
}

/// An in-process target, served until dropped.
pub(crate) struct Target {
    pub url: Url,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves `app` on a free port of 127.0.0.1.
pub(crate) async fn serve(app: Router) -> Target {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let address = listener.local_addr().expect("a bound address");
    let server = tokio::spawn(async move {
        // Ends when the test drops the target; nothing to report then.
        let _ = axum::serve(listener, app).await;
    });
    Target {
        url: Url::parse(&format!("http://{address}/")).expect("a valid URL"),
        server,
    }
}

/// A shared cache in front of an in-process target, keyed on the method,
/// the whole URL and `keyed_headers`. It says `X-Cache: HIT` or `MISS`,
/// never stores an answer marked `Cache-Control: private` or `no-store`,
/// and stores error answers only when told to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedCache {
    /// Request headers that are part of the key.
    pub keyed_headers: &'static [&'static str],
    /// Redirects and errors are stored too (as some CDNs do).
    pub stores_errors: bool,
}

type Stored = (StatusCode, HeaderMap, Bytes);

impl SharedCache {
    /// The key is the URL alone; only successes are stored.
    pub const URL_ONLY: SharedCache = SharedCache {
        keyed_headers: &[],
        stores_errors: false,
    };

    /// The key is the URL and the personas' API key.
    pub const CREDENTIAL_KEYED: SharedCache = SharedCache {
        keyed_headers: &["x-api-key"],
        stores_errors: false,
    };

    /// `app` with this cache in front.
    pub fn in_front_of(self, app: Router) -> Router {
        let store: Arc<Mutex<HashMap<String, Stored>>> = Arc::default();
        app.layer(middleware::from_fn(move |request: Request, next: Next| {
            let store = Arc::clone(&store);
            async move { self.answer(&store, request, next).await }
        }))
    }

    async fn answer(
        self,
        store: &Mutex<HashMap<String, Stored>>,
        request: Request,
        next: Next,
    ) -> Response {
        let mut key = format!("{} {}", request.method(), request.uri());
        for name in self.keyed_headers {
            let value = request.headers().get(*name);
            key.push_str(&format!(" {name}={:?}", value));
        }
        let hit = store.lock().ok().and_then(|s| s.get(&key).cloned());
        if let Some((status, headers, body)) = hit {
            return labelled(status, headers, body, "HIT");
        }
        let (parts, body) = next.run(request).await.into_parts();
        let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
        let private = parts
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("private") || v.contains("no-store"));
        let storable = parts.status.is_success() || self.stores_errors;
        if storable && !private {
            if let Ok(mut s) = store.lock() {
                s.insert(key, (parts.status, parts.headers.clone(), body.clone()));
            }
        }
        labelled(parts.status, parts.headers, body, "MISS")
    }
}

/// `app` with every answer marked `Cache-Control: private`, which a
/// [`SharedCache`] does not store.
pub(crate) fn marked_private(app: Router) -> Router {
    app.layer(middleware::map_response(|mut response: Response| async {
        let private = HeaderValue::from_static("private");
        response.headers_mut().insert("cache-control", private);
        response
    }))
}

/// What stands between the callers and an origin: it wraps the origin.
pub(crate) type Front = fn(Router) -> Router;

/// What may stand between callers and an origin without handing one
/// caller's answer to another, by name: a cache keyed on the credential, a
/// cache the origin's `private` keeps out, and no cache at all.
pub(crate) fn safe_fronts() -> [(&'static str, Front); 3] {
    [
        ("a cache keyed on the credential", |origin| {
            SharedCache::CREDENTIAL_KEYED.in_front_of(origin)
        }),
        ("a cache that keeps private answers out", |origin| {
            SharedCache::URL_ONLY.in_front_of(marked_private(origin))
        }),
        ("no cache", |origin| origin),
    ]
}

fn labelled(
    status: StatusCode,
    mut headers: HeaderMap,
    body: Bytes,
    verdict: &'static str,
) -> Response {
    headers.insert("x-cache", HeaderValue::from_static(verdict));
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

// ---- one check, scanned -----------------------------------------------------

/// An endpoint as a spec would describe it, from `"METHOD /path?query"`:
/// every `{name}` in the path is a path parameter without a sample (the
/// scan fills it from what it learns), every `name=value` in the query a
/// query parameter with that sample.
pub(crate) fn endpoint(line: &str) -> Endpoint {
    let (method, target) = line.split_once(' ').expect("\"METHOD /path\"");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut endpoint = Endpoint::discovered(path, EndpointSource::Spec);
    endpoint.method = method.into();
    for segment in path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            endpoint
                .parameters
                .push(required_text(name, ParamLocation::Path, None));
        }
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, sample) = pair.split_once('=').unwrap_or((pair, "1"));
        endpoint
            .parameters
            .push(required_text(name, ParamLocation::Query, Some(sample)));
    }
    endpoint
}

/// A required string parameter, as [`endpoint`] reads one from its line.
fn required_text(name: &str, location: ParamLocation, sample: Option<&str>) -> Parameter {
    Parameter {
        required: true,
        schema: ValueSchema {
            schema_type: Some("string".into()),
            ..ValueSchema::default()
        },
        ..Parameter::new(name, location, sample.map(String::from))
    }
}

/// What one [`scan`] knows before it starts.
pub(crate) struct Setup {
    pub identities: Vec<Identity>,
    pub endpoints: Vec<Endpoint>,
    /// `--active`.
    pub active: bool,
    /// `--login-burst`.
    pub login_burst: bool,
    /// The injection family's budgets and collaborator URL.
    pub injection: crate::checks::injection::Settings,
    /// What the offline secret recovery tries (`--wordlist`,
    /// `--crack-digits`); four-digit numbers unless a test says otherwise.
    pub crack: facts::CrackSettings,
}

impl Setup {
    /// Scanning as `personas` (in that order), with `endpoints` given as
    /// [`endpoint`] reads them.
    pub fn new(personas: &[&Persona], endpoints: &[&str]) -> Self {
        Setup {
            identities: personas.iter().map(|p| p.identity()).collect(),
            endpoints: endpoints.iter().map(|e| endpoint(e)).collect(),
            active: false,
            login_burst: false,
            injection: crate::checks::injection::Settings::default(),
            crack: facts::CrackSettings {
                words: Vec::new(),
                digits: Some(4),
            },
        }
    }

    /// With `--active` (and `--login-burst` when `burst`).
    pub fn active(mut self, burst: bool) -> Self {
        self.active = true;
        self.login_burst = burst;
        self
    }

    /// The endpoint with this label (`GET /path`), to adjust.
    pub fn endpoint_mut(&mut self, label: &str) -> &mut Endpoint {
        self.endpoints
            .iter_mut()
            .find(|e| e.label() == label)
            .expect("an endpoint of the setup")
    }
}

/// What one check made of a target.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub drafts: Vec<FindingDraft>,
    /// Where the check did not probe, and why (the report's coverage).
    pub skipped: Vec<(String, Skip)>,
    /// What the scan learned before the check ran.
    pub facts: TargetFacts,
    /// Requests the check itself sent.
    pub sent: u64,
}

impl Scanned {
    /// The drafts' keys, in the order the check made them.
    pub fn keys(&self) -> Vec<&str> {
        self.drafts.iter().map(|d| d.key.as_str()).collect()
    }
}

/// Asserts that `text` (a finding's title or description) contains `part`,
/// showing the whole text when it does not.
#[track_caller]
pub(crate) fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} is not in {text:?}");
}

/// The key and severity of each draft, in the order the check made them.
pub(crate) fn graded(drafts: &[FindingDraft]) -> Vec<(String, Severity)> {
    drafts
        .iter()
        .map(|d| (d.key.clone(), d.head.severity))
        .collect()
}

/// The status of each evidence step of `draft`, in order.
pub(crate) fn statuses(draft: &FindingDraft) -> Vec<u16> {
    draft
        .evidence
        .iter()
        .map(|e| e.exchange.response.status)
        .collect()
}

/// Runs `check` alone against `target` as the scan would: the root as the
/// first identity, every read-only endpoint's baseline as every caller,
/// the facts the check needs, then the check wherever the runner lets it
/// run. Panics when the check failed anywhere: a fixture that cannot be
/// reached is a broken test.
pub(crate) async fn scan(check: &'static CheckMeta, target: &Target, setup: Setup) -> Scanned {
    let mut config = EngineConfig::new(target.url.clone());
    config.rate_per_second = None;
    let identities = setup.identities.len();
    config.identities = setup.identities;
    let runner = Runner::new(
        vec![check],
        Settings {
            identities,
            active: setup.active,
            allow_burst: setup.login_burst,
            concurrency: 4,
            paths: PathFilter::default(),
        },
    )
    .with_injection(setup.injection);
    let mut engine = Engine::new(config).expect("an engine");
    runner.watch(&mut engine);
    let first = engine
        .callers()
        .first()
        .cloned()
        .unwrap_or(Caller::Anonymous);
    let root = engine
        .send(Probe::get(engine.buster().bust(engine.target())).as_caller(first))
        .await
        .expect("the fixture answers");
    let discovered = Discovered::of(setup.endpoints);
    let mut skipped = Vec::new();
    let callers = engine.callers();
    let baselines =
        crate::scan::baseline(&engine, &runner, &discovered, &callers, 4, &mut skipped).await;
    let learning = facts::Learning {
        crack: &setup.crack,
        notes: &|_| {},
    };
    let facts = facts::learn(
        &engine,
        runner.needs(),
        &discovered.endpoints,
        &baselines,
        &learning,
    )
    .await;
    let before = engine.requests_sent();
    runner
        .run_stages(
            Prepared {
                engine: &engine,
                discovered: &discovered,
                baselines: &baselines,
                facts: &facts,
                root: &root,
            },
            |_| {},
        )
        .await;
    let results = runner.finish();
    assert!(results.failures.is_empty(), "{:#?}", results.failures);
    Scanned {
        drafts: results.drafts.into_iter().map(|(_, draft)| draft).collect(),
        skipped: results
            .coverage
            .into_iter()
            .flat_map(|c| c.skipped)
            .collect(),
        facts,
        sent: engine.requests_sent() - before,
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;

    use super::*;

    #[test]
    fn endpoints_read_their_parameters_from_the_line() {
        let e = endpoint("GET /api/users/{user_id}/orders/{order_id}?page=2&q");
        assert_eq!(
            e.parameters,
            [
                required_text("user_id", ParamLocation::Path, None),
                required_text("order_id", ParamLocation::Path, None),
                required_text("page", ParamLocation::Query, Some("2")),
                required_text("q", ParamLocation::Query, Some("1")),
            ]
        );
        assert_eq!(e.label(), "GET /api/users/{user_id}/orders/{order_id}");
        assert!(!endpoint("PATCH /api/me").is_read_only());
    }

    #[test]
    fn answers_are_built_as_the_engine_captures_them() {
        let cut = Answer::new(200, r#"{"a": 1}"#).truncated().exchange();
        assert!(
            cut.body_json().is_none(),
            "a cut body is never read as JSON"
        );
        let sent = Answer::new(201, "{}")
            .method("POST")
            .sent_as("alice", (KEY_HEADER, ALICE.key))
            .headers(&[("Location", "/x")])
            .exchange();
        assert_eq!(sent.request.identity.as_deref(), Some("alice"));
        assert_eq!(sent.request_header("x-api-key"), Some(ALICE.key));
        assert_eq!(sent.response_header("location"), Some("/x"));
    }

    /// GETs `path` with `headers` and returns the status, `X-Cache` and body.
    async fn fetch(target: &Target, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let engine = Engine::new(EngineConfig::new(target.url.clone())).expect("an engine");
        let mut probe = Probe::get(engine.url_for(path).expect("a URL"));
        probe.headers = pairs(headers);
        let answer = engine.send(probe).await.expect("an answer");
        let cache = answer
            .response_header("x-cache")
            .unwrap_or_default()
            .to_string();
        (
            answer.response.status,
            cache,
            answer.body_text().to_string(),
        )
    }

    #[tokio::test]
    async fn the_shared_cache_keys_on_the_url_and_the_headers_it_is_told() {
        let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let origin = Router::new().route(
            "/n",
            get(move |headers: HeaderMap| async move {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let status = if headers.contains_key("x-fail") {
                    500
                } else {
                    200
                };
                reply(status, json!(n))
            }),
        );
        let keyed = SharedCache {
            keyed_headers: &["x-tenant"],
            stores_errors: false,
        };
        let target = serve(keyed.in_front_of(origin)).await;
        assert_eq!(
            fetch(&target, "/n", &[]).await,
            (200, "MISS".into(), "0".into())
        );
        assert_eq!(
            fetch(&target, "/n", &[]).await,
            (200, "HIT".into(), "0".into())
        );
        assert_eq!(fetch(&target, "/n?b=1", &[]).await.1, "MISS");
        assert_eq!(fetch(&target, "/n", &[("x-tenant", "t")]).await.1, "MISS");
        // Errors pass through and are not stored.
        let fail = [("x-fail", "1"), ("x-tenant", "u")];
        assert_eq!(fetch(&target, "/n", &fail).await.0, 500);
        assert_eq!(
            fetch(&target, "/n", &[("x-tenant", "u")]).await,
            (200, "MISS".into(), "4".into())
        );
    }
}
