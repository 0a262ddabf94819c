//! Token signing secrets weak enough to recover offline.
//!
//! An HMAC-signed token (an HS256 JWT, Flask's session cookie, an
//! itsdangerous link) is only as secret as the key behind it. The token
//! itself is the test oracle: an attacker holding one can try billions of
//! candidate keys offline, without sending a request, and a tutorial
//! default, a dictionary word or a six-digit number falls in seconds. With
//! the key, they sign whatever they like — a token naming any user, a
//! session cookie with `is_admin` set, a link to anyone's report.
//!
//! Rampart recovers the secret from the tokens the scan saw, then proves
//! it harmlessly: a token for the same subject, re-signed with the
//! recovered secret, is accepted (and the same again naming the second
//! identity returns that identity's data, with a read). The secret itself
//! never appears in a report: only its first and last characters.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{
    corrupted, credentials, forged_accepted, forgery_draft, fresh_timestamp, impact, link_with,
    refreshed, tampered, Credential, Forger,
};
use crate::checks::probe::same_response;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip, TargetContext};
use crate::engine::{Caller, EngineError, Exchange, Probe};
use crate::facts::tokens::{Format, Place, Recovered, SeenToken};
use crate::facts::{Needs, TargetFacts};
use crate::finding::{Category, Confidence, FindingDraft, Severity};
use crate::tokens::crack::{self, Scheme};
use crate::tokens::itsdangerous;
use crate::tokens::jwt::{self, Jwt, Signature};

pub struct WeakSecret;

pub static META: CheckMeta = CheckMeta {
    check: &WeakSecret,
    id: "token.weak-secret",
    category: Category::Cryptography,
    severity: Severity::Critical,
    summary: "Token signing secret recovered offline (HS256 JWT, Flask session, itsdangerous)",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::TOKEN_SECRETS.and(Needs::IDENTITIES),
};

/// A JWT re-signed with the recovered secret over `claims`.
pub(crate) fn resign_jwt(
    token: &Jwt,
    claims: &Map<String, Value>,
    secret: &Recovered,
) -> Option<String> {
    let digest = token.hmac_digest()?;
    Some(jwt::encode(
        &token.header,
        claims,
        Signature::Hmac(digest, &secret.secret),
    ))
}

/// An itsdangerous value's JSON payload signed anew, with `timestamp`
/// for timestamped forms.
pub(crate) fn resign_json(
    secret: &Recovered,
    json: &Map<String, Value>,
    timestamp: Option<i64>,
) -> Option<String> {
    itsdangerous::dumps(
        &Value::Object(json.clone()),
        timestamp,
        &secret.scheme,
        &secret.secret,
    )
}

/// Where the secret could have come from, in words.
fn source(secret: &[u8]) -> String {
    if !secret.is_empty() && secret.iter().all(u8::is_ascii_digit) {
        format!("a {}-digit number", secret.len())
    } else if crack::bundled_words().iter().any(|w| w == secret) {
        "Rampart's list of default and common secrets".to_string()
    } else {
        "your wordlist".to_string()
    }
}

fn scheme_words(scheme: &Scheme) -> String {
    match scheme {
        Scheme::Hmac(digest) => format!("HMAC-{digest:?}").to_uppercase(),
        Scheme::Itsdangerous { derivation, salt } => {
            format!("itsdangerous HMAC-SHA1, salt `{salt}`, key derivation {derivation:?}")
        }
    }
}

/// The finding's wording, whatever the proof.
fn draft_words(
    draft: FindingDraft,
    token: &SeenToken,
    secret: &Recovered,
    facts: &TargetFacts,
    proof: &str,
) -> FindingDraft {
    let masked = secret.masked();
    let crack = facts.tokens.crack.clone().unwrap_or_default();
    let what = match (&token.format, token.kind().as_str()) {
        (_, "Flask session cookie") => "Flask's SECRET_KEY".to_string(),
        (Format::Jwt(_), _) => "the JWT signing secret".to_string(),
        _ => "the signing secret".to_string(),
    };
    draft
        .title(format!("{} signed with a guessable secret ({masked})", token.kind()))
        .description(format!(
            "The {} in {} is signed with {what}, recovered offline from the token alone: `{masked}`, {} \
             characters, from {} ({}; {} guesses in {:.1} s). With it anyone can sign tokens this API accepts as \
             genuine. {proof}",
            token.kind(),
            token.place.describe(),
            secret.secret.len(),
            source(&secret.secret),
            scheme_words(&secret.scheme),
            crack.tried,
            crack.seconds,
        ))
        .key(format!("{}:{}", token.kind(), scheme_words(&secret.scheme)))
}

#[async_trait]
impl Check for WeakSecret {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let facts = ctx.facts;
        if !facts
            .tokens
            .tokens
            .iter()
            .any(|t| !t.crack_targets().is_empty())
        {
            return Err(Skip::Missing("no HMAC-signed token seen"));
        }
        let mut drafts = Vec::new();
        let mut proven: Vec<(Scheme, Vec<u8>)> = Vec::new();
        // Credentials first: they can be proven online.
        let mut order: Vec<&Recovered> = facts.tokens.recovered.iter().collect();
        order.sort_by_key(|r| match facts.tokens.tokens[r.token].place {
            Place::Credential { .. } => 0,
            Place::Link { .. } => 1,
            _ => 2,
        });
        for secret in order {
            let key = (secret.scheme.clone(), secret.secret.clone());
            if proven.contains(&key) {
                continue;
            }
            let token = &facts.tokens.tokens[secret.token];
            let draft = match &token.place {
                Place::Credential { .. } => {
                    let credential = credentials(facts)
                        .into_iter()
                        .find(|c| c.index == secret.token);
                    match credential {
                        Some(credential) => prove_credential(ctx, &credential, secret).await?,
                        None => None,
                    }
                }
                Place::Link {
                    owner, url, param, ..
                } => prove_link(ctx, token, secret, owner, url, param).await?,
                _ => None,
            };
            let draft = match draft {
                Some(draft) => draft,
                None => offline_only(ctx.root, token, secret, facts),
            };
            drafts.push(draft);
            proven.push(key);
        }
        Ok(drafts)
    }
}

/// Without an online proof: the signature verified offline with the
/// recovered secret, which is certain, but what the API accepts was not
/// shown.
fn offline_only(
    root: &Arc<Exchange>,
    token: &SeenToken,
    secret: &Recovered,
    facts: &TargetFacts,
) -> FindingDraft {
    let draft = FindingDraft::at_exchange(root, Severity::High, Confidence::Firm).evidence(
        "The target's base URL",
        root,
        None,
    );
    draft_words(
        draft,
        token,
        secret,
        facts,
        "The token's signature checks out with the recovered secret; no endpoint was found where a re-signed token could be tried harmlessly.",
    )
}

/// A credential token: re-signed for the same subject and accepted, then
/// naming the second identity.
async fn prove_credential(
    ctx: &TargetContext<'_>,
    credential: &Credential<'_>,
    secret: &Recovered,
) -> Result<Option<FindingDraft>, EngineError> {
    let facts = ctx.facts;
    let now = chrono::Utc::now().timestamp();
    let (control, forged, claims, make): (String, Option<String>, Map<String, Value>, Forger) =
        match &credential.token.format {
            Format::Jwt(token) => {
                let claims = refreshed(ctx, &token.claims);
                let forged = resign_jwt(token, &claims, secret);
                let (token, secret) = (token.clone(), secret.clone());
                (
                    tampered(ctx, &token),
                    forged,
                    claims,
                    Box::new(move |claims| resign_jwt(&token, claims, &secret)),
                )
            }
            Format::Signed(signed) => {
                let timestamp = signed.timestamp.map(|issued| fresh_timestamp(issued, now));
                let forged = signed.resigned(&secret.scheme, &secret.secret, timestamp);
                let claims = match signed.json() {
                    Some(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                let secret = secret.clone();
                (
                    corrupted(&signed.raw),
                    forged,
                    claims,
                    Box::new(move |claims| resign_json(&secret, claims, timestamp)),
                )
            }
        };
    let Some(forged) = forged else {
        return Ok(None);
    };
    let Some((bench, accepted)) = forged_accepted(ctx, credential, &control, &forged).await? else {
        return Ok(None);
    };
    let shown = if claims.is_empty() {
        None
    } else {
        impact(ctx, credential, bench.point, &claims, make).await?
    };
    let step = format!(
        "A token re-signed with the recovered secret ({}) gets {}'s data",
        secret.masked(),
        credential.identity
    );
    let proof = match &shown {
        Some((other, _)) => format!(
            "Proven with reads only: a token re-signed for {} was accepted, and one naming {other} returned {other}'s data.",
            credential.identity
        ),
        None => format!(
            "Proven with reads only: a token re-signed for {} was accepted.",
            credential.identity
        ),
    };
    let draft = forgery_draft(Severity::Critical, &bench, &accepted, &step, shown.as_ref());
    Ok(Some(draft_words(
        draft,
        credential.token,
        secret,
        facts,
        &proof,
    )))
}

/// Fetches a link as its owner on a fresh URL with `value` as its token.
pub(crate) async fn fetch_link(
    ctx: &TargetContext<'_>,
    owner: &str,
    url: &url::Url,
    param: &str,
    value: &str,
) -> Result<Arc<Exchange>, EngineError> {
    let probe = Probe::get(link_with(ctx, url, param, value))
        .as_caller(Caller::Identity(owner.to_string()));
    ctx.engine.send(probe).await
}

/// A signed link: the same payload re-signed opens it; a payload naming
/// the other identity's object opens theirs.
async fn prove_link(
    ctx: &TargetContext<'_>,
    token: &SeenToken,
    secret: &Recovered,
    owner: &str,
    url: &url::Url,
    param: &str,
) -> Result<Option<FindingDraft>, EngineError> {
    let Some(signed) = token.signed() else {
        return Ok(None);
    };
    let now = chrono::Utc::now().timestamp();
    let timestamp = signed.timestamp.map(|issued| fresh_timestamp(issued, now));
    let Some(forged) = signed.resigned(&secret.scheme, &secret.secret, timestamp) else {
        return Ok(None);
    };
    let genuine = fetch_link(ctx, owner, url, param, &signed.raw).await?;
    if !crate::checks::probe::success_json(&genuine) {
        return Ok(None);
    }
    let control = fetch_link(ctx, owner, url, param, &corrupted(&signed.raw)).await?;
    if same_response(&genuine, &control) || (200..300).contains(&control.response.status) {
        return Ok(None);
    }
    let first = fetch_link(ctx, owner, url, param, &forged).await?;
    let replay = fetch_link(ctx, owner, url, param, &forged).await?;
    if !(same_response(&genuine, &first) && same_response(&genuine, &replay)) {
        return Ok(None);
    }
    // Impact: the other identity's link on the same endpoint, whose payload
    // differs; A signs B's payload and reads B's object.
    let mut shown: Option<(String, Arc<Exchange>)> = None;
    let other_link = ctx.facts.tokens.tokens.iter().find_map(|t| match &t.place {
        Place::Link {
            owner: o,
            url: u,
            param: p,
            ..
        } if o != owner && u.path() == url.path() && p == param => {
            Some((o.clone(), u.clone(), t.signed()?.clone()))
        }
        _ => None,
    });
    if let (Some((other, other_url, theirs)), Some(Value::Object(mine))) =
        (other_link, signed.json())
    {
        if let Some(Value::Object(their_claims)) = theirs.json() {
            let renamed =
                super::claims_naming(ctx.facts, &mine, owner, &other, Some(&their_claims));
            if let Some(forged_other) = renamed.and_then(|c| resign_json(secret, &c, timestamp)) {
                // The other's own link, fetched by them: what their data looks like.
                let theirs_genuine =
                    fetch_link(ctx, &other, &other_url, param, &theirs.raw).await?;
                let answer = fetch_link(ctx, owner, &other_url, param, &forged_other).await?;
                if crate::checks::probe::success_json(&answer)
                    && same_response(&theirs_genuine, &answer)
                {
                    shown = Some((other, answer));
                }
            }
        }
    }
    let step = format!(
        "The link re-signed with the recovered secret ({}) opens the same data",
        secret.masked()
    );
    let mut draft = FindingDraft::at_exchange(&first, Severity::High, Confidence::Confirmed)
        .parameter(param.to_string())
        .evidence(format!("{owner}'s signed link as issued"), &genuine, None)
        .evidence(
            format!(
                "Control: the link with a corrupted signature is refused (HTTP {})",
                control.response.status
            ),
            &control,
            None,
        )
        .evidence(step, &first, None)
        .evidence(
            "Replayed on a fresh URL: the same data again",
            &replay,
            None,
        );
    let proof = match &shown {
        Some((other, answer)) => {
            draft = draft.evidence(format!("A link signed for {other}'s object, fetched by {owner}, returns {other}'s data"), answer, None);
            format!("Proven with reads only: the link re-signed with it opened the same data, and one naming {other}'s object, fetched by {owner}, returned {other}'s data.")
        }
        None => {
            "Proven with reads only: the link re-signed with it opened the same data.".to_string()
        }
    };
    Ok(Some(draft_words(draft, token, secret, ctx.facts, &proof)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_numbers_lists_and_wordlists() {
        assert_eq!(source(b"493817"), "a 6-digit number");
        assert!(source(b"changeme").starts_with("Rampart's list"));
        assert_eq!(source(b"zebra-quartz-1987"), "your wordlist");
    }

    #[test]
    fn resigned_jwts_verify_with_the_secret() {
        let token = Jwt::parse("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwibmFtZSI6ImFsaWNlIn0.zt_M5YceJZlb9thUZyp6bDyEOjE8WPJMQ5ZpdAgFkOE").unwrap();
        let secret = Recovered {
            token: 0,
            scheme: Scheme::Hmac(crack::Digest::Sha256),
            secret: b"secret".to_vec(),
        };
        let mut claims = token.claims.clone();
        claims.insert("sub".into(), "2".into());
        let forged = Jwt::parse(&resign_jwt(&token, &claims, &secret).unwrap()).unwrap();
        let target = forged.crack_target().unwrap();
        assert!(crack::verify(
            &target.scheme,
            b"secret",
            &target.message,
            &target.signature
        ));
        assert_eq!(forged.claims["sub"], "2");
    }

    use crate::checks::probe::fixtures::{assert_contains, scan, serve};
    use crate::checks::token::fixture::{setup, Verifier};

    #[tokio::test]
    async fn a_dictionary_secret_is_recovered_and_a_token_naming_bob_reads_his_data() {
        let target = serve(Verifier::Strict(b"changeme").router()).await;
        let scanned = scan(&META, &target, setup(b"changeme", 900)).await;
        assert_eq!(scanned.drafts.len(), 1, "{:?}", scanned.drafts);
        let draft = &scanned.drafts[0];
        assert_eq!(
            (draft.severity, draft.confidence),
            (Severity::Critical, Confidence::Confirmed)
        );
        assert!(draft.title.contains("(c…e)"), "{}", draft.title);
        assert_contains(&draft.description, "naming bob returned bob's data");
        assert!(
            !format!("{draft:?}").contains("changeme\""),
            "the secret is never in a draft's words"
        );
    }

    #[tokio::test]
    async fn a_random_secret_yields_nothing() {
        let target = serve(Verifier::Strict(b"k7Rw9-random-Qp2x-secret").router()).await;
        let scanned = scan(&META, &target, setup(b"k7Rw9-random-Qp2x-secret", 900)).await;
        assert!(scanned.drafts.is_empty(), "{:?}", scanned.drafts);
    }
}
