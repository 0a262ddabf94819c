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

use super::{garbage, jwt_credentials, report_forgery, Forgery, Told};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, TargetContext};
use crate::facts::Needs;
use crate::finding::{Category, Severity};
use serde_json::{Map, Value};

use crate::tokens::jwt::{self, Jwt, Signature};

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
        let credentials = jwt_credentials(ctx.facts)?;
        let garbage = garbage(ctx);
        let forgeries = |token: &Jwt| {
            let (header, kept) = (token.header.clone(), token.signature_segment.clone());
            let stripped_header = token.header.clone();
            vec![
                Forgery {
                    how: "kept".into(),
                    make: Box::new(move |claims: &Map<String, Value>| {
                        Some(jwt::encode(&header, claims, Signature::Kept(&kept)))
                    }),
                },
                Forgery {
                    how: "stripped".into(),
                    make: Box::new(move |claims: &Map<String, Value>| {
                        Some(jwt::encode(&stripped_header, claims, Signature::Empty))
                    }),
                },
            ]
        };
        let control = |_: &Jwt, _: &Map<String, Value>| garbage.clone();
        report_forgery(ctx, credentials, control, forgeries, |forged| {
            let how = match forged.how.as_str() {
                "kept" => "changed claims under the old signature",
                _ => "no signature at all",
            };
                let alg = forged.alg();
            Told {
                step: format!(
                    "{}'s token with {how} is accepted",
                    forged.credential.identity
                ),
                title: format!("JWT signature not verified: a token with {how} is accepted"),
                description: format!(
                    "The {alg} JWT in {} was accepted by {} with {how}, where a garbage token is refused: the API \
                     reads the claims without verifying the signature, so anyone can write any claims.{}",
                    forged.credential.token.place.describe(),
                    forged.bench.point.template,
                    forged.impact_words("edited the same way")
                ),
                key: forged.how.clone(),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{assert_contains, scan, serve};
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
    async fn a_token_without_its_signature_is_accepted_where_only_present_signatures_are_checked() {
        let target = serve(Verifier::TrustsUnsigned(b"k7Rw9-random-Qp2x-secret").router()).await;
        let scanned = scan(&META, &target, setup(b"k7Rw9-random-Qp2x-secret", 900)).await;
        assert_eq!(scanned.keys(), vec!["stripped"]);
        let draft = &scanned.drafts[0];
        assert_eq!(draft.confidence, Confidence::Confirmed);
        assert_contains(&draft.title, "no signature at all");
        assert!(draft.evidence.iter().any(|e| e.step.contains("naming bob")));
    }

    #[tokio::test]
    async fn a_verifying_target_yields_nothing() {
        let target = serve(Verifier::Strict(b"k7Rw9-random-Qp2x-secret").router()).await;
        let scanned = scan(&META, &target, setup(b"k7Rw9-random-Qp2x-secret", 900)).await;
        assert!(scanned.drafts.is_empty(), "{:?}", scanned.drafts);
    }
}
