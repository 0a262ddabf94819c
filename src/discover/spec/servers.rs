//! The base path every endpoint path is relative to.

use serde_json::{Map, Value};

use super::super::sample;
use super::Dialect;

/// The base path of either dialect: the path of the first server URL
/// (OpenAPI 3) or `basePath` (Swagger 2).
pub(super) fn base_path(top: &Map<String, Value>, dialect: Dialect) -> String {
    match dialect {
        Dialect::OpenApi3 => openapi_base_path(top),
        Dialect::Swagger2 => {
            normalize_base_path(top.get("basePath").and_then(Value::as_str).unwrap_or(""))
        }
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
    // Only a real scheme makes the URL absolute: "/v1?next=http://x" is relative.
    let authority_start = match url.find("://") {
        Some(colon)
            if url[..colon].starts_with(|c: char| c.is_ascii_alphabetic())
                && url[..colon]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            if let Ok(parsed) = url::Url::parse(url) {
                return parsed.path().to_owned();
            }
            // Unparseable (e.g. a space in the host): the path is still usable.
            Some(colon + 3)
        }
        _ => url.strip_prefix("//").map(|_| 2),
    };
    let path = match authority_start {
        Some(start) => url[start..]
            .find('/')
            .map_or("", |slash| &url[start + slash..]),
        None => url,
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path[..end].to_owned()
}

/// "/"-separated, leading slash, no trailing or doubled slashes ("" for the
/// root). Empty segments come from blank server variables and sloppy joins,
/// never from an intended base path.
fn normalize_base_path(path: &str) -> String {
    let path = path.trim();
    // "./v1" and "." are relative to the document's own location; for a base
    // path that is the same as "/v1" and "".
    let path = path
        .strip_prefix('.')
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .unwrap_or(path);
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .fold(String::new(), |mut out, segment| {
            out.push('/');
            out.push_str(segment);
            out
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::parse_spec;
    use super::*;

    #[test]
    fn server_urls_and_variables() {
        let base = |servers: Value| {
            let doc = json!({"openapi": "3.0.0", "servers": servers, "paths": {}});
            parse_spec(&doc.to_string()).unwrap().base_path
        };
        assert_eq!(
            base(json!([{
                "url": "{scheme}://{host}:{port}/{base}/",
                "variables": {
                    "scheme": {"default": "https", "enum": ["https", "http"]},
                    "host": {"default": "api.example.com"},
                    "port": {"default": 8443},
                    "base": {"default": "v2"}
                }
            }])),
            "/v2"
        );
        assert_eq!(
            base(
                json!([{"url": "https://x.example/{tenant}/api", "variables": {"tenant": {"enum": ["acme"]}}}])
            ),
            "/acme/api"
        );
        assert_eq!(
            base(json!([{"url": "https://x.example/{undeclared}/api"}])),
            "/api"
        );
        assert_eq!(base(json!([{"url": "https://api.example.com"}])), "");
        assert_eq!(base(json!([{"url": "https://api.example.com/"}])), "");
        assert_eq!(
            base(json!([{"url": "https://api.example.com/v1?x=1#f"}])),
            "/v1"
        );
        assert_eq!(base(json!([{"url": "//cdn.example.com/v3/"}])), "/v3");
        assert_eq!(base(json!([{"url": "http://bad host/v4"}])), "/v4");
        assert_eq!(base(json!([{"url": "/"}])), "");
        assert_eq!(base(json!([{"url": "v5"}])), "/v5");
        assert_eq!(base(json!([{"url": "/v7?next=http://x/y"}])), "/v7");
        assert_eq!(base(json!([{"url": "./v6/"}])), "/v6");
        assert_eq!(base(json!([{"url": "."}])), "");
        assert_eq!(base(json!([])), "");
        assert_eq!(base(json!("https://not-a-list/v1")), "");
        assert_eq!(base(json!([{"url": 5}])), "");
    }
}
