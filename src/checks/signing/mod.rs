//! Request signing: signed URLs and tokens (itsdangerous, HMAC hex, opaque
//! signatures) that an API hands out, and what it accepts in their place.
//!
//! Without a signing secret Rampart works with the signed links it finds in
//! each identity's own responses ([`SignedLink`]): it removes, corrupts,
//! re-targets and replays them, and watches what the API accepts.
//!
//! With a signing recipe in the identity file (`identity::signing`), the
//! engine signs every request of that identity, and `request_replay` and
//! `partial_coverage` sign requests to order (see `recipe.rs`) to test what a
//! valid signature is worth.

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

use super::ProbeContext;
use crate::discover::Endpoint;
use crate::engine::{Engine, Exchange};

/// Query parameters that carry a signature or a signed token.
fn is_signature_param(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "sig"
            | "signature"
            | "token"
            | "signed"
            | "hmac"
            | "s"
            | "x-amz-signature"
            | "auth"
            | "key_signature"
    )
}

/// A value shaped like a signature: an itsdangerous token, a hex digest or
/// a long base64url string.
fn looks_signed(value: &str) -> bool {
    let base64ish = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+' | '/'));
    base64ish && value.len() >= 20
}

/// A signed link found in an identity's own response.
#[derive(Debug, Clone)]
pub struct SignedLink {
    pub owner: String,
    pub url: Url,
    pub signature_param: String,
    /// Issue time of an itsdangerous token, seconds since the epoch.
    pub issued_at: Option<i64>,
    /// The JSON field that held the link.
    pub field: String,
}

/// Decodes the timestamp of an itsdangerous `payload.timestamp.signature`
/// token (base64url of a big-endian integer). `None` for other shapes.
pub fn itsdangerous_timestamp(token: &str) -> Option<i64> {
    let parts: Vec<&str> = token.trim_start_matches('.').rsplitn(3, '.').collect();
    let [signature, timestamp, _payload] = parts.as_slice() else {
        return None;
    };
    if signature.len() < 20 || timestamp.is_empty() || timestamp.len() > 8 {
        return None;
    }
    let mut value: i64 = 0;
    let mut bits = 0u32;
    let mut bytes = Vec::new();
    for c in timestamp.bytes() {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        value = (value << 6) | i64::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(((value >> bits) & 0xff) as u8);
        }
    }
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let seconds = bytes.iter().fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
    // Plausible issue times only: 2001 to 2100.
    (1_000_000_000..4_102_444_800)
        .contains(&seconds)
        .then_some(seconds)
}

/// Finds signed links in the identities' own baseline responses.
pub fn harvest<'a>(
    engine: &Engine,
    baselines: impl Iterator<Item = &'a Arc<Exchange>>,
) -> Vec<SignedLink> {
    let mut links: Vec<SignedLink> = Vec::new();
    for exchange in baselines {
        let (Some(owner), Some(json)) = (exchange.request.identity.as_ref(), exchange.body_json())
        else {
            continue;
        };
        if !(200..300).contains(&exchange.response.status) {
            continue;
        }
        let base = Url::parse(&exchange.request.url).unwrap_or_else(|_| engine.target().clone());
        let mut found = Vec::new();
        collect_strings(json, None, &mut found, 0);
        for (field, text) in found {
            let Ok(url) = base.join(&text) else { continue };
            if !engine.scope().contains(&url)
                || !(text.starts_with('/') || text.starts_with("http"))
            {
                continue;
            }
            let Some((param, value)) = url
                .query_pairs()
                .find(|(name, value)| is_signature_param(name) && looks_signed(value))
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
            else {
                continue;
            };
            if links.iter().any(|l| l.url == url) || links.len() >= 100 {
                continue;
            }
            links.push(SignedLink {
                owner: owner.clone(),
                issued_at: itsdangerous_timestamp(&value),
                url,
                signature_param: param,
                field,
            });
        }
    }
    links
}

fn collect_strings(
    value: &Value,
    key: Option<&str>,
    out: &mut Vec<(String, String)>,
    depth: usize,
) {
    if depth > 12 || out.len() > 500 {
        return;
    }
    match value {
        Value::String(s) if s.contains('?') && s.len() < 4096 => {
            out.push((key.unwrap_or("").to_string(), s.clone()))
        }
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| collect_strings(v, Some(k), out, depth + 1)),
        Value::Array(items) => items
            .iter()
            .for_each(|v| collect_strings(v, key, out, depth + 1)),
        _ => {}
    }
}

/// Whether a concrete path matches an endpoint template.
fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t.starts_with('{') && t.ends_with('}') || t == p)
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
    ctx.engine.buster().bust(&changed)
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
/// character is all data. The replacement keeps the character class and its
/// case (`0`↔`1`, `a`↔`b`, `A`↔`B`, anything else → `0`/`a`/`A`), so the
/// value stays valid hex or base64 but differs even to a case-insensitive
/// hex decoder.
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
        *c = match *c {
            '0' => '1',
            '1'..='9' => '0',
            'a' => 'b',
            'b'..='z' => 'a',
            'A' => 'B',
            _ => 'A',
        };
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itsdangerous_timestamps_decode() {
        // itsdangerous encodes 1700000000 as "ZVPxAA".
        assert_eq!(
            itsdangerous_timestamp("eyJyZXBvcnQiOiJtIn0.ZVPxAA.abcdefghijklmnopqrstuvwxyz0"),
            Some(1_700_000_000)
        );
        assert_eq!(itsdangerous_timestamp("deadbeef"), None);
        assert_eq!(itsdangerous_timestamp("a.b.c"), None);
        assert_eq!(
            itsdangerous_timestamp(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz"
            ),
            None
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
