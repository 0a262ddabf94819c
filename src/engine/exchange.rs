//! A captured request/response pair: the raw material of every finding.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// The identity the request was sent as; `None` is anonymous.
    pub identity: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RecordedResponse {
    pub status: u16,
    pub http_version: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// True when the body was cut at the engine's body cap.
    pub truncated: bool,
}

/// One request and what came back, with enough context for checks to judge it.
#[derive(Debug)]
pub struct Exchange {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
    pub elapsed: Duration,
    /// The endpoint template this exchange exercised, when it came from one.
    pub endpoint_template: Option<String>,
    json: OnceLock<Option<serde_json::Value>>,
    text: OnceLock<String>,
}

impl Exchange {
    pub fn new(
        request: RecordedRequest,
        response: RecordedResponse,
        elapsed: Duration,
        endpoint_template: Option<String>,
    ) -> Self {
        Exchange {
            request,
            response,
            elapsed,
            endpoint_template,
            json: OnceLock::new(),
            text: OnceLock::new(),
        }
    }

    /// The path to report: the template when known, else the concrete path.
    pub fn endpoint_path(&self) -> &str {
        match &self.endpoint_template {
            Some(template) => template,
            None => url_path(&self.request.url),
        }
    }

    /// The response body as text (lossy: servers send what they like).
    pub fn body_text(&self) -> &str {
        self.text
            .get_or_init(|| String::from_utf8_lossy(&self.response.body).into_owned())
    }

    /// The response body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<&serde_json::Value> {
        self.json
            .get_or_init(|| {
                if self.response.truncated {
                    return None;
                }
                serde_json::from_slice(&self.response.body).ok()
            })
            .as_ref()
    }

    pub fn response_header(&self, name: &str) -> Option<&str> {
        header_value(&self.response.headers, name)
    }

    pub fn request_header(&self, name: &str) -> Option<&str> {
        header_value(&self.request.headers, name)
    }

    pub fn content_type(&self) -> Option<&str> {
        self.response_header("content-type")
    }
}

pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The path component of an absolute URL string, without the query.
pub fn url_path(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| &url[i + 3..]).unwrap_or(url);
    let path_start = after_scheme.find('/').unwrap_or(after_scheme.len());
    let path = &after_scheme[path_start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    if end == 0 {
        "/"
    } else {
        &path[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_path_strips_origin_and_query() {
        assert_eq!(url_path("http://h:1/a/b?c=d"), "/a/b");
        assert_eq!(url_path("http://h:1"), "/");
        assert_eq!(url_path("http://h:1?x"), "/");
    }
}
