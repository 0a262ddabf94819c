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

static META: CheckMeta = CheckMeta {
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
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

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
