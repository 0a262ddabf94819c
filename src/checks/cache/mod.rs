//! Web cache poisoning and cache deception.
//!
//! Every probe here carries a fresh cache buster (or, for deception, a fresh
//! file name), so whatever a probe stores in a cache lives under a key no
//! real user will ever request. Probes that store attacker-chosen content
//! run only when the scan has proven that the buster is part of the cache key.

pub mod auth_after_lookup;
pub mod cached_error;
pub mod deception;
pub mod identity_unkeyed;
pub mod risky_headers;
pub mod unkeyed_header;
pub mod unkeyed_param;

use std::sync::Arc;

use url::Url;

use crate::discover::Endpoint;

use super::ProbeContext;
use crate::engine::Exchange;

/// Same status and byte-identical body: what a cache hands back.
pub(crate) fn same_response(a: &Exchange, b: &Exchange) -> bool {
    a.response.status == b.response.status
        && a.response.body == b.response.body
        && !a.response.truncated
}

pub(crate) fn is_success(exchange: &Exchange) -> bool {
    (200..300).contains(&exchange.response.status) && !exchange.response.body.is_empty()
}

/// A fresh busted URL for `url`.
/// The endpoint's URL when probes may store attacker-chosen content there:
/// a read-only endpoint behind a cache proven to key on the buster.
pub(crate) fn poisonable_url(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Option<Url> {
    if !ctx.facts.cache.safe_to_poison() || !endpoint.is_read_only() {
        return None;
    }
    ctx.url(endpoint)
}

pub(crate) fn busted(ctx: &ProbeContext<'_>, url: &Url) -> Url {
    ctx.engine.buster().bust(url)
}

/// A unique marker that cannot occur in a real response.
pub(crate) fn canary(ctx: &ProbeContext<'_>) -> String {
    format!("rampart{}", ctx.engine.buster().next_token())
}

pub(crate) fn reflects(exchange: &Arc<Exchange>, marker: &str) -> bool {
    exchange.body_text().contains(marker)
        || exchange
            .response
            .headers
            .iter()
            .any(|(_, v)| v.contains(marker))
}

/// How a cache header described an exchange, for evidence step names.
pub(crate) fn cache_note(exchange: &Exchange) -> String {
    match crate::facts::cache_profile::verdict(exchange).1 {
        Some(signal) => format!(" ({signal})"),
        None => String::new(),
    }
}
