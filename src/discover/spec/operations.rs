//! Endpoints from the `paths` object: one per operation, with its parameters
//! merged from the path item and the operation.

use std::collections::hash_map::{Entry, HashMap};

use serde_json::{Map, Value};

use super::super::sample::{self, Document};
use super::super::{Endpoint, EndpointSource, ParamLocation, Parameter};
use super::bodies::Swagger2Body;
use super::security::security_requirement;
use super::Dialect;

/// Path items may be `$ref`s, so a small document can name the same large item
/// many times; these caps keep the output proportional to something sane.
const MAX_ENDPOINTS: usize = 100_000;
pub(super) const MAX_PARAMS_PER_ENDPOINT: usize = 1_000;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub(super) struct Parser<'d, 'a> {
    pub(super) doc: &'d Document<'a>,
    pub(super) top: &'a Map<String, Value>,
    pub(super) dialect: Dialect,
    default_security: Option<bool>,
}

impl<'d, 'a> Parser<'d, 'a> {
    pub(super) fn new(
        doc: &'d Document<'a>,
        top: &'a Map<String, Value>,
        dialect: Dialect,
    ) -> Self {
        Self {
            doc,
            top,
            dialect,
            default_security: security_requirement(top.get("security")),
        }
    }

    pub(super) fn endpoints(&self) -> Vec<Endpoint> {
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
                if out.len() >= MAX_ENDPOINTS
                    || !self
                        .doc
                        .charge(std::mem::size_of::<Endpoint>() + path.len())
                {
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
            let placement = param.get("in").and_then(Value::as_str);
            if placement == Some("body") && self.dialect == Dialect::Swagger2 {
                // The body's name is documentation only, so it may be missing.
                swagger_body.body = param.get("schema");
                continue;
            }
            let Some(name) = param.get("name").and_then(Value::as_str) else {
                continue;
            };
            let location = match placement {
                Some("path") => ParamLocation::Path,
                Some("query") => ParamLocation::Query,
                Some("header") => ParamLocation::Header,
                Some("cookie") => ParamLocation::Cookie,
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
            } else if parameters.len() < MAX_PARAMS_PER_ENDPOINT
                && self
                    .doc
                    .charge(std::mem::size_of::<Parameter>() + name.len())
            {
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
            if let Entry::Vacant(slot) = index.entry((name.to_owned(), ParamLocation::Path)) {
                slot.insert(parameters.len());
                parameters.push(Parameter::new(name, ParamLocation::Path, None));
            }
        }

        let (body_sample, body_content_type, body_fields) = match self.dialect {
            Dialect::OpenApi3 => self.openapi_body(operation),
            Dialect::Swagger2 => self.swagger_body(operation, &swagger_body),
        };
        let request_fields = self.request_fields(operation, swagger_body.body, &swagger_body.form);
        let response_fields = self.response_fields(operation);
        let scopes = scopes(
            operation
                .get("security")
                .or_else(|| self.top.get("security")),
        );

        Endpoint {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            parameters,
            body_sample,
            body_content_type,
            body_fields,
            requires_auth: security_requirement(operation.get("security"))
                .or(self.default_security),
            operation_id: operation
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            summary: operation
                .get("summary")
                .or_else(|| operation.get("description"))
                .and_then(Value::as_str)
                .and_then(|text| text.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|line| line.chars().take(200).collect()),
            source: EndpointSource::Spec,
            request_fields,
            response_fields,
            scopes,
            token_endpoint: false,
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
            || param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        Parameter {
            name: name.to_owned(),
            location,
            required,
            sample: sample::parameter_sample(self.doc, param, schema)
                .as_ref()
                .and_then(sample::render),
            schema: schema
                .map(|s| sample::value_schema(self.doc, s))
                .unwrap_or_default(),
        }
    }
}

/// The scopes a security requirement list names (`[{"oauth": ["admin"]}]`).
fn scopes(security: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for requirement in security
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        for scope in requirement
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(Value::as_str)
            .take(50)
        {
            if !out.iter().any(|s| s == scope) {
                out.push(scope.to_string());
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::parse_spec;
    use super::super::test_support::*;

    #[test]
    fn refs_with_escaping_external_and_dangling() {
        let spec = parse_spec(
            r##"{
              "openapi": "3.0.0",
              "paths": {
                "/a/{slash}": {"get": {"parameters": [
                  {"$ref": "#/components/parameters/with~1slash"},
                  {"$ref": "#/components/parameters/tilde~0%20space"},
                  {"$ref": "common.yaml#/parameters/External"},
                  {"$ref": "#/components/parameters/Missing"},
                  {"name": "ext", "in": "query", "schema": {"$ref": "https://example.com/s.json#/X"}},
                  {"name": "chain", "in": "query", "schema": {"$ref": "#/components/schemas/Alias"}}
                ]}}
              },
              "components": {
                "parameters": {
                  "with/slash": {"name": "slash", "in": "path", "schema": {"type": "integer", "minimum": 7}},
                  "tilde~ space": {"name": "t", "in": "query", "schema": {"type": "string", "minLength": 3}}
                },
                "schemas": {
                  "Alias": {"$ref": "#/components/schemas/Real"},
                  "Real": {"type": "string", "format": "date"}
                }
              }
            }"##,
        )
        .unwrap();
        let e = &spec.endpoints[0];
        let names: Vec<&str> = e.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["slash", "t", "ext", "chain"]);
        assert_eq!(param(e, "slash").sample.as_deref(), Some("7"));
        assert_eq!(param(e, "t").sample.as_deref(), Some("aaa"));
        let ext = param(e, "ext");
        assert_eq!(
            (ext.sample.as_deref(), ext.schema.schema_type.as_deref()),
            (None, None)
        );
        let chain = param(e, "chain");
        assert_eq!(chain.sample.as_deref(), Some("2024-01-01"));
        assert_eq!(chain.schema.format.as_deref(), Some("date"));
    }

    #[test]
    fn recursive_schemas_terminate() {
        let spec = parse_spec(
            r##"{
              "openapi": "3.0.1",
              "paths": {"/tree": {"post": {
                "parameters": [{"name": "n", "in": "query", "schema": {"$ref": "#/components/schemas/Loop"}}],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}
              }}},
              "components": {"schemas": {
                "Node": {"type": "object", "properties": {
                  "name": {"type": "string"},
                  "parent": {"$ref": "#/components/schemas/Node"},
                  "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                  "wrapped": {"allOf": [{"$ref": "#/components/schemas/Node"}]}
                }},
                "Loop": {"$ref": "#/components/schemas/Loop"}
              }}
            }"##,
        )
        .unwrap();
        let e = &spec.endpoints[0];
        assert_eq!(e.body_sample, Some(json!({"name": "test", "children": []})));
        assert_eq!(param(e, "n").sample, None);
        assert_eq!(param(e, "n").schema.schema_type, None);
    }

    #[test]
    fn undeclared_path_variables_are_reported() {
        let spec = parse_spec(
            r#"{"openapi": "3.0.0", "paths": {"/a/{x}/b/{y}/{x}": {"get": {"parameters": [
                {"name": "y", "in": "path", "schema": {"type": "integer"}}
            ]}}}}"#,
        )
        .unwrap();
        let e = &spec.endpoints[0];
        let names: Vec<&str> = e.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["y", "x"]);
        let x = param(e, "x");
        assert!(x.required);
        assert_eq!(x.sample, None);
    }
}
