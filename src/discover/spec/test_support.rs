//! Helpers shared by the description parser's tests.

use serde_json::Value;

use super::super::{Endpoint, Parameter};
use super::ApiSpec;

pub(super) fn param<'e>(endpoint: &'e Endpoint, name: &str) -> &'e Parameter {
    endpoint
        .parameters
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("parameter {name} missing from {}", endpoint.path))
}

pub(super) fn routes(spec: &ApiSpec) -> Vec<(String, String)> {
    spec.endpoints
        .iter()
        .map(|e| (e.method.clone(), e.path.clone()))
        .collect()
}

pub(super) fn pair(method: &str, path: &str) -> (String, String) {
    (method.to_owned(), path.to_owned())
}

/// Parses `text` and checks what comes first in every description: its
/// version, its base path and its routes (`"GET /pets"`), in order.
pub(super) fn parsed(text: &str, version: &str, base_path: &str, expected: &[&str]) -> ApiSpec {
    let spec = super::parse_spec(text).unwrap();
    assert_eq!(
        (spec.version.as_str(), spec.base_path.as_str()),
        (version, base_path)
    );
    let expected: Vec<(String, String)> = expected
        .iter()
        .filter_map(|route| route.split_once(' '))
        .map(|(method, path)| pair(method, path))
        .collect();
    assert_eq!(routes(&spec), expected);
    spec
}

/// What an endpoint's request body would be: its content type and sample.
pub(super) fn body(endpoint: &Endpoint) -> (Option<&str>, Option<&Value>) {
    (
        endpoint.body_content_type.as_deref(),
        endpoint.body_sample.as_ref(),
    )
}
