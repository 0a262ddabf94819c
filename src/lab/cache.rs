//! Lab cases for the cache family: a small origin behind an in-process
//! "shared cache" configured with the classic mistakes — the key is the URL
//! without tracking parameters and without the credential, errors are cached,
//! and anything that looks like a static file is stored. (The integration
//! tests use a real Varnish and nginx; this stand-in keeps the demo
//! self-contained.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::{ALICE_KEY, BOB_KEY};

const TTL: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 10_000;
const MAX_BODY: usize = 256 * 1024;

#[derive(Clone)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: bytes::Bytes,
    at: Instant,
}

#[derive(Clone, Default)]
pub struct SharedCache {
    entries: Arc<Mutex<HashMap<String, Stored>>>,
}

pub fn routes() -> Router {
    let origin = Router::new()
        .route("/api/account", get(account))
        .route("/api/account/{*rest}", get(account))
        .route("/api/links", get(links))
        .route("/api/promo", get(promo))
        .layer(middleware::from_fn(method_override));
    origin.layer(middleware::from_fn_with_state(
        SharedCache::default(),
        shared_cache,
    ))
}

fn caller(headers: &HeaderMap) -> Option<(&'static str, &'static str)> {
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some(ALICE_KEY) => Some(("alice", "alice@lab.example")),
        Some(BOB_KEY) => Some(("bob", "bob@lab.example")),
        _ => None,
    }
}

async fn account(headers: HeaderMap) -> Response {
    match caller(&headers) {
        Some((name, email)) => (
            [("cache-control", "max-age=30")],
            Json(json!({"user": name, "email": email, "balance": 1200})),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid API key"})),
        )
            .into_response(),
    }
}

/// Builds absolute links from X-Forwarded-Host, as a proxy-aware app would.
async fn links(headers: HeaderMap) -> Json<serde_json::Value> {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get("host"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    Json(json!({
        "self": format!("http://{host}/api/links"),
        "script": format!("http://{host}/static/app.js"),
    }))
}

#[derive(serde::Deserialize)]
struct PromoQuery {
    utm_content: Option<String>,
}

async fn promo(
    axum::extract::Query(query): axum::extract::Query<PromoQuery>,
) -> Json<serde_json::Value> {
    Json(json!({
        "banner": format!("Welcome! {}", query.utm_content.unwrap_or_default()),
    }))
}

/// The origin honours method-override headers, so GET + override = 405.
async fn method_override(request: Request, next: Next) -> Response {
    let overridden = [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    ]
    .iter()
    .any(|h| request.headers().contains_key(*h));
    if overridden {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(json!({"error": "method not allowed"})),
        )
            .into_response();
    }
    next.run(request).await
}

/// The mistake: the key ignores credentials and tracking parameters.
fn cache_key(request: &Request) -> String {
    let query: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("utm_"))
        .collect();
    format!("{}?{}", request.uri().path(), query.join("&"))
}

async fn shared_cache(State(cache): State<SharedCache>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let key = cache_key(&request);
    let hit = cache
        .entries
        .lock()
        .ok()
        .and_then(|entries| entries.get(&key).cloned())
        .filter(|stored| stored.at.elapsed() < TTL);
    if let Some(stored) = hit {
        let mut response = Response::new(Body::from(stored.body));
        *response.status_mut() = stored.status;
        *response.headers_mut() = stored.headers;
        let age = stored.at.elapsed().as_secs().max(1).to_string();
        if let Ok(age) = HeaderValue::from_str(&age) {
            response.headers_mut().insert("age", age);
        }
        response
            .headers_mut()
            .insert("x-cache", HeaderValue::from_static("HIT"));
        return response;
    }
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return (StatusCode::BAD_GATEWAY, "origin body too large").into_response();
    };
    if let Ok(mut entries) = cache.entries.lock() {
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, stored| stored.at.elapsed() < TTL);
        }
        if entries.len() < MAX_ENTRIES {
            entries.insert(
                key,
                Stored {
                    status: parts.status,
                    headers: parts.headers.clone(),
                    body: body.clone(),
                    at: Instant::now(),
                },
            );
        }
    }
    parts
        .headers
        .insert("x-cache", HeaderValue::from_static("MISS"));
    Response::from_parts(parts, Body::from(body))
}
