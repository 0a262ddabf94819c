//! The token family's in-process target: `GET /api/me` answers the
//! persona a bearer JWT names (`sub` is its user id). [`Verifier`] says
//! how the target checks tokens, one flaw per variant.

use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::checks::probe::fixtures::{endpoint, reply, Persona, Setup, PERSONAS};
use crate::identity::Identity;
use crate::tokens::crack::{verify, Digest, Scheme};
use crate::tokens::jwt::{self, Jwt, Signature};

/// How the target verifies bearer JWTs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verifier {
    /// HS256 with `secret`, `exp` required and checked: the fixed twin.
    Strict(&'static [u8]),
    /// HS256 with `secret`, `exp` not checked.
    IgnoresExpiry(&'static [u8]),
    /// Signatures not verified at all.
    Unverified,
    /// HS256 with `secret`, but `alg: none` (any case) taken unverified.
    TrustsNone(&'static [u8]),
    /// HS256 with `secret` when a signature is there; a token without one
    /// is taken unverified (a hand-written `if signature: verify`).
    TrustsUnsigned(&'static [u8]),
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `persona`'s HS256 token under `secret`, issued a minute ago, expiring
/// in `lifetime` seconds.
pub(crate) fn token(persona: &Persona, secret: &[u8], lifetime: i64) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let issued = now() - 60;
    let claims = json!({"sub": persona.user_id, "name": persona.name, "iat": issued, "exp": issued + lifetime});
    let (Some(header), Some(claims)) = (header.as_object(), claims.as_object()) else {
        return String::new();
    };
    jwt::encode(header, claims, Signature::Hmac(Digest::Sha256, secret))
}

impl Verifier {
    /// The claims of a token this verifier accepts.
    fn claims(self, raw: &str) -> Option<Map<String, Value>> {
        let token = Jwt::parse(raw)?;
        let signed = |secret: &[u8]| {
            token.alg() == "HS256"
                && verify(
                    &Scheme::Hmac(Digest::Sha256),
                    secret,
                    token.signing_input().as_bytes(),
                    &token.signature,
                )
        };
        let fresh = token.time_claim("exp").is_some_and(|exp| exp > now());
        let accepted = match self {
            Verifier::Strict(secret) => signed(secret) && fresh,
            Verifier::IgnoresExpiry(secret) => signed(secret),
            Verifier::Unverified => true,
            Verifier::TrustsNone(secret) => {
                token.alg().eq_ignore_ascii_case("none") || signed(secret) && fresh
            }
            Verifier::TrustsUnsigned(secret) => {
                token.signature.is_empty() || signed(secret) && fresh
            }
        };
        accepted.then_some(token.claims)
    }

    /// `GET /api/me`: the persona the token's `sub` names, 401 otherwise.
    pub fn router(self) -> Router {
        Router::new().route(
            "/api/me",
            get(move |headers: HeaderMap| async move {
                let bearer = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or_default();
                let sub = self
                    .claims(bearer)
                    .and_then(|c| c.get("sub").and_then(Value::as_str).map(String::from));
                match PERSONAS
                    .into_iter()
                    .find(|p| Some(p.user_id) == sub.as_deref())
                {
                    Some(persona) => reply(200, persona.profile()),
                    None => reply(401, json!({"error": "invalid token"})),
                }
            }),
        )
    }
}

/// alice and bob with their tokens under `secret`, valid for `lifetime`
/// seconds, and `GET /api/me`.
pub(crate) fn setup(secret: &[u8], lifetime: i64) -> Setup {
    let mut setup = Setup::new(&[], &["GET /api/me"]);
    setup.identities = PERSONAS
        .iter()
        .map(|p| Identity {
            name: p.name.into(),
            headers: vec![(
                "Authorization".into(),
                format!("Bearer {}", token(p, secret, lifetime)),
            )],
        })
        .collect();
    setup.endpoints = vec![endpoint("GET /api/me")];
    setup
}
