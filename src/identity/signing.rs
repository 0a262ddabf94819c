//! Request signing recipes: an identity that signs its requests with its own
//! HMAC scheme describes that scheme in the identity file, and the engine
//! then signs every request it sends as that identity.
//!
//! ```toml
//! [[identity]]
//! name = "alice"
//! headers = { "X-Client-Id" = "alice" }
//! [identity.signing]
//! secret = "env:ALICE_HMAC_SECRET"    # never printed; redacted everywhere
//! algorithm = "hmac-sha256"           # hmac-sha256 | hmac-sha1 | hmac-sha512
//! encoding = "hex"                    # hex | base64 | base64url (unpadded)
//! header = "X-Signature"              # where the signature goes
//! prefix = "sha256="                  # optional, put before the signature
//! timestamp_header = "X-Timestamp"    # optional: the signing time is sent here
//! nonce_header = "X-Nonce"            # optional: a fresh random nonce is sent here
//! canonical = "{method}\n{path}\n{sorted_query}\n{timestamp}\n{nonce}\n{body_sha256}"
//! ```
//!
//! `canonical` is the template of the string to sign. Placeholders:
//!
//! | placeholder | value |
//! |---|---|
//! | `{method}` | the HTTP method, upper case |
//! | `{path}` | the URL path as sent (percent-encoded) |
//! | `{query}` | the query string as sent, without `?` (empty when none) |
//! | `{sorted_query}` | the query's `&`-separated parts, as sent, sorted bytewise |
//! | `{target}` | the path, plus `?` and the query when there is one |
//! | `{host}` | the host, with `:port` when the port is not the default |
//! | `{timestamp}` | the value sent in `timestamp_header` |
//! | `{nonce}` | the value sent in `nonce_header` |
//! | `{body}` | the request body, byte for byte (empty when none) |
//! | `{body_sha256}` | lower-case hex SHA-256 of the body (of the empty string when none) |
//! | `{header:NAME}` | the value of request header NAME as sent (empty when absent) |
//!
//! `{{` and `}}` stand for literal braces. Optional settings:
//! `secret_encoding = "utf8" | "hex" | "base64"` (how to read `secret`,
//! default utf8) and `timestamp_unit = "seconds" | "milliseconds"` (default
//! seconds since the Unix epoch).

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Digest;
use thiserror::Error;
use url::Url;

use super::parse_header;

/// The placeholders `canonical` may use (for error messages).
const PLACEHOLDERS: &str = "method, path, query, sorted_query, target, host, timestamp, nonce, body, body_sha256, header:NAME";

/// Shortest secret accepted: shorter values could not be redacted reliably.
pub const MIN_SECRET_LEN: usize = 4;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SigningError {
    #[error("unknown algorithm '{0}' (expected hmac-sha256, hmac-sha1 or hmac-sha512)")]
    UnknownAlgorithm(String),
    #[error("unknown encoding '{0}' (expected hex, base64 or base64url)")]
    UnknownEncoding(String),
    #[error("unknown secret_encoding '{0}' (expected utf8, hex or base64)")]
    UnknownSecretEncoding(String),
    #[error("unknown timestamp_unit '{0}' (expected seconds or milliseconds)")]
    UnknownTimestampUnit(String),
    #[error("unknown placeholder {{{0}}} in `canonical` (known: {PLACEHOLDERS})")]
    UnknownPlaceholder(String),
    #[error(
        "unmatched brace in `canonical` at character {0} (write {{{{ or }}}} for a literal brace)"
    )]
    UnbalancedBrace(usize),
    #[error("`canonical` is empty")]
    EmptyCanonical,
    #[error("`canonical` uses {{{placeholder}}} but `{field}` is not set")]
    NeedsHeader {
        placeholder: &'static str,
        field: &'static str,
    },
    #[error("`{field}` is not a valid header name")]
    BadHeaderName { field: &'static str },
    #[error("`header`, `timestamp_header` and `nonce_header` must be different headers")]
    DuplicateHeader,
    #[error("`prefix` must be printable text without line breaks")]
    BadPrefix,
    #[error("the secret is not valid {0} (see secret_encoding)")]
    SecretEncoding(&'static str),
    #[error("the secret must be at least {MIN_SECRET_LEN} characters long")]
    SecretTooShort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
    HmacSha512,
}

/// The option `text` names (trimmed, in any case), from `(names, option)`
/// pairs; `None` when it names none.
fn choose<T: Copy>(text: &str, options: &[(&[&str], T)]) -> Option<T> {
    let text = text.trim().to_ascii_lowercase();
    options
        .iter()
        .find(|(names, _)| names.contains(&text.as_str()))
        .map(|(_, option)| *option)
}

/// Each algorithm with the names a recipe may give it, its own first.
const ALGORITHMS: [(&[&str], Algorithm); 3] = [
    (&["hmac-sha1", "hmac_sha1", "sha1"], Algorithm::HmacSha1),
    (
        &["hmac-sha256", "hmac_sha256", "sha256"],
        Algorithm::HmacSha256,
    ),
    (
        &["hmac-sha512", "hmac_sha512", "sha512"],
        Algorithm::HmacSha512,
    ),
];

impl Algorithm {
    fn parse(text: &str) -> Result<Self, SigningError> {
        choose(text, &ALGORITHMS).ok_or_else(|| SigningError::UnknownAlgorithm(text.to_string()))
    }

    pub fn as_str(self) -> &'static str {
        ALGORITHMS
            .iter()
            .find(|(_, algorithm)| *algorithm == self)
            .and_then(|(names, _)| names.first())
            .copied()
            .unwrap_or_default()
    }

    fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length, so `new_from_slice` cannot fail;
        // an empty MAC would simply never verify.
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            match <M as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(message);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            Algorithm::HmacSha1 => run::<Hmac<sha1::Sha1>>(key, message),
            Algorithm::HmacSha256 => run::<Hmac<sha2::Sha256>>(key, message),
            Algorithm::HmacSha512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
    /// URL-safe alphabet, no padding.
    Base64Url,
}

impl Encoding {
    fn parse(text: &str) -> Result<Self, SigningError> {
        let options: [(&[&str], Encoding); 3] = [
            (&["hex"], Encoding::Hex),
            (&["base64"], Encoding::Base64),
            (&["base64url"], Encoding::Base64Url),
        ];
        choose(text, &options).ok_or_else(|| SigningError::UnknownEncoding(text.to_string()))
    }

    fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
            Encoding::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }
}

/// How the recipe's `secret` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretEncoding {
    Utf8,
    Hex,
    Base64,
}

impl SecretEncoding {
    /// The key the secret stands for.
    fn decode(self, secret: &str) -> Result<Vec<u8>, SigningError> {
        match self {
            SecretEncoding::Utf8 => Ok(secret.as_bytes().to_vec()),
            SecretEncoding::Hex => {
                hex::decode(secret.trim()).map_err(|_| SigningError::SecretEncoding("hex"))
            }
            SecretEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(secret.trim())
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(secret.trim()))
                .map_err(|_| SigningError::SecretEncoding("base64")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampUnit {
    Seconds,
    Milliseconds,
}

/// One piece of the `canonical` template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Method,
    Path,
    Query,
    SortedQuery,
    Target,
    Host,
    Timestamp,
    Nonce,
    Body,
    BodySha256,
    Header(String),
}

/// Parses a `canonical` template into its parts.
fn parse_template(template: &str) -> Result<Vec<Part>, SigningError> {
    if template.is_empty() {
        return Err(SigningError::EmptyCanonical);
    }
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = template.char_indices().peekable();
    let mut position = 0usize;
    while let Some((_, c)) = chars.next() {
        position += 1;
        match c {
            '{' if chars.peek().map(|(_, n)| *n) == Some('{') => {
                chars.next();
                position += 1;
                literal.push('{');
            }
            '}' if chars.peek().map(|(_, n)| *n) == Some('}') => {
                chars.next();
                position += 1;
                literal.push('}');
            }
            '}' => return Err(SigningError::UnbalancedBrace(position)),
            '{' => {
                let start = position;
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some((_, '}')) => {
                            position += 1;
                            break;
                        }
                        Some((_, '{')) | None => return Err(SigningError::UnbalancedBrace(start)),
                        Some((_, n)) => {
                            position += 1;
                            name.push(n);
                        }
                    }
                }
                let part = match name.as_str() {
                    "method" => Part::Method,
                    "path" => Part::Path,
                    "query" => Part::Query,
                    "sorted_query" => Part::SortedQuery,
                    "target" => Part::Target,
                    "host" => Part::Host,
                    "timestamp" => Part::Timestamp,
                    "nonce" => Part::Nonce,
                    "body" => Part::Body,
                    "body_sha256" => Part::BodySha256,
                    other => match other.strip_prefix("header:") {
                        Some(header)
                            if parse_header(&format!("{}: x", header.trim())).is_some() =>
                        {
                            Part::Header(header.trim().to_string())
                        }
                        _ => return Err(SigningError::UnknownPlaceholder(other.to_string())),
                    },
                };
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(part);
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// The `[identity.signing]` table as written in the identity file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningEntry {
    pub secret: String,
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    #[serde(default = "default_encoding")]
    pub encoding: String,
    #[serde(default = "default_secret_encoding")]
    pub secret_encoding: String,
    #[serde(default = "default_header")]
    pub header: String,
    #[serde(default)]
    pub prefix: String,
    pub timestamp_header: Option<String>,
    #[serde(default = "default_timestamp_unit")]
    pub timestamp_unit: String,
    pub nonce_header: Option<String>,
    pub canonical: String,
}

fn default_algorithm() -> String {
    "hmac-sha256".into()
}
fn default_encoding() -> String {
    "hex".into()
}
fn default_secret_encoding() -> String {
    "utf8".into()
}
fn default_header() -> String {
    "X-Signature".into()
}
fn default_timestamp_unit() -> String {
    "seconds".into()
}

/// How one identity signs its requests. Its `Debug` output never shows the
/// secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningRecipe {
    key: Vec<u8>,
    /// The secret as the user wrote it (after `env:` resolution), for redaction.
    secret_text: String,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    /// The header that carries the signature.
    pub header: String,
    /// Text put before the signature in `header` (e.g. `sha256=`).
    pub prefix: String,
    pub timestamp_header: Option<String>,
    pub timestamp_unit: TimestampUnit,
    pub nonce_header: Option<String>,
    /// The template as written.
    pub canonical: String,
    parts: Vec<Part>,
}

impl fmt::Debug for SigningRecipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningRecipe")
            .field("secret", &"[redacted]")
            .field("algorithm", &self.algorithm)
            .field("encoding", &self.encoding)
            .field("header", &self.header)
            .field("timestamp_header", &self.timestamp_header)
            .field("nonce_header", &self.nonce_header)
            .field("canonical", &self.canonical)
            .finish()
    }
}

fn header_name(name: &str, field: &'static str) -> Result<String, SigningError> {
    parse_header(&format!("{name}: x"))
        .map(|(n, _)| n)
        .ok_or(SigningError::BadHeaderName { field })
}

impl SigningRecipe {
    /// Validates an entry whose `secret` has already been resolved (from
    /// `env:VAR` when it was one). Errors name the problem, never the secret.
    pub fn from_entry(entry: &SigningEntry, secret: &str) -> Result<Self, SigningError> {
        if secret.chars().count() < MIN_SECRET_LEN {
            return Err(SigningError::SecretTooShort);
        }
        let unknown = |text: &str| text.trim().to_ascii_lowercase();
        let secret_encodings: [(&[&str], SecretEncoding); 3] = [
            (&["utf8", "utf-8", "raw"], SecretEncoding::Utf8),
            (&["hex"], SecretEncoding::Hex),
            (&["base64"], SecretEncoding::Base64),
        ];
        let key = choose(&entry.secret_encoding, &secret_encodings)
            .ok_or_else(|| SigningError::UnknownSecretEncoding(unknown(&entry.secret_encoding)))?
            .decode(secret)?;
        let algorithm = Algorithm::parse(&entry.algorithm)?;
        let encoding = Encoding::parse(&entry.encoding)?;
        let units: [(&[&str], TimestampUnit); 2] = [
            (&["seconds", "s"], TimestampUnit::Seconds),
            (&["milliseconds", "ms"], TimestampUnit::Milliseconds),
        ];
        let timestamp_unit = choose(&entry.timestamp_unit, &units)
            .ok_or_else(|| SigningError::UnknownTimestampUnit(unknown(&entry.timestamp_unit)))?;
        let header = header_name(&entry.header, "header")?;
        let timestamp_header = entry
            .timestamp_header
            .as_deref()
            .map(|h| header_name(h, "timestamp_header"))
            .transpose()?;
        let nonce_header = entry
            .nonce_header
            .as_deref()
            .map(|h| header_name(h, "nonce_header"))
            .transpose()?;
        let mut names: Vec<String> = std::iter::once(&header)
            .chain(timestamp_header.iter())
            .chain(nonce_header.iter())
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let count = names.len();
        names.sort();
        names.dedup();
        if names.len() != count {
            return Err(SigningError::DuplicateHeader);
        }
        if entry.prefix.chars().any(|c| c.is_control()) {
            return Err(SigningError::BadPrefix);
        }
        let parts = parse_template(&entry.canonical)?;
        if parts.contains(&Part::Timestamp) && timestamp_header.is_none() {
            return Err(SigningError::NeedsHeader {
                placeholder: "timestamp",
                field: "timestamp_header",
            });
        }
        if parts.contains(&Part::Nonce) && nonce_header.is_none() {
            return Err(SigningError::NeedsHeader {
                placeholder: "nonce",
                field: "nonce_header",
            });
        }
        Ok(SigningRecipe {
            key,
            secret_text: secret.to_string(),
            algorithm,
            encoding,
            header,
            prefix: entry.prefix.clone(),
            timestamp_header,
            timestamp_unit,
            nonce_header,
            canonical: entry.canonical.clone(),
            parts,
        })
    }

    /// The secret as supplied, so the redactor can hide it.
    pub fn secret_text(&self) -> &str {
        &self.secret_text
    }

    /// Whether the string to sign includes the signing time.
    pub fn signs_timestamp(&self) -> bool {
        self.parts.contains(&Part::Timestamp)
    }

    /// Whether the string to sign includes the query (in any form).
    pub fn signs_query(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Query | Part::SortedQuery | Part::Target))
    }

    /// Whether the string to sign includes the body (or its digest).
    pub fn signs_body(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Body | Part::BodySha256))
    }

    /// The header names this recipe sets.
    pub fn header_names(&self) -> Vec<&str> {
        std::iter::once(self.header.as_str())
            .chain(self.timestamp_header.as_deref())
            .chain(self.nonce_header.as_deref())
            .collect()
    }

    /// `seconds` since the epoch as this recipe sends it.
    pub fn timestamp_value(&self, seconds: i64) -> String {
        match self.timestamp_unit {
            TimestampUnit::Seconds => seconds.to_string(),
            TimestampUnit::Milliseconds => seconds.saturating_mul(1000).to_string(),
        }
    }

    /// The string to sign for one request. `headers` are the request's
    /// headers as sent, the timestamp and nonce headers included.
    pub fn string_to_sign(&self, request: &SignedParts, headers: &[(String, String)]) -> Vec<u8> {
        let url = &request.url;
        let query = url.query().unwrap_or("");
        let body: &[u8] = request.body.as_deref().unwrap_or_default();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Part::Method => {
                    out.extend_from_slice(request.method.to_ascii_uppercase().as_bytes())
                }
                Part::Path => out.extend_from_slice(url.path().as_bytes()),
                Part::Query => out.extend_from_slice(query.as_bytes()),
                Part::SortedQuery => {
                    let mut pieces: Vec<&str> =
                        query.split('&').filter(|p| !p.is_empty()).collect();
                    pieces.sort_unstable();
                    out.extend_from_slice(pieces.join("&").as_bytes());
                }
                Part::Target => {
                    out.extend_from_slice(url.path().as_bytes());
                    if !query.is_empty() {
                        out.push(b'?');
                        out.extend_from_slice(query.as_bytes());
                    }
                }
                Part::Host => {
                    out.extend_from_slice(url.host_str().unwrap_or("").as_bytes());
                    if let Some(port) = url.port() {
                        out.extend_from_slice(format!(":{port}").as_bytes());
                    }
                }
                Part::Timestamp => {
                    let name = self.timestamp_header.as_deref().unwrap_or("");
                    out.extend_from_slice(header(name).as_bytes());
                }
                Part::Nonce => {
                    let name = self.nonce_header.as_deref().unwrap_or("");
                    out.extend_from_slice(header(name).as_bytes());
                }
                Part::Body => out.extend_from_slice(body),
                Part::BodySha256 => {
                    out.extend_from_slice(hex::encode(sha2::Sha256::digest(body)).as_bytes())
                }
                Part::Header(name) => out.extend_from_slice(header(name).as_bytes()),
            }
        }
        out
    }

    /// The encoded signature (without the prefix) of one request.
    pub fn signature(&self, request: &SignedParts, headers: &[(String, String)]) -> String {
        let message = self.string_to_sign(request, headers);
        self.encoding
            .encode(&self.algorithm.mac(&self.key, &message))
    }

    /// The headers that sign `sent`: the timestamp and nonce headers (when
    /// the recipe has them) and the signature header.
    ///
    /// `headers` are the other headers the request goes out with. The
    /// signature is computed over `options.over` when given (a different
    /// request than the one sent), otherwise over `sent`.
    pub fn signing_headers(
        &self,
        sent: &SignedParts,
        headers: &[(String, String)],
        options: &SignOptions,
        now: i64,
    ) -> Vec<(String, String)> {
        let mut added = Vec::new();
        if let Some(name) = &self.timestamp_header {
            let value = self.timestamp_value(options.timestamp.unwrap_or(now));
            added.push((name.clone(), value));
        }
        if let Some(name) = &self.nonce_header {
            let value = options.nonce.clone().unwrap_or_else(fresh_nonce);
            added.push((name.clone(), value));
        }
        let mut all: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| {
                !self
                    .header_names()
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(n))
            })
            .cloned()
            .collect();
        all.extend(added.iter().cloned());
        let signed = options.over.as_ref().unwrap_or(sent);
        let mut signature = self.signature(signed, &all);
        if options.corrupt {
            signature = corrupt(&signature);
        }
        added.push((self.header.clone(), format!("{}{signature}", self.prefix)));
        added
    }
}

/// A random nonce: 128 bits in hex.
pub fn fresh_nonce() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The parts of a request a signature may cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts {
    pub method: String,
    pub url: Url,
    pub body: Option<Bytes>,
}

/// What a probe asks of the signer (see [`Signing`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignOptions {
    /// Seconds since the epoch to sign with; `None`: now.
    pub timestamp: Option<i64>,
    /// The nonce to send; `None`: a fresh random one.
    pub nonce: Option<String>,
    /// Compute the signature over this request instead of the one sent.
    pub over: Option<SignedParts>,
    /// Send the signature with its first character changed (still valid
    /// hex or base64, but wrong).
    pub corrupt: bool,
}

/// How the engine signs a probe sent as an identity that has a recipe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Signing {
    /// A correct signature with the current time and a fresh nonce.
    #[default]
    Auto,
    /// No signature headers at all (the identity's plain headers only).
    Off,
    /// A signature made to order.
    With(SignOptions),
}

/// The same signature with its first character changed by [`flip`]. The
/// first character of a base64 value carries no padding bits, so the
/// decoded signature really differs.
pub fn corrupt(signature: &str) -> String {
    let mut chars = signature.chars();
    match chars.next() {
        None => "A".to_string(),
        Some(first) => std::iter::once(flip(first)).chain(chars).collect(),
    }
}

/// Another character of the same alphabet and case (`0`↔`1`, `a`↔`b`,
/// `A`↔`B`, anything else → `A`): a changed hex or base64 value stays valid
/// hex or base64 but differs even to a case-insensitive hex decoder.
pub fn flip(c: char) -> char {
    match c {
        '0' => '1',
        '1'..='9' => '0',
        'a' => 'b',
        'b'..='z' => 'a',
        'A' => 'B',
        _ => 'A',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(canonical: &str) -> SigningEntry {
        SigningEntry {
            secret: String::new(),
            algorithm: "hmac-sha256".into(),
            encoding: "hex".into(),
            secret_encoding: "utf8".into(),
            header: "X-Signature".into(),
            prefix: String::new(),
            timestamp_header: Some("X-Timestamp".into()),
            timestamp_unit: "seconds".into(),
            nonce_header: Some("X-Nonce".into()),
            canonical: canonical.into(),
        }
    }

    fn parts(url: &str) -> SignedParts {
        SignedParts {
            method: "get".into(),
            url: Url::parse(url).unwrap(),
            body: None,
        }
    }

    #[test]
    fn known_vector_matches_python_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"s3cr3t-key",
        //   b"GET\n/api/orders\nlimit=5&user_id=7\n1700000000",
        //   hashlib.sha256).hexdigest())'
        let recipe = SigningRecipe::from_entry(
            &entry("{method}\n{path}\n{sorted_query}\n{timestamp}"),
            "s3cr3t-key",
        )
        .unwrap();
        let sent = parts("http://127.0.0.1:8080/api/orders?user_id=7&limit=5");
        let headers = vec![("X-Timestamp".to_string(), "1700000000".to_string())];
        assert_eq!(
            String::from_utf8(recipe.string_to_sign(&sent, &headers)).unwrap(),
            "GET\n/api/orders\nlimit=5&user_id=7\n1700000000"
        );
        assert_eq!(
            recipe.signature(&sent, &headers),
            "6d7fa91512d33163262ec5f57b7c0c884cb083e890e4330abd6e15da32823299"
        );
    }

    #[test]
    fn rfc4231_vectors_for_every_algorithm_and_encoding() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let data = "what do ya want for nothing?";
        let sent = parts("http://h/");
        // (algorithm, encoding, secret encoding, secret, expected signature)
        let vectors = [
            ("hmac-sha256", "hex", "utf8", "Jefe", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ("hmac-sha512", "hex", "utf8", "Jefe", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
            ("hmac-sha1", "hex", "utf8", "Jefe", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            ("hmac-sha256", "base64", "utf8", "Jefe", "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="),
            ("hmac-sha256", "base64url", "hex", "4a656665", "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM"),
        ];
        for (algorithm, encoding, secret_encoding, secret, expected) in vectors {
            let mut e = entry(data);
            e.timestamp_header = None;
            e.nonce_header = None;
            e.algorithm = algorithm.into();
            e.encoding = encoding.into();
            e.secret_encoding = secret_encoding.into();
            let recipe = SigningRecipe::from_entry(&e, secret).unwrap();
            assert_eq!(
                recipe.signature(&sent, &[]),
                expected,
                "{algorithm} {encoding}"
            );
        }
    }

    #[test]
    fn placeholders_render_what_is_sent() {
        let recipe = SigningRecipe::from_entry(
            &entry("{method}|{target}|{query}|{host}|{nonce}|{header:x-client-id}|{body}|{body_sha256}|{{x}}"),
            "secret-1",
        )
        .unwrap();
        let mut sent = parts("http://api.example:8443/a%20b?z=1&a=2");
        sent.method = "POST".into();
        sent.body = Some(Bytes::from_static(b"{}"));
        let headers = vec![
            ("X-Client-Id".to_string(), "c1".to_string()),
            ("X-Nonce".to_string(), "n1".to_string()),
        ];
        assert_eq!(
            String::from_utf8(recipe.string_to_sign(&sent, &headers)).unwrap(),
            "POST|/a%20b?z=1&a=2|z=1&a=2|api.example:8443|n1|c1|{}|\
             44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a|{x}"
        );
    }

    #[test]
    fn signing_headers_use_the_chosen_time_nonce_and_request() {
        let recipe =
            SigningRecipe::from_entry(&entry("{method}\n{target}\n{timestamp}\n{nonce}"), "k-123")
                .unwrap();
        let sent = parts("http://h/api/orders?user_id=2");
        let original = parts("http://h/api/orders?user_id=1");
        let options = SignOptions {
            timestamp: Some(1_000),
            nonce: Some("n".into()),
            ..SignOptions::default()
        };
        let fixed = recipe.signing_headers(&sent, &[], &options, 5);
        assert_eq!(fixed[0], ("X-Timestamp".into(), "1000".into()));
        assert_eq!(fixed[1], ("X-Nonce".into(), "n".into()));
        // Deterministic: the same options give the same signature.
        assert_eq!(fixed, recipe.signing_headers(&sent, &[], &options, 99));
        let over = SignOptions {
            over: Some(original.clone()),
            ..options.clone()
        };
        let forged = recipe.signing_headers(&sent, &[], &over, 5);
        let genuine = recipe.signing_headers(&original, &[], &options, 5);
        assert_eq!(forged, genuine);
        assert_ne!(forged[2], fixed[2]);
        let bad = recipe.signing_headers(
            &sent,
            &[],
            &SignOptions {
                corrupt: true,
                ..options.clone()
            },
            5,
        );
        assert_ne!(bad[2], fixed[2]);
        assert_eq!(bad[2].1.len(), fixed[2].1.len());
        // Fresh nonces and the current time by default.
        let auto = recipe.signing_headers(&sent, &[], &SignOptions::default(), 1234);
        assert_eq!(auto[0].1, "1234");
        assert_eq!(auto[1].1.len(), 32);
        assert_ne!(
            auto[1],
            recipe.signing_headers(&sent, &[], &SignOptions::default(), 1234)[1]
        );
    }

    #[test]
    fn milliseconds_and_prefix() {
        let mut e = entry("{timestamp}");
        e.timestamp_unit = "milliseconds".into();
        e.prefix = "sha256=".into();
        let recipe = SigningRecipe::from_entry(&e, "k-123").unwrap();
        let h = recipe.signing_headers(&parts("http://h/"), &[], &SignOptions::default(), 2);
        assert_eq!(h[0].1, "2000");
        assert!(h[2].1.starts_with("sha256=") && h[2].1.len() == 7 + 64);
    }

    #[test]
    fn invalid_recipes_are_refused_with_typed_errors() {
        let secret = "a-secret-value";
        let check = |e: SigningEntry| SigningRecipe::from_entry(&e, secret).unwrap_err();
        assert_eq!(
            check(entry("{method}{paht}")),
            SigningError::UnknownPlaceholder("paht".into())
        );
        assert_eq!(check(entry("{method")), SigningError::UnbalancedBrace(1));
        assert_eq!(check(entry("a}b")), SigningError::UnbalancedBrace(2));
        assert_eq!(check(entry("")), SigningError::EmptyCanonical);
        let mut e = entry("{path}");
        e.algorithm = "md5".into();
        assert_eq!(check(e), SigningError::UnknownAlgorithm("md5".into()));
        let mut e = entry("{path}");
        e.encoding = "base32".into();
        assert_eq!(check(e), SigningError::UnknownEncoding("base32".into()));
        let mut e = entry("{timestamp}");
        e.timestamp_header = None;
        assert!(matches!(check(e), SigningError::NeedsHeader { .. }));
        let mut e = entry("{nonce}");
        e.nonce_header = None;
        assert!(matches!(check(e), SigningError::NeedsHeader { .. }));
        let mut e = entry("{path}");
        e.nonce_header = Some("x-signature".into());
        assert_eq!(check(e), SigningError::DuplicateHeader);
        let mut e = entry("{path}");
        e.header = "Bad Header".into();
        assert!(matches!(check(e), SigningError::BadHeaderName { .. }));
        let mut e = entry("{path}");
        e.secret_encoding = "hex".into();
        let err = check(e);
        assert_eq!(err, SigningError::SecretEncoding("hex"));
        assert!(!err.to_string().contains(secret));
        assert_eq!(
            SigningRecipe::from_entry(&entry("{path}"), "abc").unwrap_err(),
            SigningError::SecretTooShort
        );
        let recipe = SigningRecipe::from_entry(&entry("{path}"), secret).unwrap();
        assert!(!format!("{recipe:?}").contains(secret));
    }

    #[test]
    fn settings_are_read_by_any_of_their_names_in_any_case() {
        let secret = "a-secret-value";
        let read = |change: fn(&mut SigningEntry)| {
            let mut e = entry("{path}");
            change(&mut e);
            SigningRecipe::from_entry(&e, secret)
        };
        let recipe = read(|e| {
            e.algorithm = " SHA512".into();
            e.encoding = "Base64URL".into();
            e.secret_encoding = "UTF-8".into();
            e.timestamp_unit = "MS".into();
        })
        .unwrap();
        assert_eq!(recipe.algorithm, Algorithm::HmacSha512);
        assert_eq!(recipe.algorithm.as_str(), "hmac-sha512");
        assert_eq!(recipe.encoding, Encoding::Base64Url);
        assert_eq!(recipe.timestamp_unit, TimestampUnit::Milliseconds);
        let unknown_secret = read(|e| e.secret_encoding = " Base32".into());
        assert_eq!(
            unknown_secret.unwrap_err(),
            SigningError::UnknownSecretEncoding("base32".into())
        );
        let unknown_unit = read(|e| e.timestamp_unit = "Minutes".into());
        assert_eq!(
            unknown_unit.unwrap_err(),
            SigningError::UnknownTimestampUnit("minutes".into())
        );
        for (_, algorithm) in ALGORITHMS {
            assert_eq!(Algorithm::parse(algorithm.as_str()), Ok(algorithm));
        }
    }

    #[test]
    fn corruption_keeps_length_and_alphabet() {
        for (signature, corrupted) in [
            ("0abc", "1abc"),
            ("f00d", "a00d"),
            ("W9zB", "A9zB"),
            ("A9zB", "B9zB"),
            ("", "A"),
        ] {
            assert_eq!(corrupt(signature), corrupted, "{signature:?}");
        }
    }
}
