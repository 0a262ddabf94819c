//! Discovery: which endpoints exist. From an OpenAPI/Swagger description when
//! there is one (given or found at a well-known path), otherwise by following
//! same-origin links (JSON responses, HTML pages, redirects) and trying a
//! short built-in path list.

pub mod crawl;
pub mod safety;
pub mod sample;
pub mod spec;

use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;
use url::Url;

use crate::engine::{Caller, Engine, EngineError, Exchange};

pub use spec::{parse_spec, ApiSpec, SecurityScheme, SpecError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
    /// A top-level field of the request body (JSON or form).
    Body,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    /// A harmless value to send: the example, default, first enum value, or one derived from the schema.
    pub sample: Option<String>,
    pub schema_type: Option<String>,
    pub format: Option<String>,
    /// The schema's `pattern` (a regular expression the value must match).
    pub pattern: Option<String>,
    /// The schema's `enum`, rendered as text.
    pub enum_values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointSource {
    Spec,
    Crawl,
    Wordlist,
    Har,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    pub method: String,
    /// Template relative to the API base, e.g. "/items/{item_id}".
    pub path: String,
    pub parameters: Vec<Parameter>,
    pub body_sample: Option<serde_json::Value>,
    pub body_content_type: Option<String>,
    /// The request body's top-level fields with their schemas (location
    /// [`ParamLocation::Body`]), when the spec describes them.
    pub body_fields: Vec<Parameter>,
    /// Some(true): the spec requires credentials; Some(false): explicitly public.
    pub requires_auth: Option<bool>,
    pub operation_id: Option<String>,
    /// The operation's summary (or the first line of its description).
    pub summary: Option<String>,
    pub source: EndpointSource,
}

impl Endpoint {
    /// A plain GET endpoint found without a spec.
    pub fn discovered(path: &str, source: EndpointSource) -> Self {
        Endpoint {
            method: "GET".into(),
            path: path.to_string(),
            parameters: Vec::new(),
            body_sample: None,
            body_content_type: None,
            body_fields: Vec::new(),
            requires_auth: None,
            operation_id: None,
            summary: None,
            source,
        }
    }

    /// Public by design: the spec says so (`security: []`), or the path is
    /// one every API serves to anyone — documentation, the spec document
    /// itself, health and status pages.
    pub fn public_by_design(&self) -> bool {
        if self.requires_auth == Some(false) {
            return true;
        }
        let last = self
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        matches!(
            last.as_str(),
            "health"
                | "healthz"
                | "healthcheck"
                | "livez"
                | "readyz"
                | "ping"
                | "status"
                | "version"
                | "docs"
                | "redoc"
                | "swagger"
                | "swagger-ui"
                | "api-docs"
                | "openapi"
                | "openapi.json"
                | "openapi.yaml"
                | "swagger.json"
                | "swagger.yaml"
        )
    }

    /// Read-only methods may be sent without `--active`.
    pub fn is_read_only(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }

    /// The concrete path and query to request, with every path parameter
    /// filled from its sample and every required query parameter added.
    /// `None` when a path parameter has no usable value.
    pub fn concrete_path_and_query(&self, base_path: &str) -> Option<String> {
        let mut path = self.path.clone();
        for param in self
            .parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Path)
        {
            let placeholder = format!("{{{}}}", param.name);
            if path.contains(&placeholder) {
                let value = param.sample.as_deref()?;
                path = path.replace(&placeholder, &encode_path_segment(value));
            }
        }
        if path.contains('{') {
            return None;
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut has_query = false;
        for param in self
            .parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Query && (p.required || p.sample.is_some()))
        {
            query.append_pair(&param.name, param.sample.as_deref().unwrap_or("1"));
            has_query = true;
        }
        let mut full = format!("{}{}", base_path.trim_end_matches('/'), path);
        if has_query {
            full.push('?');
            full.push_str(&query.finish());
        }
        Some(full)
    }

    /// Header parameters with a sample (sent with baseline requests).
    pub fn sample_headers(&self) -> Vec<(String, String)> {
        self.parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Header)
            .filter_map(|p| Some((p.name.clone(), p.sample.clone()?)))
            .collect()
    }

    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Percent-encodes a sample value for use as one path segment.
fn encode_path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@:!$&'()*+,;=".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What discovery produced for one target.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub endpoints: Vec<Endpoint>,
    pub base_path: String,
    pub spec: Option<ApiSpec>,
    /// Where the spec came from, when one was used.
    pub spec_source: Option<String>,
    /// Requests discovery sent that failed (timeouts, resets, budget), each
    /// with the request (`GET /path`): the scan reports them.
    pub failures: Failures,
}

/// Requests that failed, each with what was requested (`GET /path`).
pub type Failures = Vec<(String, EngineError)>;

#[derive(Debug, Error)]
pub enum DiscoverError {
    #[error("cannot read spec {path}: {message}")]
    SpecUnreadable { path: String, message: String },
    #[error("invalid spec {source_name}: {error}")]
    InvalidSpec {
        source_name: String,
        error: SpecError,
    },
    #[error("cannot fetch spec {url}: {error}")]
    SpecFetch { url: String, error: EngineError },
}

/// Largest spec document Rampart will read.
pub const SPEC_CAP: usize = 32 * 1024 * 1024;

/// Loads and parses `--spec` (a file path or an http(s) URL).
pub async fn load_spec(engine: &Engine, source: &str) -> Result<ApiSpec, DiscoverError> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        let url = Url::parse(source).map_err(|e| DiscoverError::SpecUnreadable {
            path: source.to_string(),
            message: e.to_string(),
        })?;
        let bytes = engine
            .fetch_document(&url, SPEC_CAP)
            .await
            .map_err(|error| DiscoverError::SpecFetch {
                url: source.to_string(),
                error,
            })?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        let meta = std::fs::metadata(source).map_err(|e| DiscoverError::SpecUnreadable {
            path: source.to_string(),
            message: e.to_string(),
        })?;
        if meta.len() > SPEC_CAP as u64 {
            return Err(DiscoverError::SpecUnreadable {
                path: source.to_string(),
                message: format!("larger than {SPEC_CAP} bytes"),
            });
        }
        std::fs::read_to_string(source).map_err(|e| DiscoverError::SpecUnreadable {
            path: source.to_string(),
            message: e.to_string(),
        })?
    };
    parse_spec(&text).map_err(|error| DiscoverError::InvalidSpec {
        source_name: source.to_string(),
        error,
    })
}

/// Finds the target's endpoints, in order of trust: the spec the user gave
/// (`spec_source`), else a spec the target publishes at a well-known path,
/// else the same-origin links in its answers (starting from `root`, the
/// scan's first exchange, which may only redirect) plus a short list of
/// common paths. Requests go as `caller`, never to a path `paths` leaves
/// out or whose name looks like an action (such links are listed as
/// endpoints all the same, so that the report says they were not
/// requested).
pub async fn discover(
    engine: &Engine,
    spec_source: Option<&str>,
    caller: &Caller,
    root: &Arc<Exchange>,
    paths: &safety::PathFilter,
) -> Result<Discovered, DiscoverError> {
    if let Some(source) = spec_source {
        let spec = load_spec(engine, source).await?;
        return Ok(Discovered::from_spec(spec, source));
    }
    let mut failures = Failures::new();
    if let Some(mut found) = crawl::find_published_spec(engine, caller, &mut failures).await {
        found.failures = failures;
        return Ok(found);
    }
    let mut endpoints = crawl::crawl_links(engine, caller, root, paths, &mut failures).await;
    let known = endpoints.iter().map(|e| e.path.clone()).collect();
    endpoints.extend(crawl::probe_common_paths(engine, caller, &known, &mut failures).await);
    Ok(Discovered {
        endpoints,
        base_path: String::new(),
        spec: None,
        spec_source: None,
        failures,
    })
}

impl Discovered {
    /// Where the endpoints came from, for a progress note.
    pub fn origin(&self) -> String {
        match &self.spec_source {
            Some(source) => format!("spec {source}"),
            None => "crawled".to_string(),
        }
    }

    pub fn from_spec(spec: ApiSpec, source: &str) -> Self {
        Discovered {
            endpoints: spec.endpoints.clone(),
            base_path: spec.base_path.clone(),
            spec: Some(spec),
            spec_source: Some(source.to_string()),
            failures: Failures::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(
        name: &str,
        location: ParamLocation,
        sample: Option<&str>,
        required: bool,
    ) -> Parameter {
        Parameter {
            name: name.into(),
            location,
            required,
            sample: sample.map(String::from),
            schema_type: None,
            format: None,
            pattern: None,
            enum_values: Vec::new(),
        }
    }

    #[test]
    fn public_by_design_is_what_the_spec_or_the_path_says() {
        let mut listed = Endpoint::discovered("/api/users", EndpointSource::Spec);
        assert!(!listed.public_by_design());
        listed.requires_auth = Some(false);
        assert!(listed.public_by_design());
        for path in [
            "/api/health",
            "/status",
            "/v3/api-docs",
            "/openapi.json",
            "/docs/",
        ] {
            assert!(
                Endpoint::discovered(path, EndpointSource::Crawl).public_by_design(),
                "{path}"
            );
        }
        assert!(!Endpoint::discovered("/api/status/{id}", EndpointSource::Spec).public_by_design());
    }

    #[test]
    fn concrete_path_fills_path_and_query_samples() {
        let mut endpoint = Endpoint::discovered("/users/{user_id}/posts", EndpointSource::Spec);
        endpoint.parameters = vec![
            param("user_id", ParamLocation::Path, Some("a b/c"), true),
            param("limit", ParamLocation::Query, Some("5"), false),
            param("cursor", ParamLocation::Query, None, false),
        ];
        assert_eq!(
            endpoint.concrete_path_and_query("/api/").as_deref(),
            Some("/api/users/a%20b%2Fc/posts?limit=5")
        );
        endpoint.parameters[0].sample = None;
        assert_eq!(endpoint.concrete_path_and_query(""), None);
    }
}
