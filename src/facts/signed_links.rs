//! Signed links the identities received in their own responses: URLs whose
//! query carries a signature or a signed token, with what can be read from
//! them without the secret (an itsdangerous token's issue time).

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::engine::{Engine, Exchange};
use crate::facts::visit_leaves;

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

impl SignedLink {
    /// How long ago the link's token was issued, in seconds, when it says.
    pub fn age_seconds(&self) -> Option<i64> {
        Some(chrono::Utc::now().timestamp() - self.issued_at?)
    }
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
        harvest_into(engine, exchange, &mut links);
    }
    links
}

/// Adds the signed links of one baseline response to `links` (new ones
/// only, at most 100 in all).
pub fn harvest_into(engine: &Engine, exchange: &Exchange, links: &mut Vec<SignedLink>) {
    let (Some(owner), Some(json)) = (exchange.request.identity.as_ref(), exchange.body_json())
    else {
        return;
    };
    if !(200..300).contains(&exchange.response.status) {
        return;
    }
    let base = Url::parse(&exchange.request.url).unwrap_or_else(|_| engine.target().clone());
    let mut found = Vec::new();
    // Strings with a query, under the key that holds them.
    visit_leaves(json, 12, &mut |key, leaf| {
        if let Value::String(s) = leaf {
            if s.contains('?') && s.len() < 4096 {
                found.push((key.unwrap_or("").to_string(), s.clone()));
            }
        }
        found.len() <= 500
    });
    for (field, text) in found {
        let Ok(url) = base.join(&text) else { continue };
        if !engine.scope().contains(&url) || !(text.starts_with('/') || text.starts_with("http")) {
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
}
