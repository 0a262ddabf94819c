//! Pure detectors for passive data exposure: secrets, personal data, password
//! material and debugging output found in HTTP response bodies.
//!
//! Everything here is a function of its inputs: the raw body text (and, when
//! the body is JSON, its parsed value) goes in, [`Detection`]s come out. No
//! I/O, no global state beyond regexes compiled once.
//!
//! # Conventions
//!
//! * `matched` is always the exact slice `body[start..end]`: offsets are byte
//!   offsets into the text the caller passed, on `char` boundaries. For JSON
//!   string values that is the *raw* (still escaped) text between the quotes.
//! * `field` is the JSON key that holds the value, when the caller passed the
//!   parsed JSON. Array elements report the key that holds the array
//!   (`{"cards": ["4111…"]}` gives `cards`). Field-name rules (9-digit SSNs,
//!   unsalted hex digests, clear-text passwords, id-like keys that veto card
//!   numbers, `aws_secret…` keys) only apply when the parsed JSON is given.
//!   Positions come from a small lenient tokenizer over the raw body (it
//!   skips JSONP/XSSI wrappers). If it does not see as many string/number
//!   values as the parsed JSON has (the body is not the text the value was
//!   parsed from), the parsed values are located in the body by forward
//!   search instead; values that cannot be found are skipped, and the search
//!   gives up after 16 misses so the work stays bounded.
//! * Each `find_*` returns detections ordered by position and reports each
//!   distinct matched text once (emails compare case-insensitively).
//!   [`find_debug_output`] reports at most one detection per kind: the
//!   earliest evidence.
//! * Precision beats breadth: every detector requires a specific format plus
//!   a validity check (Luhn and issuer prefix for cards, area/group/serial for
//!   SSNs, a decodable `alg` header for JWTs, key material after a PEM
//!   header, two or more frames for stack traces, …).
//! * Every regex is compiled once and is linear-time (the `regex` crate has no
//!   backtracking); hand-written scanners are single passes.
//!
//! # Layout
//!
//! One file per detector family ([`find_secrets`], [`find_pii`],
//! [`find_password_hashes`], [`find_debug_output`]) and one for [`mask`]; the
//! JSON field map the field rules rely on, the key-name vocabulary and the
//! byte helpers they share live beside them. Everything public is re-exported
//! here, so callers name `crate::detect::…` only.

mod debug_output;
mod fields;
mod hashes;
mod keys;
mod masking;
mod pii;
mod secrets;
#[cfg(test)]
mod test_support;
mod text;

use std::collections::HashSet;

use regex::Regex;

pub use debug_output::find_debug_output;
pub use hashes::find_password_hashes;
pub use masking::mask;
pub use pii::find_pii;
pub use secrets::find_secrets;

use fields::Fields;

/// How many distinct email addresses in one body make a "bulk" exposure.
/// [`find_pii`] returns every address it finds; the caller reports
/// [`PiiKind::Email`] only when at least this many distinct ones appear.
pub const BULK_EMAIL_THRESHOLD: usize = 5;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    PrivateKey,
    Jwt,
    /// Vendor tokens with an unmistakable prefix only: GitHub (`ghp_`, `gho_`,
    /// `ghu_`, `ghs_`, `ghr_`, `github_pat_`), Slack (`xoxb-`, `xoxp-`, …,
    /// incoming webhooks), Stripe live secret/restricted keys (`sk_live_`,
    /// `rk_live_`), Google API keys (`AIza`), GitLab (`glpat-`), npm (`npm_`),
    /// SendGrid (`SG.`), OpenAI (`sk-…T3BlbkFJ…`), Anthropic (`sk-ant-api`).
    GenericApiToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    UsSsn,
    PaymentCard,
    Email,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    Bcrypt,
    Argon2,
    Scrypt,
    Pbkdf2,
    /// SHA-crypt, `$5$` (SHA-256) and `$6$` (SHA-512).
    ShaCrypt,
    /// MD5-crypt, `$1$` and Apache `$apr1$`.
    Md5Crypt,
    /// A bare 32/40/64/128-hex-digit digest in a password-hash field.
    UnsaltedHexInPasswordField,
    /// A password field with a real, unmasked value.
    ClearTextPassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DebugKind {
    WerkzeugDebugger,
    PythonTraceback,
    BotocoreClientError,
    DjangoDebugPage,
    JavaStackTrace,
    NodeStackTrace,
    RailsError,
    /// Classic ASP.NET "yellow screen of death" and the ASP.NET Core
    /// developer exception page.
    AspNetYsod,
    PhpError,
    SqlError,
}

impl SecretKind {
    pub const ALL: [SecretKind; 5] = [
        SecretKind::AwsAccessKeyId,
        SecretKind::AwsSecretAccessKey,
        SecretKind::PrivateKey,
        SecretKind::Jwt,
        SecretKind::GenericApiToken,
    ];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKeyId => "aws-access-key-id",
            SecretKind::AwsSecretAccessKey => "aws-secret-access-key",
            SecretKind::PrivateKey => "private-key",
            SecretKind::Jwt => "jwt",
            SecretKind::GenericApiToken => "api-token",
        }
    }
}

impl PiiKind {
    pub const ALL: [PiiKind; 3] = [PiiKind::UsSsn, PiiKind::PaymentCard, PiiKind::Email];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::UsSsn => "ssn",
            PiiKind::PaymentCard => "card",
            PiiKind::Email => "email",
        }
    }
}

impl HashKind {
    pub const ALL: [HashKind; 8] = [
        HashKind::Bcrypt,
        HashKind::Argon2,
        HashKind::Scrypt,
        HashKind::Pbkdf2,
        HashKind::ShaCrypt,
        HashKind::Md5Crypt,
        HashKind::UnsaltedHexInPasswordField,
        HashKind::ClearTextPassword,
    ];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            HashKind::Bcrypt => "bcrypt",
            HashKind::Argon2 => "argon2",
            HashKind::Scrypt => "scrypt",
            HashKind::Pbkdf2 => "pbkdf2",
            HashKind::ShaCrypt => "sha-crypt",
            HashKind::Md5Crypt => "md5-crypt",
            HashKind::UnsaltedHexInPasswordField => "unsalted-hex",
            HashKind::ClearTextPassword => "clear-password",
        }
    }
}

impl DebugKind {
    pub const ALL: [DebugKind; 10] = [
        DebugKind::WerkzeugDebugger,
        DebugKind::PythonTraceback,
        DebugKind::BotocoreClientError,
        DebugKind::DjangoDebugPage,
        DebugKind::JavaStackTrace,
        DebugKind::NodeStackTrace,
        DebugKind::RailsError,
        DebugKind::AspNetYsod,
        DebugKind::PhpError,
        DebugKind::SqlError,
    ];

    /// Stable kebab-case label, accepted by [`mask`].
    pub fn label(self) -> &'static str {
        match self {
            DebugKind::WerkzeugDebugger => "werkzeug-debugger",
            DebugKind::PythonTraceback => "python-traceback",
            DebugKind::BotocoreClientError => "botocore-clienterror",
            DebugKind::DjangoDebugPage => "django-debug",
            DebugKind::JavaStackTrace => "java-stack-trace",
            DebugKind::NodeStackTrace => "node-stack-trace",
            DebugKind::RailsError => "rails-error",
            DebugKind::AspNetYsod => "aspnet-error",
            DebugKind::PhpError => "php-error",
            DebugKind::SqlError => "sql-error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection<K> {
    pub kind: K,
    /// The exact text matched: `body[start..end]`.
    pub matched: String,
    /// Byte offsets into the body the caller passed.
    pub start: usize,
    pub end: usize,
    /// JSON key that held the value, when known.
    pub field: Option<String>,
}

/// Compiles a built-in pattern (every one is a constant of this module tree).
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in detector pattern compiles")
}

// ---------------------------------------------------------------------------
// Collector: dedup + field attribution
// ---------------------------------------------------------------------------

struct Collector<'a, 'f, K> {
    body: &'a str,
    fields: Option<&'f Fields<'a>>,
    seen: HashSet<&'a str>,
    out: Vec<Detection<K>>,
}

impl<'a, 'f, K: Copy + Ord> Collector<'a, 'f, K> {
    fn new(body: &'a str, fields: Option<&'f Fields<'a>>) -> Self {
        Collector {
            body,
            fields,
            seen: HashSet::new(),
            out: Vec::new(),
        }
    }

    fn push(&mut self, kind: K, start: usize, end: usize) {
        let text = &self.body[start..end];
        if !self.seen.insert(text) {
            return;
        }
        let field = self
            .fields
            .and_then(|f| f.key_at(start, end))
            .map(str::to_string);
        self.out.push(Detection {
            kind,
            matched: text.to_string(),
            start,
            end,
            field,
        });
    }

    fn finish(mut self) -> Vec<Detection<K>> {
        self.out.sort_by_key(|d| (d.start, d.end, d.kind));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::test_support::*;
    use super::*;

    /// Deterministic pseudo-random generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick(&mut self, alphabet: &[u8]) -> char {
            alphabet[(self.next() % alphabet.len() as u64) as usize] as char
        }
    }

    // -- all detectors on ordinary data ---------------------------------------

    #[test]
    fn ordinary_api_payload_is_clean_for_every_detector() {
        let cert = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            pem_body()
        );
        let public = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            pem_body()
        );
        let body = json!({
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "request_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "commit": GIT_SHA,
            "etag": format!("W/\"{SHA256_HEX}\""),
            "created_at": "2024-01-01T12:34:56.789Z",
            "date": "2024-01-01",
            "updated_ms": 1_700_000_000_000u64,
            "nanos": 1_700_000_000_000_000_000u64,
            "order_number": "4000123412341235",
            "invoice": 4_916_123_412_341_235u64,
            "phone": "+1 (415) 555-0100",
            "phone2": "555-123-4567",
            "ip": "203.0.113.17",
            "ipv6": "2001:db8::8a2e:370:7334",
            "version": "2.31.0-rc.1+build.1234567890123",
            "price": "1234567890123.45",
            "ratio": 0.4111111111111111,
            "avatar": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            "tls": {"certificate": cert, "public_key": public},
            "settings": {"password_policy": "min 12 chars", "password_min_length": 12,
                         "password_changed_at": "2024-02-02", "reset_password_url": "https://x.example/reset"},
            "debug": {"traceback": false, "error": null, "message": "no traceback available"},
            "text": "Error: see the traceback in the logs; SQL syntax is checked server-side.",
        })
        .to_string();
        let value: Value = serde_json::from_str(&body).unwrap();
        assert!(
            find_secrets(&body, Some(&value)).is_empty(),
            "{:?}",
            find_secrets(&body, Some(&value))
        );
        assert!(
            find_pii(&body, Some(&value)).is_empty(),
            "{:?}",
            find_pii(&body, Some(&value))
        );
        assert!(find_password_hashes(&body, Some(&value)).is_empty());
        assert!(find_debug_output(&body, Some("application/json")).is_empty());
        // Without the parsed JSON as well.
        assert!(find_secrets(&body, None).is_empty());
        assert!(
            find_pii(&body, None).is_empty(),
            "{:?}",
            find_pii(&body, None)
        );
        assert!(find_password_hashes(&body, None).is_empty());
    }
    #[test]
    fn non_ascii_bodies_keep_char_boundaries() {
        let body = format!(
            r#"{{"名前": "José 🎉", "email": "josé@exämple.com", "card": "💳 4111111111111111 ✓", "k": "{AWS_ID}€", "pw": "ü"}}"#
        );
        let p = pii(&body);
        assert!(p.iter().any(|d| d.kind == PiiKind::PaymentCard));
        assert_eq!(kinds(&secrets(&body)), [SecretKind::AwsAccessKeyId]);
        hashes(&body);
        debug(&body);
        let t = "Traceback (most recent call last):".to_string() + &"é".repeat(3000);
        assert!(debug(&t).is_empty());
        let php = "<b>Fatal error</b>:".to_string() + &"ü".repeat(3000);
        assert!(debug(&php).is_empty());
        let key = "-----BEGIN PRIVATE KEY-----".to_string() + &"é".repeat(40000);
        assert!(secrets(&key).is_empty());
    }
    // -- performance sanity ------------------------------------------------------

    #[test]
    fn large_bodies_finish() {
        const SIZE: usize = 2 * 1024 * 1024;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

        // Random-ish JSON records mixing every character class the detectors key on.
        let mut body = String::with_capacity(SIZE + 4096);
        body.push('[');
        let alphabet = b"abcdefABCDEF0123456789-_ .@$/+=:";
        while body.len() < SIZE {
            let n = rng.next() % 4;
            let text: String = (0..40 + rng.next() % 80)
                .map(|_| rng.pick(alphabet))
                .collect();
            body.push_str(&format!(
                r#"{{"id": {}, "email": "u{}@corp.example", "password": "{}", "note": "{}", "ts": 17000000{:05}}},"#,
                rng.next() % 10_000_000_000_000_000,
                rng.next() % 100_000,
                if n == 0 { "***" } else { "x" },
                text,
                rng.next() % 100_000
            ));
        }
        body.push_str("{}]");
        let value: Value = serde_json::from_str(&body).unwrap();
        let s = find_secrets(&body, Some(&value));
        let p = find_pii(&body, Some(&value));
        let h = find_password_hashes(&body, Some(&value));
        let d = find_debug_output(&body, Some("application/json"));
        consistent(&body, &s);
        consistent(&body, &p);
        consistent(&body, &h);
        consistent(&body, &d);
        assert!(p.iter().filter(|x| x.kind == PiiKind::Email).count() > BULK_EMAIL_THRESHOLD);
        find_pii(&body, None);

        // Adversarial runs: digits with separators, letters before '@',
        // repeated prefixes, dashes, dollar signs, frame-like text.
        let runs = [
            "1 ".repeat(SIZE / 2),
            "1-".repeat(SIZE / 2),
            "a".repeat(SIZE - 1) + "@",
            "a@".repeat(SIZE / 2),
            "123-45-".repeat(SIZE / 7),
            "$2b$12$".repeat(SIZE / 7),
            "AKIA".repeat(SIZE / 4),
            "eyJ".repeat(SIZE / 3),
            "-----BEGIN PRIVATE KEY-----".repeat(SIZE / 27),
            "Traceback (most recent call last):".repeat(SIZE / 34),
            "\n    at x (/a.js:1:1)".repeat(SIZE / 21),
            "<b>Fatal error</b>:".repeat(SIZE / 19),
            "[".repeat(SIZE),
            "\"".repeat(SIZE),
            "A".repeat(SIZE),
        ];
        for body in &runs {
            let value = Value::Null;
            consistent(body, &find_secrets(body, Some(&value)));
            consistent(body, &find_pii(body, Some(&value)));
            consistent(body, &find_password_hashes(body, Some(&value)));
            consistent(body, &find_debug_output(body, None));
        }

        // Random bytes of all kinds (lossy UTF-8, as a caller would pass).
        let bytes: Vec<u8> = (0..SIZE).map(|_| (rng.next() & 0xff) as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        consistent(&text, &find_secrets(&text, None));
        consistent(&text, &find_pii(&text, None));
        consistent(&text, &find_password_hashes(&text, None));
        consistent(&text, &find_debug_output(&text, None));
    }
}
