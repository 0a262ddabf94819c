//! OpenAPI 3.0/3.1 and Swagger 2.0 parsing into scanner endpoints.
//!
//! The input is untrusted (often fetched from the target itself), so the parser
//! is lenient about shape — wrong types and missing fields just yield fewer
//! endpoints or `None`s — and only fails when the text isn't an API description
//! at all. Every walk over the document is bounded; see `sample.rs`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::sample::{self, Document};
use super::{Endpoint, EndpointSource, ParamLocation, Parameter};

/// Callers enforce their own limit; this is the backstop.
pub const MAX_SPEC_BYTES: usize = 32 * 1024 * 1024;
/// Path items may be `$ref`s, so a small document can name the same large item
/// many times; these caps keep the output proportional to something sane.
const MAX_ENDPOINTS: usize = 100_000;
const MAX_PARAMS_PER_ENDPOINT: usize = 1_000;
/// Keeps error messages one short line even when a parser quotes input back.
const MAX_MESSAGE_CHARS: usize = 200;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

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
    Ok(ApiSpec {
        title: top
            .get("info")
            .and_then(|info| info.get("title"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        version,
        base_path: match dialect {
            Dialect::OpenApi3 => openapi_base_path(top),
            Dialect::Swagger2 => normalize_base_path(
                top.get("basePath").and_then(Value::as_str).unwrap_or(""),
            ),
        },
        endpoints: parser.endpoints(),
        security_schemes: parser.security_schemes(),
    })
}

fn parse_document(text: &str) -> Result<Value, SpecError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str::<Value>(text).or_else(|json_err| {
            // YAML flow mappings (`{openapi: 3.0.0, …}`) start with `{` too; if
            // that also fails, the JSON error is the one that explains the input.
            parse_yaml(text).map_err(|_| SpecError::NotJsonOrYaml(one_line(&json_err)))
        });
    }
    parse_yaml(text).map_err(|err| SpecError::NotJsonOrYaml(one_line(&err)))
}

fn parse_yaml(text: &str) -> Result<Value, serde_yaml::Error> {
    let mut value: serde_yaml::Value = serde_yaml::from_str(text)?;
    // `<<: *anchor` merge keys are common in hand-written specs. A malformed
    // merge is left as-is rather than rejecting the whole document.
    let _ = value.apply_merge();
    Ok(yaml_to_json(value))
}

/// serde_yaml's mapping is insertion-ordered and serde_json's `preserve_order`
/// keeps it that way, so document order survives the conversion.
fn yaml_to_json(value: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                // JSON has no NaN/Infinity; `.nan`/`.inf` become null.
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| Some((yaml_key(k)?, yaml_to_json(v))))
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// YAML keys may be scalars of any type (`200:` in responses is an integer).
/// Collection keys have no JSON equivalent and are dropped.
fn yaml_key(key: serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value as Y;
    match key {
        Y::String(s) => Some(s),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        Y::Null => Some("null".to_owned()),
        Y::Tagged(tagged) => yaml_key(tagged.value),
        Y::Sequence(_) | Y::Mapping(_) => None,
    }
}

fn one_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&collapsed, MAX_MESSAGE_CHARS)
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
        other => return Err(SpecError::UnsupportedVersion(truncate_chars(&other.to_string(), 40))),
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

/// Path part of the first server URL, with `{variables}` filled from their defaults.
fn openapi_base_path(top: &Map<String, Value>) -> String {
    let Some(server) = top
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|servers| servers.first())
    else {
        return String::new();
    };
    let Some(url) = server.get("url").and_then(Value::as_str) else {
        return String::new();
    };
    let url = substitute_server_variables(url, server.get("variables"));
    normalize_base_path(&url_path(&url))
}

fn substitute_server_variables(url: &str, variables: Option<&Value>) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|i| open + i) else {
            break;
        };
        out.push_str(&rest[..open]);
        let variable = variables.and_then(|vars| vars.get(&rest[open + 1..close]));
        let value = variable
            .and_then(|var| var.get("default"))
            .or_else(|| variable.and_then(|var| var.get("enum")?.get(0)))
            .and_then(sample::render);
        // A variable without a default can't be known; dropping it beats
        // leaving a literal `{var}` in every request path.
        out.push_str(value.as_deref().unwrap_or(""));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The path component of an absolute, scheme-relative or relative URL.
fn url_path(url: &str) -> String {
    let url = url.trim();
    if url.contains("://") {
        if let Ok(parsed) = url::Url::parse(url) {
            return parsed.path().to_owned();
        }
    }
    // Unparseable absolute URLs (e.g. a bad host) and `//host/path`: skip the
    // authority by hand; the path is what matters here.
    let without_authority = match url.find("://").map(|i| i + 3).or_else(|| url.strip_prefix("//").map(|_| 2)) {
        Some(start) => match url[start..].find('/') {
            Some(slash) => &url[start + slash..],
            None => "",
        },
        None => url,
    };
    let end = without_authority.find(['?', '#']).unwrap_or(without_authority.len());
    without_authority[..end].to_owned()
}

fn normalize_base_path(path: &str) -> String {
    let path = path.trim();
    let path = path.strip_prefix('.').filter(|p| p.is_empty() || p.starts_with('/')).unwrap_or(path);
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        String::new()
    } else if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// `Some(false)` for `[]` or a list containing `{}` (auth optional), `Some(true)`
/// when some requirement names a scheme, `None` when the field says nothing usable.
fn security_requirement(security: Option<&Value>) -> Option<bool> {
    let requirements = security?.as_array()?;
    if requirements.is_empty() {
        return Some(false);
    }
    let objects: Vec<&Map<String, Value>> = requirements.iter().filter_map(Value::as_object).collect();
    if objects.iter().any(|req| req.is_empty()) {
        Some(false)
    } else if objects.is_empty() {
        None
    } else {
        Some(true)
    }
}

struct Parser<'d, 'a> {
    doc: &'d Document<'a>,
    top: &'a Map<String, Value>,
    dialect: Dialect,
    default_security: Option<bool>,
}

/// A Swagger 2 request body is spread over `in: body` / `in: formData` parameters.
#[derive(Default)]
struct Swagger2Body<'a> {
    body: Option<&'a Value>,
    form: Vec<(String, &'a Value)>,
}

impl<'d, 'a> Parser<'d, 'a> {
    fn new(doc: &'d Document<'a>, top: &'a Map<String, Value>, dialect: Dialect) -> Self {
        Self {
            doc,
            top,
            dialect,
            default_security: security_requirement(top.get("security")),
        }
    }

    fn endpoints(&self) -> Vec<Endpoint> {
        let mut out = Vec::new();
        let Some(paths) = self.top.get("paths").and_then(Value::as_object) else {
            return out;
        };
        for (template, item) in paths {
            if template.starts_with("x-") {
                continue;
            }
            let Some(item) = self.doc.deref(item).and_then(Value::as_object) else {
                continue;
            };
            // Sloppy specs write "pets" for "/pets"; the request path is the same.
            let path = if template.starts_with('/') {
                template.clone()
            } else {
                format!("/{template}")
            };
            for (key, operation) in item {
                if !METHODS.contains(&key.as_str()) {
                    continue;
                }
                let Some(operation) = operation.as_object() else {
                    continue;
                };
                if out.len() >= MAX_ENDPOINTS || !self.doc.charge(1 + path.len()) {
                    return out;
                }
                out.push(self.endpoint(&path, key, item.get("parameters"), operation));
            }
        }
        out
    }

    fn endpoint(
        &self,
        path: &str,
        method: &str,
        shared_params: Option<&'a Value>,
        operation: &'a Map<String, Value>,
    ) -> Endpoint {
        let mut parameters: Vec<Parameter> = Vec::new();
        let mut index: HashMap<(String, ParamLocation), usize> = HashMap::new();
        let mut swagger_body = Swagger2Body::default();

        let declared = [shared_params, operation.get("parameters")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten();
        for raw in declared {
            // Metered even when skipped or overriding: a path item shared via
            // `$ref` could otherwise make long parameter lists quadratic.
            if !self.doc.charge(1) {
                break;
            }
            let Some(param) = self.doc.deref(raw) else {
                continue;
            };
            let Some(name) = param.get("name").and_then(Value::as_str) else {
                continue;
            };
            let location = match param.get("in").and_then(Value::as_str) {
                Some("path") => ParamLocation::Path,
                Some("query") => ParamLocation::Query,
                Some("header") => ParamLocation::Header,
                Some("cookie") => ParamLocation::Cookie,
                Some("body") if self.dialect == Dialect::Swagger2 => {
                    swagger_body.body = param.get("schema");
                    continue;
                }
                Some("formData") if self.dialect == Dialect::Swagger2 => {
                    let form = &mut swagger_body.form;
                    if let Some(slot) = form.iter_mut().find(|(existing, _)| existing == name) {
                        slot.1 = param;
                    } else if form.len() < MAX_PARAMS_PER_ENDPOINT {
                        form.push((name.to_owned(), param));
                    }
                    continue;
                }
                _ => continue,
            };
            // OpenAPI 3 says these header parameters SHALL be ignored: the
            // client derives them from the body and the security schemes.
            if self.dialect == Dialect::OpenApi3
                && location == ParamLocation::Header
                && ["accept", "content-type", "authorization"]
                    .iter()
                    .any(|h| name.eq_ignore_ascii_case(h))
            {
                continue;
            }
            // Later declarations (operation level) override earlier ones (path level) in place.
            let key = (name.to_owned(), location);
            if let Some(&slot) = index.get(&key) {
                parameters[slot] = self.parameter(name, location, param);
            } else if parameters.len() < MAX_PARAMS_PER_ENDPOINT && self.doc.charge(1 + name.len()) {
                index.insert(key, parameters.len());
                parameters.push(self.parameter(name, location, param));
            }
        }

        // Servers reject requests with an unfilled `{id}`; callers need to know
        // the slot exists even when the spec forgot to declare it.
        for name in template_variables(path) {
            if parameters.len() >= MAX_PARAMS_PER_ENDPOINT {
                break;
            }
            let key = (name.to_owned(), ParamLocation::Path);
            if !index.contains_key(&key) {
                index.insert(key, parameters.len());
                parameters.push(Parameter {
                    name: name.to_owned(),
                    location: ParamLocation::Path,
                    required: true,
                    sample: None,
                    schema_type: None,
                    format: None,
                });
            }
        }

        let (body_sample, body_content_type) = match self.dialect {
            Dialect::OpenApi3 => self.openapi_body(operation),
            Dialect::Swagger2 => self.swagger_body(operation, &swagger_body),
        };

        Endpoint {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            parameters,
            body_sample,
            body_content_type,
            requires_auth: security_requirement(operation.get("security")).or(self.default_security),
            operation_id: operation
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            source: EndpointSource::Spec,
        }
    }

    fn parameter(&self, name: &str, location: ParamLocation, param: &'a Value) -> Parameter {
        let schema = match self.dialect {
            Dialect::OpenApi3 => param
                .get("schema")
                .or_else(|| sample::first_media(param.get("content")?)?.get("schema")),
            // Swagger 2 non-body parameters carry type/format/enum/default themselves.
            Dialect::Swagger2 => Some(param),
        };
        let required = location == ParamLocation::Path
            || param.get("required").and_then(Value::as_bool).unwrap_or(false);
        Parameter {
            name: name.to_owned(),
            location,
            required,
            sample: sample::parameter_sample(self.doc, param, schema)
                .as_ref()
                .and_then(sample::render),
            schema_type: schema.and_then(|s| sample::schema_type(self.doc, s)),
            format: schema.and_then(|s| sample::schema_format(self.doc, s)),
        }
    }

    fn openapi_body(&self, operation: &'a Map<String, Value>) -> (Option<Value>, Option<String>) {
        let content = operation
            .get("requestBody")
            .and_then(|body| self.doc.deref(body))
            .and_then(|body| body.get("content"))
            .and_then(Value::as_object);
        let Some((media_type, media)) = content.and_then(|c| pick_media_type(c.iter().map(|(k, v)| (k.as_str(), v)))) else {
            return (None, None);
        };
        (
            sample::media_sample(self.doc, media),
            Some(concrete_content_type(media_type)),
        )
    }

    fn swagger_body(
        &self,
        operation: &'a Map<String, Value>,
        parts: &Swagger2Body<'a>,
    ) -> (Option<Value>, Option<String>) {
        let consumes: Vec<&str> = operation
            .get("consumes")
            .or_else(|| self.top.get("consumes"))
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(schema) = parts.body {
            let content_type = pick_media_type(consumes.iter().map(|ct| (*ct, ())))
                .map_or_else(|| "application/json".to_owned(), |(ct, _)| concrete_content_type(ct));
            return (sample::schema_sample(self.doc, schema), Some(content_type));
        }
        if parts.form.is_empty() {
            return (None, None);
        }
        let mut form = Map::new();
        for (name, param) in &parts.form {
            if let Some(value) = sample::parameter_sample(self.doc, param, Some(param)) {
                form.insert(name.clone(), value);
            }
        }
        let has_file = parts
            .form
            .iter()
            .any(|(_, p)| p.get("type").and_then(Value::as_str) == Some("file"));
        let lists = |ct: &str| consumes.iter().any(|c| c.eq_ignore_ascii_case(ct));
        // Files can only travel as multipart; otherwise urlencoded is the default.
        let content_type = if has_file
            || (lists("multipart/form-data") && !lists("application/x-www-form-urlencoded"))
        {
            "multipart/form-data"
        } else {
            "application/x-www-form-urlencoded"
        };
        (Some(Value::Object(form)), Some(content_type.to_owned()))
    }

    fn security_schemes(&self) -> Vec<SecurityScheme> {
        let definitions = match self.dialect {
            Dialect::OpenApi3 => self
                .top
                .get("components")
                .and_then(|c| c.get("securitySchemes")),
            Dialect::Swagger2 => self.top.get("securityDefinitions"),
        };
        let Some(definitions) = definitions.and_then(Value::as_object) else {
            return Vec::new();
        };
        definitions
            .iter()
            .filter_map(|(name, scheme)| {
                let scheme = self.doc.deref(scheme)?;
                let text = |key: &str| scheme.get(key).and_then(Value::as_str);
                let (kind, http_scheme) = match text("type")? {
                    // Swagger 2's `basic` is OpenAPI 3's `http` + `basic`.
                    "basic" => ("http".to_owned(), Some("basic".to_owned())),
                    kind => (kind.to_owned(), text("scheme").map(str::to_ascii_lowercase)),
                };
                let is_api_key = kind == "apiKey";
                Some(SecurityScheme {
                    name: name.clone(),
                    location: match text("in") {
                        Some("header") if is_api_key => Some(ParamLocation::Header),
                        Some("query") if is_api_key => Some(ParamLocation::Query),
                        Some("cookie") if is_api_key => Some(ParamLocation::Cookie),
                        _ => None,
                    },
                    parameter_name: text("name").filter(|_| is_api_key).map(str::to_owned),
                    scheme: http_scheme,
                    kind,
                })
            })
            .collect()
    }
}

/// Picks the media type a scanner can best fill: JSON, then any `+json`/`json`
/// type, then forms, then whatever comes first.
fn pick_media_type<'k, T>(types: impl Iterator<Item = (&'k str, T)>) -> Option<(&'k str, T)>
where
    T: 'k,
{
    let rank = |media_type: &str| {
        let essence = media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => 0,
            e if e.contains("json") => 1,
            "application/x-www-form-urlencoded" => 2,
            "multipart/form-data" => 3,
            _ => 4,
        }
    };
    // min_by_key keeps the first of equal ranks, i.e. document order.
    types.min_by_key(|(media_type, _)| rank(media_type))
}

/// A media *range* like `*/*` can't be sent as a Content-Type; the sample is
/// JSON-shaped, so say so.
fn concrete_content_type(media_type: &str) -> String {
    if media_type.contains('*') {
        "application/json".to_owned()
    } else {
        media_type.to_owned()
    }
}

/// `{name}` slots of a path template, in order (repeats included).
fn template_variables(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = path;
    std::iter::from_fn(move || loop {
        let open = rest.find('{')?;
        let close = open + rest[open..].find('}')?;
        let name = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if !name.is_empty() {
            return Some(name);
        }
    })
}
