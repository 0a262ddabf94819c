//! Password hashes (modular-crypt and framework formats), unsalted digests in
//! password fields and clear-text passwords.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::fields::Fields;
use super::keys::{is_clear_password_key, is_password_hash_key};
use super::text::{is_word, prev_byte};
use super::{re, Collector, Detection, HashKind};

/// One base64 character of a modular-crypt hash, or a JSON-escaped `\/`.
macro_rules! h64 {
    () => {
        r"(?:[./A-Za-z0-9]|\\/)"
    };
}
/// One standard-base64 character, or a JSON-escaped `\/`.
macro_rules! b64 {
    () => {
        r"(?:[A-Za-z0-9+/]|\\/)"
    };
}

static HASH_PATTERNS: LazyLock<Vec<(HashKind, Regex)>> = LazyLock::new(|| {
    vec![
        (
            HashKind::Bcrypt,
            re(concat!(r"\$2[abxy]?\$[0-9]{2}\$", h64!(), "{53}")),
        ),
        (
            HashKind::Argon2,
            re(concat!(
                r"\$argon2(?:id|i|d)\$(?:v=[0-9]+\$)?m=[0-9]+,t=[0-9]+,p=[0-9]+",
                r"(?:,[a-z]+=[A-Za-z0-9+/]*)*\$",
                b64!(),
                r"{8,}={0,2}\$",
                b64!(),
                r"{16,}={0,2}",
            )),
        ),
        (
            HashKind::Scrypt,
            re(concat!(
                // passlib
                r"\$scrypt\$ln=[0-9]+,r=[0-9]+,p=[0-9]+\$",
                b64!(),
                r"+={0,2}\$",
                b64!(),
                r"{16,}={0,2}",
                // Werkzeug >= 2.3
                r"|scrypt:[0-9]+:[0-9]+:[0-9]+\$[A-Za-z0-9]+\$[0-9a-f]{32,}",
                // Django ScryptPasswordHasher
                r"|scrypt\$[0-9]+\$[A-Za-z0-9+/=]+\$[0-9]+\$[0-9]+\$",
                b64!(),
                r"{16,}={0,2}",
                // libxcrypt / libsodium "$7$"
                r"|\$7\$",
                h64!(),
                r"{11,}\$",
                h64!(),
                r"{43}",
            )),
        ),
        (
            HashKind::Pbkdf2,
            re(concat!(
                // Django
                r"pbkdf2_sha(?:1|256)\$[0-9]+\$[A-Za-z0-9./+=]+\$",
                b64!(),
                r"{20,}={0,2}",
                // Werkzeug
                r"|pbkdf2:sha(?:1|256|512)(?::[0-9]+)?\$[A-Za-z0-9]+\$[0-9a-f]{40,}",
                // passlib
                r"|\$pbkdf2(?:-sha(?:1|256|512))?\$[0-9]+\$",
                h64!(),
                r"+\$",
                h64!(),
                r"{20,}",
            )),
        ),
        (
            HashKind::ShaCrypt,
            re(concat!(
                r"\$5\$(?:rounds=[0-9]+\$)?",
                h64!(),
                r"{1,16}\$",
                h64!(),
                r"{43}",
                r"|\$6\$(?:rounds=[0-9]+\$)?",
                h64!(),
                r"{1,16}\$",
                h64!(),
                r"{86}",
            )),
        ),
        (
            HashKind::Md5Crypt,
            re(concat!(
                r"\$(?:1|apr1)\$",
                h64!(),
                r"{1,8}\$",
                h64!(),
                r"{22}"
            )),
        ),
    ]
});

/// Password hashes in any position, plus two JSON field rules:
///
/// * a bare 32/40/64/128-hex digest (with both letters and digits) as the
///   whole value of a password-hash field (a key mentioning password /
///   passwd / pwd / pass / pw, e.g. `password_hash`, `hashedPassword`,
///   `pw_hash`, but not metadata like `password_policy`, `password_salt`,
///   `reset_password_token`, `password_changed_at`). A key named only
///   `hash` or `digest` is not enough: those hold content hashes;
/// * a clear-text password: a string field named exactly password, passwd,
///   pwd, pass, user_password or password_plain (any case) whose value is
///   non-empty, not masked (`***`, `••••`, `xxxx`, `[redacted]`,
///   `[FILTERED]`, `null`, `none`, …), not a placeholder (`string`,
///   `<password>`, `{{password}}`), and not itself a hash (a recognised
///   hash is reported as its algorithm; unrecognised `$…$…` or `{SSHA}…`
///   values are skipped).
pub fn find_password_hashes(body: &str, json: Option<&Value>) -> Vec<Detection<HashKind>> {
    let fields = Fields::build(body, json);
    let mut out = Collector::new(body, fields.as_ref());
    let b = body.as_bytes();
    let mut hash_spans: Vec<(usize, usize)> = Vec::new();

    if body.contains('$') {
        for (kind, regex) in HASH_PATTERNS.iter() {
            for m in regex.find_iter(body) {
                let glued_before = prev_byte(b, m.start())
                    .is_some_and(|c| is_word(c) || matches!(c, b'$' | b'.' | b'/'));
                let glued_after = b
                    .get(m.end())
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/' | b'+'));
                if glued_before || glued_after {
                    continue;
                }
                hash_spans.push((m.start(), m.end()));
                out.push(*kind, m.start(), m.end());
            }
        }
    }

    if let Some(f) = &fields {
        for leaf in f.leaves.iter().filter(|l| l.string && l.start < l.end) {
            let Some(key) = f.key(leaf) else { continue };
            let clear_key = is_clear_password_key(key);
            if !clear_key && !is_password_hash_key(key) {
                continue;
            }
            if hash_spans
                .iter()
                .any(|&(s, e)| s < leaf.end && leaf.start < e)
            {
                continue; // already reported as its algorithm
            }
            let text = f.text(leaf);
            if is_hex_digest(text) {
                out.push(HashKind::UnsaltedHexInPasswordField, leaf.start, leaf.end);
            } else if clear_key && is_real_password(text) {
                out.push(HashKind::ClearTextPassword, leaf.start, leaf.end);
            }
        }
    }

    out.finish()
}

pub(super) fn is_hex_digest(text: &str) -> bool {
    matches!(text.len(), 32 | 40 | 64 | 128)
        && text.bytes().all(|c| c.is_ascii_hexdigit())
        && text.bytes().any(|c| c.is_ascii_digit())
        && text.bytes().any(|c| c.is_ascii_alphabetic())
}

/// A raw JSON string value that is a real password, not a mask, placeholder
/// or (unrecognised) hash.
fn is_real_password(raw: &str) -> bool {
    let unescaped: Cow<str> = if raw.contains('\\') {
        serde_json::from_str::<String>(&format!("\"{raw}\""))
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(raw))
    } else {
        Cow::Borrowed(raw)
    };
    let v = unescaped.trim();
    if v.is_empty() {
        return false;
    }
    if v.chars().all(|c| {
        matches!(
            c,
            '*' | '•' | '●' | '·' | '∙' | 'x' | 'X' | '#' | '.' | '-' | '_'
        )
    }) {
        return false;
    }
    if v.contains("**") || v.contains("••") || v.contains("●●") || v.contains('…') {
        return false; // partially masked
    }
    let lower = v.to_lowercase();
    let bare = lower
        .trim_matches(|c: char| matches!(c, '[' | ']' | '<' | '>' | '(' | ')' | '{' | '}' | '$'));
    // Masks, and yes/no values of a `pass` (pass/fail) flag.
    const MASKS: [&str; 21] = [
        "null",
        "none",
        "nil",
        "undefined",
        "redacted",
        "filtered",
        "hidden",
        "removed",
        "masked",
        "omitted",
        "protected",
        "sensitive",
        "encrypted",
        "n/a",
        "na",
        "true",
        "false",
        "yes",
        "no",
        "ok",
        "set",
    ];
    if MASKS.contains(&bare) {
        return false;
    }
    // `string` is the OpenAPI example value; `<password>`, `{{password}}`
    // and `your_password` are template placeholders.
    let bracketed = bare.len() != lower.len();
    if matches!(
        bare,
        "string" | "your_password" | "yourpassword" | "your-password" | "your password"
    ) || (bracketed && matches!(bare, "password" | "pass" | "pwd" | "passwd"))
    {
        return false;
    }
    // Unrecognised hash formats: modular crypt or LDAP `{SCHEME}`.
    let modular = v.starts_with('$') && v[1..].contains('$');
    let ldap = v.starts_with('{')
        && v.find('}').is_some_and(|p| {
            p > 1
                && v[1..p]
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-')
        });
    !(modular || ldap)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    // -- password hashes -------------------------------------------------------

    #[test]
    fn formatted_hashes() {
        let cases = [
            (HashKind::Bcrypt, BCRYPT),
            (HashKind::Bcrypt, "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"),
            (HashKind::Argon2, "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"),
            (HashKind::Argon2, "$argon2i$m=4096,t=3,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A"),
            (
                HashKind::Scrypt,
                "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            ),
            (
                HashKind::Scrypt,
                "scrypt:32768:8:1$k2f3dF8mXkY2Yx1q$2a5a0e1e4f3c2b1a0f9e8d7c6b5a49382716a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
            ),
            (
                HashKind::Scrypt,
                "scrypt$16384$kjGQzTfFBuDnuGZz$8$1$Rdm2rqFzzMnXuPw1CT4Gn0VYSBQ2CUsp+BY9dR54lhM=",
            ),
            (
                HashKind::Pbkdf2,
                "pbkdf2_sha256$600000$c2FsdHNhbHQ$LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=",
            ),
            (
                HashKind::Pbkdf2,
                "pbkdf2:sha256:600000$abcdEFGH12345678$e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (HashKind::Pbkdf2, "$pbkdf2-sha256$29000$N2GMUUqJ8f4fQwhB6N0bwwd$Z2h0bWVyZXRoYXRtZXRoZ3J1bGVz"),
            (
                HashKind::ShaCrypt,
                "$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY47Wc6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21",
            ),
            (
                HashKind::ShaCrypt,
                "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
            ),
            (HashKind::Md5Crypt, "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"),
            (HashKind::Md5Crypt, "$apr1$saltsalt$qjXMvbEw8oaL.CzflDugX/"),
        ];
        for (kind, hash) in cases {
            let body = json!({"users": [{"name": "a", "secret_blob": hash}]}).to_string();
            let found = hashes(&body);
            assert_eq!(kinds(&found), [kind], "{hash}");
            assert_eq!(found[0].matched, hash);
            assert_eq!(found[0].field.as_deref(), Some("secret_blob"));
            // Plain text too.
            assert_eq!(
                matched(&find_password_hashes(&format!("hash: {hash}\n"), None)),
                [hash]
            );
        }
    }

    #[test]
    fn bcrypt_with_php_escaped_slashes() {
        let escaped = BCRYPT.replace('/', "\\/");
        let body = format!(r#"{{"password": "{escaped}"}}"#);
        let found = hashes(&body);
        assert_eq!(kinds(&found), [HashKind::Bcrypt]);
        assert_eq!(found[0].field.as_deref(), Some("password"));
    }

    #[test]
    fn hash_lookalikes() {
        for body in [
            "$2b$12$tooshort",
            "prices: $1$2$3 and $5$6",
            "cost $6$ per unit",
            &format!("{BCRYPT}extra"),
            &format!("x{BCRYPT}"),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "$argon2id$v=19$bogus",
        ] {
            assert!(hashes(body).is_empty(), "{body}");
        }
    }

    #[test]
    fn unsalted_hex_only_in_password_fields() {
        let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
        for key in [
            "password",
            "passwd",
            "pwd",
            "password_hash",
            "hashed_password",
            "passwordHash",
            "pw_hash",
            "user_password",
            "password_digest",
        ] {
            let body = format!(r#"{{"{key}": "{md5}"}}"#);
            let found = hashes(&body);
            assert_eq!(
                kinds(&found),
                [HashKind::UnsaltedHexInPasswordField],
                "{key}"
            );
            assert_eq!(found[0].field.as_deref(), Some(key));
        }
        for digest in [GIT_SHA, SHA256_HEX] {
            let body = format!(r#"{{"password_sha": "{digest}"}}"#);
            assert_eq!(
                kinds(&hashes(&body)),
                [HashKind::UnsaltedHexInPasswordField]
            );
        }
        // Hex elsewhere: commits, etags, content hashes, tokens, salts.
        let body = json!({
            "commit": GIT_SHA, "etag": SHA256_HEX, "hash": SHA256_HEX, "checksum": md5,
            "digest": md5, "password_salt": md5, "reset_password_token": md5, "session": md5,
        })
        .to_string();
        assert!(hashes(&body).is_empty());
        // Wrong lengths or degenerate hex in a password field are clear text, not digests.
        assert!(hashes(r#"{"password_hash": "00000000000000000000000000000000"}"#).is_empty());
        assert!(hashes(r#"{"password_hash": "5f4dcc3b5aa765d61d8327deb882cf9"}"#).is_empty());
    }

    #[test]
    fn clear_text_passwords() {
        for key in [
            "password",
            "Password",
            "PASSWD",
            "pwd",
            "pass",
            "user_password",
            "password_plain",
        ] {
            let body = format!(r#"{{"user": {{"name": "bob", "{key}": "hunter2!"}}}}"#);
            let found = hashes(&body);
            assert_eq!(kinds(&found), [HashKind::ClearTextPassword], "{key}");
            assert_eq!(found[0].matched, "hunter2!");
            assert_eq!(found[0].field.as_deref(), Some(key));
        }
        // Escaped characters are kept raw in `matched`.
        let found = hashes(r#"{"password": "p\"ss\\word"}"#);
        assert_eq!(matched(&found), [r#"p\"ss\\word"#]);
    }

    #[test]
    fn masked_and_metadata_password_fields() {
        let body = r#"[
            {"password": "***"}, {"password": "********"}, {"password": "[redacted]"},
            {"password": "REDACTED"}, {"password": "[FILTERED]"}, {"password": null},
            {"password": ""}, {"password": "   "}, {"password": "••••••"},
            {"password": "\u2022\u2022\u2022\u2022"}, {"password": "xxxxxxxx"}, {"pass": "yes"},
            {"password": "ab***yz"}, {"password": "<password>"}, {"password": "{{password}}"},
            {"password": "string"}, {"password": "null"}, {"password": "<hidden>"},
            {"password": true}, {"password": 1234},
            {"password": "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="},
            {"password": "$9$unknown$format"},
            {"password_policy": "min 12 characters"}, {"password_min_length": "12"},
            {"password_changed_at": "2024-01-01"}, {"reset_password_url": "https://x.example/reset?t=abc"},
            {"passwordHint": "your pet"}, {"password_expires": "never"}, {"passport": "X1234567"},
            {"new_password": "hunter2"}
        ]"#;
        assert!(hashes(body).is_empty(), "{:?}", hashes(body));
    }

    #[test]
    fn hash_in_password_field_is_reported_once_as_its_algorithm() {
        let body = format!(r#"{{"password": "{BCRYPT}", "password_hash": "{BCRYPT}"}}"#);
        let found = hashes(&body);
        assert_eq!(kinds(&found), [HashKind::Bcrypt]);
        assert_eq!(found[0].field.as_deref(), Some("password"));
    }

    #[test]
    fn clear_text_rules_need_parsed_json() {
        assert!(find_password_hashes(r#"{"password": "hunter2"}"#, None).is_empty());
    }
}
