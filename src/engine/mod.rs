//! The HTTP engine: every byte Rampart sends goes through here, bounded by
//! scope, rate, concurrency, budget, timeouts and a body cap, and every
//! exchange is captured as evidence. The engine knows nothing about
//! vulnerabilities.

pub mod buster;
pub mod changes;
mod client;
mod connections;
mod deadline;
mod dropped;
pub mod exchange;
pub mod limits;
pub mod pacing;
pub mod redact;
pub mod scope;
pub mod stop;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use thiserror::Error;
use url::Url;

pub use buster::CacheBuster;
pub use changes::{Change, ChangeId, Journal};
pub use exchange::{Exchange, HeaderList, RecordedRequest, RecordedResponse};
pub use limits::Limits;
pub use pacing::{PaceMode, PacingReport};
pub use redact::Redactor;
pub use scope::Scope;
pub use stop::{StopReason, StopSignal};

use crate::identity::file::{LoginRecipe, TokenSource};
use crate::identity::signing::SigningRecipe;
pub use crate::identity::signing::{SignOptions, SignedParts, Signing};
use crate::identity::Identity;

pub const DEFAULT_BODY_CAP: usize = 1024 * 1024;
/// Times a throttled probe is sent again (after the pause) before its
/// throttled answer is returned as it is.
const MAX_THROTTLED_RETRIES: u32 = 2;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EngineError {
    #[error("{0} is outside the scan's scope (only the target's own origin is probed)")]
    OutOfScope(String),
    #[error("request budget exhausted (--max-requests)")]
    BudgetExhausted,
    #[error("timeout after {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("TLS failure: {0}")]
    Tls(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("HTTP error: {0}")]
    Http(String),
    #[error("no identity named '{0}'")]
    UnknownIdentity(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("{0}")]
    Login(String),
    #[error("not sent: scan stopped ({0})")]
    Stopped(StopReason),
    #[error("not sent: the target kept throttling (429/Retry-After), so Rampart stopped sending")]
    Throttled,
}

impl EngineError {
    /// Errors that mean the target cannot be reached at all.
    pub fn is_fatal_for_target(&self) -> bool {
        matches!(
            self,
            EngineError::Tls(_) | EngineError::Connect(_) | EngineError::Login(_)
        )
    }

    /// The request was never sent because the scan ran out of room (budget,
    /// deadline, interruption, a target that only throttles): the same
    /// cause repeats for every later probe, so reports count it once.
    pub fn is_not_sent(&self) -> bool {
        matches!(
            self,
            EngineError::BudgetExhausted | EngineError::Stopped(_) | EngineError::Throttled
        )
    }

    /// The request went out and no usable answer came back (timeout,
    /// refused or reset connection, TLS or protocol failure).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            EngineError::Timeout(_)
                | EngineError::Tls(_)
                | EngineError::Connect(_)
                | EngineError::Http(_)
        )
    }
}

/// Who a probe is sent as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    Anonymous,
    Identity(String),
}

impl Caller {
    pub fn label(&self) -> &str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Identity(name) => name,
        }
    }
}

/// One request a check or the discovery wants sent.
#[derive(Debug, Clone)]
pub struct Probe {
    pub method: Cow<'static, str>,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    pub caller: Caller,
    pub endpoint_template: Option<String>,
    /// How to sign it when the caller has a signing recipe.
    pub signing: Signing,
    /// A throttled answer is what this probe looks for (a login burst):
    /// the engine returns it as it is, without pausing the scan, slowing
    /// down or sending it again.
    pub expects_throttling: bool,
}

impl Probe {
    pub fn get(url: Url) -> Self {
        Probe {
            method: "GET".into(),
            url,
            headers: Vec::new(),
            body: None,
            caller: Caller::Anonymous,
            endpoint_template: None,
            signing: Signing::Auto,
            expects_throttling: false,
        }
    }

    pub fn expecting_throttling(mut self) -> Self {
        self.expects_throttling = true;
        self
    }

    pub fn as_caller(mut self, caller: Caller) -> Self {
        self.caller = caller;
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn template(mut self, template: Option<String>) -> Self {
        self.endpoint_template = template;
        self
    }

    pub fn signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }

    /// The parts of this request a signature covers.
    pub fn signed_parts(&self) -> SignedParts {
        SignedParts {
            method: self.method.to_string(),
            url: self.url.clone(),
            body: self.body.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub target: Url,
    /// The ceiling on requests per second (`--rate`); `None`: no ceiling.
    pub rate_per_second: Option<f64>,
    /// Adaptive (the default) or steady pacing; see [`pacing`].
    pub pacing: PaceMode,
    /// Stops the engine early (`--max-duration`, Ctrl-C).
    pub stop: StopSignal,
    pub concurrency: usize,
    pub timeout: Duration,
    pub max_requests: Option<u64>,
    pub body_cap: usize,
    pub default_headers: Vec<(String, String)>,
    pub identities: Vec<Identity>,
    /// Identities that log in for their credential, by name.
    pub logins: Vec<(String, LoginRecipe)>,
    /// Identities that sign their requests, by name.
    pub signers: Vec<(String, SigningRecipe)>,
    /// The roles the user gave identities (`role = "admin"`), by name.
    pub roles: Vec<(String, String)>,
    pub accept_invalid_certs: bool,
    /// Where the plain-HTTP twin of an https target is looked for.
    pub plain_http_port: u16,
    /// Bounds this scan is held to on top of its own, taken in order:
    /// shared with other scans in the same process (a fleet's global rate
    /// and concurrency), or counting this scan's requests for someone who
    /// outlives it (a fleet's tally of a target that fails half-way).
    pub outer_limits: Vec<Arc<Limits>>,
}

impl EngineConfig {
    pub fn new(target: Url) -> Self {
        EngineConfig {
            target,
            rate_per_second: None,
            pacing: PaceMode::Adaptive,
            stop: StopSignal::default(),
            concurrency: 8,
            timeout: Duration::from_secs(10),
            max_requests: Some(5000),
            body_cap: DEFAULT_BODY_CAP,
            default_headers: Vec::new(),
            identities: Vec::new(),
            logins: Vec::new(),
            signers: Vec::new(),
            roles: Vec::new(),
            accept_invalid_certs: false,
            plain_http_port: 80,
            outer_limits: Vec::new(),
        }
    }

    /// The redactor for every secret this configuration supplies: identity
    /// headers, credential-looking default headers, login and signing
    /// secrets. The engine starts from it (and adds tokens it obtains by
    /// logging in); the binary uses it for what it prints before and after.
    pub fn redactor(&self) -> Redactor {
        let mut redactor = Redactor::for_inputs(&self.identities, &self.default_headers);
        for (name, recipe) in &self.logins {
            for secret in &recipe.secrets {
                redactor.add_secret(secret, &format!("<{name} login secret>"));
            }
        }
        for (name, recipe) in &self.signers {
            redactor.add_secret(recipe.secret_text(), &format!("<{name} signing secret>"));
        }
        redactor
    }
}

type Observer = Box<dyn Fn(&Arc<Exchange>) + Send + Sync>;

pub struct Engine {
    client: client::Client,
    config: EngineConfig,
    limits: Limits,
    scope: Scope,
    redactor: std::sync::RwLock<Redactor>,
    /// Credentials obtained by logging in, by identity name.
    sessions: std::sync::RwLock<std::collections::BTreeMap<String, (String, String)>>,
    /// Serialises logins.
    login_lock: tokio::sync::Mutex<()>,
    /// Serialises renewals, so a burst of 401s triggers one re-login.
    renew_lock: tokio::sync::Mutex<()>,
    buster: CacheBuster,
    watchdog: deadline::Watchdog,
    observers: Vec<Observer>,
    /// What state-changing probes changed on the target, and what they undid.
    journal: Journal,
    /// Requests that went out and got no usable answer.
    transport_failures: AtomicU64,
    /// Sends refused for lack of budget.
    refused_budget: AtomicU64,
    /// Throttled answers handed back as they were (retries spent).
    throttled_final: AtomicU64,
}

/// What the engine went through, for the report's account of how complete
/// the scan was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineStats {
    pub requests_sent: u64,
    /// Requests that went out and got no usable answer (timeouts, resets).
    pub transport_failures: u64,
    /// Probes not sent because `--max-requests` was spent.
    pub refused_budget: u64,
    /// Probes whose answer stayed a throttled one after every retry.
    pub throttled_answers: u64,
    /// The target kept throttling and the engine stopped sending.
    pub gave_up_throttled: bool,
    /// Why the scan was stopped early, if it was.
    pub stopped: Option<StopReason>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("target", &self.config.target.as_str())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let client = client::Client::new(
            config.timeout,
            config.concurrency.max(1),
            config.accept_invalid_certs,
        )
        .map_err(|e| EngineError::Http(error_chain(&e)))?;
        let redactor = config.redactor();
        Ok(Engine {
            client,
            limits: Limits::new(
                pacing::Pacer::new(config.pacing, config.rate_per_second),
                config.concurrency,
                config.max_requests,
            ),
            scope: Scope::for_target(&config.target),
            redactor: std::sync::RwLock::new(redactor),
            sessions: std::sync::RwLock::default(),
            login_lock: tokio::sync::Mutex::new(()),
            renew_lock: tokio::sync::Mutex::new(()),
            buster: CacheBuster::default(),
            watchdog: deadline::Watchdog::default(),
            observers: Vec::new(),
            journal: Journal::default(),
            transport_failures: AtomicU64::new(0),
            refused_budget: AtomicU64::new(0),
            throttled_final: AtomicU64::new(0),
            config,
        })
    }

    /// The signal that stops this engine early.
    pub fn stop_signal(&self) -> &StopSignal {
        &self.config.stop
    }

    /// What the engine went through so far.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            requests_sent: self.limits.requests_sent(),
            transport_failures: self.transport_failures.load(Ordering::Relaxed),
            refused_budget: self.refused_budget.load(Ordering::Relaxed),
            throttled_answers: self.throttled_final.load(Ordering::Relaxed),
            gave_up_throttled: self.limits.pacer().gave_up(),
            stopped: self.config.stop.reason(),
        }
    }

    /// How the scan was paced, `elapsed` being its duration so far.
    pub fn pacing_report(&self, elapsed: Duration) -> PacingReport {
        self.limits
            .pacer()
            .report(self.limits.requests_sent(), elapsed)
    }

    /// Registers a function that sees every exchange (used for passive checks).
    pub fn observe(&mut self, observer: impl Fn(&Arc<Exchange>) + Send + Sync + 'static) {
        self.observers.push(Box::new(observer));
    }

    pub fn target(&self) -> &Url {
        &self.config.target
    }

    /// The redactor as of now (it learns tokens obtained by logging in).
    pub fn redactor(&self) -> Redactor {
        self.redactor.read().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn buster(&self) -> &CacheBuster {
        &self.buster
    }

    /// The journal every state change is recorded in (see [`Journal`]).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The role the user gave identity `name`, if any.
    pub fn role(&self, name: &str) -> Option<&str> {
        self.config
            .roles
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, role)| role.as_str())
    }

    /// Every identity with its current headers (login tokens included).
    pub fn identities(&self) -> Vec<Identity> {
        let sessions = self.sessions.read().map(|s| s.clone()).unwrap_or_default();
        self.config
            .identities
            .iter()
            .map(|identity| {
                let mut identity = identity.clone();
                if let Some((name, value)) = sessions.get(&identity.name) {
                    identity
                        .headers
                        .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                    identity.headers.push((name.clone(), value.clone()));
                }
                identity
            })
            .collect()
    }

    /// Logs every login identity in; a failure stops the scan.
    pub async fn login_all(&self) -> Result<(), EngineError> {
        for (name, _) in &self.config.logins {
            self.login(name).await?;
        }
        Ok(())
    }

    /// Runs an identity's login recipe and stores the credential it yields.
    async fn login(&self, name: &str) -> Result<(), EngineError> {
        let _serialised = self.login_lock.lock().await;
        let (header, token) = self.run_login(name).await?;
        self.add_secret(&header.1, &format!("<{name} {}>", header.0));
        self.add_secret(&token, &format!("<{name} token>"));
        if let Ok(mut sessions) = self.sessions.write() {
            sessions.insert(name.to_string(), header);
        }
        Ok(())
    }

    /// Sends an identity's login request: the credential header its answer
    /// yields, and the bare token.
    async fn run_login(&self, name: &str) -> Result<((String, String), String), EngineError> {
        let Some((_, recipe)) = self.config.logins.iter().find(|(n, _)| n == name) else {
            return Err(EngineError::UnknownIdentity(name.to_string()));
        };
        let url = self.url_for(&recipe.path)?;
        let mut probe = Probe::get(url).header("Content-Type", recipe.content_type);
        probe.method = recipe.method.clone().into();
        probe.body = Some(Bytes::from(recipe.body.clone()));
        let exchange = self.dispatch(&probe).await?;
        let token = match &recipe.token {
            TokenSource::JsonPointer(pointer) => exchange
                .body_json()
                .and_then(|json| json.pointer(pointer))
                .and_then(|v| v.as_str())
                .map(String::from),
            TokenSource::Header(header) => exchange.response_header(header).map(String::from),
            TokenSource::Cookie(cookie) => exchange
                .set_cookies()
                .find(|(name, _)| name == cookie)
                .map(|(_, value)| value.to_string()),
        };
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            EngineError::Login(format!(
                "login for '{name}' answered HTTP {} without a token",
                exchange.response.status
            ))
        })?;
        Ok((recipe.header_for(&token), token))
    }

    /// Registers a secret learned during the scan (a recovered signing
    /// secret, a throwaway session's token) so that no report, log line or
    /// error prints it; `placeholder` stands for it in reproduction lines.
    pub fn add_secret(&self, value: &str, placeholder: &str) {
        if let Ok(mut redactor) = self.redactor.write() {
            redactor.add_secret(value, placeholder);
        }
    }

    /// Registers a credential Rampart forged (a token it signed or altered
    /// itself): reports may show it, so that a reproduction line replays
    /// the forgery as sent.
    pub fn add_forged(&self, value: &str) {
        if let Ok(mut redactor) = self.redactor.write() {
            redactor.add_forged(value);
        }
    }

    /// Runs an identity's login recipe once more for a throwaway session:
    /// the credential header it yields, without replacing the identity's
    /// own session, and the login request (`POST /api/login`). The new
    /// token is registered with the redactor.
    pub async fn throwaway_login(
        &self,
        name: &str,
    ) -> Result<((String, String), String), EngineError> {
        let (header, token) = self.run_login(name).await?;
        self.add_secret(&header.1, &format!("<{name} throwaway {}>", header.0));
        self.add_secret(&token, &format!("<{name} throwaway token>"));
        let request = self
            .config
            .logins
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, recipe)| format!("{} {}", recipe.method, recipe.path))
            .unwrap_or_default();
        Ok((header, request))
    }

    /// Whether an identity logs in with a recipe (and so can get a
    /// throwaway session).
    pub fn logs_in(&self, name: &str) -> bool {
        self.config.logins.iter().any(|(n, _)| n == name)
    }

    /// The signing recipe of an identity, if it signs its requests.
    pub fn signing_recipe(&self, identity: &str) -> Option<&SigningRecipe> {
        self.config
            .signers
            .iter()
            .find(|(name, _)| name == identity)
            .map(|(_, recipe)| recipe)
    }

    /// Whether a `--header` sent with every request carries a credential:
    /// then no request may go out as an anonymous visitor would send it.
    pub fn defaults_carry_credentials(&self) -> bool {
        self.config
            .default_headers
            .iter()
            .any(|(name, _)| redact::is_sensitive_header(name))
    }

    pub fn requests_sent(&self) -> u64 {
        self.limits.requests_sent()
    }

    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// Every caller a check may use: each identity, then anonymous.
    pub fn callers(&self) -> Vec<Caller> {
        self.config
            .identities
            .iter()
            .map(|i| Caller::Identity(i.name.clone()))
            .chain(std::iter::once(Caller::Anonymous))
            .collect()
    }

    /// Resolves a path (possibly with a query) against the target.
    pub fn url_for(&self, path_and_query: &str) -> Result<Url, EngineError> {
        self.config
            .target
            .join(path_and_query)
            .map_err(|e| EngineError::InvalidRequest(format!("{path_and_query}: {e}")))
    }

    /// Sends one probe within every bound and captures the exchange. A 401
    /// for an identity that logs in renews its token and retries once.
    /// The plain-HTTP twin of an https target's `path`: same host, scheme
    /// `http`, on the configured plain-HTTP port, cache-busted. It goes out anonymously and
    /// without the `--header` defaults, so no credential ever crosses the
    /// network in clear, and only to the target's own host. `None` when the
    /// target is not https.
    pub async fn send_plain_counterpart(
        &self,
        path: &str,
    ) -> Option<Result<Arc<Exchange>, EngineError>> {
        let http_port = self.config.plain_http_port;
        let target = &self.config.target;
        if target.scheme() != "https" {
            return None;
        }
        let mut url = match target.join(path) {
            Ok(url) => url,
            Err(e) => return Some(Err(EngineError::InvalidRequest(format!("{path}: {e}")))),
        };
        if url.set_scheme("http").is_err() || url.set_port(Some(http_port)).is_err() {
            return Some(Err(EngineError::InvalidRequest(format!(
                "no plain-HTTP form of {target}"
            ))));
        }
        let probe = Probe::get(self.buster.bust(&url));
        let sent = self.send_once(&probe, Vec::new()).await;
        Some(sent.map(|(exchange, _)| self.captured(exchange)))
    }

    pub async fn send(&self, probe: Probe) -> Result<Arc<Exchange>, EngineError> {
        let exchange = self.send_renewing(&probe).await?;
        // Every write the target accepted is a change until a check says
        // it undid it (see `Journal`).
        let writes = !matches!(probe.method.as_ref(), "GET" | "HEAD" | "OPTIONS" | "TRACE");
        if writes && (200..300).contains(&exchange.response.status) {
            self.journal
                .write_accepted(&format!("{} {}", probe.method, exchange.endpoint_path()));
        }
        Ok(exchange)
    }

    /// Sends `probe`; a 401 for an identity that logs in renews its token
    /// and retries once.
    async fn send_renewing(&self, probe: &Probe) -> Result<Arc<Exchange>, EngineError> {
        let session = |name: &str| self.sessions.read().ok().and_then(|s| s.get(name).cloned());
        let used = match &probe.caller {
            Caller::Identity(name) => session(name),
            Caller::Anonymous => None,
        };
        let exchange = self.dispatch(probe).await?;
        if let Caller::Identity(name) = &probe.caller {
            let renewable = self.config.logins.iter().any(|(n, _)| n == name);
            if exchange.response.status == 401 && renewable {
                // Many requests in flight get their 401 at once: only the
                // first logs in again, the others retry with its token (a
                // login per 401 would revoke the token just obtained on
                // APIs that keep one session per user).
                let _serialised = self.renew_lock.lock().await;
                if session(name) == used {
                    self.login(name).await?;
                }
                return self.dispatch(probe).await;
            }
        }
        Ok(exchange)
    }

    /// Sends a probe, and sends it again (a bounded number of times) when
    /// the target throttled it, after the pause the pacer imposes. Headers
    /// are built for each attempt, so a signed request carries a fresh
    /// timestamp and nonce. Only the answer kept is shown to the observers.
    async fn dispatch(&self, probe: &Probe) -> Result<Arc<Exchange>, EngineError> {
        let mut attempt = 0;
        loop {
            let headers = self.headers_for(probe)?;
            let (exchange, verdict) = self.send_once(probe, headers).await?;
            let retry = verdict == pacing::Verdict::Throttled
                && attempt < MAX_THROTTLED_RETRIES
                && !self.limits.pacer().gave_up();
            if !retry {
                if verdict == pacing::Verdict::Throttled {
                    self.throttled_final.fetch_add(1, Ordering::Relaxed);
                }
                return Ok(self.captured(exchange));
            }
            attempt += 1;
        }
    }

    fn captured(&self, exchange: Arc<Exchange>) -> Arc<Exchange> {
        for observer in &self.observers {
            observer(&exchange);
        }
        exchange
    }

    /// The headers a probe goes out with: defaults, then the caller's
    /// credentials, then the probe's own (which win over those), then —
    /// for an identity with a signing recipe — the signature headers,
    /// computed over the final URL (cache buster included) and headers.
    fn headers_for(&self, probe: &Probe) -> Result<Vec<(String, String)>, EngineError> {
        if !self.scope.contains(&probe.url) {
            return Err(EngineError::OutOfScope(
                self.redactor()
                    .redact_supplied(probe.url.as_str())
                    .into_owned(),
            ));
        }
        let mut headers: Vec<(String, String)> = self.config.default_headers.clone();
        if let Caller::Identity(name) = &probe.caller {
            let identity = self
                .identities()
                .into_iter()
                .find(|i| &i.name == name)
                .ok_or_else(|| EngineError::UnknownIdentity(name.clone()))?;
            headers.extend(identity.headers);
        }
        // A probe's own headers win over defaults and identity headers, so a
        // check can replace a credential with a garbage one.
        for (name, value) in &probe.headers {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        if let Caller::Identity(name) = &probe.caller {
            if let Some(recipe) = self.signing_recipe(name) {
                let options = match &probe.signing {
                    Signing::Off => None,
                    Signing::Auto => Some(SignOptions::default()),
                    Signing::With(options) => Some(options.clone()),
                };
                if let Some(options) = options {
                    let now = chrono::Utc::now().timestamp();
                    let signed =
                        recipe.signing_headers(&probe.signed_parts(), &headers, &options, now);
                    for (name, value) in signed {
                        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                        headers.push((name, value));
                    }
                }
            }
        }
        Ok(headers)
    }

    /// One request within every bound, captured, and what the pacer made
    /// of its answer. Observers are not told yet: the caller decides which
    /// answer counts.
    async fn send_once(
        &self,
        probe: &Probe,
        headers: Vec<(String, String)>,
    ) -> Result<(Arc<Exchange>, pacing::Verdict), EngineError> {
        let method = http::Method::from_bytes(probe.method.as_bytes())
            .map_err(|_| EngineError::InvalidRequest(format!("bad method {}", probe.method)))?;
        // Checked before any wait. A retry builds its map again: hyper
        // keeps the map it sent and parses the answer's headers into it, so
        // the one first built goes out as it is, never copied.
        let mut first_headers = Some(header_map(&headers)?);
        let stop = &self.config.stop;
        if let Some(reason) = stop.reason() {
            return Err(EngineError::Stopped(reason));
        }
        let admitted = tokio::select! {
            // A slot free at once (the usual case) then costs no wait on
            // the stop signal.
            biased;
            admitted = self.limits.acquire() => admitted,
            reason = stop.stopped() => return Err(EngineError::Stopped(reason)),
        };
        let _permit = admitted.map_err(|refused| match refused {
            limits::Refused::Budget => {
                self.refused_budget.fetch_add(1, Ordering::Relaxed);
                EngineError::BudgetExhausted
            }
            limits::Refused::Throttled => EngineError::Throttled,
        })?;
        let timeout = self.config.timeout;
        // The target's own pacing first, then the outer bounds: a request
        // waits for each, and holds every slot while in flight (retry
        // included).
        let mut _outer_permits = Vec::with_capacity(self.config.outer_limits.len());
        for outer in &self.config.outer_limits {
            _outer_permits.push(
                outer
                    .acquire()
                    .await
                    .map_err(|_| EngineError::BudgetExhausted)?,
            );
        }
        // A safe request whose connection the server dropped before the
        // answer came (a pooled connection it had just closed, or a reset
        // while it was busy) goes out once more on a fresh connection, as
        // browsers and curl do; a second drop is the answer. The retry is
        // the same request under the same permit: it spends no budget, and
        // only a drop that stays one tells the pacer about a failure.
        let mut retried = false;
        let (response, first_byte, started) = loop {
            let request_headers = match first_headers.take() {
                Some(map) => map,
                None => header_map(&headers)?,
            };
            let started = Instant::now();
            // Boxed: the request's future is large, and every future that
            // holds it inline (this one, and each caller's) is copied whole
            // each time it moves: several times per request, otherwise.
            let answer = Box::pin(async {
                let response = self
                    .client
                    .send(
                        method.clone(),
                        &probe.url,
                        request_headers,
                        probe.body.clone(),
                    )
                    .await?;
                // The server's latency: how long until its answer began.
                // Reading a large body takes longer on its own, and with
                // this scan's own work, neither of which says the server is
                // struggling.
                let first_byte = started.elapsed();
                let answer = client::read_capped(response, self.config.body_cap).await?;
                let response = RecordedResponse {
                    status: answer.head.status.as_u16(),
                    http_version: version_name(answer.head.version),
                    headers: header_list(&answer.head.headers),
                    body: answer.body,
                    truncated: answer.truncated,
                };
                Ok::<_, client::HttpError>((response, first_byte))
            });
            // A stopped scan abandons the request in flight.
            let deadline = tokio::time::Instant::from_std(started) + timeout;
            let answer = tokio::select! {
                biased;
                answer = answer => Ok(answer),
                expired = self.watchdog.expired(deadline, stop) => match expired {
                    deadline::Expired::Stopped(reason) => return Err(EngineError::Stopped(reason)),
                    deadline::Expired::TimedOut => Err(()),
                },
            };
            let error = match answer {
                Ok(Ok((response, first_byte))) => break (response, first_byte, started),
                Ok(Err(error))
                    if !retried && method.is_safe() && dropped::connection_dropped(&error) =>
                {
                    retried = true;
                    continue;
                }
                Ok(Err(error)) => self.classify(&error, &probe.url),
                Err(_) => EngineError::Timeout(timeout),
            };
            if error.is_transport() {
                self.transport_failures.fetch_add(1, Ordering::Relaxed);
                self.limits.pacer().on_failure();
            }
            return Err(error);
        };
        let elapsed = started.elapsed();
        let throttling = response.status == 429 || response.status == 503;
        let verdict = if probe.expects_throttling && throttling {
            pacing::Verdict::Fine
        } else {
            let retry_after = response.headers.get("retry-after");
            self.limits
                .pacer()
                .on_answer(first_byte, response.status, retry_after)
        };

        let exchange = Arc::new(Exchange::new(
            RecordedRequest {
                method: probe.method.clone(),
                url: probe.url.as_str().to_owned(),
                headers,
                body: probe.body.clone(),
                identity: match &probe.caller {
                    Caller::Anonymous => None,
                    Caller::Identity(name) => Some(name.clone()),
                },
            },
            response,
            elapsed,
            // A path Rampart made up is reported under its template, so its
            // findings keep their id from run to run.
            probe
                .endpoint_template
                .clone()
                .or_else(|| self.buster.generalise(probe.url.path())),
        ));
        Ok((exchange, verdict))
    }

    /// Fetches a document the user pointed at (such as `--spec URL`). It is
    /// not a probe: it may live outside the target's origin, but it still
    /// obeys the timeout and the body cap. The `--header` defaults go with
    /// it only when it is on the target's own origin: they were given for
    /// the target, and another host (or the same host over another scheme
    /// or port) must not receive them. Identity credentials never do.
    pub async fn fetch_document(&self, url: &Url, cap: usize) -> Result<Bytes, EngineError> {
        let timeout = self.config.timeout;
        let headers = if self.scope.contains(url) {
            self.default_header_map()
        } else {
            HeaderMap::new()
        };
        let fetch = tokio::time::timeout(timeout, async {
            let response = self
                .client
                .send(http::Method::GET, url, headers, None)
                .await
                .map_err(|e| self.classify(&e, url))?;
            let status = response.status();
            if !status.is_success() {
                return Err(EngineError::Http(format!("{} answered {}", url, status)));
            }
            let answer = client::read_capped(response, cap)
                .await
                .map_err(|e| self.classify(&e, url))?;
            if answer.truncated {
                return Err(EngineError::Http(format!(
                    "document larger than {} bytes",
                    cap
                )));
            }
            Ok(answer.body)
        });
        tokio::select! {
            fetched = fetch => fetched.map_err(|_| EngineError::Timeout(timeout))?,
            reason = self.config.stop.stopped() => Err(EngineError::Stopped(reason)),
        }
    }

    fn default_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.config.default_headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }

    fn classify(&self, error: &client::HttpError, url: &Url) -> EngineError {
        let cause = error_chain(error);
        // Classified by the cause alone: a URL may hold any word.
        let lower = cause.to_ascii_lowercase();
        let message = self
            .redactor()
            .redact_supplied(&format!("error sending request for url ({url}): {cause}"))
            .into_owned();
        if error.timed_out() {
            EngineError::Timeout(self.config.timeout)
        } else if error.is_tls()
            || lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
            || lower.contains("ssl")
        {
            EngineError::Tls(message)
        } else if error.is_connect() {
            EngineError::Connect(message)
        } else {
            EngineError::Http(message)
        }
    }
}

/// A request's headers for hyper, with room for the client's own (`Host`,
/// `User-Agent`, `Accept`, `Accept-Encoding`). hyper parses the answer's
/// headers into the same map, which then has room for six at least.
fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, EngineError> {
    let mut map = HeaderMap::with_capacity(headers.len() + 4);
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| EngineError::InvalidRequest(format!("bad header name {name}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| EngineError::InvalidRequest(format!("bad value for header {name}")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// An answer's headers as evidence keeps them: text (lossy, servers send
/// what they like), in one buffer.
fn header_list(headers: &HeaderMap) -> HeaderList {
    let bytes = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let mut list = HeaderList::with_capacity(headers.len(), bytes);
    for (name, value) in headers {
        list.push(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    list
}

/// How an answer's HTTP version is written in evidence.
fn version_name(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP",
    }
}

/// One line made of an error and its causes, without duplicates.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod signing_tests {
    use super::*;
    use crate::identity::signing::{SigningEntry, SigningRecipe};

    fn engine() -> (Engine, SigningRecipe) {
        let entry: SigningEntry = toml::from_str(
            r#"
            secret = "unused"
            timestamp_header = "X-Timestamp"
            nonce_header = "X-Nonce"
            canonical = "{method}\n{target}\n{header:X-Client-Id}\n{timestamp}\n{nonce}"
            "#,
        )
        .unwrap();
        let recipe = SigningRecipe::from_entry(&entry, "engine-test-secret").unwrap();
        let mut config = EngineConfig::new(Url::parse("http://127.0.0.1:9/").unwrap());
        config.identities = vec![Identity {
            name: "alice".into(),
            headers: vec![("X-Client-Id".into(), "c-alice".into())],
        }];
        config.signers = vec![("alice".into(), recipe.clone())];
        (Engine::new(config).unwrap(), recipe)
    }

    fn value<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        exchange::header_value(headers, name).unwrap_or_default()
    }

    #[test]
    fn identity_requests_are_signed_over_the_busted_url_and_final_headers() {
        let (engine, recipe) = engine();
        let url = engine
            .buster()
            .bust(&engine.url_for("/api/orders?x=1").unwrap());
        let probe = Probe::get(url.clone())
            .as_caller(Caller::Identity("alice".into()))
            .header("X-Client-Id", "c-bob");
        let headers = engine.headers_for(&probe).unwrap();
        let expected = recipe.signature(&probe.signed_parts(), &headers);
        assert_eq!(value(&headers, "X-Signature"), expected);
        assert!(url.as_str().contains("rampart_cb="));
        // The probe's own header is what was sent and signed.
        assert_eq!(value(&headers, "X-Client-Id"), "c-bob");
        assert_eq!(value(&headers, "X-Nonce").len(), 32);
        let now = chrono::Utc::now().timestamp();
        let ts: i64 = value(&headers, "X-Timestamp").parse().unwrap();
        assert!((now - 5..=now + 5).contains(&ts));
        // The secret is known to the redactor.
        assert_eq!(
            engine.redactor().redact_supplied("x engine-test-secret y"),
            "x [redacted] y"
        );
    }

    #[test]
    fn anonymous_and_unsigned_probes_carry_no_signature() {
        let (engine, _) = engine();
        let url = engine.url_for("/api/me").unwrap();
        let anonymous = engine.headers_for(&Probe::get(url.clone())).unwrap();
        assert!(exchange::header_value(&anonymous, "X-Signature").is_none());
        let off = Probe::get(url)
            .as_caller(Caller::Identity("alice".into()))
            .signing(Signing::Off);
        let headers = engine.headers_for(&off).unwrap();
        assert!(exchange::header_value(&headers, "X-Signature").is_none());
        assert_eq!(value(&headers, "X-Client-Id"), "c-alice");
        assert!(engine.signing_recipe("alice").is_some());
        assert!(engine.signing_recipe("bob").is_none());
    }

    #[test]
    fn chosen_options_reach_the_signer() {
        let (engine, recipe) = engine();
        let sent = engine.url_for("/api/orders?user_id=2").unwrap();
        let signed_over = engine.url_for("/api/orders?user_id=1").unwrap();
        let options = SignOptions {
            timestamp: Some(1_000),
            nonce: Some("fixed-nonce-0001".into()),
            over: Some(SignedParts {
                method: "GET".into(),
                url: signed_over,
                body: None,
            }),
            corrupt: false,
        };
        let probe = Probe::get(sent)
            .as_caller(Caller::Identity("alice".into()))
            .signing(Signing::With(options.clone()));
        let headers = engine.headers_for(&probe).unwrap();
        assert_eq!(value(&headers, "X-Timestamp"), "1000");
        assert_eq!(value(&headers, "X-Nonce"), "fixed-nonce-0001");
        let over = options.over.as_ref().unwrap();
        assert_eq!(
            value(&headers, "X-Signature"),
            recipe.signature(over, &headers)
        );
        // Deterministic: sending the same probe again signs identically.
        assert_eq!(headers, engine.headers_for(&probe).unwrap());
    }
}
