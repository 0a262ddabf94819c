//! JSON Web Tokens (JWS compact form): read without the key, and made —
//! signed with an HMAC key, with an empty signature, or with another
//! token's signature kept.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::crack::{Digest, Scheme, Target};
use super::{b64url, unb64url};

/// A compact JWS: header and payload are JSON objects; the signature may be
/// empty (`alg: none`).
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    pub raw: String,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// The segments as sent: the signature covers `header.claims`.
    pub header_segment: String,
    pub claims_segment: String,
    pub signature_segment: String,
    pub signature: Vec<u8>,
}

static SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").expect("valid regex")
});

/// Every JWT in a text (a header value, a cookie, a body), in order.
pub fn find_all(text: &str) -> Vec<Jwt> {
    SHAPE
        .find_iter(text)
        .filter_map(|m| Jwt::parse(m.as_str()))
        .collect()
}

fn object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = unb64url(segment)?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

impl Jwt {
    /// A JWS in compact form, or `None` (a JWE has five parts and is not one).
    pub fn parse(text: &str) -> Option<Jwt> {
        let text = text.trim();
        let mut parts = text.split('.');
        let (header_segment, claims_segment, signature_segment) =
            (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || text.len() > 16 * 1024 {
            return None;
        }
        let header = object(header_segment)?;
        header.get("alg")?.as_str()?;
        let claims = object(claims_segment)?;
        let signature = unb64url(signature_segment)?;
        Some(Jwt {
            raw: text.to_string(),
            header,
            claims,
            header_segment: header_segment.to_string(),
            claims_segment: claims_segment.to_string(),
            signature_segment: signature_segment.to_string(),
            signature,
        })
    }

    pub fn alg(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// What the signature covers.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", self.header_segment, self.claims_segment)
    }

    /// The HMAC digest of an `HS256`/`HS384`/`HS512` token.
    pub fn hmac_digest(&self) -> Option<Digest> {
        hmac_digest(self.alg())
    }

    /// Signed with a public-key algorithm (RSA, ECDSA, RSA-PSS, EdDSA).
    pub fn is_asymmetric(&self) -> bool {
        let alg = self.alg();
        ["RS", "ES", "PS"].iter().any(|p| alg.starts_with(p)) || alg == "EdDSA"
    }

    /// The offline recovery target of an HMAC-signed token.
    pub fn crack_target(&self) -> Option<Target> {
        let digest = self.hmac_digest()?;
        Some(Target {
            scheme: Scheme::Hmac(digest),
            message: self.signing_input().into_bytes(),
            signature: self.signature.clone(),
        })
    }

    /// A numeric claim (`exp`, `iat`, `nbf`), in seconds since the epoch.
    pub fn time_claim(&self, name: &str) -> Option<i64> {
        let value = self.claims.get(name)?;
        value.as_i64().or_else(|| value.as_f64().map(|f| f as i64))
    }
}

/// The HMAC digest an `alg` names.
pub fn hmac_digest(alg: &str) -> Option<Digest> {
    match alg {
        "HS256" => Some(Digest::Sha256),
        "HS384" => Some(Digest::Sha384),
        "HS512" => Some(Digest::Sha512),
        _ => None,
    }
}

/// How a made token is signed.
#[derive(Debug, Clone, Copy)]
pub enum Signature<'a> {
    /// HMAC with this key under the header's `HSxxx` algorithm.
    Hmac(Digest, &'a [u8]),
    /// No signature at all (`header.payload.`).
    Empty,
    /// Another token's signature segment, kept as it was.
    Kept(&'a str),
}

fn segment(map: &Map<String, Value>) -> String {
    b64url(Value::Object(map.clone()).to_string().as_bytes())
}

/// A token from a header and claims, signed as asked.
pub fn encode(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    signature: Signature<'_>,
) -> String {
    let input = format!("{}.{}", segment(header), segment(claims));
    let signature = match signature {
        Signature::Hmac(digest, key) => {
            super::crack::sign(&Scheme::Hmac(digest), key, input.as_bytes())
                .map(|mac| b64url(&mac))
                .unwrap_or_default()
        }
        Signature::Empty => String::new(),
        Signature::Kept(segment) => segment.to_string(),
    };
    format!("{input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // A token PyJWT made: jwt.encode({"sub": "1", "name": "alice"}, "secret", "HS256").
    const PYJWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwibmFtZSI6ImFsaWNlIn0.zt_M5YceJZlb9thUZyp6bDyEOjE8WPJMQ5ZpdAgFkOE";

    #[test]
    fn tokens_are_read_and_their_secret_checks_out() {
        let jwt = Jwt::parse(PYJWT).expect("a JWT");
        assert_eq!(jwt.alg(), "HS256");
        assert_eq!(jwt.claims["name"], "alice");
        let target = jwt.crack_target().expect("an HMAC token");
        assert!(super::super::crack::verify(
            &target.scheme,
            b"secret",
            &target.message,
            &target.signature
        ));
        assert!(!jwt.is_asymmetric());
        assert_eq!(find_all(&format!("Bearer {PYJWT}; x")), vec![jwt]);
    }

    #[test]
    fn made_tokens_parse_back_with_the_chosen_signature() {
        let jwt = Jwt::parse(PYJWT).unwrap();
        let signed = encode(
            &jwt.header,
            &jwt.claims,
            Signature::Hmac(Digest::Sha256, b"secret"),
        );
        assert_eq!(signed, PYJWT, "same JSON, same key: the very same token");
        let mut none = jwt.header.clone();
        none.insert("alg".into(), "none".into());
        let unsigned = encode(&none, &jwt.claims, Signature::Empty);
        assert!(unsigned.ends_with('.'));
        let parsed = Jwt::parse(&unsigned).unwrap();
        assert_eq!(parsed.alg(), "none");
        assert!(parsed.signature.is_empty());
        let kept = encode(
            &jwt.header,
            &jwt.claims,
            Signature::Kept(&jwt.signature_segment),
        );
        assert_eq!(kept, PYJWT);
    }

    #[test]
    fn other_shapes_are_not_jwts() {
        assert!(Jwt::parse("a.b.c").is_none());
        assert!(Jwt::parse("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig.x.y").is_none());
        // A header without `alg` is not a JWS header.
        let no_alg = format!("{}.{}.", b64url(br#"{"typ":"JWT"}"#), b64url(br#"{"a":1}"#));
        assert!(Jwt::parse(&no_alg).is_none());
    }
}
