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
use serde_json::Value;

use super::{accepted_twice, bench, forgery_draft, impact, jwt_credentials, refreshed, tampered};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip, TargetContext};
use crate::facts::Needs;
use crate::finding::{Category, Severity};
use crate::tokens::jwt::{self, Signature};

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
        let mut skip = None;
        for credential in jwt_credentials(ctx.facts)? {
            let Some(token) = credential.jwt() else {
                continue;
            };
            // The control: a wrong signature under the token's own algorithm.
            let bench = match bench(ctx, &credential, &tampered(ctx, token), true).await? {
                Ok(bench) => bench,
                Err(reason) => {
                    skip.get_or_insert(reason);
                    continue;
                }
            };
            let claims = refreshed(ctx, &token.claims);
            for spelling in SPELLINGS {
                let mut header = token.header.clone();
                header.insert("alg".into(), Value::from(*spelling));
                let forged = jwt::encode(&header, &claims, Signature::Empty);
                let Some(accepted) =
                    accepted_twice(ctx, &credential, bench.point, &forged, credential.identity)
                        .await?
                else {
                    continue;
                };
                let make = |claims: &serde_json::Map<String, Value>| {
                    Some(jwt::encode(&header, claims, Signature::Empty))
                };
                let shown = impact(ctx, &credential, bench.point, &claims, make).await?;
                let other = shown
                    .as_ref()
                    .map(|(other, _)| {
                        format!(" An unsigned token naming {other} returned {other}'s data.")
                    })
                    .unwrap_or_default();
                let step = format!(
                    "The same claims with `\"alg\": \"{spelling}\"` and no signature get {}'s data",
                    credential.identity
                );
                let draft = forgery_draft(Severity::Critical, &bench, &accepted, &step, shown.as_ref())
                    .title(format!("JWT with \"alg\": \"{spelling}\" and no signature accepted"))
                    .description(format!(
                        "{} refuses a {} token with a wrong signature but accepts the same claims with `\"alg\": \
                         \"{spelling}\"` and an empty signature: the verifier takes the algorithm from the token. \
                         Anyone can write any claims without a key.{other}",
                        bench.point.template,
                        token.alg()
                    ))
                    .key("alg-none");
                return Ok(vec![draft]);
            }
            return Ok(Vec::new());
        }
        Err(skip.unwrap_or(Skip::Missing(
            "no caller-specific answer to test the token on",
        )))
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
