//! What a body's top-level properties are, as the spec describes them:
//! names, types, formats, enum values, `readOnly` and `required`. The
//! property checks read them to pick fields a caller should not set (and
//! the values to try), and to build realistic create bodies.

use serde_json::{Map, Value};

use super::super::sample::{self, Document};
use super::super::BodyField;
use super::operations::Parser;
use super::Dialect;

/// Properties beyond this many are not described (a body that large is
/// not one a caller fills by hand).
const MAX_FIELDS: usize = 200;
/// `allOf`/`anyOf` nesting followed when collecting properties.
const MAX_DEPTH: usize = 6;

impl<'a> Parser<'_, 'a> {
    /// The request body's fields: OpenAPI 3 `requestBody` (the media type
    /// Rampart sends), Swagger 2 `in: body` schema or `formData` parameters.
    pub(super) fn request_fields(
        &self,
        operation: &'a Map<String, Value>,
        swagger_body: Option<&'a Value>,
        form: &[(String, &'a Value)],
    ) -> Vec<BodyField> {
        match self.dialect {
            Dialect::OpenApi3 => {
                let content = operation
                    .get("requestBody")
                    .and_then(|body| self.doc.deref(body))
                    .and_then(|body| body.get("content"));
                let schema = content
                    .and_then(Value::as_object)
                    .and_then(|c| {
                        c.iter()
                            .min_by_key(|(ct, _)| !ct.contains("json") as u8)
                            .map(|(_, media)| media)
                    })
                    .and_then(|media| media.get("schema"));
                schema.map(|s| fields_of(self.doc, s)).unwrap_or_default()
            }
            Dialect::Swagger2 => match swagger_body {
                Some(schema) => fields_of(self.doc, schema),
                None => form
                    .iter()
                    .take(MAX_FIELDS)
                    .map(|(name, param)| {
                        let mut field = field_of(self.doc, name, param);
                        field.required = param.get("required") == Some(&Value::Bool(true));
                        field
                    })
                    .collect(),
            },
        }
    }

    /// The fields of the first 2xx response's JSON body (of its items when
    /// it is a list).
    pub(super) fn response_fields(&self, operation: &'a Map<String, Value>) -> Vec<BodyField> {
        let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
            return Vec::new();
        };
        let Some(response) = responses
            .iter()
            .filter(|(code, _)| code.starts_with('2'))
            .min_by_key(|(code, _)| code.as_str())
            .and_then(|(_, r)| self.doc.deref(r))
        else {
            return Vec::new();
        };
        let schema = match self.dialect {
            Dialect::OpenApi3 => response
                .get("content")
                .and_then(sample::first_media)
                .and_then(|media| media.get("schema")),
            Dialect::Swagger2 => response.get("schema"),
        };
        let Some(mut schema) = schema.and_then(|s| self.doc.deref(s)) else {
            return Vec::new();
        };
        // An envelope (`{"status": …, "data": {…}}`) describes the record
        // in its data member.
        for _ in 0..2 {
            if let Some(items) = schema.get("items").and_then(|i| self.doc.deref(i)) {
                schema = items;
            }
            let wrapped = ["data", "result", "user", "item"].iter().find_map(|key| {
                let inner = self.doc.deref(schema.get("properties")?.get(*key)?)?;
                (inner.get("properties").is_some() || inner.get("items").is_some()).then_some(inner)
            });
            match wrapped {
                Some(inner) => schema = inner,
                None => break,
            }
        }
        if let Some(items) = schema.get("items").and_then(|i| self.doc.deref(i)) {
            schema = items;
        }
        fields_of(self.doc, schema)
    }
}

/// The top-level properties of an object schema (`allOf` members merged,
/// `$ref`s followed).
pub(super) fn fields_of<'a>(doc: &Document<'a>, schema: &'a Value) -> Vec<BodyField> {
    let mut out = Vec::new();
    collect(doc, schema, &mut out, 0);
    out
}

fn collect<'a>(doc: &Document<'a>, schema: &'a Value, out: &mut Vec<BodyField>, depth: usize) {
    if depth > MAX_DEPTH || !doc.charge(1) {
        return;
    }
    let Some(schema) = doc.deref(schema) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            if out.len() >= MAX_FIELDS {
                return;
            }
            if out.iter().any(|f: &BodyField| &f.name == name) {
                continue;
            }
            let mut field = field_of(doc, name, property);
            field.required = required.contains(&name.as_str());
            out.push(field);
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            collect(doc, part, out, depth + 1);
        }
    }
}

/// One property: `$ref`s, and `anyOf`/`oneOf` of one schema and `null`
/// (Pydantic's `Optional[Role]`), read through to what they name.
fn field_of<'a>(doc: &Document<'a>, name: &str, property: &'a Value) -> BodyField {
    let mut field = BodyField {
        name: name.to_string(),
        ..BodyField::default()
    };
    let Some(property) = doc.deref(property) else {
        return field;
    };
    field.read_only = property.get("readOnly") == Some(&Value::Bool(true));
    let mut members = vec![property];
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = property.get(key).and_then(Value::as_array) {
            members.extend(list.iter().take(8).filter_map(|m| doc.deref(m)));
        }
    }
    for member in members {
        if member.get("readOnly") == Some(&Value::Bool(true)) {
            field.read_only = true;
        }
        if field.schema_type.is_none() {
            field.schema_type = sample::schema_type(doc, member).filter(|t| t != "null");
        }
        if field.format.is_none() {
            field.format = sample::schema_format(doc, member);
        }
        if let Some(values) = member.get("enum").and_then(Value::as_array) {
            for value in values.iter().take(50) {
                if !value.is_null() && !field.enum_values.contains(value) {
                    field.enum_values.push(value.clone());
                }
            }
        }
        if let Some(value) = member.get("const").filter(|v| !v.is_null()) {
            if !field.enum_values.contains(value) {
                field.enum_values.push(value.clone());
            }
        }
    }
    field
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::parse_spec;

    #[test]
    fn fields_enums_read_only_scopes_and_the_token_endpoint_come_from_the_spec() {
        let doc = json!({
            "openapi": "3.1.0",
            "components": {
                "securitySchemes": {"OAuth2PasswordBearer": {"type": "oauth2", "flows": {"password": {"tokenUrl": "token", "scopes": {"admin": "all"}}}}},
                "schemas": {
                    "Role": {"type": "string", "enum": ["Customer", "Employee", "Chef"]},
                    "UserIn": {"type": "object", "required": ["username"], "properties": {
                        "username": {"type": "string"},
                        "role": {"anyOf": [{"$ref": "#/components/schemas/Role"}, {"type": "null"}]}
                    }},
                    "UserOut": {"allOf": [{"$ref": "#/components/schemas/UserIn"}, {"properties": {"id": {"type": "integer", "readOnly": true}}}]}
                }
            },
            "paths": {
                "/token": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}}}},
                "/users": {"post": {
                    "security": [{"OAuth2PasswordBearer": ["admin"]}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserIn"}}}},
                    "responses": {"201": {"content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/UserOut"}}}}}}
                }}
            }
        });
        let spec = parse_spec(&doc.to_string()).unwrap();
        let token = &spec.endpoints[0];
        assert!(token.token_endpoint);
        assert_eq!(
            token.body_content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        let users = &spec.endpoints[1];
        assert!(!users.token_endpoint);
        assert_eq!(users.scopes, ["admin"]);
        let role = &users.request_fields[1];
        assert_eq!(
            (role.name.as_str(), role.required, role.enum_values.clone()),
            (
                "role",
                false,
                vec![json!("Customer"), json!("Employee"), json!("Chef")]
            )
        );
        assert!(users.request_fields[0].required);
        let out: Vec<(&str, bool)> = users
            .response_fields
            .iter()
            .map(|f| (f.name.as_str(), f.read_only))
            .collect();
        assert_eq!(out, [("username", false), ("role", false), ("id", true)]);
    }

    #[test]
    fn token_urls_name_endpoints_under_the_base_path() {
        use super::super::token_url_names;
        assert!(token_url_names("token", "/api", "/token"));
        assert!(token_url_names("/api/token", "/api", "/token"));
        assert!(token_url_names("https://h/api/token?x", "/api", "/token"));
        assert!(!token_url_names("/auth/token", "/api", "/token"));
        assert!(!token_url_names("token", "", "/mytoken"));
    }
}
