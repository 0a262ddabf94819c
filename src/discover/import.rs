//! Endpoints from what users already have: a HAR file recorded in a
//! browser or a proxy (`--har`), a Postman collection v2.1 (`--postman`)
//! and a plain list of `METHOD /path` lines (`--endpoints`).
//!
//! Every import gives endpoints with origin-absolute paths; the scan merges
//! them with the spec and discovery ([`super::Discovered::absorb`]). What a
//! request carried as credentials (cookies, `Authorization`, API keys) is
//! never kept: identities come from `--identity`, so a recording never
//! turns into a request sent as someone the user did not name.

use std::path::PathBuf;

use serde::Deserialize;
use thiserror::Error;
use url::Url;

use super::{Endpoint, EndpointSource, ParamLocation, Parameter};

/// Which kind of file an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Har,
    Postman,
    List,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Har => "HAR file",
            ImportKind::Postman => "Postman collection",
            ImportKind::List => "endpoint list",
        }
    }

    fn source(self) -> EndpointSource {
        match self {
            ImportKind::Har => EndpointSource::Har,
            ImportKind::Postman => EndpointSource::Postman,
            ImportKind::List => EndpointSource::List,
        }
    }
}

/// One file to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub kind: ImportKind,
    pub path: PathBuf,
}

/// An import that cannot be used; the scan stops with exit status 2 and
/// this one line.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("cannot read {kind} {path}: {message}")]
    Unreadable {
        kind: &'static str,
        path: String,
        message: String,
    },
    #[error("invalid {kind} {path}: {message}")]
    Invalid {
        kind: &'static str,
        path: String,
        message: String,
    },
}

/// Largest import file read.
const IMPORT_CAP: u64 = 64 * 1024 * 1024;

/// Reads and parses one import; only requests to `target`'s origin are kept.
pub fn load(import: &Import, target: &Url) -> Result<Vec<Endpoint>, ImportError> {
    let kind = import.kind.as_str();
    let path = import.path.display().to_string();
    let unreadable = |message: String| ImportError::Unreadable {
        kind,
        path: path.clone(),
        message,
    };
    let meta = std::fs::metadata(&import.path).map_err(|e| unreadable(e.to_string()))?;
    if meta.len() > IMPORT_CAP {
        return Err(unreadable(format!("larger than {IMPORT_CAP} bytes")));
    }
    let text = std::fs::read_to_string(&import.path).map_err(|e| unreadable(e.to_string()))?;
    parse(import.kind, &text, target).map_err(|message| ImportError::Invalid {
        kind,
        path: path.clone(),
        message,
    })
}

/// Parses an import's text (see [`load`]).
pub fn parse(kind: ImportKind, text: &str, target: &Url) -> Result<Vec<Endpoint>, String> {
    let found = match kind {
        ImportKind::Har => parse_har(text, target)?,
        ImportKind::Postman => parse_postman(text, target)?,
        ImportKind::List => parse_list(text)?,
    };
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for mut endpoint in found {
        endpoint.source = kind.source();
        match endpoints
            .iter_mut()
            .find(|e| e.method == endpoint.method && e.path == endpoint.path)
        {
            // The same request twice: keep the first, learn new samples.
            Some(known) => {
                for param in endpoint.parameters {
                    if !known.parameters.iter().any(|p| p.name == param.name) {
                        known.parameters.push(param);
                    }
                }
            }
            None => endpoints.push(endpoint),
        }
    }
    Ok(endpoints)
}

/// Headers that carry credentials or belong to the connection: never kept
/// as an endpoint's sample headers.
fn keeps_header(name: &str) -> bool {
    let credential = super::is_credential_header(name);
    let name = name.to_ascii_lowercase();
    let transport = [
        "host",
        "content-length",
        "connection",
        "accept-encoding",
        "user-agent",
        "accept",
        "content-type",
        "origin",
        "referer",
        "cache-control",
        "pragma",
        "upgrade-insecure-requests",
    ]
    .contains(&name.as_str())
        || name.starts_with("sec-")
        || name.starts_with(':');
    !credential && !transport
}

fn parameter(name: &str, location: ParamLocation, sample: &str) -> Parameter {
    Parameter::new(name, location, Some(sample.to_string()))
}

fn valid_method(method: &str) -> Option<String> {
    let method = method.trim().to_ascii_uppercase();
    matches!(
        method.as_str(),
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
    )
    .then_some(method)
}

/// A request made from its parts: method, concrete URL, headers, body.
fn endpoint_from(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: Option<(&str, Option<&str>)>,
) -> Endpoint {
    let mut endpoint = Endpoint::discovered(url.path(), EndpointSource::Har);
    endpoint.method = method.to_string();
    for (name, value) in url.query_pairs() {
        if super::is_credential_header(&name) {
            // An API key in the query string is a credential, not a sample.
            continue;
        }
        if !endpoint.parameters.iter().any(|p| p.name == name) {
            endpoint
                .parameters
                .push(parameter(&name, ParamLocation::Query, &value));
        }
    }
    for (name, value) in headers.iter().filter(|(n, _)| keeps_header(n)) {
        endpoint
            .parameters
            .push(parameter(name, ParamLocation::Header, value));
    }
    if let Some((text, content_type)) = body {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            endpoint.body_sample = Some(json);
            endpoint.body_content_type = Some("application/json".into());
        } else if !text.is_empty() {
            endpoint.body_content_type = content_type.map(str::to_string);
        }
    }
    endpoint
}

fn same_origin(url: &Url, target: &Url) -> bool {
    url.scheme() == target.scheme()
        && url.host_str() == target.host_str()
        && url.port_or_known_default() == target.port_or_known_default()
}

// ---- HAR 1.2 -------------------------------------------------------------

#[derive(Deserialize)]
struct Har {
    log: HarLog,
}

#[derive(Deserialize)]
struct HarLog {
    entries: Vec<HarEntry>,
}

#[derive(Deserialize)]
struct HarEntry {
    request: HarRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    post_data: Option<HarPostData>,
}

#[derive(Deserialize)]
struct NameValue {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarPostData {
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// The requests of a HAR 1.2 log that went to the target's origin.
fn parse_har(text: &str, target: &Url) -> Result<Vec<Endpoint>, String> {
    let har: Har = serde_json::from_str(text).map_err(|e| format!("not a HAR log ({e})"))?;
    let mut out = Vec::new();
    for (index, entry) in har.log.entries.iter().enumerate() {
        let request = &entry.request;
        let method = valid_method(&request.method).ok_or_else(|| {
            format!(
                "entry {}: unsupported method {:?}",
                index + 1,
                request.method
            )
        })?;
        let url = Url::parse(&request.url)
            .map_err(|e| format!("entry {}: bad URL {:?} ({e})", index + 1, request.url))?;
        if !same_origin(&url, target) {
            continue;
        }
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let body = request
            .post_data
            .as_ref()
            .and_then(|p| Some((p.text.as_deref()?, p.mime_type.as_deref())));
        out.push(endpoint_from(&method, &url, &headers, body));
    }
    Ok(out)
}

// ---- Postman collection v2.1 ---------------------------------------------

#[derive(Deserialize)]
struct Collection {
    info: CollectionInfo,
    #[serde(default)]
    item: Vec<Item>,
    #[serde(default)]
    variable: Vec<Variable>,
}

#[derive(Deserialize)]
struct CollectionInfo {
    #[serde(default)]
    schema: String,
}

/// A folder (with `item`) or a request (with `request`).
#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    name: String,
    #[serde(default)]
    item: Vec<Item>,
    #[serde(default)]
    request: Option<PostmanRequest>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PostmanRequest {
    /// A bare URL: a GET.
    Url(String),
    Full(Box<FullRequest>),
}

#[derive(Deserialize)]
struct FullRequest {
    #[serde(default = "get")]
    method: String,
    url: PostmanUrl,
    #[serde(default)]
    header: Vec<PostmanHeader>,
    #[serde(default)]
    body: Option<PostmanBody>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PostmanUrl {
    Raw(String),
    Parts(UrlParts),
}

#[derive(Deserialize)]
struct UrlParts {
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    path: Option<PathParts>,
    #[serde(default)]
    query: Vec<PostmanQuery>,
    #[serde(default)]
    variable: Vec<Variable>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PathParts {
    Joined(String),
    Segments(Vec<Segment>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Segment {
    Text(String),
    Object { value: String },
}

#[derive(Deserialize)]
struct PostmanQuery {
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    disabled: bool,
}

#[derive(Deserialize)]
struct PostmanHeader {
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    disabled: bool,
}

#[derive(Deserialize)]
struct PostmanBody {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    raw: Option<String>,
}

#[derive(Deserialize)]
struct Variable {
    key: Option<String>,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

fn variables(list: &[Variable]) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|v| {
            let key = v.key.clone()?;
            let value = match v.value.as_ref()? {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((key, value))
        })
        .collect()
}

/// `{{name}}` replaced by the collection's variables (unknown ones stay).
fn substitute(text: &str, vars: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// The path of a Postman URL, origin-absolute, with `:name` segments as
/// `{name}` templates, and the samples of those path variables.
fn postman_path(url: &PostmanUrl, vars: &[(String, String)]) -> Option<(String, Vec<Parameter>)> {
    let (raw, parts) = match url {
        PostmanUrl::Raw(raw) => (Some(raw.as_str()), None),
        PostmanUrl::Parts(parts) => (parts.raw.as_deref(), Some(parts)),
    };
    let segments: Vec<String> = match parts.and_then(|p| p.path.as_ref()) {
        Some(PathParts::Segments(segments)) => segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.clone(),
                Segment::Object { value } => value.clone(),
            })
            .collect(),
        Some(PathParts::Joined(joined)) => joined.split('/').map(str::to_string).collect(),
        None => {
            // Only the raw URL: what follows the host (a `{{baseUrl}}`
            // variable or a real origin) is the path.
            let raw = substitute(raw?, vars);
            let raw = raw.split(['?', '#']).next().unwrap_or("");
            let after_scheme = raw.split_once("://").map_or(raw, |(_, rest)| rest);
            let path = match after_scheme.strip_prefix("{{") {
                Some(rest) => rest.split_once("}}").map_or("", |(_, p)| p),
                None => after_scheme.find('/').map_or("", |at| &after_scheme[at..]),
            };
            path.split('/').map(str::to_string).collect()
        }
    };
    let local: Vec<(String, String)> = parts.map(|p| variables(&p.variable)).unwrap_or_default();
    let mut params = Vec::new();
    let mut path = String::new();
    for segment in segments.iter().map(|s| substitute(s, vars)) {
        if segment.is_empty() {
            continue;
        }
        path.push('/');
        match segment.strip_prefix(':') {
            Some(name) if !name.is_empty() => {
                path.push_str(&format!("{{{name}}}"));
                let sample = local
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_empty());
                params.push(Parameter::new(name, ParamLocation::Path, sample));
            }
            _ => path.push_str(&segment),
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    Some((path, params))
}

fn collect_requests<'a>(items: &'a [Item], out: &mut Vec<(&'a str, &'a PostmanRequest)>) {
    for item in items {
        if let Some(request) = &item.request {
            out.push((&item.name, request));
        }
        collect_requests(&item.item, out);
    }
}

/// The requests of a Postman collection (v2.0 or v2.1), folders included.
fn parse_postman(text: &str, _target: &Url) -> Result<Vec<Endpoint>, String> {
    let collection: Collection =
        serde_json::from_str(text).map_err(|e| format!("not a Postman collection ({e})"))?;
    if !collection.info.schema.contains("collection/v2") {
        return Err(format!(
            "not a Postman collection v2.1 (schema {:?})",
            collection.info.schema
        ));
    }
    let vars = variables(&collection.variable);
    let mut requests = Vec::new();
    collect_requests(&collection.item, &mut requests);
    let mut out = Vec::new();
    for (name, request) in requests {
        let bare;
        let (method, url, headers, body) = match request {
            PostmanRequest::Url(raw) => {
                bare = PostmanUrl::Raw(raw.clone());
                ("GET".to_string(), &bare, Vec::new(), None)
            }
            PostmanRequest::Full(full) => {
                let method = valid_method(&full.method)
                    .ok_or_else(|| format!("{name:?}: unsupported method {:?}", full.method))?;
                let headers: Vec<(String, String)> = full
                    .header
                    .iter()
                    .filter(|h| !h.disabled)
                    .map(|h| (h.key.clone(), substitute(&h.value, &vars)))
                    .collect();
                let body = full
                    .body
                    .as_ref()
                    .filter(|b| b.mode.as_deref().unwrap_or("raw") == "raw")
                    .and_then(|b| b.raw.as_deref())
                    .map(|raw| substitute(raw, &vars));
                (method, &full.url, headers, body)
            }
        };
        let (path, path_params) =
            postman_path(url, &vars).ok_or_else(|| format!("{name:?}: a request without a URL"))?;
        let query: Vec<(String, String)> = match url {
            PostmanUrl::Parts(parts) => parts
                .query
                .iter()
                .filter(|q| !q.disabled)
                .filter_map(|q| {
                    Some((
                        q.key.clone()?,
                        substitute(q.value.as_deref().unwrap_or(""), &vars),
                    ))
                })
                .collect(),
            PostmanUrl::Raw(raw) => raw_query(raw, &vars),
        };
        // A stand-in origin: only the path and the query are used.
        let mut concrete = Url::parse("http://postman.invalid/").map_err(|e| e.to_string())?;
        concrete.set_path(&path);
        if !query.is_empty() {
            concrete.query_pairs_mut().extend_pairs(query);
        }
        let mut endpoint = endpoint_from(
            &method,
            &concrete,
            &headers,
            body.as_deref().map(|b| (b, None)),
        );
        // `{name}` was percent-encoded by the URL parser; keep the template.
        endpoint.path = path;
        endpoint.parameters.splice(0..0, path_params);
        if !name.is_empty() {
            endpoint.summary = Some(name.to_string());
        }
        out.push(endpoint);
    }
    Ok(out)
}

fn raw_query(raw: &str, vars: &[(String, String)]) -> Vec<(String, String)> {
    let raw = substitute(raw, vars);
    let Some((_, query)) = raw.split_once('?') else {
        return Vec::new();
    };
    url::form_urlencoded::parse(query.split('#').next().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

// ---- METHOD /path lists --------------------------------------------------

/// One endpoint per line: `METHOD /path` or just `/path` (a GET); `{name}`
/// marks a path parameter; blank lines and `#` comments are skipped.
fn parse_list(text: &str) -> Result<Vec<Endpoint>, String> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (method, path) = match line.split_once(char::is_whitespace) {
            Some((method, path)) => (method, path.trim()),
            None => ("GET", line),
        };
        let method = valid_method(method)
            .ok_or_else(|| format!("line {}: unknown method {method:?}", number + 1))?;
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            return Err(format!(
                "line {}: expected `METHOD /path`, got {line:?}",
                number + 1
            ));
        }
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut endpoint = Endpoint::discovered(path, EndpointSource::List);
        endpoint.method = method;
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                endpoint
                    .parameters
                    .push(Parameter::new(name, ParamLocation::Path, None));
            }
        }
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            endpoint
                .parameters
                .push(parameter(&name, ParamLocation::Query, &value));
        }
        out.push(endpoint);
    }
    Ok(out)
}

/// Reads every import, in order.
pub fn load_all(imports: &[Import], target: &Url) -> Result<Vec<Endpoint>, ImportError> {
    let mut out = Vec::new();
    for import in imports {
        out.extend(load(import, target)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Url {
        Url::parse("http://127.0.0.1:8080/").unwrap()
    }

    fn labels(endpoints: &[Endpoint]) -> Vec<String> {
        endpoints.iter().map(Endpoint::label).collect()
    }

    #[test]
    fn a_har_keeps_the_target_requests_their_samples_and_no_credential() {
        let har = r#"{"log": {"version": "1.2", "entries": [
            {"request": {"method": "GET", "url": "http://127.0.0.1:8080/api/items?page=2&api_key=s3cret",
                         "headers": [{"name": "Authorization", "value": "Bearer abc"},
                                     {"name": "X-Tenant", "value": "acme"},
                                     {"name": "Accept", "value": "*/*"}]}},
            {"request": {"method": "post", "url": "http://127.0.0.1:8080/api/items",
                         "postData": {"mimeType": "application/json", "text": "{\"name\": \"x\"}"}}},
            {"request": {"method": "GET", "url": "https://cdn.example/app.js"}},
            {"request": {"method": "GET", "url": "http://127.0.0.1:8080/api/items?page=3"}}
        ]}}"#;
        let endpoints = parse(ImportKind::Har, har, &target()).unwrap();
        assert_eq!(
            labels(&endpoints),
            vec!["GET /api/items", "POST /api/items"]
        );
        let get = &endpoints[0];
        assert_eq!(get.source, EndpointSource::Har);
        let params: Vec<(&str, ParamLocation, Option<&str>)> = get
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.location, p.sample.as_deref()))
            .collect();
        assert_eq!(
            params,
            vec![
                ("page", ParamLocation::Query, Some("2")),
                ("X-Tenant", ParamLocation::Header, Some("acme")),
            ]
        );
        assert_eq!(
            endpoints[1].body_sample,
            Some(serde_json::json!({"name": "x"}))
        );
    }

    #[test]
    fn a_postman_collection_gives_templates_with_their_variables() {
        let collection = r#"{
          "info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
          "variable": [{"key": "baseUrl", "value": "http://127.0.0.1:8080"}, {"key": "v", "value": "v2"}],
          "item": [
            {"name": "folder", "item": [
              {"name": "Get user", "request": {"method": "GET",
                "url": {"raw": "{{baseUrl}}/api/{{v}}/users/:id?expand=1",
                        "path": ["api", "{{v}}", "users", ":id"],
                        "query": [{"key": "expand", "value": "1"}, {"key": "debug", "value": "1", "disabled": true}],
                        "variable": [{"key": "id", "value": "42"}]}}}
            ]},
            {"name": "Bare", "request": "{{baseUrl}}/health"},
            {"name": "Raw only", "request": {"method": "DELETE", "url": "http://127.0.0.1:8080/api/items/7"}}
          ]}"#;
        let endpoints = parse(ImportKind::Postman, collection, &target()).unwrap();
        assert_eq!(
            labels(&endpoints),
            vec![
                "GET /api/v2/users/{id}",
                "GET /health",
                "DELETE /api/items/7"
            ]
        );
        assert_eq!(
            endpoints[0].concrete_path_and_query("").as_deref(),
            Some("/api/v2/users/42?expand=1")
        );
        assert_eq!(endpoints[0].summary.as_deref(), Some("Get user"));
    }

    #[test]
    fn a_list_takes_methods_paths_templates_and_comments() {
        let list = "# endpoints\nGET /a\n/b?x=1  # a GET\n\ndelete /c/{id}\n";
        let endpoints = parse(ImportKind::List, list, &target()).unwrap();
        assert_eq!(
            labels(&endpoints),
            vec!["GET /a", "GET /b", "DELETE /c/{id}"]
        );
        assert_eq!(endpoints[2].parameters[0].location, ParamLocation::Path);
    }

    #[test]
    fn broken_files_are_one_line_errors_never_panics() {
        let t = target();
        assert!(parse(ImportKind::Har, "{", &t)
            .unwrap_err()
            .contains("not a HAR log"));
        assert!(parse(ImportKind::Har, r#"{"log": {"entries": [{"request": {"method": "BREW", "url": "http://127.0.0.1:8080/"}}]}}"#, &t)
            .unwrap_err()
            .contains("unsupported method"));
        assert!(parse(
            ImportKind::Postman,
            r#"{"info": {"schema": "v1"}, "item": []}"#,
            &t
        )
        .unwrap_err()
        .contains("v2.1"));
        assert!(parse(ImportKind::List, "GET nothing", &t)
            .unwrap_err()
            .contains("line 1"));
        for text in ["", "null", "[]", "{\"log\": 1}", "\u{0}", "{\"info\": {}}"] {
            for kind in [ImportKind::Har, ImportKind::Postman, ImportKind::List] {
                let _ = parse(kind, text, &t);
            }
        }
    }
}
