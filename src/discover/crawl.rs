//! Discovery without a spec: well-known spec locations first, then links in
//! JSON responses, then a short list of paths APIs commonly expose.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use url::Url;

use super::{parse_spec, Discovered, Endpoint, EndpointSource, Failures};
use crate::engine::{Caller, Engine, EngineError, Exchange, Probe};

/// Where frameworks publish their API descriptions by default.
pub const SPEC_PATHS: &[&str] = &[
    "/openapi.json",
    "/openapi.yaml",
    "/swagger.json",
    "/v3/api-docs",
    "/v2/api-docs",
    "/api/openapi.json",
    "/api/swagger.json",
    "/api-docs",
    "/swagger/v1/swagger.json",
    "/docs/openapi.json",
];

/// Paths APIs commonly expose, including ones that should not be exposed.
pub const COMMON_PATHS: &[&str] = &[
    "/api",
    "/api/v1",
    "/api/health",
    "/health",
    "/status",
    "/api/status",
    "/version",
    "/api/me",
    "/me",
    "/api/users",
    "/users",
    "/api/account",
    "/account",
    "/api/config",
    "/config",
    "/api/debug",
    "/debug",
    "/admin",
    "/api/admin",
    "/metrics",
    "/actuator/env",
    "/actuator/health",
    "/.env",
    "/server-status",
];

const MAX_CRAWLED: usize = 200;
const MAX_DEPTH: usize = 3;

/// Keeps a failed discovery request for the report. Refusals by design
/// (out of scope) are not failures.
fn failed(failures: &mut Failures, path: &str, error: EngineError) {
    if !matches!(error, EngineError::OutOfScope(_)) {
        failures.push((format!("GET {path}"), error));
    }
}

/// Looks for a spec at well-known paths; returns the first that parses.
pub async fn find_published_spec(
    engine: &Engine,
    caller: &Caller,
    failures: &mut Failures,
) -> Option<Discovered> {
    for path in SPEC_PATHS {
        let Ok(url) = engine.url_for(path) else {
            continue;
        };
        let exchange = match engine
            .send(Probe::get(engine.buster().bust(&url)).as_caller(caller.clone()))
            .await
        {
            Ok(exchange) => exchange,
            Err(error) => {
                failed(failures, path, error);
                continue;
            }
        };
        if exchange.response.status != 200 || exchange.response.truncated {
            continue;
        }
        if let Ok(spec) = parse_spec(exchange.body_text()) {
            if !spec.endpoints.is_empty() {
                return Some(Discovered::from_spec(spec, &format!("{url}")));
            }
        }
    }
    None
}

/// Follows same-origin links found in JSON bodies, breadth first, bounded.
pub async fn crawl_links(
    engine: &Engine,
    caller: &Caller,
    root: &Arc<Exchange>,
    failures: &mut Failures,
) -> Vec<Endpoint> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let root_path = root_path(engine.target());
    seen.insert(root_path.clone());
    let mut found = vec![Endpoint::discovered(&root_path, EndpointSource::Crawl)];
    let mut queue: VecDeque<(Arc<Exchange>, usize)> = VecDeque::from([(Arc::clone(root), 0)]);
    while let Some((exchange, depth)) = queue.pop_front() {
        if depth >= MAX_DEPTH || found.len() >= MAX_CRAWLED {
            continue;
        }
        let Some(json) = exchange.body_json() else {
            continue;
        };
        let base = Url::parse(&exchange.request.url).unwrap_or_else(|_| engine.target().clone());
        let mut links = Vec::new();
        collect_links(json, &mut links, 0);
        for link in links {
            let Ok(url) = base.join(&link) else { continue };
            if !engine.scope().contains(&url) {
                continue;
            }
            let path = url.path().to_string();
            if found.len() >= MAX_CRAWLED || !seen.insert(path.clone()) {
                continue;
            }
            match engine
                .send(Probe::get(engine.buster().bust(&url)).as_caller(caller.clone()))
                .await
            {
                Ok(next) if next.response.status < 400 => {
                    found.push(Endpoint::discovered(&path, EndpointSource::Crawl));
                    queue.push_back((next, depth + 1));
                }
                Ok(_) => {}
                Err(error) => failed(failures, &path, error),
            }
        }
    }
    found
}

/// Tries the built-in path list, keeping only answers that differ from the
/// target's answer to a path that cannot exist (soft-404 detection).
pub async fn probe_common_paths(
    engine: &Engine,
    caller: &Caller,
    known: &BTreeSet<String>,
    failures: &mut Failures,
) -> Vec<Endpoint> {
    let nonsense = format!("/rampart-{}-does-not-exist", engine.buster().next_token());
    let soft_404 = match engine.url_for(&nonsense) {
        Ok(url) => match engine.send(Probe::get(url).as_caller(caller.clone())).await {
            Ok(exchange) => Some(exchange),
            Err(error) => {
                failed(failures, "/{rampart-token}-does-not-exist", error);
                None
            }
        },
        Err(_) => None,
    };
    let candidates: Vec<&str> = COMMON_PATHS
        .iter()
        .copied()
        .filter(|p| !known.contains(*p))
        .collect();
    let results = stream::iter(candidates)
        .map(|path| async move {
            let url = engine.url_for(path).ok()?;
            let sent = engine
                .send(Probe::get(engine.buster().bust(&url)).as_caller(caller.clone()))
                .await;
            Some((path, sent))
        })
        .buffered(4)
        .collect::<Vec<_>>()
        .await;
    let mut answered = Vec::new();
    for (path, sent) in results.into_iter().flatten() {
        match sent {
            Ok(exchange) => answered.push((path, exchange)),
            Err(error) => failed(failures, path, error),
        }
    }
    answered
        .into_iter()
        .filter(|(_, exchange)| {
            let status = exchange.response.status;
            let is_missing = matches!(status, 404 | 405 | 410 | 501..=504);
            let looks_like_soft_404 = soft_404.as_ref().is_some_and(|miss| {
                miss.response.status == status
                    && miss
                        .response
                        .body
                        .len()
                        .abs_diff(exchange.response.body.len())
                        < 16
            });
            !is_missing && !looks_like_soft_404
        })
        .map(|(path, _)| Endpoint::discovered(path, EndpointSource::Wordlist))
        .collect()
}

fn root_path(target: &Url) -> String {
    let path = target.path();
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

/// Strings in a JSON document that look like same-site links.
fn collect_links(value: &serde_json::Value, out: &mut Vec<String>, depth: usize) {
    if depth > 32 || out.len() > 1000 {
        return;
    }
    match value {
        serde_json::Value::String(s) if looks_like_link(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_links(item, out, depth + 1);
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values() {
                collect_links(item, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn looks_like_link(s: &str) -> bool {
    let plausible = s.len() < 300 && !s.contains(char::is_whitespace);
    let is_path = s.starts_with('/') && !s.starts_with("//");
    let is_url = s.starts_with("http://") || s.starts_with("https://");
    plausible && (is_path || is_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_collected_from_nested_json() {
        let json = serde_json::json!({
            "self": "/api",
            "_links": {"users": {"href": "http://127.0.0.1:1/api/users"}},
            "items": [{"next": "/api/items?page=2"}, "not a link", "//cdn.example/x"],
            "note": "/a path with spaces"
        });
        let mut out = Vec::new();
        collect_links(&json, &mut out, 0);
        assert_eq!(
            out,
            vec!["/api", "http://127.0.0.1:1/api/users", "/api/items?page=2"]
        );
    }
}
