//! Tokens that do not expire, or are accepted after they expired.
//!
//! A stolen token is worth as long as it is accepted. A JWT without `exp`
//! never expires; one issued for weeks outlives any incident response; and
//! an API that does not check `exp` (PyJWT's `verify_exp: False`, a
//! hand-written decoder) accepts tokens that expired long ago. itsdangerous
//! tokens carry their issue time, but only `loads(token, max_age=…)` looks
//! at it.
//!
//! Rampart reads `exp` and `iat` in the identities' own JWTs; when an
//! identity's token has already expired, it checks whether the API still
//! accepts it; and with a secret recovered offline it signs an expired JWT
//! (or an itsdangerous token 45 days old) for the same subject and sees
//! whether the API takes it, where a token with a wrong signature is
//! refused.

use std::sync::Arc;

use async_trait::async_trait;

use super::weak_secret::{fetch_link, resign_jwt};
use super::{
    corrupted, credentials, forged_accepted, forgery_draft, send_genuine, shows, tampered,
    Credential,
};
use crate::checks::probe::{same_response, success_json};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn, Skip, TargetContext};
use crate::engine::{EngineError, Exchange};
use crate::facts::tokens::{Format, Place};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};
use crate::tokens::jwt::Jwt;

pub struct Expiry;

pub static META: CheckMeta = CheckMeta {
    check: &Expiry,
    id: "token.expiry",
    category: Category::Authentication,
    severity: Severity::High,
    summary: "Tokens without expiry, with long lifetimes, or accepted after they expired",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::TOKEN_SECRETS.and(Needs::IDENTITIES),
};

/// Longer than this, a token's lifetime is reported.
pub const MAX_LIFETIME_SECONDS: i64 = 24 * 3600;
/// How old a forged itsdangerous token is: more than Flask's default
/// session lifetime (31 days).
const OLD_TOKEN_DAYS: i64 = 45;

fn days(seconds: i64) -> String {
    format!("{:.1} days", seconds as f64 / 86400.0)
}

#[async_trait]
impl Check for Expiry {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let facts = ctx.facts;
        let credentials = credentials(facts);
        let links: Vec<_> = facts
            .tokens
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t.place, Place::Link { .. }) && t.signed().is_some())
            .collect();
        if credentials.is_empty() && links.is_empty() {
            return Err(Skip::Missing(
                "no token among the identities' credentials or links",
            ));
        }
        let now = chrono::Utc::now().timestamp();
        let mut drafts: Vec<FindingDraft> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let mut keep = |draft: FindingDraft, drafts: &mut Vec<FindingDraft>| {
            if !keys.contains(&draft.key) {
                keys.push(draft.key.clone());
                drafts.push(draft);
            }
        };
        for credential in &credentials {
            let Some(token) = credential.jwt() else {
                if let Some(draft) = old_signed_credential(ctx, credential, now).await? {
                    keep(draft, &mut drafts);
                }
                continue;
            };
            let place = credential.token.place.describe();
            // Shown on a request that carried the token, when there is one.
            let carrier = facts
                .tokens
                .points_of(credential.identity)
                .first()
                .map_or(ctx.root, |point| &point.genuine);
            if let Some(draft) = lifetime_draft(carrier, token, &place) {
                keep(draft, &mut drafts);
            }
            if let Some(exp) = token.time_claim("exp").filter(|exp| *exp < now) {
                if let Some(draft) = expired_genuine(ctx, credential, now - exp).await? {
                    keep(draft, &mut drafts);
                }
            }
            if let Some(draft) = expired_forged(ctx, credential, now).await? {
                keep(draft, &mut drafts);
            }
        }
        for (index, token) in links {
            let (
                Place::Link {
                    owner, url, param, ..
                },
                Some(signed),
                Some(secret),
            ) = (&token.place, token.signed(), facts.tokens.secret_of(index))
            else {
                continue;
            };
            if signed.timestamp.is_none() {
                continue;
            }
            let old = now - OLD_TOKEN_DAYS * 86400;
            let Some(forged) = signed.resigned(&secret.scheme, &secret.secret, Some(old)) else {
                continue;
            };
            let genuine = fetch_link(ctx, owner, url, param, &signed.raw).await?;
            if !success_json(&genuine) {
                continue;
            }
            let control = fetch_link(ctx, owner, url, param, &corrupted(&signed.raw)).await?;
            if (200..300).contains(&control.response.status) {
                continue;
            }
            let first = fetch_link(ctx, owner, url, param, &forged).await?;
            let replay = fetch_link(ctx, owner, url, param, &forged).await?;
            if same_response(&genuine, &first) && same_response(&genuine, &replay) {
                let draft = FindingDraft::at_exchange(&first, Severity::High, Confidence::Confirmed)
                    .parameter(param.clone())
                    .title(format!("Signed links accepted {OLD_TOKEN_DAYS} days after issue (no max_age)"))
                    .description(format!(
                        "{owner}'s signed link, re-signed with the recovered secret ({}) and dated {OLD_TOKEN_DAYS} days \
                         ago, still opens the same data: the API verifies the signature but sets no maximum age, so \
                         every link it ever issued works forever.",
                        secret.masked()
                    ))
                    .key(format!("max-age:{param}"))
                    .evidence(format!("{owner}'s signed link as issued"), &genuine, None)
                    .evidence("Control: a corrupted signature is refused", &control, None)
                    .evidence(format!("The link dated {OLD_TOKEN_DAYS} days ago opens the same data"), &first, None)
                    .evidence("Replayed on a fresh URL: the same data again", &replay, None);
                keep(draft, &mut drafts);
            }
        }
        Ok(drafts)
    }
}

/// What a JWT's own claims say about its lifetime: no `exp` at all
/// (medium), or `exp` more than a day after `iat` (low), shown on
/// `carrier`, a request that sent the token. Read from the token alone, so
/// firm rather than confirmed.
fn lifetime_draft(carrier: &Arc<Exchange>, token: &Jwt, place: &str) -> Option<FindingDraft> {
    let alg = token.alg();
    let (severity, title, description, key) = match (token.time_claim("exp"), token.time_claim("iat")) {
        (None, _) => (
            Severity::Medium,
            format!("{alg} JWT without an expiry (`exp`)"),
            format!(
                "The {alg} JWT in {place} has no `exp` claim: unless the API keeps its own record of \
                 sessions, it is valid forever, and so is any copy of it."
            ),
            "no-exp",
        ),
        (Some(exp), Some(iat)) if exp - iat > MAX_LIFETIME_SECONDS => (
            Severity::Low,
            format!("{alg} JWT valid for {}", days(exp - iat)),
            format!(
                "The {alg} JWT in {place} was issued for {} (`exp` − `iat`): a stolen copy stays useful \
                 that long. Access tokens usually live minutes; long sessions belong to refresh tokens \
                 that can be revoked.",
                days(exp - iat)
            ),
            "lifetime",
        ),
        _ => return None,
    };
    Some(
        FindingDraft::at_exchange(carrier, severity, Confidence::Firm)
            .title(title)
            .description(description)
            .key(key)
            .evidence("A request that carries the token", carrier, None),
    )
}

/// An identity's JWT that already expired, still accepted.
async fn expired_genuine(
    ctx: &TargetContext<'_>,
    credential: &Credential<'_>,
    ago: i64,
) -> Result<Option<FindingDraft>, EngineError> {
    for point in ctx.facts.tokens.points_of(credential.identity) {
        let first = send_genuine(ctx, credential.identity, point).await?;
        if !shows(ctx.facts, credential.identity, &point.template, &first) {
            continue;
        }
        let replay = send_genuine(ctx, credential.identity, point).await?;
        if !shows(ctx.facts, credential.identity, &point.template, &replay) {
            continue;
        }
        let hours = ago as f64 / 3600.0;
        return Ok(Some(
            FindingDraft::at_exchange(&first, Severity::High, Confidence::Confirmed)
                .title(format!("Expired JWT accepted ({hours:.1} hours after its exp)"))
                .description(format!(
                    "{}'s token expired {hours:.1} hours ago (`exp`) and {} still returns its data: the API does not \
                     check expiry, so a stolen token never stops working.",
                    credential.identity, point.template
                ))
                .key("expired-accepted")
                .evidence(format!("{}'s expired token gets its data", credential.identity), &first, None)
                .evidence("Again, on a fresh URL", &replay, None),
        ));
    }
    Ok(None)
}

/// A JWT for the same subject that expired an hour ago, signed with the
/// recovered secret.
async fn expired_forged(
    ctx: &TargetContext<'_>,
    credential: &Credential<'_>,
    now: i64,
) -> Result<Option<FindingDraft>, EngineError> {
    let (Some(token), Some(secret)) = (
        credential.jwt(),
        ctx.facts.tokens.secret_of(credential.index),
    ) else {
        return Ok(None);
    };
    let mut claims = token.claims.clone();
    claims.insert("iat".into(), (now - 7200).into());
    claims.insert("exp".into(), (now - 3600).into());
    claims.remove("nbf");
    let Some(forged) = resign_jwt(token, &claims, secret) else {
        return Ok(None);
    };
    let Some((bench, accepted)) =
        forged_accepted(ctx, credential, &tampered(ctx, token), &forged).await?
    else {
        return Ok(None);
    };
    let step = format!(
        "A token for {} that expired an hour ago, signed with the recovered secret ({}), gets its data",
        credential.identity,
        secret.masked()
    );
    Ok(Some(
        forgery_draft(Severity::High, &bench, &accepted, &step, None)
            .title("Expired JWTs accepted (exp not checked)")
            .description(format!(
                "A {} token for {} whose `exp` passed an hour ago was accepted by {}, where a token with a wrong \
                 signature is refused: the API verifies signatures but not expiry, so a stolen token never stops \
                 working.",
                token.alg(),
                credential.identity,
                bench.point.template
            ))
            .key("expired-accepted"),
    ))
}

/// A signed session cookie dated 45 days ago, re-signed with the
/// recovered secret.
async fn old_signed_credential(
    ctx: &TargetContext<'_>,
    credential: &Credential<'_>,
    now: i64,
) -> Result<Option<FindingDraft>, EngineError> {
    let (Format::Signed(signed), Some(secret)) = (
        &credential.token.format,
        ctx.facts.tokens.secret_of(credential.index),
    ) else {
        return Ok(None);
    };
    if signed.timestamp.is_none() {
        return Ok(None);
    }
    let Some(forged) = signed.resigned(
        &secret.scheme,
        &secret.secret,
        Some(now - OLD_TOKEN_DAYS * 86400),
    ) else {
        return Ok(None);
    };
    let Some((bench, accepted)) =
        forged_accepted(ctx, credential, &corrupted(&signed.raw), &forged).await?
    else {
        return Ok(None);
    };
    let step = format!(
        "{}'s {} dated {OLD_TOKEN_DAYS} days ago gets its data",
        credential.identity,
        credential.token.kind()
    );
    Ok(Some(
        forgery_draft(Severity::High, &bench, &accepted, &step, None)
            .title(format!("{} accepted {OLD_TOKEN_DAYS} days after issue", credential.token.kind()))
            .description(format!(
                "{}'s {}, re-signed with the recovered secret ({}) and dated {OLD_TOKEN_DAYS} days ago, is still \
                 accepted: the API sets no maximum age (or one longer than {OLD_TOKEN_DAYS} days).",
                credential.identity,
                credential.token.kind(),
                secret.masked()
            ))
            .key("max-age:credential"),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::exchange;
    use crate::tokens::jwt::{encode, Signature};

    fn token(claims: serde_json::Value) -> Jwt {
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let (Some(header), Some(claims)) = (header.as_object(), claims.as_object()) else {
            panic!("objects")
        };
        Jwt::parse(&encode(
            header,
            claims,
            Signature::Hmac(crate::tokens::crack::Digest::Sha256, b"k"),
        ))
        .expect("a JWT")
    }

    #[test]
    fn lifetimes_are_judged_from_the_claims() {
        let root = exchange("http://h/?rampart_cb=1", None, 200, &[], "{}");
        let never = lifetime_draft(
            &root,
            &token(json!({"sub": "1", "iat": 1_700_000_000})),
            "x",
        )
        .unwrap();
        assert_eq!(
            (never.head.severity, never.key.as_str()),
            (Severity::Medium, "no-exp")
        );
        assert_eq!(never.head.confidence, Confidence::Firm);
        let month = lifetime_draft(
            &root,
            &token(json!({"iat": 1_700_000_000, "exp": 1_702_592_000})),
            "x",
        )
        .unwrap();
        assert_eq!(
            (month.head.severity, month.key.as_str()),
            (Severity::Low, "lifetime")
        );
        assert!(
            month.head.title.contains("30.0 days"),
            "{}",
            month.head.title
        );
        let short = token(json!({"iat": 1_700_000_000, "exp": 1_700_000_900}));
        assert!(lifetime_draft(&root, &short, "x").is_none());
        // Without iat the lifetime is unknown: nothing is claimed.
        assert!(lifetime_draft(&root, &token(json!({"exp": 1_702_592_000})), "x").is_none());
    }

    #[tokio::test]
    async fn an_expired_token_signed_with_the_recovered_secret_is_accepted_when_exp_is_ignored() {
        use crate::checks::probe::fixtures::{scan, serve};
        use crate::checks::token::fixture::{setup, Verifier};
        let lax = serve(Verifier::IgnoresExpiry(b"changeme").router()).await;
        let scanned = scan(&META, &lax, setup(b"changeme", 900)).await;
        assert_eq!(
            scanned.keys(),
            vec!["expired-accepted"],
            "{:?}",
            scanned.drafts
        );
        let strict = serve(Verifier::Strict(b"changeme").router()).await;
        let scanned = scan(&META, &strict, setup(b"changeme", 900)).await;
        assert!(scanned.drafts.is_empty(), "{:?}", scanned.drafts);
        // A 30-day token is reported from its claims alone.
        let scanned = scan(&META, &strict, setup(b"changeme", 30 * 86400)).await;
        assert_eq!(scanned.keys(), vec!["lifetime"]);
    }
}
