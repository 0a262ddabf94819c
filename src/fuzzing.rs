//! Entry points for the fuzz targets in `fuzz/`: each hands arbitrary bytes
//! to the parsers of one kind of outside data, the way a scan would. Not
//! part of Rampart's interface.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::checks::{self, RunsOn};
use crate::engine::pacing::parse_retry_after;
use crate::engine::{Exchange, RecordedRequest, RecordedResponse, Redactor};
use crate::facts::cache_profile::verdict;
use crate::facts::TargetFacts;
use crate::finding::FindingDraft;
use crate::report::finalize::{self, Collector};
use crate::stack::{Fingerprinter, Stack};

/// An API description, as `--spec` or a published spec is read.
pub fn spec(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(spec) = crate::discover::parse_spec(&text) {
        for endpoint in &spec.endpoints {
            let _ = endpoint.concrete_path_and_query(&spec.base_path);
            let _ = endpoint.sample_headers();
        }
    }
}

/// A response body through every detector and the masking built on them.
pub fn detectors(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let json: Option<serde_json::Value> = serde_json::from_slice(data).ok();
    let _ = crate::detect::find_secrets(&text, json.as_ref());
    let _ = crate::detect::find_pii(&text, json.as_ref());
    let _ = crate::detect::find_password_hashes(&text, json.as_ref());
    let _ = crate::detect::find_debug_output(&text, Some("text/html"));
    let _ = crate::detect::find_debug_output(&text, Some("application/json"));
    let redactor = Redactor::default();
    let _ = redactor.redact_text(&text);
    let middle = floor_boundary(&text, text.len() / 2);
    let _ = redactor.redact_excerpt(&text, json.as_ref(), middle..text.len());
    let _ = crate::sanitize::for_display(&text);
}

/// Header values as Rampart reads them: `Retry-After`, `Set-Cookie`
/// attributes, `Strict-Transport-Security`, cache status headers, and the
/// `Name: value` form of `--header`.
pub fn headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_retry_after(&text, chrono::Utc::now());
    let _ = crate::checks::transport::cookie_flags::missing_flags(&text);
    let _ = crate::checks::transport::hsts::weakness(Some(&text));
    let _ = crate::identity::parse_header(&text);
    let _ = crate::engine::exchange::url_path(&text);
    let headers: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let exchange = exchange_of(200, headers, Bytes::new());
    let _ = verdict(&exchange);
}

/// A whole response — `STATUS\nName: value\n…\n\nbody` — through every
/// passive check, every target-wide judgment, the fingerprint, evidence
/// finalisation, discovery's link reading and the change watch's masking.
pub fn response(data: &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.trim().parse::<u16>().ok())
        .unwrap_or(200);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let exchange = Arc::new(exchange_of(status, headers, Bytes::copy_from_slice(body)));
    let mut collector = Collector::default();
    let facts = TargetFacts::default();
    for meta in checks::all() {
        let outcome = match meta.runs_on {
            RunsOn::Exchanges => meta.check.inspect(&exchange),
            RunsOn::Target => meta.check.judge_target(&exchange, &facts),
            RunsOn::Endpoints => continue,
        };
        for draft in outcome.unwrap_or_default() {
            collector.add(meta, draft);
        }
    }
    let mut fingerprinter = Fingerprinter::default();
    fingerprinter.see(&exchange);
    let stack = fingerprinter.finish();
    let _ = exchange.compact();
    let drafts = collector.into_drafts();
    let findings = finalize::findings(drafts, &Redactor::default(), &stack);
    let _ = findings.len();
    let draft = FindingDraft::at_exchange(
        &exchange,
        crate::finding::Severity::Info,
        crate::finding::Confidence::Tentative,
    )
    .evidence("fuzz", &exchange, Some(0..body.len() / 2));
    let _ = finalize::slim(draft.evidence[0].clone());
    let _ = Stack::default().label();
    // What discovery and the change watch read in an answer: the links it
    // offers (JSON, HTML, Location), whether it reports an action, and its
    // text with what varies masked.
    let _ = crate::discover::crawl::links_in(&exchange);
    let _ = crate::discover::safety::reads_like_an_action(exchange.body_text());
    let _ = crate::facts::Varies::Text.stable_text(&exchange);
    let _ = crate::facts::Varies::between(&exchange, &exchange.compact());
}

/// A TLS server's reply, as the handshake prober reads it.
pub fn tls_reply(data: &[u8]) {
    crate::tls_probe::read_server_reply(data);
}

fn exchange_of(status: u16, headers: Vec<(String, String)>, body: Bytes) -> Exchange {
    Exchange::new(
        RecordedRequest {
            method: "GET".into(),
            url: "https://127.0.0.1:9/api/items?rampart_cb=1".into(),
            headers: vec![("X-API-Key".into(), "fuzz-key-0001".into())],
            body: None,
            identity: None,
        },
        RecordedResponse {
            status,
            http_version: "HTTP/1.1",
            headers: headers.into_iter().collect(),
            body,
            truncated: false,
        },
        Duration::ZERO,
        Some("/api/items".into()),
    )
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}
