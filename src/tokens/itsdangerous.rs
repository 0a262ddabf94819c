//! itsdangerous-signed values: `value.signature` (`Signer`,
//! `URLSafeSerializer`) and `value.timestamp.signature` (`TimestampSigner`,
//! `URLSafeTimedSerializer`, Flask's session cookie), the signature an
//! HMAC-SHA1 in base64url. A serializer's payload is base64url JSON,
//! zlib-compressed when that is shorter (then it starts with a `.`).
//!
//! Which salt and key derivation signed a value cannot be read from it; the
//! libraries' defaults (checked against itsdangerous 2.2 and Flask 3.1) are
//! the hypotheses [`Signed::schemes`] lists.

use std::io::Read;

use serde_json::Value;

use super::crack::{Derivation, Scheme, Target};
use super::{b64url, unb64url};

/// Flask's `SecureCookieSessionInterface`: salt `cookie-session`, key
/// derivation `hmac`, SHA-1.
pub const FLASK_SESSION_SALT: &str = "cookie-session";
/// `Serializer`, `URLSafeSerializer`, `URLSafeTimedSerializer` default salt.
pub const SERIALIZER_SALT: &str = "itsdangerous";
/// `Signer` and `TimestampSigner` default salt.
pub const SIGNER_SALT: &str = "itsdangerous.Signer";

/// An itsdangerous-signed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    pub raw: String,
    /// Everything before the signature: what the HMAC covers.
    pub value: String,
    /// The value without its timestamp.
    pub payload: String,
    /// Issue time, for timestamped forms.
    pub timestamp: Option<i64>,
    pub signature: Vec<u8>,
}

/// Plausible issue times only (2001 to 2100): a random segment rarely
/// decodes into that range.
fn plausible(seconds: i64) -> bool {
    (1_000_000_000..4_102_444_800).contains(&seconds)
}

fn decode_timestamp(segment: &str) -> Option<i64> {
    if segment.is_empty() || segment.len() > 8 {
        return None;
    }
    let bytes = unb64url(segment)?;
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let seconds = bytes.iter().fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
    plausible(seconds).then_some(seconds)
}

/// itsdangerous's `int_to_bytes` in base64url: the fewest big-endian bytes.
pub fn encode_timestamp(seconds: i64) -> String {
    let bytes = seconds.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    b64url(&bytes[first..])
}

impl Signed {
    /// A signed value whose last segment is a 20-byte base64url signature.
    pub fn parse(text: &str) -> Option<Signed> {
        let text = text.trim().trim_matches('"');
        if text.len() > 8 * 1024 {
            return None;
        }
        let (value, signature) = text.rsplit_once('.')?;
        if signature.len() != 27 || value.is_empty() {
            return None;
        }
        let signature = unb64url(signature)?;
        if signature.len() != 20 {
            return None;
        }
        let (payload, timestamp) = match value.rsplit_once('.') {
            Some((payload, ts)) if !payload.is_empty() => match decode_timestamp(ts) {
                Some(seconds) => (payload.to_string(), Some(seconds)),
                None => (value.to_string(), None),
            },
            _ => (value.to_string(), None),
        };
        Some(Signed {
            raw: text.to_string(),
            value: value.to_string(),
            payload,
            timestamp,
            signature,
        })
    }

    /// The salts and derivations to try, most likely first: Flask's
    /// session alone for a cookie named like one, Flask's session and the
    /// libraries' defaults for other timestamped cookies, the defaults for
    /// the rest (links, fields: Flask's session serializer is not used for
    /// those).
    pub fn schemes(&self, cookie: Option<&str>) -> Vec<Scheme> {
        let scheme = |derivation, salt: &str| Scheme::Itsdangerous {
            derivation,
            salt: salt.to_string(),
        };
        let flask = scheme(Derivation::Hmac, FLASK_SESSION_SALT);
        let serializer = scheme(Derivation::DjangoConcat, SERIALIZER_SALT);
        let signer = scheme(Derivation::DjangoConcat, SIGNER_SALT);
        match (self.timestamp, cookie) {
            // Flask's session is always timestamped, and a cookie.
            (Some(_), Some(name)) if name.contains("session") => vec![flask],
            (Some(_), Some(_)) => vec![flask, serializer, signer],
            _ => vec![serializer, signer],
        }
    }

    /// One recovery target per hypothesis.
    pub fn crack_targets(&self, cookie: Option<&str>) -> Vec<Target> {
        self.schemes(cookie)
            .into_iter()
            .map(|scheme| Target {
                scheme,
                message: self.value.as_bytes().to_vec(),
                signature: self.signature.clone(),
            })
            .collect()
    }

    /// The payload as JSON, when it is a serializer's (base64url JSON,
    /// possibly zlib-compressed; at most 1 MiB once inflated).
    pub fn json(&self) -> Option<Value> {
        let (compressed, data) = match self.payload.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, self.payload.as_str()),
        };
        let mut bytes = unb64url(data)?;
        if compressed {
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(&bytes[..])
                .take(1024 * 1024)
                .read_to_end(&mut inflated)
                .ok()?;
            bytes = inflated;
        }
        serde_json::from_slice(&bytes).ok()
    }

    /// The same payload, signed anew with `timestamp` (timestamped forms)
    /// under `scheme` with `secret`.
    pub fn resigned(
        &self,
        scheme: &Scheme,
        secret: &[u8],
        timestamp: Option<i64>,
    ) -> Option<String> {
        sign_value(&self.payload, timestamp, scheme, secret)
    }
}

/// `payload` (already encoded) with an optional timestamp, signed.
pub fn sign_value(
    payload: &str,
    timestamp: Option<i64>,
    scheme: &Scheme,
    secret: &[u8],
) -> Option<String> {
    let value = match timestamp {
        Some(seconds) => format!("{payload}.{}", encode_timestamp(seconds)),
        None => payload.to_string(),
    };
    let mac = super::crack::sign(scheme, secret, value.as_bytes())?;
    Some(format!("{value}.{}", b64url(&mac)))
}

/// A serializer's token for `json` (compact JSON, not compressed: every
/// loader accepts that).
pub fn dumps(
    json: &Value,
    timestamp: Option<i64>,
    scheme: &Scheme,
    secret: &[u8],
) -> Option<String> {
    sign_value(
        &b64url(json.to_string().as_bytes()),
        timestamp,
        scheme,
        secret,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with Flask 3.1: app.secret_key = "dev"; session["user_id"] = 1;
    // the cookie set by a response.
    const FLASK: &str = "eyJ1c2VyX2lkIjoxfQ.aTIIFQ.c10QmH5qzb4x18EjsnTVGLdGgRU";
    // URLSafeTimedSerializer("dev").dumps({"report": "r-1"})
    const TIMED: &str = "eyJyZXBvcnQiOiJyLTEifQ.aTIIFQ.KN51Z6FJBCxxyPG72nWIPW79dhM";
    // Signer("dev").sign("hello") and TimestampSigner("dev").sign("hello")
    const SIGNER: &str = "hello.2cURi20mTJAvx85Zz0tE55vAVvg";
    const TIMESTAMP_SIGNER: &str = "hello.aTIIFQ.pxi6NktqGz4BTNY7Ovqy8kcuOxY";
    // A compressed payload: URLSafeSerializer("dev").dumps({"k": "x" * 100})
    const COMPRESSED: &str = ".eJyrVspWslKqoANQqgUAQEsxBg.lAmIV5uT_V-E5nr1xrFAu6UJZ_k";

    fn recovers(token: &str, cookie: Option<&str>, secret: &[u8]) -> bool {
        let signed = Signed::parse(token).expect("an itsdangerous value");
        signed
            .crack_targets(cookie)
            .iter()
            .any(|t| super::super::crack::verify(&t.scheme, secret, &t.message, &t.signature))
    }

    #[test]
    fn the_libraries_defaults_are_the_hypotheses() {
        assert!(recovers(FLASK, Some("session"), b"dev"));
        assert!(recovers(TIMED, None, b"dev"));
        assert!(recovers(SIGNER, None, b"dev"));
        assert!(recovers(TIMESTAMP_SIGNER, None, b"dev"));
        assert!(recovers(COMPRESSED, None, b"dev"));
        assert!(!recovers(FLASK, Some("session"), b"devx"));
    }

    #[test]
    fn payloads_decode_compressed_or_not_and_timestamps_read() {
        let flask = Signed::parse(FLASK).unwrap();
        assert_eq!(flask.json(), Some(serde_json::json!({"user_id": 1})));
        assert_eq!(flask.timestamp, Some(1_764_886_549));
        let compressed = Signed::parse(COMPRESSED).unwrap();
        assert_eq!(compressed.timestamp, None);
        assert_eq!(compressed.json().unwrap()["k"].as_str().unwrap().len(), 100);
        assert_eq!(Signed::parse(SIGNER).unwrap().json(), None);
        assert_eq!(encode_timestamp(1_764_886_549), "aTIIFQ");
    }

    #[test]
    fn resigning_and_dumping_make_what_the_libraries_make() {
        let flask = Signed::parse(FLASK).unwrap();
        let scheme = &flask.schemes(Some("session"))[0];
        assert_eq!(
            flask.resigned(scheme, b"dev", flask.timestamp).as_deref(),
            Some(FLASK)
        );
        let timed = Signed::parse(TIMED).unwrap();
        let scheme = Scheme::Itsdangerous {
            derivation: Derivation::DjangoConcat,
            salt: SERIALIZER_SALT.into(),
        };
        let made = dumps(
            &serde_json::json!({"report": "r-1"}),
            timed.timestamp,
            &scheme,
            b"dev",
        );
        assert_eq!(made.as_deref(), Some(TIMED));
    }

    #[test]
    fn other_shapes_are_not_signed_values() {
        assert!(Signed::parse("abc.def").is_none());
        assert!(
            Signed::parse("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz0")
                .is_some_and(|s| s.timestamp.is_none())
        );
        assert!(Signed::parse(".2cURi20mTJAvx85Zz0tE55vAVvg").is_none());
    }
}
