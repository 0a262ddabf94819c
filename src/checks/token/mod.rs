//! Tokens and sessions: what the signed tokens an API hands out are worth
//! to an attacker — JWTs whose signature, algorithm, key id or expiry is not
//! checked, HMAC secrets weak enough to recover offline (JWTs, Flask
//! session cookies, itsdangerous tokens), and sessions that survive logout.
//!
//! Every check here is target-wide and works from the token facts
//! ([`crate::facts::TokenFacts`]): the tokens learned once, the keys the API
//! publishes, the secrets recovered offline and the *probe points* —
//! read-only endpoints whose answer is the caller's own data. A forgery is
//! tested on a probe point where the identity's genuine token gets its
//! data and an invalid token does not (the control); it counts as accepted
//! only when it gets the same identity's data (or, for impact, the second
//! identity's), and it is replayed on a fresh URL before it is reported
//! confirmed. Impact is shown with reads only.

pub mod expiry;
#[cfg(test)]
pub(crate) mod fixture;
pub mod jwt_alg_confusion;
pub mod jwt_alg_none;
pub mod jwt_kid;
pub mod jwt_signature_unverified;
pub mod logout_not_revoking;
pub mod weak_secret;

use std::sync::Arc;

use serde_json::{Map, Value};
use url::Url;

use crate::checks::probe::same_response;
use crate::checks::{Family, Outcome, Skip, TargetContext};
use crate::engine::redact::INVENTED_CREDENTIAL_PREFIX;
use crate::engine::{Caller, EngineError, Exchange, Probe};
use crate::facts::tokens::{Place, ProbePoint, SeenToken};
use crate::facts::TargetFacts;
use crate::finding::{Confidence, FindingDraft, Severity};
use crate::tokens::jwt::{self, Jwt, Signature};

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &weak_secret::META,
        &jwt_signature_unverified::META,
        &jwt_alg_none::META,
        &jwt_alg_confusion::META,
        &jwt_kid::META,
        &expiry::META,
        &logout_not_revoking::META,
    ],
};

/// A token an identity authenticates with.
#[derive(Clone, Copy)]
pub(crate) struct Credential<'a> {
    /// Index into the token facts' tokens.
    pub index: usize,
    pub token: &'a SeenToken,
    pub identity: &'a str,
    pub header: &'a str,
    pub cookie: Option<&'a str>,
}

impl Credential<'_> {
    pub fn jwt(&self) -> Option<&Jwt> {
        self.token.jwt()
    }
}

/// The identities' credential tokens, in scan order.
pub(crate) fn credentials(facts: &TargetFacts) -> Vec<Credential<'_>> {
    facts
        .tokens
        .credentials()
        .filter_map(|(index, token)| match &token.place {
            Place::Credential {
                identity,
                header,
                cookie,
            } => Some(Credential {
                index,
                token,
                identity,
                header,
                cookie: cookie.as_deref(),
            }),
            _ => None,
        })
        .collect()
}

/// The identities' JWT credentials; a skip when there is none.
pub(crate) fn jwt_credentials(facts: &TargetFacts) -> Result<Vec<Credential<'_>>, Skip> {
    let found: Vec<Credential<'_>> = credentials(facts)
        .into_iter()
        .filter(|c| c.jwt().is_some())
        .collect();
    if found.is_empty() {
        return Err(Skip::Missing("no JWT among the identities' credentials"));
    }
    Ok(found)
}

/// The header value that carries `value` in place of the credential,
/// built on the header value `current` (the scheme kept, other cookies
/// kept).
fn header_with(credential: &Credential<'_>, current: &str, value: &str) -> String {
    match credential.cookie {
        Some(cookie) => {
            let mut replaced = false;
            let pairs: Vec<String> = current
                .split(';')
                .map(|pair| match pair.trim().split_once('=') {
                    Some((name, _)) if name.trim() == cookie => {
                        replaced = true;
                        format!("{cookie}={value}")
                    }
                    _ => pair.trim().to_string(),
                })
                .filter(|p| !p.is_empty())
                .collect();
            if replaced {
                pairs.join("; ")
            } else {
                format!("{cookie}={value}")
            }
        }
        None if current.contains(credential.token.raw()) => {
            current.replace(credential.token.raw(), value)
        }
        None => match current.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {value}"),
            None => value.to_string(),
        },
    }
}

/// Sends `value` in place of the credential's token to a fresh URL of
/// `point`, with the rest of the headers the identity's baseline went out
/// with. The request goes out without the identity: the token is all the
/// caller has. A value Rampart forged is registered as such, so the
/// report's reproduction line carries it.
pub(crate) async fn send_token(
    ctx: &TargetContext<'_>,
    credential: &Credential<'_>,
    point: &ProbePoint,
    value: &str,
    forged: bool,
) -> Result<Arc<Exchange>, EngineError> {
    let current = ctx
        .engine
        .identities()
        .into_iter()
        .find(|i| i.name == credential.identity)
        .and_then(|i| {
            i.headers
                .into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(credential.header))
        })
        .map(|(_, v)| v)
        .unwrap_or_else(|| credential.token.raw().to_string());
    let header = header_with(credential, &current, value);
    send_header(
        ctx,
        point,
        credential.header,
        &header,
        forged.then_some(value),
    )
    .await
}

/// Sends `value` as header `name` to a fresh URL of `point`, without the
/// identity but with the other headers its baseline went out with.
/// `forged` is registered with the redactor as a value Rampart made.
pub(crate) async fn send_header(
    ctx: &TargetContext<'_>,
    point: &ProbePoint,
    name: &str,
    value: &str,
    forged: Option<&str>,
) -> Result<Arc<Exchange>, EngineError> {
    if let Some(forged) = forged {
        ctx.engine.add_forged(forged);
    }
    let mut probe = Probe::get(ctx.engine.buster().bust(&point.url))
        .as_caller(Caller::Anonymous)
        .template(Some(point.template.clone()));
    for (header, sent) in &point.genuine.request.headers {
        if !header.eq_ignore_ascii_case(name) {
            probe.headers.push((header.clone(), sent.clone()));
        }
    }
    probe.headers.push((name.to_string(), value.to_string()));
    ctx.engine.send(probe).await
}

/// The identity fetches `point` as itself, on a fresh URL.
pub(crate) async fn send_genuine(
    ctx: &TargetContext<'_>,
    identity: &str,
    point: &ProbePoint,
) -> Result<Arc<Exchange>, EngineError> {
    let mut probe = Probe::get(ctx.engine.buster().bust(&point.url))
        .as_caller(Caller::Identity(identity.to_string()))
        .template(Some(point.template.clone()));
    // Sample headers of the endpoint, without the identity's own.
    let own: Vec<String> = ctx
        .engine
        .identities()
        .into_iter()
        .filter(|i| i.name == identity)
        .flat_map(|i| i.headers.into_iter().map(|(n, _)| n.to_ascii_lowercase()))
        .collect();
    probe.headers = point
        .genuine
        .request
        .headers
        .iter()
        .filter(|(n, _)| !own.contains(&n.to_ascii_lowercase()))
        .cloned()
        .collect();
    ctx.engine.send(probe).await
}

/// Whether `answer` is `identity`'s own data at `template`: a success
/// with the very body the identity's baseline got, or data the identity
/// facts attribute to it (and to nobody else).
pub(crate) fn shows(
    facts: &TargetFacts,
    identity: &str,
    template: &str,
    answer: &Exchange,
) -> bool {
    if !(200..300).contains(&answer.response.status) || answer.response.body.is_empty() {
        return false;
    }
    if facts
        .tokens
        .answer(identity, template)
        .is_some_and(|baseline| same_response(baseline, answer))
    {
        return true;
    }
    let owners = facts.identities.owners_of(answer);
    owners.len() == 1 && owners.contains(identity)
}

/// Where a credential's worth is tested: a probe point where the genuine
/// token got the identity's data (again, just now) and `control` — an
/// invalid token — did not.
pub(crate) struct Bench<'a> {
    pub point: &'a ProbePoint,
    pub genuine: Arc<Exchange>,
    pub control: Arc<Exchange>,
}

/// The credential's bench for `control` (see [`bench`]), where `forged`, a
/// token of the credential's own identity, is then [`accepted_twice`]: both,
/// or `None` when there is no bench or the forgery is refused.
pub(crate) async fn forged_accepted<'a>(
    ctx: &TargetContext<'a>,
    credential: &Credential<'_>,
    control: &str,
    forged: &str,
) -> Result<Option<(Bench<'a>, (Arc<Exchange>, Arc<Exchange>))>, EngineError> {
    let Ok(bench) = bench(ctx, credential, control, true).await? else {
        return Ok(None);
    };
    let accepted =
        accepted_twice(ctx, credential, bench.point, forged, credential.identity).await?;
    Ok(accepted.map(|accepted| (bench, accepted)))
}

/// The first probe point of the credential's identity where the genuine
/// token works and `control` is refused.
pub(crate) async fn bench<'a>(
    ctx: &TargetContext<'a>,
    credential: &Credential<'_>,
    control: &str,
    control_is_forged: bool,
) -> Result<Result<Bench<'a>, Skip>, EngineError> {
    let facts = ctx.facts;
    let mut reason = Skip::Missing("no caller-specific answer to test the token on");
    for point in facts.tokens.points_of(credential.identity) {
        let genuine = send_genuine(ctx, credential.identity, point).await?;
        if !shows(facts, credential.identity, &point.template, &genuine) {
            reason = Skip::Missing("the genuine token's answer is not stable");
            continue;
        }
        let refused = send_token(ctx, credential, point, control, control_is_forged).await?;
        if shows(facts, credential.identity, &point.template, &refused) {
            reason = Skip::Missing("an invalid token is accepted too");
            continue;
        }
        return Ok(Ok(Bench {
            point,
            genuine,
            control: refused,
        }));
    }
    Ok(Err(reason))
}

/// A value no server can accept as a token.
pub(crate) fn garbage(ctx: &TargetContext<'_>) -> String {
    format!(
        "{INVENTED_CREDENTIAL_PREFIX}{}",
        ctx.engine.buster().next_token()
    )
}

/// Sends a forged value and replays it on another fresh URL: both
/// answers, when both are `whose` data.
pub(crate) async fn accepted_twice(
    ctx: &TargetContext<'_>,
    credential: &Credential<'_>,
    point: &ProbePoint,
    value: &str,
    whose: &str,
) -> Result<Option<(Arc<Exchange>, Arc<Exchange>)>, EngineError> {
    let first = send_token(ctx, credential, point, value, true).await?;
    if !shows(ctx.facts, whose, &point.template, &first) {
        return Ok(None);
    }
    let replay = send_token(ctx, credential, point, value, true).await?;
    Ok(shows(ctx.facts, whose, &point.template, &replay).then_some((first, replay)))
}

/// A new issue time for a token issued at `issued`: now, or a second
/// before `issued` when that is now (or later), so a re-signed token never
/// equals the one the API issued.
pub(crate) fn fresh_timestamp(issued: i64, now: i64) -> i64 {
    if issued >= now {
        issued - 1
    } else {
        now
    }
}

/// Claims with a fresh issue time (or, without one, a unique `jti`): a
/// token no server has issued. A token issued this very second gets an
/// issue time one second earlier, so the claims always change (and never
/// lie in the future).
pub(crate) fn refreshed(
    ctx: &TargetContext<'_>,
    claims: &Map<String, Value>,
) -> Map<String, Value> {
    let mut claims = claims.clone();
    if let Some(issued) = claims.get("iat").map(|v| v.as_i64()) {
        let now = chrono::Utc::now().timestamp();
        let fresh = issued.map_or(now, |issued| fresh_timestamp(issued, now));
        claims.insert("iat".into(), fresh.into());
    } else {
        claims.insert(
            "jti".into(),
            format!("rampart-{}", ctx.engine.buster().next_token()).into(),
        );
    }
    claims
}

/// The token with fresh claims and its original signature kept: what an
/// API that verifies signatures refuses.
pub(crate) fn tampered(ctx: &TargetContext<'_>, token: &Jwt) -> String {
    jwt::encode(
        &token.header,
        &refreshed(ctx, &token.claims),
        Signature::Kept(&token.signature_segment),
    )
}

const TIME_CLAIMS: &[&str] = &["iat", "exp", "nbf", "jti", "auth_time"];

/// The other identity, for impact: the first one that is not `owner`.
pub(crate) fn other_identity(ctx: &TargetContext<'_>, owner: &str) -> Option<String> {
    ctx.engine
        .identities()
        .into_iter()
        .map(|i| i.name)
        .find(|name| name != owner)
}

/// `claims` (the owner's) rewritten to name `other`: the fields where the
/// other identity's token of the same kind differs, or failing that the
/// values the identity facts know for both. `None` when nothing names the
/// owner.
pub(crate) fn claims_naming(
    facts: &TargetFacts,
    claims: &Map<String, Value>,
    owner: &str,
    other: &str,
    others_claims: Option<&Map<String, Value>>,
) -> Option<Map<String, Value>> {
    let mut renamed = claims.clone();
    let mut changed = false;
    if let Some(theirs) = others_claims {
        for (key, value) in theirs {
            if TIME_CLAIMS.contains(&key.as_str()) {
                continue;
            }
            if claims.get(key) != Some(value) {
                renamed.insert(key.clone(), value.clone());
                changed = true;
            }
        }
    }
    if !changed {
        let known = &facts.identities;
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let (Some(a), Some(b)) = (known.subject.get(owner), known.subject.get(other)) {
            pairs.push((a.clone(), b.clone()));
        }
        if let (Some(a), Some(b)) = (known.login_names.get(owner), known.login_names.get(other)) {
            pairs.push((a.clone(), b.clone()));
        }
        for (key, value) in claims {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            if let Some((_, theirs)) = pairs.iter().find(|(mine, _)| *mine == text) {
                let replacement = match value {
                    Value::Number(_) => theirs
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(theirs.clone())),
                    _ => Value::from(theirs.clone()),
                };
                renamed.insert(key.clone(), replacement);
                changed = true;
            }
        }
    }
    changed.then_some(renamed)
}

/// The claims of `other`'s credential token of the same format (a JWT with
/// the same header, a cookie of the same name).
pub(crate) fn others_claims(
    facts: &TargetFacts,
    credential: &Credential<'_>,
    other: &str,
) -> Option<Map<String, Value>> {
    credentials(facts).into_iter().find_map(|c| {
        if c.identity != other || c.header != credential.header || c.cookie != credential.cookie {
            return None;
        }
        match (credential.jwt(), c.jwt()) {
            (Some(mine), Some(theirs)) if mine.alg() == theirs.alg() => Some(theirs.claims.clone()),
            (None, None) => match c.token.signed()?.json()? {
                Value::Object(map) => Some(map),
                _ => None,
            },
            _ => None,
        }
    })
}

/// Forges a token naming the other identity with `make` and shows its
/// data with one read: the impact evidence, when it works.
pub(crate) async fn impact(
    ctx: &TargetContext<'_>,
    credential: &Credential<'_>,
    point: &ProbePoint,
    claims: &Map<String, Value>,
    make: impl Fn(&Map<String, Value>) -> Option<String>,
) -> Result<Option<(String, Arc<Exchange>)>, EngineError> {
    let Some(other) = other_identity(ctx, credential.identity) else {
        return Ok(None);
    };
    let theirs = others_claims(ctx.facts, credential, &other);
    let Some(renamed) = claims_naming(
        ctx.facts,
        claims,
        credential.identity,
        &other,
        theirs.as_ref(),
    ) else {
        return Ok(None);
    };
    let Some(forged) = make(&renamed) else {
        return Ok(None);
    };
    let answer = send_token(ctx, credential, point, &forged, true).await?;
    if !shows(ctx.facts, &other, &point.template, &answer) {
        return Ok(None);
    }
    Ok(Some((other, answer)))
}

/// Makes a token for the given claims.
pub(crate) type Forger = Box<dyn Fn(&Map<String, Value>) -> Option<String> + Send + Sync>;

/// One way to forge a token: from claims to a token.
pub(crate) struct Forgery {
    /// What the report calls this way (`alg "none"`, a PEM form…).
    pub how: String,
    pub make: Forger,
}

/// A forgery the API accepted: where, how, and what it showed.
pub(crate) struct Forged<'a> {
    pub credential: Credential<'a>,
    pub bench: Bench<'a>,
    pub how: String,
    pub accepted: (Arc<Exchange>, Arc<Exchange>),
    /// The second identity and its data, from a token naming it.
    pub impact: Option<(String, Arc<Exchange>)>,
}

impl Forged<'_> {
    /// The confirmed finding, its steps named after `forged_step`.
    pub fn draft(&self, severity: Severity, forged_step: &str) -> FindingDraft {
        forgery_draft(
            severity,
            &self.bench,
            &self.accepted,
            forged_step,
            self.impact.as_ref(),
        )
    }

    /// The algorithm of the genuine token the forgery was made from.
    pub fn alg(&self) -> &str {
        self.credential.jwt().map_or("", Jwt::alg)
    }

    /// " A token … naming bob returned bob's data." when impact was shown.
    pub fn impact_words(&self, made: &str) -> String {
        self.impact
            .as_ref()
            .map(|(other, _)| format!(" A token naming {other}, {made}, returned {other}'s data."))
            .unwrap_or_default()
    }
}

/// For each JWT credential in turn: a bench where `control(token)` (a
/// token Rampart made) is refused, then `forgeries(token)` in order over
/// the token's refreshed claims until one is accepted twice; that one with
/// its impact. `Ok(None)` when every forgery was refused; the skip when no
/// credential could be tested.
pub(crate) async fn forge_jwt<'a>(
    ctx: &TargetContext<'a>,
    credentials: Vec<Credential<'a>>,
    control: impl Fn(&Jwt, &Map<String, Value>) -> String,
    forgeries: impl Fn(&Jwt) -> Vec<Forgery>,
) -> Result<Result<Option<Forged<'a>>, Skip>, EngineError> {
    let mut skip = None;
    for credential in credentials {
        let Some(token) = credential.jwt() else {
            continue;
        };
        let claims = refreshed(ctx, &token.claims);
        let bench = match bench(ctx, &credential, &control(token, &claims), true).await? {
            Ok(bench) => bench,
            Err(reason) => {
                skip.get_or_insert(reason);
                continue;
            }
        };
        for forgery in forgeries(token) {
            let Some(forged) = (forgery.make)(&claims) else {
                continue;
            };
            let Some(accepted) =
                accepted_twice(ctx, &credential, bench.point, &forged, credential.identity).await?
            else {
                continue;
            };
            let impact = impact(ctx, &credential, bench.point, &claims, &forgery.make).await?;
            return Ok(Ok(Some(Forged {
                credential,
                bench,
                how: forgery.how,
                accepted,
                impact,
            })));
        }
        return Ok(Ok(None));
    }
    Ok(Err(skip.unwrap_or(Skip::Missing(
        "no caller-specific answer to test the token on",
    ))))
}

/// What a forgery finding says.
pub(crate) struct Told {
    /// The forged step, naming the identity whose data it got.
    pub step: String,
    pub title: String,
    pub description: String,
    pub key: String,
}

/// [`forge_jwt`], then the accepted forgery as a critical finding in the
/// words `tell` gives it; nothing when every forgery was refused.
pub(crate) async fn report_forgery<'a>(
    ctx: &TargetContext<'a>,
    credentials: Vec<Credential<'a>>,
    control: impl Fn(&Jwt, &Map<String, Value>) -> String,
    forgeries: impl Fn(&Jwt) -> Vec<Forgery>,
    tell: impl FnOnce(&Forged<'a>) -> Told,
) -> Outcome {
    let Some(forged) = forge_jwt(ctx, credentials, control, forgeries).await?? else {
        return Ok(Vec::new());
    };
    let told = tell(&forged);
    Ok(vec![forged
        .draft(Severity::Critical, &told.step)
        .title(told.title)
        .description(told.description)
        .key(told.key)])
}

/// A confirmed forgery finding: the genuine answer, the refused control,
/// the accepted forgery and its replay, and the impact when shown.
pub(crate) fn forgery_draft(
    severity: Severity,
    bench: &Bench<'_>,
    accepted: &(Arc<Exchange>, Arc<Exchange>),
    forged_step: &str,
    impact: Option<&(String, Arc<Exchange>)>,
) -> FindingDraft {
    let mut draft = FindingDraft::at_exchange(&accepted.0, severity, Confidence::Confirmed)
        .evidence(
            "The identity's own token gets its data",
            &bench.genuine,
            None,
        )
        .evidence(
            format!(
                "Control: an invalid token is refused (HTTP {})",
                bench.control.response.status
            ),
            &bench.control,
            None,
        )
        .evidence(forged_step, &accepted.0, None)
        .evidence(
            "The same forged token, replayed on a fresh URL, is accepted again",
            &accepted.1,
            None,
        );
    if let Some((other, answer)) = impact {
        draft = draft.evidence(
            format!("A token forged the same way naming {other} returns {other}'s data"),
            answer,
            None,
        );
    }
    draft
}

/// `url` with `param` set to `value` and a fresh cache buster.
pub(crate) fn link_with(ctx: &TargetContext<'_>, url: &Url, param: &str, value: &str) -> Url {
    let mut changed = crate::engine::buster::without_param(url, param);
    changed.query_pairs_mut().append_pair(param, value);
    ctx.engine.buster().bust(&changed)
}

/// One character of a token's signature changed (its last segment's
/// first character, never a base64 padding bit).
pub(crate) fn corrupted(token: &str) -> String {
    crate::checks::signing::corrupt(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::tokens::Format;

    fn credential<'a>(
        token: &'a SeenToken,
        cookie: Option<&'a str>,
        header: &'a str,
    ) -> Credential<'a> {
        Credential {
            index: 0,
            token,
            identity: "alice",
            header,
            cookie,
        }
    }

    fn seen(raw: &str) -> SeenToken {
        SeenToken {
            format: Format::Jwt(Jwt::parse(raw).expect("a JWT")),
            place: Place::Credential {
                identity: "alice".into(),
                header: "Authorization".into(),
                cookie: None,
            },
        }
    }

    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwibmFtZSI6ImFsaWNlIn0.zt_M5YceJZlb9thUZyp6bDyEOjE8WPJMQ5ZpdAgFkOE";

    #[test]
    fn forged_values_replace_the_token_and_keep_the_rest_of_the_header() {
        let token = seen(JWT);
        let bearer = credential(&token, None, "Authorization");
        assert_eq!(
            header_with(&bearer, &format!("Bearer {JWT}"), "X.Y."),
            "Bearer X.Y."
        );
        // A renewed session: the scheme is kept.
        assert_eq!(header_with(&bearer, "Bearer other", "X.Y."), "Bearer X.Y.");
        let cookie = credential(&token, Some("session"), "Cookie");
        assert_eq!(
            header_with(&cookie, "theme=dark; session=abc", "forged"),
            "theme=dark; session=forged"
        );
        assert_eq!(
            header_with(&cookie, "theme=dark", "forged"),
            "session=forged"
        );
    }

    #[test]
    fn fresh_timestamps_never_repeat_the_issued_one() {
        assert_eq!(fresh_timestamp(100, 200), 200);
        assert_eq!(fresh_timestamp(200, 200), 199);
        assert_eq!(fresh_timestamp(230, 200), 229);
    }

    #[test]
    fn refreshed_claims_always_differ_from_the_token_issued() {
        let engine = crate::checks::probe::fixtures::engine();
        let root =
            crate::checks::probe::fixtures::exchange("http://127.0.0.1:9/", None, 200, &[], "{}");
        let facts = TargetFacts::default();
        let ctx = crate::checks::probe::fixtures::target_context(&engine, &root, &facts);
        let now = chrono::Utc::now().timestamp();
        for issued in [now, now + 30, now - 100] {
            let mut claims = Map::new();
            claims.insert("iat".into(), issued.into());
            let fresh = refreshed(&ctx, &claims);
            assert_ne!(fresh["iat"], claims["iat"], "issued {issued}");
            assert!(fresh["iat"].as_i64().unwrap() <= now.max(issued));
        }
        let fresh = refreshed(&ctx, &Map::new());
        assert!(fresh["jti"].as_str().unwrap().starts_with("rampart-"));
    }

    #[test]
    fn only_the_identitys_own_data_counts_as_accepted() {
        use crate::checks::probe::fixtures::exchange;
        let url = "http://h/api/me?rampart_cb=1";
        let alice = r#"{"id":1,"username":"alice"}"#;
        let bob = r#"{"id":2,"username":"bob"}"#;
        let mut facts = TargetFacts::default();
        for (who, body) in [("alice", alice), ("bob", bob)] {
            let baseline = exchange(url, Some(who), 200, &[], body);
            facts
                .tokens
                .answers
                .insert((who.into(), "/api/me".into()), baseline);
        }
        let answer = |status, body| exchange(url, None, status, &[], body);
        assert!(shows(&facts, "alice", "/api/me", &answer(200, alice)));
        assert!(
            !shows(&facts, "alice", "/api/me", &answer(200, bob)),
            "another identity's data"
        );
        assert!(shows(&facts, "bob", "/api/me", &answer(200, bob)));
        assert!(
            !shows(&facts, "alice", "/api/me", &answer(401, alice)),
            "a refusal"
        );
        assert!(
            !shows(
                &facts,
                "alice",
                "/api/me",
                &answer(200, r#"{"public":true}"#)
            ),
            "any 200"
        );
        // A volatile answer still counts when the identity facts place it.
        for who in ["alice", "bob"] {
            let markers = facts.identities.markers.entry(who.into()).or_default();
            markers.insert(who.into());
        }
        let volatile = r#"{"id":1,"username":"alice","now":"12:00:01"}"#;
        assert!(shows(&facts, "alice", "/api/me", &answer(200, volatile)));
        let both = r#"[{"username":"alice"},{"username":"bob"}]"#;
        assert!(
            !shows(&facts, "alice", "/api/me", &answer(200, both)),
            "everyone's data is not alice's"
        );
    }

    #[test]
    fn claims_are_renamed_from_the_other_token_or_from_identity_facts() {
        let mut facts = TargetFacts::default();
        let mine: Map<String, Value> =
            serde_json::from_str(r#"{"sub":"1","name":"alice","iat":10,"role":"user"}"#).unwrap();
        let theirs: Map<String, Value> =
            serde_json::from_str(r#"{"sub":"2","name":"bob","iat":20,"role":"user"}"#).unwrap();
        let renamed = claims_naming(&facts, &mine, "alice", "bob", Some(&theirs)).unwrap();
        assert_eq!(renamed["sub"], "2");
        assert_eq!(renamed["name"], "bob");
        assert_eq!(renamed["iat"], 10, "time claims stay the owner's");
        assert!(claims_naming(&facts, &mine, "alice", "bob", None).is_none());
        facts.identities.subject.insert("alice".into(), "1".into());
        facts.identities.subject.insert("bob".into(), "2".into());
        let numeric: Map<String, Value> = serde_json::from_str(r#"{"user_id":1}"#).unwrap();
        let renamed = claims_naming(&facts, &numeric, "alice", "bob", None).unwrap();
        assert_eq!(renamed["user_id"], 2, "a number stays a number");
    }
}
