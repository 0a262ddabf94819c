//! Redaction: no secret the user supplied, and no secret found in a response,
//! may reach a report, a log line or an error message.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::detect;

pub const REDACTED: &str = "[redacted]";

/// Prefix of the deliberately invalid credentials checks send.
pub const INVENTED_CREDENTIAL_PREFIX: &str = "rampart-invalid-";

/// Header names whose values are credentials wherever they appear.
pub(crate) fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || [
        "token",
        "secret",
        "signature",
        "password",
        "api-key",
        "apikey",
        "session",
        "auth",
    ]
    .iter()
    .any(|word| name.contains(word))
}

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (secret, placeholder used in reproduction lines), longest secret first
    /// so that a secret containing another is replaced whole.
    secrets: Vec<(String, String)>,
    /// Credentials Rampart forged itself (a token it signed or altered):
    /// shown as sent, so a reproduction line replays the forgery.
    forged: Vec<String>,
}

impl Redactor {
    /// A redactor that knows every credential the user supplied: identity
    /// headers and credential-looking default headers.
    pub fn for_inputs(
        identities: &[crate::identity::Identity],
        headers: &[(String, String)],
    ) -> Self {
        let mut redactor = Redactor::default();
        for identity in identities {
            for (name, value) in &identity.headers {
                redactor.add_secret(value, &format!("<{} {}>", identity.name, name));
            }
        }
        for (name, value) in headers {
            if is_sensitive_header(name) {
                redactor.add_secret(value, &format!("<{name}>"));
            }
        }
        redactor
    }

    /// Registers a value the user supplied, e.g. an identity's header value.
    /// `Bearer xyz` also registers `xyz`, and cookie pairs register each value,
    /// since servers echo those parts on their own.
    pub fn add_secret(&mut self, value: &str, placeholder: &str) {
        let value = value.trim();
        let mut parts = vec![value.to_string()];
        if let Some((_scheme, token)) = value.split_once(' ') {
            parts.push(token.trim().to_string());
        }
        for pair in value.split(';') {
            if let Some((_, v)) = pair.split_once('=') {
                parts.push(v.trim().to_string());
            }
        }
        for part in parts {
            // Very short values would shred ordinary text; they are not
            // meaningful secrets anyway.
            if part.len() >= 4 && !self.secrets.iter().any(|(s, _)| *s == part) {
                self.secrets.push((part, placeholder.to_string()));
            }
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    }

    /// Registers a credential Rampart forged: headers carrying it are shown
    /// (with any supplied secret in them still replaced).
    pub fn add_forged(&mut self, value: &str) {
        let value = value.trim();
        if value.len() >= 8 && !self.forged.iter().any(|f| f == value) {
            self.forged.push(value.to_string());
        }
    }

    fn carries_forged(&self, value: &str) -> bool {
        self.forged.iter().any(|f| value.contains(f.as_str()))
    }

    /// Replaces supplied secrets with `[redacted]`.
    pub fn redact_supplied<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace_supplied(text, |_| REDACTED)
    }

    /// Replaces supplied secrets with their placeholders (for curl lines).
    pub fn placeholders<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace_supplied(text, |placeholder| placeholder)
    }

    fn replace_supplied<'a>(
        &self,
        text: &'a str,
        replacement: impl Fn(&str) -> &str,
    ) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (secret, placeholder) in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), replacement(placeholder)));
            }
        }
        out
    }

    /// Full redaction for free text: supplied secrets and any secret or PII
    /// the detectors recognise.
    pub fn redact_text(&self, text: &str) -> String {
        let supplied = self.redact_supplied(text);
        let len = supplied.len();
        mask_range(&supplied, None, 0..len)
    }

    /// A redacted excerpt `range` of a response body. Detection runs on the
    /// whole body (and its JSON), so a value is masked even when the excerpt
    /// cuts off the field name that identifies it.
    pub fn redact_excerpt(
        &self,
        body: &str,
        json: Option<&serde_json::Value>,
        range: std::ops::Range<usize>,
    ) -> String {
        let masked = mask_range(body, json, range);
        self.redact_supplied(&masked).into_owned()
    }

    /// A header value as it may appear in a report.
    pub fn redact_header(&self, name: &str, value: &str) -> String {
        if is_sensitive_header(name) && self.carries_forged(value) {
            self.redact_supplied(value).into_owned()
        } else if is_sensitive_header(name) {
            REDACTED.to_string()
        } else {
            self.redact_text(value)
        }
    }

    /// A header value as it may appear in a reproduction line: credentials
    /// become readable placeholders such as `<alice X-API-Key>`.
    pub fn placeholder_header(&self, name: &str, value: &str) -> String {
        let replaced = self.placeholders(value);
        // Credentials Rampart invented to be refused are safe to show.
        let invented = value.contains(INVENTED_CREDENTIAL_PREFIX) || self.carries_forged(value);
        if is_sensitive_header(name) && replaced == value && !invented {
            format!("<{name}>")
        } else {
            replaced.into_owned()
        }
    }
}

/// Replaces every detected secret, personal datum and password inside
/// `range` of `text` by its masked form (detection runs on the whole text
/// and its JSON, so a value is masked even when `range` cuts off what
/// identifies it).
pub(crate) fn mask_range(
    text: &str,
    json: Option<&serde_json::Value>,
    range: std::ops::Range<usize>,
) -> String {
    let spans = mask_spans(text, json, range.clone());
    apply_masks(text, range, &spans)
}

/// What to mask inside `range` of `text`: `(start, end, masked form)`,
/// sorted and not overlapping, each inside `range` (a match cut by the
/// range's edge is masked whole). Detection runs on the whole text and its
/// JSON.
pub(crate) fn mask_spans(
    text: &str,
    json: Option<&serde_json::Value>,
    range: std::ops::Range<usize>,
) -> Vec<(usize, usize, String)> {
    fn spans<K: std::fmt::Debug>(found: Vec<detect::Detection<K>>) -> Vec<(usize, usize, String)> {
        found
            .into_iter()
            .map(|d| {
                (
                    d.start,
                    d.end,
                    detect::mask(&format!("{:?}", d.kind), &d.matched),
                )
            })
            .collect()
    }
    let mut replacements = spans(detect::find_secrets(text, json));
    replacements.extend(credential_parameter_values(text));
    replacements.extend(spans(detect::find_pii(text, json)));
    replacements.extend(spans(detect::find_password_hashes(text, json)));
    replacements.sort_by_key(|r| (r.0, std::cmp::Reverse(r.1)));
    let mut kept = Vec::new();
    let mut cursor = range.start;
    for (start, end, masked) in replacements {
        if end <= cursor || start >= range.end {
            continue;
        }
        // A match cut by the excerpt's edge is masked whole.
        let start = start.max(cursor);
        cursor = end.min(range.end);
        kept.push((start, cursor, masked));
    }
    kept
}

/// `range` of `text` with `spans` (from [`mask_spans`]) masked.
pub(crate) fn apply_masks(
    text: &str,
    range: std::ops::Range<usize>,
    spans: &[(usize, usize, String)],
) -> String {
    let mut out = String::with_capacity(range.len());
    let mut cursor = range.start;
    for (start, end, masked) in spans {
        if *start < cursor || *end > range.end {
            continue;
        }
        out.push_str(text.get(cursor..*start).unwrap_or(""));
        out.push_str(masked);
        cursor = *end;
    }
    out.push_str(text.get(cursor..range.end).unwrap_or(""));
    out
}

/// Query parameters whose values are credentials by name: a token an API
/// puts in a redirect or a link is as secret as one in a header. Signed-link
/// `token`/`signature` parameters are left alone: they are the evidence of
/// the signing checks and grant one resource, not an account.
static CREDENTIAL_PARAMETER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[?&;](?:access_token|id_token|refresh_token|api_key|apikey|api-key|client_secret|password|passwd)=([^&#\s\x22'<>\\]{4,})",
    )
    .expect("credential parameter pattern compiles")
});

fn credential_parameter_values(text: &str) -> Vec<(usize, usize, String)> {
    CREDENTIAL_PARAMETER
        .captures_iter(text)
        .filter_map(|captures| captures.get(1))
        .filter(|value| value.as_str() != REDACTED && !value.as_str().starts_with('<'))
        .map(|value| (value.start(), value.end(), REDACTED.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplied_secrets_and_their_parts_are_redacted() {
        let mut r = Redactor::default();
        r.add_secret("Bearer tok_alice_123", "<alice Authorization>");
        r.add_secret("session=abcdef; theme=dark", "<bob Cookie>");
        let text = "got Bearer tok_alice_123 and tok_alice_123 and abcdef";
        let out = r.redact_supplied(text);
        assert!(!out.contains("tok_alice_123"));
        assert!(!out.contains("abcdef"));
        assert!(out.contains("dark") || !text.contains("dark"));
        assert_eq!(
            r.placeholders("X: Bearer tok_alice_123"),
            "X: <alice Authorization>"
        );
    }

    #[test]
    fn secrets_in_bodies_are_masked_even_when_the_excerpt_cuts_the_field_name() {
        let body = r#"{"password": "hunter2-summer", "ssn": "536-22-4187", "key": "AKIAQ3EGRLABDEMO7XYZ"}"#;
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        let r = Redactor::default();
        let start = body.find("hunter2").unwrap();
        let out = r.redact_excerpt(body, Some(&json), start..body.len());
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("536-22-4187"), "{out}");
        assert!(!out.contains("AKIAQ3EGRLABDEMO7XYZ"), "{out}");
        assert!(out.contains("AKIA"), "keeps a recognisable prefix: {out}");
    }

    #[test]
    fn credential_headers_are_always_redacted() {
        let r = Redactor::default();
        assert_eq!(r.redact_header("X-API-Key", "whatever"), REDACTED);
        assert_eq!(r.redact_header("Authorization", "Basic x"), REDACTED);
        assert_eq!(
            r.redact_header("X-Forwarded-Host", "evil.test"),
            "evil.test"
        );
        assert_eq!(r.placeholder_header("X-Api-Key", "k"), "<X-Api-Key>");
    }

    #[test]
    fn forged_credentials_are_shown_as_sent_and_supplied_ones_never() {
        let mut r = Redactor::default();
        r.add_secret(
            "session=genuine-session-value; theme=dark",
            "<alice Cookie>",
        );
        r.add_forged("forged.token.value");
        let header = "session=forged.token.value; other=genuine-session-value";
        assert_eq!(
            r.placeholder_header("Cookie", header),
            "session=forged.token.value; other=<alice Cookie>"
        );
        assert_eq!(
            r.redact_header("Cookie", header),
            "session=forged.token.value; other=[redacted]"
        );
        assert_eq!(r.redact_header("Cookie", "session=another"), REDACTED);
        assert_eq!(
            r.placeholder_header("Authorization", "Bearer x"),
            "<Authorization>"
        );
    }

    #[test]
    fn credential_query_parameters_are_masked_wherever_they_appear() {
        let r = Redactor::default();
        assert_eq!(
            r.redact_text("/app?access_token=eyQ9x7Kk2&token_type=bearer"),
            "/app?access_token=[redacted]&token_type=bearer"
        );
        let body = r#"<a href="/app?ACCESS_TOKEN=s3cr3tvalue">/app?api_key=k_live_1234</a>"#;
        let excerpt = r.redact_excerpt(body, None, 0..body.len());
        assert!(
            !excerpt.contains("s3cr3tvalue") && !excerpt.contains("k_live_1234"),
            "{excerpt}"
        );
        // Signed-link tokens stay visible: they are the signing checks' evidence.
        assert_eq!(
            r.redact_text("/r?token=abc.def.ghi"),
            "/r?token=abc.def.ghi"
        );
    }
}
