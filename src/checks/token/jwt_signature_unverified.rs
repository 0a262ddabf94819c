//! JWTs accepted whatever their signature.
//!
//! A JWT's claims are only base64: anyone can change `sub` to another
//! user's id. The signature is what stops that — unless the API decodes
//! without verifying (`jwt.decode(token, options={"verify_signature":
//! False})`, `jwt.decode` instead of `jwt.verify` in Node), in which case
//! every account is one edited token away.
//!
//! Rampart changes the claims of an identity's own token (a fresh `iat`)
//! and keeps its old signature, then also strips the signature entirely;
//! either accepted with the identity's data, where a garbage token is
//! refused, means signatures are not verified.

use async_trait::async_trait;

use super::{
    accepted_twice, bench, forgery_draft, garbage, impact, jwt_credentials, refreshed, tampered,
};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, TargetContext};
use crate::facts::Needs;
use crate::finding::{Category, Severity};
use crate::tokens::jwt::{self, Signature};

pub struct SignatureUnverified;

pub static META: CheckMeta = CheckMeta {
    check: &SignatureUnverified,
    id: "token.jwt-signature-unverified",
    category: Category::Authentication,
    severity: Severity::Critical,
    summary: "JWTs accepted with changed claims or without a signature (signature not verified)",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 1,
    needs: Needs::TOKENS.and(Needs::IDENTITIES),
};

#[async_trait]
impl Check for SignatureUnverified {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let mut skip = None;
        for credential in jwt_credentials(ctx.facts)? {
            let Some(token) = credential.jwt() else {
                continue;
            };
            let bench = match bench(ctx, &credential, &garbage(ctx), false).await? {
                Ok(bench) => bench,
                Err(reason) => {
                    skip.get_or_insert(reason);
                    continue;
                }
            };
            let kept = tampered(ctx, token);
            let stripped = jwt::encode(
                &token.header,
                &refreshed(ctx, &token.claims),
                Signature::Empty,
            );
            for (forged, how, key) in [
                (kept, "changed claims under the old signature", "kept"),
                (stripped, "no signature at all", "stripped"),
            ] {
                let Some(accepted) =
                    accepted_twice(ctx, &credential, bench.point, &forged, credential.identity)
                        .await?
                else {
                    continue;
                };
                let make = |claims: &serde_json::Map<String, serde_json::Value>| {
                    Some(match key {
                        "kept" => jwt::encode(
                            &token.header,
                            claims,
                            Signature::Kept(&token.signature_segment),
                        ),
                        _ => jwt::encode(&token.header, claims, Signature::Empty),
                    })
                };
                let shown = impact(
                    ctx,
                    &credential,
                    bench.point,
                    &refreshed(ctx, &token.claims),
                    make,
                )
                .await?;
                let step = format!("{}'s token with {how} is accepted", credential.identity);
                let other = shown
                    .as_ref()
                    .map(|(other, _)| {
                        format!(" A token edited to name {other} returned {other}'s data.")
                    })
                    .unwrap_or_default();
                let draft = forgery_draft(Severity::Critical, &bench, &accepted, &step, shown.as_ref())
                    .title(format!("JWT signature not verified: a token with {how} is accepted"))
                    .description(format!(
                        "The {} JWT in {} was accepted by {} with {how}, where a garbage token is refused: the API \
                         reads the claims without verifying the signature, so anyone can write any claims.{other}",
                        token.alg(),
                        credential.token.place.describe(),
                        bench.point.template
                    ))
                    .key(key);
                return Ok(vec![draft]);
            }
            return Ok(Vec::new());
        }
        Err(skip.unwrap_or(crate::checks::Skip::Missing(
            "no caller-specific answer to test the token on",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{scan, serve};
    use crate::checks::token::fixture::{setup, Verifier};
    use crate::finding::Confidence;

    #[tokio::test]
    async fn edited_claims_under_the_old_signature_are_accepted_without_verification() {
        let target = serve(Verifier::Unverified.router()).await;
        let scanned = scan(&META, &target, setup(b"k7Rw9-random-Qp2x-secret", 900)).await;
        assert_eq!(scanned.keys(), vec!["kept"]);
        assert_eq!(scanned.drafts[0].confidence, Confidence::Confirmed);
        assert!(scanned.drafts[0]
            .evidence
            .iter()
            .any(|e| e.step.contains("naming bob")));
    }

    #[tokio::test]
    async fn a_verifying_target_yields_nothing() {
        let target = serve(Verifier::Strict(b"k7Rw9-random-Qp2x-secret").router()).await;
        let scanned = scan(&META, &target, setup(b"k7Rw9-random-Qp2x-secret", 900)).await;
        assert!(scanned.drafts.is_empty(), "{:?}", scanned.drafts);
    }
}
