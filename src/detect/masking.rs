//! How a detected value is shown in reports.

use super::hashes::is_hex_digest;
use super::DebugKind;

/// Masks a detected value for display in reports.
///
/// `kind_label` is a kind's [`label`](super::SecretKind::label), its `Debug` name
/// (`"AwsAccessKeyId"`), or a finding key (`"api-token"`, `"hash"`,
/// `"clear-password"`); case and punctuation are ignored. Every mask says
/// `[redacted …]`, and what is kept stands outside the brackets joined by
/// `…`, so a reader never mistakes Rampart's redaction for the API's own
/// masking (an API that shows `****6467` masks; one that shows
/// `[redacted card]…6467` sent the whole number). Conventions:
///
/// | kind | shown as |
/// | --- | --- |
/// | AWS access key id | `AKIA…[redacted]` (4-character type prefix) |
/// | AWS secret access key | `[redacted AWS secret access key]` |
/// | private key | `-----BEGIN RSA PRIVATE KEY-----…[redacted]` |
/// | JWT | `eyJ…[redacted JWT]` |
/// | vendor token | vendor prefix: `ghp_…[redacted]`, `xoxb-…[redacted]`, `sk_live_…[redacted]` |
/// | SSN | `[redacted SSN]` (nothing kept: the last four are themselves sensitive) |
/// | payment card | `[redacted card]…6467` (last four digits only) |
/// | email | `j…[redacted]@corp.example` (first character and domain) |
/// | modular-crypt hash | algorithm and cost kept, salt and digest dropped: `$2b$12$…[redacted]`, `pbkdf2_sha256$600000$…[redacted]` |
/// | unsalted hex digest | `[redacted 32-hex-digit digest]` |
/// | clear-text password | `[redacted password]` |
/// | debug output | not secret: the evidence on one line, cut to 200 characters with `…` |
/// | anything else | `[redacted]` |
pub fn mask(kind_label: &str, matched: &str) -> String {
    let label: String = kind_label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match label.as_str() {
        "awsaccesskeyid" => format!("{}…[redacted]", prefix_chars(matched, 4)),
        "awssecretaccesskey" | "awssecretkey" => "[redacted AWS secret access key]".to_string(),
        "privatekey" => {
            let header = matched.find("PRIVATE KEY").and_then(|p| {
                let after = p + "PRIVATE KEY".len();
                matched[after..]
                    .find("-----")
                    .map(|q| &matched[..after + q + 5])
            });
            format!(
                "{}…[redacted]",
                header.unwrap_or("-----BEGIN PRIVATE KEY-----")
            )
        }
        "jwt" => "eyJ…[redacted JWT]".to_string(),
        "genericapitoken" | "apitoken" | "token" => format!("{}…[redacted]", token_prefix(matched)),
        "usssn" | "ssn" => "[redacted SSN]".to_string(),
        "paymentcard" | "card" => {
            let digits: Vec<char> = matched.chars().filter(char::is_ascii_digit).collect();
            let last4: String = digits[digits.len().saturating_sub(4)..].iter().collect();
            format!("[redacted card]…{last4}")
        }
        "email" | "emailbulk" => match matched.split_once('@') {
            Some((local, domain)) if !local.is_empty() => {
                format!("{}…[redacted]@{domain}", prefix_chars(local, 1))
            }
            _ => "[redacted]".to_string(),
        },
        "bcrypt" | "argon2" | "scrypt" | "pbkdf2" | "shacrypt" | "md5crypt" | "hash" => {
            if is_hex_digest(matched) {
                format!("[redacted {}-hex-digit digest]", matched.len())
            } else {
                hash_prefix(matched)
                    .map(|p| format!("{p}…[redacted]"))
                    .unwrap_or_else(|| "[redacted]".to_string())
            }
        }
        "unsaltedhex" | "unsaltedhexinpasswordfield" => {
            format!("[redacted {}-hex-digit digest]", matched.chars().count())
        }
        "cleartextpassword" | "clearpassword" | "password" => "[redacted password]".to_string(),
        _ if is_debug_label(&label) => excerpt(matched, 200),
        _ => "[redacted]".to_string(),
    }
}

fn prefix_chars(s: &str, n: usize) -> &str {
    let end = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn token_prefix(token: &str) -> &str {
    const PREFIXES: [&str; 20] = [
        "https://hooks.slack.com/services/",
        "github_pat_",
        "sk-ant-",
        "sk-proj-",
        "sk_live_",
        "rk_live_",
        "glpat-",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxo-",
        "xoxs-",
        "xoxr-",
        "npm_",
        "AIza",
    ];
    if let Some(p) = PREFIXES.iter().find(|p| token.starts_with(**p)) {
        return &token[..p.len()];
    }
    if token.starts_with("SG.") || token.starts_with("sk-") {
        return &token[..3];
    }
    let head = prefix_chars(token, 12);
    match head.find(['_', '-']) {
        Some(p) => &token[..=p],
        None => prefix_chars(token, 4),
    }
}

/// Algorithm and cost/parameter segments of a `$`-separated hash.
fn hash_prefix(hash: &str) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    for (i, seg) in hash.split('$').enumerate() {
        let algorithm = kept.iter().all(|s| s.is_empty()) && !seg.is_empty();
        let params =
            seg.contains('=') || (!seg.is_empty() && seg.bytes().all(|c| c.is_ascii_digit()));
        if (i == 0 && seg.is_empty()) || algorithm || params {
            kept.push(seg);
        } else {
            break;
        }
    }
    if kept.iter().all(|s| s.is_empty()) || kept.len() == hash.split('$').count() {
        return None;
    }
    Some(format!("{}$", kept.join("$")))
}

fn is_debug_label(label: &str) -> bool {
    DebugKind::ALL.iter().any(|k| {
        let norm: String = k
            .label()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        norm == label || format!("{k:?}").eq_ignore_ascii_case(label)
    })
}

/// The evidence on one line: whitespace and `\n`/`\t` escapes collapsed.
fn excerpt(text: &str, max_chars: usize) -> String {
    let flat = text
        .replace("\\r\\n", " ")
        .replace("\\n", " ")
        .replace("\\t", " ");
    let mut out = String::with_capacity(flat.len().min(max_chars * 4));
    let mut count = 0;
    let mut last_space = false;
    for c in flat.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if count == max_chars {
            out.push('…');
            return out.trim().to_string();
        }
        out.push(c);
        count += 1;
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{HashKind, PiiKind, SecretKind};
    use super::*;

    #[test]
    fn masking_conventions() {
        assert_eq!(mask("aws-access-key-id", AWS_ID), "AKIA…[redacted]");
        assert_eq!(mask("AwsAccessKeyId", AWS_ID), "AKIA…[redacted]");
        assert_eq!(
            mask(SecretKind::AwsSecretAccessKey.label(), AWS_SECRET),
            "[redacted AWS secret access key]"
        );
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
            pem_body()
        );
        let cases: &[(&str, &str, &str)] = &[
            (
                "private-key",
                &pem,
                "-----BEGIN RSA PRIVATE KEY-----…[redacted]",
            ),
            (
                "PrivateKey",
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc",
                "-----BEGIN PGP PRIVATE KEY BLOCK-----…[redacted]",
            ),
            ("jwt", JWT_IO, "eyJ…[redacted JWT]"),
            (
                "api-token",
                "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
                "ghp_…[redacted]",
            ),
            (
                "GenericApiToken",
                "xoxb-123456789012-1234567890123-AbCd",
                "xoxb-…[redacted]",
            ),
            (
                "api-token",
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "sk_live_…[redacted]",
            ),
            ("api-token", "SG.abc.def", "SG.…[redacted]"),
            (
                "api-token",
                "AIzaSyA-1234567890abcdefghijklmnopqrstu",
                "AIza…[redacted]",
            ),
            ("ssn", "536-22-1234", "[redacted SSN]"),
            ("UsSsn", "536221234", "[redacted SSN]"),
            ("card", "4539 1488 0343 6467", "[redacted card]…6467"),
            ("PaymentCard", "4539148803436467", "[redacted card]…6467"),
            (
                "email",
                "jane.doe@corp.example",
                "j…[redacted]@corp.example",
            ),
            ("email", "é@x.example", "é…[redacted]@x.example"),
            ("bcrypt", BCRYPT, "$2b$12$…[redacted]"),
            (
                "argon2",
                "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
                "$argon2id$v=19$m=65536,t=3,p=4$…[redacted]",
            ),
            (
                "hash",
                "pbkdf2_sha256$600000$c2FsdA$LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=",
                "pbkdf2_sha256$600000$…[redacted]",
            ),
            (
                "pbkdf2",
                "pbkdf2:sha256:600000$abcd$e3b0c442",
                "pbkdf2:sha256:600000$…[redacted]",
            ),
            (
                "scrypt",
                "scrypt$16384$kjGQ$8$1$Rdm2",
                "scrypt$16384$…[redacted]",
            ),
            (
                "ShaCrypt",
                "$6$rounds=5000$salt$abc",
                "$6$rounds=5000$…[redacted]",
            ),
            (
                "md5-crypt",
                "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
                "$1$…[redacted]",
            ),
            (
                "hash",
                "5f4dcc3b5aa765d61d8327deb882cf99",
                "[redacted 32-hex-digit digest]",
            ),
            ("unsalted-hex", SHA256_HEX, "[redacted 64-hex-digit digest]"),
            ("clear-password", "hunter2", "[redacted password]"),
            ("ClearTextPassword", "hunter2", "[redacted password]"),
            ("sql-error", "ORA-00933:\n  x", "ORA-00933: x"),
            (
                "JavaStackTrace",
                "at a.B(B.java:1)\\n\\tat c.D(D.java:2)",
                "at a.B(B.java:1) at c.D(D.java:2)",
            ),
        ];
        for (kind, value, masked) in cases {
            assert_eq!(mask(kind, value), *masked, "{kind}: {value}");
        }
        let long = "x".repeat(500);
        assert_eq!(mask("python-traceback", &long).chars().count(), 201);
        assert_eq!(mask("something-else", "value"), "[redacted]");
        // Every kind's label is understood.
        for k in SecretKind::ALL {
            assert_ne!(mask(k.label(), "AKIAxxxxxxxx"), "[redacted]", "{k:?}");
        }
        for k in PiiKind::ALL {
            assert_ne!(mask(k.label(), "a@b.example 1234"), "[redacted]", "{k:?}");
        }
        for k in DebugKind::ALL {
            assert_eq!(mask(k.label(), "evidence"), "evidence", "{k:?}");
            assert_eq!(mask(&format!("{k:?}"), "evidence"), "evidence", "{k:?}");
        }
        for k in HashKind::ALL {
            assert_ne!(
                mask(k.label(), "5f4dcc3b5aa765d61d8327deb882cf99"),
                "[redacted]",
                "{k:?}"
            );
        }
    }
}
