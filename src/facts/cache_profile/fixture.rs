//! An in-process shared cache in front of a small origin, for unit tests of
//! the cache profile and the cache checks: the cache's key rule, how it
//! speaks (or hides), what it stores, and the origin's flaws are chosen per
//! test, and every request is logged with the key its answer was looked up
//! and stored under.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use url::Url;

use crate::engine::{Engine, EngineConfig};

/// What the cache puts in its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRule {
    /// Host, path and query, as sent.
    FullUrl,
    /// The raw path only: the query string is ignored.
    PathOnly,
    /// The Host header only.
    HostOnly,
    /// Host, path and the query without `utm_*` parameters.
    UrlWithoutUtm,
    /// Host, the path normalised as nginx's `$uri` (decoded, slashes
    /// merged, dot segments resolved) and the query.
    NormalisedPathAndQuery,
    /// Host, path and query, lower-cased.
    LowercasedUrl,
    /// Host, path and query, percent-decoded.
    DecodedUrl,
    /// Host, path and query, and the device class of the user agent
    /// (`mobile` or `desktop`).
    UrlAndDevice,
}

/// How the cache tells clients what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Speaks {
    /// `X-Cache: HIT|MISS`, `X-Varnish`, `X-Cache-Hits`, `Age`.
    Headers,
    /// Nothing at all.
    Silent,
    /// `Age` alone: 0 when fetched, the stored entry's age in whole seconds
    /// on a hit.
    AgeOnly,
}

/// The origin's planted flaws.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flaws {
    /// A request header reflected into links (`X-Forwarded-Host`).
    pub reflect_header: Option<&'static str>,
    /// Query parameters reflected into the page.
    pub reflect_params: &'static [&'static str],
    /// `X-HTTP-Method-Override` honoured on GET (answers 405).
    pub method_override: bool,
    /// The page differs for mobile user agents.
    pub mobile_variant: bool,
    /// `;…` path parameters are dropped before routing.
    pub strip_matrix: bool,
    /// More request headers than this are refused with 431.
    pub max_headers: Option<usize>,
    /// The reflected header is believed only when its host is one of these
    /// (an allow-list); any host when empty.
    pub allowed_hosts: &'static [&'static str],
    /// Answers say `Vary: User-Agent`.
    pub vary_user_agent: bool,
    /// `X-Forwarded-Proto: http` is answered with a redirect to https.
    pub scheme_redirect: bool,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub key: KeyRule,
    pub speaks: Speaks,
    /// Error answers are stored too.
    pub store_errors: bool,
    /// How long the origin takes.
    pub origin_delay: Duration,
    pub flaws: Flaws,
    /// Paths the origin serves (after decoding; `/prefix/*` serves every
    /// page under the prefix); anything else is 404.
    pub paths: &'static [&'static str],
    /// The cache stores anything at all.
    pub stores: bool,
    /// Links the home page `/` carries.
    pub links: &'static [&'static str],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            key: KeyRule::FullUrl,
            speaks: Speaks::Headers,
            store_errors: false,
            origin_delay: Duration::ZERO,
            flaws: Flaws::default(),
            paths: &["/", "/api/items", "/articles/*"],
            stores: true,
            links: &[],
        }
    }
}

/// One request the cache received.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: bool,
    pub key: String,
    /// Answered from a stored entry.
    pub hit: bool,
    /// Its answer was stored under `key`.
    pub stored: bool,
}

#[derive(Clone)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: bytes::Bytes,
    object: u64,
    hits: u64,
    at: std::time::Instant,
}

#[derive(Clone)]
struct Shared {
    config: Config,
    entries: Arc<Mutex<HashMap<String, Stored>>>,
    log: Arc<Mutex<Vec<Logged>>>,
    xid: Arc<Mutex<u64>>,
}

/// A running cache and origin.
pub(crate) struct TestCache {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Logged>>>,
    entries: Arc<Mutex<HashMap<String, Stored>>>,
    config: Config,
}

impl TestCache {
    pub async fn start(config: Config) -> TestCache {
        let shared = Shared {
            config: config.clone(),
            entries: Arc::default(),
            log: Arc::default(),
            xid: Arc::new(Mutex::new(1000)),
        };
        let (log, entries) = (Arc::clone(&shared.log), Arc::clone(&shared.entries));
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestCache {
            addr,
            log,
            entries,
            config,
        }
    }

    pub fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("url")
    }

    /// An engine for this target without a rate limit.
    pub fn engine(&self) -> Engine {
        let mut config = EngineConfig::new(self.url("/"));
        config.rate_per_second = None;
        Engine::new(config).expect("engine")
    }

    /// A whole scan of this target with the checks `checks` selects.
    pub async fn scan(&self, checks: &str) -> crate::report::Report {
        let mut options = crate::scan::ScanOptions::new(self.url("/"));
        options.engine.rate_per_second = None;
        options.include_checks = vec![checks.to_string()];
        crate::scan::run(options).await.expect("the scan runs")
    }

    pub fn log(&self) -> Vec<Logged> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The key a visitor's plain request for `path_and_query` is looked up under.
    pub fn visitor_key(&self, path_and_query: &str) -> String {
        let url = self.url(path_and_query);
        let host = format!("{}", self.addr);
        key_for(
            self.config.key,
            &host,
            url.path(),
            url.query().unwrap_or(""),
            "rampart",
        )
    }

    /// The body stored under `key`, if any.
    pub fn stored_body(&self, key: &str) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        let stored = entries.get(key)?;
        Some(String::from_utf8_lossy(&stored.body).into_owned())
    }
}

/// `mobile` for phones' user agents, `desktop` for the rest.
fn device(agent: &str) -> &'static str {
    if ["Mobile", "iPhone", "Android"]
        .iter()
        .any(|w| agent.contains(w))
    {
        "mobile"
    } else {
        "desktop"
    }
}

fn key_for(rule: KeyRule, host: &str, path: &str, query: &str, agent: &str) -> String {
    match rule {
        KeyRule::FullUrl => format!("{host}{path}?{query}"),
        KeyRule::PathOnly => path.to_string(),
        KeyRule::HostOnly => host.to_string(),
        KeyRule::UrlWithoutUtm => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("utm_"))
                .collect();
            format!("{host}{path}?{}", kept.join("&"))
        }
        KeyRule::NormalisedPathAndQuery => format!("{host}{}?{query}", normalise(path)),
        KeyRule::LowercasedUrl => format!("{host}{path}?{query}").to_lowercase(),
        KeyRule::DecodedUrl => format!("{host}{}?{}", decode(path), decode(query)),
        KeyRule::UrlAndDevice => format!("{host}{path}?{query}|{}", device(agent)),
    }
}

pub(crate) fn decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decoded, slashes merged, `.` and `..` segments resolved.
fn normalise(path: &str) -> String {
    let mut segments: Vec<String> = Vec::new();
    for segment in decode(path).split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other.to_string()),
        }
    }
    let trailing = if path.ends_with('/') && !segments.is_empty() {
        "/"
    } else {
        ""
    };
    format!("/{}{trailing}", segments.join("/"))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let host = header(&parts.headers, "host").unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let agent = header(&parts.headers, "user-agent").unwrap_or_default();
    let key = key_for(shared.config.key, &host, &path, &query, &agent);
    let xid = {
        let mut xid = shared.xid.lock().expect("xid");
        *xid += 1;
        *xid
    };
    let mut logged = Logged {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: !body.is_empty(),
        key: key.clone(),
        hit: false,
        stored: false,
    };
    let cacheable = parts.method == axum::http::Method::GET;
    let found = cacheable
        .then(|| {
            let mut entries = shared.entries.lock().ok()?;
            let stored = entries.get_mut(&key)?;
            stored.hits += 1;
            Some(stored.clone())
        })
        .flatten();
    let response = match found {
        Some(stored) => {
            logged.hit = true;
            let mut response = Response::new(Body::from(stored.body));
            *response.status_mut() = stored.status;
            *response.headers_mut() = stored.headers;
            if shared.config.speaks == Speaks::Headers {
                let h = response.headers_mut();
                h.insert("x-cache", HeaderValue::from_static("HIT"));
                insert(h, "x-varnish", format!("{xid} {}", stored.object));
                insert(h, "x-cache-hits", stored.hits.to_string());
                insert(h, "age", "1".into());
            }
            if shared.config.speaks == Speaks::AgeOnly {
                let age = stored.at.elapsed().as_secs().to_string();
                insert(response.headers_mut(), "age", age);
            }
            response
        }
        None => {
            tokio::time::sleep(shared.config.origin_delay).await;
            let (status, headers, page) =
                origin(&shared.config, &parts.headers, &path, &query, &body);
            let store = cacheable
                && shared.config.stores
                && (status.as_u16() < 400 || shared.config.store_errors);
            if store {
                if let Ok(mut entries) = shared.entries.lock() {
                    entries.insert(
                        key.clone(),
                        Stored {
                            status,
                            headers: headers.clone(),
                            body: page.clone().into(),
                            object: xid,
                            hits: 0,
                            at: std::time::Instant::now(),
                        },
                    );
                }
                logged.stored = true;
            }
            let mut response = Response::new(Body::from(page));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            if shared.config.speaks == Speaks::Headers {
                let h = response.headers_mut();
                h.insert("x-cache", HeaderValue::from_static("MISS"));
                insert(h, "x-varnish", xid.to_string());
                insert(h, "age", "0".into());
            }
            if shared.config.speaks == Speaks::AgeOnly {
                insert(response.headers_mut(), "age", "0".into());
            }
            response
        }
    };
    if let Ok(mut log) = shared.log.lock() {
        log.push(logged);
    }
    response
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

/// The origin: a small HTML site with the planted flaws.
fn origin(
    config: &Config,
    headers: &HeaderMap,
    raw_path: &str,
    query: &str,
    _body: &[u8],
) -> (StatusCode, HeaderMap, String) {
    let flaws = &config.flaws;
    let mut path = decode(raw_path);
    if flaws.strip_matrix {
        if let Some(at) = path.find(';') {
            path.truncate(at);
        }
    }
    let mut out = HeaderMap::new();
    out.insert("content-type", HeaderValue::from_static("text/html"));
    if flaws.max_headers.is_some_and(|max| headers.len() > max) {
        return (
            StatusCode::from_u16(431).unwrap_or(StatusCode::BAD_REQUEST),
            out,
            "<p>too many headers</p>".into(),
        );
    }
    if flaws.method_override && header(headers, "x-http-method-override").is_some() {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            out,
            "<p>method not allowed</p>".into(),
        );
    }
    let served = config.paths.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
        None => *p == path,
    });
    if !served {
        return (StatusCode::NOT_FOUND, out, "<p>not found</p>".into());
    }
    if flaws.vary_user_agent {
        out.insert("vary", HeaderValue::from_static("User-Agent"));
    }
    let allowed = |value: &String| {
        let name = value.split(':').next().unwrap_or("");
        flaws.allowed_hosts.is_empty() || flaws.allowed_hosts.contains(&name)
    };
    let host = flaws
        .reflect_header
        .and_then(|name| header(headers, name))
        .filter(allowed)
        .or_else(|| header(headers, "host"))
        .unwrap_or_default();
    if flaws.scheme_redirect && header(headers, "x-forwarded-proto").as_deref() == Some("http") {
        let location = format!("https://{host}{path}");
        if let Ok(value) = HeaderValue::from_str(&location) {
            out.insert("location", value);
        }
        return (StatusCode::MOVED_PERMANENTLY, out, String::new());
    }
    let mut page = format!(
        "<html><head><link rel=\"canonical\" href=\"http://{host}{path}\"></head><body><h1>{path}</h1>"
    );
    for pair in query.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            if flaws.reflect_params.contains(&name) {
                page.push_str(&format!("<p>{name}: {value}</p>"));
            }
        }
    }
    if path == "/" {
        for link in config.links {
            page.push_str(&format!("<a href=\"{link}\">{link}</a>"));
        }
    }
    if flaws.mobile_variant {
        let ua = header(headers, "user-agent").unwrap_or_default();
        let layout = if ua.contains("Mobile") {
            "mobile"
        } else {
            "desktop"
        };
        page.push_str(&format!("<p class=\"{layout}\">{layout} layout</p>"));
    }
    page.push_str("</body></html>");
    (StatusCode::OK, out, page)
}
