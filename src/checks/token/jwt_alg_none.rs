//! JWTs accepted with `"alg": "none"`.
//!
//! RFC 7519 defines unsecured JWTs: `alg: none` and an empty signature. A
//! verifier that takes the algorithm from the token's own header instead
//! of pinning it accepts them, and the attacker writes any claims without
//! any key. Filters that compare against `"none"` case-sensitively are
//! bypassed with `None` or `NONE`.
//!
//! Rampart sends the identity's claims (fresh `iat`) under `alg: none` in
//! four spellings, where a token with an invalid signature is refused.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{jwt_credentials, report_forgery, Forgery, Told};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, TargetContext};
use crate::facts::Needs;
use crate::finding::{Category, Severity};
use crate::tokens::jwt::{self, Jwt, Signature};

pub struct AlgNone;

pub static META: CheckMeta = CheckMeta {
    check: &AlgNone,
    id: "token.jwt-alg-none",
    category: Category::Authentication,
    severity: Severity::Critical,
    summary: "JWTs accepted with alg \"none\" and no signature",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 1,
    needs: Needs::TOKENS.and(Needs::IDENTITIES),
};

/// The spellings filters forget.
const SPELLINGS: &[&str] = &["none", "None", "NONE", "nOnE"];

#[async_trait]
impl Check for AlgNone {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let credentials = jwt_credentials(ctx.facts)?;
        // The control: a wrong signature under the token's own algorithm.
        let control = |token: &Jwt, claims: &Map<String, Value>| {
            jwt::encode(
                &token.header,
                claims,
                Signature::Kept(&token.signature_segment),
            )
        };
        let forgeries = |token: &Jwt| {
            SPELLINGS
                .iter()
                .map(|spelling| {
                    let mut header = token.header.clone();
                    header.insert("alg".into(), Value::from(*spelling));
                    Forgery {
                        how: (*spelling).to_string(),
                        make: Box::new(move |claims: &Map<String, Value>| {
                            Some(jwt::encode(&header, claims, Signature::Empty))
                        }),
                    }
                })
                .collect()
        };
        report_forgery(ctx, credentials, control, forgeries, |forged| {
                let (spelling, alg) = (&forged.how, forged.alg());
            Told {
                step: format!(
                    "The same claims with `\"alg\": \"{spelling}\"` and no signature get {}'s data",
                    forged.credential.identity
                ),
                title: format!("JWT with \"alg\": \"{spelling}\" and no signature accepted"),
                description: format!(
                    "{} refuses a {alg} token with a wrong signature but accepts the same claims with `\"alg\": \
                     \"{spelling}\"` and an empty signature: the verifier takes the algorithm from the token. \
                     Anyone can write any claims without a key.{}",
                    forged.bench.point.template,
                    forged.impact_words("unsigned")
                ),
                key: "alg-none".into(),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::jwt::Jwt;

    #[test]
    fn every_spelling_makes_an_unsigned_token() {
        let mut seen = Vec::new();
        for spelling in SPELLINGS {
            let mut header = serde_json::Map::new();
            header.insert("alg".into(), Value::from(*spelling));
            let token = Jwt::parse(&jwt::encode(
                &header,
                &serde_json::Map::new(),
                Signature::Empty,
            ))
            .unwrap();
            assert!(token.signature.is_empty() && token.raw.ends_with('.'));
            assert!(token.alg().eq_ignore_ascii_case("none"));
            seen.push(token.alg().to_string());
        }
        seen.dedup();
        assert_eq!(seen.len(), SPELLINGS.len(), "distinct spellings");
    }

    use crate::checks::probe::fixtures::{scan, serve};
    use crate::checks::token::fixture::{setup, Verifier};

    const SECRET: &[u8] = b"k7Rw9-random-Qp2x-secret";

    #[tokio::test]
    async fn unsigned_tokens_are_accepted_where_the_header_picks_the_algorithm() {
        let target = serve(Verifier::TrustsNone(SECRET).router()).await;
        let scanned = scan(&META, &target, setup(SECRET, 900)).await;
        assert_eq!(scanned.keys(), vec!["alg-none"]);
    }

    #[tokio::test]
    async fn pinned_algorithms_and_unverified_targets_yield_nothing() {
        // Verified with a pinned algorithm: refused.
        let strict = serve(Verifier::Strict(SECRET).router()).await;
        assert!(scan(&META, &strict, setup(SECRET, 900))
            .await
            .drafts
            .is_empty());
        // Nothing verified at all: the control is accepted, so alg none
        // proves nothing (token.jwt-signature-unverified reports it).
        let open = serve(Verifier::Unverified.router()).await;
        let scanned = scan(&META, &open, setup(SECRET, 900)).await;
        assert!(scanned.drafts.is_empty(), "{:?}", scanned.drafts);
        assert!(
            scanned
                .skipped
                .iter()
                .any(|(_, why)| why.to_string().contains("invalid token is accepted")),
            "{:?}",
            scanned.skipped
        );
    }
}
