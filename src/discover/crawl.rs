//! Discovery without a spec: well-known spec locations first, then links
//! (in JSON responses, HTML pages and redirects). The paths APIs commonly
//! hide are asked for with or without a spec (`shadow`).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, LazyLock};

use regex::Regex;
use url::Url;

use super::safety::{state_changing_word, PathFilter};
use super::{parse_spec, Discovered, Endpoint, EndpointSource, Failures, ParamLocation, Parameter};
use crate::engine::buster::without_buster;
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

/// Follows same-origin links, breadth first, bounded: strings that look
/// like links in JSON bodies, `href`, `src` and GET forms' `action` in HTML
/// pages, and the `Location` of redirects. A link's query parameters become
/// the endpoint's sample query. A link to a path `paths` leaves out, or
/// whose name looks like an action, is listed but never requested. A link
/// that fails at the transport is recorded in `failures`.
pub async fn crawl_links(
    engine: &Engine,
    caller: &Caller,
    root: &Arc<Exchange>,
    paths: &PathFilter,
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
        let base = Url::parse(&exchange.request.url).unwrap_or_else(|_| engine.target().clone());
        for link in links_in(&exchange) {
            let Ok(url) = base.join(&link) else { continue };
            if !engine.scope().contains(&url) {
                continue;
            }
            let path = url.path().to_string();
            if found.len() >= MAX_CRAWLED || !seen.insert(path.clone()) {
                continue;
            }
            // A redirect may echo the buster back; a fragment is no link.
            let mut url = without_buster(&url);
            url.set_fragment(None);
            let endpoint = endpoint_for(&url);
            if !paths.admits(&path) || state_changing_word(&endpoint).is_some() {
                found.push(endpoint);
                continue;
            }
            match engine
                .send(Probe::get(engine.buster().bust(&url)).as_caller(caller.clone()))
                .await
            {
                Ok(next) if next.response.status < 400 => {
                    found.push(endpoint);
                    queue.push_back((next, depth + 1));
                }
                Ok(_) => {}
                Err(error) => failed(failures, &path, error),
            }
        }
    }
    found
}

/// The links an answer offers: its redirect target, the links in its JSON
/// or HTML body.
pub(crate) fn links_in(exchange: &Exchange) -> Vec<String> {
    let mut links = Vec::new();
    if (300..400).contains(&exchange.response.status) {
        if let Some(location) = exchange.response_header("location") {
            links.push(location.trim().to_string());
        }
    }
    if let Some(json) = exchange.body_json() {
        collect_links(json, &mut links, 0);
    } else if is_html(exchange) {
        links.extend(html_links(exchange.body_text()));
    }
    links
}

fn is_html(exchange: &Exchange) -> bool {
    if exchange
        .content_type()
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"))
    {
        return true;
    }
    let start: String = exchange
        .body_text()
        .trim_start()
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// `href` and `src` of tags, and the `action` of forms that GET: the
/// targets a browser would follow or fetch without submitting anything.
fn html_links(html: &str) -> Vec<String> {
    static TAG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)<(a|area|link|script|img|iframe|form|source)\b([^>]*)>")
            .expect("tag regex")
    });
    static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?is)\b(href|src|action|method)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#)
            .expect("attribute regex")
    });
    let mut out = Vec::new();
    for tag in TAG.captures_iter(html).take(2000) {
        let name = tag[1].to_ascii_lowercase();
        let mut target = None;
        let mut posts = false;
        for attribute in ATTRIBUTE.captures_iter(&tag[2]) {
            let value = attribute
                .get(2)
                .or(attribute.get(3))
                .or(attribute.get(4))
                .map_or("", |m| m.as_str());
            match attribute[1].to_ascii_lowercase().as_str() {
                "method" => posts = !value.eq_ignore_ascii_case("get"),
                "action" if name == "form" => target = Some(value),
                "href" | "src" if name != "form" => target = Some(value),
                _ => {}
            }
        }
        let Some(target) = target.map(decode_entities) else {
            continue;
        };
        let followable = !target.is_empty()
            && target.len() < 300
            && !target.starts_with('#')
            && !target.contains(char::is_whitespace)
            && !["javascript:", "mailto:", "tel:", "data:"]
                .iter()
                .any(|scheme| target.to_ascii_lowercase().starts_with(scheme));
        if followable && !(name == "form" && posts) {
            out.push(target);
        }
    }
    out
}

/// The character references HTML attributes commonly carry in URLs.
fn decode_entities(value: &str) -> String {
    value
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// A crawled endpoint: the link's path, its query parameters as samples.
fn endpoint_for(url: &Url) -> Endpoint {
    let mut endpoint = Endpoint::discovered(url.path(), EndpointSource::Crawl);
    for (name, value) in url.query_pairs() {
        if endpoint.parameters.iter().any(|p| p.name == name) {
            continue;
        }
        endpoint.parameters.push(Parameter::new(
            &name,
            ParamLocation::Query,
            Some(value.into_owned()),
        ));
    }
    endpoint
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

    /// An engine for the in-process target at `url`, unpaced, and the
    /// target's answer at its root.
    async fn engine_and_root(url: &Url) -> (Engine, Arc<Exchange>) {
        let mut config = crate::engine::EngineConfig::new(url.clone());
        config.rate_per_second = None;
        let engine = Engine::new(config).unwrap();
        let root = engine
            .send(Probe::get(engine.buster().bust(engine.target())))
            .await
            .unwrap();
        (engine, root)
    }

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

    #[test]
    fn html_pages_offer_their_links_sources_and_get_forms() {
        let html = r##"<!doctype html><html><head>
            <link rel="stylesheet" href="/static/site.css">
            <script src='/static/app.js'></script></head><body>
            <a href="/articles/intro?lang=en&amp;page=2">Intro</a>
            <a href=about>About</a> <a href="#top">top</a>
            <a href="javascript:void(0)">x</a> <a href="mailto:a@b.c">mail</a>
            <img src="https://cdn.example/logo.png">
            <form action="/search" method="get"><input name="q"></form>
            <form method="POST" action="/login"></form>
            <FORM ACTION="/subscribe"></FORM>
            </body></html>"##;
        assert_eq!(
            html_links(html),
            vec![
                "/static/site.css",
                "/static/app.js",
                "/articles/intro?lang=en&page=2",
                "about",
                "https://cdn.example/logo.png",
                "/search",
                "/subscribe",
            ]
        );
    }

    #[test]
    fn crawled_links_keep_their_query_as_samples_without_the_buster() {
        let url = Url::parse("http://h/search?q=cache&rampart_cb=1f&page=2").unwrap();
        let endpoint = endpoint_for(&without_buster(&url));
        assert_eq!(endpoint.path, "/search");
        let samples: Vec<(&str, Option<&str>)> = endpoint
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.sample.as_deref()))
            .collect();
        assert_eq!(samples, vec![("q", Some("cache")), ("page", Some("2"))]);
        assert_eq!(
            endpoint.concrete_path_and_query("").as_deref(),
            Some("/search?q=cache&page=2")
        );
    }

    #[tokio::test]
    async fn a_root_that_only_redirects_is_followed_to_its_html_pages() {
        use axum::response::{Html, Redirect};
        use axum::routing::get;

        let app = axum::Router::new()
            .route("/", get(|| async { Redirect::to("/en/") }))
            .route(
                "/en/",
                get(|| async {
                    Html(
                        r#"<a href="/en/products">P</a><a href="http://elsewhere.example/x">X</a>"#,
                    )
                }),
            )
            .route("/en/products", get(|| async { Html("<p>products</p>") }));
        let target = crate::checks::probe::fixtures::serve(app).await;
        let (engine, root) = engine_and_root(&target.url).await;
        assert_eq!(root.response.status, 303);
        let paths: Vec<String> = crawl_links(
            &engine,
            &Caller::Anonymous,
            &root,
            &PathFilter::default(),
            &mut Vec::new(),
        )
        .await
        .into_iter()
        .map(|e| e.path)
        .collect();
        assert_eq!(paths, vec!["/", "/en/", "/en/products"]);
    }

    #[tokio::test]
    async fn links_that_act_or_that_the_user_left_out_are_listed_but_never_requested() {
        use axum::routing::get;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc as Shared;

        let hits = Shared::new(AtomicUsize::new(0));
        let counted = Shared::clone(&hits);
        let app = axum::Router::new()
            .route(
                "/",
                get(|| async {
                    axum::Json(serde_json::json!({
                        "items": "/api/items", "reset": "/api/reset-db", "admin": "/admin/users"
                    }))
                }),
            )
            .route("/api/items", get(|| async { "[]" }))
            .route(
                "/api/reset-db",
                get(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async { "reset" }
                }),
            )
            .route("/admin/users", get(|| async { "[]" }));
        let target = crate::checks::probe::fixtures::serve(app).await;
        let (engine, root) = engine_and_root(&target.url).await;
        let paths = PathFilter::new(Vec::new(), vec!["/admin/*".into()]);
        let mut found: Vec<String> =
            crawl_links(&engine, &Caller::Anonymous, &root, &paths, &mut Vec::new())
                .await
                .into_iter()
                .map(|e| e.path)
                .collect();
        found.sort();
        assert_eq!(
            found,
            vec!["/", "/admin/users", "/api/items", "/api/reset-db"]
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the reset was requested");
        // Root, then the one link that may be requested.
        assert_eq!(engine.requests_sent(), 2);
    }
}
