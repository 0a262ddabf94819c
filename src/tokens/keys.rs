//! Public keys an API publishes (a JWKS, a PEM file), as the bytes a
//! confused verifier would use as an HMAC secret: the key's PEM text in the
//! forms libraries write it.

use base64::Engine as _;
use serde_json::Value;

use super::unb64url;

/// A published public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: Option<String>,
    /// `RSA` or `EC`.
    pub kty: String,
    /// SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// PKCS#1 `RSAPublicKey`, DER (RSA only).
    pub pkcs1: Option<Vec<u8>>,
    /// The PEM text exactly as the API published it, when it did.
    pub published_pem: Option<String>,
    /// Where it was found.
    pub source: String,
}

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let first = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_length(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER from big-endian unsigned bytes.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    let mut content = Vec::new();
    if bytes.get(first).is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes.get(first..).unwrap_or(&[0]));
    if content.is_empty() {
        content.push(0);
    }
    der(0x02, &content)
}

fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn bit_string(content: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(content);
    der(0x03, &bits)
}

const RSA_ENCRYPTION: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

fn curve_oid(crv: &str) -> Option<&'static [u8]> {
    match crv {
        "P-256" => Some(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        "P-384" => Some(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
        "P-521" => Some(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
        _ => None,
    }
}

/// PEM armour as OpenSSL and Python's `cryptography` write it: 64-column
/// lines and a final newline.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl PublicKey {
    /// A key from one JWK (`kty` RSA or EC); others are not usable here.
    pub fn from_jwk(jwk: &Value, source: &str) -> Option<PublicKey> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        let kid = field("kid").map(String::from);
        match field("kty")? {
            "RSA" => {
                let n = unb64url(field("n")?)?;
                let e = unb64url(field("e")?)?;
                let pkcs1 = sequence(&[der_uint(&n), der_uint(&e)]);
                let algorithm = sequence(&[RSA_ENCRYPTION.to_vec(), vec![0x05, 0x00]]);
                let spki = sequence(&[algorithm, bit_string(&pkcs1)]);
                Some(PublicKey {
                    kid,
                    kty: "RSA".into(),
                    spki,
                    pkcs1: Some(pkcs1),
                    published_pem: None,
                    source: source.to_string(),
                })
            }
            "EC" => {
                let curve = curve_oid(field("crv")?)?;
                let mut point = vec![0x04];
                point.extend(unb64url(field("x")?)?);
                point.extend(unb64url(field("y")?)?);
                let algorithm = sequence(&[EC_PUBLIC_KEY.to_vec(), curve.to_vec()]);
                Some(PublicKey {
                    kid,
                    kty: "EC".into(),
                    spki: sequence(&[algorithm, bit_string(&point)]),
                    pkcs1: None,
                    published_pem: None,
                    source: source.to_string(),
                })
            }
            _ => None,
        }
    }

    /// The usable keys of a JWK Set (`{"keys": [...]}`), or of a lone JWK.
    pub fn from_jwks(document: &Value, source: &str) -> Vec<PublicKey> {
        match document.get("keys").and_then(Value::as_array) {
            Some(keys) => keys
                .iter()
                .take(32)
                .filter_map(|k| PublicKey::from_jwk(k, source))
                .collect(),
            None => PublicKey::from_jwk(document, source).into_iter().collect(),
        }
    }

    /// Every `PUBLIC KEY` / `RSA PUBLIC KEY` PEM block in a text.
    pub fn from_pem_text(text: &str, source: &str) -> Vec<PublicKey> {
        let mut keys = Vec::new();
        for label in ["PUBLIC KEY", "RSA PUBLIC KEY"] {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let mut rest = text;
            while let Some(at) = rest.find(&begin) {
                let after = &rest[at + begin.len()..];
                let Some(stop) = after.find(&end) else { break };
                let body: String = after[..stop]
                    .replace("\\n", "\n")
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let block_end = at + begin.len() + stop + end.len();
                let mut published = rest[at..block_end].replace("\\n", "\n");
                if rest[block_end..].starts_with('\n') || rest[block_end..].starts_with("\\n") {
                    published.push('\n');
                }
                if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
                    let (spki, pkcs1) = if label == "RSA PUBLIC KEY" {
                        let algorithm = sequence(&[RSA_ENCRYPTION.to_vec(), vec![0x05, 0x00]]);
                        (sequence(&[algorithm, bit_string(&der)]), Some(der))
                    } else {
                        (der, None)
                    };
                    keys.push(PublicKey {
                        kid: None,
                        kty: if pkcs1.is_some() {
                            "RSA".into()
                        } else {
                            "PEM".into()
                        },
                        spki,
                        pkcs1,
                        published_pem: Some(published),
                        source: source.to_string(),
                    });
                }
                rest = &rest[block_end..];
            }
        }
        keys
    }

    /// The byte strings a verifier that mistakes this key for an HMAC
    /// secret may be using: the published text, then the key's PEM forms
    /// with and without the final newline.
    pub fn hmac_secrets(&self) -> Vec<Vec<u8>> {
        let mut forms: Vec<String> = Vec::new();
        if let Some(published) = &self.published_pem {
            forms.push(published.clone());
        }
        forms.push(pem("PUBLIC KEY", &self.spki));
        if let Some(pkcs1) = &self.pkcs1 {
            forms.push(pem("RSA PUBLIC KEY", pkcs1));
        }
        let mut secrets: Vec<Vec<u8>> = Vec::new();
        for form in forms {
            for variant in [form.clone(), form.trim_end().to_string()] {
                if !secrets.iter().any(|s| *s == variant.as_bytes()) {
                    secrets.push(variant.into_bytes());
                }
            }
        }
        secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Python's cryptography: an RSA-2048 key's public_bytes(PEM,
    // SubjectPublicKeyInfo), and the same key as a JWK (PyJWT's
    // RSAAlgorithm.to_jwk).
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwUy+yXELfCx4l/eEGz6r\n9QB3EolGxpUM5O2gTkutQyczRttLnu5hNtoGRYxmyipVKOqxhIERqKg7Mv2VqHO/\np70+0KXqqaYq8q8snc+EDzTzpp8buJTSUh/0Z0HbhbQMo/iB6E0BpDN/MelClFsb\nwYdbGINHm1gVK3v4SO8q6fOd8CKNwMkiLTHaJS7y2i3fjDXrdCXXJ3t5L9zgS5LV\n0nAl5gAYrlemccm1nxd7NcIkE7icG0HhBNMUo/iBHfylKl4DKr7QLp9LsBIeQSiu\nQFYTukz1wiYr8hImbo3MME1ABYENE3UMUbSRLTs6CKVA3jBswBfRmYCFuT2MDkYw\ntQIDAQAB\n-----END PUBLIC KEY-----\n";
    const JWK: &str = r#"{"kty":"RSA","kid":"k1","n":"wUy-yXELfCx4l_eEGz6r9QB3EolGxpUM5O2gTkutQyczRttLnu5hNtoGRYxmyipVKOqxhIERqKg7Mv2VqHO_p70-0KXqqaYq8q8snc-EDzTzpp8buJTSUh_0Z0HbhbQMo_iB6E0BpDN_MelClFsbwYdbGINHm1gVK3v4SO8q6fOd8CKNwMkiLTHaJS7y2i3fjDXrdCXXJ3t5L9zgS5LV0nAl5gAYrlemccm1nxd7NcIkE7icG0HhBNMUo_iBHfylKl4DKr7QLp9LsBIeQSiuQFYTukz1wiYr8hImbo3MME1ABYENE3UMUbSRLTs6CKVA3jBswBfRmYCFuT2MDkYwtQ","e":"AQAB"}"#;

    #[test]
    fn a_jwk_becomes_the_pem_libraries_write() {
        let jwk: Value = serde_json::from_str(JWK).unwrap();
        let key = PublicKey::from_jwk(&jwk, "jwks").expect("an RSA key");
        assert_eq!(key.kid.as_deref(), Some("k1"));
        assert_eq!(pem("PUBLIC KEY", &key.spki), PEM);
        let secrets = key.hmac_secrets();
        assert!(secrets.contains(&PEM.as_bytes().to_vec()));
        assert!(secrets.contains(&PEM.trim_end().as_bytes().to_vec()));
        assert_eq!(
            secrets.len(),
            4,
            "SPKI and PKCS#1, each with and without the newline"
        );
        let set = serde_json::json!({"keys": [jwk, {"kty": "oct", "k": "x"}]});
        assert_eq!(PublicKey::from_jwks(&set, "jwks").len(), 1);
    }

    #[test]
    fn published_pem_is_read_back_to_the_same_key() {
        let from_text = PublicKey::from_pem_text(&format!("key: {PEM}"), "pem");
        assert_eq!(from_text.len(), 1);
        let jwk: Value = serde_json::from_str(JWK).unwrap();
        assert_eq!(
            from_text[0].spki,
            PublicKey::from_jwk(&jwk, "jwks").unwrap().spki
        );
        assert_eq!(from_text[0].published_pem.as_deref(), Some(PEM));
        // JSON-escaped newlines, as an API returning the key in a string has them.
        let escaped = serde_json::json!({"public_key": PEM}).to_string();
        let from_json = PublicKey::from_pem_text(&escaped, "json");
        assert_eq!(from_json[0].spki, from_text[0].spki);
    }

    #[test]
    fn ec_keys_and_integers_encode_canonically() {
        assert_eq!(der_uint(&[0x00, 0x7f]), vec![0x02, 0x01, 0x7f]);
        assert_eq!(der_uint(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        let mut long = Vec::new();
        der_length(300, &mut long);
        assert_eq!(long, vec![0x82, 0x01, 0x2c]);
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AQ", "y": "Ag"});
        let key = PublicKey::from_jwk(&ec, "jwks").unwrap();
        assert!(key.spki.ends_with(&[0x03, 0x04, 0x00, 0x04, 0x01, 0x02]));
    }
}
