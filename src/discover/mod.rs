//! Discovery: which endpoints exist. From an OpenAPI/Swagger description when
//! there is one (given or found at a well-known path), otherwise by following
//! same-origin links (JSON responses, HTML pages, redirects); then, always,
//! the imports (HAR, Postman, lists) and the shadow endpoints: hidden paths,
//! versioned siblings and methods an `Allow` header names (`shadow`).

pub mod crawl;
pub mod import;
pub mod params;
pub mod safety;
pub mod sample;
pub mod shadow;
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
    #[serde(flatten)]
    pub schema: ValueSchema,
}

/// What the spec says a value looks like; empty when it says nothing (a
/// crawled or recorded parameter).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValueSchema {
    /// The JSON type (`string`, `integer`, …).
    pub schema_type: Option<String>,
    pub format: Option<String>,
    /// The schema's `pattern` (a regular expression the value must match).
    pub pattern: Option<String>,
    /// The schema's `enum`, rendered as text.
    pub enum_values: Vec<String>,
}

impl Parameter {
    /// A parameter known by its name and place alone (a path template's
    /// `{slot}`, a recorded query): required when it is in the path, with
    /// no schema.
    pub fn new(name: &str, location: ParamLocation, sample: Option<String>) -> Parameter {
        Parameter {
            name: name.to_string(),
            location,
            required: location == ParamLocation::Path,
            sample,
            schema: ValueSchema::default(),
        }
    }
}

/// One top-level property of a request or response body, as the spec
/// describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BodyField {
    pub name: String,
    pub schema_type: Option<String>,
    pub format: Option<String>,
    /// The values the spec allows (`enum`, `const`), in its order.
    pub enum_values: Vec<serde_json::Value>,
    /// `readOnly: true`: the server sets it, a caller must not.
    pub read_only: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointSource {
    Spec,
    Crawl,
    Wordlist,
    /// A request recorded in a HAR file (`--har`).
    Har,
    /// A request of a Postman collection (`--postman`).
    Postman,
    /// A line of a `METHOD /path` list (`--endpoints`).
    List,
    /// Found by probing the built-in list of hidden paths, a versioned
    /// sibling of a documented path, or a method an `Allow` header named.
    Shadow,
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
    /// The request body's top-level fields, as the spec describes them.
    #[serde(skip)]
    pub request_fields: Vec<BodyField>,
    /// The fields of its first 2xx JSON answer (of one item of a list).
    #[serde(skip)]
    pub response_fields: Vec<BodyField>,
    /// OAuth2/OpenID scopes the spec requires for the operation.
    #[serde(skip)]
    pub scopes: Vec<String>,
    /// The spec names it as an OAuth2 password flow's `tokenUrl`: a login
    /// that takes `username` and `password` as a form.
    #[serde(skip)]
    pub token_endpoint: bool,
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
            request_fields: Vec::new(),
            response_fields: Vec::new(),
            scopes: Vec::new(),
            token_endpoint: false,
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

    /// Header parameters with a sample (sent with baseline requests). A
    /// header that carries a credential is never sent from a sample: the
    /// identities supply credentials, and a spec's example (or FastAPI's
    /// empty default for `x-api-key: str = Header("")`) would replace theirs.
    pub fn sample_headers(&self) -> Vec<(String, String)> {
        self.parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Header && !is_credential_header(&p.name))
            .filter_map(|p| Some((p.name.clone(), p.sample.clone()?)))
            .filter(|(_, value)| !value.is_empty())
            .collect()
    }

    /// Learns sample values from `instance`, a request that this endpoint's
    /// template describes: its path segments fill the path parameters that
    /// have no sample, its query and header samples the missing ones.
    pub fn learn_samples(&mut self, instance: &Endpoint) {
        let segments: Vec<&str> = instance.path.trim_end_matches('/').split('/').collect();
        for (at, segment) in self.path.trim_end_matches('/').split('/').enumerate() {
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                continue;
            };
            let Some(value) = segments.get(at).filter(|v| !v.starts_with('{')) else {
                continue;
            };
            let value = url::form_urlencoded::parse(format!("v={value}").as_bytes())
                .next()
                .map_or_else(|| value.to_string(), |(_, v)| v.into_owned());
            match self.parameters.iter_mut().find(|p| p.name == name) {
                Some(param) if param.sample.is_none() => param.sample = Some(value),
                Some(_) => {}
                None => {
                    self.parameters
                        .push(Parameter::new(name, ParamLocation::Path, Some(value)))
                }
            }
        }
        for param in &instance.parameters {
            match self
                .parameters
                .iter_mut()
                .find(|p| p.name == param.name && p.location == param.location)
            {
                Some(known) if known.sample.is_none() => known.sample = param.sample.clone(),
                Some(_) => {}
                None if param.location != ParamLocation::Path => {
                    self.parameters.push(param.clone())
                }
                None => {}
            }
        }
        if self.body_sample.is_none() {
            self.body_sample = instance.body_sample.clone();
            self.body_content_type = self
                .body_content_type
                .clone()
                .or_else(|| instance.body_content_type.clone());
        }
    }

    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A header whose name says it carries a credential (`Authorization`,
/// `Cookie`, `X-API-Key`, `X-Auth-Token`, `X-Session`, `X-Signature`, …).
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "cookie",
        "key",
        "token",
        "secret",
        "session",
        "signature",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// `concrete` is an instance of `template`: the same segments, a `{name}`
/// segment matching any one segment.
pub fn template_matches(template: &str, concrete: &str) -> bool {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let c: Vec<&str> = concrete.trim_end_matches('/').split('/').collect();
    t.len() == c.len()
        && t.iter()
            .zip(&c)
            .all(|(t, c)| t == c || (t.starts_with('{') && t.ends_with('}') && !c.is_empty()))
}

/// What stays as it is in a path segment: unreserved characters and a few
/// sub-delimiters; `/`, `?`, `#`, `%` and spaces are encoded, so they stay
/// inside the segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Percent-encodes a value as one path segment.
pub fn encode_path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

/// What discovery produced for one target.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub endpoints: Vec<Endpoint>,
    pub base_path: String,
    /// The spec, when one was used, without its endpoints (they are in
    /// `endpoints`).
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
/// scan's first exchange, which may only redirect). Requests go as `caller`, never to a path `paths` leaves
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
    let endpoints = crawl::crawl_links(engine, caller, root, paths, &mut failures).await;
    Ok(Discovered {
        failures,
        ..Discovered::of(endpoints)
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

    /// Merges endpoints found elsewhere (imports, shadow probing), whose
    /// paths are origin-absolute. A request that a known template already
    /// describes (`/orders/17` for `/orders/{id}`) adds no endpoint but
    /// lends the template its values as samples. When an endpoint lies
    /// outside the spec's base path, every path becomes origin-absolute
    /// (the base path moves into the templates) so both can be requested.
    pub fn absorb(&mut self, incoming: Vec<Endpoint>) -> Vec<Endpoint> {
        let mut added = Vec::new();
        for mut endpoint in incoming {
            if !self.base_path.is_empty() {
                match endpoint.path.strip_prefix(&self.base_path) {
                    Some(rest) if rest.starts_with('/') => endpoint.path = rest.to_string(),
                    Some("") => endpoint.path = "/".into(),
                    _ => self.rebase(),
                }
            }
            let known = self
                .endpoints
                .iter_mut()
                .find(|e| e.method == endpoint.method && template_matches(&e.path, &endpoint.path));
            match known {
                Some(known) => {
                    known.learn_samples(&endpoint);
                    // What the user recorded or listed says more about an
                    // endpoint than a link the crawl followed to it.
                    let imported = matches!(
                        endpoint.source,
                        EndpointSource::Har | EndpointSource::Postman | EndpointSource::List
                    );
                    if imported
                        && matches!(
                            known.source,
                            EndpointSource::Crawl | EndpointSource::Wordlist
                        )
                    {
                        known.source = endpoint.source;
                    }
                }
                None => {
                    added.push(endpoint.clone());
                    self.endpoints.push(endpoint);
                }
            }
        }
        added
    }

    /// Moves the base path into every endpoint's path.
    fn rebase(&mut self) {
        if self.base_path.is_empty() {
            return;
        }
        let base = std::mem::take(&mut self.base_path);
        for endpoint in &mut self.endpoints {
            endpoint.path = if endpoint.path == "/" {
                base.clone()
            } else {
                format!("{base}{}", endpoint.path)
            };
        }
    }

    /// The documented operations, when a spec was used: `(method, path)`.
    pub fn documented(&self) -> Vec<(String, String)> {
        self.endpoints
            .iter()
            .filter(|e| e.source == EndpointSource::Spec)
            .map(|e| (e.method.clone(), e.path.clone()))
            .collect()
    }

    /// `endpoints` known without a spec (imported, given, or built by a
    /// test), under the target's root.
    pub fn of(endpoints: Vec<Endpoint>) -> Self {
        Discovered {
            endpoints,
            base_path: String::new(),
            spec: None,
            spec_source: None,
            failures: Failures::new(),
        }
    }

    /// The spec's endpoints move to `endpoints` (the spec keeps the rest):
    /// a copy would be a second set of every operation for the whole scan.
    pub fn from_spec(mut spec: ApiSpec, source: &str) -> Self {
        Discovered {
            endpoints: std::mem::take(&mut spec.endpoints),
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
            required,
            ..Parameter::new(name, location, sample.map(String::from))
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
    fn credential_headers_and_empty_defaults_are_never_sent_as_samples() {
        let mut endpoint = Endpoint::discovered("/items", EndpointSource::Spec);
        endpoint.parameters = vec![
            param("x-api-key", ParamLocation::Header, Some(""), false),
            param(
                "Authorization",
                ParamLocation::Header,
                Some("Bearer example"),
                false,
            ),
            param("X-Tenant", ParamLocation::Header, Some("acme"), false),
            param("X-Trace", ParamLocation::Header, Some(""), false),
        ];
        assert_eq!(
            endpoint.sample_headers(),
            vec![("X-Tenant".to_string(), "acme".to_string())]
        );
    }

    #[test]
    fn absorbed_requests_lend_samples_to_templates_and_rebase_outside_paths() {
        let mut spec_endpoint = Endpoint::discovered("/orders/{id}", EndpointSource::Spec);
        spec_endpoint.parameters = vec![param("id", ParamLocation::Path, None, true)];
        let mut discovered = Discovered {
            base_path: "/api/v2".into(),
            ..Discovered::of(vec![spec_endpoint])
        };
        let added = discovered.absorb(vec![Endpoint::discovered(
            "/api/v2/orders/17",
            EndpointSource::Har,
        )]);
        assert!(added.is_empty());
        assert_eq!(
            discovered.endpoints[0]
                .concrete_path_and_query(&discovered.base_path)
                .as_deref(),
            Some("/api/v2/orders/17")
        );
        let added = discovered.absorb(vec![Endpoint::discovered("/debug", EndpointSource::Shadow)]);
        assert_eq!(added.len(), 1);
        assert_eq!(discovered.base_path, "");
        let paths: Vec<&str> = discovered
            .endpoints
            .iter()
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(paths, vec!["/api/v2/orders/{id}", "/debug"]);
        assert!(template_matches("/a/{x}/b", "/a/1/b"));
        assert!(!template_matches("/a/{x}", "/a/1/b"));
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

    #[test]
    fn a_segment_keeps_its_separators_inside_it() {
        assert_eq!(
            encode_path_segment("a/b?c#d%e f-._~!$&'()*+,;=:@é"),
            "a%2Fb%3Fc%23d%25e%20f-._~!$&'()*+,;=:@%C3%A9"
        );
    }
}
