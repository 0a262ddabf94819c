//! Request body samples: OpenAPI 3 `requestBody` content, or Swagger 2 `in:
//! body` / `in: formData` parameters.

use serde_json::{Map, Value};

use super::super::{sample, ParamLocation, Parameter};
use super::operations::{Parser, MAX_PARAMS_PER_ENDPOINT};

/// A body's sample, its content type and its top-level fields.
type Body = (Option<Value>, Option<String>, Vec<Parameter>);

/// A Swagger 2 request body is spread over `in: body` / `in: formData` parameters.
#[derive(Default)]
pub(super) struct Swagger2Body<'a> {
    pub(super) body: Option<&'a Value>,
    pub(super) form: Vec<(String, &'a Value)>,
}

impl<'a> Parser<'_, 'a> {
    pub(super) fn openapi_body(&self, operation: &'a Map<String, Value>) -> Body {
        let content = operation
            .get("requestBody")
            .and_then(|body| self.doc.deref(body))
            .and_then(|body| body.get("content"))
            .and_then(Value::as_object);
        let Some((media_type, media)) =
            content.and_then(|c| pick_media_type(c.iter().map(|(k, v)| (k.as_str(), v))))
        else {
            return (None, None, Vec::new());
        };
        (
            sample::media_sample(self.doc, media),
            Some(concrete_content_type(media_type)),
            media
                .get("schema")
                .map(|schema| self.fields(schema))
                .unwrap_or_default(),
        )
    }

    pub(super) fn swagger_body(
        &self,
        operation: &'a Map<String, Value>,
        parts: &Swagger2Body<'a>,
    ) -> Body {
        let consumes: Vec<&str> = operation
            .get("consumes")
            .or_else(|| self.top.get("consumes"))
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(schema) = parts.body {
            let content_type = pick_media_type(consumes.iter().map(|ct| (*ct, ()))).map_or_else(
                || "application/json".to_owned(),
                |(ct, _)| concrete_content_type(ct),
            );
            return (
                sample::schema_sample(self.doc, schema),
                Some(content_type),
                self.fields(schema),
            );
        }
        if parts.form.is_empty() {
            return (None, None, Vec::new());
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
        let fields = parts
            .form
            .iter()
            .map(|(name, param)| {
                let required = param.get("required").and_then(Value::as_bool) == Some(true);
                self.field(name, param, required)
            })
            .collect();
        (
            Some(Value::Object(form)),
            Some(content_type.to_owned()),
            fields,
        )
    }

    /// The top-level fields of an object body schema (its own properties and
    /// those of its `allOf` branches), read-only ones left out.
    fn fields(&self, schema: &'a Value) -> Vec<Parameter> {
        let Some(schema) = self.doc.deref(schema) else {
            return Vec::new();
        };
        let branches = schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|branch| self.doc.deref(branch));
        let mut fields: Vec<Parameter> = Vec::new();
        for part in std::iter::once(schema).chain(branches) {
            let required: Vec<&str> = part
                .get("required")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let properties = part.get("properties").and_then(Value::as_object);
            for (name, property) in properties.into_iter().flatten() {
                let Some(resolved) = self.doc.deref(property) else {
                    continue;
                };
                let read_only = resolved.get("readOnly").and_then(Value::as_bool) == Some(true);
                if read_only
                    || fields.iter().any(|f| &f.name == name)
                    || fields.len() >= MAX_PARAMS_PER_ENDPOINT
                    || !self
                        .doc
                        .charge(std::mem::size_of::<Parameter>() + name.len())
                {
                    continue;
                }
                fields.push(self.field(name, property, required.contains(&name.as_str())));
            }
        }
        fields
    }

    /// One body field described by `schema` (a Swagger 2 form parameter
    /// carries its schema keywords itself).
    fn field(&self, name: &str, schema: &'a Value, required: bool) -> Parameter {
        Parameter {
            name: name.to_owned(),
            location: ParamLocation::Body,
            required,
            sample: sample::schema_sample(self.doc, schema)
                .as_ref()
                .and_then(sample::render),
            schema: sample::value_schema(self.doc, schema),
        }
    }
}

/// Picks the media type a scanner can best fill: JSON, then any `+json`/`json`
/// type, then forms, then whatever comes first.
fn pick_media_type<'k, T>(types: impl Iterator<Item = (&'k str, T)>) -> Option<(&'k str, T)> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::parse_spec;
    use super::*;

    #[test]
    fn media_type_choice() {
        let body = |content: Value| {
            let doc = json!({"openapi": "3.0.0", "paths": {"/x": {"post": {"requestBody": {"content": content}}}}});
            let spec = parse_spec(&doc.to_string()).unwrap();
            let e = &spec.endpoints[0];
            (e.body_content_type.clone(), e.body_sample.clone())
        };
        assert_eq!(
            body(
                json!({"multipart/form-data": {"schema": {"type": "object"}}, "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}}})
            ),
            (
                Some("application/x-www-form-urlencoded".into()),
                Some(json!({"a": "test"}))
            )
        );
        assert_eq!(
            body(json!({"*/*": {"schema": {"type": "integer"}}})),
            (Some("application/json".into()), Some(json!(1)))
        );
        assert_eq!(
            body(
                json!({"application/json; charset=utf-8": {"example": {"given": true}, "schema": {"type": "string"}}})
            ),
            (
                Some("application/json; charset=utf-8".into()),
                Some(json!({"given": true}))
            )
        );
        assert_eq!(
            body(json!({"application/json": {"examples": {"one": {"value": [1, 2]}}}})),
            (Some("application/json".into()), Some(json!([1, 2])))
        );
        assert_eq!(body(json!({})), (None, None));
        assert_eq!(body(json!("nope")), (None, None));
    }
}
