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

/// What an endpoint's request body would be: its content type and sample.
pub(super) fn body(endpoint: &Endpoint) -> (Option<&str>, Option<&Value>) {
    (
        endpoint.body_content_type.as_deref(),
        endpoint.body_sample.as_ref(),
    )
}
