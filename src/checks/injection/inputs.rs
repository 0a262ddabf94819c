//! Where untrusted input enters an endpoint, and how a probe replaces one
//! input's value with a payload while every other input keeps its ordinary
//! value: path, query, header and cookie parameters from the spec, the
//! fields of a JSON or form body, and the id-like segments of a crawled path.

use serde_json::Value;
use url::Url;

use crate::checks::ProbeContext;
use crate::discover::{encode_path_segment, Endpoint, ParamLocation, Parameter};
use crate::engine::{Caller, Probe};

/// Body fields nested deeper than this are left alone.
const MAX_BODY_DEPTH: usize = 3;
/// Inputs probed per endpoint at most (a generous bound for hostile specs).
const MAX_INPUTS: usize = 64;

/// Where an input sits in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A `{name}` slot of the path template.
    Path,
    /// The n-th segment of a concrete path found without a spec.
    Segment(usize),
    Query,
    Header,
    Cookie,
    /// A field of a JSON body, by its JSON pointer.
    Json(String),
    /// A field of an `application/x-www-form-urlencoded` body.
    Form,
}

/// One input of an endpoint and what the spec says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub place: Place,
    /// Its name, schema and ordinary value (`sample`: the spec's example,
    /// the body sample's value, or what the crawled path held), as the spec
    /// declares a parameter; an input the spec does not describe (a crawled
    /// segment, a nested body field) has a name and a value only.
    pub param: Parameter,
}

/// What a probe puts in place of an input's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A text value (in a JSON body: a JSON string).
    Text(String),
    /// A JSON value in a JSON body (an operator object, a number, an array);
    /// elsewhere its compact text.
    Json(Value),
    /// The input's name with `suffix` appended, carrying `value`: how
    /// `name[$ne]=x` reaches query-string parsers that build objects.
    NameSuffix { suffix: String, value: String },
    /// The whole body replaced by these bytes, sent as JSON (malformed JSON).
    RawBody(String),
}

impl Payload {
    pub fn text(value: impl Into<String>) -> Payload {
        Payload::Text(value.into())
    }

    /// The payload as it would be described in a finding.
    pub fn shown(&self) -> String {
        match self {
            Payload::Text(text) => text.clone(),
            Payload::Json(value) => value.to_string(),
            Payload::NameSuffix { suffix, value } => format!("{suffix}={value}"),
            Payload::RawBody(body) => body.clone(),
        }
    }
}

impl Input {
    fn from_parameter(param: &Parameter, place: Place) -> Input {
        Input {
            place,
            param: param.clone(),
        }
    }

    /// An input the spec says nothing about: a name and its ordinary value.
    fn undeclared(place: Place, name: &str, sample: Option<String>) -> Input {
        let location = match place {
            Place::Path | Place::Segment(_) => ParamLocation::Path,
            Place::Query => ParamLocation::Query,
            Place::Header => ParamLocation::Header,
            Place::Cookie => ParamLocation::Cookie,
            Place::Json(_) | Place::Form => ParamLocation::Body,
        };
        Input {
            place,
            param: Parameter::new(name, location, sample),
        }
    }

    /// A query parameter the spec declares as a string.
    #[cfg(test)]
    pub(crate) fn text_query(name: &str, sample: Option<&str>) -> Input {
        let mut input = Input::undeclared(Place::Query, name, sample.map(String::from));
        input.param.schema.schema_type = Some("string".into());
        input
    }

    /// "query parameter `q`", "JSON body field `/email`", … for findings.
    pub fn label(&self) -> String {
        match &self.place {
            Place::Path => format!("path parameter `{}`", self.param.name),
            Place::Segment(_) => format!("path segment `{}`", self.param.name),
            Place::Query => format!("query parameter `{}`", self.param.name),
            Place::Header => format!("header `{}`", self.param.name),
            Place::Cookie => format!("cookie `{}`", self.param.name),
            Place::Json(pointer) => format!("JSON body field `{pointer}`"),
            Place::Form => format!("form field `{}`", self.param.name),
        }
    }

    /// What tells this input from the endpoint's others (part of a finding's key).
    pub fn key(&self) -> String {
        match &self.place {
            Place::Path => format!("path:{}", self.param.name),
            Place::Segment(index) => format!("segment:{index}"),
            Place::Query => format!("query:{}", self.param.name),
            Place::Header => format!("header:{}", self.param.name.to_ascii_lowercase()),
            Place::Cookie => format!("cookie:{}", self.param.name),
            Place::Json(pointer) => format!("json:{pointer}"),
            Place::Form => format!("form:{}", self.param.name),
        }
    }

    /// The name a finding's `parameter` shows.
    pub fn parameter(&self) -> String {
        match &self.place {
            Place::Json(pointer) => pointer.trim_start_matches('/').replace('/', "."),
            _ => self.param.name.clone(),
        }
    }

    /// A number by its schema, or (without one) by its ordinary value.
    pub fn is_numeric(&self) -> bool {
        match self.param.schema.schema_type.as_deref() {
            Some("integer" | "number") => true,
            Some(_) => false,
            None => self
                .param
                .sample
                .as_deref()
                .is_some_and(|s| !s.is_empty() && s.parse::<f64>().is_ok()),
        }
    }

    pub fn is_boolean(&self) -> bool {
        self.param.schema.schema_type.as_deref() == Some("boolean")
    }

    pub fn in_body(&self) -> bool {
        matches!(self.place, Place::Json(_) | Place::Form)
    }

    /// Whether `text` can travel in this input at all (header values must be
    /// visible ASCII; a cookie value also no `;`).
    pub fn carries(&self, text: &str) -> bool {
        match self.place {
            Place::Header => text.bytes().all(|b| (0x20..0x7f).contains(&b)),
            Place::Cookie => text
                .bytes()
                .all(|b| (0x21..0x7f).contains(&b) && b != b';' && b != b','),
            _ => true,
        }
    }
}

/// Every input of an endpoint: its declared parameters, its body's fields,
/// and — for a path found without a spec — its id-like segments.
pub fn inputs(endpoint: &Endpoint) -> Vec<Input> {
    let mut out: Vec<Input> = Vec::new();
    for param in &endpoint.parameters {
        let place = match param.location {
            ParamLocation::Path => Place::Path,
            ParamLocation::Query => Place::Query,
            ParamLocation::Header => Place::Header,
            ParamLocation::Cookie => Place::Cookie,
            ParamLocation::Body => continue,
        };
        out.push(Input::from_parameter(param, place));
    }
    if !endpoint.path.contains('{') && endpoint.parameters.is_empty() {
        for (index, segment) in endpoint.path.split('/').enumerate() {
            if looks_like_id(segment) {
                out.push(Input::undeclared(
                    Place::Segment(index),
                    segment,
                    Some(segment.to_string()),
                ));
            }
        }
    }
    match body_kind(endpoint) {
        Some(BodyKind::Json) => {
            if let Some(sample) = body_sample(endpoint) {
                json_fields(&sample, "", 0, endpoint, &mut out);
            }
        }
        Some(BodyKind::Form) => {
            if let Some(Value::Object(fields)) = body_sample(endpoint) {
                for (name, value) in &fields {
                    let mut input = field_input(endpoint, name, Place::Form);
                    input.param.sample = scalar_text(value).or(input.param.sample);
                    out.push(input);
                }
            }
        }
        None => {}
    }
    out.truncate(MAX_INPUTS);
    out
}

/// Numbers, UUIDs and hex/ULID-like tokens: path segments that name an object.
fn looks_like_id(segment: &str) -> bool {
    let numeric =
        !segment.is_empty() && segment.len() <= 20 && segment.bytes().all(|b| b.is_ascii_digit());
    let token = segment.len() >= 16
        && segment.len() <= 64
        && segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        && segment.bytes().any(|b| b.is_ascii_digit());
    numeric || token
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
}

fn body_kind(endpoint: &Endpoint) -> Option<BodyKind> {
    let content_type = endpoint.body_content_type.as_deref()?.to_ascii_lowercase();
    if content_type.contains("json") {
        Some(BodyKind::Json)
    } else if content_type.contains("x-www-form-urlencoded") {
        Some(BodyKind::Form)
    } else {
        None
    }
}

/// The body sample, or one assembled from the described fields.
fn body_sample(endpoint: &Endpoint) -> Option<Value> {
    if let Some(sample) = &endpoint.body_sample {
        return Some(sample.clone());
    }
    if endpoint.body_fields.is_empty() {
        return None;
    }
    let fields = endpoint
        .body_fields
        .iter()
        .filter_map(|f| Some((f.name.clone(), Value::String(f.sample.clone()?))))
        .collect();
    Some(Value::Object(fields))
}

fn field_input(endpoint: &Endpoint, name: &str, place: Place) -> Input {
    match endpoint.body_fields.iter().find(|f| f.name == name) {
        Some(field) => Input::from_parameter(field, place),
        None => Input::undeclared(place, name, None),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn json_fields(
    value: &Value,
    prefix: &str,
    depth: usize,
    endpoint: &Endpoint,
    out: &mut Vec<Input>,
) {
    let Value::Object(map) = value else {
        return;
    };
    for (key, item) in map {
        let pointer = format!("{prefix}/{}", pointer_token(key));
        match item {
            Value::Object(_) if depth + 1 < MAX_BODY_DEPTH => {
                json_fields(item, &pointer, depth + 1, endpoint, out);
            }
            Value::Object(_) | Value::Array(_) => {}
            scalar => {
                let mut input = if depth == 0 {
                    field_input(endpoint, key, Place::Json(pointer.clone()))
                } else {
                    Input::undeclared(Place::Json(pointer.clone()), key, None)
                };
                input.param.sample = scalar_text(scalar).or(input.param.sample);
                if input.param.schema.schema_type.is_none() {
                    input.param.schema.schema_type = match scalar {
                        Value::Number(_) => Some("number".into()),
                        Value::Bool(_) => Some("boolean".into()),
                        Value::String(_) => Some("string".into()),
                        _ => None,
                    };
                }
                out.push(input);
            }
        }
    }
}

/// An endpoint's ordinary request: every input at its ordinary value. A
/// probe is this request with one input's value replaced.
#[derive(Debug, Clone)]
pub struct Shape {
    method: String,
    template: String,
    base_path: String,
    path_values: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    body: Option<Body>,
}

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
}

impl Shape {
    /// The ordinary request of `endpoint`; a path parameter without an
    /// example takes the first value the API itself returned for a key of
    /// that name. `None` when a path parameter has no value at all.
    pub fn of(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Option<Shape> {
        let mut path_values = Vec::new();
        let mut query = Vec::new();
        let mut headers = Vec::new();
        let mut cookies = Vec::new();
        for param in &endpoint.parameters {
            let learned = || {
                ctx.facts
                    .values
                    .candidates(&endpoint.path, &param.name)
                    .into_iter()
                    .next()
            };
            match param.location {
                ParamLocation::Path => {
                    let value = param.sample.clone().or_else(learned)?;
                    path_values.push((param.name.clone(), value));
                }
                ParamLocation::Query if param.required || param.sample.is_some() => {
                    let value = param
                        .sample
                        .clone()
                        .or_else(learned)
                        .unwrap_or_else(|| "1".into());
                    query.push((param.name.clone(), value));
                }
                ParamLocation::Header => {
                    if let Some(value) = &param.sample {
                        headers.push((param.name.clone(), value.clone()));
                    }
                }
                ParamLocation::Cookie => {
                    if let Some(value) = &param.sample {
                        cookies.push((param.name.clone(), value.clone()));
                    }
                }
                ParamLocation::Query | ParamLocation::Body => {}
            }
        }
        let body = match body_kind(endpoint) {
            Some(BodyKind::Json) => body_sample(endpoint).map(Body::Json),
            Some(BodyKind::Form) => match body_sample(endpoint) {
                Some(Value::Object(fields)) => Some(Body::Form(
                    fields
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), scalar_text(v)?)))
                        .collect(),
                )),
                _ => None,
            },
            None => None,
        };
        Some(Shape {
            method: endpoint.method.clone(),
            template: endpoint.path.clone(),
            base_path: ctx.base_path.trim_end_matches('/').to_string(),
            path_values,
            query,
            headers,
            cookies,
            body,
        })
    }

    /// The ordinary value of `input` in this request.
    pub fn value_of(&self, input: &Input) -> Option<String> {
        let find = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .find(|(n, _)| *n == input.param.name)
                .map(|(_, v)| v.clone())
        };
        match &input.place {
            Place::Path => find(&self.path_values),
            Place::Query => find(&self.query).or_else(|| input.param.sample.clone()),
            Place::Header => find(&self.headers).or_else(|| input.param.sample.clone()),
            Place::Cookie => find(&self.cookies).or_else(|| input.param.sample.clone()),
            Place::Segment(_) => input.param.sample.clone(),
            Place::Json(pointer) => match &self.body {
                Some(Body::Json(body)) => body.pointer(pointer).and_then(scalar_text),
                _ => None,
            },
            Place::Form => match &self.body {
                Some(Body::Form(fields)) => find(fields),
                _ => None,
            },
        }
    }

    /// The request with `input` carrying `payload`, as `caller`, on a fresh
    /// cache-busted URL. `None` when the payload cannot travel there (a
    /// header value with a line break, a body payload for a parameter).
    pub fn probe(
        &self,
        ctx: &ProbeContext<'_>,
        caller: &Caller,
        input: &Input,
        payload: &Payload,
    ) -> Option<Probe> {
        let text = match payload {
            Payload::Text(text) => Some(text.clone()),
            Payload::Json(value) => Some(scalar_text(value).unwrap_or_else(|| value.to_string())),
            Payload::NameSuffix { value, .. } => Some(value.clone()),
            Payload::RawBody(_) => None,
        };
        let mut path = self.template.clone();
        for (name, value) in &self.path_values {
            let value = match (&input.place, &text) {
                (Place::Path, Some(text)) if input.param.name == *name => text,
                _ => value,
            };
            path = path.replace(&format!("{{{name}}}"), &encode_path_segment(value));
        }
        if let (Place::Segment(index), Some(text)) = (&input.place, &text) {
            let mut segments: Vec<String> = path.split('/').map(String::from).collect();
            let slot = segments.get_mut(*index)?;
            *slot = encode_path_segment(text);
            path = segments.join("/");
        }
        if path.contains('{') {
            return None;
        }
        let mut query = self.query.clone();
        if input.place == Place::Query {
            query.retain(|(n, _)| *n != input.param.name);
            match payload {
                Payload::NameSuffix { suffix, value } => {
                    query.push((format!("{}{suffix}", input.param.name), value.clone()));
                }
                Payload::RawBody(_) => return None,
                _ => query.push((input.param.name.clone(), text.clone()?)),
            }
        } else if matches!(payload, Payload::NameSuffix { .. }) && !input.in_body() {
            return None;
        }
        let mut full = format!("{}{}", self.base_path, path);
        if !query.is_empty() {
            let mut serializer = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in &query {
                serializer.append_pair(name, value);
            }
            full.push('?');
            full.push_str(&serializer.finish());
        }
        let url: Url = ctx.engine.url_for(&full).ok()?;
        let mut probe = Probe::get(ctx.fresh(&url))
            .as_caller(caller.clone())
            .template(Some(self.template.clone()));
        probe.method = self.method.clone().into();
        let mut headers = self.headers.clone();
        let mut cookies = self.cookies.clone();
        match (&input.place, &text) {
            (Place::Header, Some(text)) => {
                if !input.carries(text) {
                    return None;
                }
                headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&input.param.name));
                headers.push((input.param.name.clone(), text.clone()));
            }
            (Place::Cookie, Some(text)) => {
                if !input.carries(text) {
                    return None;
                }
                cookies.retain(|(n, _)| *n != input.param.name);
                cookies.push((input.param.name.clone(), text.clone()));
            }
            _ => {}
        }
        if !cookies.is_empty() {
            let jar: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            headers.push(("Cookie".into(), jar.join("; ")));
        }
        let (content_type, body) = match (&self.body, &input.place, payload) {
            (Some(Body::Json(_)) | None, _, Payload::RawBody(raw)) if input.in_body() => {
                ("application/json", Some(raw.clone()))
            }
            (_, _, Payload::RawBody(_)) => return None,
            (Some(Body::Json(body)), place, payload) => {
                let mut body = body.clone();
                if let Place::Json(pointer) = place {
                    let slot = body.pointer_mut(pointer)?;
                    *slot = match payload {
                        Payload::Text(text) => Value::String(text.clone()),
                        Payload::Json(value) => value.clone(),
                        Payload::NameSuffix { .. } | Payload::RawBody(_) => return None,
                    };
                }
                ("application/json", Some(body.to_string()))
            }
            (Some(Body::Form(fields)), place, payload) => {
                let mut serializer = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields {
                    if *place == Place::Form && *name == input.param.name {
                        match payload {
                            Payload::NameSuffix { suffix, value } => {
                                serializer.append_pair(&format!("{name}{suffix}"), value);
                            }
                            _ => {
                                serializer.append_pair(name, text.as_deref()?);
                            }
                        }
                    } else {
                        serializer.append_pair(name, value);
                    }
                }
                (
                    "application/x-www-form-urlencoded",
                    Some(serializer.finish()),
                )
            }
            (None, _, _) => ("", None),
        };
        if let Some(body) = body {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
            headers.push(("Content-Type".into(), content_type.into()));
            probe.body = Some(body.into());
        }
        probe.headers = headers;
        Some(probe)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::injection::Session;
    use crate::checks::probe::fixtures;
    use crate::discover::EndpointSource;
    use crate::facts::TargetFacts;

    fn param(name: &str, location: ParamLocation, sample: Option<&str>) -> Parameter {
        Parameter::new(name, location, sample.map(String::from))
    }

    fn endpoint() -> Endpoint {
        let mut endpoint = Endpoint::discovered("/shops/{shop}/items", EndpointSource::Spec);
        endpoint.method = "POST".into();
        endpoint.parameters = vec![
            param("shop", ParamLocation::Path, Some("s 1")),
            param("q", ParamLocation::Query, Some("tea")),
            param("X-Region", ParamLocation::Header, Some("eu")),
        ];
        endpoint.body_content_type = Some("application/json".into());
        endpoint.body_sample =
            Some(json!({"name": "kettle", "price": 3, "meta": {"colour": "red"}, "tags": ["a"]}));
        endpoint
    }

    #[test]
    fn inputs_cover_parameters_and_body_fields_with_their_schemas() {
        let found = inputs(&endpoint());
        let keys: Vec<String> = found.iter().map(Input::key).collect();
        assert_eq!(
            keys,
            [
                "path:shop",
                "query:q",
                "header:x-region",
                "json:/name",
                "json:/price",
                "json:/meta/colour"
            ]
        );
        let price = &found[4];
        assert!(price.is_numeric());
        assert_eq!(price.parameter(), "price");
        assert_eq!(found[5].parameter(), "meta.colour");
        let crawled = Endpoint::discovered("/api/orders/42/lines", EndpointSource::Crawl);
        let segments = inputs(&crawled);
        assert_eq!(segments.len(), 1);
        assert_eq!(segments[0].place, Place::Segment(3));
    }

    #[test]
    fn a_probe_replaces_one_input_and_keeps_the_others() {
        let engine = fixtures::engine();
        let facts = TargetFacts::default();
        let session = Session::default();
        let ctx = ProbeContext {
            engine: &engine,
            base_path: "/api",
            baselines: &[],
            facts: &facts,
            allow_burst: false,
            injection: &session,
        };
        let endpoint = endpoint();
        let shape = Shape::of(&ctx, &endpoint).expect("a shape");
        let found = inputs(&endpoint);
        let caller = Caller::Anonymous;
        let path = shape
            .probe(&ctx, &caller, &found[0], &Payload::text("1' AND '1'='1"))
            .expect("a probe");
        assert!(
            path.url
                .path()
                .starts_with("/api/shops/1'%20AND%20'1'='1/items"),
            "{}",
            path.url
        );
        assert!(path.url.query().unwrap_or_default().contains("q=tea"));
        assert_eq!(path.method, "POST");
        let header = shape
            .probe(&ctx, &caller, &found[2], &Payload::text("eu'"))
            .expect("a probe");
        assert!(header.headers.contains(&("X-Region".into(), "eu'".into())));
        assert!(shape
            .probe(&ctx, &caller, &found[2], &Payload::text("a\nb"))
            .is_none());
        let body = shape
            .probe(
                &ctx,
                &caller,
                &found[5],
                &Payload::Json(json!({"$ne": null})),
            )
            .expect("a probe");
        let sent: Value = serde_json::from_slice(body.body.as_deref().unwrap_or_default()).unwrap();
        assert_eq!(sent["meta"]["colour"], json!({"$ne": null}));
        assert_eq!(sent["name"], "kettle");
        let operator = shape
            .probe(
                &ctx,
                &caller,
                &found[1],
                &Payload::NameSuffix {
                    suffix: "[$ne]".into(),
                    value: "x".into(),
                },
            )
            .expect("a probe");
        assert!(
            operator
                .url
                .query()
                .unwrap_or_default()
                .contains("q%5B%24ne%5D=x"),
            "{}",
            operator.url
        );
        assert_eq!(shape.value_of(&found[4]).as_deref(), Some("3"));
        assert_eq!(shape.value_of(&found[0]).as_deref(), Some("s 1"));
    }
}
