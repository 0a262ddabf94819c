//! Links that leave TLS.
//!
//! An HTTPS API that hands out `http://` URLs sends its clients back to
//! plain HTTP for the next request; a response that names a data store or
//! cloud endpoint over `http://` shows that the backend itself talks in
//! clear (for DynamoDB, that is every item the API reads).

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::checks::probe::focus_on;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct InsecureLinks;

pub static META: CheckMeta = CheckMeta {
    check: &InsecureLinks,
    id: "transport.insecure-links",
    category: Category::Cryptography,
    severity: Severity::Medium,
    summary: "http:// links in an HTTPS API's responses, or data-store endpoints over http://",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

fn is_data_store(url: &str) -> bool {
    let url = url.to_ascii_lowercase();
    [
        "dynamodb",
        "amazonaws.com",
        "s3.",
        "database.windows.net",
        "mongodb",
        "redis",
        "elasticsearch",
    ]
    .iter()
    .any(|w| url.contains(w))
}

fn http_links(value: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 12 || out.len() > 20 {
        return;
    }
    match value {
        Value::String(s) if s.starts_with("http://") && s.len() < 2048 => out.push(s.clone()),
        Value::Object(map) => map.values().for_each(|v| http_links(v, out, depth + 1)),
        Value::Array(items) => items
            .iter()
            .take(200)
            .for_each(|v| http_links(v, out, depth + 1)),
        _ => {}
    }
}

/// An HTTPS response that redirects to `http://` hands the next request,
/// and whatever credentials the client attaches, to the network in clear.
fn downgrade_redirect(exchange: &Arc<Exchange>) -> Option<FindingDraft> {
    if !exchange.request.url.starts_with("https://")
        || !(300..400).contains(&exchange.response.status)
    {
        return None;
    }
    let location = exchange.response_header("location")?;
    let target = Url::parse(&exchange.request.url)
        .ok()?
        .join(location)
        .ok()?;
    (target.scheme() == "http").then(|| {
        FindingDraft::at_exchange(exchange, Severity::Medium, Confidence::Confirmed)
            .title("HTTPS redirect downgrades to plain HTTP")
            .description(format!(
                "The HTTPS response (HTTP {}) redirects to http://{}{}.",
                exchange.response.status,
                target.host_str().unwrap_or_default(),
                target.path()
            ))
            .key("downgrade")
            .evidence("HTTPS response redirecting to http://", exchange, None)
    })
}

impl Check for InsecureLinks {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let mut drafts: Vec<FindingDraft> = downgrade_redirect(exchange).into_iter().collect();
        let Some(json) = exchange.body_json() else {
            return Ok(drafts);
        };
        let mut links = Vec::new();
        http_links(json, &mut links, 0);
        let over_https = exchange.request.url.starts_with("https://");
        let (stores, others): (Vec<String>, Vec<String>) =
            links.into_iter().partition(|l| is_data_store(l));
        if !stores.is_empty() {
            let focus = focus_on(exchange, &stores[0]);
            drafts.push(
                FindingDraft::at_exchange(exchange, Severity::Medium, Confidence::Firm)
                    .title("Data-store endpoint reached over plain HTTP")
                    .description(format!("The response names {} over http://.", stores[0]))
                    .key("data-store")
                    .evidence(
                        "Response with the http:// data-store endpoint",
                        exchange,
                        focus,
                    ),
            );
        }
        if over_https && !others.is_empty() {
            let focus = focus_on(exchange, &others[0]);
            drafts.push(
                FindingDraft::at_exchange(exchange, Severity::Low, Confidence::Confirmed)
                    .title("HTTPS response links to http:// URLs")
                    .description(format!(
                        "{} http:// link(s), e.g. {}.",
                        others.len(),
                        others[0]
                    ))
                    .key("mixed")
                    .evidence("HTTPS response with http:// links", exchange, focus),
            );
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{graded, inspected, Answer};

    const HTTPS: &str = "https://api.example.test/api/files?rampart_cb=1";
    const PLAIN: &str = "http://api.example.test/api/files?rampart_cb=1";

    /// The (key, severity) of each finding on `answer` sent to `url`.
    fn judged(url: &str, answer: Answer) -> Vec<(String, Severity)> {
        graded(&inspected(&InsecureLinks, &answer.at(url).exchange()))
    }

    fn found(expected: &[(&str, Severity)]) -> Vec<(String, Severity)> {
        expected.iter().map(|(k, s)| (k.to_string(), *s)).collect()
    }

    #[test]
    fn http_links_data_stores_and_downgrading_redirects_are_reported() {
        let links = r#"{"files": [{"url": "http://cdn.example.test/a.pdf"}], "store": "http://dynamodb.eu-west-1.amazonaws.com"}"#;
        for (url, answer, expected) in [
            (
                HTTPS,
                Answer::new(200, links),
                found(&[("data-store", Severity::Medium), ("mixed", Severity::Low)]),
            ),
            // Over plain HTTP every link is plain; only the data store is news.
            (
                PLAIN,
                Answer::new(200, links),
                found(&[("data-store", Severity::Medium)]),
            ),
            (
                HTTPS,
                Answer::new(301, "").headers(&[("Location", "http://api.example.test/api/files")]),
                found(&[("downgrade", Severity::Medium)]),
            ),
        ] {
            assert_eq!(judged(url, answer), expected);
        }
        let drafts = inspected(
            &InsecureLinks,
            &Answer::new(200, links).at(HTTPS).exchange(),
        );
        let focus = drafts[1].evidence[0].focus.clone().unwrap_or_default();
        assert_eq!(&links[focus], "http://cdn.example.test/a.pdf");
    }

    #[test]
    fn https_links_upgrades_text_and_cut_bodies_are_no_finding() {
        for (url, answer) in [
            (
                HTTPS,
                Answer::new(
                    200,
                    r#"{"url": "https://cdn.example.test/a.pdf", "note": "see http docs"}"#,
                ),
            ),
            (
                PLAIN,
                Answer::new(301, "").headers(&[("Location", "https://api.example.test/")]),
            ),
            (HTTPS, Answer::new(200, "see http://cdn.example.test/a.pdf")),
            (
                HTTPS,
                Answer::new(200, r#"{"url": "http://cdn.example.test/a.pdf"}"#).truncated(),
            ),
            (
                HTTPS,
                Answer::new(302, "").headers(&[("Location", "http://[::1")]),
            ),
        ] {
            assert_eq!(judged(url, answer), found(&[]));
        }
    }
}
