//! OpenAPI 3.0/3.1 and Swagger 2.0 parsing into scanner endpoints.
//!
//! The input is untrusted (often fetched from the target itself), so the parser
//! is lenient about shape — wrong types and missing fields just yield fewer
//! endpoints or `None`s — and only fails when the text isn't an API description
//! at all. Every walk over the document is bounded; see `sample.rs`.
//!
//! The text becomes a JSON value in `document` (YAML or JSON, with the
//! bounds hostile input needs); `operations` turns each path item's
//! operations into endpoints and parameters, `bodies` builds request body
//! samples (OpenAPI 3 `requestBody` or Swagger 2 `body`/`formData`
//! parameters), `servers` finds the base path and `security` reads the
//! security requirements and schemes.

mod bodies;
mod document;
mod fields;
mod operations;
mod security;
mod servers;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::{Map, Value};

use super::sample::Document;
use super::{Endpoint, ParamLocation};

use document::parse_document;
use operations::Parser;

/// Callers enforce their own limit; this is the backstop.
pub const MAX_SPEC_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("API description exceeds the {} MiB limit", MAX_SPEC_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("not valid JSON or YAML: {0}")]
    NotJsonOrYaml(String),
    #[error("not an OpenAPI/Swagger description: {0}")]
    NotAnApiDescription(String),
    #[error("unsupported API description version {0} (supported: Swagger 2.0, OpenAPI 3.0–3.2)")]
    UnsupportedVersion(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityScheme {
    pub name: String,
    /// `apiKey`, `http`, `oauth2`, `openIdConnect` (or `mutualTLS`); Swagger 2's
    /// `basic` is reported as `http` with scheme `basic`.
    pub kind: String,
    /// Where an `apiKey` goes.
    pub location: Option<ParamLocation>,
    /// The header/query/cookie name of an `apiKey`.
    pub parameter_name: Option<String>,
    /// `bearer`, `basic`, … for `http` schemes, lowercased.
    pub scheme: Option<String>,
    /// An OAuth2 password flow's `tokenUrl` (as written: a path or a URL).
    pub token_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiSpec {
    pub title: Option<String>,
    /// As written in the document: "3.0.3", "3.1.0", "2.0".
    pub version: String,
    /// "" or e.g. "/api/v1": never a trailing slash.
    pub base_path: String,
    pub endpoints: Vec<Endpoint>,
    pub security_schemes: Vec<SecurityScheme>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Swagger2,
    OpenApi3,
}

/// Parses an OpenAPI 3.x or Swagger 2.0 description given as JSON or YAML.
pub fn parse_spec(text: &str) -> Result<ApiSpec, SpecError> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(SpecError::TooLarge);
    }
    let root = parse_document(text)?;
    let top = match &root {
        Value::Object(top) => top,
        Value::String(_) => {
            // Any text is a valid YAML scalar, but an HTML page or a plain-text
            // error is not what anyone would call YAML.
            return Err(SpecError::NotJsonOrYaml(
                "the document is plain text, not a JSON or YAML mapping".to_owned(),
            ));
        }
        other => {
            return Err(SpecError::NotAnApiDescription(format!(
                "the top level is {}, expected an object with an `openapi` or `swagger` field",
                kind_of(other)
            )))
        }
    };
    let (dialect, version) = detect_version(top)?;
    let doc = Document::new(&root);
    let parser = Parser::new(&doc, top, dialect);
    let base_path = servers::base_path(top, dialect);
    let security_schemes = parser.security_schemes();
    let mut endpoints = parser.endpoints();
    for token_url in security_schemes
        .iter()
        .filter_map(|s| s.token_url.as_deref())
    {
        for endpoint in endpoints.iter_mut().filter(|e| e.method == "POST") {
            if token_url_names(token_url, &base_path, &endpoint.path) {
                endpoint.token_endpoint = true;
            }
        }
    }
    Ok(ApiSpec {
        title: top
            .get("info")
            .and_then(|info| info.get("title"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        version,
        base_path,
        endpoints,
        security_schemes,
    })
}

/// Whether a `tokenUrl` (relative like `token` or `/api/token`, or a full
/// URL) names the endpoint at `path` under `base_path`.
fn token_url_names(token_url: &str, base_path: &str, path: &str) -> bool {
    let url_path = match token_url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => token_url,
    };
    let url_path = url_path.split(['?', '#']).next().unwrap_or("");
    let url_path = url_path.trim_end_matches('/');
    let full = format!("{base_path}{path}");
    let full = full.trim_end_matches('/');
    if url_path.starts_with('/') {
        url_path == full || url_path == path.trim_end_matches('/')
    } else {
        // Relative to the spec's base: "token" or "api/token".
        full.ends_with(&format!("/{url_path}"))
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn detect_version(top: &Map<String, Value>) -> Result<(Dialect, String), SpecError> {
    let (dialect, raw) = match (top.get("openapi"), top.get("swagger")) {
        (Some(v), _) => (Dialect::OpenApi3, v),
        (None, Some(v)) => (Dialect::Swagger2, v),
        (None, None) => {
            return Err(SpecError::NotAnApiDescription(
                "no `openapi` or `swagger` version field".to_owned(),
            ))
        }
    };
    // Unquoted YAML `swagger: 2.0` arrives as a number.
    let version = match raw {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(SpecError::UnsupportedVersion(truncate_chars(
                &other.to_string(),
                40,
            )))
        }
    };
    let mut parts = version.split('.');
    let supported = match (dialect, parts.next(), parts.next()) {
        // 3.2 only adds to 3.1, so it reads fine with the same rules.
        (Dialect::OpenApi3, Some("3"), Some("0" | "1" | "2")) => true,
        (Dialect::Swagger2, Some("2"), Some("0") | None) => true,
        _ => false,
    };
    if supported {
        Ok((dialect, version))
    } else {
        Err(SpecError::UnsupportedVersion(truncate_chars(&version, 40)))
    }
}
