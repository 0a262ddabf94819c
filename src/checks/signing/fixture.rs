//! The signing family's in-process target: a report desk that hands each
//! persona a signed download link (an itsdangerous-shaped
//! `payload.timestamp.signature` token) and serves downloads to whoever
//! shows a valid one. [`Desk`] says which of the family's flaws it has.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::checks::probe::fixtures::{caller, me, reply, Persona, Setup, PERSONAS};

/// How the desk signs and checks its links; `Desk::default()` has every
/// flaw the family looks for, each field fixes one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Desk {
    /// The signature covers `user_id` too (else only `report`).
    pub covers_user: bool,
    /// A download is served only to the user the link names.
    pub binds_caller: bool,
    /// Tokens older than an hour are refused.
    pub expires: bool,
    /// How long ago the links handed out were issued, in seconds.
    pub issued_ago: i64,
}

const SECRET: &str = "desk-secret";

fn mac(signed: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(format!("{SECRET}:{signed}"))[..20])
}

/// An itsdangerous-shaped token over `payload`, issued at `issued_at`.
fn token(payload: &Value, issued_at: i64) -> String {
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let timestamp = URL_SAFE_NO_PAD.encode((issued_at as u32).to_be_bytes());
    let signed = format!("{payload}.{timestamp}");
    format!("{signed}.{}", mac(&signed))
}

/// The payload and issue time of a token whose signature is valid.
fn verify(token: &str) -> Option<(Value, i64)> {
    let (signed, signature) = token.rsplit_once('.')?;
    if mac(signed) != signature {
        return None;
    }
    let (payload, timestamp) = signed.split_once('.')?;
    let payload = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let bytes: [u8; 4] = URL_SAFE_NO_PAD.decode(timestamp).ok()?.try_into().ok()?;
    Some((payload, i64::from(u32::from_be_bytes(bytes))))
}

impl Desk {
    /// `GET /api/me`, `GET /api/reports` (the caller's signed link) and
    /// `GET /api/reports/download?user_id=&report=&token=`.
    pub fn app(self) -> Router {
        me().route(
            "/api/reports",
            get(move |headers: HeaderMap| async move {
                let Some(p) = caller(&headers) else {
                    return reply(401, json!({"error": "login"}));
                };
                let payload = match self.covers_user {
                    true => json!({"report": "monthly", "user_id": p.user_id}),
                    false => json!({"report": "monthly"}),
                };
                let issued = chrono::Utc::now().timestamp() - self.issued_ago;
                let link = format!(
                    "/api/reports/download?user_id={}&report=monthly&token={}",
                    p.user_id,
                    token(&payload, issued)
                );
                reply(
                    200,
                    json!({"reports": [{"name": "monthly", "download_url": link}]}),
                )
            }),
        )
        .route(
            "/api/reports/download",
            get(
                move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| async move {
                    self.download(caller(&headers).map(|p| p.user_id), &query)
                },
            ),
        )
    }

    fn download(
        self,
        caller: Option<&str>,
        query: &HashMap<String, String>,
    ) -> axum::response::Response {
        let refused = reply(403, json!({"error": "invalid link"}));
        let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
        let Some((signed, issued_at)) = verify(param("token")) else {
            return refused;
        };
        let user_id = param("user_id");
        let tampered =
            signed["report"] != param("report") || self.covers_user && signed["user_id"] != user_id;
        let stranger = self.binds_caller && caller != Some(user_id);
        let expired = self.expires && chrono::Utc::now().timestamp() - issued_at > 3600;
        let Some(owner) = PERSONAS.into_iter().find(|p| p.user_id == user_id) else {
            return reply(404, json!({"error": "no such user"}));
        };
        if tampered || stranger || expired {
            return refused;
        }
        reply(
            200,
            json!({"report": "monthly", "user_id": owner.user_id, "email": owner.email, "rows": 12}),
        )
    }
}

/// `personas` scanning the desk.
pub(crate) fn setup(personas: &[&Persona]) -> Setup {
    Setup::new(
        personas,
        &[
            "GET /api/me",
            "GET /api/reports",
            "GET /api/reports/download",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_carry_their_issue_time() {
        let t = token(&json!({"report": "monthly"}), 1_600_000_000);
        assert_eq!(
            verify(&t),
            Some((json!({"report": "monthly"}), 1_600_000_000))
        );
        assert_eq!(
            crate::facts::signed_links::itsdangerous_timestamp(&t),
            Some(1_600_000_000),
            "the scan reads the issue time without the secret"
        );
        assert_eq!(verify(&crate::checks::signing::corrupt(&t)), None);
        assert_eq!(verify("no-dots"), None);
    }
}
