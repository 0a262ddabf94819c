//! Security requirements (does an operation need credentials?) and the
//! security schemes a description declares.

use serde_json::Value;

use super::operations::Parser;
use super::{Dialect, ParamLocation, SecurityScheme};

/// `Some(false)` for `[]` or a list containing `{}` (auth optional), `Some(true)`
/// when some requirement names a scheme, `None` when the field says nothing usable.
pub(super) fn security_requirement(security: Option<&Value>) -> Option<bool> {
    let requirements = security?.as_array()?;
    if requirements.is_empty() {
        return Some(false);
    }
    let mut names_a_scheme = false;
    for requirement in requirements.iter().filter_map(Value::as_object) {
        if requirement.is_empty() {
            return Some(false);
        }
        names_a_scheme = true;
    }
    names_a_scheme.then_some(true)
}

impl Parser<'_, '_> {
    pub(super) fn security_schemes(&self) -> Vec<SecurityScheme> {
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
                    token_url: password_token_url(scheme),
                    kind,
                })
            })
            .collect()
    }
}

/// The `tokenUrl` of an OAuth2 password flow: OpenAPI 3's
/// `flows.password.tokenUrl` or Swagger 2's `flow: password` + `tokenUrl`.
fn password_token_url(scheme: &Value) -> Option<String> {
    let url = match scheme.get("flows") {
        Some(flows) => flows.get("password")?.get("tokenUrl"),
        None if scheme.get("flow").and_then(Value::as_str) == Some("password") => {
            scheme.get("tokenUrl")
        }
        None => None,
    };
    url.and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::parse_spec;
    use super::*;

    #[test]
    fn security_overrides() {
        let doc = |top: Option<Value>, op: Option<Value>| {
            let mut operation = json!({});
            if let Some(op) = op {
                operation["security"] = op;
            }
            let mut doc = json!({"openapi": "3.0.0", "paths": {"/x": {"get": operation}}});
            if let Some(top) = top {
                doc["security"] = top;
            }
            parse_spec(&doc.to_string()).unwrap().endpoints[0].requires_auth
        };
        let req = json!([{"k": []}]);
        assert_eq!(doc(None, None), None);
        assert_eq!(doc(Some(req.clone()), None), Some(true));
        assert_eq!(doc(Some(json!([])), None), Some(false));
        assert_eq!(doc(Some(req.clone()), Some(json!([]))), Some(false));
        assert_eq!(doc(Some(req.clone()), Some(json!([{}]))), Some(false));
        assert_eq!(
            doc(Some(req.clone()), Some(json!([{"k": []}, {}]))),
            Some(false)
        );
        assert_eq!(doc(Some(json!([])), Some(req.clone())), Some(true));
        assert_eq!(
            doc(None, Some(json!([{"a": []}, {"b": ["scope"]}]))),
            Some(true)
        );
        // Malformed operation security says nothing; the document default applies.
        assert_eq!(doc(Some(req.clone()), Some(json!("yes"))), Some(true));
        assert_eq!(doc(None, Some(json!(["k"]))), None);
    }
}
