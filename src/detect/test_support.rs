//! Fixtures and runners shared by the detector tests.

use serde_json::Value;

use super::{
    find_debug_output, find_password_hashes, find_pii, find_secrets, DebugKind, Detection,
    HashKind, PiiKind, SecretKind,
};

pub(super) const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub(super) const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub(super) const GIT_SHA: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
pub(super) const SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
pub(super) const JWT_IO: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
pub(super) const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

/// Five lines of base64 key material, as inside a PEM block.
pub(super) fn pem_body() -> String {
    let line = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi1b2mq0lm0Ol3o8Wd2Kp0QxZ7y";
    [line; 5].join("\n")
}

/// Every detection's offsets must slice back to its matched text.
pub(super) fn consistent<K: std::fmt::Debug>(body: &str, found: &[Detection<K>]) {
    for d in found {
        assert_eq!(&body[d.start..d.end], d.matched, "{d:?}");
    }
}

/// Runs a body detector as the checks do (with the parsed JSON when the body
/// is JSON) and checks the offsets of what it found.
fn run_on_body<K: std::fmt::Debug>(
    body: &str,
    detector: fn(&str, Option<&Value>) -> Vec<Detection<K>>,
) -> Vec<Detection<K>> {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let found = detector(body, parsed.as_ref());
    consistent(body, &found);
    found
}

pub(super) fn secrets(body: &str) -> Vec<Detection<SecretKind>> {
    run_on_body(body, find_secrets)
}

pub(super) fn pii(body: &str) -> Vec<Detection<PiiKind>> {
    run_on_body(body, find_pii)
}

pub(super) fn hashes(body: &str) -> Vec<Detection<HashKind>> {
    run_on_body(body, find_password_hashes)
}

pub(super) fn debug(body: &str) -> Vec<Detection<DebugKind>> {
    let found = find_debug_output(body, None);
    consistent(body, &found);
    found
}

pub(super) fn kinds<K: Copy>(found: &[Detection<K>]) -> Vec<K> {
    found.iter().map(|d| d.kind).collect()
}

pub(super) fn matched<K>(found: &[Detection<K>]) -> Vec<&str> {
    found.iter().map(|d| d.matched.as_str()).collect()
}
