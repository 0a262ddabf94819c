//! Cloud keys, private keys, JWTs and vendor tokens.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::fields::Fields;
use super::text::{
    b64_run, contains_ci, floor_boundary, headers_until_next, is_b64, is_word, longest_b64_run,
    prev_byte,
};
use super::{re, Collector, Detection, SecretKind};

/// How far (bytes, either side) from an AWS access key id a 40-character
/// string is taken to be its secret access key.
const AWS_SECRET_WINDOW: usize = 200;

static AWS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?-u:\b)"));
/// A label that names an AWS secret access key, followed by the separator
/// that precedes its value: `aws_secret_access_key = `, `"SecretAccessKey": "`,
/// `<SecretAccessKey>`.
static AWS_SECRET_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i:(?:aws_?)?secret_?access_?key|aws_?secret_?key)(?:\\?["']|>)?[ \t]*(?:=>|[:=])?[ \t]*(?:\\?["'])?"#,
    )
});
static PRIVATE_KEY_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")
});
static JWT: LazyLock<Regex> =
    LazyLock::new(|| re(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"));
static API_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"gh[pousr]_[A-Za-z0-9]{36}",
        r"|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        r"|xox[bpoasr]-[0-9]{6,}-[0-9A-Za-z-]{10,}",
        r"|[sr]k_live_[0-9A-Za-z]{24,}",
        r"|AIza[0-9A-Za-z_-]{35}",
        r"|glpat-[0-9A-Za-z_-]{20}",
        r"|npm_[A-Za-z0-9]{36}",
        r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        r"|sk-ant-api[0-9]{2}-[A-Za-z0-9_-]{80,}",
        r"|sk-(?:proj-)?[A-Za-z0-9_-]{0,80}T3BlbkFJ[A-Za-z0-9_-]{16,}",
        r"|https:\\?/\\?/hooks\.slack\.com\\?/services\\?/T[A-Z0-9]{8,}\\?/B[A-Z0-9]{8,}\\?/[A-Za-z0-9]{24}",
    ))
});

/// Cloud keys, private keys, JWTs and high-precision vendor tokens.
///
/// An AWS secret access key (40 base64 characters) is only reported within
/// ±200 bytes of an AWS access key id, right after a label naming it
/// (`aws_secret_access_key=`, `"SecretAccessKey": "`, `<SecretAccessKey>`),
/// or as the whole value of a JSON key containing `secret` and `aws` or
/// `access`; and it must mix upper case, lower case and a digit or `+`/`/`
/// (so a 40-hex git SHA-1 never qualifies). Private keys need 40+ base64
/// characters of key material after the `BEGIN … PRIVATE KEY` line; the
/// match spans to the `END` line when there is one. JWT headers must
/// base64url-decode to a JSON object with an `alg`.
pub fn find_secrets(body: &str, json: Option<&Value>) -> Vec<Detection<SecretKind>> {
    let fields = Fields::build(body, json);
    let mut out = Collector::new(body, fields.as_ref());
    let b = body.as_bytes();

    // AWS access key ids, and their secrets close by.
    let mut key_ids = Vec::new();
    for m in AWS_KEY_ID.find_iter(body) {
        if prev_byte(b, m.start()).is_some_and(is_word) {
            continue;
        }
        key_ids.push((m.start(), m.end()));
        out.push(SecretKind::AwsAccessKeyId, m.start(), m.end());
    }
    for &(s, e) in &key_ids {
        let lo = s.saturating_sub(AWS_SECRET_WINDOW);
        let hi = (e + AWS_SECRET_WINDOW).min(b.len());
        let mut i = lo;
        // A run cut by the window's start is a longer string: skip it.
        if i > 0 && is_b64(b[i - 1]) {
            i = b64_run(b, i, 64).0;
        }
        while i < hi {
            let (end, n) = b64_run(b, i, 64);
            if n == 0 {
                i += 1;
                continue;
            }
            if aws_secret_shape(b, i, end, n) {
                out.push(SecretKind::AwsSecretAccessKey, i, end);
            }
            i = end;
        }
    }
    for m in AWS_SECRET_LABEL.find_iter(body) {
        let s = m.end();
        if s > 0 && is_b64(b[s - 1]) {
            continue; // the label ran straight into the value: no separator
        }
        let (end, n) = b64_run(b, s, 64);
        if aws_secret_shape(b, s, end, n) {
            out.push(SecretKind::AwsSecretAccessKey, s, end);
        }
    }
    if let Some(f) = &fields {
        for leaf in f.leaves.iter().filter(|l| l.string) {
            let Some(key) = f.key(leaf) else { continue };
            if !(contains_ci(key, "secret")
                && (contains_ci(key, "aws") || contains_ci(key, "access")))
            {
                continue;
            }
            let (end, n) = b64_run(b, leaf.start, 64);
            if end == leaf.end && aws_secret_shape(b, leaf.start, end, n) {
                out.push(SecretKind::AwsSecretAccessKey, leaf.start, leaf.end);
            }
        }
    }

    // Private keys: a key's material ends before the next header.
    for (start, header_end, next) in headers_until_next(&PRIVATE_KEY_HEADER, body) {
        if let Some(end) = private_key_extent(body, header_end, next) {
            out.push(SecretKind::PrivateKey, start, end);
        }
    }

    // JWTs.
    for m in JWT.find_iter(body) {
        if prev_byte(b, m.start()).is_some_and(|c| is_word(c) || c == b'-' || c == b'.') {
            continue;
        }
        let header = &body[m.start()..m.start() + m.as_str().find('.').unwrap_or(0)];
        if jwt_header_ok(header) {
            out.push(SecretKind::Jwt, m.start(), m.end());
        }
    }

    // Vendor tokens.
    for m in API_TOKEN.find_iter(body) {
        let glued_before = prev_byte(b, m.start()).is_some_and(|c| is_word(c) || c == b'-');
        let glued_after = b.get(m.end()).is_some_and(|&c| is_word(c) || c == b'-');
        if !glued_before && !glued_after {
            out.push(SecretKind::GenericApiToken, m.start(), m.end());
        }
    }

    out.finish()
}

/// A 40-character AWS secret: exactly 40 base64 characters, not padded, and
/// mixing upper case, lower case and a digit or `+`/`/`, with at least one
/// character outside hex (real keys are 30 random bytes; hex digests,
/// words and identifiers fail).
fn aws_secret_shape(b: &[u8], start: usize, end: usize, n: usize) -> bool {
    if n != 40 || b.get(end) == Some(&b'=') || b.get(end).is_some_and(|&c| is_word(c)) {
        return false;
    }
    let text = &b[start..end];
    let upper = text.iter().any(u8::is_ascii_uppercase);
    let lower = text.iter().any(u8::is_ascii_lowercase);
    let digit_or_sym = text
        .iter()
        .any(|&c| c.is_ascii_digit() || c == b'+' || c == b'/');
    let non_hex = text
        .iter()
        .any(|&c| (c.is_ascii_alphabetic() && !c.is_ascii_hexdigit()) || c == b'+' || c == b'/');
    upper && lower && digit_or_sym && non_hex
}

/// End of the private key whose header ends at `header_end` (looking no
/// further than `next`), or `None` when no key material follows (a
/// placeholder or documentation).
fn private_key_extent(body: &str, header_end: usize, next: usize) -> Option<usize> {
    let b = body.as_bytes();
    let limit = floor_boundary(body, (header_end + 64 * 1024).min(next));
    let rest = &body[header_end..limit];
    let (material_end, end) = match rest.find("-----END ") {
        Some(p) => {
            let marker = header_end + p;
            let close = body[marker + 9..floor_boundary(body, marker + 9 + 64)]
                .find("-----")
                .map(|q| marker + 9 + q + 5);
            (marker, close.unwrap_or(marker + 9))
        }
        None => (
            floor_boundary(body, (header_end + 4096).min(next)),
            header_end,
        ),
    };
    (longest_b64_run(b, header_end, material_end) >= 40).then_some(end)
}

fn jwt_header_ok(segment: &str) -> bool {
    if segment.len() > 4096 {
        return false;
    }
    let Some(raw) = base64url_decode(segment) else {
        return false;
    };
    match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Object(map)) => map.get("alg").is_some_and(Value::is_string),
        _ => false,
    }
}

/// Decodes unpadded (or padded) base64url; standard `+`/`/` are accepted too.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s.as_bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    fn b64url(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    // -- secrets: AWS -------------------------------------------------------

    #[test]
    fn aws_key_id_and_nearby_secret() {
        let body = format!(r#"{{"AccessKeyId": "{AWS_ID}", "SecretAccessKey": "{AWS_SECRET}"}}"#);
        let found = secrets(&body);
        assert_eq!(
            kinds(&found),
            [SecretKind::AwsAccessKeyId, SecretKind::AwsSecretAccessKey]
        );
        assert_eq!(found[0].field.as_deref(), Some("AccessKeyId"));
        assert_eq!(found[1].matched, AWS_SECRET);
        assert_eq!(found[1].field.as_deref(), Some("SecretAccessKey"));
    }

    #[test]
    fn aws_key_id_prefixes() {
        for prefix in [
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
        ] {
            let id = format!("{prefix}Y34FZKBOKMUTVV7A");
            let found = secrets(&format!("key={id};"));
            assert_eq!(matched(&found), [id.as_str()]);
        }
        // Other prefixes, glued text and wrong lengths do not count.
        for body in [
            "ABIAY34FZKBOKMUTVV7A",
            "XAKIAY34FZKBOKMUTVV7A",
            "AKIAY34FZKBOKMUTVV7AB",
            "AKIAY34FZKBOKMUTVV7",
            "akiay34fzkbokmutvv7a",
        ] {
            assert!(secrets(body).is_empty(), "{body}");
        }
    }

    #[test]
    fn aws_key_id_after_json_escape() {
        let body = format!(r#"{{"log": "creds:\n{AWS_ID}\n"}}"#);
        assert_eq!(matched(&secrets(&body)), [AWS_ID]);
    }

    /// A secret near its key id, in a plain config file and in JSON with
    /// escaped slashes (the match is the text as it stands in the body).
    #[test]
    fn aws_secret_near_its_key_id() {
        let escaped = AWS_SECRET.replace('/', "\\/");
        for (body, secret) in [
            (
                format!("[default]\naws_access_key_id = {AWS_ID}\nregion = us-east-1\nsecret = {AWS_SECRET}\n"),
                AWS_SECRET,
            ),
            (format!(r#"{{"id": "{AWS_ID}", "secret": "{escaped}"}}"#), escaped.as_str()),
        ] {
            let found = secrets(&body);
            assert!(
                found.iter().any(|d| d.kind == SecretKind::AwsSecretAccessKey && d.matched == secret),
                "{body}: {found:?}"
            );
        }
    }

    #[test]
    fn aws_secret_by_label_without_key_id() {
        for body in [
            format!("AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"),
            format!("<SecretAccessKey>{AWS_SECRET}</SecretAccessKey>"),
            format!("aws_secret_access_key: '{AWS_SECRET}'"),
        ] {
            let found = secrets(&body);
            assert_eq!(kinds(&found), [SecretKind::AwsSecretAccessKey], "{body}");
            assert_eq!(found[0].matched, AWS_SECRET);
        }
    }

    #[test]
    fn aws_secret_by_json_key_name() {
        let body = format!(r#"{{"config": {{"awsSecret": "{AWS_SECRET}", "other": 1}}}}"#);
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::AwsSecretAccessKey]);
        assert_eq!(found[0].field.as_deref(), Some("awsSecret"));
        // The same value under an unrelated key is just a string.
        let body = format!(r#"{{"config": {{"note": "{AWS_SECRET}"}}}}"#);
        assert!(secrets(&body).is_empty());
    }

    #[test]
    fn bare_forty_character_strings_are_not_aws_secrets() {
        // No key id nearby, no label: never a secret.
        assert!(secrets(&format!(r#"{{"value": "{AWS_SECRET}"}}"#)).is_empty());
        assert!(secrets(AWS_SECRET).is_empty());
        // A git SHA-1 right next to a key id is still not a secret.
        let body =
            format!(r#"{{"key": "{AWS_ID}", "commit": "{GIT_SHA}", "etag": "{SHA256_HEX}"}}"#);
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        let upper = GIT_SHA.to_ascii_uppercase();
        let body = format!("{AWS_ID} {upper}");
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        // Longer base64 (an image) near a key id is not a secret either.
        let blob = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
        let body = format!(r#"{{"key": "{AWS_ID}", "img": "data:image/png;base64,{blob}"}}"#);
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        // A 40-letter identifier without digits or symbols is not a secret.
        let body = format!("{AWS_ID} ThisIsAVeryLongCamelCaseIdentifierForTest");
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        // Far away from the key id: not taken.
        let body = format!("{AWS_ID}{}{AWS_SECRET}", " ".repeat(400));
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
    }

    // -- secrets: private keys ----------------------------------------------

    #[test]
    fn private_keys_all_flavours() {
        for kind in ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "] {
            let body = format!(
                "-----BEGIN {kind}PRIVATE KEY-----\n{}\n-----END {kind}PRIVATE KEY-----\n",
                pem_body()
            );
            let found = secrets(&body);
            assert_eq!(kinds(&found), [SecretKind::PrivateKey], "{kind}");
            assert!(found[0]
                .matched
                .ends_with(&format!("-----END {kind}PRIVATE KEY-----")));
        }
        let pgp = format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----",
            pem_body()
        );
        assert_eq!(kinds(&secrets(&pgp)), [SecretKind::PrivateKey]);
    }

    #[test]
    fn private_key_json_escaped() {
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            pem_body()
        );
        let body = serde_json::to_string(&json!({ "tls": { "key": pem } })).unwrap();
        assert!(body.contains("\\n"));
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::PrivateKey]);
        assert_eq!(found[0].field.as_deref(), Some("key"));
        assert!(found[0]
            .matched
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\\n"));
        assert!(found[0].matched.ends_with("-----END RSA PRIVATE KEY-----"));
        // With escaped slashes (PHP's json_encode) too.
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            "MIIE/pAI/BAA/KCA/QEA/3Tz2/mr7S/ZiAM/fQyu/vBjM/9Oi1/b2mq/0lm0/Ol3o"
        );
        let body = serde_json::to_string(&json!({ "key": pem }))
            .unwrap()
            .replace('/', "\\/");
        assert_eq!(kinds(&secrets(&body)), [SecretKind::PrivateKey]);
    }

    #[test]
    fn private_key_header_without_end_still_counts_with_material() {
        let body = format!("-----BEGIN RSA PRIVATE KEY-----\n{}", pem_body());
        let found = secrets(&body);
        assert_eq!(matched(&found), ["-----BEGIN RSA PRIVATE KEY-----"]);
    }

    #[test]
    fn public_keys_certificates_and_placeholders_are_not_private_keys() {
        let material = pem_body();
        for body in [
            format!("-----BEGIN PUBLIC KEY-----\n{material}\n-----END PUBLIC KEY-----"),
            format!("-----BEGIN RSA PUBLIC KEY-----\n{material}\n-----END RSA PUBLIC KEY-----"),
            format!("-----BEGIN CERTIFICATE-----\n{material}\n-----END CERTIFICATE-----"),
            format!("-----BEGIN PGP PUBLIC KEY BLOCK-----\n{material}\n-----END PGP PUBLIC KEY BLOCK-----"),
            format!("-----BEGIN CERTIFICATE REQUEST-----\n{material}\n-----END CERTIFICATE REQUEST-----"),
            format!("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{material} user@host"),
            "Paste your key: -----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----".to_string(),
            r#"{"hint": "-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----"}"#.to_string(),
        ] {
            assert!(
                !secrets(&body).iter().any(|d| d.kind == SecretKind::PrivateKey),
                "{body}"
            );
        }
    }

    // -- secrets: JWT ----------------------------------------------------------

    #[test]
    fn jwt_detected_with_decodable_header() {
        let body = format!(r#"{{"access_token": "{JWT_IO}", "token_type": "Bearer"}}"#);
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::Jwt]);
        assert_eq!(found[0].matched, JWT_IO);
        assert_eq!(found[0].field.as_deref(), Some("access_token"));
        // In a header-like text line too.
        assert_eq!(
            matched(&secrets(&format!("Authorization: Bearer {JWT_IO}\r\n"))),
            [JWT_IO]
        );
    }

    #[test]
    fn jwt_rejects_headers_without_alg_and_lookalikes() {
        let no_alg = b64url(br#"{"typ":"JWT","kid":"abc"}"#);
        let payload = b64url(br#"{"sub":"123"}"#);
        let body = format!("{no_alg}.{payload}.SflKxwRJSMeKKF2QT4fw");
        assert!(secrets(&body).is_empty());
        // Header that is not JSON at all.
        let body = format!("eyJub3RqcW9u.{payload}.SflKxwRJSMeKKF2QT4fw");
        assert!(secrets(&body).is_empty());
        // Unsigned (alg none, empty signature) and short signatures do not match.
        let none = b64url(br#"{"alg":"none"}"#);
        assert!(secrets(&format!("{none}.{payload}.")).is_empty());
        assert!(secrets(&format!("{none}.{payload}.abc")).is_empty());
        // Glued to a longer token.
        assert!(secrets(&format!("x{JWT_IO}")).is_empty());
        // A non-JWT dotted string starting with eyJ-like text.
        assert!(secrets("eyJhbGciOi.eyJzdWIiOi.").is_empty());
    }

    #[test]
    fn base64url_decoder() {
        assert_eq!(
            base64url_decode("eyJ0eXAiOiJKV1QifQ").unwrap(),
            br#"{"typ":"JWT"}"#
        );
        assert_eq!(base64url_decode("YQ").unwrap(), b"a");
        assert_eq!(base64url_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64url_decode("-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(base64url_decode("a").is_none());
        assert!(base64url_decode("ab$c").is_none());
        for s in [&b""[..], b"x", b"xy", b"xyz", b"hello world!"] {
            assert_eq!(base64url_decode(&b64url(s)).unwrap(), s);
        }
    }

    // -- secrets: vendor tokens ----------------------------------------------

    #[test]
    fn vendor_tokens() {
        let tokens = [
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "gho_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "github_pat_11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "AIzaSyA-1234567890abcdefghijklmnopqrstu",
            "glpat-AbCdEfGhIjKlMnOpQrSt",
            "npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "SG.aBcDeFgHiJkLmNoPqRsTuV.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefg",
            "sk-proj-abcDEF123T3BlbkFJabcdefghijklmnopqrst",
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        ];
        for token in tokens {
            let body = format!(r#"{{"integration": {{"token": "{token}"}}}}"#);
            let found = secrets(&body);
            assert_eq!(kinds(&found), [SecretKind::GenericApiToken], "{token}");
            assert_eq!(found[0].matched, token);
            assert_eq!(found[0].field.as_deref(), Some("token"));
        }
        // JSON-escaped webhook URL.
        let body = r#"{"hook": "https:\/\/hooks.slack.com\/services\/T00000000\/B00000000\/XXXXXXXXXXXXXXXXXXXXXXXX"}"#;
        assert_eq!(kinds(&secrets(body)), [SecretKind::GenericApiToken]);
    }

    #[test]
    fn vendor_token_lookalikes() {
        for body in [
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "pk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "ghp_tooShort",
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789extra",
            "xghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "xoxb-",
            "xoxb-notnumbers-AbCdEfGhIjKlMnOp",
            "sk-abcdefghijklmnopqrstuvwxyz0123456789",
            "AIza",
            "npm_install",
            "the glpat- prefix",
        ] {
            assert!(secrets(body).is_empty(), "{body}");
        }
    }

    #[test]
    fn secrets_ignore_ordinary_api_data() {
        let body = json!({
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "commit": GIT_SHA,
            "etag": format!("\"{SHA256_HEX}\""),
            "digest": format!("sha256:{SHA256_HEX}"),
            "version": "1.2.3-beta.4+build.5",
            "ip": "192.168.10.1",
            "created_ms": 1_700_000_000_000u64,
            "avatar": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        })
        .to_string();
        assert!(secrets(&body).is_empty());
    }

    #[test]
    fn secrets_dedupe_identical_values() {
        let body = format!(
            r#"[{{"t": "{JWT_IO}"}}, {{"t": "{JWT_IO}"}}, {{"k": "{AWS_ID}"}}, {{"k": "{AWS_ID}"}}]"#
        );
        let found = secrets(&body);
        assert_eq!(kinds(&found), [SecretKind::Jwt, SecretKind::AwsAccessKeyId]);
        assert!(found[0].start < found[1].start);
    }
}
