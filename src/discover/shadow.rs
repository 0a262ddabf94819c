//! Shadow endpoints: what answers although no document lists it.
//!
//! Attackers do not stop at the spec. Debug dumps, admin and internal
//! routes, Spring actuators, metrics, consoles, GraphQL, spec documents,
//! leftovers such as `/.git/config`, and the old version of an API beside
//! the new one are where the worst flaws live, precisely because nobody
//! documents, reviews or scans them. With or without a spec, Rampart asks
//! for a curated list of such paths (under the root and under the API's
//! own prefixes), for the versioned siblings of documented paths (`/v1`
//! beside `/v2`), and for the methods an `OPTIONS` answer's `Allow` names.
//!
//! A catch-all answer must not flood the results, so the target's answer
//! to paths that cannot exist is learned first (the *route miss*), and a
//! candidate counts only when it is answered otherwise. The same route miss
//! tells a documented operation that the server does not route at all
//! (zombie documentation) from one that merely did not find the object.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use futures::stream::{self, StreamExt};
use regex::Regex;

use super::safety::{state_changing_word, PathFilter};
use super::{template_matches, Discovered, Endpoint, EndpointSource};
use crate::engine::{Caller, Engine, Exchange, Probe};
use crate::facts::Baselines;

/// Paths worth asking any API for, under its root.
pub const HIDDEN_PATHS: &[&str] = &[
    "/debug",
    "/debug/vars",
    "/debug/pprof/",
    "/__debug__/",
    "/console",
    "/admin",
    "/internal",
    "/private",
    "/actuator",
    "/actuator/env",
    "/actuator/health",
    "/actuator/metrics",
    "/actuator/mappings",
    "/actuator/configprops",
    "/actuator/loggers",
    "/metrics",
    "/prometheus",
    "/health",
    "/healthz",
    "/status",
    "/server-status",
    "/info",
    "/env",
    "/.env",
    "/config",
    "/config.json",
    "/settings.json",
    "/graphql",
    "/graphiql",
    "/swagger.json",
    "/swagger-ui.html",
    "/swagger-ui/",
    "/openapi.json",
    "/openapi.yaml",
    "/v2/api-docs",
    "/v3/api-docs",
    "/api-docs",
    "/docs",
    "/redoc",
    "/.git/config",
    "/.git/HEAD",
    "/.svn/entries",
    "/backup.sql",
    "/dump.sql",
    "/phpinfo.php",
    "/elmah.axd",
    "/version",
    "/api",
    "/api/v1",
    "/api/me",
    "/me",
    "/users",
    "/account",
    "/api/users",
    "/api/account",
];

/// Names asked for under each of the API's own prefixes (`/api`,
/// `/api/v2`): where an API keeps what it does not document.
pub const PREFIXED_NAMES: &[&str] = &[
    "debug",
    "internal",
    "admin",
    "config",
    "env",
    "health",
    "status",
    "metrics",
    "graphql",
    "version",
    "users",
    "swagger.json",
    "openapi.json",
];

/// Folders where APIs keep what only operators or other services should
/// call; each gets [`RESOURCE_WORDS`] and the spec's own resource names.
pub const HIDDEN_FOLDERS: &[&str] = &["/internal", "/admin"];

/// Resources APIs commonly have, asked for under [`HIDDEN_FOLDERS`].
pub const RESOURCE_WORDS: &[&str] = &[
    "users",
    "accounts",
    "customers",
    "orders",
    "payments",
    "deliveries",
    "invoices",
    "reports",
    "jobs",
    "logs",
    "stats",
    "tokens",
    "keys",
    "sessions",
];

/// At most this many resource names per hidden folder.
const MAX_RESOURCE_WORDS: usize = 16;

/// At most this many prefixes get [`PREFIXED_NAMES`].
const MAX_PREFIXES: usize = 3;
/// At most this many versioned siblings are asked for.
const MAX_SIBLINGS: usize = 16;
/// At most this many documented paths are asked `OPTIONS`.
const MAX_OPTIONS: usize = 20;
/// Shadow probing uses at most this share of `--max-requests`.
const BUDGET_SHARE: u64 = 5;

/// How a shadow endpoint was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// On the built-in list of hidden paths.
    HiddenPath,
    /// Another version of a documented path.
    VersionSibling,
    /// Named by an `Allow` header, not documented.
    AllowHeader,
}

impl Found {
    pub fn as_str(self) -> &'static str {
        match self {
            Found::HiddenPath => "a path APIs commonly hide",
            Found::VersionSibling => "another version of a documented path",
            Found::AllowHeader => "a method the Allow header names",
        }
    }
}

/// An endpoint that answered and that no document lists.
#[derive(Debug, Clone)]
pub struct Shadowed {
    /// Its path is origin-absolute until [`Discovered::absorb`] takes it.
    pub endpoint: Endpoint,
    pub exchange: Arc<Exchange>,
    pub found: Found,
}

/// A documented operation the server does not route.
#[derive(Debug, Clone)]
pub struct Zombie {
    pub endpoint: Endpoint,
    /// The answer that matched the route miss.
    pub exchange: Arc<Exchange>,
}

/// Methods an `Allow` header names that the spec does not document.
#[derive(Debug, Clone)]
pub struct Advertised {
    /// Origin-absolute.
    pub path: String,
    pub methods: Vec<String>,
    pub exchange: Arc<Exchange>,
    /// A documented operation on the path (its parameters and samples),
    /// with an origin-absolute path.
    pub documented: Endpoint,
    /// The documented `POST` on the parent collection (`/orders` for
    /// `/orders/{id}`), origin-absolute: how to make an object of one's own
    /// to try an undocumented `DELETE` on.
    pub creator: Option<Endpoint>,
}

/// What shadow probing learned; the configuration checks read it.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// A spec listed the documented operations (without one, nothing is
    /// "undocumented").
    pub documented: bool,
    /// The target's answers to paths that cannot exist.
    pub route_misses: Vec<Arc<Exchange>>,
    pub shadowed: Vec<Shadowed>,
    pub zombies: Vec<Zombie>,
    pub advertised: Vec<Advertised>,
    /// Query parameters and headers that change answers, undocumented.
    pub hidden: Vec<super::params::Hidden>,
    /// Requests shadow probing sent.
    pub requests: u64,
}

impl Reach {
    /// `exchange` is the server's answer to a route it does not have:
    /// the status of a route miss and the same body, once the requested
    /// path is set aside (a 404 for an object that does not exist usually
    /// says so in other words than a 404 for a route).
    pub fn is_route_miss(&self, exchange: &Exchange) -> bool {
        self.route_misses.iter().any(|miss| similar(miss, exchange))
    }

    /// `exchange` says nothing is there: a plain miss status, a redirect
    /// elsewhere, or the route miss's answer.
    fn is_absent(&self, exchange: &Exchange) -> bool {
        let status = exchange.response.status;
        matches!(status, 404 | 405 | 410 | 400 | 501..=504 | 300..=399)
            || (status >= 500 && exchange.response.body.is_empty())
            || self.is_route_miss(exchange)
    }
}

/// Two answers alike once their own request paths are set aside.
fn similar(miss: &Exchange, other: &Exchange) -> bool {
    if miss.response.status != other.response.status {
        return false;
    }
    let strip = |e: &Exchange| {
        let path = crate::engine::exchange::url_path(&e.request.url).to_string();
        let last = path.rsplit('/').next().unwrap_or("").to_string();
        let mut text = e.body_text().replace(&path, "");
        if last.len() > 3 {
            text = text.replace(&last, "");
        }
        text
    };
    let (a, b) = (strip(miss), strip(other));
    if a == b {
        return true;
    }
    match (miss.body_json(), other.body_json()) {
        // A JSON miss that names the path in another form (decoded, with
        // a request id or a time): the same keys, nearly the same size, and
        // the same words once tokens with digits are set aside. FastAPI's
        // router answers `{"detail": "Not Found"}` where a routed handler
        // answers `{"detail": "no such user"}`: that is a route.
        (
            Some(x @ serde_json::Value::Object(x_keys)),
            Some(y @ serde_json::Value::Object(y_keys)),
        ) => {
            x_keys.keys().eq(y_keys.keys())
                && a.len().abs_diff(b.len()) < 24
                && words(x, &strip_words(miss)) == words(y, &strip_words(other))
        }
        _ => a.len().abs_diff(b.len()) < 16 && !a.is_empty() && a.len() > 64,
    }
}

/// The words of an answer's path, which an answer may echo.
fn strip_words(exchange: &Exchange) -> Vec<String> {
    crate::engine::exchange::url_path(&exchange.request.url)
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The lower-cased words of a JSON document's text values, without tokens
/// that carry a digit (ids, times, counters) or that come from the path.
fn words(json: &serde_json::Value, path_words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    crate::facts::visit_leaves(json, 8, &mut |_, leaf| {
        if let serde_json::Value::String(text) = leaf {
            out.extend(
                text.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty() && !w.chars().any(|c| c.is_ascii_digit()))
                    .map(str::to_lowercase)
                    .filter(|w| !path_words.contains(w)),
            );
        }
        true
    });
    out
}

/// `v2` → 2.
fn version_of(segment: &str) -> Option<u32> {
    static VERSION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[vV]([0-9]{1,2})$").expect("version regex"));
    VERSION.captures(segment)?[1].parse().ok()
}

/// Origin-absolute paths of the documented endpoints.
fn full_path(base_path: &str, path: &str) -> String {
    if base_path.is_empty() {
        path.to_string()
    } else if path == "/" {
        base_path.to_string()
    } else {
        format!("{base_path}{path}")
    }
}

/// The API's own prefixes: the first segment of documented paths, and the
/// first two when the second is a version (`/api`, `/api/v2`).
fn prefixes(full_paths: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for path in full_paths {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let Some(first) = segments.first() else {
            continue;
        };
        if segments.len() < 2 || first.starts_with('{') {
            continue;
        }
        let mut candidates = vec![format!("/{first}")];
        if let Some(second) = segments.get(1).filter(|s| version_of(s).is_some()) {
            candidates.push(format!("/{first}/{second}"));
        }
        for candidate in candidates {
            if !out.contains(&candidate) && out.len() < MAX_PREFIXES {
                out.push(candidate);
            }
        }
    }
    out
}

/// The resource names of documented paths: the first segment after the
/// prefixes and versions (`/api/v2/orders/{id}` → `orders`).
fn resource_names(full_paths: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for path in full_paths {
        let name = path
            .split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{'))
            .find(|s| *s != "api" && version_of(s).is_none());
        if let Some(name) = name {
            let plausible = name.len() > 2
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if plausible && !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// The other versions of a documented endpoint: `/api/v2/x` → `/api/v1/x`
/// and `/api/v3/x` (every lower version, and the next one).
fn siblings(endpoint: &Endpoint, full: &str) -> Vec<Endpoint> {
    let segments: Vec<&str> = full.split('/').collect();
    let mut out = Vec::new();
    for (at, segment) in segments.iter().enumerate() {
        let Some(version) = version_of(segment) else {
            continue;
        };
        let prefix = &segment[..1];
        for other in (0..=version + 1).filter(|v| *v != version) {
            if other == 0 {
                continue;
            }
            let mut changed = segments.clone();
            let replacement = format!("{prefix}{other}");
            changed[at] = &replacement;
            let mut sibling = endpoint.clone();
            sibling.path = changed.join("/");
            sibling.source = EndpointSource::Shadow;
            sibling.operation_id = None;
            out.push(sibling);
        }
    }
    out
}

/// The candidates to ask for: hidden paths at the root, the prefixed
/// names, then versioned siblings — none already documented, left out by
/// the user, or named like an action.
fn candidates(discovered: &Discovered, paths: &PathFilter) -> Vec<(Endpoint, Found)> {
    // The spec document itself is no undocumented endpoint.
    let spec_path = discovered
        .spec_source
        .as_deref()
        .and_then(|s| url::Url::parse(s).ok())
        .map(|u| u.path().to_string());
    let documented: Vec<(String, String)> = discovered
        .endpoints
        .iter()
        .map(|e| (e.method.clone(), full_path(&discovered.base_path, &e.path)))
        .collect();
    let full_paths: Vec<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    let is_known = |path: &str| {
        documented
            .iter()
            .any(|(m, p)| m == "GET" && template_matches(p, path))
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    let mut push = |endpoint: Endpoint, found: Found, out: &mut Vec<(Endpoint, Found)>| {
        let admitted = paths.admits(&endpoint.path) && state_changing_word(&endpoint).is_none();
        let is_spec = spec_path.as_deref() == Some(endpoint.path.as_str());
        if admitted && !is_spec && !is_known(&endpoint.path) && seen.insert(endpoint.path.clone()) {
            out.push((endpoint, found));
        }
    };
    for path in HIDDEN_PATHS {
        push(
            Endpoint::discovered(path, EndpointSource::Shadow),
            Found::HiddenPath,
            &mut out,
        );
    }
    for prefix in prefixes(&full_paths) {
        for name in PREFIXED_NAMES {
            push(
                Endpoint::discovered(&format!("{prefix}/{name}"), EndpointSource::Shadow),
                Found::HiddenPath,
                &mut out,
            );
        }
    }
    let mut words: Vec<String> = resource_names(&full_paths);
    for word in RESOURCE_WORDS {
        if !words.iter().any(|w| w == word) {
            words.push(word.to_string());
        }
    }
    words.truncate(MAX_RESOURCE_WORDS);
    for folder in HIDDEN_FOLDERS {
        for word in &words {
            push(
                Endpoint::discovered(&format!("{folder}/{word}"), EndpointSource::Shadow),
                Found::HiddenPath,
                &mut out,
            );
        }
    }
    // Older versions first (they are the ones left running), then the next.
    let mut older = Vec::new();
    let mut newer = Vec::new();
    for endpoint in discovered.endpoints.iter().filter(|e| e.method == "GET") {
        let full = full_path(&discovered.base_path, &endpoint.path);
        for sibling in siblings(endpoint, &full) {
            if sibling.path < full {
                older.push(sibling);
            } else {
                newer.push(sibling);
            }
        }
    }
    let mut siblings_added = 0;
    for sibling in older.into_iter().chain(newer) {
        if siblings_added < MAX_SIBLINGS {
            let before = out.len();
            push(sibling, Found::VersionSibling, &mut out);
            siblings_added += out.len() - before;
        }
    }
    out
}

/// Asks for paths that cannot exist — one at the root, one under the
/// API's first prefix — and keeps the answers as route misses.
async fn learn_route_misses(
    engine: &Engine,
    caller: &Caller,
    full_paths: &[String],
) -> Vec<Arc<Exchange>> {
    let token = engine.buster().next_token();
    let mut nonsense = vec![format!("/rampart-{token}-missing")];
    if let Some(prefix) = prefixes(full_paths).into_iter().next() {
        nonsense.push(format!("{prefix}/rampart-{token}-missing"));
    }
    let mut out = Vec::new();
    for path in nonsense {
        let Ok(url) = engine.url_for(&path) else {
            continue;
        };
        if let Ok(exchange) = engine.send(Probe::get(url).as_caller(caller.clone())).await {
            out.push(exchange);
        }
    }
    out
}

/// Probes the shadow candidates of `discovered` as `caller`, `concurrency`
/// at a time, within a fifth of the request budget, and asks each
/// documented path `OPTIONS` for the methods it allows.
pub async fn probe(
    engine: &Engine,
    caller: &Caller,
    discovered: &Discovered,
    paths: &PathFilter,
    concurrency: usize,
    budget: Option<u64>,
) -> Reach {
    let before = engine.requests_sent();
    let full_paths: Vec<String> = discovered
        .endpoints
        .iter()
        .map(|e| full_path(&discovered.base_path, &e.path))
        .collect();
    let mut reach = Reach {
        documented: discovered.spec.is_some(),
        route_misses: learn_route_misses(engine, caller, &full_paths).await,
        ..Reach::default()
    };
    let allowance = budget.map_or(usize::MAX, |b| (b / BUDGET_SHARE) as usize);
    let mut planned = candidates(discovered, paths);
    planned.truncate(allowance.saturating_sub(reach.route_misses.len()));
    let answers = stream::iter(planned)
        .map(|(endpoint, found)| async move {
            let path = endpoint.concrete_path_and_query("")?;
            let url = engine.url_for(&path).ok()?;
            let probe = Probe::get(engine.buster().bust(&url))
                .as_caller(caller.clone())
                .template(Some(endpoint.path.clone()));
            let exchange = engine.send(probe).await.ok()?;
            Some((endpoint, found, exchange))
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    for (endpoint, found, exchange) in answers.into_iter().flatten() {
        if !reach.is_absent(&exchange) {
            reach.shadowed.push(Shadowed {
                endpoint,
                exchange,
                found,
            });
        }
    }
    let sent = (engine.requests_sent() - before) as usize;
    reach.advertised = allowed_methods(
        engine,
        caller,
        discovered,
        concurrency,
        allowance.saturating_sub(sent),
    )
    .await;
    for advertised in &reach.advertised {
        if advertised.methods.iter().any(|m| m == "GET") {
            let mut endpoint = Endpoint::discovered(&advertised.path, EndpointSource::Shadow);
            endpoint.parameters = discovered
                .endpoints
                .iter()
                .find(|e| full_path(&discovered.base_path, &e.path) == advertised.path)
                .map(|e| e.parameters.clone())
                .unwrap_or_default();
            if paths.admits(&endpoint.path) && state_changing_word(&endpoint).is_none() {
                reach.shadowed.push(Shadowed {
                    endpoint,
                    exchange: Arc::clone(&advertised.exchange),
                    found: Found::AllowHeader,
                });
            }
        }
    }
    reach.requests = engine.requests_sent() - before;
    reach
}

/// `OPTIONS` on each documented path with a parameter or a write (at most
/// [`MAX_OPTIONS`], within `allowance`): the methods its `Allow` names that
/// the spec does not.
async fn allowed_methods(
    engine: &Engine,
    caller: &Caller,
    discovered: &Discovered,
    concurrency: usize,
    allowance: usize,
) -> Vec<Advertised> {
    if discovered.spec.is_none() {
        return Vec::new();
    }
    let mut by_path: Vec<(String, Endpoint, BTreeSet<String>)> = Vec::new();
    for endpoint in &discovered.endpoints {
        let full = full_path(&discovered.base_path, &endpoint.path);
        match by_path.iter_mut().find(|(p, _, _)| *p == full) {
            Some((_, _, methods)) => {
                methods.insert(endpoint.method.clone());
            }
            None => by_path.push((
                full,
                endpoint.clone(),
                BTreeSet::from([endpoint.method.clone()]),
            )),
        }
    }
    // Undocumented methods live where objects do: paths with a parameter,
    // and paths that already take a write.
    by_path.retain(|(full, _, methods)| {
        full.contains('{') || methods.iter().any(|m| m != "GET" && m != "HEAD")
    });
    by_path.truncate(MAX_OPTIONS.min(allowance));
    let creator_of = |full: &str| -> Option<Endpoint> {
        let (parent, last) = full.rsplit_once('/')?;
        if !last.starts_with('{') {
            return None;
        }
        discovered
            .endpoints
            .iter()
            .find(|e| e.method == "POST" && full_path(&discovered.base_path, &e.path) == parent)
            .map(|e| Endpoint {
                path: parent.to_string(),
                ..e.clone()
            })
    };
    let answers = stream::iter(by_path)
        .map(|(full, endpoint, documented)| async move {
            let mut concrete = endpoint.clone();
            concrete.path = full.clone();
            let path = concrete.concrete_path_and_query("")?;
            let url = engine.url_for(&path).ok()?;
            let mut probe = Probe::get(engine.buster().bust(&url))
                .as_caller(caller.clone())
                .template(Some(full.clone()));
            probe.method = "OPTIONS".into();
            let exchange = engine.send(probe).await.ok()?;
            let allow = exchange.response_header("allow")?.to_string();
            let methods: Vec<String> = allow
                .split(',')
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| {
                    !m.is_empty()
                        && !matches!(m.as_str(), "OPTIONS" | "HEAD" | "TRACE")
                        && !documented.contains(m)
                })
                .collect();
            let answered =
                (200..300).contains(&exchange.response.status) || exchange.response.status == 405;
            (!methods.is_empty() && answered).then(|| Advertised {
                creator: creator_of(&full),
                documented: concrete,
                path: full,
                methods,
                exchange,
            })
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    answers.into_iter().flatten().collect()
}

/// The documented operations the server does not route: a read whose
/// every baseline answer is the route miss, or a write whose path answers
/// a GET with the route miss (a routed path answers 405 or data). A
/// write's path is asked only when no documented read shares it.
pub async fn zombies(
    engine: &Engine,
    caller: &Caller,
    discovered: &Discovered,
    baselines: &Baselines,
    reach: &Reach,
) -> Vec<Zombie> {
    if !reach.documented || reach.route_misses.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut asked: BTreeSet<String> = BTreeSet::new();
    for endpoint in discovered
        .endpoints
        .iter()
        .filter(|e| e.source == EndpointSource::Spec)
    {
        if endpoint.method == "GET" {
            let Some(answers) = baselines.get(&endpoint.label()) else {
                continue;
            };
            if !answers.is_empty() && answers.iter().all(|a| reach.is_route_miss(a)) {
                out.push(Zombie {
                    endpoint: endpoint.clone(),
                    exchange: Arc::clone(&answers[0]),
                });
            }
            continue;
        }
        let read_shares_path = discovered
            .endpoints
            .iter()
            .any(|e| e.method == "GET" && e.path == endpoint.path);
        if read_shares_path || !asked.insert(endpoint.path.clone()) {
            continue;
        }
        let read = Endpoint {
            method: "GET".into(),
            operation_id: None,
            summary: None,
            ..endpoint.clone()
        };
        if state_changing_word(&read).is_some() {
            continue;
        }
        let Some(path) = read.concrete_path_and_query(&discovered.base_path) else {
            continue;
        };
        let Ok(url) = engine.url_for(&path) else {
            continue;
        };
        let probe = Probe::get(engine.buster().bust(&url))
            .as_caller(caller.clone())
            .template(Some(endpoint.path.clone()));
        if let Ok(exchange) = engine.send(probe).await {
            if reach.is_route_miss(&exchange) {
                out.push(Zombie {
                    endpoint: endpoint.clone(),
                    exchange,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routed_not_found_is_told_from_the_router_miss_and_ids_or_times_are_not_words() {
        use crate::checks::probe::fixtures::exchange;
        let miss = exchange(
            "http://h/rampart-7f3a-missing",
            None,
            404,
            &[],
            r#"{"detail": "Not Found"}"#,
        );
        let routed = exchange(
            "http://h/v2/users/test/profile",
            None,
            404,
            &[],
            r#"{"detail": "no such user"}"#,
        );
        assert!(!similar(&miss, &routed));
        let with_ids = |url: &str, id: &str, at: &str| {
            let body = format!(r#"{{"error": "Not Found", "request_id": "{id}", "at": "{at}"}}"#);
            exchange(url, None, 404, &[], &body)
        };
        assert!(similar(
            &with_ids(
                "http://h/rampart-1-missing",
                "9f1c2e77",
                "2026-12-05T05:09:29Z"
            ),
            &with_ids("http://h/api/v1/orders", "0b3d4a12", "2026-12-05T05:09:31Z"),
        ));
        let echoing = |path: &str| {
            let body = format!(r#"{{"error": "no route for {path}"}}"#);
            exchange(&format!("http://h{path}"), None, 404, &[], &body)
        };
        assert!(similar(
            &echoing("/rampart-missing"),
            &echoing("/internal/jobs")
        ));
    }

    #[test]
    fn versioned_siblings_are_every_lower_version_and_the_next() {
        let endpoint = Endpoint::discovered("/api/v2/orders/{id}", EndpointSource::Spec);
        let paths: Vec<String> = siblings(&endpoint, &endpoint.path)
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, vec!["/api/v1/orders/{id}", "/api/v3/orders/{id}"]);
        let flat = Endpoint::discovered("/api/orders", EndpointSource::Spec);
        assert!(siblings(&flat, &flat.path).is_empty());
    }

    #[test]
    fn resource_names_and_prefixes_skip_versions_parameters_and_short_paths() {
        let paths: Vec<String> = [
            "/api/v2/orders/{id}",
            "/api/v2/me",
            "/{tenant}/invoices",
            "/api/v2/orders",
            "/api/v2/users/{id}",
            "/{tenant}/x",
            "/health",
        ]
        .map(String::from)
        .to_vec();
        // A name of two letters or fewer is no resource; a path that starts
        // with a parameter or has one segment gives no prefix.
        assert_eq!(
            resource_names(&paths),
            vec!["orders", "invoices", "users", "health"]
        );
        assert_eq!(prefixes(&paths), vec!["/api", "/api/v2"]);
    }
}
