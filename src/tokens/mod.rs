//! Signed tokens as an API hands them out: JWTs, Flask session cookies and
//! itsdangerous-signed values — reading them without the secret, making
//! them (with a recovered secret, or forged without one), published public
//! keys, and the offline recovery of weak HMAC secrets ([`crack`]).

pub mod crack;
pub mod itsdangerous;
pub mod jwt;
pub mod keys;

use base64::Engine as _;

/// Base64url without padding, as JWTs and itsdangerous write it.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url with or without padding (and tolerates the standard
/// alphabet, which some encoders use).
pub(crate) fn unb64url(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .ok()
}

/// A recovered secret as reports show it: its first and last characters
/// only (`s…t`); a secret of three characters or fewer shows none.
pub fn masked(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let chars: Vec<char> = text.chars().collect();
    match chars.as_slice() {
        [first, .., last] if chars.len() >= 4 => format!("{first}…{last}"),
        _ => "…".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_to_their_first_and_last_characters() {
        assert_eq!(masked(b"secret"), "s…t");
        assert_eq!(masked(b"493817"), "4…7");
        assert_eq!(masked(b"dev"), "…");
        assert_eq!(masked(b""), "…");
        assert_eq!(masked("clé secrète".as_bytes()), "c…e");
    }

    #[test]
    fn base64url_round_trips_with_or_without_padding() {
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
        assert_eq!(unb64url("-_8").unwrap(), b"\xfb\xff");
        assert_eq!(unb64url("-_8=").unwrap(), b"\xfb\xff");
        assert_eq!(unb64url("+/8").unwrap(), b"\xfb\xff");
        assert!(unb64url("!!").is_none());
    }
}
