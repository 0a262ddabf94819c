//! Lab cases for the signing and API-key families: report links signed in
//! the style of itsdangerous (`payload.timestamp.signature`) whose signature
//! covers neither the user id nor the caller, is skipped when absent and
//! never expires; API keys also accepted from the query string.

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ALICE_KEY, BOB_KEY};

const SECRET: &str = "lab-signing-secret";
/// What the token signs: the report kind, not whose report it is.
const PAYLOAD: &str = "eyJyZXBvcnQiOiJtb250aGx5In0";

pub fn routes() -> Router {
    Router::new()
        .route("/api/downloads", get(downloads))
        .route("/api/reports/download", get(download))
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn sign(timestamp: u32) -> String {
    let ts = base64url(&timestamp.to_be_bytes());
    let digest = Sha256::digest(format!("{SECRET}.{PAYLOAD}.{ts}"));
    format!("{PAYLOAD}.{ts}.{}", &base64url(&digest)[..27])
}

fn verify(token: &str) -> bool {
    let mut parts = token.rsplitn(3, '.');
    let (Some(_sig), Some(ts), Some(payload)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if payload != PAYLOAD {
        return false;
    }
    // No maximum age: any token ever issued stays valid.
    let expected = {
        let digest = Sha256::digest(format!("{SECRET}.{PAYLOAD}.{ts}"));
        format!("{PAYLOAD}.{ts}.{}", &base64url(&digest)[..27])
    };
    expected == token
}

/// The lab's keys work from the header or, the mistake, `?api_key=`.
fn caller(headers: &HeaderMap, query: &DownloadQuery) -> Option<(u32, &'static str)> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or(query.api_key.as_deref())?;
    match key {
        ALICE_KEY => Some((1, "alice")),
        BOB_KEY => Some((2, "bob")),
        _ => None,
    }
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    user_id: Option<u32>,
    token: Option<String>,
    api_key: Option<String>,
}

async fn downloads(headers: HeaderMap, Query(query): Query<DownloadQuery>) -> Response {
    let Some((id, name)) = caller(&headers, &query) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid API key"})),
        )
            .into_response();
    };
    let now = u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(u32::MAX);
    let three_days_ago = now.saturating_sub(3 * 86400);
    Json(json!({
        "username": name,
        "report_url": format!("/api/reports/download?user_id={id}&token={}", sign(now)),
        "archived_report_url": format!("/api/reports/download?user_id={id}&token={}", sign(three_days_ago)),
    }))
    .into_response()
}

/// The mistakes: no token means no check, the user comes from the unsigned
/// `user_id`, and anyone holding a link may use it.
async fn download(Query(query): Query<DownloadQuery>) -> Response {
    if let Some(token) = &query.token {
        if !verify(token) {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "bad signature"})),
            )
                .into_response();
        }
    }
    let owner = match query.user_id {
        Some(1) => ("alice", 1),
        Some(2) => ("bob", 2),
        _ => return (StatusCode::NOT_FOUND, Json(json!({"error": "no report"}))).into_response(),
    };
    Json(json!({"report": "monthly", "username": owner.0, "user_id": owner.1, "total": 1200 * owner.1}))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_itsdangerous_shape_and_a_readable_timestamp() {
        let token = sign(1_700_000_000);
        assert!(verify(&token));
        assert!(!verify(&token.replace(&token[token.len() - 1..], "A")) || token.ends_with('A'));
        assert_eq!(
            crate::facts::signed_links::itsdangerous_timestamp(&token),
            Some(1_700_000_000)
        );
    }
}
