//! Request signing: signed URLs and tokens (itsdangerous, HMAC hex, opaque
//! signatures) that an API hands out, and what it accepts in their place.
//!
//! Without a signing secret Rampart works with the signed links it finds in
//! each identity's own responses ([`crate::facts::SignedLink`]): it removes, corrupts,
//! re-targets and replays them, and watches what the API accepts.
//!
//! With a signing recipe in the identity file (`identity::signing`), the
//! engine signs every request of that identity, and `request_replay` and
//! `partial_coverage` sign requests to order (see `recipe.rs`) to test what a
//! valid signature is worth.

#[cfg(test)]
pub(crate) mod fixture;
pub mod partial_coverage;
pub(crate) mod recipe;
pub mod replay;
pub mod request_replay;
pub mod signature_optional;
pub mod timing_compare;
pub mod unbound_caller;
pub mod unsigned_params;

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::checks::probe::success_json;
use crate::checks::{Family, ProbeContext, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, EngineError, Exchange};
use crate::facts::identities::is_id_param;
use crate::facts::{SignedLink, Varies};
use crate::identity::signing::flip;
use crate::tokens::itsdangerous;
use crate::tokens::jwt::Jwt;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &signature_optional::META,
        &unsigned_params::META,
        &unbound_caller::META,
        &replay::META,
        &request_replay::META,
        &partial_coverage::META,
        &timing_compare::META,
    ],
};

/// Whether a concrete path matches an endpoint template.
fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t.starts_with('{') && t.ends_with('}') || t == p)
}

/// The query parameter that says when a signed link expires, if any.
pub(crate) fn expiry_param(link: &SignedLink) -> Option<String> {
    const EXPIRY: &[&str] = &[
        "expires",
        "expire",
        "expiry",
        "exp",
        "expires_at",
        "expiresat",
        "valid_until",
        "x-amz-expires",
        "ttl",
        "deadline",
    ];
    link.url
        .query_pairs()
        .find(|(name, value)| {
            EXPIRY.contains(&name.to_ascii_lowercase().as_str()) && !value.is_empty()
        })
        .map(|(name, _)| name.into_owned())
}

/// The object a signed link names: an id-like path segment or query
/// parameter, if any.
fn named_object(link: &SignedLink) -> Option<String> {
    let id_like = |value: &str| {
        !value.is_empty() && value.chars().all(|c| c.is_ascii_digit())
            || value.len() >= 8
                && value.chars().any(|c| c.is_ascii_digit())
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    link.url
        .path_segments()
        .into_iter()
        .flatten()
        .find(|segment| id_like(segment))
        .map(str::to_string)
        .or_else(|| {
            link.url
                .query_pairs()
                .find(|(name, value)| is_id_param(name) && !value.is_empty())
                .map(|(name, value)| format!("{name}={value}"))
        })
}

/// What makes a signed link a capability: it names its object and it
/// expires. Such a link works for whoever holds it by design (a download
/// link in an email, a pre-signed object URL), so that another identity can
/// use it says little. The reason in words, when it is one.
///
/// A link whose token is self-describing (an itsdangerous timed token, a
/// JWT) counts only what its signature covers: the object named inside the
/// signed payload, and its signing time or `exp` claim (whether the server
/// enforces an age is `token.expiry`'s question, once a secret is known).
/// An object named only beside the token, in an unsigned parameter, does
/// not make it a capability.
pub(crate) fn capability(link: &SignedLink) -> Option<String> {
    if let Some((object, expiry)) = signed_claims(link) {
        return Some(format!(
            "the signed token names its object ({}) and {expiry}",
            object?
        ));
    }
    let expiry = expiry_param(link)?;
    let object = named_object(link)?;
    Some(format!(
        "the link names its object ({object}) and expires (`{expiry}`)"
    ))
}

/// For a link whose token can be read without the secret: the object its
/// signed payload names (if any) and how it can expire. `None` when the
/// token is opaque (a bare signature) or carries no time at all.
fn signed_claims(link: &SignedLink) -> Option<(Option<String>, &'static str)> {
    let token = link
        .url
        .query_pairs()
        .find(|(name, _)| *name == link.signature_param.as_str())
        .map(|(_, value)| value.into_owned())?;
    let (payload, expiry) = if let Some(jwt) = Jwt::parse(&token) {
        jwt.time_claim("exp")?;
        (Value::Object(jwt.claims), "expires (its `exp` claim)")
    } else {
        link.issued_at?;
        let signed = itsdangerous::Signed::parse(&token)?;
        (signed.json()?, "carries its signing time (a timed token)")
    };
    let object = payload.as_object().and_then(|claims| {
        claims.iter().find_map(|(name, value)| {
            let value = match value {
                Value::String(text) if !text.is_empty() => text.clone(),
                Value::Number(number) => number.to_string(),
                _ => return None,
            };
            (is_id_param(name) || name == "sub").then(|| format!("{name}={value}"))
        })
    });
    Some((object, expiry))
}

/// `step`, with a note on what a comparison set aside when the answers
/// vary between identical requests.
pub(crate) fn compared(step: impl Into<String>, varies: &Varies) -> String {
    let step = step.into();
    match varies.note() {
        Some(note) => format!("{step} ({note})"),
        None => step,
    }
}

/// The signed links that point at `endpoint`.
pub(crate) fn links_for<'a>(ctx: &'a ProbeContext<'_>, endpoint: &Endpoint) -> Vec<&'a SignedLink> {
    let template = format!("{}{}", ctx.base_path.trim_end_matches('/'), endpoint.path);
    ctx.facts
        .signed_links
        .iter()
        .filter(|l| endpoint.is_read_only() && matches_template(&template, l.url.path()))
        .collect()
}

/// A signed link that works: the first one pointing at the endpoint, as its
/// owner fetched it on a fresh URL and got data back.
pub(crate) struct Genuine<'a> {
    pub link: &'a SignedLink,
    pub owner: Caller,
    /// The fresh URL the owner fetched.
    pub url: Url,
    pub answer: Arc<Exchange>,
    /// How the link's answer varies between two identical fetches (a
    /// request id, a time): comparisons set that aside.
    pub varies: Varies,
}

impl Genuine<'_> {
    /// `other` carries the data the genuine answer does (what varies
    /// between identical fetches set aside).
    pub fn same_data(&self, other: &Exchange) -> bool {
        self.varies.same_data(&self.answer, other)
    }

    /// An evidence step's words, with what the comparison set aside.
    pub fn compared(&self, step: impl Into<String>) -> String {
        compared(step, &self.varies)
    }

    /// The owner fetches the link again with `param` set to `value`
    /// (removed when `None`), on a fresh URL.
    pub async fn fetch_with(
        &self,
        ctx: &ProbeContext<'_>,
        endpoint: &Endpoint,
        param: &str,
        value: Option<&str>,
    ) -> Result<Arc<Exchange>, EngineError> {
        let url = with_param(ctx, &self.link.url, param, value);
        ctx.get(endpoint, &url, &self.owner, &[]).await
    }
}

/// The endpoint's [`Genuine`] link, or why it has none. The first link is
/// enough: one signing scheme guards an endpoint.
pub(crate) async fn genuine_link<'a>(
    ctx: &'a ProbeContext<'_>,
    endpoint: &Endpoint,
) -> Result<Genuine<'a>, Skip> {
    let Some(link) = links_for(ctx, endpoint).into_iter().next() else {
        return Err(Skip::Missing("no signed link points here"));
    };
    let (url, answer) = fetch_as_owner(ctx, endpoint, link).await?;
    if !success_json(&answer) {
        return Err(Skip::Missing("the signed link gives its owner no data"));
    }
    // Once more, to learn what changes between identical fetches.
    let (_, again) = fetch_as_owner(ctx, endpoint, link).await?;
    Ok(Genuine {
        link,
        owner: Caller::Identity(link.owner.clone()),
        url,
        varies: Varies::between(&answer, &again),
        answer,
    })
}

/// The link's owner fetches it as issued, on a fresh URL: that URL and the
/// answer.
pub(crate) async fn fetch_as_owner(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    link: &SignedLink,
) -> Result<(Url, Arc<Exchange>), EngineError> {
    let owner = Caller::Identity(link.owner.clone());
    let url = ctx.fresh(&link.url);
    let answer = ctx.get(endpoint, &url, &owner, &[]).await?;
    Ok((url, answer))
}

/// `url` with `param` replaced (or removed when `value` is `None`), plus a buster.
pub(crate) fn with_param(
    ctx: &ProbeContext<'_>,
    url: &Url,
    param: &str,
    value: Option<&str>,
) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(n, _)| n != param)
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut changed = url.clone();
    changed.set_query(None);
    {
        let mut query = changed.query_pairs_mut();
        for (n, v) in &pairs {
            query.append_pair(n, v);
        }
        if let Some(value) = value {
            query.append_pair(param, value);
        }
    }
    ctx.fresh(&changed)
}

/// `url` with the value of `param` replaced in place (or the parameter
/// removed when `value` is `None`), every other parameter — the cache
/// buster included — kept in its position. No new buster: the point is to
/// ask for exactly the URL an earlier request used.
pub(crate) fn replace_param(url: &Url, param: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(n, v)| {
            if n != param {
                Some((n.into_owned(), v.into_owned()))
            } else {
                value.map(|value| (n.into_owned(), value.to_string()))
            }
        })
        .collect();
    let mut changed = url.clone();
    changed.set_query(None);
    if !pairs.is_empty() {
        let mut query = changed.query_pairs_mut();
        for (n, v) in &pairs {
            query.append_pair(n, v);
        }
    }
    changed
}

/// The signature's value in a link.
pub(crate) fn signature_of(link: &SignedLink) -> String {
    link.url
        .query_pairs()
        .find(|(n, _)| *n == link.signature_param)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The same signature with one character changed inside the signature part
/// (the segment after the last `.`).
///
/// The changed character is the segment's *first* one, never its last: the
/// last character of an unpadded base64 string also carries padding bits
/// that decoders ignore (an HMAC-SHA1 in 27 characters keeps only 4 of the
/// last character's 6 bits), so `…A` → `…B` can decode to the very same
/// signature and a correctly verifying server would accept it. The first
/// character is all data. The replacement is [`flip`]'s: same alphabet,
/// same case.
pub(crate) fn corrupt(signature: &str) -> String {
    let start = signature.rfind('.').map(|dot| dot + 1).unwrap_or(0);
    let mut chars: Vec<char> = signature.chars().collect();
    let skip = signature[..start].chars().count();
    let target = chars
        .iter_mut()
        .skip(skip)
        .find(|c| c.is_ascii_alphanumeric());
    // A segment without any alphanumeric character: change the last one
    // anywhere rather than nothing.
    let target = match target {
        Some(c) => Some(c),
        None => chars.iter_mut().rev().find(|c| c.is_ascii_alphanumeric()),
    };
    if let Some(c) = target {
        *c = flip(*c);
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(url: &str) -> SignedLink {
        SignedLink {
            owner: "alice".into(),
            url: Url::parse(url).unwrap(),
            signature_param: "sig".into(),
            issued_at: None,
            field: "download_url".into(),
        }
    }

    /// A link whose `token` parameter holds `token`, with its issue time
    /// read as facts::signed_links does.
    fn token_link(query: &str, token: &str) -> SignedLink {
        SignedLink {
            signature_param: "token".into(),
            issued_at: crate::facts::signed_links::itsdangerous_timestamp(token),
            ..link(&format!(
                "http://h/api/reports/download?{query}token={token}"
            ))
        }
    }

    #[test]
    fn a_timed_token_that_signs_its_object_is_a_capability_and_one_that_does_not_is_a_bearer_link()
    {
        // URLSafeTimedSerializer(...).dumps({"report_id": "r-alice-1", "user_id": 1})
        let bound =
            "eyJyZXBvcnRfaWQiOiJyLWFsaWNlLTEiLCJ1c2VyX2lkIjoxfQ.axOZ0w.USEPRXqV_M4bSpZzltaaavWs4WQ";
        let why = capability(&token_link("", bound)).expect("a capability");
        assert!(
            why.contains("report_id=r-alice-1") && why.contains("signing time"),
            "{why}"
        );
        // {"report": "r-1"}: the owner travels beside the token, unsigned.
        let unbound = "eyJyZXBvcnQiOiJyLTEifQ.aTIIFQ.KN51Z6FJBCxxyPG72nWIPW79dhM";
        assert_eq!(capability(&token_link("user_id=7&", unbound)), None);
        // An untimed token with an object falls back to the link's own words.
        let untimed = "eyJyZXBvcnRfaWQiOiJyLWFsaWNlLTEifQ.USEPRXqV_M4bSpZzltaaavWs4WQ";
        assert_eq!(capability(&token_link("", untimed)), None);
    }

    #[test]
    fn a_link_that_names_its_object_and_expires_is_a_capability() {
        let pre_signed = link("http://h/files/7f3a9c21e0?expires=1893456000&sig=0badc0de");
        let why = capability(&pre_signed).expect("a capability");
        assert!(
            why.contains("7f3a9c21e0") && why.contains("`expires`"),
            "{why}"
        );
        let by_query = link("http://h/dl?report_id=42&exp=1893456000&sig=0badc0de");
        assert!(capability(&by_query).unwrap().contains("report_id=42"));
        // Without an expiry, or without an object, it is a bearer link.
        assert_eq!(
            capability(&link("http://h/files/7f3a9c21e0?sig=0badc0de")),
            None
        );
        assert_eq!(
            capability(&link("http://h/download?expires=1893456000&sig=0badc0de")),
            None
        );
        assert_eq!(
            expiry_param(&link("http://h/d?X-Amz-Expires=300")).as_deref(),
            Some("X-Amz-Expires")
        );
    }

    #[test]
    fn templates_match_concrete_paths() {
        assert!(matches_template(
            "/api/reports/{id}/download",
            "/api/reports/7/download"
        ));
        assert!(!matches_template(
            "/api/reports/{id}",
            "/api/reports/7/download"
        ));
        assert!(matches_template(
            "/api/reports/download",
            "/api/reports/download/"
        ));
    }

    #[test]
    fn replacing_a_parameter_keeps_the_rest_of_the_url_in_place() {
        let url =
            Url::parse("http://h/api/dl?user_id=1&token=abc.def.ghi&rampart_cb=ff01").unwrap();
        let changed = replace_param(&url, "token", Some("abc.def.ghA"));
        assert_eq!(
            changed.as_str(),
            "http://h/api/dl?user_id=1&token=abc.def.ghA&rampart_cb=ff01"
        );
        let removed = replace_param(&url, "token", None);
        assert_eq!(
            removed.as_str(),
            "http://h/api/dl?user_id=1&rampart_cb=ff01"
        );
        let only = Url::parse("http://h/api/dl?token=x").unwrap();
        assert_eq!(
            replace_param(&only, "token", None).as_str(),
            "http://h/api/dl"
        );
    }

    #[test]
    fn corruption_changes_exactly_one_character() {
        for sig in [
            "abc.ZVPxAA.signature",
            "eyJpIjo0NH0.awQjUw.Q8-mTtN3KTJsH23KyvsQxQ1ujJA",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "payload.ts.-_-_",
        ] {
            let bad = corrupt(sig);
            assert_ne!(bad, sig);
            assert_eq!(bad.len(), sig.len());
            assert_eq!(
                bad.chars().zip(sig.chars()).filter(|(a, b)| a != b).count(),
                1,
                "{sig} -> {bad}"
            );
        }
    }

    #[test]
    fn corruption_never_touches_base64_padding_bits() {
        // This itsdangerous token ends in `A`: its last character carries
        // two padding bits, and `…JA` → `…JB` decodes to the same HMAC
        // (itsdangerous accepts it). The first signature character is changed.
        let token = "eyJpIjo0NH0.awQjUw.Q8-mTtN3KTJsH23KyvsQxQ1ujJA";
        let bad = corrupt(token);
        assert_eq!(bad, "eyJpIjo0NH0.awQjUw.A8-mTtN3KTJsH23KyvsQxQ1ujJA");
        assert!(bad.ends_with("ujJA"));
        // Hex stays hex and differs even case-insensitively.
        let hex = corrupt("ab12");
        assert_eq!(hex, "bb12");
        assert_eq!(corrupt("0f"), "1f");
        assert_eq!(corrupt("F0"), "A0");
    }
}
